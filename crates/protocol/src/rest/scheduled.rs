//! Scheduled messages (1.1, §3): kept by the hub until their time.

use serde::{Deserialize, Serialize};

use super::cards::Card;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A `message.send` with `send_at` (1.1, §3), waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScheduledMessage {
    /// Opaque id (for `DELETE /v1/scheduled/{id}`).
    pub id: String,
    /// Where it will be sent.
    pub conversation_id: String,
    /// What will be sent.
    pub body: String,
    /// When (RFC 3339).
    pub send_at: String,
    /// The card it will carry, if any (absent when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Box<Card>>,
}

/// `POST /v1/scheduled`: the REST form of a `message.send` with `send_at` (same fields, same
/// rules, same answer as the gateway ack's `scheduled`), for clients that are not connected.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScheduleRequest {
    /// Where to.
    pub conversation_id: String,
    /// The idempotency key, also of the message it becomes.
    pub client_msg_id: String,
    /// The text; may be empty with a card.
    pub body: String,
    /// A job or application status card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Box<Card>>,
    /// When (RFC 3339, 1 min to 90 days ahead).
    pub send_at: String,
}

/// `GET /v1/scheduled`: the caller's messages still waiting for their time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScheduledList {
    /// Soonest first.
    pub scheduled: Vec<ScheduledMessage>,
}
