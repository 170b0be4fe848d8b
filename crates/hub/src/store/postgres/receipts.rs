//! Read and delivered positions: one statement for both kinds.

use async_trait::async_trait;
use rapport_protocol::gateway::ReceiptKind;

use super::PostgresStore;
use crate::store::{ReceiptStore, Receipts, StoreError, StoreResult};

#[async_trait]
impl ReceiptStore for PostgresStore {
    async fn move_receipt(&self, user_id: &str, conversation_id: &str, kind: ReceiptKind, seq: i64) -> StoreResult<Receipts> {
        // Both positions move only forward and never past the last message; a read moves
        // delivered with it, a delivered leaves read alone. GREATEST under the row's lock: of
        // two hubs moving one position at once, the further one wins whatever the order.
        let mut conn = self.conn().await?;
        let row: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE members
                SET read_seq = CASE WHEN $4 THEN GREATEST(read_seq, cap.seq) ELSE read_seq END,
                    delivered_seq = GREATEST(delivered_seq, cap.seq)
               FROM (SELECT LEAST($3, last_seq) AS seq FROM conversations WHERE id = $1) AS cap
              WHERE members.conversation_id = $1 AND members.user_id = $2
             RETURNING read_seq, delivered_seq",
        )
        .bind(conversation_id)
        .bind(user_id)
        .bind(seq)
        .bind(matches!(kind, ReceiptKind::Read))
        .fetch_optional(&mut *conn)
        .await?;
        let (read_seq, delivered_seq) = row.ok_or(StoreError::NotFound)?;
        Ok(Receipts { read_seq, delivered_seq })
    }
}
