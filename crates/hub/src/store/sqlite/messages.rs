//! Messages: the group commit of a batch, its one-by-one fallback, history pages, and the
//! reading of whole messages (with their attachments and reactions).

use async_trait::async_trait;
use rapport_protocol::{Attachment, Card, Message, MessageKind};
use sqlx::{FromRow, SqliteConnection};

use super::{placeholders, SqliteStore};
use crate::clock::{now_ms, rfc3339};
use crate::store::batch::{self, Found, Members, Plan, Upload};
use crate::store::parts::{self, AttachmentRow, ReactionRow};
use crate::store::{MessageStore, NewMessage, Page, StoreError, StoreResult};

#[derive(FromRow)]
pub(super) struct MessageRow {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub sender_id: String,
    pub client_msg_id: String,
    pub body: String,
    pub created_at: i64,
    pub kind: String,
    pub card: Option<String>,
    pub reply_to: Option<String>,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub rev: i64,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Message {
        Message {
            id: row.id,
            conversation_id: row.conversation_id,
            seq: row.seq,
            sender_id: row.sender_id,
            body: row.body,
            client_msg_id: row.client_msg_id,
            created_at: rfc3339(row.created_at),
            kind: MessageKind::parse(&row.kind).unwrap_or_default(),
            card: row.card.and_then(|json| serde_json::from_str::<Card>(&json).ok()).map(Box::new),
            reply_to: row.reply_to,
            attachments: Vec::new(),
            reactions: Vec::new(),
            edited_at: row.edited_at.map(rfc3339),
            deleted_at: row.deleted_at.map(rfc3339),
            rev: row.rev,
        }
    }
}

/// The columns of a [`MessageRow`], in order, of the table aliased `m`.
pub(super) const MESSAGE_COLUMNS: &str =
    "m.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.body, m.created_at, m.kind, m.card, m.reply_to, m.edited_at, m.deleted_at, m.rev";

#[derive(FromRow)]
pub(super) struct AttachmentColumns {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
}

impl From<AttachmentColumns> for Attachment {
    fn from(row: AttachmentColumns) -> Attachment {
        Attachment {
            id: row.id,
            filename: row.filename,
            content_type: row.content_type,
            size: u64::try_from(row.size).unwrap_or(0),
            sha256: row.sha256,
            width: row.width.and_then(|w| u32::try_from(w).ok()),
            height: row.height.and_then(|h| u32::try_from(h).ok()),
        }
    }
}

/// The columns of an [`AttachmentColumns`], in order, of the table aliased `a`.
pub(super) const ATTACHMENT_COLUMNS: &str = "a.id, a.filename, a.content_type, a.size, a.sha256, a.width, a.height";

/// Messages stored per transaction at most; keeps every statement well under SQLite's limit
/// of bound parameters (11 per message in the insert).
const MAX_BATCH: usize = 1024;

/// Ids per `IN (…)` list when reading the parts of many messages.
const IDS_PER_QUERY: usize = 500;

/// Whole messages from their rows: their attachments and reactions read in two queries
/// (per [`IDS_PER_QUERY`] messages).
pub(super) async fn complete(conn: &mut SqliteConnection, rows: Vec<MessageRow>) -> StoreResult<Vec<Message>> {
    let mut messages: Vec<Message> = rows.into_iter().map(Into::into).collect();
    let wanted: Vec<String> = parts::wanted(&messages).into_iter().map(str::to_owned).collect();
    let mut attachments: Vec<AttachmentRow> = Vec::new();
    let mut reactions: Vec<ReactionRow> = Vec::new();
    for ids in wanted.chunks(IDS_PER_QUERY) {
        let list = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "SELECT a.message_id AS message_id, {ATTACHMENT_COLUMNS} FROM attachments a
              WHERE a.message_id IN ({list}) ORDER BY a.message_id, a.position"
        );
        let mut files = sqlx::query(&sql);
        for id in ids {
            files = files.bind(id);
        }
        for row in files.fetch_all(&mut *conn).await? {
            use sqlx::Row as _;
            let message_id: String = row.try_get("message_id")?;
            attachments.push((message_id, AttachmentColumns::from_row(&row)?.into()));
        }
        let sql = format!(
            "SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN ({list}) ORDER BY added_rev"
        );
        let mut query = sqlx::query_as::<_, ReactionRow>(&sql);
        for id in ids {
            query = query.bind(id);
        }
        reactions.extend(query.fetch_all(&mut *conn).await?);
    }
    parts::assemble(&mut messages, attachments, reactions);
    Ok(messages)
}

/// One whole message of a conversation, if there is one with this id.
pub(super) async fn message_in(conn: &mut SqliteConnection, conversation_id: &str, message_id: &str) -> StoreResult<Option<Message>> {
    let rows: Vec<MessageRow> =
        sqlx::query_as(&format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = $1 AND m.conversation_id = $2"))
            .bind(message_id)
            .bind(conversation_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(complete(conn, rows).await?.pop())
}

impl SqliteStore {
    /// Stores a batch in one transaction with a fixed number of statements, whatever its size,
    /// as [`batch`] plans it: membership; earlier messages with the same client ids, the
    /// messages replied to and the uploads attached; the counters of every conversation at
    /// once; every insert at once; the attachments' links at once; the senders' receipts at
    /// once. Any failure other than the plan's refusals fails the whole batch (the caller then
    /// retries message by message).
    async fn insert_batch(&self, batch: &[NewMessage<'_>]) -> StoreResult<Vec<StoreResult<(Message, bool)>>> {
        let now = now_ms();
        // The write pool has a single connection and the read pool cannot write, so starting
        // with reads cannot end in a lock-upgrade failure.
        let mut tx = self.write.begin().await?;

        let pairs = batch::memberships(batch);
        let sql = format!(
            "SELECT mm.conversation_id, mm.user_id
               FROM (SELECT column1 AS c, column2 AS u FROM (VALUES {})) AS v
               JOIN members mm ON mm.conversation_id = v.c AND mm.user_id = v.u",
            placeholders(pairs.len(), 2)
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for (conversation_id, sender_id) in &pairs {
            query = query.bind(*conversation_id).bind(*sender_id);
        }
        let members = Members::new(&pairs, query.fetch_all(&mut *tx).await?);

        let mut found = Found::default();
        let keys = members.resend_keys(batch);
        if !keys.is_empty() {
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS}
                   FROM (SELECT column1 AS s, column2 AS c, column3 AS k FROM (VALUES {})) AS v
                   JOIN messages m ON m.sender_id = v.s AND m.conversation_id = v.c AND m.client_msg_id = v.k",
                placeholders(keys.len(), 3)
            );
            let mut query = sqlx::query_as::<_, MessageRow>(&sql);
            for (sender_id, conversation_id, client_msg_id) in &keys {
                query = query.bind(*sender_id).bind(*conversation_id).bind(*client_msg_id);
            }
            let rows = query.fetch_all(&mut *tx).await?;
            found.earlier = complete(&mut tx, rows).await?;
        }
        let replies = members.reply_ids(batch);
        if !replies.is_empty() {
            let sql = format!("SELECT id, conversation_id FROM messages WHERE id IN ({})", vec!["?"; replies.len()].join(", "));
            let mut query = sqlx::query_as::<_, (String, String)>(&sql);
            for id in &replies {
                query = query.bind(*id);
            }
            found.replies = query.fetch_all(&mut *tx).await?;
        }
        let uploads = members.upload_ids(batch);
        if !uploads.is_empty() {
            let sql = format!(
                "SELECT a.uploader_id AS uploader_id, a.message_id IS NOT NULL AS sent, {ATTACHMENT_COLUMNS}
                   FROM attachments a WHERE a.id IN ({})",
                vec!["?"; uploads.len()].join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in &uploads {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *tx).await? {
                use sqlx::Row as _;
                found.uploads.push(Upload {
                    uploader_id: row.try_get("uploader_id")?,
                    sent: row.try_get("sent")?,
                    attachment: AttachmentColumns::from_row(&row)?.into(),
                });
            }
        }
        let plan = Plan::decide(batch, &members, found);

        let mut counters: Vec<(String, i64, i64)> = Vec::new();
        let increments = plan.increments();
        if !increments.is_empty() {
            // Every conversation's counters move by its number of new messages; they are taken
            // by this transaction, so they commit or vanish with the inserts.
            let sql = format!(
                "UPDATE conversations SET last_seq = last_seq + v.n, last_rev = last_rev + v.n, last_activity_at = ?
                   FROM (SELECT column1 AS cid, column2 AS n FROM (VALUES {})) AS v
                  WHERE conversations.id = v.cid
                 RETURNING id, last_seq, last_rev",
                placeholders(increments.len(), 2)
            );
            let mut query = sqlx::query_as::<_, (String, i64, i64)>(&sql).bind(now);
            for (conversation_id, n) in increments {
                query = query.bind(*conversation_id).bind(*n);
            }
            counters = query.fetch_all(&mut *tx).await?;
        }
        let numbered = plan.number(batch, counters, now)?;

        let new = numbered.new_messages();
        if !new.is_empty() {
            let sql = format!(
                "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at, kind, card, reply_to, rev) VALUES {}",
                placeholders(new.len(), 11)
            );
            let mut query = sqlx::query(&sql);
            for m in &new {
                let card = m.card.as_ref().map(|card| serde_json::to_string(card).expect("cards serialise"));
                query = query
                    .bind(&m.id)
                    .bind(&m.conversation_id)
                    .bind(m.seq)
                    .bind(&m.sender_id)
                    .bind(&m.client_msg_id)
                    .bind(&m.body)
                    .bind(now)
                    .bind(m.kind.as_str())
                    .bind(card)
                    .bind(&m.reply_to)
                    .bind(m.rev);
            }
            query.execute(&mut *tx).await?;

            let links = numbered.attachment_links();
            if !links.is_empty() {
                // `message_id IS NULL` again: the plan saw them unsent in this same transaction.
                let sql = format!(
                    "UPDATE attachments SET message_id = v.mid, position = v.pos
                       FROM (SELECT column1 AS aid, column2 AS mid, column3 AS pos FROM (VALUES {})) AS v
                      WHERE attachments.id = v.aid AND attachments.message_id IS NULL",
                    placeholders(links.len(), 3)
                );
                let mut query = sqlx::query(&sql);
                for (attachment_id, message_id, position) in &links {
                    query = query.bind(*attachment_id).bind(*message_id).bind(*position);
                }
                query.execute(&mut *tx).await?;
            }

            let receipts = numbered.sender_receipts();
            let sql = format!(
                "UPDATE members SET read_seq = MAX(read_seq, v.seq), delivered_seq = MAX(delivered_seq, v.seq)
                   FROM (SELECT column1 AS cid, column2 AS uid, column3 AS seq FROM (VALUES {})) AS v
                  WHERE members.conversation_id = v.cid AND members.user_id = v.uid",
                placeholders(receipts.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for ((conversation_id, sender_id), seq) in &receipts {
                query = query.bind(*conversation_id).bind(*sender_id).bind(*seq);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(numbered.into_results())
    }
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn insert_messages(&self, batch: &[NewMessage<'_>]) -> Vec<StoreResult<(Message, bool)>> {
        let mut results = Vec::with_capacity(batch.len());
        for chunk in batch.chunks(MAX_BATCH) {
            match self.insert_batch(chunk).await {
                Ok(stored) => results.extend(stored),
                Err(err) => {
                    // Something unexpected (not a refusal, not a resend) failed the whole
                    // transaction. Store the messages one by one so that only the culprit fails.
                    tracing::warn!(error = %err, size = chunk.len(), "group commit failed; storing its messages one by one");
                    for msg in chunk {
                        let alone = self.insert_batch(std::slice::from_ref(msg)).await;
                        results.push(alone.and_then(|mut one| one.pop().unwrap_or(Err(StoreError::NotFound))));
                    }
                }
            }
        }
        results
    }

    async fn messages(&self, user_id: &str, conversation_id: &str, page: Page, limit: u32) -> StoreResult<(Vec<Message>, bool)> {
        if !self.is_member(user_id, conversation_id).await? {
            return Err(StoreError::NotFound);
        }
        // One row more than asked tells whether more lies beyond the page.
        let fetch = i64::from(limit) + 1;
        let (filter, order, descending, bound) = match page {
            Page::Latest => ("", "m.seq DESC", true, 0),
            Page::After(seq) => ("AND m.seq > $2", "m.seq ASC", false, seq),
            Page::Before(seq) => ("AND m.seq < $2", "m.seq DESC", true, seq),
            Page::ChangedAfter(rev) => ("AND m.rev > $2", "m.rev ASC", false, rev),
        };
        let mut tx = self.snapshot().await?;
        let mut rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m
              WHERE m.conversation_id = $1 {filter} ORDER BY {order} LIMIT $3"
        ))
        .bind(conversation_id)
        .bind(bound)
        .bind(fetch)
        .fetch_all(&mut *tx)
        .await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        if descending {
            rows.reverse();
        }
        let messages = complete(&mut tx, rows).await?;
        tx.commit().await?;
        Ok((messages, has_more))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{store, user};
    use super::*;
    use crate::store::ConversationStore as _;

    fn msg<'a>(conversation_id: &'a str, sender_id: &'a str, client_msg_id: &'a str) -> NewMessage<'a> {
        NewMessage::text(conversation_id, sender_id, client_msg_id, client_msg_id)
    }

    #[tokio::test]
    async fn one_batch_keeps_seqs_gap_free_answers_resends_and_isolates_a_bad_message() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let (a, b, c) = (user(&store, "a").await, user(&store, "b").await, user(&store, "c").await);
        let ab = store.direct_conversation(&a, &b).await.unwrap().0.id;
        let group = store.create_group(&a, "g", &[b.clone(), c.clone()]).await.unwrap().id;
        let before = store.insert_messages(&[msg(&ab, &a, "early")]).await;
        let early = before[0].as_ref().unwrap().0.clone();
        assert_eq!(early.seq, 1);

        let batch = [
            msg(&ab, &b, "b1"),
            msg(&group, &a, "a1"),
            msg(&ab, &c, "c-intruder"), // c is not in the direct conversation of a and b
            msg(&ab, &a, "a2"),
            msg(&ab, &b, "b1"),     // resend inside the batch
            msg(&ab, &a, "early"),  // resend of a message stored by an earlier batch
            msg(&group, &c, "c1"),
            msg(&group, &a, "a1"),  // resend inside the batch, other conversation
        ];
        let results = store.insert_messages(&batch).await;
        assert_eq!(results.len(), batch.len(), "one answer per message, in order");
        let ok = |i: usize| results[i].as_ref().map(|(m, inserted)| (m.conversation_id.as_str(), m.seq, m.client_msg_id.as_str(), *inserted)).unwrap();
        assert_eq!(ok(0), (ab.as_str(), 2, "b1", true), "seq continues after the earlier batch");
        assert_eq!(ok(1), (group.as_str(), 1, "a1", true));
        assert!(matches!(results[2], Err(StoreError::NotFound)), "a non-member gets not_found");
        assert_eq!(ok(3), (ab.as_str(), 3, "a2", true), "the failure in between leaves no gap");
        assert_eq!(ok(4), (ab.as_str(), 2, "b1", false), "a resend inside the batch answers the first");
        assert_eq!(results[4].as_ref().unwrap().0.id, results[0].as_ref().unwrap().0.id);
        assert_eq!(results[5].as_ref().unwrap().0, early, "a resend of an earlier batch answers the stored message");
        assert!(!results[5].as_ref().unwrap().1);
        assert_eq!(ok(6), (group.as_str(), 2, "c1", true));
        assert_eq!(ok(7), (group.as_str(), 1, "a1", false));

        let (history, _) = store.messages(&a, &ab, Page::Latest, 50).await.unwrap();
        let seqs: Vec<(i64, &str)> = history.iter().map(|m| (m.seq, m.client_msg_id.as_str())).collect();
        assert_eq!(seqs, vec![(1, "early"), (2, "b1"), (3, "a2")], "stored once each, nothing of the intruder");
        let seen_by_b = store.conversation(&b, &ab).await.unwrap();
        assert_eq!(seen_by_b.last_seq, 3);
        assert_eq!(seen_by_b.unread_count, 1, "only a2 is unread for b: sending moved b's own read_seq to 2");
        let receipts = seen_by_b.members.iter().find(|m| m.user_id == b).map(|m| (m.read_seq, m.delivered_seq));
        assert_eq!(receipts, Some((2, 2)));
        assert_eq!(store.conversation(&c, &group).await.unwrap().last_seq, 2);
    }

    #[tokio::test]
    async fn a_batch_of_only_failures_and_resends_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let (a, b, c) = (user(&store, "a").await, user(&store, "b").await, user(&store, "c").await);
        let ab = store.direct_conversation(&a, &b).await.unwrap().0.id;
        store.insert_messages(&[msg(&ab, &a, "x")]).await[0].as_ref().unwrap();
        let results = store.insert_messages(&[msg(&ab, &c, "y"), msg(&ab, &a, "x"), msg("nope", &a, "z")]).await;
        assert!(matches!(results[0], Err(StoreError::NotFound)));
        assert!(matches!(&results[1], Ok((m, false)) if m.seq == 1));
        assert!(matches!(results[2], Err(StoreError::NotFound)), "no such conversation");
        assert_eq!(store.conversation(&a, &ab).await.unwrap().last_seq, 1);
    }
}
