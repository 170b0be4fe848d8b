//! The one window.

use tauri::{AppHandle, Manager};

/// The label of the one window.
pub const MAIN_WINDOW: &str = "main";

/// Shows, unminimises and focuses the window.
pub fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}
