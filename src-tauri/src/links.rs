//! Links in messages open in the system browser, and only when they are http(s).

use rapport_client::Code;
use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt as _;

use crate::error::{CommandError, CommandResult};

/// Whether `raw` is a web link the browser may open (no `file:`, `javascript:`, custom schemes).
pub fn is_web_link(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

pub fn open(app: &AppHandle, raw: &str) -> CommandResult<()> {
    if !is_web_link(raw) {
        return Err(CommandError::new(Code::Invalid, "Only http and https links can be opened"));
    }
    app.opener().open_url(raw, None::<&str>).map_err(|e| CommandError::new(Code::Io, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::is_web_link;

    #[test]
    fn only_web_links_open() {
        assert!(is_web_link("https://example.com/jobs?id=1"));
        assert!(is_web_link("http://127.0.0.1:7878/"));
        for bad in ["javascript:alert(1)", "file:///etc/passwd", "mailto:a@b", "ftp://x", "not a url", "http://"] {
            assert!(!is_web_link(bad), "{bad} must not reach the opener");
        }
    }
}
