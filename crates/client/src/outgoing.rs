//! The outbox on the wire: which queued ops go out now, and what the hub's answer to each does.
//!
//! Ops go in queue order, within the send window and the op budget. A send waits until its files
//! are uploaded (and the later sends of its conversation wait behind it, so the conversation
//! keeps the order they were written in); a deletion of an own send waits until that send is
//! acknowledged (its message id is known then). An answer removes the row only when it still
//! holds what was sent (see `cache::outbox`).

use std::collections::HashSet;
use std::time::Duration;

use rapport_protocol::gateway::{ClientOp, EditMessage, MessageAck, MessageTarget, ReactMessage, SendMessage};
use rapport_protocol::ErrorInfo;
use tokio::time::Instant;

use crate::budget::OpBudget;
use crate::cache::{Op, OutboxEntry};
use crate::error::{Code, EngineError};
use crate::shared::Shared;

/// An op on its way: what the answer is compared with.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    /// The outbox row.
    pub op_id: String,
    pub op: Op,
    /// The body sent (sends and edits).
    pub body: String,
    /// The reaction sent.
    pub on: Option<bool>,
}

/// Why sending must stop.
pub(crate) enum Halt {
    /// The login is gone.
    SignedOut,
    /// The hub cannot be reached (or the cache failed): reconnect.
    Lost,
}

impl From<EngineError> for Halt {
    fn from(e: EngineError) -> Halt {
        match e {
            EngineError::Unauthorized(_) => Halt::SignedOut,
            other => {
                tracing::info!(error = %other, "the outbox cannot be flushed now");
                Halt::Lost
            }
        }
    }
}

/// What to send now: ops (at most `room`), and when to look again if the budget ran out.
pub(crate) async fn due(shared: &Shared, in_flight: &HashSet<String>, room: usize, budget: &mut OpBudget) -> Result<(Vec<(ClientOp, InFlight)>, Option<Instant>), Halt> {
    let entries = shared.cache.pending().await?;
    let fresh_after = crate::uploads::fresh_after();
    let mut out = Vec::new();
    // Conversations whose next send waits for its files: the later sends there wait too.
    let mut waiting: HashSet<String> = HashSet::new();
    for entry in entries {
        if out.len() >= room {
            break;
        }
        if in_flight.contains(&entry.client_msg_id) {
            continue;
        }
        let Some(op) = op_for(shared, &entry, fresh_after, &mut waiting).await? else { continue };
        let now = Instant::now();
        if !budget.take(now) {
            return Ok((out, Some(budget.next_at())));
        }
        if !shared.cache.attempted(&entry.client_msg_id).await? {
            continue; // discarded meanwhile: it must not go
        }
        let sent = InFlight { op_id: entry.client_msg_id.clone(), op: entry.op, body: entry.body.clone(), on: entry.react_on };
        out.push((op, sent));
    }
    Ok((out, None))
}

/// The frame for one row, or `None` when it cannot go yet.
async fn op_for(shared: &Shared, entry: &OutboxEntry, fresh_after: i64, waiting: &mut HashSet<String>) -> Result<Option<ClientOp>, Halt> {
    let conversation_id = match (&entry.conversation_id, &entry.to_email) {
        (Some(id), _) => id.clone(),
        (None, Some(email)) => match crate::directory::direct_for_email(shared, email).await {
            Ok(id) => {
                shared.cache.resolve_outbox(&entry.client_msg_id, &id).await?;
                id
            }
            Err(e) if e.is_permanent() => {
                shared.cache.fail(&entry.client_msg_id, e.reason()).await?;
                shared.emit_queued(&entry.client_msg_id).await;
                shared.bump_progress(|p| p.outbox_version += 1);
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        },
        (None, None) => return Ok(None),
    };
    let message_id = || entry.message_id.clone().unwrap_or_default();
    Ok(match entry.op {
        Op::Send => {
            if waiting.contains(&conversation_id) {
                return Ok(None);
            }
            let Some(attachment_ids) = shared.cache.attachment_ids(&entry.client_msg_id, fresh_after).await? else {
                waiting.insert(conversation_id);
                shared.kick_uploads.notify_one();
                return Ok(None);
            };
            Some(ClientOp::MessageSend(SendMessage {
                conversation_id,
                client_msg_id: entry.client_msg_id.clone(),
                body: entry.body.clone(),
                reply_to: entry.reply_to.clone(),
                attachment_ids,
                card: entry.card().map(Box::new),
                ..SendMessage::default()
            }))
        }
        // A deletion of an own send waits for its acknowledgement (which names the message).
        _ if entry.message_id.is_none() => None,
        Op::Edit => Some(ClientOp::MessageEdit(EditMessage { conversation_id, message_id: message_id(), body: entry.body.clone() })),
        Op::Delete => Some(ClientOp::MessageDelete(MessageTarget { conversation_id, message_id: message_id() })),
        Op::React => {
            let (Some(emoji), Some(on)) = (entry.emoji.clone(), entry.react_on) else { return Ok(None) };
            Some(ClientOp::MessageReact(ReactMessage { conversation_id, message_id: message_id(), emoji, on }))
        }
    })
}

/// The hub applied an op: the message it answered with is stored, and the row leaves the
/// outbox unless it was changed meanwhile.
pub(crate) async fn acked(shared: &Shared, me: &str, sent: &InFlight, data: serde_json::Value) -> Result<(), EngineError> {
    let ack: MessageAck = match serde_json::from_value(data) {
        Ok(ack) => ack,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable ack of an outbox op");
            return Ok(());
        }
    };
    let message_id = ack.message.id.clone();
    crate::apply::messages(shared, me, std::slice::from_ref(&ack.message), true, false).await?;
    if sent.op == Op::Send {
        return Ok(()); // the insert acknowledged it
    }
    shared.cache.change_applied(&sent.op_id, &sent.body, sent.on).await?;
    shared.bump_progress(|p| p.outbox_version += 1);
    // Whatever the stored copy changed was announced; the queued change is no longer shown.
    crate::apply::announce_message(shared, me, &message_id, sent.op != Op::React).await
}

/// The hub refused an op: for good (the row fails, or goes when its message is gone), or for
/// now (the same op goes again after the returned delay).
pub(crate) async fn refused(shared: &Shared, me: &str, sent: &InFlight, error: ErrorInfo) -> Result<Option<Duration>, EngineError> {
    let retry_after = Duration::from_millis(error.retry_after_ms.unwrap_or(1000));
    let code = Code::from(error.code);
    let err = EngineError::from_hub(error);
    if !err.is_permanent() {
        // Rate limited or a transient hub failure: the same op goes again later.
        return Ok(Some(retry_after));
    }
    tracing::info!(%code, op = ?sent.op, "the hub refused an outbox op for good");
    let entry = shared.cache.outbox_entry(&sent.op_id).await?;
    match sent.op {
        Op::Send => {
            shared.cache.fail(&sent.op_id, code).await?;
            shared.emit_queued(&sent.op_id).await;
        }
        // A deleted message takes no edit or reaction, and a refused reaction is not worth a
        // retry button: the row goes, and the message shows what the hub has.
        Op::React | Op::Edit if code == Code::Gone || sent.op == Op::React => {
            shared.cache.drop_change(&sent.op_id).await?;
        }
        Op::Edit | Op::Delete | Op::React => shared.cache.fail(&sent.op_id, code).await?,
    }
    shared.bump_progress(|p| p.outbox_version += 1);
    if let Some(message_id) = entry.and_then(|e| e.message_id) {
        crate::apply::announce_message(shared, me, &message_id, sent.op != Op::React).await?;
    }
    Ok(None)
}
