//! Notifications pushed by integrations and read by their users.

use async_trait::async_trait;
use rapport_protocol::{Notification, NotificationKind};
use sqlx::FromRow;

use super::PostgresStore;
use crate::clock::{new_id, now_ms, rfc3339};
use crate::store::{NotificationStore, StoreError, StoreResult};

#[derive(FromRow)]
pub(super) struct NotificationRow {
    id: String,
    kind: String,
    title: String,
    body: String,
    /// The `jsonb` column as text (`data::text`), parsed here.
    data: String,
    read: bool,
    created_at: i64,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Notification {
        Notification {
            id: row.id,
            kind: NotificationKind::parse(&row.kind).unwrap_or(NotificationKind::System),
            title: row.title,
            body: row.body,
            data: serde_json::from_str(&row.data).unwrap_or(serde_json::Value::Null),
            read: row.read,
            created_at: rfc3339(row.created_at),
        }
    }
}

#[async_trait]
impl NotificationStore for PostgresStore {
    async fn create_notification(&self, user_id: &str, kind: NotificationKind, title: &str, body: &str, data: &serde_json::Value) -> StoreResult<Notification> {
        let id = new_id();
        let now = now_ms();
        let mut conn = self.conn().await?;
        sqlx::query(
            "INSERT INTO notifications (id, user_id, kind, title, body, data, created_at)
             VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(kind.as_str())
        .bind(title)
        .bind(body)
        .bind(data.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(Notification {
            id,
            kind,
            title: title.to_owned(),
            body: body.to_owned(),
            data: data.clone(),
            read: false,
            created_at: rfc3339(now),
        })
    }

    async fn notifications(&self, user_id: &str, unread_only: bool) -> StoreResult<Vec<Notification>> {
        let mut conn = self.conn().await?;
        let rows: Vec<NotificationRow> = sqlx::query_as(
            "SELECT id, kind, title, body, data::text AS data, read, created_at FROM notifications
              WHERE user_id = $1 AND (NOT $2 OR NOT read)
              ORDER BY created_at DESC, id DESC LIMIT 500",
        )
        .bind(user_id)
        .bind(unread_only)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn mark_notification_read(&self, user_id: &str, id: &str) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let done = sqlx::query("UPDATE notifications SET read = TRUE WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn unread_notifications(&self, user_id: &str) -> StoreResult<i64> {
        let mut conn = self.conn().await?;
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND NOT read")
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await?)
    }
}
