//! The WhatsApp / SMS bridge (1.1, §5): Twilio numbers, outside contacts, inbound messages
//! taken. Several hubs share the tables: each find-or-create
//! inserts with `ON CONFLICT DO NOTHING` and reads back what won, so concurrent first messages
//! from one phone make one contact.

use async_trait::async_trait;
use rapport_protocol::rest::TwilioNumber;
use rapport_protocol::BridgeChannel;

use sqlx::Connection as _;

use super::PostgresStore;
use crate::clock::{new_id, now_ms, rfc3339};
use crate::store::{BridgeStore, BridgeWindow, Refusal, StoreError, StoreResult};

#[async_trait]
impl BridgeStore for PostgresStore {
    async fn twilio_numbers(&self, owner_id: &str) -> StoreResult<Vec<TwilioNumber>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT number, created_at FROM twilio_numbers WHERE owner_id = $1 ORDER BY created_at, number")
                .bind(owner_id)
                .fetch_all(&mut *self.conn().await?)
                .await?;
        Ok(rows.into_iter().map(|(number, at)| TwilioNumber { number, created_at: rfc3339(at) }).collect())
    }

    async fn add_twilio_number(&self, owner_id: &str, number: &str) -> StoreResult<(TwilioNumber, bool)> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        let added = sqlx::query("INSERT INTO twilio_numbers (number, owner_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (number) DO NOTHING")
            .bind(number)
            .bind(owner_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        let (owner, at): (String, i64) = sqlx::query_as("SELECT owner_id, created_at FROM twilio_numbers WHERE number = $1")
            .bind(number)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        if owner != owner_id {
            return Err(StoreError::Refused(Refusal::NumberTaken));
        }
        Ok((TwilioNumber { number: number.to_owned(), created_at: rfc3339(at) }, added))
    }

    async fn remove_twilio_number(&self, owner_id: &str, number: &str) -> StoreResult<()> {
        let removed = sqlx::query("DELETE FROM twilio_numbers WHERE number = $1 AND owner_id = $2")
            .bind(number)
            .bind(owner_id)
            .execute(&mut *self.conn().await?)
            .await?
            .rows_affected();
        if removed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn twilio_number_owner(&self, number: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT owner_id FROM twilio_numbers WHERE number = $1").bind(number).fetch_optional(&mut *self.conn().await?).await?)
    }

    async fn bridge_contact(&self, channel: BridgeChannel, number: &str) -> StoreResult<String> {
        let found: Option<String> = sqlx::query_scalar("SELECT user_id FROM bridge_contacts WHERE channel = $1 AND number = $2")
            .bind(channel.as_str())
            .bind(number)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        if let Some(id) = found {
            return Ok(id);
        }
        let now = now_ms();
        // No registration can take this address: registered emails have an `@`.
        let address = format!("{}:{number}", channel.as_str());
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, display_name, display_name_folded, role, created_at)
             VALUES ($1, $2, '!', $3, $3, 'candidate', $4) ON CONFLICT (email) DO NOTHING",
        )
        .bind(new_id())
        .bind(&address)
        .bind(number)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(&address).fetch_one(&mut *tx).await?;
        sqlx::query("INSERT INTO bridge_contacts (user_id, channel, number, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(&id)
            .bind(channel.as_str())
            .bind(number)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn record_bridge_inbound(&self, conversation_id: &str, contact_id: &str, recruiter_id: &str, twilio_number: &str, at_ms: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO bridge_conversations (conversation_id, contact_id, recruiter_id, twilio_number, last_inbound_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (conversation_id) DO UPDATE SET twilio_number = excluded.twilio_number,
                 last_inbound_at = GREATEST(bridge_conversations.last_inbound_at, excluded.last_inbound_at)",
        )
        .bind(conversation_id)
        .bind(contact_id)
        .bind(recruiter_id)
        .bind(twilio_number)
        .bind(at_ms)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    async fn inbound_message_id(&self, message_sid: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT message_id FROM twilio_inbound WHERE message_sid = $1")
            .bind(message_sid)
            .fetch_optional(&mut *self.conn().await?)
            .await?)
    }

    async fn record_inbound_message(&self, message_sid: &str, message_id: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO twilio_inbound (message_sid, message_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (message_sid) DO NOTHING")
            .bind(message_sid)
            .bind(message_id)
            .bind(now_ms())
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    async fn bridge_window(&self, conversation_id: &str) -> StoreResult<Option<BridgeWindow>> {
        let row: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT k.channel, bc.last_inbound_at, bc.recruiter_id
               FROM bridge_conversations bc JOIN bridge_contacts k ON k.user_id = bc.contact_id
              WHERE bc.conversation_id = $1",
        )
        .bind(conversation_id)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.and_then(|(channel, last_inbound_at, recruiter_id)| {
            Some(BridgeWindow { channel: BridgeChannel::parse(&channel)?, last_inbound_at, recruiter_id })
        }))
    }
}
