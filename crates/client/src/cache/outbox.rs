//! The durable outbox: everything composed on this device that the hub has not acknowledged —
//! sends, and since 1.1 edits, deletions and reactions — in one order.
//!
//! Lifecycle: queued (`pending`, before any network I/O) → sent in `position` order on every
//! connect, again and again with the same id until the hub acknowledges it → the row goes in the
//! transaction that stores what the hub answered. A permanent refusal turns the row `failed` with
//! the reason; `retry` makes it `pending` again, `discard` deletes it. Nothing caps the outbox but
//! the disk.
//!
//! A send's files are copied into the profile when it is queued (`outbox_files`) and uploaded
//! before the send goes out. Changes coalesce: at most one edit and one deletion per message, and
//! one reaction per (message, emoji), each holding what the user wants now; an ack only removes a
//! row that still holds what was sent (otherwise the newer wish is sent next). Resending is safe
//! because every op is idempotent at the hub: a send by its `client_msg_id`, an edit to the same
//! body, a second deletion, the same reaction again all change nothing.

use super::Cache;
use crate::error::{Code, EngineError};
use crate::event::{LocalMessage, MessageState};

/// What an outbox row asks the hub for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "snake_case")]
pub(crate) enum Op {
    Send,
    Edit,
    Delete,
    React,
}

/// One outbox row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct OutboxEntry {
    /// A send's idempotency key; a change's own id.
    pub client_msg_id: String,
    pub conversation_id: Option<String>,
    pub to_email: Option<String>,
    pub sender_id: String,
    /// A send's or an edit's body; '' otherwise.
    pub body: String,
    pub created_at: String,
    /// `Pending` or `Failed` (the table's values are `MessageState`'s wire names).
    pub state: MessageState,
    /// Why it failed: a `Code`'s wire name.
    pub error: Option<Code>,
    pub op: Op,
    /// What a change is about.
    pub message_id: Option<String>,
    /// A deletion of an own send that the hub has not acknowledged yet.
    pub target_client_msg_id: Option<String>,
    pub reply_to: Option<String>,
    pub emoji: Option<String>,
    pub react_on: Option<bool>,
    /// A send's card, as JSON (1.1, §3).
    pub card: Option<String>,
}

/// A file of a send, as queued.
#[derive(Debug, Clone)]
pub(crate) struct QueuedFile {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// Relative to the profile.
    pub staged: String,
}

impl OutboxEntry {
    /// A new pending send.
    pub(crate) fn send(client_msg_id: String, conversation_id: Option<String>, to_email: Option<String>, sender_id: String, body: String, reply_to: Option<String>, created_at: String) -> OutboxEntry {
        OutboxEntry {
            client_msg_id,
            conversation_id,
            to_email,
            sender_id,
            body,
            created_at,
            state: MessageState::Pending,
            error: None,
            op: Op::Send,
            message_id: None,
            target_client_msg_id: None,
            reply_to,
            emoji: None,
            react_on: None,
            card: None,
        }
    }

    /// The card a send carries.
    pub(crate) fn card(&self) -> Option<rapport_protocol::Card> {
        self.card.as_deref().and_then(|json| serde_json::from_str(json).ok())
    }

    /// A send as a message, before [`Cache::finish`] adds its files and quote.
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
            kind: self.card().map_or(rapport_protocol::MessageKind::Text, |card| card.kind()),
            card: self.card(),
            reply_to: self.reply_to.clone(),
            reply: None,
            attachments: Vec::new(),
            reactions: Vec::new(),
            edited_at: None,
            deleted_at: None,
            rev: 0,
            change: None,
            upload: None,
        }
    }
}

pub(super) const COLUMNS: &str =
    "client_msg_id, conversation_id, to_email, sender_id, body, created_at, state, error, op, message_id, target_client_msg_id, reply_to, emoji, react_on, card";

impl Cache {
    /// Writes a new pending send and its files. Returns once it is on disk.
    pub(crate) async fn enqueue(&self, entry: &OutboxEntry, files: &[QueuedFile]) -> Result<(), EngineError> {
        let io = |e: sqlx::Error| EngineError::Io(format!("could not queue the message: {e}"));
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(io)?;
        sqlx::query(
            "INSERT INTO outbox (client_msg_id, conversation_id, to_email, sender_id, body, created_at, reply_to, card) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&entry.client_msg_id)
        .bind(&entry.conversation_id)
        .bind(&entry.to_email)
        .bind(&entry.sender_id)
        .bind(&entry.body)
        .bind(&entry.created_at)
        .bind(&entry.reply_to)
        .bind(&entry.card)
        .execute(&mut *tx)
        .await
        .map_err(io)?;
        for (position, f) in files.iter().enumerate() {
            sqlx::query(
                "INSERT INTO outbox_files (client_msg_id, position, filename, content_type, size, sha256, staged) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&entry.client_msg_id)
            .bind(position as i64)
            .bind(&f.filename)
            .bind(&f.content_type)
            .bind(f.size as i64)
            .bind(&f.sha256)
            .bind(&f.staged)
            .execute(&mut *tx)
            .await
            .map_err(io)?;
        }
        tx.commit().await.map_err(io)?;
        Ok(())
    }

    /// Pending entries (every op) in queue order.
    pub(crate) async fn pending(&self) -> Result<Vec<OutboxEntry>, EngineError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE state = 'pending' ORDER BY position"))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every queued send, pending or failed, in send order, as messages.
    pub(crate) async fn outbox_all(&self, me: &str) -> Result<Vec<LocalMessage>, EngineError> {
        let rows: Vec<OutboxEntry> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE op = 'send' ORDER BY position")).fetch_all(&self.pool).await?;
        self.finished(rows, me).await
    }

    /// Pending ops of every kind.
    pub(crate) async fn pending_count(&self) -> Result<i64, EngineError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetch_one(&self.pool).await?)
    }

    pub(crate) async fn outbox_entry(&self, client_msg_id: &str) -> Result<Option<OutboxEntry>, EngineError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE client_msg_id = ?"))
            .bind(client_msg_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// A queued send as a message.
    pub(crate) async fn queued_message(&self, client_msg_id: &str, me: &str) -> Result<Option<LocalMessage>, EngineError> {
        let rows: Vec<OutboxEntry> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE client_msg_id = ? AND op = 'send'"))
            .bind(client_msg_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(self.finished(rows, me).await?.pop())
    }

    /// Pending and failed sends of one conversation, in send order, as messages.
    pub(crate) async fn outbox_of(&self, conversation_id: &str, me: &str) -> Result<Vec<LocalMessage>, EngineError> {
        let rows: Vec<OutboxEntry> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE conversation_id = ? AND op = 'send' ORDER BY position"))
                .bind(conversation_id)
                .fetch_all(&self.pool)
                .await?;
        self.finished(rows, me).await
    }

    async fn finished(&self, rows: Vec<OutboxEntry>, me: &str) -> Result<Vec<LocalMessage>, EngineError> {
        let mut messages: Vec<LocalMessage> = rows.iter().map(OutboxEntry::local).collect();
        self.finish(&mut messages, me).await?;
        Ok(messages)
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

    /// Counts one more attempt to send an entry; false when the entry is gone (discarded
    /// meanwhile: then it must not be sent).
    pub(crate) async fn attempted(&self, client_msg_id: &str) -> Result<bool, EngineError> {
        let done = sqlx::query("UPDATE outbox SET attempts = attempts + 1 WHERE client_msg_id = ? AND state = 'pending'")
            .bind(client_msg_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
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

    /// A failed entry goes back to the queue (at its original position). A send's files are
    /// uploaded afresh: an upload that no message took is gone from the hub after a day.
    pub(crate) async fn retry(&self, client_msg_id: &str) -> Result<bool, EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query("UPDATE outbox SET state = 'pending', error = NULL WHERE client_msg_id = ? AND state = 'failed'")
            .bind(client_msg_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE outbox_files SET attachment_id = NULL, uploaded_at = NULL WHERE client_msg_id = ?")
            .bind(client_msg_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes an entry that is failed (or still pending: the user gave up on it), with its
    /// files; the entry and the staged copies to remove.
    pub(crate) async fn discard(&self, client_msg_id: &str) -> Result<Option<(OutboxEntry, Vec<String>)>, EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let entry: Option<OutboxEntry> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE client_msg_id = ?"))
            .bind(client_msg_id)
            .fetch_optional(&mut *tx)
            .await?;
        let staged: Vec<String> = sqlx::query_scalar("SELECT staged FROM outbox_files WHERE client_msg_id = ?")
            .bind(client_msg_id)
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM outbox WHERE client_msg_id = ?").bind(client_msg_id).execute(&mut *tx).await?;
        // Changes waiting for this send would wait forever.
        sqlx::query("DELETE FROM outbox WHERE target_client_msg_id = ?").bind(client_msg_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(entry.map(|e| (e, staged)))
    }

    /// Deletes a send that never left this device (not a single attempt): what the user
    /// deleted then never reaches anyone. False when it was attempted (or is gone).
    pub(crate) async fn discard_unsent(&self, client_msg_id: &str) -> Result<Option<Vec<String>>, EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let staged: Vec<String> = sqlx::query_scalar("SELECT staged FROM outbox_files WHERE client_msg_id = ?")
            .bind(client_msg_id)
            .fetch_all(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM outbox WHERE client_msg_id = ? AND op = 'send' AND attempts = 0")
            .bind(client_msg_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((done.rows_affected() == 1).then_some(staged))
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
            cache.outbox_all("me").await.expect("every row decodes").into_iter().map(|e| (e.client_msg_id, e.state, e.error)).collect();
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
        let entry = OutboxEntry::send("m".into(), Some("c".into()), None, "me".into(), "hi".into(), None, "2026-01-01T00:00:00Z".into());
        cache.enqueue(&entry, &[]).await.unwrap();
        cache.fail("m", Code::RateLimited).await.unwrap();
        let stored: (String, String) = sqlx::query_as("SELECT state, error FROM outbox").fetch_one(&cache.pool).await.unwrap();
        assert_eq!(stored, ("failed".to_owned(), "rate_limited".to_owned()), "the wire names are what the table keeps");
        let local = cache.outbox_entry("m").await.unwrap().unwrap().local();
        assert_eq!((local.state, local.error), (MessageState::Failed, Some(Code::RateLimited)));
    }
}
