//! The one forwarder from the engine's event stream to the window, as the typed event
//! `engine:event` (the engine's own JSON: `{type, data}`). The shell's reaction to each event is
//! handed in and runs first, so that the engine is subscribed to exactly once.

use rapport_client::EngineEvent;
use tauri::{AppHandle, Emitter as _};
use tokio::sync::broadcast::{error::RecvError, Receiver};

use crate::window::MAIN_WINDOW;

/// Every engine event, unchanged.
pub const ENGINE_EVENT: &str = "engine:event";
/// The forwarder fell behind and dropped events: the UI reloads what it shows.
pub const ENGINE_LAGGED: &str = "engine:lagged";

/// Forwards every event of `events` to the window after `react` saw it; ends with the engine.
pub fn spawn(app: AppHandle, mut events: Receiver<EngineEvent>, react: fn(&AppHandle, &EngineEvent)) -> tauri::async_runtime::JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    react(&app, &event);
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
