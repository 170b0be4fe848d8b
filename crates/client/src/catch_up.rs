//! Catch-up: after `ready` or `resumed`, every conversation is paged over REST (`after_seq`)
//! from its gap-free prefix up to the hub's `last_seq`, so the cache equals the hub's history.

use std::sync::Arc;

use rapport_protocol::gateway::Event;
use rapport_protocol::{Conversation, HISTORY_PAGE_MAX};

use crate::cache::keys;
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
    let behind: Vec<(String, i64, i64)> =
        shared.cache.sync_positions().await?.into_iter().filter(|(_, last, synced)| last > synced).collect();
    let total: u64 = behind.iter().map(|(_, last, synced)| (last - synced) as u64).sum();
    let notify = shared.cache.get_kv(keys::SYNCED_ONCE).await?.is_some();
    let announce = total <= ANNOUNCE_UP_TO;
    let mut done = 0u64;
    let mut new_messages = 0u64;
    if total > 0 {
        shared.emit(EngineEvent::Syncing { done, total });
    }
    for (id, target, _) in behind {
        let fetch = |after: i64| {
            let shared = &shared;
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
        let mut synced = shared.cache.synced_seq(&id).await?;
        if synced >= target {
            shared.emit_conversation(&id).await;
            continue;
        }
        let mut page = fetch(synced).await?;
        while let Some(last) = page.messages.last().map(|m| m.seq) {
            // The next page is fetched while this one is written: the hub serves it meanwhile.
            // It starts after this page's last seq, which is where `synced_seq` lands unless the
            // page had a gap (then it is thrown away and fetched again from `synced_seq`).
            let prefetch = page.has_more && last < target;
            let (new, next) = tokio::join!(crate::apply::messages(&shared, &me, &page.messages, announce, notify), async {
                if prefetch {
                    Some(fetch(last).await)
                } else {
                    None
                }
            });
            let new = new?;
            new_messages += new.len() as u64;
            for m in new {
                shared.emit_wire(WireEvent { seq: None, event: Event::MessageCreated { message: m } });
            }
            done = (done + page.messages.len() as u64).min(total);
            shared.emit(EngineEvent::Syncing { done, total });
            let now = shared.cache.synced_seq(&id).await?;
            if now <= synced {
                tracing::warn!(conversation = %id, synced, "catch-up page did not extend the gap-free prefix");
                break;
            }
            if now >= target || !page.has_more {
                break;
            }
            synced = now;
            page = match next {
                Some(Ok(next)) if now == last => next,
                _ => fetch(now).await?,
            };
        }
        shared.emit_conversation(&id).await;
    }
    shared.cache.set_kv(keys::SYNCED_ONCE, "1").await?;
    shared.kick_receipts.notify_one();
    shared.emit(EngineEvent::Synced { new_messages });
    shared.emit_unread().await;
    Ok(new_messages)
}
