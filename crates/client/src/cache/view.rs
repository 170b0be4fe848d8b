//! What a cached message (or a queued send) is for the UI, finished: its files, the message it
//! answers, and this device's queued edits, deletions and reactions laid over the hub's state.
//!
//! Every [`LocalMessage`] the engine hands out passes [`Cache::finish`], so the UI never works
//! any of this out itself. Each step is one query for the whole batch.

use std::collections::HashMap;

use rapport_protocol::Reaction;

use super::incoming::toggle;
use super::outbox::{Op, OutboxEntry, COLUMNS as OUTBOX_COLUMNS};
use super::Cache;
use crate::event::{ChangeKind, LocalAttachment, LocalMessage, LocalReaction, MessageState, PendingChange, ReplyPreview, TransferProgress};
use crate::EngineError;

/// How much of the answered message a reply quotes.
const QUOTE_CHARS: usize = 200;

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    owner: String,
    id: Option<String>,
    filename: String,
    content_type: String,
    size: i64,
    sha256: String,
    width: Option<u32>,
    height: Option<u32>,
}

impl AttachmentRow {
    fn local(self) -> LocalAttachment {
        LocalAttachment {
            id: self.id,
            filename: self.filename,
            content_type: self.content_type,
            size: self.size.max(0) as u64,
            sha256: self.sha256,
            width: self.width,
            height: self.height,
        }
    }
}

#[derive(sqlx::FromRow)]
struct QuotedRow {
    id: String,
    seq: i64,
    sender_id: String,
    body: String,
    deleted_at: Option<String>,
    files: i64,
}

fn json_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    serde_json::to_string(&items.collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

impl Cache {
    /// Adds files, quotes and queued changes to messages built from rows (see the module docs).
    pub(crate) async fn finish(&self, messages: &mut [LocalMessage], me: &str) -> Result<(), EngineError> {
        if messages.is_empty() {
            return Ok(());
        }
        let cached = json_list(messages.iter().filter_map(|m| m.id.as_deref()));
        let queued = json_list(messages.iter().filter(|m| m.id.is_none()).map(|m| m.client_msg_id.as_str()));

        // Files: the hub's metadata for cached messages, the staged copies for queued sends.
        let files: Vec<AttachmentRow> = sqlx::query_as(
            "SELECT message_id AS owner, id, filename, content_type, size, sha256, width, height, position, 0 AS uploaded
             FROM attachments WHERE message_id IN (SELECT value FROM json_each(?1))
             UNION ALL
             SELECT client_msg_id AS owner, NULL AS id, filename, content_type, size, sha256, NULL, NULL, position,
                    attachment_id IS NOT NULL AS uploaded
             FROM outbox_files WHERE client_msg_id IN (SELECT value FROM json_each(?2))
             ORDER BY owner, position",
        )
        .bind(&cached)
        .bind(&queued)
        .fetch_all(&self.pool)
        .await?;
        let uploaded: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT client_msg_id, COALESCE(SUM(CASE WHEN attachment_id IS NOT NULL THEN size ELSE 0 END), 0), COALESCE(SUM(size), 0)
             FROM outbox_files WHERE client_msg_id IN (SELECT value FROM json_each(?)) GROUP BY client_msg_id",
        )
        .bind(&queued)
        .fetch_all(&self.pool)
        .await?;
        let mut by_owner: HashMap<String, Vec<LocalAttachment>> = HashMap::new();
        for row in files {
            by_owner.entry(row.owner.clone()).or_default().push(row.local());
        }

        // The answered messages.
        let quoted_ids = json_list(messages.iter().filter_map(|m| m.reply_to.as_deref()));
        let quoted: Vec<QuotedRow> = sqlx::query_as(
            "SELECT id, seq, sender_id, body, deleted_at, (SELECT COUNT(*) FROM attachments a WHERE a.message_id = m.id) AS files
             FROM messages m WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(&quoted_ids)
        .fetch_all(&self.pool)
        .await?;
        let quoted: HashMap<String, ReplyPreview> = quoted
            .into_iter()
            .map(|q| {
                let preview = ReplyPreview {
                    message_id: q.id.clone(),
                    seq: q.seq,
                    sender_id: q.sender_id,
                    body: q.body.chars().take(QUOTE_CHARS).collect(),
                    attachments: q.files.max(0) as u32,
                    deleted: q.deleted_at.is_some(),
                };
                (q.id, preview)
            })
            .collect();

        // This device's queued changes, oldest first.
        let changes: Vec<OutboxEntry> = sqlx::query_as(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE op != 'send'
             AND (message_id IN (SELECT value FROM json_each(?1)) OR target_client_msg_id IN (SELECT value FROM json_each(?2)))
             ORDER BY position"
        ))
        .bind(&cached)
        .bind(&queued)
        .fetch_all(&self.pool)
        .await?;

        for m in messages.iter_mut() {
            let owner = m.id.clone().unwrap_or_else(|| m.client_msg_id.clone());
            m.attachments = by_owner.remove(&owner).unwrap_or_default();
            if m.id.is_none() {
                m.upload = uploaded
                    .iter()
                    .find(|(id, done, total)| *id == m.client_msg_id && done < total)
                    .map(|(_, done, total)| TransferProgress { done: *done as u64, total: *total as u64 });
            }
            m.reply = m.reply_to.as_ref().and_then(|id| quoted.get(id).cloned());
            let mine: Vec<&OutboxEntry> = changes
                .iter()
                .filter(|c| match &m.id {
                    Some(id) => c.message_id.as_deref() == Some(id.as_str()),
                    None => c.target_client_msg_id.as_deref() == Some(m.client_msg_id.as_str()),
                })
                .collect();
            for change in mine {
                lay_over(m, change, me);
            }
        }
        Ok(())
    }
}

/// Lays one queued change over the message it targets.
fn lay_over(m: &mut LocalMessage, change: &OutboxEntry, me: &str) {
    let pending = change.state == MessageState::Pending;
    let marker = |kind| Some(PendingChange { op_id: change.client_msg_id.clone(), kind, state: change.state, error: change.error });
    match change.op {
        Op::Send => {}
        Op::Edit => {
            if pending && m.deleted_at.is_none() {
                m.body = change.body.clone();
            }
            m.change = marker(ChangeKind::Edit);
        }
        Op::Delete => {
            if pending {
                m.body.clear();
                m.attachments.clear();
                m.reactions.clear();
                m.edited_at = None;
                m.deleted_at.get_or_insert_with(|| change.created_at.clone());
            }
            m.change = marker(ChangeKind::Delete);
        }
        Op::React => {
            let (Some(emoji), Some(on)) = (change.emoji.as_deref(), change.react_on) else { return };
            if !pending || m.deleted_at.is_some() {
                return;
            }
            let mut plain: Vec<Reaction> =
                m.reactions.iter().map(|r| Reaction { emoji: r.emoji.clone(), user_ids: r.user_ids.clone() }).collect();
            let pending_before: Vec<String> = m.reactions.iter().filter(|r| r.pending).map(|r| r.emoji.clone()).collect();
            let changed = toggle(&mut plain, me, emoji, on);
            m.reactions = plain
                .into_iter()
                .map(|r| LocalReaction {
                    mine: r.user_ids.iter().any(|u| u == me),
                    pending: pending_before.contains(&r.emoji) || (changed && r.emoji == emoji),
                    emoji: r.emoji,
                    user_ids: r.user_ids,
                })
                .collect();
        }
    }
}
