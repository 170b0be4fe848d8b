//! The embedded default: SQLite in WAL mode, one file per concept of the store's contract
//! (`users`, `logins`, `conversations`, `messages`, `changes`, `attachments`, `receipts`,
//! `notifications`).
//!
//! Writes go through a single connection, so a write transaction that starts with reads cannot
//! fail with a lock upgrade error. `secure_delete` is on: what a deletion removes is zeroed in
//! the database file, not only unlinked; [`Store::purge_removed`] then truncates the WAL.

mod attachments;
mod changes;
mod conversations;
mod logins;
mod messages;
mod notifications;
mod receipts;
mod users;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{Store, StoreResult};

/// SQLite-backed [`Store`].
///
/// Writes go through one connection: SQLite admits one writer at a time anyway, and queueing
/// in the pool is fair and sleep-free, where several writers would spin in `busy_timeout`.
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) and migrates the database at `url` (`sqlite://PATH`).
    pub async fn open(url: &str) -> anyhow::Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives the process being killed; only an OS crash
            // or power loss can take back the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // A deleted message's body must really leave the file (protocol 1.1, §1.2).
            .pragma("secure_delete", "ON")
            .busy_timeout(Duration::from_secs(5));
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        // No test query before each use: a SQLite connection cannot go stale, and the test
        // would double the round trips to the connection's worker thread.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore { read, write })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn purge_removed(&self) -> StoreResult<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.write).await?;
        Ok(())
    }

    async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// `(?, ?), (?, ?)…`: `rows` rows of `columns` placeholders, for a `VALUES` list.
fn placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// Set-ups shared by the tests of every concept.
#[cfg(test)]
mod test_support {
    use super::*;
    use crate::store::{NewUser, UserStore as _};
    use rapport_protocol::Role;

    /// A fresh database in `dir`.
    pub async fn store(dir: &std::path::Path) -> SqliteStore {
        SqliteStore::open(&format!("sqlite://{}", dir.join("hub.db").display())).await.unwrap()
    }

    /// A user named `name` (`name@example.com`); returns their id.
    pub async fn user(store: &SqliteStore, name: &str) -> String {
        let email = format!("{name}@example.com");
        let new = NewUser { email: &email, password_hash: "x", display_name: name, role: Role::Candidate };
        store.create_user(new).await.unwrap().id
    }
}
