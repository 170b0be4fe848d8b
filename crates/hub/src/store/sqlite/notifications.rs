//! Notifications pushed by integrations and read by their users.

use async_trait::async_trait;
use rapport_protocol::{Notification, NotificationKind};
use sqlx::FromRow;

use super::SqliteStore;
use crate::clock::{new_id, now_ms, rfc3339};
use crate::store::{NotificationStore, StoreError, StoreResult};

#[derive(FromRow)]
struct NotificationRow {
    id: String,
    kind: String,
    title: String,
    body: String,
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
impl NotificationStore for SqliteStore {
    async fn create_notification(&self, user_id: &str, kind: NotificationKind, title: &str, body: &str, data: &serde_json::Value) -> StoreResult<Notification> {
        let id = new_id();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO notifications (id, user_id, kind, title, body, data, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(kind.as_str())
        .bind(title)
        .bind(body)
        .bind(data.to_string())
        .bind(now)
        .execute(&self.write)
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
        let rows: Vec<NotificationRow> = sqlx::query_as(
            "SELECT id, kind, title, body, data, read, created_at FROM notifications
              WHERE user_id = $1 AND ($2 = 0 OR read = 0)
              ORDER BY created_at DESC, id DESC LIMIT 500",
        )
        .bind(user_id)
        .bind(unread_only)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn mark_notification_read(&self, user_id: &str, id: &str) -> StoreResult<()> {
        let done = sqlx::query("UPDATE notifications SET read = 1 WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn unread_notifications(&self, user_id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read = 0")
            .bind(user_id)
            .fetch_one(&self.read)
            .await?)
    }
}
