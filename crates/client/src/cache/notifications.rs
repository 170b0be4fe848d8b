//! Cached notifications (job alerts, application status, system).

use rapport_protocol::{Notification, NotificationKind};

use super::Cache;
use crate::EngineError;

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: String,
    kind: String,
    title: String,
    body: String,
    data: String,
    read: bool,
    created_at: String,
}

impl Cache {
    /// Stores (or refreshes) a notification; whether it was new.
    pub(crate) async fn upsert_notification(&self, n: &Notification) -> Result<bool, EngineError> {
        let existed: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM notifications WHERE id = ?)")
            .bind(&n.id)
            .fetch_one(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO notifications (id, kind, title, body, data, read, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET read = MAX(read, excluded.read)",
        )
        .bind(&n.id)
        .bind(n.kind.as_str())
        .bind(&n.title)
        .bind(&n.body)
        .bind(n.data.to_string())
        .bind(n.read)
        .bind(&n.created_at)
        .execute(&self.pool)
        .await?;
        Ok(!existed)
    }

    /// Newest first.
    pub(crate) async fn notifications(&self) -> Result<Vec<Notification>, EngineError> {
        let rows: Vec<NotificationRow> =
            sqlx::query_as("SELECT id, kind, title, body, data, read, created_at FROM notifications ORDER BY created_at DESC, id DESC")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| Notification {
                kind: NotificationKind::parse(&r.kind).unwrap_or(NotificationKind::System),
                data: serde_json::from_str(&r.data).unwrap_or(serde_json::Value::Null),
                id: r.id,
                title: r.title,
                body: r.body,
                read: r.read,
                created_at: r.created_at,
            })
            .collect())
    }

    pub(crate) async fn notification_read(&self, id: &str) -> Result<(), EngineError> {
        sqlx::query("UPDATE notifications SET read = 1 WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(())
    }
}
