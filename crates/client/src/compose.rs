//! What the user writes or changes, checked and queued in the outbox (on disk before any
//! network I/O): sends with a reply and files, edits, deletions and reactions. What the hub
//! would refuse for good is refused here at once, with the hub's code; the rest goes out when
//! connected (`outgoing`).

use std::path::PathBuf;

use rapport_protocol::card::check_card;
use rapport_protocol::{check_body_with, check_emoji, Card, Role, DEFAULT_MAX_UPLOAD_MB, MAX_ATTACHMENTS, MAX_REACTIONS};
use serde::{Deserialize, Serialize};

use crate::cache::{OutboxEntry, QueuedFile, Target};
use crate::error::{Code, EngineError};
use crate::event::{EngineEvent, LocalMessage};
use crate::files::{content_type, copy_hashing, safe_filename};
use crate::shared::{now_rfc3339, Shared};

/// A message to send: its text, the message it answers, the files to attach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Draft {
    /// The text; may be empty when there are files.
    pub body: String,
    /// The id of a message of the same conversation this one answers.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Files to attach (at most 10, each at most 25 MiB), copied into the profile when the
    /// message is queued: changing or removing the originals afterwards changes nothing.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "Array<string>"))]
    pub files: Vec<PathBuf>,
    /// (1.1, §3) A job or application status card (recruiters only); the body may then be empty.
    #[serde(default)]
    pub card: Option<Card>,
}

impl Draft {
    /// Text only.
    pub fn text(body: &str) -> Draft {
        Draft { body: body.to_owned(), ..Draft::default() }
    }
}

fn invalid(reason: Code, message: impl Into<String>) -> EngineError {
    EngineError::Invalid { reason, message: message.into() }
}

fn check_body(body: &str, has_files: bool) -> Result<(), EngineError> {
    check_body_with(body, has_files).map_err(|code| invalid(code.into(), format!("message not sent: {code}")))
}

/// What the hub would refuse of a draft whatever its conversation: too many files, a card this
/// user may not send, an empty or too long body. Checked before anything is queued — or, for a
/// send to an email, before its conversation is looked up (and created) at the hub.
pub(crate) fn check_draft(shared: &Shared, draft: &Draft) -> Result<(), EngineError> {
    if draft.files.len() > MAX_ATTACHMENTS {
        return Err(invalid(Code::InvalidPayload, format!("at most {MAX_ATTACHMENTS} files per message")));
    }
    if let Some(card) = &draft.card {
        check_card_of_mine(shared, card)?;
    }
    check_body(&draft.body, !draft.files.is_empty() || draft.card.is_some())
}

/// Queues a send (to a conversation, or to an email whose conversation is resolved later).
pub(crate) async fn send(shared: &Shared, conversation_id: Option<String>, to_email: Option<String>, draft: &Draft) -> Result<LocalMessage, EngineError> {
    let me = shared.me_id()?;
    check_draft(shared, draft)?;
    if let (Some(reply_to), Some(conversation_id)) = (&draft.reply_to, &conversation_id) {
        // A message cached elsewhere is refused now; one not cached is the hub's to judge.
        if shared.cache.message(reply_to, &me).await?.is_some_and(|m| m.conversation_id != *conversation_id) {
            return Err(invalid(Code::InvalidPayload, "a reply answers a message of the same conversation"));
        }
    }
    let client_msg_id = uuid::Uuid::now_v7().to_string();
    let files = match stage(shared, &client_msg_id, &draft.files).await {
        Ok(files) => files,
        Err(e) => {
            shared.layout.remove(&format!("outgoing/{client_msg_id}")).await;
            return Err(e);
        }
    };
    let mut entry = OutboxEntry::send(client_msg_id.clone(), conversation_id, to_email, me.clone(), draft.body.clone(), draft.reply_to.clone(), now_rfc3339());
    entry.card = draft.card.as_ref().and_then(|card| serde_json::to_string(card).ok());
    if let Err(e) = shared.cache.enqueue(&entry, &files).await {
        shared.layout.remove(&format!("outgoing/{client_msg_id}")).await;
        return Err(e);
    }
    let local = shared.cache.queued_message(&client_msg_id, &me).await?.unwrap_or_else(|| entry.local());
    shared.emit(EngineEvent::Message(local.clone()));
    shared.bump_progress(|p| p.outbox_version += 1);
    if !files.is_empty() {
        shared.kick_uploads.notify_one();
    }
    shared.kick_outbox.notify_one();
    Ok(local)
}

/// What the hub would refuse of a card from this user, refused now: a card that breaks the
/// card rules, or any card from a candidate (`forbidden`).
pub(crate) fn check_card_of_mine(shared: &Shared, card: &Card) -> Result<(), EngineError> {
    check_card(card).map_err(|message| invalid(Code::InvalidPayload, message))?;
    match shared.me() {
        Some(me) if me.role != Role::Recruiter => Err(invalid(Code::Forbidden, "only recruiters send job and application status cards")),
        _ => Ok(()),
    }
}

/// Copies the files into the profile, hashing them.
async fn stage(shared: &Shared, client_msg_id: &str, paths: &[PathBuf]) -> Result<Vec<QueuedFile>, EngineError> {
    let limit = DEFAULT_MAX_UPLOAD_MB << 20;
    let mut files = Vec::with_capacity(paths.len());
    for (index, path) in paths.iter().enumerate() {
        let staged = shared.layout.staged(client_msg_id, index)?;
        let (size, sha256) = copy_hashing(path, &shared.layout.absolute(&staged), limit).await?;
        if size == 0 {
            return Err(invalid(Code::InvalidPayload, format!("{} is empty", path.display())));
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        files.push(QueuedFile { filename: safe_filename(&name), content_type: content_type(path).to_owned(), size, sha256, staged });
    }
    Ok(files)
}

/// A message this user may change: the cached one with this id, or a send of this device with
/// this `client_msg_id` (still queued, or acknowledged since).
enum Mine {
    Cached(LocalMessage),
    Queued(LocalMessage),
}

async fn find(shared: &Shared, me: &str, reference: &str) -> Result<Mine, EngineError> {
    if let Some(m) = shared.cache.message(reference, me).await? {
        return Ok(Mine::Cached(m));
    }
    if let Some(m) = shared.cache.queued_message(reference, me).await? {
        return Ok(Mine::Queued(m));
    }
    // Acknowledged since it was queued (an ack moves it out of the outbox, never back).
    match shared.cache.sent_message(reference, me).await? {
        Some(m) => Ok(Mine::Cached(m)),
        None => Err(EngineError::NotFound("no such message in the cache".into())),
    }
}

fn own(m: &LocalMessage, me: &str, what: &str) -> Result<(), EngineError> {
    if m.sender_id != me {
        return Err(invalid(Code::Forbidden, format!("only its sender can {what} a message")));
    }
    Ok(())
}

fn kicked(shared: &Shared) {
    shared.bump_progress(|p| p.outbox_version += 1);
    shared.kick_outbox.notify_one();
}

/// Queues an edit; a send still queued gets the new body instead. The message as shown now.
pub(crate) async fn edit(shared: &Shared, reference: &str, body: &str) -> Result<LocalMessage, EngineError> {
    let me = shared.me_id()?;
    match find(shared, &me, reference).await? {
        Mine::Cached(m) => {
            own(&m, &me, "edit")?;
            if m.deleted_at.is_some() {
                return Err(invalid(Code::Gone, "the message was deleted"));
            }
            check_body(body, !m.attachments.is_empty())?;
            if m.body == body {
                return Ok(m);
            }
            let id = m.id.clone().unwrap_or_default();
            let target = Target { conversation_id: &m.conversation_id, message_id: Some(&id), client_msg_id: &m.client_msg_id, sender_id: &me, now: &now_rfc3339() };
            shared.cache.queue_edit(&target, body).await?;
            let changed = shared.cache.message(&id, &me).await?.unwrap_or(m);
            shared.emit(EngineEvent::MessageChanged(changed.clone()));
            kicked(shared);
            Ok(changed)
        }
        Mine::Queued(m) => {
            check_body(body, !m.attachments.is_empty())?;
            shared.cache.edit_queued_send(reference, body).await?;
            let changed = shared.cache.queued_message(reference, &me).await?.unwrap_or(m);
            shared.emit(EngineEvent::Message(changed.clone()));
            kicked(shared);
            Ok(changed)
        }
    }
}

/// Queues a deletion. A send that never left this device is simply discarded (`None`); one
/// that may have reached the hub is deleted once it is acknowledged.
pub(crate) async fn delete(shared: &Shared, reference: &str) -> Result<Option<LocalMessage>, EngineError> {
    let me = shared.me_id()?;
    match find(shared, &me, reference).await? {
        Mine::Cached(m) => {
            own(&m, &me, "delete")?;
            if m.deleted_at.is_some() {
                return Ok(Some(m)); // deleted already (or queued to be)
            }
            let id = m.id.clone().unwrap_or_default();
            let target = Target { conversation_id: &m.conversation_id, message_id: Some(&id), client_msg_id: &m.client_msg_id, sender_id: &me, now: &now_rfc3339() };
            shared.cache.queue_delete(&target).await?;
            let changed = shared.cache.message(&id, &me).await?.unwrap_or(m);
            shared.emit(EngineEvent::MessageChanged(changed.clone()));
            kicked(shared);
            Ok(Some(changed))
        }
        Mine::Queued(m) => {
            if let Some(staged) = shared.cache.discard_unsent(reference).await? {
                stop_upload(shared, reference);
                for path in staged {
                    shared.layout.remove(&path).await;
                }
                shared.emit(EngineEvent::MessageDiscarded { conversation_id: m.conversation_id, client_msg_id: m.client_msg_id });
                shared.bump_progress(|p| p.outbox_version += 1);
                return Ok(None);
            }
            let target = Target { conversation_id: &m.conversation_id, message_id: None, client_msg_id: reference, sender_id: &me, now: &now_rfc3339() };
            shared.cache.queue_delete(&target).await?;
            let changed = shared.cache.queued_message(reference, &me).await?.unwrap_or(m);
            shared.emit(EngineEvent::Message(changed.clone()));
            kicked(shared);
            Ok(Some(changed))
        }
    }
}

/// Queues this user's reaction with `emoji` (`on`), or taking it back.
pub(crate) async fn react(shared: &Shared, message_id: &str, emoji: &str, on: bool) -> Result<LocalMessage, EngineError> {
    let me = shared.me_id()?;
    if !check_emoji(emoji) {
        return Err(invalid(Code::InvalidPayload, "a reaction is one emoji or a :shortcode:"));
    }
    let m = match find(shared, &me, message_id).await? {
        Mine::Cached(m) => m,
        Mine::Queued(_) => return Err(EngineError::NotFound("the message is not sent yet".into())),
    };
    if m.deleted_at.is_some() {
        return Err(invalid(Code::Gone, "the message was deleted"));
    }
    if on && !m.reactions.iter().any(|r| r.emoji == emoji) && m.reactions.len() >= MAX_REACTIONS {
        return Err(invalid(Code::InvalidPayload, format!("a message takes at most {MAX_REACTIONS} different reactions")));
    }
    let id = m.id.clone().unwrap_or_default();
    let target = Target { conversation_id: &m.conversation_id, message_id: Some(&id), client_msg_id: &m.client_msg_id, sender_id: &me, now: &now_rfc3339() };
    shared.cache.queue_react(&target, emoji, on).await?;
    let changed = shared.cache.message(&id, &me).await?.unwrap_or(m);
    shared.emit(EngineEvent::Reactions { conversation_id: changed.conversation_id.clone(), message_id: id, reactions: changed.reactions.clone() });
    kicked(shared);
    Ok(changed)
}

/// Stops the upload of a send that is being discarded (the hub keeps nothing of it).
pub(crate) fn stop_upload(shared: &Shared, client_msg_id: &str) {
    if let Some((id, cancel)) = shared.uploading.lock().as_ref() {
        if id == client_msg_id {
            cancel.cancel();
        }
    }
}
