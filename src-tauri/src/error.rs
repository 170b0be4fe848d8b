//! The one error shape every command returns over IPC: `{code, message}`.

use rapport_client::{Code, EngineError};
use serde::Serialize;

/// A failed command. `code` is the engine's [`Code`]: one of its own (`offline`, `unauthorized`,
/// `not_found`, `invalid`, `conflict`, `hub`, `timeout`, `io`) or one of the shell's
/// (`signed_out`: no engine or no login; `update`: the updater failed).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CommandError {
    code: Code,
    message: String,
}

impl CommandError {
    pub fn new(code: Code, message: impl Into<String>) -> CommandError {
        CommandError { code, message: message.into() }
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<EngineError> for CommandError {
    fn from(error: EngineError) -> Self {
        CommandError { code: error.code(), message: error.to_string() }
    }
}

impl From<tauri::Error> for CommandError {
    fn from(error: tauri::Error) -> Self {
        CommandError { code: Code::Io, message: error.to_string() }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
