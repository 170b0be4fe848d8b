//! Edits, deletions and reactions (protocol 1.1, §1.2), made by the committer task so that
//! their revs and the `message.created` seqs are taken, and their events leave, in one order.
//! The gateway ops and the REST routes only check what needs no database and queue a
//! [`QueuedChange`].

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rapport_protocol::gateway::Event;
use rapport_protocol::{check_emoji, ErrorCode, Message, MAX_BODY_CHARS};

use super::group_commit::{PendingAck, Work};
use super::Skip;
use crate::error::{ApiError, ApiResult};
use crate::store::{Refusal, StoreError, StoreResult};
use crate::Hub;

/// What a reaction must be, in the words of every error about one that is not.
pub const EMOJI_RULE: &str = "emoji must be one emoji or a :shortcode: of at most 32 bytes";

/// What to do to the message.
pub enum ChangeKind {
    /// Replace its body.
    Edit {
        /// The new body.
        body: String,
    },
    /// Make it a tombstone.
    Delete,
    /// Add or take back the user's reaction.
    React {
        /// One emoji or a `:shortcode:`.
        emoji: String,
        /// Add (`true`) or take back.
        on: bool,
    },
}

/// A change waiting for the committer.
pub struct QueuedChange {
    /// Who asks.
    pub user_id: String,
    /// Where the message is.
    pub conversation_id: String,
    /// Which message.
    pub message_id: String,
    /// What to do.
    pub kind: ChangeKind,
    /// Who gets the event.
    pub members: Arc<[String]>,
    /// When the request was read, for the dispatch latency metric.
    pub received_at: Instant,
}

/// Checks what needs no database, then queues the change for the committer; the ack's future.
pub async fn enqueue(hub: &Hub, user_id: &str, conversation_id: String, message_id: String, kind: ChangeKind, received_at: Instant) -> ApiResult<PendingAck> {
    match &kind {
        ChangeKind::Edit { body } if body.chars().count() > MAX_BODY_CHARS => {
            return Err(ApiError::new(ErrorCode::BodyTooLong, "the message is longer than 4000 characters"));
        }
        ChangeKind::React { emoji, .. } if !check_emoji(emoji) => {
            return Err(ApiError::invalid(EMOJI_RULE));
        }
        _ => {}
    }
    let members = super::ops::members_for(hub, user_id, &conversation_id).await?;
    let change = QueuedChange { user_id: user_id.to_owned(), conversation_id, message_id, kind, members, received_at };
    hub.gateway.sends.enqueue(Work::Change(change)).await
}

/// Makes the change in the store and, when it changed something, tells every member. Runs on
/// the committer task only.
pub async fn apply(hub: &Hub, change: &QueuedChange) -> StoreResult<Message> {
    let (user, conversation, message) = (change.user_id.as_str(), change.conversation_id.as_str(), change.message_id.as_str());
    let done = match &change.kind {
        ChangeKind::Edit { body } => hub.store.edit_message(user, conversation, message, body).await,
        ChangeKind::Delete => hub.store.delete_message(user, conversation, message).await,
        ChangeKind::React { emoji, on } => hub.store.react(user, conversation, message, emoji, *on).await,
    }
    .map_err(|err| match err {
        // Only a member's change is queued, so what is not found is the message: over the
        // gateway as over REST, "message not found", also for a message of another conversation.
        StoreError::NotFound => StoreError::Refused(Refusal::NoSuchMessage),
        other => other,
    })?;
    if done.changed {
        let m = &done.message;
        let event = match &change.kind {
            ChangeKind::Edit { .. } => Event::MessageUpdated { message: m.clone() },
            ChangeKind::Delete => Event::MessageDeleted {
                conversation_id: m.conversation_id.clone(),
                message_id: m.id.clone(),
                seq: m.seq,
                rev: m.rev,
            },
            ChangeKind::React { emoji, on } => Event::Reaction {
                conversation_id: m.conversation_id.clone(),
                message_id: m.id.clone(),
                user_id: user.to_owned(),
                emoji: emoji.clone(),
                on: *on,
                rev: m.rev,
            },
        };
        super::announce::in_conversation(hub, &change.conversation_id, &change.members, Skip::Nobody, &event).await;
        hub.metrics.dispatch_latency.observe(change.received_at.elapsed().as_secs_f64());
        if matches!(change.kind, ChangeKind::Delete) {
            // The body is gone from the tables; the housekeeping task truncates the WAL soon.
            hub.purge_due.store(true, Ordering::Relaxed);
        }
    }
    if !done.removed_attachments.is_empty() {
        // Their rows are gone, so nobody can download them any more; the unlinking need not
        // hold up the committer. A file left by a crash here is swept as a stray later.
        let (blobs, removed) = (hub.blobs.clone(), done.removed_attachments);
        tokio::spawn(async move { blobs.remove(&removed).await });
    }
    Ok(done.message)
}
