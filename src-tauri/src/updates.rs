//! Updates: tauri-plugin-updater against the hub's `GET /v1/updates/latest.json` (a static
//! Tauri manifest served from the hub's `--updates-dir`), signatures checked with the public key
//! in `tauri.conf.json`. `RAPPORT_UPDATE_URL` overrides the endpoint. Release builds only accept
//! https endpoints (the plugin refuses plain http there); debug builds also accept the local
//! `http://127.0.0.1:7878` hub. See docs/release.md for signing a release.

use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Manager};
use tauri_plugin_updater::UpdaterExt as _;

use crate::error::{CommandError, CommandResult};
use crate::MAIN_WINDOW;

/// The result of a check, pushed to the UI when the check was not asked for by it.
pub const UPDATE_EVENT: &str = "app:update";
const FIRST_CHECK: Duration = Duration::from_secs(60);
const EVERY: Duration = Duration::from_secs(6 * 60 * 60);

/// What a check found.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateStatus {
    pub current_version: String,
    /// The newer version, when there is one.
    pub available: Option<String>,
    pub notes: Option<String>,
}

fn endpoint(app: &AppHandle) -> CommandResult<url::Url> {
    let raw = match std::env::var("RAPPORT_UPDATE_URL") {
        Ok(url) => url,
        Err(_) => {
            let hub = app.state::<crate::profile::Profiles>().hub_url().unwrap_or_else(|| crate::settings::DEFAULT_HUB.to_owned());
            format!("{hub}/v1/updates/latest.json")
        }
    };
    let url = url::Url::parse(&raw).map_err(|_| CommandError::new("update", format!("The update address {raw} is not a URL")))?;
    if url.scheme() != "https" && !cfg!(debug_assertions) {
        return Err(CommandError::new("update", "Updates are only fetched over https: set RAPPORT_UPDATE_URL to an https address"));
    }
    Ok(url)
}

fn updater(app: &AppHandle) -> CommandResult<tauri_plugin_updater::Updater> {
    let update_error = |e: tauri_plugin_updater::Error| CommandError::new("update", e.to_string());
    app.updater_builder().endpoints(vec![endpoint(app)?]).map_err(update_error)?.timeout(Duration::from_secs(30)).build().map_err(update_error)
}

/// Asks the update endpoint whether a newer version exists.
pub async fn check(app: &AppHandle) -> CommandResult<UpdateStatus> {
    let update = updater(app)?.check().await.map_err(|e| CommandError::new("update", e.to_string()))?;
    Ok(UpdateStatus {
        current_version: app.package_info().version.to_string(),
        available: update.as_ref().map(|u| u.version.clone()),
        notes: update.and_then(|u| u.body),
    })
}

/// Downloads, verifies and installs the newer version, then restarts into it.
pub async fn install(app: &AppHandle) -> CommandResult<()> {
    let update_error = |e: tauri_plugin_updater::Error| CommandError::new("update", e.to_string());
    let Some(update) = updater(app)?.check().await.map_err(update_error)? else {
        return Err(CommandError::new("update", "Rapport is up to date"));
    };
    update.download_and_install(|_, _| {}, || {}).await.map_err(update_error)?;
    app.restart()
}

/// A check whose result (or error) goes to the UI as [`UPDATE_EVENT`].
pub fn check_and_report(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let result = check(&app).await;
        if let Err(error) = &result {
            tracing::info!(%error, "update check failed");
        }
        let payload = match result {
            Ok(status) => serde_json::json!({ "status": status }),
            Err(error) => serde_json::json!({ "error": error }),
        };
        let _ = app.emit_to(MAIN_WINDOW, UPDATE_EVENT, payload);
    });
}

/// Checks a minute after start and every six hours, when the setting allows; only a found
/// update is reported (a quiet failure here is not worth a dialog).
pub fn spawn_periodic_check(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(FIRST_CHECK).await;
        loop {
            if app.state::<crate::settings::Settings>().get().check_for_updates {
                if let Ok(status) = check(&app).await {
                    if status.available.is_some() {
                        let _ = app.emit_to(MAIN_WINDOW, UPDATE_EVENT, serde_json::json!({ "status": status }));
                    }
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}
