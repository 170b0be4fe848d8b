//! `POST /v1/bridges/twilio/status`: Twilio's status callback for a message the hub sent
//! (1.1, §5), signed as the inbound webhook is. `delivered` and `read` become the contact's
//! receipts — the same `receipt` events members' own devices cause — and `failed` or
//! `undelivered` tells the sender, once.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use rapport_protocol::gateway::ReceiptKind;
use rapport_protocol::ErrorBody;

use super::inbound::twiml;
use super::signed_form;
use crate::error::{ApiError, ApiResult};
use crate::gateway::receipt_as;
use crate::twilio::outbox::tell_sender;
use crate::Hub;

/// Takes a delivery report.
#[utoipa::path(post, path = "/v1/bridges/twilio/status", tag = "bridges",
    request_body(content = HashMap<String, String>, content_type = "application/x-www-form-urlencoded", description = "Twilio's status callback: MessageSid, MessageStatus, ErrorCode…"),
    params(("X-Twilio-Signature" = String, Header, description = "Twilio's HMAC-SHA1 of the URL and the sorted parameters")),
    responses((status = 200, content_type = "text/xml", description = "taken (a report on a message the hub does not know is ignored)"),
        (status = 400, body = ErrorBody, description = "signed, but without MessageSid or MessageStatus"),
        (status = 403, body = ErrorBody, description = "missing or wrong signature"),
        (status = 404, body = ErrorBody, description = "the bridge is off")))]
pub async fn report(State(hub): State<Arc<Hub>>, uri: Uri, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let form = signed_form(&hub, &uri, &headers, &body)?;
    let field = |name: &str| form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let (Some(sid), Some(status)) = (field("MessageSid").or_else(|| field("SmsSid")), field("MessageStatus").or_else(|| field("SmsStatus"))) else {
        return Err(ApiError::invalid("a Twilio status callback has MessageSid and MessageStatus"));
    };
    let Some(sent) = hub.store.outbound_by_sid(sid).await? else {
        tracing::debug!(sid, status, "a Twilio status report on a message this hub did not send");
        return Ok(twiml());
    };
    match status {
        "delivered" => receipt_as(&hub, &sent.contact_id, &sent.conversation_id, sent.seq, ReceiptKind::Delivered).await?,
        "read" => receipt_as(&hub, &sent.contact_id, &sent.conversation_id, sent.seq, ReceiptKind::Read).await?,
        "failed" | "undelivered" => {
            let why = match field("ErrorCode") {
                Some(code) => format!("Twilio could not deliver it (status {status}, error {code})"),
                None => format!("Twilio could not deliver it (status {status})"),
            };
            if hub.store.outbound_undelivered(sid, &why).await? {
                let channel = hub.store.bridge_window(&sent.conversation_id).await?.map(|w| w.channel).unwrap_or(rapport_protocol::BridgeChannel::Sms);
                tell_sender(&hub, &sent.sender_id, &sent.conversation_id, &sent.message_id, channel, &why).await;
            }
        }
        // queued, sending, sent, accepted, …: on its way, nothing to show yet.
        _ => {}
    }
    Ok(twiml())
}
