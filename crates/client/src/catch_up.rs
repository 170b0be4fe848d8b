//! Catch-up: after `ready` or `resumed`, every conversation is paged over REST — by seq
//! (`after_seq`) from its gap-free prefix up to the hub's `last_seq`, then (1.1) by rev
//! (`changed_after_rev`) from `synced_rev` up to the hub's `last_rev` — so that the cache equals
//! the hub's history: no message missing, and each one as it is now (edited, deleted, with its
//! reactions).

use std::sync::Arc;

use rapport_protocol::gateway::Event;
use rapport_protocol::{Conversation, HISTORY_PAGE_MAX};

use crate::cache::{keys, Inserted, SyncPosition};
use crate::shared::Shared;
use crate::event::{EngineEvent, WireEvent};
use crate::EngineError;

/// Up to this many fetched messages, each one is announced as a message event; a larger
/// catch-up only reports progress and `synced` (the app then reloads what it shows).
const ANNOUNCE_UP_TO: u64 = 500;

/// Runs one catch-up; the number of messages that were new to the cache.
pub(crate) async fn run(shared: Arc<Shared>, snapshot: Option<Vec<Conversation>>) -> Result<u64, EngineError> {
    let me = shared.me_id()?;
    let conversations = match snapshot {
        Some(list) => list,
        None => shared.authed(|api, token| async move { api.conversations(&token).await }).await?.conversations,
    };
    for c in &conversations {
        shared.cache.upsert_conversation(c).await?;
    }
    // A conversation whose history is fetched from the start gets every message as it is now:
    // only what changes after this snapshot (`hub_last_rev`) needs the rev pages.
    let behind: Vec<SyncPosition> = shared
        .cache
        .sync_positions()
        .await?
        .into_iter()
        .filter(|p| p.hub_last_seq > p.synced_seq || p.hub_last_rev > p.synced_rev)
        .collect();
    let total: u64 = behind
        .iter()
        .map(|p| {
            let changes = if p.synced_seq == 0 { 0 } else { (p.hub_last_rev - p.synced_rev).max(0) };
            (p.hub_last_seq - p.synced_seq).max(0) as u64 + changes as u64
        })
        .sum();
    let notify = shared.cache.get_kv(keys::SYNCED_ONCE).await?.is_some();
    let mut run = Run { announce: total <= ANNOUNCE_UP_TO, notify, total, done: 0, new_messages: 0, changed_messages: 0 };
    if total > 0 {
        shared.emit(EngineEvent::Syncing { done: 0, total });
    }
    for position in behind {
        let from_scratch = position.synced_seq == 0;
        let complete = new_messages(&shared, &me, &position, &mut run).await?;
        if from_scratch && complete {
            shared.cache.rev_page_applied(&position.id, position.hub_last_rev).await?;
        }
        changes(&shared, &me, &position.id, &mut run).await?;
        shared.emit_conversation(&position.id).await;
    }
    shared.cache.set_kv(keys::SYNCED_ONCE, "1").await?;
    shared.kick_receipts.notify_one();
    shared.emit(EngineEvent::Synced { new_messages: run.new_messages, changed_messages: run.changed_messages });
    shared.emit_unread().await;
    Ok(run.new_messages)
}

/// One catch-up's counts and choices.
struct Run {
    announce: bool,
    notify: bool,
    total: u64,
    done: u64,
    new_messages: u64,
    changed_messages: u64,
}

impl Run {
    fn progress(&mut self, shared: &Shared, fetched: usize) {
        self.done = (self.done + fetched as u64).min(self.total);
        shared.emit(EngineEvent::Syncing { done: self.done, total: self.total });
    }

    /// Counts and tells `tail` what a page brought.
    fn record(&mut self, shared: &Shared, inserted: Inserted) {
        self.new_messages += inserted.new.len() as u64;
        self.changed_messages += inserted.changed.len() as u64;
        for m in inserted.new {
            shared.emit_wire(WireEvent { seq: None, event: Event::MessageCreated { message: m } });
        }
        for c in inserted.changed {
            let event = if c.message.is_deleted() {
                Event::MessageDeleted { conversation_id: c.message.conversation_id, message_id: c.message.id, seq: c.message.seq, rev: c.message.rev }
            } else {
                Event::MessageUpdated { message: c.message }
            };
            shared.emit_wire(WireEvent { seq: None, event });
        }
    }
}

/// Pages a conversation by seq from its gap-free prefix up to the hub's `last_seq`; whether it
/// got there.
async fn new_messages(shared: &Arc<Shared>, me: &str, position: &SyncPosition, run: &mut Run) -> Result<bool, EngineError> {
    let (id, target) = (&position.id, position.hub_last_seq);
    let fetch = |after: i64| {
        let id = id.clone();
        async move {
            shared
                .authed(|api, token| {
                    let id = id.clone();
                    async move { api.messages_after(&token, &id, after, HISTORY_PAGE_MAX).await }
                })
                .await
        }
    };
    let mut synced = shared.cache.synced_seq(id).await?;
    if synced >= target {
        return Ok(true);
    }
    let mut page = fetch(synced).await?;
    while let Some(last) = page.messages.last().map(|m| m.seq) {
        // The next page is fetched while this one is written: the hub serves it meanwhile.
        // It starts after this page's last seq, which is where `synced_seq` lands unless the
        // page had a gap (then it is thrown away and fetched again from `synced_seq`).
        let prefetch = page.has_more && last < target;
        let (inserted, next) = tokio::join!(crate::apply::messages(shared, me, &page.messages, run.announce, run.notify), async {
            if prefetch {
                Some(fetch(last).await)
            } else {
                None
            }
        });
        run.record(shared, inserted?);
        run.progress(shared, page.messages.len());
        let now = shared.cache.synced_seq(id).await?;
        if now <= synced {
            tracing::warn!(conversation = %id, synced, "catch-up page did not extend the gap-free prefix");
            return Ok(false);
        }
        if now >= target || !page.has_more {
            return Ok(now >= target);
        }
        synced = now;
        page = match next {
            Some(Ok(next)) if now == last => next,
            _ => fetch(now).await?,
        };
    }
    Ok(shared.cache.synced_seq(id).await? >= target)
}

/// Pages a conversation by rev from `synced_rev` (1.1): every message that was created, edited,
/// deleted or reacted to since, each at its latest state.
async fn changes(shared: &Arc<Shared>, me: &str, id: &str, run: &mut Run) -> Result<(), EngineError> {
    let (mut after, target) = shared.cache.rev_position(id).await?;
    while after < target {
        let page = shared
            .authed(|api, token| {
                let id = id.to_owned();
                async move { api.messages_changed_after(&token, &id, after, HISTORY_PAGE_MAX).await }
            })
            .await?;
        let Some(last) = page.messages.last().map(|m| m.rev) else { break };
        if last <= after {
            tracing::warn!(conversation = %id, after, "a changes page that does not move forward");
            break;
        }
        let inserted = crate::apply::messages(shared, me, &page.messages, run.announce, run.notify).await?;
        run.record(shared, inserted);
        run.progress(shared, page.messages.len());
        shared.cache.rev_page_applied(id, last).await?;
        if !page.has_more {
            break;
        }
        after = shared.cache.rev_position(id).await?.0.max(last);
    }
    Ok(())
}
