//! The bridge outbox's row as both backends read it (the same columns, the same meaning).

use rapport_protocol::{BridgeChannel, Card};
use sqlx::FromRow;

use super::Outbound;

/// A due outbox row joined with its message and its conversation's bridge.
#[derive(FromRow)]
pub(super) struct OutboundRow {
    message_id: String,
    conversation_id: String,
    sender_id: String,
    body: String,
    card: Option<String>,
    deleted_at: Option<i64>,
    attempts: i64,
    channel: String,
    number: String,
    twilio_number: String,
    last_inbound_at: i64,
}

impl OutboundRow {
    /// The row as the outbox works on it; `None` for a channel this hub does not know.
    pub(super) fn into_outbound(self) -> Option<Outbound> {
        Some(Outbound {
            channel: BridgeChannel::parse(&self.channel)?,
            message_id: self.message_id,
            conversation_id: self.conversation_id,
            sender_id: self.sender_id,
            body: self.body,
            card: self.card.and_then(|json| serde_json::from_str::<Card>(&json).ok()),
            deleted: self.deleted_at.is_some(),
            attempts: self.attempts,
            to: self.number,
            from: self.twilio_number,
            last_inbound_at: self.last_inbound_at,
        })
    }
}
