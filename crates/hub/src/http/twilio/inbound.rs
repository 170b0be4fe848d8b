//! `POST /v1/bridges/twilio/inbound`: Twilio's webhook for a WhatsApp or SMS message sent to a
//! recruiter's number (1.1, §5), and `GET` on the same URL, a health check for it.
//!
//! Nothing is stored before the signature is checked. The message is then sent as the contact
//! through the committer like any message (next `seq`, `message.created` to the recruiter's
//! sessions on every hub), under a client id derived from Twilio's `MessageSid`, so a retry
//! by Twilio — even one that races the first delivery, on another hub — stores one message.
//!
//! Its photos and files are fetched into attachments first (`media`), and only for a `MessageSid`
//! not taken yet, so a replay fetches nothing. Twilio's 200 waits for them (they are small, and
//! fetched at once); the work runs in a task of its own, so a request that Twilio gives up on
//! (or the hub's request timeout cuts) still stores the message. Two deliveries of one message
//! that race may both fetch: the committer keeps the first's message, and the second's uploads,
//! carried by no message, are removed by the housekeeping like any unsent upload.
//!
//! A message to a number that no recruiter owns is answered 200 and dropped, with a warning in
//! the log: retrying cannot make it deliverable, and the operator sees the log line.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rapport_protocol::rest::is_e164;
use rapport_protocol::{BridgeChannel, ErrorBody, ErrorCode, MAX_BODY_CHARS};

use super::media::{self, Media};
use super::{enabled, signed_form};
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::gateway::{announce, send_as};
use crate::Hub;

/// What Twilio expects back when the hub has nothing to reply with.
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";
/// Longest `MessageSid` taken: Twilio's are 34 characters.
const MAX_SID_CHARS: usize = 64;

/// The answer to a webhook that was taken (or deliberately dropped).
pub(super) fn twiml() -> Response {
    ([(header::CONTENT_TYPE, "text/xml")], EMPTY_TWIML).into_response()
}

/// Answers 200 when the bridge is on, so that the webhook URL can be checked before use.
#[utoipa::path(get, path = "/v1/bridges/twilio/inbound", tag = "bridges",
    responses((status = 200, description = "the bridge is on"), (status = 404, body = ErrorBody, description = "the bridge is off")))]
pub async fn health(State(hub): State<Arc<Hub>>) -> ApiResult<Response> {
    enabled(&hub)?;
    Ok(twiml())
}

/// Takes a message sent to a recruiter's number.
#[utoipa::path(post, path = "/v1/bridges/twilio/inbound", tag = "bridges",
    request_body(content = HashMap<String, String>, content_type = "application/x-www-form-urlencoded", description = "Twilio's message webhook: From, To, Body, MessageSid, NumMedia, MediaUrl0…, MediaContentType0…"),
    params(("X-Twilio-Signature" = String, Header, description = "Twilio's HMAC-SHA1 of the URL and the sorted parameters")),
    responses((status = 200, content_type = "text/xml", description = "taken, its media fetched into attachments (or dropped: no recruiter owns `To`); empty TwiML"),
        (status = 400, body = ErrorBody, description = "signed, but without From, To or MessageSid"),
        (status = 403, body = ErrorBody, description = "missing or wrong signature: nothing stored"),
        (status = 404, body = ErrorBody, description = "the bridge is off")))]
pub async fn receive(State(hub): State<Arc<Hub>>, uri: Uri, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let form = signed_form(&hub, &uri, &headers, &body)?;
    // Not cancelled with the request: once the files are being fetched the message is stored.
    tokio::spawn(take(hub, form)).await.map_err(|err| {
        tracing::error!(error = %err, "taking a Twilio message failed");
        ApiError::new(ErrorCode::Internal, "internal error")
    })?
}

/// Stores a signed webhook's message (once per `MessageSid`) with its photos and files.
async fn take(hub: Arc<Hub>, form: HashMap<String, String>) -> ApiResult<Response> {
    let twilio = enabled(&hub)?;
    let field = |name: &str| form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let (Some(sid), Some(from), Some(to)) = (field("MessageSid").or_else(|| field("SmsSid")), field("From"), field("To")) else {
        return Err(ApiError::invalid("a Twilio message webhook has MessageSid, From and To"));
    };
    if sid.chars().count() > MAX_SID_CHARS {
        return Err(ApiError::invalid("MessageSid is longer than Twilio's"));
    }
    if hub.store.inbound_message_id(sid).await?.is_some() {
        return Ok(twiml()); // Twilio retried one that was taken: nothing fetched again
    }
    let (channel, from) = address(from);
    let (_, to) = address(to);
    if !is_e164(from) || !is_e164(to) {
        tracing::warn!(sid, "a Twilio message from or to an address that is not a phone number was dropped");
        return Ok(twiml());
    }
    let Some(recruiter_id) = hub.store.twilio_number_owner(to).await? else {
        tracing::warn!(sid, to, "a WhatsApp/SMS message to a number no recruiter receives on was dropped; add it with POST /v1/bridges/twilio/numbers");
        return Ok(twiml());
    };

    let contact_id = hub.store.bridge_contact(channel, from).await?;
    let (conversation, created) = hub.store.direct_conversation(&recruiter_id, &contact_id).await?;
    hub.store.record_bridge_inbound(&conversation.id, &contact_id, &recruiter_id, to, now_ms()).await?;
    if created {
        // Read again: the conversation runs over the bridge now, and its first event says so.
        let conversation = hub.store.conversation(&recruiter_id, &conversation.id).await?;
        announce::conversation_created(&hub, &conversation).await;
    }
    let media = media::fetch(&hub, twilio, &contact_id, channel, media::links(&form)).await;
    let text = message_text(&form, &media);
    let Media { attachment_ids, .. } = media;
    let files = attachment_ids.len();
    let message = send_as(&hub, &contact_id, &conversation.id, &format!("twilio:{sid}"), &text, None, attachment_ids).await?;
    hub.store.record_inbound_message(sid, &message.id).await?;
    tracing::debug!(sid, message_id = %message.id, channel = channel.as_str(), files, "took a Twilio message");
    Ok(twiml())
}

/// The channel and the E.164 number of a Twilio address (`whatsapp:+4915…` or `+4915…`).
fn address(value: &str) -> (BridgeChannel, &str) {
    match value.strip_prefix("whatsapp:") {
        Some(number) => (BridgeChannel::Whatsapp, number.trim()),
        None => (BridgeChannel::Sms, value),
    }
}

/// The message's text: its body, then a line per photo or file that could not be fetched
/// (Twilio keeps them at these URLs), cut to a message's length; empty only when files are
/// attached.
fn message_text(form: &HashMap<String, String>, media: &Media) -> String {
    let mut text = form.get("Body").map(|b| b.trim().to_owned()).unwrap_or_default();
    for url in &media.links {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(url);
    }
    if text.is_empty() && media.attachment_ids.is_empty() {
        // A location, a contact card or a sticker: nothing the hub can show as text.
        text.push_str("(a message without text)");
    }
    if text.chars().count() > MAX_BODY_CHARS {
        text = text.chars().take(MAX_BODY_CHARS - 1).collect::<String>() + "…";
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_text_links_what_was_not_fetched_and_is_never_empty_without_files_or_too_long() {
        let linked = |links: &[&str]| Media { attachment_ids: Vec::new(), links: links.iter().map(|l| (*l).to_owned()).collect() };
        let attached = Media { attachment_ids: vec!["a1".to_owned()], links: Vec::new() };
        let photo = form(&[("Body", "my CV")]);
        assert_eq!(message_text(&photo, &linked(&["https://api.twilio.com/m/1", "https://api.twilio.com/m/2"])), "my CV\nhttps://api.twilio.com/m/1\nhttps://api.twilio.com/m/2");
        assert_eq!(message_text(&form(&[]), &linked(&["https://x.test/a"])), "https://x.test/a");
        assert_eq!(message_text(&photo, &attached), "my CV", "a fetched file is attached, not linked");
        assert_eq!(message_text(&form(&[("Body", " ")]), &attached), "", "a photo alone needs no text");
        assert_eq!(message_text(&form(&[("Body", "  ")]), &Media::default()), "(a message without text)");
        let long = message_text(&form(&[("Body", &"a".repeat(5000))]), &Media::default());
        assert_eq!(long.chars().count(), MAX_BODY_CHARS);
    }

    #[test]
    fn a_whatsapp_address_is_told_from_a_phone_number() {
        assert_eq!(address("whatsapp:+4915112345678"), (BridgeChannel::Whatsapp, "+4915112345678"));
        assert_eq!(address("+4915112345678"), (BridgeChannel::Sms, "+4915112345678"));
    }
}
