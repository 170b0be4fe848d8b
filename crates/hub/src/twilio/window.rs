//! WhatsApp's 24-hour customer-service window: a business may send free-form messages to a
//! WhatsApp user only within 24 hours of that user's last message to it; after that only
//! pre-approved template messages, which the hub does not send. A send into a closed window is
//! refused when it is made, rather than failing later at Twilio.

use rapport_protocol::{BridgeChannel, ErrorCode};

use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::Hub;

/// How long after the contact's last message free-form replies may go out.
pub const WINDOW_MS: i64 = 24 * 3600 * 1000;

/// Why a send into a closed window is refused.
pub const CLOSED: &str = "WhatsApp lets a business write freely only within 24 hours of the contact's last message; \
    a template message is needed to write to them now (or wait until they write again)";

/// Whether free-form messages may go out on `channel` at `now_ms` to a contact who last wrote
/// at `last_inbound_at`.
pub fn is_open(channel: BridgeChannel, last_inbound_at: i64, now_ms: i64) -> bool {
    channel != BridgeChannel::Whatsapp || now_ms - last_inbound_at <= WINDOW_MS
}

/// Refuses (`forbidden`) a message of the recruiter into a WhatsApp conversation whose window
/// has closed. Free when the bridge is off: nothing is looked up then.
pub async fn check_send(hub: &Hub, sender_id: &str, conversation_id: &str) -> ApiResult<()> {
    if hub.config.twilio.is_none() {
        return Ok(());
    }
    match hub.store.bridge_window(conversation_id).await? {
        Some(window) if window.recruiter_id == sender_id && !is_open(window.channel, window.last_inbound_at, now_ms()) => Err(ApiError::new(ErrorCode::Forbidden, CLOSED)),
        _ => Ok(()),
    }
}
