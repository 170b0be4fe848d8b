//! Which engine is open: one per hub URL, each in a profile directory of its own (a profile is
//! one device to the hub), and where its login is kept.
//!
//! The login lives in the OS keyring (Secret Service, Keychain, Credential Manager). Where no
//! keyring answers — a headless CI machine, a minimal window manager without a secret service —
//! the profile falls back, once and with a log line, to the engine's 0600 `login.json` in the
//! profile directory. `RAPPORT_TOKEN_STORE=file` forces that.

use std::path::PathBuf;
use std::sync::Mutex;

use rapport_client::{Engine, EngineConfig, EngineError, Role, TokenStoreKind, User};
use tauri::{AppHandle, Manager};

use crate::error::{CommandError, CommandResult};

struct Active {
    engine: Engine,
    hub_url: String,
    store: TokenStoreKind,
    forwarder: tauri::async_runtime::JoinHandle<()>,
}

struct Focus {
    window_focused: bool,
    conversation: Option<String>,
}

impl Default for Focus {
    // The window opens shown and focused; focus events keep this true afterwards.
    fn default() -> Self {
        Focus { window_focused: true, conversation: None }
    }
}

/// The open engine and what the user is looking at.
pub struct Profiles {
    base: PathBuf,
    /// `RAPPORT_PROFILE`: use exactly this directory, whatever the hub.
    fixed: bool,
    active: Mutex<Option<Active>>,
    /// Serialises opening and switching, so that two sign-ins never open two engines.
    switching: tokio::sync::Mutex<()>,
    focus: Mutex<Focus>,
}

/// `http://127.0.0.1:7878/` → `http://127.0.0.1:7878`; anything but an http(s) URL is refused.
pub fn normalise_hub_url(raw: &str) -> CommandResult<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|_| CommandError::new("invalid", "The hub address is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CommandError::new("invalid", "The hub address must start with http:// or https://"));
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

impl Profiles {
    pub fn new(app: &AppHandle) -> anyhow::Result<Profiles> {
        let (base, fixed) = match std::env::var_os("RAPPORT_PROFILE") {
            Some(dir) => (PathBuf::from(dir), true),
            None => (app.path().app_data_dir()?.join("profiles"), false),
        };
        Ok(Profiles { base, fixed, active: Mutex::new(None), switching: tokio::sync::Mutex::new(()), focus: Mutex::default() })
    }

    fn dir_for(&self, hub_url: &str) -> PathBuf {
        if self.fixed { self.base.clone() } else { self.base.join(profile_name(hub_url)) }
    }

    /// The open engine.
    pub fn engine(&self) -> CommandResult<Engine> {
        self.active.lock().expect("profile lock").as_ref().map(|a| a.engine.clone()).ok_or_else(|| CommandError::new("signed_out", "Not signed in"))
    }

    /// The hub the open engine talks to.
    pub fn hub_url(&self) -> Option<String> {
        self.active.lock().expect("profile lock").as_ref().map(|a| a.hub_url.clone())
    }

    async fn open_with(&self, app: &AppHandle, hub_url: &str, store: TokenStoreKind) -> CommandResult<Engine> {
        let dir = self.dir_for(hub_url);
        std::fs::create_dir_all(&dir).map_err(EngineError::from)?;
        let engine = Engine::open(EngineConfig { hub_url: hub_url.to_owned(), profile_dir: dir, token_store: store }).await?;
        let forwarder = crate::forward::spawn(app.clone(), engine.subscribe());
        let old = self.active.lock().expect("profile lock").replace(Active { engine: engine.clone(), hub_url: hub_url.to_owned(), store, forwarder });
        if let Some(old) = old {
            old.forwarder.abort();
            old.engine.shutdown().await;
        }
        self.apply_focus();
        engine.set_do_not_disturb(app.state::<crate::settings::Settings>().get().do_not_disturb);
        engine.start();
        Ok(engine)
    }

    /// Opens the profile of this hub (a no-op when it is the open one) and connects when a login
    /// is stored.
    pub async fn open(&self, app: &AppHandle, hub_url: &str) -> CommandResult<Engine> {
        let hub_url = normalise_hub_url(hub_url)?;
        let _switching = self.switching.lock().await;
        if let Some(a) = self.active.lock().expect("profile lock").as_ref().filter(|a| a.hub_url == hub_url) {
            return Ok(a.engine.clone());
        }
        let store = preferred_store();
        match self.open_with(app, &hub_url, store).await {
            Err(e) if e.code() == "io" && store == TokenStoreKind::Keyring => {
                tracing::warn!(error = %e, "no OS keyring answers; keeping the login in a 0600 file in the profile instead");
                self.open_with(app, &hub_url, TokenStoreKind::File).await
            }
            other => other,
        }
    }

    /// Signs in (or up, with `sign_up`) at `hub_url`, switching profiles when it is another hub.
    pub async fn sign_in(&self, app: &AppHandle, hub_url: &str, email: &str, password: &str, sign_up: Option<(&str, Role)>) -> CommandResult<User> {
        let engine = self.open(app, hub_url).await?;
        let attempt = |engine: Engine| async move {
            match sign_up {
                Some((name, role)) => engine.register(email, password, name, role).await,
                None => engine.login(email, password).await,
            }
        };
        let user = match attempt(engine).await {
            // The keyring answered the first read but refuses to store: fall back to the file.
            Err(e) if e.code() == rapport_client::Code::Io && self.store() == Some(TokenStoreKind::Keyring) => {
                tracing::warn!(error = %e, "the OS keyring refused the login; keeping it in a 0600 file in the profile instead");
                let hub = normalise_hub_url(hub_url)?;
                let _switching = self.switching.lock().await;
                let engine = self.open_with(app, &hub, TokenStoreKind::File).await?;
                attempt(engine).await?
            }
            other => other?,
        };
        self.engine()?.start();
        Ok(user)
    }

    /// Where the open profile keeps its login.
    pub fn store(&self) -> Option<TokenStoreKind> {
        self.active.lock().expect("profile lock").as_ref().map(|a| a.store)
    }

    /// Stops the connection (on quit).
    pub async fn shutdown(&self) {
        if let Ok(engine) = self.engine() {
            engine.shutdown().await;
        }
    }

    fn apply_focus(&self) {
        let focus = self.focus.lock().expect("focus lock");
        if let Ok(engine) = self.engine() {
            engine.set_focus(focus.conversation.as_deref(), focus.window_focused);
        }
    }

    /// The window gained or lost focus.
    pub fn set_window_focused(&self, focused: bool) {
        self.focus.lock().expect("focus lock").window_focused = focused;
        self.apply_focus();
    }

    /// The conversation shown in the window changed.
    pub fn set_open_conversation(&self, conversation_id: Option<String>) {
        self.focus.lock().expect("focus lock").conversation = conversation_id;
        self.apply_focus();
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
