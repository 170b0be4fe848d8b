//! Reading cached messages: history pages, single messages, and the local state of each one.
//! (Writing them is `incoming`; what a row becomes for the UI is finished by `view`.)

use rapport_protocol::{Card, MessageKind};

use super::incoming::parse_reactions;
use super::Cache;
use crate::event::{HistoryPage, LocalMessage, LocalReaction, MessageState};
use crate::EngineError;

/// The columns of [`MessageRow`], for `SELECT`s.
pub(super) const COLUMNS: &str =
    "id, conversation_id, seq, sender_id, body, client_msg_id, created_at, kind, reply_to, reactions, edited_at, deleted_at, rev, card";

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub sender_id: String,
    pub body: String,
    pub client_msg_id: String,
    pub created_at: String,
    pub kind: String,
    pub reply_to: Option<String>,
    pub reactions: String,
    pub edited_at: Option<String>,
    pub deleted_at: Option<String>,
    pub rev: i64,
    /// The card as JSON (1.1, §3).
    pub card: Option<String>,
}

/// What decides the state of a cached message, per conversation.
pub(crate) struct ReceiptView {
    pub(super) me: String,
    my_read: i64,
    others_read: i64,
    others_delivered: i64,
}

impl ReceiptView {
    pub(super) async fn load(cache: &Cache, conversation_id: &str, me: &str) -> Result<ReceiptView, EngineError> {
        let (my_read, others_read, others_delivered): (Option<i64>, Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT read_seq FROM members WHERE conversation_id = ?1 AND user_id = ?2),
                    (SELECT MIN(read_seq) FROM members WHERE conversation_id = ?1 AND user_id != ?2),
                    (SELECT MIN(delivered_seq) FROM members WHERE conversation_id = ?1 AND user_id != ?2)",
        )
        .bind(conversation_id)
        .bind(me)
        .fetch_one(&cache.pool)
        .await?;
        Ok(ReceiptView::new(me, my_read, others_read, others_delivered))
    }

    /// From `me`'s read position and the lowest read / delivered positions of the others.
    pub(super) fn new(me: &str, my_read: Option<i64>, others_read: Option<i64>, others_delivered: Option<i64>) -> ReceiptView {
        ReceiptView {
            me: me.to_owned(),
            my_read: my_read.unwrap_or(0),
            others_read: others_read.unwrap_or(0),
            others_delivered: others_delivered.unwrap_or(0),
        }
    }

    /// Own messages: read / delivered once every other member got that far.
    /// Others' messages: read once this user read them, delivered otherwise (they are here).
    pub(super) fn state_of(&self, sender_id: &str, seq: i64) -> MessageState {
        if sender_id == self.me {
            if self.others_read >= seq {
                MessageState::Read
            } else if self.others_delivered >= seq {
                MessageState::Delivered
            } else {
                MessageState::Sent
            }
        } else if self.my_read >= seq {
            MessageState::Read
        } else {
            MessageState::Delivered
        }
    }

    /// How far every other member got: (delivered, read).
    pub(crate) fn others(&self) -> (i64, i64) {
        (self.others_delivered.max(self.others_read), self.others_read)
    }

    /// The row as a message, before [`Cache::finish`] adds files, the replied-to message and
    /// this device's queued changes.
    pub(super) fn local(&self, row: MessageRow) -> LocalMessage {
        let reactions = parse_reactions(&row.reactions)
            .into_iter()
            .map(|r| LocalReaction { mine: r.user_ids.contains(&self.me), emoji: r.emoji, user_ids: r.user_ids, pending: false })
            .collect();
        LocalMessage {
            state: self.state_of(&row.sender_id, row.seq),
            id: Some(row.id),
            conversation_id: row.conversation_id,
            seq: Some(row.seq),
            sender_id: row.sender_id,
            body: row.body,
            client_msg_id: row.client_msg_id,
            created_at: row.created_at,
            error: None,
            to_email: None,
            kind: MessageKind::parse(&row.kind).unwrap_or_default(),
            card: row.card.and_then(|json| serde_json::from_str::<Card>(&json).ok()),
            reply_to: row.reply_to,
            reply: None,
            attachments: Vec::new(),
            reactions,
            edited_at: row.edited_at,
            deleted_at: row.deleted_at,
            rev: row.rev,
            change: None,
            upload: None,
        }
    }
}

impl Cache {
    /// Cached messages before `before_seq` (or the newest), ascending, plus this conversation's
    /// pending and failed outbox entries when the page is the newest one.
    pub(crate) async fn history(&self, conversation_id: &str, before_seq: Option<i64>, limit: u32, me: &str) -> Result<HistoryPage, EngineError> {
        let limit = limit.clamp(1, 1000) as i64;
        let mut rows: Vec<MessageRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"))
                .bind(conversation_id)
                .bind(before_seq.unwrap_or(i64::MAX))
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        rows.reverse();
        let view = ReceiptView::load(self, conversation_id, me).await?;
        let mut messages: Vec<LocalMessage> = rows.into_iter().map(|r| view.local(r)).collect();
        self.finish(&mut messages, me).await?;
        if before_seq.is_none() {
            messages.extend(self.outbox_of(conversation_id, me).await?);
        }
        Ok(HistoryPage { messages, has_more })
    }

    /// The newest message of a conversation: a pending one if any, else the newest cached.
    pub(crate) async fn latest_message(&self, conversation_id: &str, me: &str) -> Result<Option<LocalMessage>, EngineError> {
        if let Some(pending) = self.outbox_of(conversation_id, me).await?.pop() {
            return Ok(Some(pending));
        }
        let row: Option<MessageRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1"))
            .bind(conversation_id)
            .fetch_optional(&self.pool)
            .await?;
        self.one(row, me).await
    }

    /// A cached message by its id.
    pub(crate) async fn message(&self, id: &str, me: &str) -> Result<Option<LocalMessage>, EngineError> {
        let row: Option<MessageRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM messages WHERE id = ?")).bind(id).fetch_optional(&self.pool).await?;
        self.one(row, me).await
    }

    /// A message of `me` by its idempotency key, once acknowledged.
    pub(crate) async fn sent_message(&self, client_msg_id: &str, me: &str) -> Result<Option<LocalMessage>, EngineError> {
        let row: Option<MessageRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM messages WHERE client_msg_id = ? AND sender_id = ?"))
            .bind(client_msg_id)
            .bind(me)
            .fetch_optional(&self.pool)
            .await?;
        self.one(row, me).await
    }

    /// Cached messages that answer `id` (their quote of it changed), at most `limit`.
    pub(crate) async fn replies_to(&self, id: &str, limit: u32, me: &str) -> Result<Vec<LocalMessage>, EngineError> {
        let rows: Vec<MessageRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM messages WHERE reply_to = ? ORDER BY seq LIMIT ?"))
            .bind(id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.extend(self.one(Some(row), me).await?);
        }
        Ok(out)
    }

    async fn one(&self, row: Option<MessageRow>, me: &str) -> Result<Option<LocalMessage>, EngineError> {
        let Some(row) = row else { return Ok(None) };
        let view = ReceiptView::load(self, &row.conversation_id, me).await?;
        let mut messages = vec![view.local(row)];
        self.finish(&mut messages, me).await?;
        Ok(messages.pop())
    }

    /// What decides the states of a conversation's messages for `me` now.
    pub(crate) async fn receipt_view(&self, conversation_id: &str, me: &str) -> Result<ReceiptView, EngineError> {
        ReceiptView::load(self, conversation_id, me).await
    }

    /// Own messages whose state differs between two receipt views (every other member moved
    /// from `before` to `after`), with their state under `after`, ascending.
    pub(crate) async fn own_messages_moved(&self, conversation_id: &str, before: &ReceiptView, after: ReceiptView) -> Result<Vec<LocalMessage>, EngineError> {
        let ((delivered0, read0), (delivered1, read1)) = (before.others(), after.others());
        if delivered1 <= delivered0 && read1 <= read0 {
            return Ok(Vec::new());
        }
        let rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM messages
             WHERE conversation_id = ?1 AND sender_id = ?2 AND ((seq > ?3 AND seq <= ?4) OR (seq > ?5 AND seq <= ?6))
             ORDER BY seq"
        ))
        .bind(conversation_id)
        .bind(&after.me)
        .bind(delivered0)
        .bind(delivered1)
        .bind(read0)
        .bind(read1)
        .fetch_all(&self.pool)
        .await?;
        let me = after.me.clone();
        let mut messages: Vec<LocalMessage> = rows.into_iter().map(|row| after.local(row)).collect();
        self.finish(&mut messages, &me).await?;
        Ok(messages)
    }

    /// Every cached `(seq, id, client_msg_id)` of a conversation, ascending (for tests and checks).
    pub(crate) async fn seqs(&self, conversation_id: &str) -> Result<Vec<(i64, String, String)>, EngineError> {
        Ok(sqlx::query_as("SELECT seq, id, client_msg_id FROM messages WHERE conversation_id = ? ORDER BY seq")
            .bind(conversation_id)
            .fetch_all(&self.pool)
            .await?)
    }
}
