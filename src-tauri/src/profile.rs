//! Which engine is open: one per hub URL, each in a profile directory of its own (a profile is
//! one device to the hub). One profile is open at a time; signing in to another hub switches.
//!
//! The login lives in the OS keyring (Secret Service, Keychain, Credential Manager); where no
//! keyring answers, the engine keeps it in its 0600 `login.json` instead (see
//! `rapport_client::TokenStoreKind::Keyring`). `RAPPORT_TOKEN_STORE=file` goes there directly.

use std::path::PathBuf;
use std::sync::Mutex;

use rapport_client::{Code, Engine, EngineConfig, EngineError, Role, TokenStoreKind, User};
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Manager};

use crate::error::{CommandError, CommandResult};

struct Open {
    engine: Engine,
    hub_url: String,
    /// What the shell attached to the engine (its event forwarder); it ends with the engine.
    attached: JoinHandle<()>,
}

/// The open profile's engine, and switching between hubs.
pub struct ActiveProfile {
    base: PathBuf,
    /// `RAPPORT_PROFILE`: use exactly this directory, whatever the hub.
    fixed: bool,
    open: Mutex<Option<Open>>,
    /// Serialises opening and switching, so that two sign-ins never open two engines.
    switching: tokio::sync::Mutex<()>,
}

/// `http://127.0.0.1:7878/` → `http://127.0.0.1:7878`; anything but an http(s) URL is refused.
pub fn normalise_hub_url(raw: &str) -> CommandResult<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|_| CommandError::new(Code::Invalid, "The hub address is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CommandError::new(Code::Invalid, "The hub address must start with http:// or https://"));
    }
    Ok(trimmed.to_owned())
}

fn profile_name(hub_url: &str) -> String {
    let url = url::Url::parse(hub_url).ok();
    let host = url.as_ref().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "hub".into());
    let port = url.as_ref().and_then(url::Url::port_or_known_default).unwrap_or(0);
    let name: String = format!("{host}_{port}").chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' { c } else { '-' }).collect();
    name
}

fn preferred_store() -> TokenStoreKind {
    match std::env::var("RAPPORT_TOKEN_STORE").as_deref() {
        Ok("file") => TokenStoreKind::File,
        _ => TokenStoreKind::Keyring,
    }
}

impl ActiveProfile {
    pub fn new(app: &AppHandle) -> anyhow::Result<ActiveProfile> {
        let (base, fixed) = match std::env::var_os("RAPPORT_PROFILE") {
            Some(dir) => (PathBuf::from(dir), true),
            None => (app.path().app_data_dir()?.join("profiles"), false),
        };
        Ok(ActiveProfile { base, fixed, open: Mutex::new(None), switching: tokio::sync::Mutex::new(()) })
    }

    fn dir_for(&self, hub_url: &str) -> PathBuf {
        if self.fixed { self.base.clone() } else { self.base.join(profile_name(hub_url)) }
    }

    /// The open engine.
    pub fn engine(&self) -> CommandResult<Engine> {
        self.open.lock().expect("profile lock").as_ref().map(|o| o.engine.clone()).ok_or_else(|| CommandError::new(Code::SignedOut, "Not signed in"))
    }

    /// The hub the open engine talks to.
    pub fn hub_url(&self) -> Option<String> {
        self.open.lock().expect("profile lock").as_ref().map(|o| o.hub_url.clone())
    }

    /// Where the open profile keeps its login.
    pub fn token_store(&self) -> Option<TokenStoreKind> {
        self.open.lock().expect("profile lock").as_ref().map(|o| o.engine.token_store())
    }

    /// Opens the profile of this hub (a no-op when it is the open one) and connects when a login
    /// is stored. `attach` is handed a newly opened engine before it starts.
    pub async fn open(&self, hub_url: &str, attach: impl FnOnce(&Engine) -> JoinHandle<()>) -> CommandResult<Engine> {
        let hub_url = normalise_hub_url(hub_url)?;
        let _switching = self.switching.lock().await;
        if let Some(o) = self.open.lock().expect("profile lock").as_ref().filter(|o| o.hub_url == hub_url) {
            return Ok(o.engine.clone());
        }
        let dir = self.dir_for(&hub_url);
        std::fs::create_dir_all(&dir).map_err(EngineError::from)?;
        let engine = Engine::open(EngineConfig { hub_url: hub_url.clone(), profile_dir: dir, token_store: preferred_store() }).await?;
        let attached = attach(&engine);
        let old = self.open.lock().expect("profile lock").replace(Open { engine: engine.clone(), hub_url, attached });
        if let Some(old) = old {
            old.attached.abort();
            old.engine.shutdown().await;
        }
        engine.start();
        Ok(engine)
    }

    /// Signs in (or up, with `sign_up`) at `hub_url`, switching profiles when it is another hub.
    pub async fn sign_in(
        &self,
        hub_url: &str,
        email: &str,
        password: &str,
        sign_up: Option<(&str, Role)>,
        attach: impl FnOnce(&Engine) -> JoinHandle<()>,
    ) -> CommandResult<User> {
        let engine = self.open(hub_url, attach).await?;
        let user = match sign_up {
            Some((name, role)) => engine.register(email, password, name, role).await?,
            None => engine.login(email, password).await?,
        };
        engine.start();
        Ok(user)
    }

    /// Stops the connection (on quit).
    pub async fn shutdown(&self) {
        if let Ok(engine) = self.engine() {
            engine.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_urls_are_normalised_and_checked() {
        assert_eq!(normalise_hub_url(" http://127.0.0.1:7878/ ").unwrap(), "http://127.0.0.1:7878");
        assert_eq!(normalise_hub_url("https://hub.example").unwrap(), "https://hub.example");
        assert!(normalise_hub_url("file:///etc/passwd").is_err(), "only http(s) hubs");
        assert!(normalise_hub_url("127.0.0.1:7878").is_err(), "a scheme is required");
    }

    #[test]
    fn each_hub_has_its_own_profile_directory() {
        assert_eq!(profile_name("http://127.0.0.1:7878"), "127.0.0.1_7878");
        assert_eq!(profile_name("https://hub.example"), "hub.example_443");
        assert_ne!(profile_name("http://a:1"), profile_name("http://a:2"));
    }
}
