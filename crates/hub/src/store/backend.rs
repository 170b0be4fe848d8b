//! The backends seen from outside: which one a database URL names, opening it, and what their
//! errors mean for a caller. The only module that knows both, so that the contract in
//! [`crate::store`] depends on neither.

use std::sync::Arc;

use prometheus_client::metrics::histogram::Histogram;

use super::{postgres, sqlite, ClusterStore, Store, StoreError};
use crate::config::{is_postgres, Config};

/// An opened database.
pub struct Opened {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The same database as several hubs share it; `None` for SQLite.
    pub shared: Option<Arc<dyn ClusterStore>>,
}

/// Opens the database named by the configuration and migrates it. `pool_wait` observes how
/// long each call waited for a pooled connection (PostgreSQL, whose pool is bounded by
/// `--database-pool`; SQLite's pools are internal and observe nothing).
pub async fn open(config: &Config, pool_wait: Histogram) -> anyhow::Result<Opened> {
    let url = config.database_url.as_str();
    if url.starts_with("sqlite:") {
        Ok(Opened { store: Arc::new(sqlite::SqliteStore::open(url).await?), shared: None })
    } else if is_postgres(url) {
        let store = Arc::new(postgres::PostgresStore::open(config, pool_wait).await?);
        Ok(Opened { store: store.clone(), shared: Some(store) })
    } else {
        anyhow::bail!("unsupported database URL (expected sqlite://PATH or postgres://...)")
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> StoreError {
        match &err {
            _ if is_transient(&err) => StoreError::Unavailable(Arc::new(err)),
            sqlx::Error::Database(db) if postgres::is_invalid_text(db.as_ref()) => StoreError::InvalidText,
            _ => StoreError::Database(err),
        }
    }
}

/// Whether a failure means "not now" rather than "never": no connection could be had in time,
/// the connection broke, or PostgreSQL said so (its list is `postgres::is_transient`).
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => postgres::is_transient(db.as_ref()),
        _ => false,
    }
}
