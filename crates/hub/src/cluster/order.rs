//! Per conversation followed here: the newest `seq` and `rev` handed to the sessions of this
//! hub, and each member's receipt positions as they were told. Every message event of the
//! conversation passes through here, whichever hub made it, in the order of its `rev` (which
//! every create, edit, deletion and reaction takes, gap-free, in the database):
//!
//! - the next rev is handed out;
//! - a rev already handed out is dropped (a late publish, one sent twice, or one that a
//!   catch-up already covered), so no session gets an event twice;
//! - a rev further ahead means something was missed: what changed since the last rev handed out
//!   is read from the database and handed out first (new messages in seq order, then the
//!   other changes in rev order), so no session misses one.
//!
//! The lock of a conversation is held while its events are handed out, database reads
//! included, so two sources (the committer here, the subscriber) never interleave them.

use std::collections::HashMap;

use rapport_protocol::gateway::{Event, ReceiptKind};
use rapport_protocol::{Conversation, Message};
use tokio::sync::Mutex;

use crate::gateway::Skip;
use crate::store::{ConversationPositions, Page, StoreResult};
use crate::Hub;

/// Messages read per page while catching up.
const PAGE: u32 = 200;

/// A conversation followed here.
pub struct Tracked {
    /// Its members (membership never changes after creation).
    pub members: Vec<String>,
    positions: Mutex<Positions>,
}

/// What the sessions here were handed of one conversation.
struct Positions {
    seq: i64,
    rev: i64,
    /// Per member: read and delivered seq.
    receipts: HashMap<String, (i64, i64)>,
}

/// Where an event came from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Made on this hub: handed out as the single hub always did.
    Here,
    /// Made on another hub (or read from the database).
    Elsewhere,
}

impl Tracked {
    /// Follows a conversation from the state `conversation` shows (what the sessions that
    /// asked for it know).
    pub fn new(conversation: &Conversation) -> Tracked {
        let receipts = conversation.members.iter().map(|m| (m.user_id.clone(), (m.read_seq, m.delivered_seq))).collect();
        Tracked {
            members: conversation.members.iter().map(|m| m.user_id.clone()).collect(),
            positions: Mutex::new(Positions { seq: conversation.last_seq, rev: conversation.last_rev, receipts }),
        }
    }

    fn members(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(String::as_str)
    }

    /// Hands a conversation event to the local sessions of its members, in order, after what
    /// was missed before it. Returns the number of sessions reached.
    pub async fn deliver(&self, hub: &Hub, conversation_id: &str, event: &Event, skip: Skip<'_>, origin: Origin) -> u64 {
        match *event {
            Event::Typing { .. } => hub.gateway.dispatch(self.members(), skip, event),
            Event::Receipt { ref user_id, kind, seq, .. } => {
                let mut positions = self.positions.lock().await;
                let moved = positions.receipt(user_id, kind, seq);
                if moved || origin == Origin::Here {
                    hub.gateway.dispatch(self.members(), skip, event)
                } else {
                    0
                }
            }
            _ => {
                let Some(rev) = rev_of(event) else { return 0 };
                let mut positions = self.positions.lock().await;
                if rev <= positions.rev {
                    return 0;
                }
                let mut reached = 0;
                if rev > positions.rev + 1 {
                    reached += self.catch_up_locked(hub, conversation_id, &mut positions).await;
                    if rev <= positions.rev {
                        return reached;
                    }
                }
                positions.rev = rev;
                if let Event::MessageCreated { message } = event {
                    positions.seq = positions.seq.max(message.seq);
                }
                reached + hub.gateway.dispatch(self.members(), skip, event)
            }
        }
    }

    /// Hands out what the database has beyond what the sessions here were handed: messages,
    /// changes, and receipts when `now` gives the database's positions.
    pub async fn catch_up(&self, hub: &Hub, conversation_id: &str, now: Option<&ConversationPositions>) -> u64 {
        let mut positions = self.positions.lock().await;
        let mut reached = 0;
        if now.is_none_or(|now| now.last_rev > positions.rev) {
            reached += self.catch_up_locked(hub, conversation_id, &mut positions).await;
        }
        for (user_id, read, delivered) in now.map(|now| now.receipts.as_slice()).unwrap_or_default() {
            // A read moves delivered with it in one event; a delivered position beyond the
            // read one is an event of its own.
            for (kind, seq) in [(ReceiptKind::Read, *read), (ReceiptKind::Delivered, *delivered)] {
                if kind == ReceiptKind::Delivered && seq <= *read {
                    positions.receipt(user_id, kind, seq);
                    continue;
                }
                if positions.receipt(user_id, kind, seq) {
                    let event = Event::Receipt { conversation_id: conversation_id.to_owned(), user_id: user_id.clone(), kind, seq };
                    reached += hub.gateway.dispatch(self.members(), Skip::Nobody, &event);
                }
            }
        }
        reached
    }

    /// Reads every message whose rev is beyond the last handed out and hands them out as
    /// events: the new ones as `message.created` in seq order, then the older ones that
    /// changed as `message.updated` or `message.deleted` in rev order (a reaction shows in the
    /// message as it is now).
    async fn catch_up_locked(&self, hub: &Hub, conversation_id: &str, positions: &mut Positions) -> u64 {
        let Some(reader) = self.members.first() else { return 0 };
        let changed = match changed_after(hub, reader, conversation_id, positions.rev).await {
            Ok(changed) => changed,
            Err(err) => {
                // The database is away too: what was missed reaches the sessions at their next
                // catch-up (reconnect or history), and the next event here tries again.
                tracing::warn!(error = %err, conversation_id, "cluster: could not read what was missed");
                return 0;
            }
        };
        let (mut created, mut updated): (Vec<Message>, Vec<Message>) = changed.into_iter().partition(|m| m.seq > positions.seq);
        created.sort_by_key(|m| m.seq);
        updated.sort_by_key(|m| m.rev);
        let mut reached = 0;
        let events = created.len() + updated.len();
        for message in created {
            positions.seq = positions.seq.max(message.seq);
            positions.rev = positions.rev.max(message.rev);
            reached += hub.gateway.dispatch(self.members(), Skip::Nobody, &Event::MessageCreated { message });
        }
        for message in updated {
            positions.rev = positions.rev.max(message.rev);
            let event = if message.deleted_at.is_some() {
                Event::MessageDeleted {
                    conversation_id: message.conversation_id.clone(),
                    message_id: message.id.clone(),
                    seq: message.seq,
                    rev: message.rev,
                }
            } else {
                Event::MessageUpdated { message }
            };
            reached += hub.gateway.dispatch(self.members(), Skip::Nobody, &event);
        }
        hub.metrics.cluster_caught_up.inc_by(events as u64);
        reached
    }
}

impl Positions {
    /// Notes a receipt position; whether it moved.
    fn receipt(&mut self, user_id: &str, kind: ReceiptKind, seq: i64) -> bool {
        let (read, delivered) = self.receipts.entry(user_id.to_owned()).or_insert((0, 0));
        match kind {
            ReceiptKind::Read => {
                *delivered = (*delivered).max(seq);
                let moved = seq > *read;
                *read = (*read).max(seq);
                moved
            }
            ReceiptKind::Delivered => {
                let moved = seq > *delivered;
                *delivered = (*delivered).max(seq);
                moved
            }
        }
    }
}

/// The rev a message event took; `None` for events that have none.
fn rev_of(event: &Event) -> Option<i64> {
    match event {
        Event::MessageCreated { message } | Event::MessageUpdated { message } => Some(message.rev),
        Event::MessageDeleted { rev, .. } | Event::Reaction { rev, .. } => Some(*rev),
        _ => None,
    }
}

/// Every message of the conversation whose rev is above `rev`, each once as it is now.
async fn changed_after(hub: &Hub, reader: &str, conversation_id: &str, rev: i64) -> StoreResult<Vec<Message>> {
    let mut by_id: HashMap<String, Message> = HashMap::new();
    let mut after = rev;
    loop {
        let (page, more) = hub.store.messages(reader, conversation_id, Page::ChangedAfter(after), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.rev;
        for message in page {
            // Revs only grow: a message changed while the pages were read shows again later,
            // as it is now.
            match by_id.get(&message.id) {
                Some(seen) if seen.rev >= message.rev => {}
                _ => {
                    by_id.insert(message.id.clone(), message);
                }
            }
        }
        if !more {
            break;
        }
    }
    Ok(by_id.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_moves_delivered_with_it_and_positions_never_go_back() {
        let mut p = Positions { seq: 0, rev: 0, receipts: HashMap::new() };
        assert!(p.receipt("u", ReceiptKind::Read, 3));
        assert!(!p.receipt("u", ReceiptKind::Delivered, 3), "read 3 delivered 3 already");
        assert!(p.receipt("u", ReceiptKind::Delivered, 5));
        assert!(!p.receipt("u", ReceiptKind::Read, 2), "a read never moves back");
        assert_eq!(p.receipts["u"], (3, 5));
    }
}
