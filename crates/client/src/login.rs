//! The login in memory and its refresh: the tokens to act as the user, kept in a
//! [`TokenStore`], and the one place that rotates them.
//!
//! A refresh token is presented at most once: refreshes are serialised, and each one re-reads
//! the store first, because another process on the same profile (the CLI next to the app) may
//! have rotated the tokens already — presenting the old refresh token again would make the hub
//! revoke the whole login (reuse detection).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rapport_protocol::User;

use crate::api::HubApi;
use crate::error::EngineError;
use crate::config::TokenStoreKind;
use crate::tokens::{KeyringOrFile, StoredLogin, TokenStore};

/// The current login (if any), where it is stored, and the refresh lock.
pub(crate) struct Login {
    store: Arc<KeyringOrFile>,
    current: Mutex<Option<StoredLogin>>,
    refresh_lock: tokio::sync::Mutex<()>,
    refreshes: AtomicU64,
}

fn not_signed_in() -> EngineError {
    EngineError::Unauthorized("not signed in".into())
}

impl Login {
    /// The login kept in `store`, if any.
    pub(crate) async fn load(store: Arc<KeyringOrFile>) -> Result<Login, EngineError> {
        let login = Login { store, current: Mutex::new(None), refresh_lock: tokio::sync::Mutex::new(()), refreshes: AtomicU64::new(0) };
        let stored = login.in_store(|s| s.load()).await?;
        *login.current.lock() = stored;
        Ok(login)
    }

    /// Runs a store operation on a blocking thread (the keyring APIs block).
    async fn in_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn TokenStore) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&*store))
            .await
            .map_err(|e| EngineError::Io(format!("token store: {e}")))?
    }

    /// Who is logged in.
    pub(crate) fn user(&self) -> Option<User> {
        self.current.lock().as_ref().map(|l| l.user.clone())
    }

    /// The current access token (empty when signed out).
    pub(crate) fn access_token(&self) -> String {
        self.current.lock().as_ref().map(|l| l.access_token.clone()).unwrap_or_default()
    }

    /// The current refresh token, for logging out.
    pub(crate) fn refresh_token(&self) -> Option<String> {
        self.current.lock().as_ref().map(|l| l.refresh_token.clone())
    }

    /// Seconds until the access token should be refreshed; `None` when signed out.
    pub(crate) fn refresh_in(&self) -> Option<i64> {
        self.current.lock().as_ref().map(StoredLogin::refresh_in)
    }

    /// Where the login is kept now.
    pub(crate) fn store_kind(&self) -> TokenStoreKind {
        self.store.kind()
    }

    /// Access tokens this engine rotated so far.
    pub(crate) fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// Stores a new login (after login or register) and makes it current.
    pub(crate) async fn adopt(&self, login: StoredLogin) -> Result<(), EngineError> {
        let saved = login.clone();
        self.in_store(move |s| s.save(&saved)).await?;
        *self.current.lock() = Some(login);
        Ok(())
    }

    /// Forgets the login, in memory and in the store; whether there was one.
    pub(crate) async fn forget(&self) -> bool {
        let had_login = self.current.lock().take().is_some();
        if let Err(e) = self.in_store(|s| s.clear()).await {
            tracing::warn!(error = %e, "could not clear the token store");
        }
        had_login
    }

    /// The access token, refreshed first when it is about to expire (an offline refresh keeps
    /// the old one: the caller's request will fail as offline on its own). `Unauthorized` when
    /// there is no login or the hub refused the refresh.
    pub(crate) async fn fresh_token(&self, api: &HubApi) -> Result<String, EngineError> {
        let (token, due) = {
            let current = self.current.lock();
            let login = current.as_ref().ok_or_else(not_signed_in)?;
            (login.access_token.clone(), login.refresh_in() <= 0)
        };
        if due {
            match self.refresh(api, &token).await {
                Ok(()) => {}
                Err(EngineError::Unauthorized(m)) => return Err(EngineError::Unauthorized(m)),
                Err(_) => return Ok(token),
            }
        }
        self.current.lock().as_ref().map(|l| l.access_token.clone()).ok_or_else(not_signed_in)
    }

    /// Replaces a stale access token. Serialised, and a no-op when someone else (this process
    /// or another one using the same profile) already did it. `Unauthorized` when there is no
    /// login or the hub refused the refresh token: the login is over.
    pub(crate) async fn refresh(&self, api: &HubApi, stale_access: &str) -> Result<(), EngineError> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let Some(current) = self.current.lock().clone() else {
            return Err(not_signed_in());
        };
        if current.access_token != stale_access {
            return Ok(());
        }
        if let Ok(Some(stored)) = self.in_store(|s| s.load()).await {
            if stored.user.id == current.user.id && stored.refresh_token != current.refresh_token {
                *self.current.lock() = Some(stored);
                return Ok(());
            }
        }
        match api.refresh(&current.refresh_token).await {
            Ok(session) => {
                let login = StoredLogin::from_session(session);
                let saved = login.clone();
                self.in_store(move |s| s.save(&saved)).await?;
                *self.current.lock() = Some(login);
                self.refreshes.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("access token refreshed");
                Ok(())
            }
            Err(EngineError::Unauthorized(message)) => {
                tracing::info!("refresh refused: signing out");
                Err(EngineError::Unauthorized(message))
            }
            Err(other) => Err(other),
        }
    }
}
