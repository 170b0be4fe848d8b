//! What hubs sharing this database read to catch up on events they may have missed.

use async_trait::async_trait;
use rapport_protocol::Notification;
use sqlx::FromRow;

use super::notifications::NotificationRow;
use super::PostgresStore;
use crate::store::{ClusterStore, ConversationPositions, StoreResult};

#[derive(FromRow)]
struct PositionRow {
    id: String,
    last_seq: i64,
    last_rev: i64,
    user_id: String,
    read_seq: i64,
    delivered_seq: i64,
}

#[derive(FromRow)]
struct UserNotificationRow {
    user_id: String,
    #[sqlx(flatten)]
    notification: NotificationRow,
}

#[async_trait]
impl ClusterStore for PostgresStore {
    async fn positions(&self, conversation_ids: &[String]) -> StoreResult<Vec<ConversationPositions>> {
        let mut conn = self.conn().await?;
        let rows: Vec<PositionRow> = sqlx::query_as(
            "SELECT c.id, c.last_seq, c.last_rev, m.user_id, m.read_seq, m.delivered_seq
             FROM conversations c JOIN members m ON m.conversation_id = c.id
             WHERE c.id = ANY($1)
             ORDER BY c.id",
        )
        .bind(conversation_ids)
        .fetch_all(&mut *conn)
        .await?;
        let mut out: Vec<ConversationPositions> = Vec::new();
        for row in rows {
            if out.last().is_none_or(|p| p.conversation_id != row.id) {
                out.push(ConversationPositions { conversation_id: row.id.clone(), last_seq: row.last_seq, last_rev: row.last_rev, receipts: Vec::new() });
            }
            out.last_mut().expect("just pushed").receipts.push((row.user_id, row.read_seq, row.delivered_seq));
        }
        Ok(out)
    }

    async fn memberships(&self, user_ids: &[String]) -> StoreResult<Vec<(String, String)>> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT user_id, conversation_id FROM members WHERE user_id = ANY($1)")
            .bind(user_ids)
            .fetch_all(&mut *conn)
            .await?;
        Ok(rows)
    }

    async fn notifications_since(&self, user_ids: &[String], since_ms: i64) -> StoreResult<Vec<(String, Notification)>> {
        let mut conn = self.conn().await?;
        let rows: Vec<UserNotificationRow> = sqlx::query_as(
            "SELECT user_id, id, kind, title, body, data::text AS data, read, created_at
             FROM notifications WHERE user_id = ANY($1) AND created_at >= $2
             ORDER BY created_at, id",
        )
        .bind(user_ids)
        .bind(since_ms)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.into_iter().map(|r| (r.user_id, r.notification.into())).collect())
    }
}
