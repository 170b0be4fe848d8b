//! Conversations, their members and receipts, and unread counts.

use rapport_protocol::gateway::ReceiptKind;
use rapport_protocol::{Conversation, ConversationKind, Member, Role, User};
use sqlx::Row as _;

use super::Cache;
use crate::event::ConversationSummary;
use crate::EngineError;

/// A receipt this device still has to tell the hub about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingReceipt {
    pub conversation_id: String,
    pub kind: ReceiptKind,
    pub seq: i64,
}

/// How far a conversation's cache is from the hub's.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SyncPosition {
    pub id: String,
    pub hub_last_seq: i64,
    pub synced_seq: i64,
    pub hub_last_rev: i64,
    pub synced_rev: i64,
}

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: String,
    kind: String,
    title: Option<String>,
    created_at: String,
    hub_last_seq: i64,
    muted: bool,
    /// `Conversation.bridge` as JSON.
    bridge: Option<String>,
}

impl Cache {
    /// Stores what the hub says about a conversation: members, receipts (only ever forward) and
    /// the newest seq. Local progress (`synced_seq`, sent receipts, muted) is kept.
    pub(crate) async fn upsert_conversation(&self, c: &Conversation) -> Result<(), EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let activity = c.last_message.as_ref().map_or(c.created_at.as_str(), |m| m.created_at.as_str());
        sqlx::query(
            "INSERT INTO conversations (id, kind, title, created_at, hub_last_seq, last_activity, hub_last_rev, bridge) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, bridge = excluded.bridge,
               hub_last_seq = MAX(hub_last_seq, excluded.hub_last_seq),
               last_activity = MAX(last_activity, excluded.last_activity),
               hub_last_rev = MAX(hub_last_rev, excluded.hub_last_rev)",
        )
        .bind(&c.id)
        .bind(c.kind.as_str())
        .bind(&c.title)
        .bind(&c.created_at)
        .bind(c.last_seq)
        .bind(activity)
        .bind(c.last_rev)
        .bind(c.bridge.as_ref().and_then(|b| serde_json::to_string(b).ok()))
        .execute(&mut *tx)
        .await?;
        for m in &c.members {
            sqlx::query(
                "INSERT INTO users (id, display_name, role) VALUES (?, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, role = excluded.role",
            )
            .bind(&m.user_id)
            .bind(&m.display_name)
            .bind(m.role.as_str())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO members (conversation_id, user_id, read_seq, delivered_seq) VALUES (?, ?, ?, ?)
                 ON CONFLICT (conversation_id, user_id) DO UPDATE SET
                   read_seq = MAX(read_seq, excluded.read_seq), delivered_seq = MAX(delivered_seq, excluded.delivered_seq)",
            )
            .bind(&c.id)
            .bind(&m.user_id)
            .bind(m.read_seq)
            .bind(m.delivered_seq)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores a user with their email (from a lookup or the login).
    pub(crate) async fn upsert_user(&self, u: &User) -> Result<(), EngineError> {
        sqlx::query(
            "INSERT INTO users (id, display_name, role, email) VALUES (?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, role = excluded.role, email = excluded.email",
        )
        .bind(&u.id)
        .bind(&u.display_name)
        .bind(u.role.as_str())
        .bind(u.email.to_lowercase())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn user_by_email(&self, email: &str) -> Result<Option<String>, EngineError> {
        Ok(sqlx::query_scalar("SELECT id FROM users WHERE email = ?").bind(email.to_lowercase()).fetch_optional(&self.pool).await?)
    }

    pub(crate) async fn display_name(&self, user_id: &str) -> Result<Option<String>, EngineError> {
        Ok(sqlx::query_scalar("SELECT display_name FROM users WHERE id = ?").bind(user_id).fetch_optional(&self.pool).await?)
    }

    /// The cached display name and role of a user.
    pub(crate) async fn name_and_role(&self, user_id: &str) -> Result<Option<(String, Option<Role>)>, EngineError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT display_name, role FROM users WHERE id = ?").bind(user_id).fetch_optional(&self.pool).await?;
        Ok(row.map(|(name, role)| (name, Role::parse(&role))))
    }

    /// The cached direct conversation with `user_id`.
    pub(crate) async fn direct_with(&self, me: &str, user_id: &str) -> Result<Option<String>, EngineError> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM conversations c
             JOIN members a ON a.conversation_id = c.id AND a.user_id = ?
             JOIN members b ON b.conversation_id = c.id AND b.user_id = ?
             WHERE c.kind = 'direct' LIMIT 1",
        )
        .bind(me)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub(crate) async fn conversation_exists(&self, id: &str) -> Result<bool, EngineError> {
        Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM conversations WHERE id = ?").bind(id).fetch_one(&self.pool).await? > 0)
    }

    /// Where every conversation stands, most recent activity first.
    pub(crate) async fn sync_positions(&self) -> Result<Vec<SyncPosition>, EngineError> {
        Ok(sqlx::query_as("SELECT id, hub_last_seq, synced_seq, hub_last_rev, synced_rev FROM conversations ORDER BY last_activity DESC")
            .fetch_all(&self.pool)
            .await?)
    }

    async fn members(&self, conversation_id: &str) -> Result<Vec<Member>, EngineError> {
        let rows = sqlx::query(
            "SELECT m.user_id, COALESCE(u.display_name, m.user_id) AS display_name, COALESCE(u.role, 'candidate') AS role,
                    m.read_seq, m.delivered_seq
             FROM members m LEFT JOIN users u ON u.id = m.user_id WHERE m.conversation_id = ? ORDER BY m.rowid",
        )
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Member {
                user_id: r.get("user_id"),
                display_name: r.get("display_name"),
                role: Role::parse(r.get("role")).unwrap_or(Role::Candidate),
                read_seq: r.get("read_seq"),
                delivered_seq: r.get("delivered_seq"),
            })
            .collect())
    }

    /// Messages of others after `me`'s read position.
    pub(crate) async fn unread_count(&self, conversation_id: &str, me: &str) -> Result<i64, EngineError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages m WHERE m.conversation_id = ?1 AND m.sender_id != ?2
             AND m.seq > COALESCE((SELECT read_seq FROM members WHERE conversation_id = ?1 AND user_id = ?2), 0)",
        )
        .bind(conversation_id)
        .bind(me)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Sum of unread counts over every conversation.
    pub(crate) async fn unread_total(&self, me: &str) -> Result<i64, EngineError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages m LEFT JOIN members r ON r.conversation_id = m.conversation_id AND r.user_id = ?1
             WHERE m.sender_id != ?1 AND m.seq > COALESCE(r.read_seq, 0)",
        )
        .bind(me)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The name a conversation is shown under (its title, or the other members' names), without
    /// the counts a full [`Cache::summary`] computes over its messages.
    pub(crate) async fn display_title(&self, id: &str, me: &str) -> Result<Option<String>, EngineError> {
        let title: Option<Option<String>> =
            sqlx::query_scalar("SELECT title FROM conversations WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        Ok(match title {
            None => None,
            Some(Some(title)) => Some(title),
            Some(None) => Some(others_title(&self.members(id).await?, me)),
        })
    }

    /// One conversation for the list.
    pub(crate) async fn summary(&self, id: &str, me: &str) -> Result<Option<ConversationSummary>, EngineError> {
        let row: Option<ConversationRow> =
            sqlx::query_as("SELECT id, kind, title, created_at, hub_last_seq, muted, bridge FROM conversations WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let members = self.members(id).await?;
        let display_title = match &row.title {
            Some(title) => title.clone(),
            None => others_title(&members, me),
        };
        let last_message = self.latest_message(id, me).await?;
        let application = self.application(id).await?;
        Ok(Some(ConversationSummary {
            unread_count: self.unread_count(id, me).await?,
            kind: if row.kind == "group" { ConversationKind::Group } else { ConversationKind::Direct },
            id: row.id,
            title: row.title,
            display_title,
            members,
            last_seq: row.hub_last_seq,
            last_message,
            muted: row.muted,
            application,
            // Written by this cache from the protocol type; unreadable means not bridged.
            bridge: row.bridge.as_deref().and_then(|b| serde_json::from_str(b).ok()),
            created_at: row.created_at,
        }))
    }

    /// Every conversation, most recent activity first.
    pub(crate) async fn summaries(&self, me: &str) -> Result<Vec<ConversationSummary>, EngineError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM conversations ORDER BY last_activity DESC, id")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(summary) = self.summary(&id, me).await? {
                out.push(summary);
            }
        }
        Ok(out)
    }

    pub(crate) async fn set_muted(&self, id: &str, muted: bool) -> Result<bool, EngineError> {
        let done = sqlx::query("UPDATE conversations SET muted = ? WHERE id = ?").bind(muted).bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn is_muted(&self, id: &str) -> Result<bool, EngineError> {
        Ok(sqlx::query_scalar::<_, bool>("SELECT muted FROM conversations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or(false))
    }

    /// Moves a member's receipt forward; whether it moved.
    pub(crate) async fn apply_receipt(&self, conversation_id: &str, user_id: &str, kind: ReceiptKind, seq: i64) -> Result<bool, EngineError> {
        let sql = match kind {
            ReceiptKind::Read => {
                "INSERT INTO members (conversation_id, user_id, read_seq, delivered_seq) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (conversation_id, user_id) DO UPDATE SET read_seq = MAX(read_seq, ?3), delivered_seq = MAX(delivered_seq, ?3)
                 WHERE read_seq < ?3"
            }
            ReceiptKind::Delivered => {
                "INSERT INTO members (conversation_id, user_id, read_seq, delivered_seq) VALUES (?1, ?2, 0, ?3)
                 ON CONFLICT (conversation_id, user_id) DO UPDATE SET delivered_seq = ?3 WHERE delivered_seq < ?3"
            }
        };
        if !self.conversation_exists(conversation_id).await? {
            return Ok(false);
        }
        let done = sqlx::query(sql).bind(conversation_id).bind(user_id).bind(seq).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Marks everything cached in a conversation as read by `me`; the new read seq if it moved.
    pub(crate) async fn mark_read_local(&self, conversation_id: &str, me: &str) -> Result<Option<i64>, EngineError> {
        let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM messages WHERE conversation_id = ?")
            .bind(conversation_id)
            .fetch_one(&self.pool)
            .await?;
        let Some(newest) = newest else { return Ok(None) };
        let moved = self.apply_receipt(conversation_id, me, ReceiptKind::Read, newest).await?;
        Ok(moved.then_some(newest))
    }

    /// Receipts the hub has not acknowledged yet: `read` where this user read further than the
    /// hub knows, `delivered` for everything cached.
    pub(crate) async fn pending_receipts(&self, me: &str) -> Result<Vec<PendingReceipt>, EngineError> {
        let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT c.id, COALESCE(m.read_seq, 0), c.read_sent_seq, c.synced_seq, c.delivered_sent_seq
             FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = ?",
        )
        .bind(me)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for (id, read, read_sent, synced, delivered_sent) in rows {
            if read > read_sent {
                out.push(PendingReceipt { conversation_id: id.clone(), kind: ReceiptKind::Read, seq: read });
            } else if synced > delivered_sent.max(read_sent) {
                out.push(PendingReceipt { conversation_id: id, kind: ReceiptKind::Delivered, seq: synced });
            }
        }
        Ok(out)
    }

    /// The hub acknowledged a receipt from this device.
    pub(crate) async fn receipt_sent(&self, r: &PendingReceipt) -> Result<(), EngineError> {
        let sql = match r.kind {
            ReceiptKind::Read => "UPDATE conversations SET read_sent_seq = MAX(read_sent_seq, ?1), delivered_sent_seq = MAX(delivered_sent_seq, ?1) WHERE id = ?2",
            ReceiptKind::Delivered => "UPDATE conversations SET delivered_sent_seq = MAX(delivered_sent_seq, ?1) WHERE id = ?2",
        };
        sqlx::query(sql).bind(r.seq).bind(&r.conversation_id).execute(&self.pool).await?;
        Ok(())
    }
}

/// A conversation without a title is named after its other members.
fn others_title(members: &[Member], me: &str) -> String {
    let others: Vec<&str> = members.iter().filter(|m| m.user_id != me).map(|m| m.display_name.as_str()).collect();
    if others.is_empty() { "(just you)".to_owned() } else { others.join(", ") }
}
