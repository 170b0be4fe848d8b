//! The one error shape every command returns over IPC: `{code, message}`.

use rapport_client::EngineError;
use serde::Serialize;

/// A failed command. `code` is from the small set the UI branches on: the engine's codes
/// (`offline`, `unauthorized`, `not_found`, `invalid`, `conflict`, `hub`, `timeout`, `io`) plus
/// `signed_out` (no engine or no login), `unsupported` and `update`.
#[derive(Debug, Serialize)]
pub struct CommandError {
    code: &'static str,
    message: String,
}

impl CommandError {
    pub fn new(code: &'static str, message: impl Into<String>) -> CommandError {
        CommandError { code, message: message.into() }
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<EngineError> for CommandError {
    fn from(error: EngineError) -> Self {
        CommandError { code: error.code().as_str(), message: error.to_string() }
    }
}

impl From<tauri::Error> for CommandError {
    fn from(error: tauri::Error) -> Self {
        CommandError { code: "io", message: error.to_string() }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
