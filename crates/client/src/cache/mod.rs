//! The local cache: one SQLite database per profile (WAL, migrations, FTS5).
//!
//! [`Cache`] is split by concept: `conversations` (list, members, receipts, unread counts),
//! `incoming` (what the hub sends: new messages with the gap-free `synced_seq`, newer copies and
//! changes by `rev`), `messages` (history paging, local states), `view` (files, quotes and
//! queued changes laid over each message for the UI), `outbox` (the durable queue of everything
//! not yet acknowledged) with `changes` (its edits, deletions and reactions), `files` (uploads,
//! attachments, the kept downloads), `search` (FTS5), `notifications`, and `cards` (what the cached job and status cards of a
//! conversation say).

mod cards;
mod changes;
mod conversations;
mod files;
mod incoming;
mod messages;
mod notifications;
mod outbox;
mod search;
#[cfg(test)]
mod tests;
mod view;

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous, SqliteTransactionManager};
use sqlx::{Connection as _, TransactionManager as _};

pub(crate) use changes::{Settled, Target};
pub(crate) use conversations::{PendingReceipt, SyncPosition};
pub(crate) use files::UploadJob;
pub(crate) use incoming::{Applied, Change, Inserted, SentFile};
pub(crate) use outbox::{Op, OutboxEntry, QueuedFile};

use crate::EngineError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The profile's database.
#[derive(Clone)]
pub(crate) struct Cache {
    pool: SqlitePool,
}

impl Cache {
    /// Opens (creating and migrating) `cache.db` in `profile_dir`.
    pub(crate) async fn open(profile_dir: &Path) -> Result<Cache, EngineError> {
        std::fs::create_dir_all(profile_dir)?;
        let url = format!("sqlite://{}", profile_dir.join("cache.db").display());
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an outbox row that `send` reported as written survives power loss too.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            // sqlx 0.8 can leak a transaction when a `begin_with` future is cancelled just after
            // its BEGIN ran (a catch-up task aborted on disconnect): the connection would return
            // to the pool holding the write lock and every later write would time out. Roll back
            // whatever a released connection still has open.
            .after_release(|conn, _| {
                Box::pin(async move {
                    if conn.is_in_transaction() {
                        SqliteTransactionManager::rollback(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Cache { pool })
    }

    pub(crate) async fn get_kv(&self, key: &str) -> Result<Option<String>, EngineError> {
        Ok(sqlx::query_scalar("SELECT value FROM kv WHERE key = ?").bind(key).fetch_optional(&self.pool).await?)
    }

    pub(crate) async fn set_kv(&self, key: &str, value: &str) -> Result<(), EngineError> {
        sqlx::query("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn delete_kv(&self, key: &str) -> Result<(), EngineError> {
        sqlx::query("DELETE FROM kv WHERE key = ?").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    /// Forgets everything (another user logs in on this profile, or logout).
    pub(crate) async fn wipe(&self) -> Result<(), EngineError> {
        // IMMEDIATE: take the write lock first, so a concurrent writer makes us wait in
        // busy_timeout instead of failing with "database is locked" on a read-to-write upgrade.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Attachments and outbox files go with their messages and outbox rows (ON DELETE CASCADE).
        for table in ["messages", "members", "conversations", "users", "notifications", "outbox", "downloads", "kv"] {
            sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Known kv keys.
pub(crate) mod keys {
    /// The user whose data this cache holds.
    pub const OWNER: &str = "owner_user_id";
    /// The presence the user chose (`online`, `away`, `busy`, `invisible`).
    pub const CHOSEN_STATUS: &str = "chosen_status";
    /// Set once a catch-up completed (later catch-ups may notify about what they bring).
    pub const SYNCED_ONCE: &str = "synced_once";
    /// When the user's pause of notifications ends (RFC 3339), while one runs.
    pub const PAUSED_UNTIL: &str = "notifications_paused_until";
}
