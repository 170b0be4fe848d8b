//! What each client op does once the session is ready. Each returns the ack's `data`.

use std::time::Instant;

use rapport_protocol::card::check_card;
use rapport_protocol::gateway::{
    ClientOp, ConversationTarget, EditMessage, Event, MessageTarget, PresenceSet, ReactMessage, ReceiptKind, ScheduledAck,
    SeqTarget, SendMessage,
};
use rapport_protocol::{check_body_with, Card, ErrorCode, Message, Role, ScheduledMessage, MAX_ATTACHMENTS, MAX_CLIENT_MSG_ID_CHARS};
use serde_json::{json, Value};

use super::changes::{self, ChangeKind};
use super::schedule;
use super::group_commit::{PendingAck, QueuedSend, Work};
use super::session::Session;
use super::{announce, Skip};
use crate::error::{ApiError, ApiResult};
use crate::Hub;

/// Default lifetime of a typing indicator.
const TYPING_EXPIRES_MS: u64 = 6000;

/// How an op was answered.
pub enum OpAnswer {
    /// Done: the ack's data.
    Done(Value),
    /// A `message.send` waiting for its group commit; the ack's data when it completes.
    Committing(PendingAck),
}

/// Runs one op for `session`.
pub async fn handle(hub: &std::sync::Arc<Hub>, session: &Session, op: ClientOp, received_at: Instant) -> ApiResult<OpAnswer> {
    let user_id = session.user_id.as_str();
    let done = match op {
        ClientOp::MessageSend(send) => return send_message(hub, user_id, send, received_at).await,
        ClientOp::MessageEdit(EditMessage { conversation_id, message_id, body }) => {
            let kind = ChangeKind::Edit { body };
            return changes::enqueue(hub, user_id, conversation_id, message_id, kind, received_at).await.map(OpAnswer::Committing);
        }
        ClientOp::MessageDelete(MessageTarget { conversation_id, message_id }) => {
            let kind = ChangeKind::Delete;
            return changes::enqueue(hub, user_id, conversation_id, message_id, kind, received_at).await.map(OpAnswer::Committing);
        }
        ClientOp::MessageReact(ReactMessage { conversation_id, message_id, emoji, on }) => {
            let kind = ChangeKind::React { emoji, on };
            return changes::enqueue(hub, user_id, conversation_id, message_id, kind, received_at).await.map(OpAnswer::Committing);
        }
        ClientOp::Typing(target) => typing(hub, user_id, target, received_at).await,
        ClientOp::Read(target) => receipt(hub, user_id, target, ReceiptKind::Read, received_at).await,
        ClientOp::Delivered(target) => receipt(hub, user_id, target, ReceiptKind::Delivered, received_at).await,
        ClientOp::PresenceSet(PresenceSet { status }) => {
            hub.presence.choose(hub, user_id, status).await;
            Ok(json!({}))
        }
        ClientOp::Identify(_) | ClientOp::Resume(_) => {
            Err(ApiError::invalid("this session is already identified"))
        }
        ClientOp::Ping => Ok(json!({})),
    };
    done.map(OpAnswer::Done)
}

fn record_latency(hub: &Hub, received_at: Instant) {
    hub.metrics.dispatch_latency.observe(received_at.elapsed().as_secs_f64());
}

/// Members of a conversation the user belongs to; `not_found` otherwise.
pub(super) async fn members_for(hub: &Hub, user_id: &str, conversation_id: &str) -> ApiResult<std::sync::Arc<[String]>> {
    let members = hub.gateway.members(hub, conversation_id).await?;
    if !members.iter().any(|m| m == user_id) {
        return Err(ApiError::not_found("conversation"));
    }
    Ok(members)
}

async fn send_message(hub: &Hub, user_id: &str, send: SendMessage, received_at: Instant) -> ApiResult<OpAnswer> {
    let card = checked_send(hub, user_id, &send).await?;
    if let Some(send_at) = &send.send_at {
        let scheduled = schedule_checked(hub, user_id, &send, card.as_ref(), send_at).await?;
        return Ok(OpAnswer::Done(json!(ScheduledAck { scheduled })));
    }
    let members = members_for(hub, user_id, &send.conversation_id).await?;
    crate::twilio::window::check_send(hub, user_id, &send.conversation_id).await?;
    // The committer answers only after the commit, and dispatches `message.created` itself,
    // in seq order; a resend comes back as the stored message, announced once only.
    hub.gateway
        .sends
        .enqueue(Work::Send(QueuedSend {
            conversation_id: send.conversation_id,
            sender_id: user_id.to_owned(),
            client_msg_id: send.client_msg_id,
            body: send.body,
            card,
            reply_to: send.reply_to,
            attachment_ids: send.attachment_ids,
            members,
            received_at,
        }))
        .await
        .map(OpAnswer::Committing)
}

/// The rules of a `message.send` that do not need the database but for the sender's role;
/// its card when it has one.
async fn checked_send(hub: &Hub, user_id: &str, send: &SendMessage) -> ApiResult<Option<Card>> {
    let id_len = send.client_msg_id.chars().count();
    if id_len == 0 || id_len > MAX_CLIENT_MSG_ID_CHARS {
        return Err(ApiError::invalid("client_msg_id must be 1 to 64 characters"));
    }
    let card = send.card.as_deref().cloned();
    if let Some(card) = &card {
        check_card_of(hub, user_id, card).await?;
    }
    if send.attachment_ids.len() > MAX_ATTACHMENTS {
        return Err(ApiError::invalid("a message carries at most 10 attachments"));
    }
    let mut distinct = send.attachment_ids.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != send.attachment_ids.len() {
        return Err(ApiError::invalid("attachment_ids must not repeat an id"));
    }
    check_body_with(&send.body, !send.attachment_ids.is_empty() || card.is_some()).map_err(|code| match code {
        ErrorCode::BodyEmpty => ApiError::new(code, "the message is empty"),
        _ => ApiError::new(code, "the message is longer than 4000 characters"),
    })?;
    Ok(card)
}

async fn schedule_checked(hub: &Hub, user_id: &str, send: &SendMessage, card: Option<&Card>, send_at: &str) -> ApiResult<ScheduledMessage> {
    if !send.attachment_ids.is_empty() || send.reply_to.is_some() {
        // Uploads expire after 24 h and a reply's context may be gone by then: a scheduled
        // message is text and an optional card.
        return Err(ApiError::invalid("a scheduled message cannot carry attachments or reply_to"));
    }
    let send_at = schedule::parse_send_at(send_at, hub.config.schedule_min_lead)?;
    schedule::store(hub, user_id, &send.conversation_id, &send.client_msg_id, &send.body, card, send_at).await
}

/// `message.send` with `send_at` over REST (`POST /v1/scheduled`): the same checks, the same
/// answer as the gateway ack's `scheduled`.
pub async fn schedule_over_rest(hub: &Hub, user_id: &str, send: SendMessage) -> ApiResult<ScheduledMessage> {
    let card = checked_send(hub, user_id, &send).await?;
    let send_at = send.send_at.clone().unwrap_or_default();
    schedule_checked(hub, user_id, &send, card.as_ref(), &send_at).await
}

/// Whether `user_id` may send this card: it must be well formed, and only recruiters share
/// roles or tell candidates where their application stands (`forbidden` for a candidate).
async fn check_card_of(hub: &Hub, user_id: &str, card: &Card) -> ApiResult<()> {
    check_card(card).map_err(ApiError::invalid)?;
    let user = hub.store.user_by_id(user_id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    if user.role != Role::Recruiter {
        let what = match card {
            Card::Job(_) => "job cards",
            Card::ApplicationStatus(_) => "application status cards",
        };
        return Err(ApiError::new(ErrorCode::Forbidden, format!("only recruiters send {what}")));
    }
    Ok(())
}

/// Sends a message as `sender_id` through the committer, exactly as a `message.send` of theirs
/// would be (a scheduled message at its time, the integration's status card, a WhatsApp message
/// with its photos — uploads of `sender_id`, at most 10): the same checks
/// of membership, the same `seq`, the same `message.created`; the same `client_msg_id` again
/// answers the message stored first.
pub async fn send_as(hub: &Hub, sender_id: &str, conversation_id: &str, client_msg_id: &str, body: &str, card: Option<Card>, attachment_ids: Vec<String>) -> ApiResult<Message> {
    let members = members_for(hub, sender_id, conversation_id).await?;
    hub.gateway
        .sends
        .enqueue(Work::Send(QueuedSend {
            conversation_id: conversation_id.to_owned(),
            sender_id: sender_id.to_owned(),
            client_msg_id: client_msg_id.to_owned(),
            body: body.to_owned(),
            card,
            reply_to: None,
            attachment_ids,
            members,
            received_at: Instant::now(),
        }))
        .await?
        .message()
        .await
}

async fn typing(hub: &Hub, user_id: &str, target: ConversationTarget, received_at: Instant) -> ApiResult<Value> {
    let members = members_for(hub, user_id, &target.conversation_id).await?;
    let allowed = hub.gateway.typing_allowed(user_id, &target.conversation_id)
        && match &hub.cluster {
            Some(cluster) => cluster.typing_allowed(user_id, &target.conversation_id).await,
            None => true,
        };
    if allowed {
        let event = Event::Typing {
            conversation_id: target.conversation_id.clone(),
            user_id: user_id.to_owned(),
            expires_in_ms: TYPING_EXPIRES_MS,
        };
        announce::in_conversation(hub, &target.conversation_id, &members, Skip::User(user_id), &event).await;
        record_latency(hub, received_at);
    }
    Ok(json!({}))
}

async fn receipt(hub: &Hub, user_id: &str, target: SeqTarget, kind: ReceiptKind, received_at: Instant) -> ApiResult<Value> {
    if target.seq < 0 {
        return Err(ApiError::invalid("seq must be 0 or more"));
    }
    let members = members_for(hub, user_id, &target.conversation_id).await?;
    move_receipt(hub, user_id, &target.conversation_id, target.seq, kind, &members, received_at).await?;
    Ok(json!({}))
}

/// Stores a read or delivered position and tells every member. Shared with the REST route.
pub async fn move_receipt(
    hub: &Hub,
    user_id: &str,
    conversation_id: &str,
    seq: i64,
    kind: ReceiptKind,
    members: &[String],
    received_at: Instant,
) -> ApiResult<()> {
    let receipts = hub.store.move_receipt(user_id, conversation_id, kind, seq).await?;
    let event = Event::Receipt {
        conversation_id: conversation_id.to_owned(),
        user_id: user_id.to_owned(),
        kind,
        seq: match kind {
            ReceiptKind::Read => receipts.read_seq,
            ReceiptKind::Delivered => receipts.delivered_seq,
        },
    };
    announce::in_conversation(hub, conversation_id, members, Skip::Nobody, &event).await;
    record_latency(hub, received_at);
    Ok(())
}

/// A receipt of `user_id` that did not come from one of their sessions (Twilio reporting a
/// message delivered to or read by a bridge contact): stored and announced as the op's.
pub async fn receipt_as(hub: &Hub, user_id: &str, conversation_id: &str, seq: i64, kind: ReceiptKind) -> ApiResult<()> {
    let members = members_for(hub, user_id, conversation_id).await?;
    move_receipt(hub, user_id, conversation_id, seq, kind, &members, Instant::now()).await
}

/// `read` over REST: the same as the gateway op.
pub async fn read_over_rest(hub: &Hub, user_id: &str, conversation_id: &str, seq: i64) -> ApiResult<()> {
    if seq < 0 {
        return Err(ApiError::invalid("seq must be 0 or more"));
    }
    let members = members_for(hub, user_id, conversation_id).await?;
    move_receipt(hub, user_id, conversation_id, seq, ReceiptKind::Read, &members, Instant::now()).await
}
