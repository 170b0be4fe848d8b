//! Messages: the group commit of a batch, its one-by-one fallback, and history pages.
//!
//! A batch is one transaction of a fixed number of round trips whatever its size (every list
//! goes as an array and comes apart in `UNNEST`): lock the batch's conversations and read which
//! senders are members; read the earlier messages under the batch's client ids; move every
//! counter; insert every message and move the senders' receipts. Writers on other hubs queue on
//! the conversations' row locks, which are taken in id order so that two batches never wait for
//! each other in a circle.

use async_trait::async_trait;
use rapport_protocol::Message;
use sqlx::{Connection as _, FromRow};

use super::{lost_a_race, PostgresStore};
use crate::clock::{new_id, now_ms, rfc3339};
use crate::store::batch::{self, Found, Members, Plan};
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

/// Messages stored per transaction at most: bounds how long one transaction holds its locks.
const MAX_BATCH: usize = 1024;

/// Times a batch is tried again at once after losing a race to another hub (a deadlock, or a
/// resend stored by another hub between our read and our insert) before it falls back to
/// storing its messages one by one.
const RACE_ATTEMPTS: usize = 3;

/// What storing a batch came to, short of a database failure.
enum Outcome {
    /// Committed: one answer per message.
    Committed(Vec<StoreResult<(Message, bool)>>),
    /// Another hub stored one of the batch's client ids after we looked for it; nothing was
    /// kept, and looking again finds it.
    Raced,
}

impl PostgresStore {
    /// Stores one message in its own transaction: the fallback when a batch failed.
    async fn insert_one(&self, msg: &NewMessage<'_>) -> StoreResult<(Message, bool)> {
        let now = now_ms();
        let id = new_id();
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        // The seq is taken under the conversation's row lock by the transaction that inserts
        // the message: if the insert does not commit, neither does the seq.
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
             ON CONFLICT DO NOTHING",
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
            // A resend, stored before (maybe by another hub): give back the seq and answer
            // with the stored message.
            tx.rollback().await?;
            let existing: Option<MessageRow> = sqlx::query_as(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                  WHERE sender_id = $1 AND conversation_id = $2 AND client_msg_id = $3"
            ))
            .bind(msg.sender_id)
            .bind(msg.conversation_id)
            .bind(msg.client_msg_id)
            .fetch_optional(&mut *conn)
            .await?;
            return existing.map(|m| (m.into(), false)).ok_or(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE members SET read_seq = GREATEST(read_seq, $3), delivered_seq = GREATEST(delivered_seq, $3)
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

    /// Stores a batch in one transaction, as [`batch`] plans it. Any failure other than
    /// membership and resends fails the whole batch.
    async fn insert_batch(&self, batch: &[NewMessage<'_>]) -> StoreResult<Outcome> {
        let now = now_ms();
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;

        // Membership, and the lock on every conversation the batch will write to. Locked in id
        // order (ORDER BY applies before the lock), so that batches of different hubs that share
        // conversations queue instead of deadlocking. Whatever committed in these conversations
        // before we got the locks is visible to the statements that follow.
        let pairs = batch::memberships(batch);
        let (conversation_ids, sender_ids): (Vec<&str>, Vec<&str>) = pairs.iter().copied().unzip();
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.conversation_id, m.user_id
               FROM UNNEST($1::text[], $2::text[]) AS v(conversation_id, user_id)
               JOIN members m ON m.conversation_id = v.conversation_id AND m.user_id = v.user_id
               JOIN conversations c ON c.id = m.conversation_id
              ORDER BY c.id
                FOR UPDATE OF c",
        )
        .bind(&conversation_ids)
        .bind(&sender_ids)
        .fetch_all(&mut *tx)
        .await?;
        let members = Members::new(&pairs, found);

        let keys = members.resend_keys(batch);
        let mut earlier: Vec<Message> = Vec::new();
        if !keys.is_empty() {
            let key_senders: Vec<&str> = keys.iter().map(|k| k.0).collect();
            let key_conversations: Vec<&str> = keys.iter().map(|k| k.1).collect();
            let key_ids: Vec<&str> = keys.iter().map(|k| k.2).collect();
            let rows: Vec<MessageRow> = sqlx::query_as(
                "SELECT m.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.body, m.created_at
                   FROM UNNEST($1::text[], $2::text[], $3::text[]) AS v(sender_id, conversation_id, client_msg_id)
                   JOIN messages m ON m.sender_id = v.sender_id AND m.conversation_id = v.conversation_id
                                  AND m.client_msg_id = v.client_msg_id",
            )
            .bind(&key_senders)
            .bind(&key_conversations)
            .bind(&key_ids)
            .fetch_all(&mut *tx)
            .await?;
            earlier = rows.into_iter().map(Into::into).collect();
        }
        let plan = Plan::decide(batch, &members, Found { earlier, ..Found::default() });

        let mut last_seqs: Vec<(String, i64, i64)> = Vec::new();
        let increments = plan.increments();
        if !increments.is_empty() {
            let (ids, counts): (Vec<&str>, Vec<i64>) = increments.iter().copied().unzip();
            last_seqs = sqlx::query_as(
                "UPDATE conversations c SET last_seq = c.last_seq + v.n, last_activity_at = $3
                   FROM UNNEST($1::text[], $2::bigint[]) AS v(id, n)
                  WHERE c.id = v.id
                 RETURNING c.id, c.last_seq, c.last_seq",
            )
            .bind(&ids)
            .bind(&counts)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        }
        let numbered = plan.number(batch, last_seqs, now)?;

        let new = numbered.new_messages();
        if !new.is_empty() {
            let receipts = numbered.sender_receipts();
            let (receipt_pairs, receipt_seqs): (Vec<(&str, &str)>, Vec<i64>) = receipts.into_iter().unzip();
            let (receipt_conversations, receipt_users): (Vec<&str>, Vec<&str>) = receipt_pairs.into_iter().unzip();
            // A resend is looked up under its conversation's lock, so another hub cannot commit
            // one in between; should any unique key conflict all the same, the insert skips it
            // instead of failing the statement, `inserted` falls short and the batch is tried
            // again (it then finds what conflicted).
            let inserted: i64 = sqlx::query_scalar(
                "WITH inserted AS (
                     INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
                     SELECT v.*, $7 FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
                         AS v(id, conversation_id, seq, sender_id, client_msg_id, body)
                     ON CONFLICT DO NOTHING
                     RETURNING 1
                 ), receipts AS (
                     UPDATE members mm
                        SET read_seq = GREATEST(mm.read_seq, r.seq), delivered_seq = GREATEST(mm.delivered_seq, r.seq)
                       FROM UNNEST($8::text[], $9::text[], $10::bigint[]) AS r(conversation_id, user_id, seq)
                      WHERE mm.conversation_id = r.conversation_id AND mm.user_id = r.user_id
                 )
                 SELECT COUNT(*) FROM inserted",
            )
            .bind(new.iter().map(|m| m.id.as_str()).collect::<Vec<_>>())
            .bind(new.iter().map(|m| m.conversation_id.as_str()).collect::<Vec<_>>())
            .bind(new.iter().map(|m| m.seq).collect::<Vec<_>>())
            .bind(new.iter().map(|m| m.sender_id.as_str()).collect::<Vec<_>>())
            .bind(new.iter().map(|m| m.client_msg_id.as_str()).collect::<Vec<_>>())
            .bind(new.iter().map(|m| m.body.as_str()).collect::<Vec<_>>())
            .bind(now)
            .bind(&receipt_conversations)
            .bind(&receipt_users)
            .bind(&receipt_seqs)
            .fetch_one(&mut *tx)
            .await?;
            if inserted != new.len() as i64 {
                tx.rollback().await?;
                return Ok(Outcome::Raced);
            }
        }
        tx.commit().await?;
        Ok(Outcome::Committed(numbered.into_results()))
    }

    /// One chunk: the batch, tried again when it lost a race; when the database is away every
    /// message gets that answer at once; any other failure falls back to one by one, so that
    /// only the culprit fails.
    async fn insert_chunk(&self, chunk: &[NewMessage<'_>]) -> Vec<StoreResult<(Message, bool)>> {
        for attempt in 1..=RACE_ATTEMPTS {
            match self.insert_batch(chunk).await {
                Ok(Outcome::Committed(results)) => return results,
                Ok(Outcome::Raced) => tracing::debug!(attempt, "a resend raced another hub; trying the batch again"),
                Err(err) if lost_a_race(&err) => tracing::debug!(attempt, error = %err, "the batch lost a race; trying it again"),
                Err(StoreError::Unavailable(err)) => {
                    // Retrying message by message would wait for the pool once per message.
                    tracing::warn!(error = %err, size = chunk.len(), "group commit failed: the database is unavailable");
                    return chunk.iter().map(|_| Err(StoreError::Unavailable(err.clone()))).collect();
                }
                Err(err) => {
                    tracing::warn!(error = %err, size = chunk.len(), "group commit failed; storing its messages one by one");
                    break;
                }
            }
        }
        let mut results = Vec::with_capacity(chunk.len());
        for msg in chunk {
            let result = match results.last() {
                // The database went away meanwhile: the rest would each wait for the pool.
                Some(Err(StoreError::Unavailable(err))) => Err(StoreError::Unavailable(err.clone())),
                _ => self.insert_one(msg).await,
            };
            results.push(result);
        }
        results
    }
}

#[async_trait]
impl MessageStore for PostgresStore {
    async fn insert_messages(&self, batch: &[NewMessage<'_>]) -> Vec<StoreResult<(Message, bool)>> {
        let mut results = Vec::with_capacity(batch.len());
        for chunk in batch.chunks(MAX_BATCH) {
            results.extend(self.insert_chunk(chunk).await);
        }
        results
    }

    async fn messages(&self, user_id: &str, conversation_id: &str, page: Page, limit: u32) -> StoreResult<(Vec<Message>, bool)> {
        let mut conn = self.conn().await?;
        if !Self::is_member(&mut conn, user_id, conversation_id).await? {
            return Err(StoreError::NotFound);
        }
        // One row more than asked tells whether more lie beyond the page.
        let fetch = i64::from(limit) + 1;
        let (filter, descending, bound) = match page {
            Page::Latest => ("", true, None),
            Page::After(seq) => ("AND seq > $3", false, Some(seq)),
            Page::Before(seq) => ("AND seq < $3", true, Some(seq)),
            Page::ChangedAfter(_) => return Err(super::without_1_1()),
        };
        let order = if descending { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
              WHERE conversation_id = $1 {filter} ORDER BY seq {order} LIMIT $2"
        );
        let mut query = sqlx::query_as::<_, MessageRow>(&sql).bind(conversation_id).bind(fetch);
        if let Some(seq) = bound {
            query = query.bind(seq);
        }
        let mut rows = query.fetch_all(&mut *conn).await?;
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
    use crate::config::Config;
    use crate::store::{ConversationStore as _, NewMessage, Store as _};
    use prometheus_client::metrics::histogram::Histogram;

    fn msg<'a>(conversation_id: &'a str, sender_id: &'a str, client_msg_id: &'a str) -> NewMessage<'a> {
        NewMessage::text(conversation_id, sender_id, client_msg_id, client_msg_id)
    }

    /// Two stores on one database are two hubs: their batches cross the same conversations in
    /// opposite orders (a deadlock if locks were taken in batch order) and send one client id in
    /// one conversation from both at once (a resend racing itself). The same client id in
    /// another conversation is another message.
    #[tokio::test]
    async fn two_stores_on_one_database_neither_deadlock_nor_store_a_resend_twice() {
        let Some((one, database)) = store("two_stores_on_one_database_neither_deadlock_nor_store_a_resend_twice").await else { return };
        let mut config = Config::new(std::env::temp_dir());
        config.database_url = database.url().to_owned();
        let two = PostgresStore::open(&config, Histogram::new([1.0])).await.unwrap();
        let (a, b) = (user(&one, "a").await, user(&one, "b").await);
        let c1 = one.create_group(&a, "one", std::slice::from_ref(&b)).await.unwrap().id;
        let c2 = one.create_group(&a, "two", std::slice::from_ref(&b)).await.unwrap().id;
        const ROUNDS: usize = 30;
        for round in 0..ROUNDS {
            let key = |name: &str| format!("{name}{round}");
            let (x1, x2, y1, y2, shared) = (key("x1"), key("x2"), key("y1"), key("y2"), key("shared"));
            let forward = [msg(&c1, &b, &x1), msg(&c2, &b, &x2)];
            let backward = [msg(&c2, &b, &y1), msg(&c1, &b, &y2)];
            let (via_one, via_two) = ([msg(&c1, &a, &shared)], [msg(&c1, &a, &shared)]);
            let elsewhere = [msg(&c2, &a, &shared)];
            let (forward, backward, via_one, via_two, elsewhere) = tokio::join!(
                one.insert_messages(&forward),
                two.insert_messages(&backward),
                one.insert_messages(&via_one),
                two.insert_messages(&via_two),
                two.insert_messages(&elsewhere),
            );
            assert!(matches!(&elsewhere[0], Ok((m, true)) if m.conversation_id == c2), "another conversation, another message: {elsewhere:?}");
            for answer in forward.iter().chain(&backward) {
                assert!(matches!(answer, Ok((_, true))), "crossing batches are both stored: {answer:?}");
            }
            let shared: Vec<(Message, bool)> = via_one.into_iter().chain(via_two).map(|r| r.expect("answered")).collect();
            assert_eq!(shared[0].0, shared[1].0, "both hubs answer with the one stored message");
            assert_eq!(shared.iter().filter(|(_, new)| *new).count(), 1, "exactly one hub stored it");
        }
        for conversation in [&c1, &c2] {
            let (history, _) = one.messages(&a, conversation, Page::Latest, 1000).await.unwrap();
            let seqs: Vec<i64> = history.iter().map(|m| m.seq).collect();
            assert_eq!(seqs, (1..=history.len() as i64).collect::<Vec<_>>(), "gap-free in every conversation");
            assert_eq!(one.conversation(&a, conversation).await.unwrap().last_seq, history.len() as i64, "no seq was taken without its message");
        }
        two.close().await;
        one.close().await;
        // Closed first: a backend reports its statistics when it ends at the latest.
        let mut conn = sqlx::PgConnection::connect(database.url()).await.unwrap();
        let deadlocks: i64 = sqlx::query_scalar("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(deadlocks, 0, "locks are taken in one order, so PostgreSQL never had to break a deadlock");
    }
}
