//! The bridge's outbox (1.1, §5). Rows are written by the `twilio_outbox_enqueue` trigger in
//! the transaction that stores a recruiter's message; SQLite has one writer, so the
//! conditional UPDATE that claims due rows is atomic by itself.

use async_trait::async_trait;

use super::SqliteStore;
use crate::clock::now_ms;
use crate::store::outbound_rows::OutboundRow;
use crate::store::{Outbound, OutboundOutcome, OutboundStore, SentOutbound, StoreResult};

#[async_trait]
impl OutboundStore for SqliteStore {
    async fn next_outbound_due(&self) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until ELSE next_attempt_at END)
               FROM twilio_outbox WHERE done_at IS NULL",
        )
        .fetch_one(&self.read)
        .await?)
    }

    async fn claim_outbound(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<Outbound>> {
        let mut tx = self.write.begin().await?;
        let claimed: Vec<String> = sqlx::query_scalar(
            "UPDATE twilio_outbox SET claimed_until = $2
              WHERE message_id IN (SELECT message_id FROM twilio_outbox
                                    WHERE done_at IS NULL AND next_attempt_at <= $1 AND claimed_until <= $1
                                    ORDER BY next_attempt_at, created_at, message_id LIMIT $3)
                AND done_at IS NULL AND claimed_until <= $1
             RETURNING message_id",
        )
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed_rows = Vec::with_capacity(claimed.len());
        for message_id in &claimed {
            let row: Option<OutboundRow> = sqlx::query_as(
                "SELECT o.message_id, o.conversation_id, o.sender_id, m.body, m.card, m.deleted_at, o.attempts,
                        k.channel, k.number, bc.twilio_number, bc.last_inbound_at
                   FROM twilio_outbox o
                   JOIN messages m ON m.id = o.message_id
                   JOIN bridge_conversations bc ON bc.conversation_id = o.conversation_id
                   JOIN bridge_contacts k ON k.user_id = bc.contact_id
                  WHERE o.message_id = $1",
            )
            .bind(message_id)
            .fetch_optional(&mut *tx)
            .await?;
            claimed_rows.extend(row.and_then(OutboundRow::into_outbound));
        }
        tx.commit().await?;
        claimed_rows.sort_by_key(|o| (o.conversation_id.clone(), claimed.iter().position(|id| *id == o.message_id)));
        Ok(claimed_rows)
    }

    async fn retry_outbound(&self, message_id: &str, attempts: i64, next_attempt_at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE twilio_outbox SET attempts = $2, next_attempt_at = $3, claimed_until = 0 WHERE message_id = $1 AND done_at IS NULL")
            .bind(message_id)
            .bind(attempts)
            .bind(next_attempt_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn finish_outbound(&self, message_id: &str, outcome: OutboundOutcome<'_>) -> StoreResult<bool> {
        let (sid, failure) = match outcome {
            OutboundOutcome::Sent(sid) => (Some(sid), None),
            OutboundOutcome::Failed(why) => (None, Some(why)),
        };
        let done = sqlx::query(
            "UPDATE twilio_outbox SET done_at = $2, twilio_sid = NULLIF($3, ''), failure = $4, attempts = attempts + 1, claimed_until = 0
              WHERE message_id = $1 AND done_at IS NULL",
        )
        .bind(message_id)
        .bind(now_ms())
        .bind(sid)
        .bind(failure)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    async fn outbound_by_sid(&self, twilio_sid: &str) -> StoreResult<Option<SentOutbound>> {
        let row: Option<SentOutbound> = sqlx::query_as(
            "SELECT o.conversation_id, o.message_id, m.seq, o.sender_id, bc.contact_id
               FROM twilio_outbox o
               JOIN messages m ON m.id = o.message_id
               JOIN bridge_conversations bc ON bc.conversation_id = o.conversation_id
              WHERE o.twilio_sid = $1",
        )
        .bind(twilio_sid)
        .fetch_optional(&self.read)
        .await?;
        Ok(row)
    }

    async fn outbound_undelivered(&self, twilio_sid: &str, why: &str) -> StoreResult<bool> {
        let marked = sqlx::query("UPDATE twilio_outbox SET failure = $2 WHERE twilio_sid = $1 AND failure IS NULL")
            .bind(twilio_sid)
            .bind(why)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(marked == 1)
    }
}
