//! The embedded default: SQLite in WAL mode.
//!
//! Every write transaction starts with a write statement, so SQLite takes its write lock first
//! and waits on `busy_timeout` instead of failing with a lock upgrade error.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use rapport_protocol::{
    Conversation, ConversationKind, Member, Message, Notification, NotificationKind, Role, User,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

use super::{NewMessage, NewUser, Page, ReadySnapshot, Receipts, RefreshUse, Store, StoreError, StoreResult};
use crate::clock::{new_id, now_ms, rfc3339};

/// SQLite-backed [`Store`].
///
/// Writes go through one connection: SQLite admits one writer at a time anyway, and queueing
/// in the pool is fair and sleep-free, where several writers would spin in `busy_timeout`.
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) and migrates the database at `url` (`sqlite://PATH`).
    pub async fn open(url: &str) -> anyhow::Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives the process being killed; only an OS crash
            // or power loss can take back the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        // No test query before each use: a SQLite connection cannot go stale, and the test
        // would double the round trips to the connection's worker thread.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore { read, write })
    }
}

#[derive(FromRow)]
struct UserRow {
    id: String,
    email: String,
    display_name: String,
    role: String,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            id: row.id,
            display_name: row.display_name,
            role: Role::parse(&row.role).unwrap_or(Role::Candidate),
            email: row.email,
        }
    }
}

#[derive(FromRow)]
struct MessageRow {
    id: String,
    conversation_id: String,
    seq: i64,
    sender_id: String,
    client_msg_id: String,
    body: String,
    created_at: i64,
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
        }
    }
}

#[derive(FromRow)]
struct ConversationRow {
    id: String,
    kind: String,
    title: Option<String>,
    last_seq: i64,
    created_at: i64,
    unread: i64,
}

#[derive(FromRow)]
struct MemberRow {
    conversation_id: String,
    user_id: String,
    display_name: String,
    role: String,
    read_seq: i64,
    delivered_seq: i64,
}

#[derive(FromRow)]
struct NotificationRow {
    id: String,
    kind: String,
    title: String,
    body: String,
    data: String,
    read: bool,
    created_at: i64,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Notification {
        Notification {
            id: row.id,
            kind: NotificationKind::parse(&row.kind).unwrap_or(NotificationKind::System),
            title: row.title,
            body: row.body,
            data: serde_json::from_str(&row.data).unwrap_or(serde_json::Value::Null),
            read: row.read,
            created_at: rfc3339(row.created_at),
        }
    }
}

const USER_COLUMNS: &str = "id, email, display_name, role";
const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, sender_id, client_msg_id, body, created_at";

impl SqliteStore {
    /// Conversations of `user_id` in protocol shape; all of them, or the one named. Runs on
    /// one connection so that its queries do not queue for the pool one by one.
    async fn views(conn: &mut SqliteConnection, user_id: &str, only: Option<&str>) -> StoreResult<Vec<Conversation>> {
        let rows: Vec<ConversationRow> = sqlx::query_as(
            "SELECT c.id, c.kind, c.title, c.last_seq, c.created_at,
                    (SELECT COUNT(*) FROM messages x
                      WHERE x.conversation_id = c.id AND x.seq > m.read_seq
                        AND x.sender_id <> m.user_id) AS unread
               FROM conversations c JOIN members m ON m.conversation_id = c.id
              WHERE m.user_id = $1 AND ($2 IS NULL OR c.id = $2)
              ORDER BY c.last_activity_at DESC, c.id DESC",
        )
        .bind(user_id)
        .bind(only)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let member_rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT mm.conversation_id, mm.user_id, u.display_name, u.role, mm.read_seq, mm.delivered_seq
               FROM members me
               JOIN members mm ON mm.conversation_id = me.conversation_id
               JOIN users u ON u.id = mm.user_id
              WHERE me.user_id = $1 AND ($2 IS NULL OR me.conversation_id = $2)
              ORDER BY mm.joined_at, mm.user_id",
        )
        .bind(user_id)
        .bind(only)
        .fetch_all(&mut *conn)
        .await?;
        let last_rows: Vec<MessageRow> = sqlx::query_as(
            "SELECT msg.id, msg.conversation_id, msg.seq, msg.sender_id, msg.client_msg_id, msg.body, msg.created_at
               FROM members me
               JOIN conversations c ON c.id = me.conversation_id
               JOIN messages msg ON msg.conversation_id = c.id AND msg.seq = c.last_seq
              WHERE me.user_id = $1 AND ($2 IS NULL OR me.conversation_id = $2)",
        )
        .bind(user_id)
        .bind(only)
        .fetch_all(&mut *conn)
        .await?;

        let mut members: HashMap<String, Vec<Member>> = HashMap::new();
        for m in member_rows {
            members.entry(m.conversation_id).or_default().push(Member {
                user_id: m.user_id,
                display_name: m.display_name,
                role: Role::parse(&m.role).unwrap_or(Role::Candidate),
                read_seq: m.read_seq,
                delivered_seq: m.delivered_seq,
            });
        }
        let mut last: HashMap<String, Message> =
            last_rows.into_iter().map(|m| (m.conversation_id.clone(), m.into())).collect();
        Ok(rows
            .into_iter()
            .map(|row| Conversation {
                members: members.remove(&row.id).unwrap_or_default(),
                last_message: last.remove(&row.id),
                kind: if row.kind == "direct" { ConversationKind::Direct } else { ConversationKind::Group },
                title: row.title,
                last_seq: row.last_seq,
                unread_count: row.unread,
                created_at: rfc3339(row.created_at),
                id: row.id,
            })
            .collect())
    }

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

    async fn is_member(&self, user_id: &str, conversation_id: &str) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(conversation_id)
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(found.is_some())
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
            },
            true,
        ))
    }
    /// Stores a batch in one transaction with a fixed number of statements, whatever its size:
    /// membership, earlier messages with the same client ids, the seqs of every conversation
    /// at once, every insert at once, the senders' receipts at once. Non-members and resends
    /// are decided from what was read, so they need no rollback; any other failure fails the
    /// whole batch (the caller then retries message by message).
    async fn insert_batch(&self, batch: &[NewMessage<'_>]) -> StoreResult<Vec<StoreResult<(Message, bool)>>> {
        let now = now_ms();
        // The write pool has a single connection and the read pool cannot write, so starting
        // with reads cannot end in a lock-upgrade failure.
        let mut tx = self.write.begin().await?;

        let pairs: Vec<(&str, &str)> = distinct(batch.iter().map(|m| (m.conversation_id, m.sender_id)));
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
        let members: HashSet<(String, String)> = query.fetch_all(&mut *tx).await?.into_iter().collect();
        let is_member = |m: &NewMessage<'_>| members.contains(&(m.conversation_id.to_owned(), m.sender_id.to_owned()));

        let keys: Vec<(&str, &str)> =
            distinct(batch.iter().filter(|m| is_member(m)).map(|m| (m.sender_id, m.client_msg_id)));
        let mut earlier: HashMap<(String, String), Message> = HashMap::new();
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
            for row in query.fetch_all(&mut *tx).await? {
                earlier.insert((row.sender_id.clone(), row.client_msg_id.clone()), row.into());
            }
        }

        // What becomes of each message, in batch order.
        enum Fate {
            NotMember,
            Earlier(Message),
            /// Resend of the new message at this index of the batch.
            SameAs(usize),
            /// The n-th (from 0) new message of its conversation in this batch.
            New(i64),
        }
        let mut fates = Vec::with_capacity(batch.len());
        let mut new_per_conversation: Vec<(&str, i64)> = Vec::new();
        let mut conversation_index: HashMap<&str, usize> = HashMap::new();
        let mut new_by_key: HashMap<(&str, &str), usize> = HashMap::new();
        for (index, msg) in batch.iter().enumerate() {
            let key = (msg.sender_id, msg.client_msg_id);
            let fate = if !is_member(msg) {
                Fate::NotMember
            } else if let Some(stored) = earlier.get(&(key.0.to_owned(), key.1.to_owned())) {
                Fate::Earlier(stored.clone())
            } else if let Some(first) = new_by_key.get(&key) {
                Fate::SameAs(*first)
            } else {
                new_by_key.insert(key, index);
                let slot = *conversation_index.entry(msg.conversation_id).or_insert_with(|| {
                    new_per_conversation.push((msg.conversation_id, 0));
                    new_per_conversation.len() - 1
                });
                let n = &mut new_per_conversation[slot].1;
                *n += 1;
                Fate::New(*n - 1)
            };
            fates.push(fate);
        }

        let mut first_seq: HashMap<String, i64> = HashMap::new();
        if !new_per_conversation.is_empty() {
            // Every conversation's counter moves by its number of new messages; the seqs are
            // taken by this transaction, so they commit or vanish with the inserts.
            let sql = format!(
                "UPDATE conversations SET last_seq = last_seq + v.n, last_activity_at = ?
                   FROM (SELECT column1 AS cid, column2 AS n FROM (VALUES {})) AS v
                  WHERE conversations.id = v.cid
                 RETURNING id, last_seq",
                placeholders(new_per_conversation.len(), 2)
            );
            let mut query = sqlx::query_as::<_, (String, i64)>(&sql).bind(now);
            for (conversation_id, n) in &new_per_conversation {
                query = query.bind(*conversation_id).bind(*n);
            }
            for (conversation_id, last_seq) in query.fetch_all(&mut *tx).await? {
                let n = conversation_index.get(conversation_id.as_str()).map_or(0, |&i| new_per_conversation[i].1);
                first_seq.insert(conversation_id, last_seq - n + 1);
            }
        }

        let mut stored: Vec<Option<Message>> = vec![None; batch.len()];
        for (index, (msg, fate)) in batch.iter().zip(&fates).enumerate() {
            if let Fate::New(n) = fate {
                let Some(first) = first_seq.get(msg.conversation_id) else {
                    return Err(StoreError::NotFound); // a member of a conversation that is gone
                };
                stored[index] = Some(Message {
                    id: new_id(),
                    conversation_id: msg.conversation_id.to_owned(),
                    seq: first + n,
                    sender_id: msg.sender_id.to_owned(),
                    body: msg.body.to_owned(),
                    client_msg_id: msg.client_msg_id.to_owned(),
                    created_at: rfc3339(now),
                });
            }
        }
        let new: Vec<&Message> = stored.iter().flatten().collect();
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

            // Sending moves the sender's own receipts to their newest message.
            let mut newest: HashMap<(&str, &str), i64> = HashMap::new();
            for m in &new {
                let seq = newest.entry((&m.conversation_id, &m.sender_id)).or_default();
                *seq = (*seq).max(m.seq);
            }
            let sql = format!(
                "UPDATE members SET read_seq = MAX(read_seq, v.seq), delivered_seq = MAX(delivered_seq, v.seq)
                   FROM (SELECT column1 AS cid, column2 AS uid, column3 AS seq FROM (VALUES {})) AS v
                  WHERE members.conversation_id = v.cid AND members.user_id = v.uid",
                placeholders(newest.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for ((conversation_id, sender_id), seq) in &newest {
                query = query.bind(*conversation_id).bind(*sender_id).bind(*seq);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;

        Ok(fates
            .into_iter()
            .enumerate()
            .map(|(index, fate)| match fate {
                Fate::NotMember => Err(StoreError::NotFound),
                Fate::Earlier(message) => Ok((message, false)),
                Fate::SameAs(first) => Ok((stored[first].clone().expect("the first one is new"), false)),
                // Cloned, not taken: a later resend in the batch may still need it.
                Fate::New(_) => Ok((stored[index].clone().expect("new messages are built"), true)),
            })
            .collect())
    }
}

/// Messages stored per transaction at most; keeps every statement well under SQLite's limit
/// of bound parameters (7 per message in the insert).
const MAX_BATCH: usize = 1024;

/// `(?, ?), (?, ?)…`: `rows` rows of `columns` placeholders, for a `VALUES` list.
fn placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// The distinct items, in order of first appearance.
fn distinct<T: Eq + std::hash::Hash + Copy>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(*item)).collect()
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    async fn create_user(&self, user: NewUser<'_>) -> StoreResult<User> {
        let id = new_id();
        let result = sqlx::query(
            "INSERT INTO users (id, email, password_hash, display_name, display_name_folded, role, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.display_name)
        .bind(user.display_name.to_lowercase())
        .bind(user.role.as_str())
        .bind(now_ms())
        .execute(&self.write)
        .await;
        match result {
            Ok(_) => Ok(User {
                id,
                display_name: user.display_name.to_owned(),
                role: user.role,
                email: user.email.to_owned(),
            }),
            Err(err) if is_unique_violation(&err) => Err(StoreError::EmailTaken),
            Err(err) => Err(err.into()),
        }
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| (r.user.into(), r.password_hash)))
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        Ok(row.map(Into::into))
    }

    async fn search_users(&self, q: &str, limit: u32) -> StoreResult<Vec<User>> {
        let folded = q.trim().to_lowercase();
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users
              WHERE instr(display_name_folded, $1) > 0 OR email = $1
              ORDER BY display_name_folded, id LIMIT $2"
        ))
        .bind(&folded)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn create_login(&self, user_id: &str, token_hash: &str, expires_at: i64) -> StoreResult<String> {
        let login_id = new_id();
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO logins (id, user_id, created_at) VALUES ($1, $2, $3)")
            .bind(&login_id)
            .bind(user_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, login_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(&login_id)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(login_id)
    }

    async fn use_refresh_token(&self, token_hash: &str, next_hash: &str, next_expires_at: i64) -> StoreResult<RefreshUse> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        // Spend it first: the write takes the lock, and only one presenter can win.
        let spent: Option<(String, i64)> = sqlx::query_as(
            "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL
             RETURNING login_id, expires_at",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((login_id, expires_at)) = spent else {
            let login: Option<String> =
                sqlx::query_scalar("SELECT login_id FROM refresh_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(login_id) = login else { return Ok(RefreshUse::Invalid) };
            // A spent token came back: whoever holds it is not the rightful owner, or the owner
            // lost a race with a thief. Either way, the whole login ends.
            sqlx::query("UPDATE logins SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
                .bind(&login_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(RefreshUse::Reused { login_id });
        };
        let owner: Option<(Option<i64>, String)> = sqlx::query_as(
            "SELECT revoked_at, user_id FROM logins WHERE id = $1",
        )
        .bind(&login_id)
        .fetch_optional(&mut *tx)
        .await?;
        let user_id = match owner {
            Some((None, user_id)) if expires_at > now => user_id,
            _ => return Ok(RefreshUse::Invalid), // rolls back the spend
        };
        sqlx::query("INSERT INTO refresh_tokens (token_hash, login_id, expires_at) VALUES ($1, $2, $3)")
            .bind(next_hash)
            .bind(&login_id)
            .bind(next_expires_at)
            .execute(&mut *tx)
            .await?;
        let user: UserRow = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(&user_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RefreshUse::Fresh { login_id, user: user.into() })
    }

    async fn revoke_by_refresh_token(&self, token_hash: &str) -> StoreResult<Option<String>> {
        let id: Option<String> = sqlx::query_scalar(
            "UPDATE logins SET revoked_at = COALESCE(revoked_at, $2)
              WHERE id = (SELECT login_id FROM refresh_tokens WHERE token_hash = $1)
             RETURNING id",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.write)
        .await?;
        Ok(id)
    }

    async fn login_is_active(&self, login_id: &str) -> StoreResult<bool> {
        let revoked: Option<Option<i64>> =
            sqlx::query_scalar("SELECT revoked_at FROM logins WHERE id = $1")
                .bind(login_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(matches!(revoked, Some(None)))
    }

    async fn direct_conversation(&self, me: &str, other: &str) -> StoreResult<(Conversation, bool)> {
        if self.user_by_id(other).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let key = if me < other { format!("{me}:{other}") } else { format!("{other}:{me}") };
        let now = now_ms();
        let id = new_id();
        let mut tx = self.write.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO conversations (id, kind, title, direct_key, created_at, last_activity_at)
             VALUES ($1, 'direct', NULL, $2, $3, $3) ON CONFLICT (direct_key) DO NOTHING",
        )
        .bind(&id)
        .bind(&key)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let conversation_id = if inserted {
            for user in [me, other] {
                sqlx::query("INSERT INTO members (conversation_id, user_id, joined_at) VALUES ($1, $2, $3)")
                    .bind(&id)
                    .bind(user)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            id
        } else {
            drop(tx);
            sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = $1")
                .bind(&key)
                .fetch_one(&self.read)
                .await?
        };
        Ok((self.conversation(me, &conversation_id).await?, inserted))
    }

    async fn create_group(&self, me: &str, title: &str, others: &[String]) -> StoreResult<Conversation> {
        let mut members: Vec<&str> = vec![me];
        for other in others {
            if !members.contains(&other.as_str()) {
                members.push(other);
            }
        }
        for other in &members[1..] {
            if self.user_by_id(other).await?.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        let now = now_ms();
        let id = new_id();
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO conversations (id, kind, title, created_at, last_activity_at)
             VALUES ($1, 'group', $2, $3, $3)",
        )
        .bind(&id)
        .bind(title)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for user in &members {
            sqlx::query("INSERT INTO members (conversation_id, user_id, joined_at) VALUES ($1, $2, $3)")
                .bind(&id)
                .bind(user)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.conversation(me, &id).await
    }

    async fn ready_snapshot(&self, user_id: &str) -> StoreResult<Option<ReadySnapshot>> {
        let mut conn = self.read.acquire().await?;
        let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, email, display_name, role,
                    (SELECT COUNT(*) FROM notifications n WHERE n.user_id = users.id AND n.read = 0)
               FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((id, email, display_name, role, notifications_unread)) = row else { return Ok(None) };
        let user = UserRow { id, email, display_name, role }.into();
        let conversations = Self::views(&mut conn, user_id, None).await?;
        Ok(Some(ReadySnapshot { user, conversations, notifications_unread }))
    }

    async fn conversations_of(&self, user_id: &str) -> StoreResult<Vec<Conversation>> {
        let mut conn = self.read.acquire().await?;
        Self::views(&mut conn, user_id, None).await
    }

    async fn conversation(&self, user_id: &str, conversation_id: &str) -> StoreResult<Conversation> {
        let mut conn = self.read.acquire().await?;
        Self::views(&mut conn, user_id, Some(conversation_id)).await?.pop().ok_or(StoreError::NotFound)
    }

    async fn member_ids(&self, conversation_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT user_id FROM members WHERE conversation_id = $1")
            .bind(conversation_id)
            .fetch_all(&self.read)
            .await?)
    }

    async fn contacts_of(&self, user_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT mm.user_id FROM members me
               JOIN members mm ON mm.conversation_id = me.conversation_id
              WHERE me.user_id = $1 AND mm.user_id <> $1",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?)
    }

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

    async fn mark_read(&self, user_id: &str, conversation_id: &str, seq: i64) -> StoreResult<Receipts> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE members
                SET read_seq = MAX(read_seq, MIN($3, (SELECT last_seq FROM conversations WHERE id = $1))),
                    delivered_seq = MAX(delivered_seq, MIN($3, (SELECT last_seq FROM conversations WHERE id = $1)))
              WHERE conversation_id = $1 AND user_id = $2
             RETURNING read_seq, delivered_seq",
        )
        .bind(conversation_id)
        .bind(user_id)
        .bind(seq)
        .fetch_optional(&self.write)
        .await?;
        let (read_seq, delivered_seq) = row.ok_or(StoreError::NotFound)?;
        Ok(Receipts { read_seq, delivered_seq })
    }

    async fn mark_delivered(&self, user_id: &str, conversation_id: &str, seq: i64) -> StoreResult<Receipts> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE members
                SET delivered_seq = MAX(delivered_seq, MIN($3, (SELECT last_seq FROM conversations WHERE id = $1)))
              WHERE conversation_id = $1 AND user_id = $2
             RETURNING read_seq, delivered_seq",
        )
        .bind(conversation_id)
        .bind(user_id)
        .bind(seq)
        .fetch_optional(&self.write)
        .await?;
        let (read_seq, delivered_seq) = row.ok_or(StoreError::NotFound)?;
        Ok(Receipts { read_seq, delivered_seq })
    }

    async fn create_notification(&self, user_id: &str, kind: NotificationKind, title: &str, body: &str, data: &serde_json::Value) -> StoreResult<Notification> {
        let id = new_id();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO notifications (id, user_id, kind, title, body, data, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(kind.as_str())
        .bind(title)
        .bind(body)
        .bind(data.to_string())
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(Notification {
            id,
            kind,
            title: title.to_owned(),
            body: body.to_owned(),
            data: data.clone(),
            read: false,
            created_at: rfc3339(now),
        })
    }

    async fn notifications(&self, user_id: &str, unread_only: bool) -> StoreResult<Vec<Notification>> {
        let rows: Vec<NotificationRow> = sqlx::query_as(
            "SELECT id, kind, title, body, data, read, created_at FROM notifications
              WHERE user_id = $1 AND ($2 = 0 OR read = 0)
              ORDER BY created_at DESC, id DESC LIMIT 500",
        )
        .bind(user_id)
        .bind(unread_only)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn mark_notification_read(&self, user_id: &str, id: &str) -> StoreResult<()> {
        let done = sqlx::query("UPDATE notifications SET read = 1 WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn unread_notifications(&self, user_id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read = 0")
            .bind(user_id)
            .fetch_one(&self.read)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store(dir: &std::path::Path) -> SqliteStore {
        SqliteStore::open(&format!("sqlite://{}", dir.join("hub.db").display())).await.unwrap()
    }

    async fn user(store: &SqliteStore, name: &str) -> String {
        let email = format!("{name}@example.com");
        let new = NewUser { email: &email, password_hash: "x", display_name: name, role: Role::Candidate };
        store.create_user(new).await.unwrap().id
    }

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
