//! Sends scheduled messages at their time (1.1, §3).
//!
//! One task per hub sleeps until the soonest `send_at` in the database (woken early when a
//! message is scheduled here, and at least every [`MAX_SLEEP`] for those scheduled on other
//! hubs), claims what is due for a [`LEASE`] — a conditional UPDATE that only one hub can win
//! for a row — and sends each message as its sender through the committer, like any
//! `message.send` of theirs: next `seq`, `message.created` to every member.
//!
//! Exactly once: the message is stored under the scheduled message's own `client_msg_id`, so if
//! this hub dies after the commit but before it marked the row sent, the next hub to claim it
//! (after the lease) gets the stored message back as a resend — nothing is stored or announced
//! twice. A claim lost with a hub that died before the commit is simply sent by the next one.

use std::sync::Arc;
use std::time::Duration;

use rapport_protocol::ErrorCode;

use crate::clock::now_ms;
use crate::gateway;
use crate::store::{DueMessage, SentOutcome};
use crate::Hub;

/// How long a claim keeps other hubs off a due message: far longer than a send takes.
const LEASE: Duration = Duration::from_secs(30);
/// The longest sleep: what other hubs scheduled (their wake-up does not reach us) or a claim
/// that ran out is picked up at most this late.
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// Due messages claimed at once.
const CLAIM_BATCH: i64 = 64;
/// The pause after the database failed, or when a due time came and nothing could be claimed.
const RETRY: Duration = Duration::from_millis(500);

/// Runs until the hub shuts down.
pub async fn run(hub: Arc<Hub>) {
    loop {
        let now = now_ms();
        let claimed = hub.store.claim_due(now, now + LEASE.as_millis() as i64, CLAIM_BATCH).await;
        let floor = match claimed {
            Ok(due) if due.len() as i64 == CLAIM_BATCH => {
                send_all(&hub, due).await;
                continue; // more may be due
            }
            Ok(due) if !due.is_empty() => {
                send_all(&hub, due).await;
                Duration::ZERO
            }
            Ok(_) => Duration::from_millis(10),
            Err(err) => {
                tracing::warn!(error = %err, "cannot claim scheduled messages");
                RETRY
            }
        };
        let wait = match hub.store.next_due().await {
            Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)).min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(_) => RETRY,
        };
        tokio::select! {
            () = tokio::time::sleep(wait.max(floor)) => {}
            () = hub.scheduled_due.notified() => {}
            () = hub.shutdown.cancelled() => return,
        }
    }
}

/// Sends the claimed messages and records how each ended: the conversations together (the
/// committer stores their messages in one batch), each conversation's one after the other in
/// the order they are due, so that two due at the same time keep the order they were scheduled in.
async fn send_all(hub: &Hub, mut due: Vec<DueMessage>) {
    due.sort_by(|a, b| (&a.conversation_id, a.send_at, &a.id).cmp(&(&b.conversation_id, b.send_at, &b.id)));
    let mut by_conversation: Vec<Vec<DueMessage>> = Vec::new();
    for message in due {
        match by_conversation.last_mut() {
            Some(group) if group[0].conversation_id == message.conversation_id => group.push(message),
            _ => by_conversation.push(vec![message]),
        }
    }
    futures_util::future::join_all(by_conversation.into_iter().map(|group| async move {
        for message in group {
            send_one(hub, message).await;
        }
    }))
    .await;
}

async fn send_one(hub: &Hub, due: DueMessage) {
    let sent = gateway::send_as(hub, &due.sender_id, &due.conversation_id, &due.client_msg_id, &due.body, due.card, Vec::new()).await;
    let outcome = match &sent {
        Ok(message) => SentOutcome::Sent(&message.id),
        Err(err) if err.code == ErrorCode::Unavailable => {
            // Not now: the claim runs out and the message is tried again then.
            tracing::warn!(id = %due.id, error = %err.message, "a scheduled message could not be sent yet");
            return;
        }
        Err(err) => {
            tracing::warn!(id = %due.id, error = %err.message, "a scheduled message cannot be sent");
            SentOutcome::Failed(&err.message)
        }
    };
    if let Err(err) = hub.store.finish_scheduled(&due.id, outcome).await {
        // Its claim runs out and it is sent again — as a resend of the stored message.
        tracing::warn!(id = %due.id, error = %err, "cannot record a scheduled message as sent");
    }
}
