//! What each hub event does to the cache and the engine's event stream.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rapport_protocol::gateway::{Event, ReceiptKind, Ready};
use rapport_protocol::{Message, Role};

use crate::cache::{Applied, Change, Inserted};
use crate::notify_policy::Candidate;
use crate::shared::Shared;
use crate::event::{EngineEvent, WireEvent};
use crate::EngineError;

/// Replies re-announced when the message they quote changes, at most.
const REPLIES_ANNOUNCED: u32 = 200;

/// Stores the snapshot of `ready`: conversations, members, presence.
pub(crate) async fn ready(shared: &Shared, ready: &Ready) -> Result<(), EngineError> {
    shared.cache.upsert_user(&ready.user).await?;
    for c in &ready.conversations {
        shared.store_conversation(c).await?;
    }
    let changed: Vec<_> = {
        let mut book = shared.presence.lock();
        book.clear();
        ready.presence.iter().filter(|p| book.update((*p).clone())).cloned().collect()
    };
    for p in changed {
        shared.emit(EngineEvent::Presence(p));
    }
    Ok(())
}

/// Applies one event. An error leaves the event unapplied (the session then reconnects and the
/// hub replays it).
pub(crate) async fn event(shared: &Arc<Shared>, seq: u64, event: Event) -> Result<(), EngineError> {
    let me = shared.me_id()?;
    // Edits do not notify; new messages may.
    let notify = matches!(event, Event::MessageCreated { .. });
    match &event {
        // An edit brings the whole message: applied like a new one (an older copy never
        // replaces a newer one).
        Event::MessageCreated { message } | Event::MessageUpdated { message } => {
            if !shared.cache.conversation_exists(&message.conversation_id).await? {
                // Its conversation.created was missed (or raced): fetch it first.
                let id = message.conversation_id.clone();
                let conversation = shared
                    .authed(|api, token| {
                        let id = id.clone();
                        async move { api.conversation(&token, &id).await }
                    })
                    .await?;
                shared.store_conversation(&conversation).await?;
                shared.kick_catch_up.notify_one();
            }
            messages(shared, &me, std::slice::from_ref(message), true, notify).await?;
        }
        Event::Receipt { conversation_id, user_id, kind, seq } => {
            let before = if *user_id == me { None } else { Some(shared.cache.receipt_view(conversation_id, &me).await?) };
            if shared.cache.apply_receipt(conversation_id, user_id, *kind, *seq).await? {
                shared.emit(EngineEvent::Receipt { conversation_id: conversation_id.clone(), user_id: user_id.clone(), kind: *kind, seq: *seq });
                if let Some(before) = before {
                    // Own messages this receipt moved to delivered or read: the app shows the
                    // engine's states and never works them out from receipts itself.
                    let after = shared.cache.receipt_view(conversation_id, &me).await?;
                    for moved in shared.cache.own_messages_moved(conversation_id, &before, after).await? {
                        shared.emit(EngineEvent::Message(moved));
                    }
                }
                if *user_id == me {
                    // Read on another device (or our own op echoed): nothing left to tell the hub.
                    let sent = crate::cache::PendingReceipt { conversation_id: conversation_id.clone(), kind: *kind, seq: *seq };
                    shared.cache.receipt_sent(&sent).await?;
                    // Unread counts follow `read` only. The total counts every cached message
                    // after the read positions (a scan of the whole cache when little is read),
                    // and every catch-up page brings one `delivered` echo.
                    if *kind == ReceiptKind::Read {
                        shared.emit_unread().await;
                    }
                    shared.emit_conversation(conversation_id).await;
                }
            }
        }
        Event::Typing { conversation_id, user_id, expires_in_ms } => {
            if *user_id != me {
                let generation = shared.typing_in.lock().started(conversation_id, user_id);
                shared.emit(EngineEvent::Typing { conversation_id: conversation_id.clone(), user_id: user_id.clone(), active: true });
                let (shared2, conversation_id, user_id) = (Arc::downgrade(shared), conversation_id.clone(), user_id.clone());
                let ttl = Duration::from_millis(*expires_in_ms);
                tokio::spawn(async move {
                    tokio::time::sleep(ttl).await;
                    let Some(shared) = shared2.upgrade() else { return };
                    if shared.typing_in.lock().expire(&conversation_id, &user_id, generation) {
                        shared.emit(EngineEvent::Typing { conversation_id, user_id, active: false });
                    }
                });
            }
        }
        Event::Presence(p) => {
            if shared.presence.lock().update(p.clone()) {
                shared.emit(EngineEvent::Presence(p.clone()));
            }
        }
        Event::ConversationCreated { conversation } => {
            shared.store_conversation(conversation).await?;
            if conversation.last_seq > 0 {
                shared.kick_catch_up.notify_one();
            }
        }
        Event::MessageDeleted { conversation_id, message_id, rev, .. } => {
            let (applied, removed) = shared.cache.apply_deletion(conversation_id, message_id, *rev, &crate::shared::now_rfc3339()).await?;
            crate::downloads::forget(shared, &removed).await;
            match applied {
                Applied::Changed => {
                    announce_message(shared, &me, message_id, true).await?;
                    shared.emit_conversation(conversation_id).await;
                }
                Applied::Stale => {}
                Applied::Later => shared.kick_catch_up.notify_one(),
            }
        }
        Event::Reaction { conversation_id, message_id, user_id, emoji, on, rev } => {
            match shared.cache.apply_reaction(conversation_id, message_id, user_id, emoji, *on, *rev).await? {
                Applied::Changed => announce_message(shared, &me, message_id, false).await?,
                Applied::Stale => {}
                Applied::Later => shared.kick_catch_up.notify_one(),
            }
        }
        Event::Notification { notification } => {
            if shared.cache.upsert_notification(notification).await? {
                shared.emit(EngineEvent::Notification(notification.clone()));
                if shared.policy.lock().wants_notification(notification.kind) {
                    shared.alert(notification);
                }
            }
        }
    }
    shared.emit_wire(WireEvent { seq: Some(seq), event });
    Ok(())
}

/// Caches messages (live, acknowledged or from catch-up) and tells the app: message events for
/// new ones and changes of cached ones (when `announce`), outbox acknowledgements, typing
/// cleared by a message, notification candidates (when `notify`), receipts due. Files sent from
/// here become kept copies; files of deleted messages go. Returns what the batch changed.
pub(crate) async fn messages(shared: &Shared, me: &str, batch: &[Message], announce: bool, notify: bool) -> Result<Inserted, EngineError> {
    // Judged before the messages become visible in the cache: the policy in force when a
    // message arrives decides, even if the user changes it a moment later.
    let wanted = if notify { wanted_notifications(shared, me, batch).await? } else { HashSet::new() };
    let mut inserted = shared.cache.insert_messages(batch, me).await?;
    crate::downloads::adopt_sent(shared, std::mem::take(&mut inserted.sent_files)).await;
    crate::downloads::forget(shared, &std::mem::take(&mut inserted.removed_files)).await;
    if !inserted.acked.is_empty() {
        for id in &inserted.acked {
            if let Some(sent) = shared.cache.sent_message(id, me).await? {
                shared.emit(EngineEvent::Message(sent));
            }
        }
        shared.bump_progress(|p| p.outbox_version += 1);
    }
    if announce {
        announce_changes(shared, me, &inserted.changed).await?;
    }
    if inserted.new.is_empty() {
        return Ok(inserted);
    }
    let mut from_others = false;
    let mut touched: Vec<&str> = Vec::new();
    let mut titles = Titles::default();
    for m in &inserted.new {
        if announce {
            if let Some(local) = shared.cache.message(&m.id, me).await? {
                shared.emit(EngineEvent::Message(local));
            }
        }
        if !touched.contains(&m.conversation_id.as_str()) {
            touched.push(&m.conversation_id);
        }
        if m.sender_id == me {
            continue;
        }
        from_others = true;
        if shared.typing_in.lock().clear(&m.conversation_id, &m.sender_id) {
            shared.emit(EngineEvent::Typing { conversation_id: m.conversation_id.clone(), user_id: m.sender_id.clone(), active: false });
        }
        if wanted.contains(m.id.as_str()) {
            candidate(shared, me, m, &mut titles).await?;
        }
    }
    if announce {
        for id in touched {
            shared.emit_conversation(id).await;
        }
    }
    if from_others {
        shared.kick_receipts.notify_one();
        if announce {
            shared.emit_unread().await;
        }
    }
    Ok(inserted)
}

/// Tells the app about cached messages that changed: the whole message when its content did (and
/// the replies that quote it), only the reactions otherwise, and the conversations whose list
/// entry may show it.
pub(crate) async fn announce_changes(shared: &Shared, me: &str, changes: &[Change]) -> Result<(), EngineError> {
    let mut touched: Vec<&str> = Vec::new();
    for change in changes {
        announce_message(shared, me, &change.message.id, change.content).await?;
        if !touched.contains(&change.message.conversation_id.as_str()) {
            touched.push(&change.message.conversation_id);
        }
    }
    for id in touched {
        shared.emit_conversation(id).await;
    }
    Ok(())
}

/// Tells the app one cached message changed (`content`), or only its reactions.
pub(crate) async fn announce_message(shared: &Shared, me: &str, message_id: &str, content: bool) -> Result<(), EngineError> {
    let Some(local) = shared.cache.message(message_id, me).await? else { return Ok(()) };
    if content {
        shared.emit(EngineEvent::MessageChanged(local));
        for reply in shared.cache.replies_to(message_id, REPLIES_ANNOUNCED, me).await? {
            shared.emit(EngineEvent::MessageChanged(reply));
        }
    } else {
        shared.emit(EngineEvent::Reactions { conversation_id: local.conversation_id, message_id: message_id.to_owned(), reactions: local.reactions });
    }
    Ok(())
}

/// The ids of the messages of `batch` the notification policy wants shown.
async fn wanted_notifications<'a>(shared: &Shared, me: &str, batch: &'a [Message]) -> Result<HashSet<&'a str>, EngineError> {
    // Looked up once per conversation of the batch, not once per message: a catch-up brings
    // hundreds of messages per page.
    let mut muted_in: HashMap<&str, bool> = HashMap::new();
    for m in batch.iter().filter(|m| m.sender_id != me) {
        if !muted_in.contains_key(m.conversation_id.as_str()) {
            muted_in.insert(&m.conversation_id, shared.cache.is_muted(&m.conversation_id).await?);
        }
    }
    let policy = shared.policy.lock();
    Ok(batch
        .iter()
        .filter(|m| m.sender_id != me && policy.wants_message(me, &m.sender_id, &m.conversation_id, muted_in[m.conversation_id.as_str()]))
        .map(|m| m.id.as_str())
        .collect())
}

/// Sender names and conversation titles already looked up for one batch.
#[derive(Default)]
struct Titles {
    senders: HashMap<String, (String, Option<Role>)>,
    conversations: HashMap<String, Option<String>>,
}

/// Hands a message to the notification coalescer.
async fn candidate(shared: &Shared, me: &str, m: &Message, titles: &mut Titles) -> Result<(), EngineError> {
    if !titles.senders.contains_key(&m.sender_id) {
        let known = shared.cache.name_and_role(&m.sender_id).await?;
        titles.senders.insert(m.sender_id.clone(), known.unwrap_or_else(|| ("Someone".into(), None)));
    }
    if !titles.conversations.contains_key(&m.conversation_id) {
        // The title only: a summary also counts the conversation's unread messages, a scan of
        // tens of thousands of rows per catch-up page in a large conversation.
        let title = shared.cache.display_title(&m.conversation_id, me).await?;
        titles.conversations.insert(m.conversation_id.clone(), title);
    }
    let (sender_name, sender_role) = titles.senders[&m.sender_id].clone();
    let title = titles.conversations[&m.conversation_id].clone().unwrap_or_else(|| sender_name.clone());
    shared.candidate(Candidate {
        conversation_id: m.conversation_id.clone(),
        seq: m.seq,
        title,
        sender_id: m.sender_id.clone(),
        sender_name,
        sender_role,
        body: crate::notify_policy::message_line(&m.body, m.card.as_deref()),
    });
    Ok(())
}
