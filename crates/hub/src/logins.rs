//! Which logins are still active, remembered briefly so that a reconnect storm does not ask the
//! database once per connection (and twice for a `resume` followed by an `identify`).
//!
//! Only "active" is remembered, for [`ACTIVE_TTL`]; a revoked login is asked about every time.
//! Revocations made by this hub take effect at once: [`ActiveLogins::revoked`] forgets the
//! login, and a check that was already running when it happened is not remembered (the
//! revocation epoch changed), so it cannot put a stale "active" back. A login revoked on
//! another hub (`--redis`) is announced to every hub and forgotten the same way; should that
//! announcement be lost (Redis away), the hub forgets every login when it reconnects, and
//! without it a revocation elsewhere takes effect within [`ACTIVE_TTL`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::store::{Store, StoreResult};

/// How long an "active" answer is trusted.
pub const ACTIVE_TTL: Duration = Duration::from_secs(5);

/// Recently confirmed active logins.
#[derive(Default)]
pub struct ActiveLogins {
    confirmed: DashMap<String, Instant>,
    /// Bumped by every local revocation.
    epoch: AtomicU64,
}

impl ActiveLogins {
    /// Whether the login has not been revoked.
    pub async fn is_active(&self, store: &dyn Store, login_id: &str) -> StoreResult<bool> {
        if self.confirmed.get(login_id).is_some_and(|at| at.elapsed() < ACTIVE_TTL) {
            return Ok(true);
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let active = store.login_is_active(login_id).await?;
        if active && self.epoch.load(Ordering::Acquire) == epoch {
            self.confirmed.insert(login_id.to_owned(), Instant::now());
        }
        Ok(active)
    }

    /// The login was just revoked (in the database): stop trusting it now.
    pub fn revoked(&self, login_id: &str) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.confirmed.remove(login_id);
    }

    /// Drops expired entries (memory only; they would not be trusted anyway).
    pub fn sweep(&self) {
        self.confirmed.retain(|_, at| at.elapsed() < ACTIVE_TTL);
    }

    /// Trusts no login any more until the database confirms it again (a revocation may have
    /// been missed).
    pub fn forget_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.confirmed.clear();
    }
}
