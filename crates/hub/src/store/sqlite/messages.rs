//! Messages: the group commit of a batch, its one-by-one fallback, and history pages.

use async_trait::async_trait;
use rapport_protocol::Message;
use sqlx::FromRow;

use super::{placeholders, SqliteStore};
use crate::clock::{new_id, now_ms, rfc3339};
use crate::store::batch::{self, Members, Plan};
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
            ..Message::default()
        }
    }
}

/// The columns of a [`MessageRow`], in order.
const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, sender_id, client_msg_id, body, created_at";

/// Messages stored per transaction at most; keeps every statement well under SQLite's limit
/// of bound parameters (7 per message in the insert).
const MAX_BATCH: usize = 1024;

impl SqliteStore {
    /// The message this sender already sent with this id, if any.
    async fn message_by_client_id(&self, sender_id: &str, client_msg_id: &str) -> StoreResult<Option<Message>> {
        let row: Option<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = $1 AND client_msg_id = $2"
        ))
        .bind(sender_id)
        .bind(client_msg_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(Into::into))
    }

    /// Stores one message in its own transaction: the fallback when a batch failed.
    async fn insert_one(&self, msg: &NewMessage<'_>) -> StoreResult<(Message, bool)> {
        let now = now_ms();
        let id = new_id();
        let mut tx = self.write.begin().await?;
        // The seq is taken by the same transaction that inserts the message: if the insert
        // does not commit, neither does the seq, so the sequence has no gaps.
        let seq: Option<i64> = sqlx::query_scalar(
            "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = $3
              WHERE id = $1
                AND EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2)
             RETURNING last_seq",
        )
        .bind(msg.conversation_id)
        .bind(msg.sender_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(seq) = seq else { return Err(StoreError::NotFound) };
        let inserted = sqlx::query(
            "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (sender_id, client_msg_id) DO NOTHING",
        )
        .bind(&id)
        .bind(msg.conversation_id)
        .bind(seq)
        .bind(msg.sender_id)
        .bind(msg.client_msg_id)
        .bind(msg.body)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            // A concurrent resend won; give back the seq and answer with the stored message.
            tx.rollback().await?;
            let existing = self.message_by_client_id(msg.sender_id, msg.client_msg_id).await?;
            return existing.map(|m| (m, false)).ok_or(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE members SET read_seq = MAX(read_seq, $3), delivered_seq = MAX(delivered_seq, $3)
              WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(msg.conversation_id)
        .bind(msg.sender_id)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((
            Message {
                id,
                conversation_id: msg.conversation_id.to_owned(),
                seq,
                sender_id: msg.sender_id.to_owned(),
                body: msg.body.to_owned(),
                client_msg_id: msg.client_msg_id.to_owned(),
                created_at: rfc3339(now),
                ..Message::default()
            },
            true,
        ))
    }
    /// Stores a batch in one transaction with a fixed number of statements, whatever its size,
    /// as [`batch`] plans it: membership, earlier messages with the same client ids, the seqs
    /// of every conversation at once, every insert at once, the senders' receipts at once. Any
    /// failure other than membership and resends fails the whole batch (the caller then
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

        let keys = members.resend_keys(batch);
        let mut earlier: Vec<Message> = Vec::new();
        if !keys.is_empty() {
            let sql = format!(
                "SELECT m.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.body, m.created_at
                   FROM (SELECT column1 AS s, column2 AS k FROM (VALUES {})) AS v
                   JOIN messages m ON m.sender_id = v.s AND m.client_msg_id = v.k",
                placeholders(keys.len(), 2)
            );
            let mut query = sqlx::query_as::<_, MessageRow>(&sql);
            for (sender_id, client_msg_id) in &keys {
                query = query.bind(*sender_id).bind(*client_msg_id);
            }
            earlier = query.fetch_all(&mut *tx).await?.into_iter().map(Into::into).collect();
        }
        let plan = Plan::decide(batch, &members, earlier);

        let mut last_seqs: Vec<(String, i64)> = Vec::new();
        let increments = plan.seq_increments();
        if !increments.is_empty() {
            // Every conversation's counter moves by its number of new messages; the seqs are
            // taken by this transaction, so they commit or vanish with the inserts.
            let sql = format!(
                "UPDATE conversations SET last_seq = last_seq + v.n, last_activity_at = ?
                   FROM (SELECT column1 AS cid, column2 AS n FROM (VALUES {})) AS v
                  WHERE conversations.id = v.cid
                 RETURNING id, last_seq",
                placeholders(increments.len(), 2)
            );
            let mut query = sqlx::query_as::<_, (String, i64)>(&sql).bind(now);
            for (conversation_id, n) in increments {
                query = query.bind(*conversation_id).bind(*n);
            }
            last_seqs = query.fetch_all(&mut *tx).await?;
        }
        let numbered = plan.number(batch, last_seqs, now)?;

        let new = numbered.new_messages();
        if !new.is_empty() {
            let sql = format!(
                "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at) VALUES {}",
                placeholders(new.len(), 7)
            );
            let mut query = sqlx::query(&sql);
            for m in &new {
                query = query
                    .bind(&m.id)
                    .bind(&m.conversation_id)
                    .bind(m.seq)
                    .bind(&m.sender_id)
                    .bind(&m.client_msg_id)
                    .bind(&m.body)
                    .bind(now);
            }
            query.execute(&mut *tx).await?;

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
                    // Something unexpected (not membership, not a resend) failed the whole
                    // transaction. Store the messages one by one so that only the culprit fails.
                    tracing::warn!(error = %err, size = chunk.len(), "group commit failed; storing its messages one by one");
                    for msg in chunk {
                        results.push(self.insert_one(msg).await);
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
        // One row more than asked tells whether more lie beyond the page.
        let fetch = i64::from(limit) + 1;
        let (filter, descending, bound) = match page {
            Page::Latest => ("", true, 0),
            Page::After(seq) => ("AND seq > $2", false, seq),
            Page::Before(seq) => ("AND seq < $2", true, seq),
        };
        let order = if descending { "DESC" } else { "ASC" };
        let mut rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
              WHERE conversation_id = $1 {filter} ORDER BY seq {order} LIMIT $3"
        ))
        .bind(conversation_id)
        .bind(bound)
        .bind(fetch)
        .fetch_all(&self.read)
        .await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        if descending {
            rows.reverse();
        }
        Ok((rows.into_iter().map(Into::into).collect(), has_more))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{store, user};
    use super::*;
    use crate::store::ConversationStore as _;

    fn msg<'a>(conversation_id: &'a str, sender_id: &'a str, client_msg_id: &'a str) -> NewMessage<'a> {
        NewMessage { conversation_id, sender_id, client_msg_id, body: client_msg_id }
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
