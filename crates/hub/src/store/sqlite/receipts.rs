//! Read and delivered positions: one statement for both kinds.

use async_trait::async_trait;
use rapport_protocol::gateway::ReceiptKind;

use super::SqliteStore;
use crate::store::{ReceiptStore, Receipts, StoreError, StoreResult};

#[async_trait]
impl ReceiptStore for SqliteStore {
    async fn move_receipt(&self, user_id: &str, conversation_id: &str, kind: ReceiptKind, seq: i64) -> StoreResult<Receipts> {
        // Both positions move only forward and never past the last message; a read moves
        // delivered with it, a delivered leaves read alone.
        let row: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE members
                SET read_seq = CASE WHEN $4 THEN MAX(read_seq, cap.seq) ELSE read_seq END,
                    delivered_seq = MAX(delivered_seq, cap.seq)
               FROM (SELECT MIN($3, last_seq) AS seq FROM conversations WHERE id = $1) AS cap
              WHERE members.conversation_id = $1 AND members.user_id = $2
             RETURNING read_seq, delivered_seq",
        )
        .bind(conversation_id)
        .bind(user_id)
        .bind(seq)
        .bind(matches!(kind, ReceiptKind::Read))
        .fetch_optional(&self.write)
        .await?;
        let (read_seq, delivered_seq) = row.ok_or(StoreError::NotFound)?;
        Ok(Receipts { read_seq, delivered_seq })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{store, user};
    use super::*;
    use crate::store::{ConversationStore as _, MessageStore as _, NewMessage};

    #[tokio::test]
    async fn receipts_only_move_forward_never_past_the_last_message_and_read_implies_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let (a, b, c) = (user(&store, "a").await, user(&store, "b").await, user(&store, "c").await);
        let ab = store.direct_conversation(&a, &b).await.unwrap().0.id;
        let sends: Vec<String> = (1..=3).map(|n| format!("m{n}")).collect();
        let batch: Vec<NewMessage<'_>> =
            sends.iter().map(|id| NewMessage::text(&ab, &a, id, id)).collect();
        store.insert_messages(&batch).await.into_iter().for_each(|r| assert!(r.is_ok()));
        let at = |r: Receipts| (r.read_seq, r.delivered_seq);

        let delivered = store.move_receipt(&b, &ab, ReceiptKind::Delivered, 2).await.unwrap();
        assert_eq!(at(delivered), (0, 2), "delivered leaves read where it was");
        let read = store.move_receipt(&b, &ab, ReceiptKind::Read, 1).await.unwrap();
        assert_eq!(at(read), (1, 2), "read moves delivered only forward");
        let back = store.move_receipt(&b, &ab, ReceiptKind::Delivered, 1).await.unwrap();
        assert_eq!(at(back), (1, 2), "a position never moves back");
        let capped = store.move_receipt(&b, &ab, ReceiptKind::Read, 99).await.unwrap();
        assert_eq!(at(capped), (3, 3), "capped at the last message, and what is read is delivered");
        assert!(matches!(store.move_receipt(&c, &ab, ReceiptKind::Read, 1).await, Err(StoreError::NotFound)), "not a member");
        assert!(matches!(store.move_receipt(&b, "nope", ReceiptKind::Delivered, 1).await, Err(StoreError::NotFound)), "no such conversation");
    }
}
