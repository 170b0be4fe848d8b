//! The user's settings, kept by tauri-plugin-store in `settings.json`. No secrets here: the login
//! lives in the OS keyring through the engine.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_store::StoreExt as _;

/// The local hub `scripts/run` starts; `RAPPORT_HUB` overrides it.
pub const DEFAULT_HUB: &str = "http://127.0.0.1:7878";
const FILE: &str = "settings.json";
const KEY: &str = "settings";

/// Everything the settings panel shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Values {
    /// The hub last signed in to.
    pub hub_url: String,
    /// Closing the window keeps Rapport running in the tray.
    pub close_to_tray: bool,
    /// Start Rapport when the user logs in to the computer.
    pub launch_at_login: bool,
    /// No desktop notifications at all.
    pub do_not_disturb: bool,
    /// Look for a new version at start and every six hours.
    pub check_for_updates: bool,
    /// Idle minutes before an online user is shown as away.
    pub away_after_minutes: u32,
}

impl Default for Values {
    fn default() -> Self {
        Values {
            hub_url: std::env::var("RAPPORT_HUB").unwrap_or_else(|_| DEFAULT_HUB.to_owned()),
            close_to_tray: true,
            launch_at_login: false,
            do_not_disturb: false,
            check_for_updates: true,
            away_after_minutes: 5,
        }
    }
}

/// The settings, cached in memory and written through to the store.
pub struct Settings {
    values: Mutex<Values>,
}

impl Settings {
    pub fn load(app: &AppHandle) -> anyhow::Result<Settings> {
        let store = app.store(FILE)?;
        let mut values: Values = store.get(KEY).and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
        // An explicit RAPPORT_HUB (tests, `scripts/run`) wins over the remembered hub.
        if let Ok(hub) = std::env::var("RAPPORT_HUB") {
            values.hub_url = hub;
        }
        Ok(Settings { values: Mutex::new(values) })
    }

    pub fn get(&self) -> Values {
        self.values.lock().expect("settings lock").clone()
    }

    /// Stores new values and applies what changed.
    pub fn set(&self, app: &AppHandle, values: Values) -> anyhow::Result<()> {
        let old = std::mem::replace(&mut *self.values.lock().expect("settings lock"), values.clone());
        let store = app.store(FILE)?;
        store.set(KEY, serde_json::to_value(&values)?);
        store.save()?;
        apply(app, Some(&old), &values);
        crate::tray::refresh_menu(app);
        Ok(())
    }

    /// Changes one value.
    pub fn update(&self, app: &AppHandle, change: impl FnOnce(&mut Values)) -> anyhow::Result<Values> {
        let mut values = self.get();
        change(&mut values);
        self.set(app, values.clone())?;
        Ok(values)
    }
}

fn apply(app: &AppHandle, old: Option<&Values>, new: &Values) {
    let changed = |f: fn(&Values) -> bool| old.is_none_or(|o| f(o) != f(new));
    if changed(|v| v.launch_at_login) {
        let autolaunch = app.autolaunch();
        let result = if new.launch_at_login { autolaunch.enable() } else { autolaunch.disable() };
        if let Err(error) = result {
            tracing::warn!(%error, "could not change launch at login");
        }
    }
    if let Ok(engine) = app.state::<crate::profile::Profiles>().engine() {
        engine.set_do_not_disturb(new.do_not_disturb);
        engine.set_away_after(std::time::Duration::from_secs(u64::from(new.away_after_minutes.max(1)) * 60));
    }
}

/// Applies the stored settings once the engine is open.
pub fn apply_on_start(app: &AppHandle) {
    let values = app.state::<Settings>().get();
    apply(app, None, &values);
    crate::tray::refresh_menu(app);
}
