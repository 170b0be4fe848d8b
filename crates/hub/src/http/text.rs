//! The rules for one-line text that others see: display names and titles.

use rapport_protocol::is_display_control;

use crate::error::{ApiError, ApiResult};

/// `value` trimmed, when it is 1 to `max` characters without control characters: a name with a
/// newline would forge a line in a client's plain-text output, an escape sequence would reach
/// the terminal, and a bidirectional override would reorder what is shown after it.
pub fn one_line<'a>(field: &str, value: &'a str, max: usize) -> ApiResult<&'a str> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::invalid(format!("{field} must be 1 to {max} characters")));
    }
    if let Some(c) = value.chars().find(|&c| is_display_control(c)) {
        return Err(ApiError::invalid(format!(
            "{field} must not contain control characters (line breaks, tabs, escape sequences, direction overrides); found U+{:04X}",
            u32::from(c)
        )));
    }
    Ok(value)
}
