//! How an [`crate::Engine`] is set up.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where the login (access and refresh token) is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TokenStoreKind {
    /// The OS keyring (Keychain, Credential Manager, Secret Service): for the desktop app. Where
    /// no keyring answers (a headless machine, no Secret Service), or it refuses to keep the
    /// login, the engine logs that and keeps it as [`TokenStoreKind::File`] does;
    /// [`crate::Engine::token_store`] tells which one is in use.
    Keyring,
    /// `login.json` inside the profile directory, mode 0600: for headless use.
    File,
}

/// What the engine needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineConfig {
    /// `http://host:port` or `https://host`; the gateway URL is derived from it.
    pub hub_url: String,
    /// One profile = one device: holds the cache (`cache.db`) and, for the file store, the login.
    pub profile_dir: PathBuf,
    /// Where the tokens live.
    pub token_store: TokenStoreKind,
}

impl EngineConfig {
    /// The hub URL without a trailing slash.
    pub(crate) fn base_url(&self) -> String {
        self.hub_url.trim_end_matches('/').to_owned()
    }

    /// `ws://…/v1/gateway` (or `wss://` for an `https` hub).
    pub(crate) fn gateway_url(&self) -> String {
        let base = self.base_url();
        let rest = base
            .strip_prefix("https://")
            .map(|r| format!("wss://{r}"))
            .or_else(|| base.strip_prefix("http://").map(|r| format!("ws://{r}")))
            .unwrap_or(base);
        format!("{rest}/v1/gateway")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_url_follows_the_scheme() {
        let config = |url: &str| EngineConfig {
            hub_url: url.into(),
            profile_dir: PathBuf::new(),
            token_store: TokenStoreKind::File,
        };
        assert_eq!(config("http://127.0.0.1:7878/").gateway_url(), "ws://127.0.0.1:7878/v1/gateway");
        assert_eq!(config("https://hub.example").gateway_url(), "wss://hub.example/v1/gateway");
    }
}
