//! Failures and the exit codes they map to.

use rapport_client::EngineError;

/// Exit code 1: an error.
pub const ERROR: u8 = 1;
/// Exit code 3: queued (or saved) but the hub could not be reached in time.
pub const QUEUED: u8 = 3;

/// Why a command did not finish, and the exit code that says so.
#[derive(Debug)]
pub struct Failure {
    /// 1 or 3.
    pub exit: u8,
    /// The short code (`offline`, `unauthorized`, …).
    pub code: String,
    /// What to tell the user.
    pub error: anyhow::Error,
}

impl Failure {
    /// Exit 1.
    pub fn error(error: anyhow::Error) -> Failure {
        Failure { exit: ERROR, code: "error".into(), error }
    }

    /// Exit 1 with code `invalid`: input refused before anything was done.
    pub fn invalid(error: anyhow::Error) -> Failure {
        Failure { exit: ERROR, code: "invalid".into(), error }
    }

    /// Exit 1 with the engine's code.
    pub fn engine(error: EngineError) -> Failure {
        Failure { exit: ERROR, code: error.code().to_string(), error: error.into() }
    }

    /// Exit 3 when the hub was unreachable or too slow, 1 otherwise.
    pub fn queued_or_error(error: EngineError) -> Failure {
        match error {
            EngineError::Offline(_) | EngineError::Timeout(_) => Failure { exit: QUEUED, code: error.code().to_string(), error: error.into() },
            other => Failure::engine(other),
        }
    }
}
