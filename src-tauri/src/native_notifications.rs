//! Native notifications, shown only when the engine says so (`EngineEvent::Notify`: it has
//! already applied focus, mute, do-not-disturb and burst coalescing). Clicking one brings the
//! window up on that conversation (or on the notifications panel).
//!
//! notify-rust is used directly because tauri-plugin-notification reports no clicks on desktop:
//! the freedesktop `default` action is what a server invokes when the body is clicked.

use rapport_client::NotificationToShow;
use serde::Serialize;
use tauri::{AppHandle, Emitter as _};

use crate::window::{self, MAIN_WINDOW};

/// What the UI opens after a click.
pub const OPEN_EVENT: &str = "app:open";

/// Payload of [`OPEN_EVENT`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OpenTarget {
    pub conversation_id: Option<String>,
    pub notification_id: Option<String>,
}

/// Notification bodies may be read as markup by the server: escape it so text stays text.
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Shows `note` as a native desktop notification; a click on it opens what it is about.
pub fn show(app: &AppHandle, note: NotificationToShow) {
    let app = app.clone();
    // Showing and waiting for the click block on D-Bus: one short-lived thread per notification
    // (the engine coalesces bursts, and the server closes each after its timeout).
    let spawned = std::thread::Builder::new().name("notification".into()).spawn(move || {
        let mut notification = notify_rust::Notification::new();
        notification.appname("Rapport").summary(&note.title).body(&escape_markup(&note.body)).icon("rapport");
        #[cfg(all(unix, not(target_os = "macos")))]
        notification.action("default", "Open").hint(notify_rust::Hint::Category("im.received".into()));
        let handle = match notification.show() {
            Ok(handle) => handle,
            Err(error) => {
                tracing::warn!(%error, "could not show a desktop notification");
                return;
            }
        };
        #[cfg(all(unix, not(target_os = "macos")))]
        handle.wait_for_action(|action| {
            if action == "default" || action == "Open" {
                window::show(&app);
                let target = OpenTarget { conversation_id: note.conversation_id.clone(), notification_id: note.notification_id.clone() };
                let _ = app.emit_to(MAIN_WINDOW, OPEN_EVENT, target);
            }
        });
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        drop((handle, app));
    });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start the notification thread");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bodies_cannot_carry_markup() {
        assert_eq!(super::escape_markup("<b>hi</b> & <img src=x>"), "&lt;b&gt;hi&lt;/b&gt; &amp; &lt;img src=x&gt;");
    }
}
