//! The embedded default: SQLite in WAL mode, one file per concept of the store's contract
//! (`users`, `logins`, `conversations`, `messages`, `changes`, `attachments`, `receipts`,
//! `notifications`, …, `bridges` and `outbound` for the Twilio bridge).
//!
//! Writes go through a single connection, so a write transaction that starts with reads cannot
//! fail with a lock upgrade error. `secure_delete` is on: what a deletion removes is zeroed in
//! the database file, not only unlinked; [`Store::purge_removed`] then truncates the WAL.

mod attachments;
mod bridges;
mod changes;
mod conversations;
mod integrations;
mod logins;
mod messages;
mod notifications;
mod outbound;
mod receipts;
mod scheduled;
mod templates;
mod users;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

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

    /// A read transaction on one snapshot (of the WAL, from its first statement on): what
    /// several statements read together (a page of messages and their reactions, a
    /// conversation and its last message) agrees, although the writer commits in between.
    async fn snapshot(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.read.begin().await?)
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

#[cfg(test)]
mod upgrade_tests {
    use super::*;
    use crate::store::{ConversationStore as _, MessageStore as _, NewMessage, Page};

    /// A database as a hub of schema version 1 left it: only `0001_init.sql` applied (by the
    /// same migrator, so its bookkeeping is exactly what such a hub wrote), with messages.
    async fn old_database(path: &std::path::Path) {
        let migrations = path.parent().unwrap().join("v1-migrations");
        std::fs::create_dir_all(&migrations).unwrap();
        std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/0001_init.sql"), migrations.join("0001_init.sql")).unwrap();
        let options = SqliteConnectOptions::new().filename(path).create_if_missing(true).journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        sqlx::migrate::Migrator::new(migrations.as_path()).await.unwrap().run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, display_name, display_name_folded, role, created_at) VALUES
                ('a', 'a@x.test', 'x', 'A', 'a', 'recruiter', 0), ('b', 'b@x.test', 'x', 'B', 'b', 'candidate', 0);
             INSERT INTO conversations (id, kind, title, direct_key, last_seq, created_at, last_activity_at) VALUES
                ('ab', 'direct', NULL, 'a:b', 2, 0, 0), ('g', 'group', 'G', NULL, 0, 0, 0);
             INSERT INTO members (conversation_id, user_id, read_seq, delivered_seq, joined_at) VALUES
                ('ab', 'a', 2, 2, 0), ('ab', 'b', 1, 1, 0), ('g', 'a', 0, 0, 0), ('g', 'b', 0, 0, 0);
             INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at) VALUES
                ('m1', 'ab', 1, 'a', 'k1', 'first', 1), ('m2', 'ab', 2, 'a', 'k2', 'second', 2);",
        )
        .execute(&pool)
        .await
        .unwrap();
        // Under version 1 a client id was unique per sender everywhere.
        let reuse = sqlx::query("INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at) VALUES ('m3', 'g', 1, 'a', 'k1', 'x', 3)")
            .execute(&pool)
            .await;
        assert!(reuse.is_err(), "the old schema refuses a client id reused in another conversation");
        pool.close().await;
    }

    #[tokio::test]
    async fn a_version_1_database_upgrades_in_place_and_then_scopes_client_ids_per_conversation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        old_database(&path).await;

        let store = SqliteStore::open(&format!("sqlite://{}", path.display())).await.unwrap();
        let (history, _) = store.messages("a", "ab", Page::Latest, 10).await.unwrap();
        let kept: Vec<(&str, i64, &str, &str)> = history.iter().map(|m| (m.id.as_str(), m.seq, m.client_msg_id.as_str(), m.body.as_str())).collect();
        assert_eq!(kept, vec![("m1", 1, "k1", "first"), ("m2", 2, "k2", "second")], "every message survives the upgrade as it was");
        assert_eq!(store.conversation("b", "ab").await.unwrap().unread_count, 1, "receipts survive too");

        let send = |conversation_id, client_msg_id| NewMessage::text(conversation_id, "a", client_msg_id, "again");
        let results = store.insert_messages(&[send("g", "k1"), send("ab", "k1")]).await;
        let (in_group, stored) = results[0].as_ref().unwrap();
        assert!(*stored && in_group.conversation_id == "g" && in_group.seq == 1, "k1 in another conversation is a new message: {in_group:?}");
        let (resend, stored) = results[1].as_ref().unwrap();
        assert!(!*stored && resend.id == "m1", "k1 again where it was sent is still a resend: {resend:?}");
        // Alone in its batch, as the one-by-one fallback stores a message, a resend agrees.
        let one = store.insert_messages(&[send("ab", "k2")]).await.pop().unwrap().unwrap();
        assert!(!one.1 && one.0.id == "m2", "{one:?}");
        assert_eq!((one.0.rev, store.conversation("a", "ab").await.unwrap().last_rev), (2, 2), "0003 made each v1 message the change that created it");
        let reopened = SqliteStore::open(&format!("sqlite://{}", path.display())).await;
        assert!(reopened.is_ok(), "opening again finds nothing left to migrate");
    }
}
