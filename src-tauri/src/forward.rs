//! The one forwarder from the engine's event stream to the window, as the typed event
//! `engine:event` (the engine's own JSON: `{type, data}`). The shell's own reactions to a few
//! events — tray badge, native notifications — happen here too, so that the engine is
//! subscribed to exactly once.

use rapport_client::EngineEvent;
use tauri::{AppHandle, Emitter as _};
use tokio::sync::broadcast::{error::RecvError, Receiver};

use crate::MAIN_WINDOW;

/// Every engine event, unchanged.
pub const ENGINE_EVENT: &str = "engine:event";
/// The forwarder fell behind and dropped events: the UI reloads what it shows.
pub const ENGINE_LAGGED: &str = "engine:lagged";

pub fn spawn(app: AppHandle, mut events: Receiver<EngineEvent>) -> tauri::async_runtime::JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    match &event {
                        EngineEvent::Unread { total } => crate::tray::set_unread(&app, *total),
                        EngineEvent::SignedOut => crate::tray::set_unread(&app, 0),
                        EngineEvent::Notify(show) => crate::notifications::show(&app, show.clone()),
                        _ => {}
                    }
                    if let Err(error) = app.emit_to(MAIN_WINDOW, ENGINE_EVENT, &event) {
                        tracing::warn!(%error, "could not forward an engine event");
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "the UI fell behind the engine; asking it to reload");
                    let _ = app.emit_to(MAIN_WINDOW, ENGINE_LAGGED, skipped);
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
}
