//! Conversations, their members, and what a gateway `ready` reads.

use std::collections::HashMap;

use async_trait::async_trait;
use rapport_protocol::{Application, Bridge, BridgeChannel, Conversation, ConversationKind, Member, Message, Role};
use sqlx::{Connection as _, FromRow, PgConnection};

use super::messages::{complete, MessageRow, MESSAGE_COLUMNS};
use super::users::UserRow;
use super::{snapshot, PostgresStore};
use crate::clock::{new_id, now_ms, rfc3339};
use crate::store::{ConversationStore, ReadySnapshot, StoreError, StoreResult};

#[derive(FromRow)]
struct ConversationRow {
    id: String,
    kind: String,
    title: Option<String>,
    last_seq: i64,
    last_rev: i64,
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

impl PostgresStore {
    /// [`PostgresStore::views`] read on one snapshot, so that a conversation's `last_rev` and
    /// its last message agree.
    async fn snapshot_views(conn: &mut PgConnection, user_id: &str, only: Option<&str>) -> StoreResult<Vec<Conversation>> {
        let mut tx = snapshot(conn).await?;
        let views = Self::views(&mut tx, user_id, only).await?;
        tx.commit().await?;
        Ok(views)
    }

    /// Conversations of `user_id` in protocol shape; all of them, or the one named. Runs on
    /// one connection so that its queries do not queue for the pool one by one.
    async fn views(conn: &mut PgConnection, user_id: &str, only: Option<&str>) -> StoreResult<Vec<Conversation>> {
        let rows: Vec<ConversationRow> = sqlx::query_as(
            "SELECT c.id, c.kind, c.title, c.last_seq, c.last_rev, c.created_at,
                    (SELECT COUNT(*) FROM messages x
                      WHERE x.conversation_id = c.id AND x.seq > m.read_seq
                        AND x.sender_id <> m.user_id) AS unread
               FROM conversations c JOIN members m ON m.conversation_id = c.id
              WHERE m.user_id = $1 AND ($2::text IS NULL OR c.id = $2)
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
              WHERE me.user_id = $1 AND ($2::text IS NULL OR me.conversation_id = $2)
              ORDER BY mm.joined_at, mm.user_id",
        )
        .bind(user_id)
        .bind(only)
        .fetch_all(&mut *conn)
        .await?;
        let last_rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS}
               FROM members me
               JOIN conversations c ON c.id = me.conversation_id
               JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
              WHERE me.user_id = $1 AND ($2::text IS NULL OR me.conversation_id = $2)"
        ))
        .bind(user_id)
        .bind(only)
        .fetch_all(&mut *conn)
        .await?;
        let last_messages = complete(conn, last_rows).await?;
        // Where each candidate stands: the newest status card that was not deleted.
        let status_rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT m.conversation_id, m.card::text, m.created_at
               FROM members me
               JOIN messages m ON m.conversation_id = me.conversation_id
              WHERE me.user_id = $1 AND ($2::text IS NULL OR me.conversation_id = $2)
                AND m.kind = 'application_status' AND m.deleted_at IS NULL
                AND m.seq = (SELECT MAX(x.seq) FROM messages x
                              WHERE x.conversation_id = m.conversation_id
                                AND x.kind = 'application_status' AND x.deleted_at IS NULL)",
        )
        .bind(user_id)
        .bind(only)
        .fetch_all(&mut *conn)
        .await?;
        let mut applications: HashMap<String, Application> = status_rows
            .into_iter()
            .filter_map(|(conversation_id, card, created_at)| {
                let application = crate::store::application::application(&card, created_at)?;
                Some((conversation_id, application))
            })
            .collect();

        // (§5) Which conversations run over the Twilio bridge, with whom and through which number.
        let bridge_rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT bc.conversation_id, k.channel, k.number, bc.twilio_number
               FROM members me
               JOIN bridge_conversations bc ON bc.conversation_id = me.conversation_id
               JOIN bridge_contacts k ON k.user_id = bc.contact_id
              WHERE me.user_id = $1 AND ($2::text IS NULL OR me.conversation_id = $2)",
        )
        .bind(user_id)
        .bind(only)
        .fetch_all(&mut *conn)
        .await?;
        let mut bridges: HashMap<String, Bridge> = bridge_rows
            .into_iter()
            .filter_map(|(conversation_id, channel, number, via)| {
                Some((conversation_id, Bridge { channel: BridgeChannel::parse(&channel)?, number, via }))
            })
            .collect();

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
            last_messages.into_iter().map(|m| (m.conversation_id.clone(), m)).collect();
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
                last_rev: row.last_rev,
                application: applications.remove(&row.id),
                bridge: bridges.remove(&row.id),
                id: row.id,
            })
            .collect())
    }

    /// Whether the user is a member of the conversation.
    pub(super) async fn is_member(conn: &mut PgConnection, user_id: &str, conversation_id: &str) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2)",
        )
        .bind(conversation_id)
        .bind(user_id)
        .fetch_one(conn)
        .await?)
    }

    /// Whether every id names a user.
    async fn users_exist(conn: &mut PgConnection, ids: &[&str]) -> StoreResult<bool> {
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = ANY($1)")
            .bind(ids)
            .fetch_one(conn)
            .await?;
        Ok(found == ids.len() as i64)
    }
}

#[async_trait]
impl ConversationStore for PostgresStore {
    async fn direct_conversation(&self, me: &str, other: &str) -> StoreResult<(Conversation, bool)> {
        let mut conn = self.conn().await?;
        if !Self::users_exist(&mut conn, &[other]).await? {
            return Err(StoreError::NotFound);
        }
        let key = if me < other { format!("{me}:{other}") } else { format!("{other}:{me}") };
        let now = now_ms();
        let id = new_id();
        let mut tx = conn.begin().await?;
        // Of two hubs creating the pair's conversation at once, the second waits on the unique
        // key, finds the first one's row once it commits, and inserts nothing.
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
            sqlx::query(
                "INSERT INTO members (conversation_id, user_id, joined_at) SELECT $1, u, $3 FROM UNNEST($2::text[]) AS u",
            )
            .bind(&id)
            .bind([me, other].as_slice())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        } else {
            tx.rollback().await?;
            sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = $1")
                .bind(&key)
                .fetch_one(&mut *conn)
                .await?
        };
        let conversation = Self::views(&mut conn, me, Some(&conversation_id)).await?.pop().ok_or(StoreError::NotFound)?;
        Ok((conversation, inserted))
    }

    async fn create_group(&self, me: &str, title: &str, others: &[String]) -> StoreResult<Conversation> {
        let mut members: Vec<&str> = vec![me];
        for other in others {
            if !members.contains(&other.as_str()) {
                members.push(other);
            }
        }
        let mut conn = self.conn().await?;
        if !Self::users_exist(&mut conn, &members[1..]).await? {
            return Err(StoreError::NotFound);
        }
        let now = now_ms();
        let id = new_id();
        // One statement, so no transaction: the conversation and its members, or nothing.
        sqlx::query(
            "WITH conversation AS (
                 INSERT INTO conversations (id, kind, title, created_at, last_activity_at)
                 VALUES ($1, 'group', $2, $3, $3)
             )
             INSERT INTO members (conversation_id, user_id, joined_at)
             SELECT $1, u, $3 FROM UNNEST($4::text[]) AS u",
        )
        .bind(&id)
        .bind(title)
        .bind(now)
        .bind(&members)
        .execute(&mut *conn)
        .await?;
        Self::views(&mut conn, me, Some(&id)).await?.pop().ok_or(StoreError::NotFound)
    }

    async fn ready_snapshot(&self, user_id: &str) -> StoreResult<Option<ReadySnapshot>> {
        let mut conn = self.conn().await?;
        let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, email, display_name, role,
                    (SELECT COUNT(*) FROM notifications n WHERE n.user_id = users.id AND NOT n.read)
               FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((id, email, display_name, role, notifications_unread)) = row else { return Ok(None) };
        let user = UserRow { id, email, display_name, role }.into();
        let conversations = Self::snapshot_views(&mut conn, user_id, None).await?;
        Ok(Some(ReadySnapshot { user, conversations, notifications_unread }))
    }

    async fn conversations_of(&self, user_id: &str) -> StoreResult<Vec<Conversation>> {
        let mut conn = self.conn().await?;
        Self::snapshot_views(&mut conn, user_id, None).await
    }

    async fn conversation(&self, user_id: &str, conversation_id: &str) -> StoreResult<Conversation> {
        let mut conn = self.conn().await?;
        Self::snapshot_views(&mut conn, user_id, Some(conversation_id)).await?.pop().ok_or(StoreError::NotFound)
    }

    async fn member_ids(&self, conversation_id: &str) -> StoreResult<Vec<String>> {
        let mut conn = self.conn().await?;
        Ok(sqlx::query_scalar("SELECT user_id FROM members WHERE conversation_id = $1")
            .bind(conversation_id)
            .fetch_all(&mut *conn)
            .await?)
    }

    async fn contacts_of(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let mut conn = self.conn().await?;
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT mm.user_id FROM members me
               JOIN members mm ON mm.conversation_id = me.conversation_id
              WHERE me.user_id = $1 AND mm.user_id <> $1",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?)
    }
}
