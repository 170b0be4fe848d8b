//! The user's settings, kept by tauri-plugin-store in `settings.json`. No secrets here: the login
//! lives in the OS keyring through the engine. Applying them is `reactions`' job.

use std::sync::Mutex;
use std::time::Duration;

use rapport_client::QuietHours;
use serde::{Deserialize, Serialize};
use tauri::AppHandle;
use tauri_plugin_store::StoreExt as _;

/// The local hub `scripts/run` starts; `RAPPORT_HUB` overrides it.
pub const DEFAULT_HUB: &str = "http://127.0.0.1:7878";
const FILE: &str = "settings.json";
const KEY: &str = "settings";

/// Everything the settings panel shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Settings"))]
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
    /// The weekly quiet hours; an empty time zone means the system's.
    pub quiet_hours: QuietHours,
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
            quiet_hours: QuietHours::default(),
        }
    }
}

impl Values {
    /// Idle time before an online user is shown as away.
    pub fn away_after(&self) -> Duration {
        Duration::from_secs(u64::from(self.away_after_minutes.max(1)) * 60)
    }

    /// The quiet hours as the engine gets them: in the system's time zone unless one is set.
    pub fn quiet_hours(&self) -> QuietHours {
        let mut hours = self.quiet_hours.clone();
        if hours.time_zone.trim().is_empty() {
            hours.time_zone = rapport_client::system_time_zone().unwrap_or_default();
        }
        hours
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

    /// Stores new values; the ones they replace (what changed is applied by `reactions`).
    pub fn set(&self, app: &AppHandle, values: Values) -> anyhow::Result<Values> {
        let store = app.store(FILE)?;
        store.set(KEY, serde_json::to_value(&values)?);
        store.save()?;
        Ok(std::mem::replace(&mut *self.values.lock().expect("settings lock"), values))
    }

    /// Changes one value; the values before and after.
    pub fn update(&self, app: &AppHandle, change: impl FnOnce(&mut Values)) -> anyhow::Result<(Values, Values)> {
        let mut values = self.get();
        change(&mut values);
        let old = self.set(app, values.clone())?;
        Ok((old, values))
    }
}
