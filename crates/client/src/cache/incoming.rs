//! Messages and changes from the hub: new messages are inserted (keeping the gap-free
//! `synced_seq`), cached ones are replaced by a copy at the same or a later `rev` (never an
//! older one), deletions and reactions are applied in rev order, and the outbox entries they
//! acknowledge leave the outbox — each batch in one transaction.
//!
//! `synced_rev` is the rev counterpart of `synced_seq`: every message whose rev at the hub is at
//! most `synced_rev` is cached as the hub has it. It moves forward over every rev that a cached
//! message holds right after it (at most one message holds a given rev, and a message that
//! changed again holds a later one, so a message cached at rev `synced_rev + 1` is the hub's
//! newest state of every message up to that rev), and over a whole `changed_after_rev` page
//! (see [`Cache::rev_page_applied`]). A reaction is a delta: it is applied only on top of a
//! state known to be current (`synced_rev >= rev - 1`); otherwise the catch-up fetches the
//! message whole.

use rapport_protocol::{Message, Reaction};
use sqlx::{Sqlite, Transaction};

use super::Cache;
use crate::EngineError;

/// Room for this many messages per millisecond in the rowid space (see [`rowid_key`]).
const ROWIDS_PER_MS: i64 = 1 << 12;

/// What a batch of messages did to the cache.
#[derive(Debug, Default)]
pub(crate) struct Inserted {
    /// Messages that were new to the cache, in the order given.
    pub new: Vec<Message>,
    /// Cached messages that the batch changed: edited, deleted, or only their reactions.
    pub changed: Vec<Change>,
    /// Outbox entries (client_msg_id) that these messages acknowledged.
    pub acked: Vec<String>,
    /// Copies of files sent from here whose message is now acknowledged: they become cached
    /// downloads.
    pub sent_files: Vec<SentFile>,
    /// Files of messages that became tombstones: their cached copies go.
    pub removed_files: Vec<String>,
}

/// A cached message that changed.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    /// The message as the hub has it now.
    pub message: Message,
    /// Whether more than its reactions changed.
    pub content: bool,
}

/// A staged copy of a file this device sent, now the attachment `attachment_id`.
#[derive(Debug, Clone)]
pub(crate) struct SentFile {
    pub attachment_id: String,
    /// Relative to the profile.
    pub staged: String,
    pub filename: String,
    pub size: u64,
}

/// How a change event went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The cache changed.
    Changed,
    /// The cache already has this change or a later one.
    Stale,
    /// Not applicable now: the message is not cached, or a reaction's base state may be out of
    /// date. The next catch-up brings the message whole.
    Later,
}

/// What is cached of a message, to compare with a newer copy.
#[derive(sqlx::FromRow)]
struct Cached {
    body: String,
    kind: String,
    card: Option<String>,
    reply_to: Option<String>,
    reactions: String,
    edited_at: Option<String>,
    deleted_at: Option<String>,
    rev: i64,
}

impl Cache {
    /// Stores messages from the hub (live, acknowledged or fetched), one transaction: new ones are
    /// inserted, cached ones are replaced when the copy is at least as new (`rev`), the gap-free
    /// prefixes move, and outbox entries of `me` they acknowledge leave the outbox. A send whose
    /// body was edited here while it was on its way becomes an edit of the stored message.
    pub(crate) async fn insert_messages(&self, messages: &[Message], me: &str) -> Result<Inserted, EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut out = Inserted::default();
        // Per conversation: the highest seq and the latest `created_at` that were new.
        let mut new_in: Vec<(&str, i64, &str)> = Vec::new();
        let mut revs_in: Vec<(&str, i64)> = Vec::new();
        let mut new_rowids: Vec<i64> = Vec::new();
        for m in messages {
            let done = sqlx::query(
                "INSERT OR IGNORE INTO messages (rowid, id, conversation_id, seq, sender_id, body, client_msg_id, created_at,
                                                 kind, reply_to, reactions, edited_at, deleted_at, rev, card)
                 VALUES ((SELECT CASE WHEN MAX(rowid) IS NULL THEN ?1 WHEN MAX(rowid) < ?1 + ?2 - 1 THEN MAX(rowid) + 1 END
                          FROM messages WHERE rowid BETWEEN ?1 AND ?1 + ?2 - 1),
                         ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )
            .bind(rowid_key(&m.created_at))
            .bind(ROWIDS_PER_MS)
            .bind(&m.id)
            .bind(&m.conversation_id)
            .bind(m.seq)
            .bind(&m.sender_id)
            .bind(&m.body)
            .bind(&m.client_msg_id)
            .bind(&m.created_at)
            .bind(m.kind.as_str())
            .bind(&m.reply_to)
            .bind(reactions_json(&m.reactions))
            .bind(&m.edited_at)
            .bind(&m.deleted_at)
            .bind(m.rev)
            .bind(card_json(m))
            .execute(&mut *tx)
            .await?;
            if m.sender_id == me {
                acknowledge(&mut tx, m, &mut out).await?;
            }
            match revs_in.iter_mut().find(|(c, _)| *c == m.conversation_id) {
                Some((_, rev)) => *rev = (*rev).max(m.rev),
                None => revs_in.push((&m.conversation_id, m.rev)),
            }
            if done.rows_affected() == 0 {
                if let Some(change) = refresh(&mut tx, m, &mut out.removed_files).await? {
                    out.changed.push(change);
                }
                continue;
            }
            new_rowids.push(done.last_insert_rowid());
            insert_attachments(&mut tx, m).await?;
            out.new.push(m.clone());
            match new_in.iter_mut().find(|(c, _, _)| *c == m.conversation_id) {
                Some((_, seq, at)) => {
                    *seq = (*seq).max(m.seq);
                    *at = (*at).max(m.created_at.as_str());
                }
                None => new_in.push((&m.conversation_id, m.seq, &m.created_at)),
            }
        }
        if !new_rowids.is_empty() {
            // One statement for the whole batch (see migration 0002): FTS5 then writes one
            // segment per transaction instead of one per message.
            let list = new_rowids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            sqlx::query(
                "INSERT INTO messages_fts (rowid, body)
                 SELECT rowid, body FROM messages WHERE rowid IN (SELECT value FROM json_each(?)) ORDER BY rowid",
            )
            .bind(format!("[{list}]"))
            .execute(&mut *tx)
            .await?;
        }
        for (conversation_id, seq, created_at) in new_in {
            sqlx::query(
                "UPDATE conversations SET hub_last_seq = MAX(hub_last_seq, ?1), last_activity = MAX(last_activity, ?2) WHERE id = ?3",
            )
            .bind(seq)
            .bind(created_at)
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
            advance_synced(&mut tx, conversation_id).await?;
        }
        for (conversation_id, rev) in revs_in {
            sqlx::query("UPDATE conversations SET hub_last_rev = MAX(hub_last_rev, ?) WHERE id = ?")
                .bind(rev)
                .bind(conversation_id)
                .execute(&mut *tx)
                .await?;
            advance_synced_rev(&mut tx, conversation_id).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// `message.deleted`: the message becomes a tombstone unless the cache holds a later rev.
    /// The attachment ids whose cached files must go come back with `Changed`.
    pub(crate) async fn apply_deletion(&self, conversation_id: &str, message_id: &str, rev: i64, deleted_at: &str) -> Result<(Applied, Vec<String>), EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let stored: Option<(i64, Option<String>)> = sqlx::query_as("SELECT rev, deleted_at FROM messages WHERE id = ? AND conversation_id = ?")
            .bind(message_id)
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?;
        let outcome = match stored {
            None => Applied::Later,
            Some((stored_rev, _)) if stored_rev >= rev => Applied::Stale,
            // A tombstone is final: its state does not depend on the changes before it.
            Some((_, already)) => {
                sqlx::query(
                    "UPDATE messages SET body = '', reactions = '[]', edited_at = NULL, deleted_at = ?, rev = ? WHERE id = ?",
                )
                .bind(already.as_deref().unwrap_or(deleted_at))
                .bind(rev)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
                Applied::Changed
            }
        };
        let mut removed = Vec::new();
        if outcome == Applied::Changed {
            removed = remove_attachments(&mut tx, message_id).await?;
            sqlx::query("UPDATE conversations SET hub_last_rev = MAX(hub_last_rev, ?) WHERE id = ?").bind(rev).bind(conversation_id).execute(&mut *tx).await?;
            advance_synced_rev(&mut tx, conversation_id).await?;
        }
        tx.commit().await?;
        Ok((outcome, removed))
    }

    /// `reaction`: `user_id` added (`on`) or took back `emoji`, at `rev`.
    pub(crate) async fn apply_reaction(&self, conversation_id: &str, message_id: &str, user_id: &str, emoji: &str, on: bool, rev: i64) -> Result<Applied, EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let stored: Option<(i64, String, Option<String>)> =
            sqlx::query_as("SELECT rev, reactions, deleted_at FROM messages WHERE id = ? AND conversation_id = ?")
                .bind(message_id)
                .bind(conversation_id)
                .fetch_optional(&mut *tx)
                .await?;
        let synced_rev: i64 = sqlx::query_scalar("SELECT synced_rev FROM conversations WHERE id = ?")
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(0);
        let outcome = match stored {
            None => Applied::Later,
            Some((stored_rev, _, _)) if stored_rev >= rev => Applied::Stale,
            // Only on top of a state known to be the hub's just before this change.
            Some(_) if synced_rev < rev - 1 => Applied::Later,
            Some((_, json, deleted_at)) => {
                let mut reactions = parse_reactions(&json);
                if deleted_at.is_none() {
                    toggle(&mut reactions, user_id, emoji, on);
                }
                sqlx::query("UPDATE messages SET reactions = ?, rev = ? WHERE id = ?")
                    .bind(reactions_json(&reactions))
                    .bind(rev)
                    .bind(message_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE conversations SET hub_last_rev = MAX(hub_last_rev, ?) WHERE id = ?").bind(rev).bind(conversation_id).execute(&mut *tx).await?;
                advance_synced_rev(&mut tx, conversation_id).await?;
                Applied::Changed
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// A `changed_after_rev` page that started at this conversation's `synced_rev` is applied:
    /// every message whose rev at the hub is at most `last_rev` (the page's last) is cached as
    /// the hub has it.
    pub(crate) async fn rev_page_applied(&self, conversation_id: &str, last_rev: i64) -> Result<(), EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE conversations SET synced_rev = MAX(synced_rev, ?) WHERE id = ?").bind(last_rev).bind(conversation_id).execute(&mut *tx).await?;
        advance_synced_rev(&mut tx, conversation_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `(synced_rev, hub_last_rev)` of a conversation.
    pub(crate) async fn rev_position(&self, conversation_id: &str) -> Result<(i64, i64), EngineError> {
        Ok(sqlx::query_as("SELECT synced_rev, hub_last_rev FROM conversations WHERE id = ?")
            .bind(conversation_id)
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or((0, 0)))
    }

    /// The gap-free prefix of a conversation.
    pub(crate) async fn synced_seq(&self, conversation_id: &str) -> Result<i64, EngineError> {
        Ok(sqlx::query_scalar("SELECT synced_seq FROM conversations WHERE id = ?")
            .bind(conversation_id)
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or(0))
    }
}

/// The outbox side of an own message from the hub: its send is acknowledged. When the body was
/// edited here meanwhile, the row becomes an edit of the stored message instead (it keeps its
/// place in the queue); deletions queued for the send now know their target.
async fn acknowledge(tx: &mut Transaction<'_, Sqlite>, m: &Message, out: &mut Inserted) -> Result<(), EngineError> {
    let queued: Option<String> = sqlx::query_scalar("SELECT body FROM outbox WHERE client_msg_id = ? AND op = 'send'")
        .bind(&m.client_msg_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(queued_body) = queued else { return Ok(()) };
    let staged: Vec<(String, String, i64, String)> =
        sqlx::query_as("SELECT staged, filename, size, sha256 FROM outbox_files WHERE client_msg_id = ? ORDER BY position")
            .bind(&m.client_msg_id)
            .fetch_all(&mut **tx)
            .await?;
    for ((staged, filename, size, sha256), attachment) in staged.into_iter().zip(&m.attachments) {
        if attachment.sha256 == sha256 {
            out.sent_files.push(SentFile { attachment_id: attachment.id.clone(), staged, filename, size: size as u64 });
        }
    }
    if queued_body == m.body || m.is_deleted() {
        sqlx::query("DELETE FROM outbox WHERE client_msg_id = ? AND op = 'send'").bind(&m.client_msg_id).execute(&mut **tx).await?;
    } else {
        sqlx::query("DELETE FROM outbox_files WHERE client_msg_id = ?").bind(&m.client_msg_id).execute(&mut **tx).await?;
        sqlx::query(
            "UPDATE outbox SET op = 'edit', message_id = ?, conversation_id = ?, reply_to = NULL, to_email = NULL
             WHERE client_msg_id = ? AND op = 'send'",
        )
        .bind(&m.id)
        .bind(&m.conversation_id)
        .bind(&m.client_msg_id)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE outbox SET message_id = ?, target_client_msg_id = NULL WHERE target_client_msg_id = ?")
        .bind(&m.id)
        .bind(&m.client_msg_id)
        .execute(&mut **tx)
        .await?;
    out.acked.push(m.client_msg_id.clone());
    Ok(())
}

/// A message's card as the cache keeps it (JSON), or `None`.
pub(super) fn card_json(m: &Message) -> Option<String> {
    m.card.as_ref().and_then(|card| serde_json::to_string(card).ok())
}

/// Replaces a cached message by a copy that is at least as new; what changed, if anything.
async fn refresh(tx: &mut Transaction<'_, Sqlite>, m: &Message, removed_files: &mut Vec<String>) -> Result<Option<Change>, EngineError> {
    let Some(cached) = sqlx::query_as::<_, Cached>(
        "SELECT body, kind, card, reply_to, reactions, edited_at, deleted_at, rev FROM messages WHERE id = ?",
    )
    .bind(&m.id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        // Ignored for another reason: a different message already holds its (conversation, seq).
        tracing::warn!(conversation = %m.conversation_id, seq = m.seq, "a message with a cached seq but another id");
        return Ok(None);
    };
    // An older copy never overwrites a newer one; a v1 hub (rev 0 everywhere) never changes one.
    if m.rev < cached.rev || m.rev == 0 {
        return Ok(None);
    }
    let attachment_ids: Vec<String> = sqlx::query_scalar("SELECT id FROM attachments WHERE message_id = ? ORDER BY position")
        .bind(&m.id)
        .fetch_all(&mut **tx)
        .await?;
    let files_changed = attachment_ids.iter().ne(m.attachments.iter().map(|a| &a.id));
    let content = cached.body != m.body
        || cached.kind != m.kind.as_str()
        || cached.card != card_json(m)
        || cached.reply_to != m.reply_to
        || cached.edited_at != m.edited_at
        || cached.deleted_at != m.deleted_at
        || files_changed;
    let reactions = parse_reactions(&cached.reactions) != m.reactions;
    sqlx::query(
        "UPDATE messages SET body = ?, kind = ?, card = ?, reply_to = ?, reactions = ?, edited_at = ?, deleted_at = ?, rev = ? WHERE id = ?",
    )
    .bind(&m.body)
    .bind(m.kind.as_str())
    .bind(card_json(m))
    .bind(&m.reply_to)
    .bind(reactions_json(&m.reactions))
    .bind(&m.edited_at)
    .bind(&m.deleted_at)
    .bind(m.rev)
    .bind(&m.id)
    .execute(&mut **tx)
    .await?;
    if files_changed {
        removed_files.extend(remove_attachments(tx, &m.id).await?.into_iter().filter(|id| !m.attachments.iter().any(|a| &a.id == id)));
        insert_attachments(tx, m).await?;
    }
    Ok((content || reactions).then(|| Change { message: m.clone(), content }))
}

async fn insert_attachments(tx: &mut Transaction<'_, Sqlite>, m: &Message) -> Result<(), EngineError> {
    for (position, a) in m.attachments.iter().enumerate() {
        sqlx::query(
            "INSERT OR REPLACE INTO attachments (id, message_id, position, filename, content_type, size, sha256, width, height)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.id)
        .bind(&m.id)
        .bind(position as i64)
        .bind(&a.filename)
        .bind(&a.content_type)
        .bind(a.size as i64)
        .bind(&a.sha256)
        .bind(a.width)
        .bind(a.height)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Forgets a message's attachment rows; their ids (whose cached files must go).
async fn remove_attachments(tx: &mut Transaction<'_, Sqlite>, message_id: &str) -> Result<Vec<String>, EngineError> {
    Ok(sqlx::query_scalar("DELETE FROM attachments WHERE message_id = ? RETURNING id").bind(message_id).fetch_all(&mut **tx).await?)
}

/// The hub's reactions as the cache keeps them.
pub(super) fn reactions_json(reactions: &[Reaction]) -> String {
    serde_json::to_string(reactions).unwrap_or_else(|_| "[]".into())
}

/// The cached reactions (an unreadable value counts as none).
pub(super) fn parse_reactions(json: &str) -> Vec<Reaction> {
    serde_json::from_str(json).unwrap_or_default()
}

/// Adds (`on`) or takes back `user_id`'s `emoji`, as the hub does: a new emoji goes last, a new
/// user last among its users, an emoji nobody has any more goes. Whether anything changed.
pub(crate) fn toggle(reactions: &mut Vec<Reaction>, user_id: &str, emoji: &str, on: bool) -> bool {
    let at = reactions.iter().position(|r| r.emoji == emoji);
    match (at, on) {
        (Some(i), true) if !reactions[i].user_ids.iter().any(|u| u == user_id) => {
            reactions[i].user_ids.push(user_id.to_owned());
            true
        }
        (None, true) => {
            reactions.push(Reaction { emoji: emoji.to_owned(), user_ids: vec![user_id.to_owned()] });
            true
        }
        (Some(i), false) if reactions[i].user_ids.iter().any(|u| u == user_id) => {
            reactions[i].user_ids.retain(|u| u != user_id);
            if reactions[i].user_ids.is_empty() {
                reactions.remove(i);
            }
            true
        }
        _ => false,
    }
}

/// The first rowid of the millisecond a message was created in.
///
/// A message's rowid orders it by time, not by when this device learnt of it (a catch-up brings
/// old messages after new ones, one conversation after another), because search walks the FTS5
/// index in descending rowid order to find the newest matches without looking at the others.
/// The insert takes the next free rowid of that millisecond, or lets SQLite append when all
/// [`ROWIDS_PER_MS`] are taken or the time cannot be read (`None`). Caches written before this
/// rule hold insertion-order rowids, all far below any time key, so their messages simply count
/// as older than everything cached since.
fn rowid_key(created_at: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339).ok()?;
    let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
    (ms >= 0).then(|| ms.checked_mul(ROWIDS_PER_MS)).flatten()
}

/// Moves `synced_seq` to the end of the run of consecutive cached seqs that starts right after it.
async fn advance_synced(tx: &mut Transaction<'_, Sqlite>, conversation_id: &str) -> Result<(), EngineError> {
    let synced: i64 = sqlx::query_scalar("SELECT synced_seq FROM conversations WHERE id = ?")
        .bind(conversation_id)
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or(0);
    let next_present: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = ? AND seq = ?)")
        .bind(conversation_id)
        .bind(synced + 1)
        .fetch_one(&mut **tx)
        .await?;
    if !next_present {
        return Ok(());
    }
    // The first cached seq after `synced` whose successor is missing ends the run.
    let end: i64 = sqlx::query_scalar(
        "SELECT m.seq FROM messages m WHERE m.conversation_id = ?1 AND m.seq > ?2
         AND NOT EXISTS (SELECT 1 FROM messages n WHERE n.conversation_id = ?1 AND n.seq = m.seq + 1)
         ORDER BY m.seq LIMIT 1",
    )
    .bind(conversation_id)
    .bind(synced)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("UPDATE conversations SET synced_seq = ? WHERE id = ?").bind(end).bind(conversation_id).execute(&mut **tx).await?;
    Ok(())
}

/// Moves `synced_rev` over every rev that a cached message of the conversation holds right
/// after it (see the module docs for why that is sound).
async fn advance_synced_rev(tx: &mut Transaction<'_, Sqlite>, conversation_id: &str) -> Result<(), EngineError> {
    sqlx::query(
        "UPDATE conversations SET synced_rev = (
             WITH RECURSIVE run (rev) AS (
                 SELECT synced_rev FROM conversations WHERE id = ?1
                 UNION ALL
                 SELECT run.rev + 1 FROM run
                 WHERE EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1 AND rev = run.rev + 1)
             )
             SELECT MAX(rev) FROM run)
         WHERE id = ?1",
    )
    .bind(conversation_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rowid_keys_follow_time() {
        let a = rowid_key("2026-01-01T00:00:00Z").unwrap();
        let b = rowid_key("2026-01-01T00:00:00.001Z").unwrap();
        let c = rowid_key("2026-01-01T01:00:00+01:00").unwrap();
        assert_eq!(b - a, ROWIDS_PER_MS, "one millisecond later is one slot block later");
        assert_eq!(a, c, "the same instant in another offset is the same key");
        assert!(a > 1 << 40, "time keys stay above the insertion-order rowids of older caches");
        assert_eq!(rowid_key("yesterday"), None, "an unreadable time appends instead");
    }

    #[test]
    fn reactions_toggle_like_the_hub() {
        let mut r = Vec::new();
        assert!(toggle(&mut r, "a", "👍", true));
        assert!(toggle(&mut r, "b", "🎉", true));
        assert!(toggle(&mut r, "b", "👍", true));
        assert!(!toggle(&mut r, "b", "👍", true), "the same reaction twice changes nothing");
        assert_eq!(r, [Reaction { emoji: "👍".into(), user_ids: vec!["a".into(), "b".into()] }, Reaction { emoji: "🎉".into(), user_ids: vec!["b".into()] }]);
        assert!(toggle(&mut r, "b", "🎉", false));
        assert!(!toggle(&mut r, "b", "🎉", false), "taking back what is not there changes nothing");
        assert_eq!(r.len(), 1, "an emoji nobody has any more goes");
    }
}
