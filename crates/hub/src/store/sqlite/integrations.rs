//! What the applicant-tracking system told the hub (1.1, §3), by its `external_id`.

use async_trait::async_trait;
use rapport_protocol::{Message, Notification};

use super::messages::message_in;
use super::SqliteStore;
use crate::clock::{new_id, now_ms, rfc3339};
use crate::store::{IntegrationStore, NewNotification, StoreResult};

#[async_trait]
impl IntegrationStore for SqliteStore {
    async fn integration_message(&self, external_id: &str) -> StoreResult<Option<Message>> {
        let mut conn = self.read.acquire().await?;
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT conversation_id, message_id FROM integration_events WHERE external_id = $1")
                .bind(external_id)
                .fetch_optional(&mut *conn)
                .await?;
        match found {
            Some((conversation_id, message_id)) => message_in(&mut conn, &conversation_id, &message_id).await,
            None => Ok(None),
        }
    }

    async fn record_integration(
        &self,
        external_id: &str,
        conversation_id: &str,
        message_id: &str,
        notify: NewNotification<'_>,
    ) -> StoreResult<Option<Notification>> {
        let (id, now) = (new_id(), now_ms());
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO integration_events (external_id, conversation_id, message_id, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (external_id) DO NOTHING",
        )
        .bind(external_id)
        .bind(conversation_id)
        .bind(message_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO notifications (id, user_id, kind, title, body, data, created_at)
             SELECT $1, $2, $3, $4, $5, $6, $7
              WHERE EXISTS (SELECT 1 FROM integration_events WHERE external_id = $8 AND message_id = $9 AND notification_id IS NULL)",
        )
        .bind(&id)
        .bind(notify.user_id)
        .bind(notify.kind.as_str())
        .bind(notify.title)
        .bind(notify.body)
        .bind(notify.data.to_string())
        .bind(now)
        .bind(external_id)
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
        let claimed = sqlx::query(
            "UPDATE integration_events SET notification_id = $1
              WHERE external_id = $2 AND message_id = $3 AND notification_id IS NULL",
        )
        .bind(&id)
        .bind(external_id)
        .bind(message_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok((claimed == 1).then(|| Notification {
            id,
            kind: notify.kind,
            title: notify.title.to_owned(),
            body: notify.body.to_owned(),
            data: notify.data.clone(),
            read: false,
            created_at: rfc3339(now),
        }))
    }
}
