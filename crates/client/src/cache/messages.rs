//! Cached messages: idempotent inserts that keep `synced_seq` (the gap-free prefix), history
//! pages, and the local state of each message.

use rapport_protocol::Message;
use sqlx::{Sqlite, Transaction};

use super::Cache;
use crate::event::{HistoryPage, LocalMessage, MessageState};
use crate::EngineError;

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub sender_id: String,
    pub body: String,
    pub client_msg_id: String,
    pub created_at: String,
}

/// What decides the state of a cached message, per conversation.
pub(crate) struct ReceiptView {
    me: String,
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

    pub(super) fn local(&self, row: MessageRow) -> LocalMessage {
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
        }
    }
}

/// What an insert changed.
#[derive(Debug, Default)]
pub(crate) struct Inserted {
    /// Messages that were new to the cache, in the order given.
    pub new: Vec<Message>,
    /// Outbox entries (client_msg_id) that these messages acknowledged.
    pub acked: Vec<String>,
}

impl Cache {
    /// Stores messages (ignoring ones already cached), moves `synced_seq` over any gap-free run,
    /// and removes outbox entries of `me` they acknowledge. One transaction.
    pub(crate) async fn insert_messages(&self, messages: &[Message], me: &str) -> Result<Inserted, EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut out = Inserted::default();
        // Per conversation: the highest seq and the latest `created_at` that were new.
        let mut touched: Vec<(&str, i64, &str)> = Vec::new();
        let mut new_rowids: Vec<i64> = Vec::new();
        for m in messages {
            let done = sqlx::query(
                "INSERT OR IGNORE INTO messages (rowid, id, conversation_id, seq, sender_id, body, client_msg_id, created_at)
                 VALUES ((SELECT CASE WHEN MAX(rowid) IS NULL THEN ?1 WHEN MAX(rowid) < ?1 + ?2 - 1 THEN MAX(rowid) + 1 END
                          FROM messages WHERE rowid BETWEEN ?1 AND ?1 + ?2 - 1),
                         ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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
            .execute(&mut *tx)
            .await?;
            if m.sender_id == me {
                let acked = sqlx::query("DELETE FROM outbox WHERE client_msg_id = ?").bind(&m.client_msg_id).execute(&mut *tx).await?;
                if acked.rows_affected() > 0 {
                    out.acked.push(m.client_msg_id.clone());
                }
            }
            if done.rows_affected() == 0 {
                continue;
            }
            new_rowids.push(done.last_insert_rowid());
            out.new.push(m.clone());
            match touched.iter_mut().find(|(c, _, _)| *c == m.conversation_id) {
                Some((_, seq, at)) => {
                    *seq = (*seq).max(m.seq);
                    *at = (*at).max(m.created_at.as_str());
                }
                None => touched.push((&m.conversation_id, m.seq, &m.created_at)),
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
        for (conversation_id, seq, created_at) in touched {
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
        tx.commit().await?;
        Ok(out)
    }

    /// The gap-free prefix of a conversation.
    pub(crate) async fn synced_seq(&self, conversation_id: &str) -> Result<i64, EngineError> {
        Ok(sqlx::query_scalar("SELECT synced_seq FROM conversations WHERE id = ?")
            .bind(conversation_id)
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or(0))
    }

    /// Cached messages before `before_seq` (or the newest), ascending, plus this conversation's
    /// pending and failed outbox entries when the page is the newest one.
    pub(crate) async fn history(&self, conversation_id: &str, before_seq: Option<i64>, limit: u32, me: &str) -> Result<HistoryPage, EngineError> {
        let limit = limit.clamp(1, 1000) as i64;
        let mut rows: Vec<MessageRow> = sqlx::query_as(
            "SELECT id, conversation_id, seq, sender_id, body, client_msg_id, created_at FROM messages
             WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        )
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
        if before_seq.is_none() {
            messages.extend(self.outbox_of(conversation_id).await?);
        }
        Ok(HistoryPage { messages, has_more })
    }

    /// The newest message of a conversation: a pending one if any, else the newest cached.
    pub(crate) async fn latest_message(&self, conversation_id: &str, me: &str) -> Result<Option<LocalMessage>, EngineError> {
        if let Some(pending) = self.outbox_of(conversation_id).await?.pop() {
            return Ok(Some(pending));
        }
        let row: Option<MessageRow> = sqlx::query_as(
            "SELECT id, conversation_id, seq, sender_id, body, client_msg_id, created_at FROM messages
             WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1",
        )
        .bind(conversation_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(ReceiptView::load(self, conversation_id, me).await?.local(row))),
            None => Ok(None),
        }
    }

    /// A cached message as a [`LocalMessage`].
    pub(crate) async fn local_message(&self, message: &Message, me: &str) -> Result<LocalMessage, EngineError> {
        let view = ReceiptView::load(self, &message.conversation_id, me).await?;
        Ok(view.local(MessageRow {
            id: message.id.clone(),
            conversation_id: message.conversation_id.clone(),
            seq: message.seq,
            sender_id: message.sender_id.clone(),
            body: message.body.clone(),
            client_msg_id: message.client_msg_id.clone(),
            created_at: message.created_at.clone(),
        }))
    }

    /// A message of `me` by its idempotency key, once acknowledged.
    pub(crate) async fn sent_message(&self, client_msg_id: &str, me: &str) -> Result<Option<LocalMessage>, EngineError> {
        let row: Option<MessageRow> = sqlx::query_as(
            "SELECT id, conversation_id, seq, sender_id, body, client_msg_id, created_at FROM messages
             WHERE client_msg_id = ? AND sender_id = ?",
        )
        .bind(client_msg_id)
        .bind(me)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => {
                let conversation_id = row.conversation_id.clone();
                Ok(Some(ReceiptView::load(self, &conversation_id, me).await?.local(row)))
            }
            None => Ok(None),
        }
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
        let rows: Vec<MessageRow> = sqlx::query_as(
            "SELECT id, conversation_id, seq, sender_id, body, client_msg_id, created_at FROM messages
             WHERE conversation_id = ?1 AND sender_id = ?2 AND ((seq > ?3 AND seq <= ?4) OR (seq > ?5 AND seq <= ?6))
             ORDER BY seq",
        )
        .bind(conversation_id)
        .bind(&after.me)
        .bind(delivered0)
        .bind(delivered1)
        .bind(read0)
        .bind(read1)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|row| after.local(row)).collect())
    }

    /// Every cached `(seq, id, client_msg_id)` of a conversation, ascending (for tests and checks).
    pub(crate) async fn seqs(&self, conversation_id: &str) -> Result<Vec<(i64, String, String)>, EngineError> {
        Ok(sqlx::query_as("SELECT seq, id, client_msg_id FROM messages WHERE conversation_id = ? ORDER BY seq")
            .bind(conversation_id)
            .fetch_all(&self.pool)
            .await?)
    }
}

/// Room for this many messages per millisecond in the rowid space (see [`rowid_key`]).
const ROWIDS_PER_MS: i64 = 1 << 12;

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
}
