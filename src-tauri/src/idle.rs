//! Auto-away: the OS idle time is reported to the engine, which turns `online` into `away` after
//! the threshold (settings) and back on the next activity — once each way, never in a loop.

use std::time::Duration;

use tauri::{AppHandle, Manager};

const POLL: Duration = Duration::from_secs(15);

pub fn spawn(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let mut ticker = tokio::time::interval(POLL);
        loop {
            ticker.tick().await;
            let idle = tauri::async_runtime::spawn_blocking(|| system_idle_time::get_idle_time().map_err(|e| e.to_string())).await;
            match idle {
                Ok(Ok(idle_for)) => {
                    if let Ok(engine) = app.state::<crate::profile::ActiveProfile>().engine() {
                        engine.report_idle(idle_for);
                    }
                }
                Ok(Err(error)) => {
                    tracing::info!(%error, "the OS does not tell idle time here; auto-away is off");
                    return;
                }
                Err(_) => return,
            }
        }
    });
}
