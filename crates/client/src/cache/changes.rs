//! Queued changes (1.1): edits, deletions and reactions in the outbox, coalesced per target
//! (see `outbox`), and what is left of them once the hub answered.

use super::outbox::{OutboxEntry, COLUMNS};
use super::Cache;
use crate::error::{Code, EngineError};
use crate::event::MessageState;

/// What a queued change of a message is waiting for, as far as its target is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Everything queued for it is at the hub.
    Yes,
    /// Something is still queued.
    No,
    /// Something was refused for good.
    Failed(Code),
}

/// The target of a new change.
pub(crate) struct Target<'a> {
    pub conversation_id: &'a str,
    /// The hub's id, or `None` for an own send still in the outbox (then `client_msg_id`).
    pub message_id: Option<&'a str>,
    /// The message's idempotency key.
    pub client_msg_id: &'a str,
    pub sender_id: &'a str,
    pub now: &'a str,
}

impl Cache {
    /// Queues the edit of a cached message, or gives the queued one its new body. The op's id.
    pub(crate) async fn queue_edit(&self, target: &Target<'_>, body: &str) -> Result<String, EngineError> {
        let message_id = target.message_id.ok_or_else(|| EngineError::NotFound("the message is not sent yet".into()))?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let queued: Option<String> = sqlx::query_scalar("SELECT client_msg_id FROM outbox WHERE op = 'edit' AND message_id = ?")
            .bind(message_id)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match queued {
            Some(id) => {
                sqlx::query("UPDATE outbox SET body = ?, state = 'pending', error = NULL WHERE client_msg_id = ?")
                    .bind(body)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            None => insert(&mut tx, target, "edit", Some(message_id), None, body, None).await?,
        };
        tx.commit().await?;
        Ok(id)
    }

    /// Gives a queued send a new body (it goes out with it; one on its way already becomes an
    /// edit once acknowledged). False when there is no such send.
    pub(crate) async fn edit_queued_send(&self, client_msg_id: &str, body: &str) -> Result<bool, EngineError> {
        let done = sqlx::query("UPDATE outbox SET body = ?, state = 'pending', error = NULL WHERE client_msg_id = ? AND op = 'send'")
            .bind(body)
            .bind(client_msg_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues the deletion of a message (a cached one, or an own send on its way); queued edits
    /// and reactions of it are dropped, they would only be refused. The op's id.
    pub(crate) async fn queue_delete(&self, target: &Target<'_>) -> Result<String, EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (column, value) = match target.message_id {
            Some(id) => ("message_id", id),
            None => ("target_client_msg_id", target.client_msg_id),
        };
        sqlx::query(&format!("DELETE FROM outbox WHERE op IN ('edit', 'react') AND {column} = ?")).bind(value).execute(&mut *tx).await?;
        let queued: Option<String> = sqlx::query_scalar(&format!("SELECT client_msg_id FROM outbox WHERE op = 'delete' AND {column} = ?"))
            .bind(value)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match queued {
            Some(id) => {
                sqlx::query("UPDATE outbox SET state = 'pending', error = NULL WHERE client_msg_id = ?").bind(&id).execute(&mut *tx).await?;
                id
            }
            None => {
                let pending_send = target.message_id.is_none().then_some(target.client_msg_id);
                insert(&mut tx, target, "delete", target.message_id, pending_send, "", None).await?
            }
        };
        tx.commit().await?;
        Ok(id)
    }

    /// Queues this user's reaction (`on`) or taking it back, or changes the queued one.
    pub(crate) async fn queue_react(&self, target: &Target<'_>, emoji: &str, on: bool) -> Result<String, EngineError> {
        let message_id = target.message_id.ok_or_else(|| EngineError::NotFound("the message is not sent yet".into()))?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let queued: Option<String> =
            sqlx::query_scalar("SELECT client_msg_id FROM outbox WHERE op = 'react' AND message_id = ? AND emoji = ?")
                .bind(message_id)
                .bind(emoji)
                .fetch_optional(&mut *tx)
                .await?;
        let id = match queued {
            Some(id) => {
                sqlx::query("UPDATE outbox SET react_on = ?, state = 'pending', error = NULL WHERE client_msg_id = ?")
                    .bind(on)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            None => insert(&mut tx, target, "react", Some(message_id), None, "", Some((emoji, on))).await?,
        };
        tx.commit().await?;
        Ok(id)
    }

    /// The hub applied a change as it was sent (`body`, `on`): the row goes, unless it was
    /// changed meanwhile (then the newer wish is sent next). Whether it went.
    pub(crate) async fn change_applied(&self, op_id: &str, body: &str, on: Option<bool>) -> Result<bool, EngineError> {
        let done = sqlx::query("DELETE FROM outbox WHERE client_msg_id = ? AND op != 'send' AND body = ? AND react_on IS ?")
            .bind(op_id)
            .bind(body)
            .bind(on)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a change that cannot apply (its message is gone); the row, if it was there.
    pub(crate) async fn drop_change(&self, op_id: &str) -> Result<Option<OutboxEntry>, EngineError> {
        Ok(sqlx::query_as(&format!("DELETE FROM outbox WHERE client_msg_id = ? AND op != 'send' RETURNING {COLUMNS}"))
            .bind(op_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Whether what this device queued for a message (its send, its changes) is all at the hub.
    /// `message_id` is the hub's id when known; `client_msg_id` that of an own send.
    pub(crate) async fn settled(&self, message_id: Option<&str>, client_msg_id: Option<&str>) -> Result<Settled, EngineError> {
        let states: Vec<(MessageState, Option<Code>)> = sqlx::query_as(
            "SELECT state, error FROM outbox
             WHERE (op != 'send' AND message_id = ?1) OR (op = 'send' AND client_msg_id = ?2) OR target_client_msg_id = ?2",
        )
        .bind(message_id)
        .bind(client_msg_id)
        .fetch_all(&self.pool)
        .await?;
        if let Some((_, error)) = states.iter().find(|(state, _)| *state == MessageState::Failed) {
            return Ok(Settled::Failed(error.unwrap_or(Code::Invalid)));
        }
        Ok(if states.is_empty() { Settled::Yes } else { Settled::No })
    }
}

async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    target: &Target<'_>,
    op: &str,
    message_id: Option<&str>,
    target_client_msg_id: Option<&str>,
    body: &str,
    reaction: Option<(&str, bool)>,
) -> Result<String, EngineError> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO outbox (client_msg_id, conversation_id, sender_id, body, created_at, op, message_id, target_client_msg_id, emoji, react_on)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(target.conversation_id)
    .bind(target.sender_id)
    .bind(body)
    .bind(target.now)
    .bind(op)
    .bind(message_id)
    .bind(target_client_msg_id)
    .bind(reaction.map(|(emoji, _)| emoji))
    .bind(reaction.map(|(_, on)| on))
    .execute(&mut **tx)
    .await
    .map_err(|e| EngineError::Io(format!("could not queue the change: {e}")))?;
    Ok(id)
}
