//! Messages: the group commit of a batch, history pages, and the reading of whole messages
//! (with their attachments and reactions).
//!
//! A batch is one transaction of a fixed number of round trips whatever its size (every list
//! goes as an array and comes apart in `UNNEST`): lock the batch's conversations and read which
//! senders are members; read the earlier messages under the batch's client ids, the messages
//! replied to, and the uploads attached (locked, so that no other hub attaches or expires them
//! meanwhile); move every counter; insert every message and move the senders' receipts; link
//! the attachments. Writers on other hubs queue on the conversations' row locks, which are
//! taken in id order (and before any upload's) so that two batches never wait for each other
//! in a circle.

use async_trait::async_trait;
use rapport_protocol::{Attachment, Card, Message, MessageKind};
use sqlx::{Connection as _, FromRow, PgConnection};

use super::{lost_a_race, snapshot, PostgresStore};
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
    /// The `jsonb` column as text (`card::text`), parsed here.
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
pub(super) const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.body, m.created_at, \
     m.kind, m.card::text AS card, m.reply_to, m.edited_at, m.deleted_at, m.rev";

#[derive(FromRow)]
pub(super) struct AttachmentColumns {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
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

/// Messages stored per transaction at most: bounds how long one transaction holds its locks.
const MAX_BATCH: usize = 1024;

/// Times a batch is tried again at once after losing a race to another hub (a deadlock, or a
/// resend stored by another hub between our read and our insert) before it falls back to
/// storing its messages one by one.
const RACE_ATTEMPTS: usize = 3;

/// Whole messages from their rows: the attachments and the reactions of all of them read in
/// two queries.
pub(super) async fn complete(conn: &mut PgConnection, rows: Vec<MessageRow>) -> StoreResult<Vec<Message>> {
    let mut messages: Vec<Message> = rows.into_iter().map(Into::into).collect();
    let wanted = parts::wanted(&messages);
    if wanted.is_empty() {
        return Ok(messages);
    }
    let mut attachments: Vec<AttachmentRow> = Vec::new();
    let files = sqlx::query(&format!(
        "SELECT a.message_id AS message_id, {ATTACHMENT_COLUMNS} FROM attachments a
          WHERE a.message_id = ANY($1) ORDER BY a.message_id, a.position"
    ))
    .bind(&wanted)
    .fetch_all(&mut *conn)
    .await?;
    for row in files {
        use sqlx::Row as _;
        let message_id: String = row.try_get("message_id")?;
        attachments.push((message_id, AttachmentColumns::from_row(&row)?.into()));
    }
    let reactions: Vec<ReactionRow> =
        sqlx::query_as("SELECT message_id, emoji, user_id FROM reactions WHERE message_id = ANY($1) ORDER BY added_rev")
            .bind(&wanted)
            .fetch_all(&mut *conn)
            .await?;
    parts::assemble(&mut messages, attachments, reactions);
    Ok(messages)
}

/// One whole message of a conversation, if there is one with this id.
pub(super) async fn message_in(conn: &mut PgConnection, conversation_id: &str, message_id: &str) -> StoreResult<Option<Message>> {
    let rows: Vec<MessageRow> =
        sqlx::query_as(&format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = $1 AND m.conversation_id = $2"))
            .bind(message_id)
            .bind(conversation_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(complete(conn, rows).await?.pop())
}

/// What storing a batch came to, short of a database failure.
enum BatchAttempt {
    /// Committed: one answer per message.
    Committed(Vec<StoreResult<(Message, bool)>>),
    /// Another hub stored one of the batch's client ids after we looked for it; nothing was
    /// kept, and looking again finds it.
    Raced,
}

impl PostgresStore {
    /// Stores a batch in one transaction, as [`batch`] plans it. Any failure other than the
    /// plan's refusals fails the whole batch.
    async fn insert_batch(&self, batch: &[NewMessage<'_>]) -> StoreResult<BatchAttempt> {
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

        let mut found = Found::default();
        let keys = members.resend_keys(batch);
        if !keys.is_empty() {
            let key_senders: Vec<&str> = keys.iter().map(|k| k.0).collect();
            let key_conversations: Vec<&str> = keys.iter().map(|k| k.1).collect();
            let key_ids: Vec<&str> = keys.iter().map(|k| k.2).collect();
            let rows: Vec<MessageRow> = sqlx::query_as(&format!(
                "SELECT {MESSAGE_COLUMNS}
                   FROM UNNEST($1::text[], $2::text[], $3::text[]) AS v(sender_id, conversation_id, client_msg_id)
                   JOIN messages m ON m.sender_id = v.sender_id AND m.conversation_id = v.conversation_id
                                  AND m.client_msg_id = v.client_msg_id"
            ))
            .bind(&key_senders)
            .bind(&key_conversations)
            .bind(&key_ids)
            .fetch_all(&mut *tx)
            .await?;
            found.earlier = complete(&mut tx, rows).await?;
        }
        let replies = members.reply_ids(batch);
        if !replies.is_empty() {
            found.replies = sqlx::query_as("SELECT id, conversation_id FROM messages WHERE id = ANY($1)")
                .bind(&replies)
                .fetch_all(&mut *tx)
                .await?;
        }
        let uploads = members.upload_ids(batch);
        if !uploads.is_empty() {
            // Locked (after the conversations, in id order): another hub's batch that attaches
            // the same upload, or its housekeeping expiring it, waits for this transaction and
            // then sees what it did.
            let rows = sqlx::query(&format!(
                "SELECT a.uploader_id AS uploader_id, a.message_id IS NOT NULL AS sent, {ATTACHMENT_COLUMNS}
                   FROM attachments a WHERE a.id = ANY($1) ORDER BY a.id FOR UPDATE"
            ))
            .bind(&uploads)
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
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
            // Every conversation's counters move by its number of new messages, under the locks
            // taken above; they commit or vanish with the inserts.
            let (ids, counts): (Vec<&str>, Vec<i64>) = increments.iter().copied().unzip();
            counters = sqlx::query_as(
                "UPDATE conversations c SET last_seq = c.last_seq + v.n, last_rev = c.last_rev + v.n, last_activity_at = $3
                   FROM UNNEST($1::text[], $2::bigint[]) AS v(id, n)
                  WHERE c.id = v.id
                 RETURNING c.id, c.last_seq, c.last_rev",
            )
            .bind(&ids)
            .bind(&counts)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        }
        let numbered = plan.number(batch, counters, now)?;

        let new = numbered.new_messages();
        if !new.is_empty() {
            let receipts = numbered.sender_receipts();
            let (receipt_pairs, receipt_seqs): (Vec<(&str, &str)>, Vec<i64>) = receipts.into_iter().unzip();
            let (receipt_conversations, receipt_users): (Vec<&str>, Vec<&str>) = receipt_pairs.into_iter().unzip();
            let cards: Vec<Option<String>> =
                new.iter().map(|m| m.card.as_ref().map(|card| serde_json::to_string(card).expect("cards serialise"))).collect();
            // A resend is looked up under its conversation's lock, so another hub cannot commit
            // one in between; should any unique key conflict all the same, the insert skips it
            // instead of failing the statement, `inserted` falls short and the batch is tried
            // again (it then finds what conflicted).
            let inserted: i64 = sqlx::query_scalar(
                "WITH inserted AS (
                     INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at, kind, card, reply_to, rev)
                     SELECT v.id, v.conversation_id, v.seq, v.sender_id, v.client_msg_id, v.body, $7, v.kind, v.card::jsonb, v.reply_to, v.rev
                       FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                                   $11::text[], $12::text[], $13::text[], $14::bigint[])
                         AS v(id, conversation_id, seq, sender_id, client_msg_id, body, kind, card, reply_to, rev)
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
            .bind(new.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>())
            .bind(&cards)
            .bind(new.iter().map(|m| m.reply_to.as_deref()).collect::<Vec<_>>())
            .bind(new.iter().map(|m| m.rev).collect::<Vec<_>>())
            .fetch_one(&mut *tx)
            .await?;
            if inserted != new.len() as i64 {
                tx.rollback().await?;
                return Ok(BatchAttempt::Raced);
            }

            let links = numbered.attachment_links();
            if !links.is_empty() {
                // The uploads are locked by this transaction and were unsent when it read them.
                sqlx::query(
                    "UPDATE attachments a SET message_id = l.message_id, position = l.position
                       FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS l(id, message_id, position)
                      WHERE a.id = l.id AND a.message_id IS NULL",
                )
                .bind(links.iter().map(|l| l.0).collect::<Vec<_>>())
                .bind(links.iter().map(|l| l.1).collect::<Vec<_>>())
                .bind(links.iter().map(|l| l.2).collect::<Vec<_>>())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(BatchAttempt::Committed(numbered.into_results()))
    }

    /// One chunk: the batch, tried again when it lost a race; when the database is away every
    /// message gets that answer at once; any other failure falls back to one by one (each
    /// message a batch of its own), so that only the culprit fails.
    async fn insert_chunk(&self, chunk: &[NewMessage<'_>]) -> Vec<StoreResult<(Message, bool)>> {
        match self.insert_retrying(chunk).await {
            Ok(results) => return results,
            Err(StoreError::Unavailable(err)) => {
                // Retrying message by message would wait for the pool once per message.
                tracing::warn!(error = %err, size = chunk.len(), "group commit failed: the database is unavailable");
                return chunk.iter().map(|_| Err(StoreError::Unavailable(err.clone()))).collect();
            }
            Err(err) if chunk.len() == 1 => return vec![Err(err)],
            Err(err) => tracing::warn!(error = %err, size = chunk.len(), "group commit failed; storing its messages one by one"),
        }
        let mut results: Vec<StoreResult<(Message, bool)>> = Vec::with_capacity(chunk.len());
        for msg in chunk {
            let result = match results.last() {
                // The database went away meanwhile: the rest would each wait for the pool.
                Some(Err(StoreError::Unavailable(err))) => Err(StoreError::Unavailable(err.clone())),
                _ => self
                    .insert_retrying(std::slice::from_ref(msg))
                    .await
                    .and_then(|mut one| one.pop().unwrap_or(Err(StoreError::NotFound))),
            };
            results.push(result);
        }
        results
    }

    /// [`Self::insert_batch`], tried again at once when it lost a race to another hub.
    async fn insert_retrying(&self, batch: &[NewMessage<'_>]) -> StoreResult<Vec<StoreResult<(Message, bool)>>> {
        let mut attempt = 1;
        loop {
            match self.insert_batch(batch).await {
                Ok(BatchAttempt::Committed(results)) => return Ok(results),
                Ok(BatchAttempt::Raced) if attempt < RACE_ATTEMPTS => tracing::debug!(attempt, "a resend raced another hub; trying the batch again"),
                Err(err) if attempt < RACE_ATTEMPTS && lost_a_race(&err) => {
                    tracing::debug!(attempt, error = %err, "the batch lost a race; trying it again")
                }
                Ok(BatchAttempt::Raced) => return Err(StoreError::Database(sqlx::Error::Protocol("a resend kept racing another hub".into()))),
                Err(err) => return Err(err),
            }
            attempt += 1;
        }
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
        // One row more than asked tells whether more lies beyond the page.
        let fetch = i64::from(limit) + 1;
        let (filter, order, descending, bound) = match page {
            Page::Latest => ("", "m.seq DESC", true, None),
            Page::After(seq) => ("AND m.seq > $3", "m.seq ASC", false, Some(seq)),
            Page::Before(seq) => ("AND m.seq < $3", "m.seq DESC", true, Some(seq)),
            Page::ChangedAfter(rev) => ("AND m.rev > $3", "m.rev ASC", false, Some(rev)),
        };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m
              WHERE m.conversation_id = $1 {filter} ORDER BY {order} LIMIT $2"
        );
        let mut query = sqlx::query_as::<_, MessageRow>(&sql).bind(conversation_id).bind(fetch);
        if let Some(bound) = bound {
            query = query.bind(bound);
        }
        let mut tx = snapshot(&mut conn).await?;
        let mut rows = query.fetch_all(&mut *tx).await?;
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

    /// Two hubs attach one upload at once, each in a message of its own, while a third expires
    /// unsent uploads: the upload ends up carried by exactly one message, or removed and
    /// carried by none — never both, never two.
    #[tokio::test]
    async fn an_upload_raced_for_by_two_stores_and_the_housekeeping_is_carried_once_or_not_at_all() {
        use crate::store::{AttachmentStore as _, NewUpload, Refusal};
        let Some((one, database)) = store("an_upload_raced_for_by_two_stores_and_the_housekeeping_is_carried_once_or_not_at_all").await else { return };
        let mut config = Config::new(std::env::temp_dir());
        config.database_url = database.url().to_owned();
        let two = PostgresStore::open(&config, Histogram::new([1.0])).await.unwrap();
        let (a, b) = (user(&one, "a").await, user(&one, "b").await);
        let ab = one.direct_conversation(&a, &b).await.unwrap().0.id;
        let (mut carried, mut expired) = (0, 0);
        for round in 0..20 {
            let id = format!("upload{round}");
            let upload = NewUpload { id: &id, uploader_id: &a, filename: "cv.pdf", content_type: "application/pdf", size: 3, sha256: "00", dimensions: None };
            one.create_upload(upload).await.unwrap();
            let files = [id.clone()];
            let (k1, k2) = (format!("one{round}"), format!("two{round}"));
            let via_one = [NewMessage { attachment_ids: &files, ..msg(&ab, &a, &k1) }];
            let via_two = [NewMessage { attachment_ids: &files, ..msg(&ab, &a, &k2) }];
            // Every other round the housekeeping joins in, with a cut-off that takes the upload.
            let expire = async {
                if round % 2 == 1 {
                    two.remove_unsent_uploads(now_ms() + 1000).await.unwrap()
                } else {
                    Vec::new()
                }
            };
            let (r1, r2, removed) = tokio::join!(one.insert_messages(&via_one), two.insert_messages(&via_two), expire);
            let outcomes: Vec<Option<Message>> = [&r1[0], &r2[0]]
                .into_iter()
                .map(|r| match r {
                    Ok((m, true)) => Some(m.clone()),
                    Err(StoreError::Refused(Refusal::AttachmentUnavailable)) => None,
                    other => panic!("stored or refused, nothing else: {other:?}"),
                })
                .collect();
            let winners: Vec<&Message> = outcomes.iter().flatten().collect();
            let row: Option<Option<String>> = sqlx::query_scalar("SELECT message_id FROM attachments WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut *one.conn().await.unwrap())
                .await
                .unwrap();
            match (winners.as_slice(), removed.is_empty()) {
                ([winner], true) => {
                    assert_eq!(winner.attachments.len(), 1, "the winner shows the file");
                    assert_eq!(row, Some(Some(winner.id.clone())), "and the row says it carries it");
                    carried += 1;
                }
                ([], false) => {
                    assert_eq!(row, None, "expired: no row, and no message shows it");
                    expired += 1;
                }
                other => panic!("round {round}: the upload is carried once or removed, not {other:?} (removed {removed:?})"),
            }
        }
        assert!(carried >= 10, "every round without housekeeping carries it: {carried} carried, {expired} expired");
        two.close().await;
        one.close().await;
    }
}
