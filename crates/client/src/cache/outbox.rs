//! The durable outbox: messages composed on this device that the hub has not acknowledged.
//!
//! Lifecycle: `enqueue` (state `pending`, before any network I/O) → sent in `position` order on
//! every connect, again and again with the same `client_msg_id` until the hub acknowledges it →
//! the acknowledged message is cached and the row deleted in one transaction
//! ([`Cache::insert_messages`]). A permanent refusal turns the row `failed` with the reason;
//! `retry` makes it `pending` again, `discard` deletes it. Nothing caps the outbox but the disk.

use super::Cache;
use crate::event::{LocalMessage, MessageState};
use crate::EngineError;

/// One outbox row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct OutboxEntry {
    pub client_msg_id: String,
    pub conversation_id: Option<String>,
    pub to_email: Option<String>,
    pub sender_id: String,
    pub body: String,
    pub created_at: String,
    pub state: String,
    pub error: Option<String>,
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
            state: if self.state == "failed" { MessageState::Failed } else { MessageState::Pending },
            error: self.error.clone(),
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
    pub(crate) async fn fail(&self, client_msg_id: &str, reason: &str) -> Result<(), EngineError> {
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
