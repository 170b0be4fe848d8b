//! The durable outbox: messages composed on this device that the hub has not acknowledged.
//!
//! Lifecycle: `enqueue` (state `pending`, before any network I/O) → sent in `position` order on
//! every connect, again and again with the same `client_msg_id` until the hub acknowledges it →
//! the acknowledged message is cached and the row deleted in one transaction
//! ([`Cache::insert_messages`]). A permanent refusal turns the row `failed` with the reason;
//! `retry` makes it `pending` again, `discard` deletes it. Nothing caps the outbox but the disk.

use super::Cache;
use crate::error::{Code, EngineError};
use crate::event::{LocalMessage, MessageState};

/// One outbox row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct OutboxEntry {
    pub client_msg_id: String,
    pub conversation_id: Option<String>,
    pub to_email: Option<String>,
    pub sender_id: String,
    pub body: String,
    pub created_at: String,
    /// `Pending` or `Failed` (the table's values are `MessageState`'s wire names).
    pub state: MessageState,
    /// Why it failed: a `Code`'s wire name.
    pub error: Option<Code>,
}

impl OutboxEntry {
    pub(crate) fn local(&self) -> LocalMessage {
        LocalMessage {
            id: None,
            conversation_id: self.conversation_id.clone().unwrap_or_default(),
            seq: None,
            sender_id: self.sender_id.clone(),
            body: self.body.clone(),
            client_msg_id: self.client_msg_id.clone(),
            created_at: self.created_at.clone(),
            state: self.state,
            error: self.error,
            to_email: self.to_email.clone(),
        }
    }
}

const COLUMNS: &str = "client_msg_id, conversation_id, to_email, sender_id, body, created_at, state, error";

impl Cache {
    /// Writes a new pending message. Returns once it is on disk.
    pub(crate) async fn enqueue(&self, entry: &OutboxEntry) -> Result<(), EngineError> {
        sqlx::query(
            "INSERT INTO outbox (client_msg_id, conversation_id, to_email, sender_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&entry.client_msg_id)
        .bind(&entry.conversation_id)
        .bind(&entry.to_email)
        .bind(&entry.sender_id)
        .bind(&entry.body)
        .bind(&entry.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| EngineError::Io(format!("could not queue the message: {e}")))?;
        Ok(())
    }

    /// Pending entries in send order.
    pub(crate) async fn pending(&self) -> Result<Vec<OutboxEntry>, EngineError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE state = 'pending' ORDER BY position"))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every entry, pending or failed, in send order.
    pub(crate) async fn outbox_all(&self) -> Result<Vec<OutboxEntry>, EngineError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox ORDER BY position")).fetch_all(&self.pool).await?)
    }

    pub(crate) async fn pending_count(&self) -> Result<i64, EngineError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetch_one(&self.pool).await?)
    }

    pub(crate) async fn outbox_entry(&self, client_msg_id: &str) -> Result<Option<OutboxEntry>, EngineError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE client_msg_id = ?"))
            .bind(client_msg_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Pending and failed entries of one conversation, in send order.
    pub(crate) async fn outbox_of(&self, conversation_id: &str) -> Result<Vec<crate::LocalMessage>, EngineError> {
        let rows: Vec<OutboxEntry> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE conversation_id = ? ORDER BY position"))
            .bind(conversation_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(OutboxEntry::local).collect())
    }

    /// The conversation of a `send --to EMAIL` entry is now known.
    pub(crate) async fn resolve_outbox(&self, client_msg_id: &str, conversation_id: &str) -> Result<(), EngineError> {
        sqlx::query("UPDATE outbox SET conversation_id = ? WHERE client_msg_id = ?")
            .bind(conversation_id)
            .bind(client_msg_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts one more attempt to send an entry.
    pub(crate) async fn attempted(&self, client_msg_id: &str) -> Result<(), EngineError> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1 WHERE client_msg_id = ?").bind(client_msg_id).execute(&self.pool).await?;
        Ok(())
    }

    /// The hub refused an entry for good.
    pub(crate) async fn fail(&self, client_msg_id: &str, reason: Code) -> Result<(), EngineError> {
        sqlx::query("UPDATE outbox SET state = 'failed', error = ? WHERE client_msg_id = ? AND state = 'pending'")
            .bind(reason)
            .bind(client_msg_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A failed entry goes back to the queue (at its original position).
    pub(crate) async fn retry(&self, client_msg_id: &str) -> Result<bool, EngineError> {
        let done = sqlx::query("UPDATE outbox SET state = 'pending', error = NULL WHERE client_msg_id = ? AND state = 'failed'")
            .bind(client_msg_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes an entry that is failed (or still pending: the user gave up on it).
    pub(crate) async fn discard(&self, client_msg_id: &str) -> Result<Option<OutboxEntry>, EngineError> {
        let entry = self.outbox_entry(client_msg_id).await?;
        sqlx::query("DELETE FROM outbox WHERE client_msg_id = ?").bind(client_msg_id).execute(&self.pool).await?;
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    use super::*;

    /// A profile as the engine left it before the outbox's state and error were typed
    /// (migrations 0001 and 0002), with the rows it could write — and two it could not.
    async fn legacy_profile(dir: &std::path::Path) {
        let migrations = dir.join("migrations");
        std::fs::create_dir_all(&migrations).unwrap();
        std::fs::write(migrations.join("0001_cache.sql"), include_str!("../../migrations/0001_cache.sql")).unwrap();
        std::fs::write(migrations.join("0002_fts_explicit_insert.sql"), include_str!("../../migrations/0002_fts_explicit_insert.sql")).unwrap();
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.join("cache.db").display())).unwrap().create_if_missing(true);
        let pool = SqlitePoolOptions::new().connect_with(options).await.unwrap();
        sqlx::migrate::Migrator::new(migrations.as_path()).await.unwrap().run(&pool).await.unwrap();
        let rows = [
            ("hub-code", "failed", Some("body_too_long")),
            ("engine-code", "failed", Some("not_found")),
            ("coarse-engine-code", "failed", Some("invalid")),
            ("waiting", "pending", None),
            ("odd-reason", "failed", Some("the hub said no")),
            ("odd-state", "sending", Some("x")),
        ];
        for (id, state, error) in rows {
            sqlx::query("INSERT INTO outbox (client_msg_id, conversation_id, sender_id, body, created_at, state, error) VALUES (?, 'c', 'me', 'hi', '2026-01-01T00:00:00Z', ?, ?)")
                .bind(id)
                .bind(state)
                .bind(error)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }

    #[tokio::test]
    async fn outbox_rows_of_earlier_versions_read_as_states_and_codes() {
        let dir = tempfile::tempdir().unwrap();
        legacy_profile(dir.path()).await;
        let cache = Cache::open(dir.path()).await.expect("the typed columns migrate");
        let read: Vec<(String, MessageState, Option<Code>)> =
            cache.outbox_all().await.expect("every row decodes").into_iter().map(|e| (e.client_msg_id, e.state, e.error)).collect();
        assert_eq!(
            read,
            [
                ("hub-code".to_owned(), MessageState::Failed, Some(Code::BodyTooLong)),
                ("engine-code".to_owned(), MessageState::Failed, Some(Code::NotFound)),
                ("coarse-engine-code".to_owned(), MessageState::Failed, Some(Code::Invalid)),
                ("waiting".to_owned(), MessageState::Pending, None),
                ("odd-reason".to_owned(), MessageState::Failed, Some(Code::Invalid)),
                ("odd-state".to_owned(), MessageState::Failed, Some(Code::Invalid)),
            ],
            "every value earlier versions wrote keeps its meaning, and an odd row cannot break the outbox"
        );
        assert_eq!(cache.pending().await.unwrap().len(), 1, "only the pending row is sent");
    }

    #[tokio::test]
    async fn a_failure_is_stored_as_its_code() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).await.unwrap();
        let entry = OutboxEntry {
            client_msg_id: "m".into(),
            conversation_id: Some("c".into()),
            to_email: None,
            sender_id: "me".into(),
            body: "hi".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            state: MessageState::Pending,
            error: None,
        };
        cache.enqueue(&entry).await.unwrap();
        cache.fail("m", Code::RateLimited).await.unwrap();
        let stored: (String, String) = sqlx::query_as("SELECT state, error FROM outbox").fetch_one(&cache.pool).await.unwrap();
        assert_eq!(stored, ("failed".to_owned(), "rate_limited".to_owned()), "the wire names are what the table keeps");
        let local = cache.outbox_entry("m").await.unwrap().unwrap().local();
        assert_eq!((local.state, local.error), (MessageState::Failed, Some(Code::RateLimited)));
    }
}
