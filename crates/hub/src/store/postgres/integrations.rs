//! What the applicant-tracking system told the hub (1.1, §3), by its `external_id`. The
//! integration row is locked while the candidate's notification is created, so concurrent
//! retries of one call — on one hub or several — notify once.

use async_trait::async_trait;
use rapport_protocol::{Message, Notification};
use sqlx::Connection as _;

use super::messages::message_in;
use super::PostgresStore;
use crate::clock::{new_id, now_ms, rfc3339};
use crate::store::{IntegrationStore, NewNotification, StoreResult};

#[async_trait]
impl IntegrationStore for PostgresStore {
    async fn integration_message(&self, external_id: &str) -> StoreResult<Option<Message>> {
        let mut conn = self.conn().await?;
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
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        // A concurrent insert of the same key waits here for the first one's commit.
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
        let pending: Option<Option<String>> = sqlx::query_scalar(
            "SELECT notification_id FROM integration_events WHERE external_id = $1 AND message_id = $2 FOR UPDATE",
        )
        .bind(external_id)
        .bind(message_id)
        .fetch_optional(&mut *tx)
        .await?;
        if pending != Some(None) {
            return Ok(None); // notified already, or the external id names another message
        }
        sqlx::query(
            "INSERT INTO notifications (id, user_id, kind, title, body, data, created_at)
             VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
        )
        .bind(&id)
        .bind(notify.user_id)
        .bind(notify.kind.as_str())
        .bind(notify.title)
        .bind(notify.body)
        .bind(notify.data.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE integration_events SET notification_id = $1 WHERE external_id = $2")
            .bind(&id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(Notification {
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
