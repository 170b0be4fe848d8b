//! Human text or one JSON object per line.
//!
//! Human text carries what other people wrote (names, titles, bodies) to a terminal, so every
//! human line passes [`escape_controls`] on its way out; JSON lines stay exact (JSON escapes
//! control characters itself).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use rapport_protocol::is_display_control;
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
            escape_controls(&human()).into_owned()
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
            eprintln!("rapport-cli: {}", escape_controls(&message));
        }
        ExitCode::from(failure.exit)
    }
}

/// `text` with every display control escaped (`\n`, `\r`, `\t`, `\u{1b}`, `\u{202e}`, …): what
/// others wrote cannot start a line of its own, move the cursor, recolour the terminal or
/// reverse the text after it.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_display_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if is_display_control(c) => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn controls_are_escaped_and_everything_else_is_kept() {
        assert_eq!(escape_controls("Ida Ödegaard — שלום"), "Ida Ödegaard — שלום");
        assert_eq!(escape_controls("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(escape_controls("\u{1b}[31mred\u{7}"), "\\u{1b}[31mred\\u{7}");
        assert_eq!(escape_controls("abc\u{202e}fed"), "abc\\u{202e}fed");
    }
}
