//! Human text or one JSON object per line.

use std::io::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use crate::failure::Failure;

/// Where results go.
pub struct Output {
    json: bool,
}

impl Output {
    /// `json`: one JSON object per line.
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// Whether JSON lines are wanted.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Prints `value` as one JSON line, or `human` as text.
    pub fn emit<T: Serialize + ?Sized>(&self, value: &T, human: impl FnOnce() -> String) {
        let line = if self.json {
            serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        } else {
            human()
        };
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }

    /// Reports a failure on stderr and returns its exit code.
    pub fn fail(&self, failure: &Failure) -> ExitCode {
        let message = format!("{:#}", failure.error);
        if self.json {
            let body = serde_json::json!({"error": {"code": failure.code, "message": message}});
            eprintln!("{body}");
        } else {
            eprintln!("rapport-cli: {message}");
        }
        ExitCode::from(failure.exit)
    }
}
