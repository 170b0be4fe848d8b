//! Updates: tauri-plugin-updater against the hub's `GET /v1/updates/latest.json` (a static
//! Tauri manifest served from the hub's `--updates-dir`), signatures checked with the public key
//! in `tauri.conf.json`. `RAPPORT_UPDATE_URL` overrides the endpoint. Release builds only accept
//! https endpoints (the plugin refuses plain http there); debug builds also accept the local
//! `http://127.0.0.1:7878` hub. See docs/release.md for signing a release.

use std::time::Duration;

use rapport_client::Code;
use serde::Serialize;
use tauri::{AppHandle, Emitter as _};
use tauri_plugin_updater::UpdaterExt as _;

use crate::error::{CommandError, CommandResult};
use crate::window::MAIN_WINDOW;

/// The result of a check, pushed to the UI when the check was not asked for by it.
pub const UPDATE_EVENT: &str = "app:update";
const FIRST_CHECK: Duration = Duration::from_secs(60);
const EVERY: Duration = Duration::from_secs(6 * 60 * 60);

/// What a check found.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UpdateStatus {
    pub current_version: String,
    /// The newer version, when there is one.
    pub available: Option<String>,
    pub notes: Option<String>,
}

/// The manifest of the hub at `hub_url`, unless `RAPPORT_UPDATE_URL` names another.
fn endpoint(hub_url: &str) -> CommandResult<url::Url> {
    let raw = std::env::var("RAPPORT_UPDATE_URL").unwrap_or_else(|_| format!("{hub_url}/v1/updates/latest.json"));
    let url = url::Url::parse(&raw).map_err(|_| CommandError::new(Code::Update, format!("The update address {raw} is not a URL")))?;
    if url.scheme() != "https" && !cfg!(debug_assertions) {
        return Err(CommandError::new(Code::Update, "Updates are only fetched over https: set RAPPORT_UPDATE_URL to an https address"));
    }
    Ok(url)
}

fn update_error(e: tauri_plugin_updater::Error) -> CommandError {
    CommandError::new(Code::Update, e.to_string())
}

fn updater(app: &AppHandle, hub_url: &str) -> CommandResult<tauri_plugin_updater::Updater> {
    app.updater_builder().endpoints(vec![endpoint(hub_url)?]).map_err(update_error)?.timeout(Duration::from_secs(30)).build().map_err(update_error)
}

/// Asks the update endpoint of the hub at `hub_url` whether a newer version exists.
pub async fn check(app: &AppHandle, hub_url: &str) -> CommandResult<UpdateStatus> {
    let update = updater(app, hub_url)?.check().await.map_err(update_error)?;
    Ok(UpdateStatus {
        current_version: app.package_info().version.to_string(),
        available: update.as_ref().map(|u| u.version.clone()),
        notes: update.and_then(|u| u.body),
    })
}

/// Downloads, verifies and installs the newer version, then restarts into it.
pub async fn install(app: &AppHandle, hub_url: &str) -> CommandResult<()> {
    let Some(update) = updater(app, hub_url)?.check().await.map_err(update_error)? else {
        return Err(CommandError::new(Code::Update, "Rapport is up to date"));
    };
    update.download_and_install(|_, _| {}, || {}).await.map_err(update_error)?;
    app.restart()
}

/// A check whose result (or error) goes to the UI as [`UPDATE_EVENT`].
pub fn check_and_report(app: AppHandle, hub_url: String) {
    tauri::async_runtime::spawn(async move {
        let result = check(&app, &hub_url).await;
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

/// Checks a minute after start and every six hours against the hub `hub_to_check` names — none
/// while the user turned checks off; only a found update is reported (a quiet failure here is
/// not worth a dialog).
pub fn spawn_periodic_check(app: AppHandle, hub_to_check: fn(&AppHandle) -> Option<String>) {
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(FIRST_CHECK).await;
        loop {
            if let Some(hub_url) = hub_to_check(&app) {
                if let Ok(status) = check(&app, &hub_url).await {
                    if status.available.is_some() {
                        let _ = app.emit_to(MAIN_WINDOW, UPDATE_EVENT, serde_json::json!({ "status": status }));
                    }
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}
