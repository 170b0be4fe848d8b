//! Scheduled messages (1.1, §3). Several hubs share the table: due rows are claimed with a
//! conditional UPDATE over `FOR UPDATE SKIP LOCKED`, so two hubs never claim the same row and
//! neither waits for the other; a cancel and a claim of one row queue on its lock.

use async_trait::async_trait;
use rapport_protocol::{Card, ScheduledMessage};
use sqlx::{Connection as _, FromRow};

use super::PostgresStore;
use crate::clock::{new_id, now_ms, rfc3339};
use crate::store::{DueMessage, NewScheduled, Refusal, ScheduleStore, SentOutcome, StoreError, StoreResult};

#[derive(FromRow)]
struct ScheduledRow {
    id: String,
    conversation_id: String,
    body: String,
    card: Option<String>,
    send_at: i64,
}

impl From<ScheduledRow> for ScheduledMessage {
    fn from(row: ScheduledRow) -> ScheduledMessage {
        ScheduledMessage {
            id: row.id,
            conversation_id: row.conversation_id,
            body: row.body,
            send_at: rfc3339(row.send_at),
            card: row.card.and_then(|json| serde_json::from_str::<Card>(&json).ok()).map(Box::new),
        }
    }
}

#[derive(FromRow)]
struct DueRow {
    id: String,
    sender_id: String,
    conversation_id: String,
    client_msg_id: String,
    body: String,
    card: Option<String>,
    send_at: i64,
}

impl From<DueRow> for DueMessage {
    fn from(row: DueRow) -> DueMessage {
        DueMessage {
            id: row.id,
            sender_id: row.sender_id,
            conversation_id: row.conversation_id,
            client_msg_id: row.client_msg_id,
            body: row.body,
            card: row.card.and_then(|json| serde_json::from_str::<Card>(&json).ok()),
            send_at: row.send_at,
        }
    }
}

const SCHEDULED_COLUMNS: &str = "id, conversation_id, body, card::text AS card, send_at";

#[async_trait]
impl ScheduleStore for PostgresStore {
    async fn schedule(&self, new: NewScheduled<'_>) -> StoreResult<ScheduledMessage> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let member: Option<i64> = sqlx::query_scalar("SELECT 1::BIGINT FROM members WHERE conversation_id = $1 AND user_id = $2")
            .bind(new.conversation_id)
            .bind(new.sender_id)
            .fetch_optional(&mut *tx)
            .await?;
        if member.is_none() {
            return Err(StoreError::NotFound);
        }
        let kind = new.card.map_or("text", |card| card.kind().as_str());
        let card = new.card.map(|card| serde_json::to_string(card).expect("cards serialise"));
        sqlx::query(
            "INSERT INTO scheduled_messages (id, sender_id, conversation_id, client_msg_id, body, kind, card, send_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
             ON CONFLICT (sender_id, conversation_id, client_msg_id) DO NOTHING",
        )
        .bind(new_id())
        .bind(new.sender_id)
        .bind(new.conversation_id)
        .bind(new.client_msg_id)
        .bind(new.body)
        .bind(kind)
        .bind(card)
        .bind(new.send_at)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        // Inserted now or by an earlier try of the same send: either way the one stored.
        let row: ScheduledRow = sqlx::query_as(&format!(
            "SELECT {SCHEDULED_COLUMNS} FROM scheduled_messages WHERE sender_id = $1 AND conversation_id = $2 AND client_msg_id = $3"
        ))
        .bind(new.sender_id)
        .bind(new.conversation_id)
        .bind(new.client_msg_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn scheduled_of(&self, user_id: &str) -> StoreResult<Vec<ScheduledMessage>> {
        let rows: Vec<ScheduledRow> = sqlx::query_as(&format!(
            "SELECT {SCHEDULED_COLUMNS} FROM scheduled_messages WHERE sender_id = $1 AND sent_at IS NULL ORDER BY send_at, id"
        ))
        .bind(user_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn cancel_scheduled(&self, user_id: &str, id: &str) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "DELETE FROM scheduled_messages WHERE id = $1 AND sender_id = $2 AND sent_at IS NULL AND claimed_until <= $3",
        )
        .bind(id)
        .bind(user_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 1 {
            tx.commit().await?;
            return Ok(());
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1::BIGINT FROM scheduled_messages WHERE id = $1 AND sender_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        Err(if exists.is_some() { StoreError::Refused(Refusal::AlreadySent) } else { StoreError::NotFound })
    }

    async fn next_due(&self) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(CASE WHEN claimed_until > send_at THEN claimed_until ELSE send_at END)
               FROM scheduled_messages WHERE sent_at IS NULL",
        )
        .fetch_one(&mut *self.conn().await?)
        .await?)
    }

    async fn claim_due(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<DueMessage>> {
        let rows: Vec<DueRow> = sqlx::query_as(
            "UPDATE scheduled_messages s SET claimed_until = $2
               FROM (SELECT id FROM scheduled_messages
                      WHERE sent_at IS NULL AND send_at <= $1 AND claimed_until <= $1
                      ORDER BY send_at, id LIMIT $3
                        FOR UPDATE SKIP LOCKED) due
              WHERE s.id = due.id
             RETURNING s.id, s.sender_id, s.conversation_id, s.client_msg_id, s.body, s.card::text AS card, s.send_at",
        )
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn finish_scheduled(&self, id: &str, outcome: SentOutcome<'_>) -> StoreResult<()> {
        let (message_id, failure) = match outcome {
            SentOutcome::Sent(message_id) => (Some(message_id), None),
            SentOutcome::Failed(why) => (None, Some(why)),
        };
        sqlx::query("UPDATE scheduled_messages SET sent_at = $2, message_id = $3, failure = $4 WHERE id = $1")
            .bind(id)
            .bind(now_ms())
            .bind(message_id)
            .bind(failure)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }
}
