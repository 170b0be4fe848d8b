//! Changes to stored messages: edits, tombstones, reactions. Each first locks the message's
//! conversation — the row on which every writer of that conversation queues, batches of new
//! messages included, whichever hub runs them — then reads the message as it is now, asks
//! [`change`] what the rules say, and writes with the next rev. So two hubs changing one
//! message at once take turns: the second decides from what the first committed (an edit
//! after a deletion is `gone`, a reaction twice is a repeat), and revs stay gap-free.

use async_trait::async_trait;
use sqlx::{Connection as _, FromRow, PgConnection};

use super::messages::message_in;
use super::PostgresStore;
use crate::clock::now_ms;
use crate::store::change::{self, Current, Reactions, Verdict};
use crate::store::{Change, ChangeStore, StoreError, StoreResult};

/// Locks the conversation for the rest of the transaction; `NotFound` when the user is not a
/// member (nothing is locked then).
async fn lock_conversation(conn: &mut PgConnection, user_id: &str, conversation_id: &str) -> StoreResult<()> {
    let locked: Option<String> = sqlx::query_scalar(
        "SELECT c.id FROM conversations c
           JOIN members mm ON mm.conversation_id = c.id AND mm.user_id = $2
          WHERE c.id = $1
            FOR UPDATE OF c",
    )
    .bind(conversation_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    locked.map(|_| ()).ok_or(StoreError::NotFound)
}

/// The message a change names, as the rules need it.
#[derive(FromRow)]
struct Target {
    sender_id: String,
    body: String,
    deleted: bool,
    has_content: bool,
}

/// Read after [`lock_conversation`], so by a statement that sees every change committed before.
async fn target(conn: &mut PgConnection, conversation_id: &str, message_id: &str) -> StoreResult<Target> {
    let target: Option<Target> = sqlx::query_as(
        "SELECT m.sender_id, m.body, m.deleted_at IS NOT NULL AS deleted,
                (m.card IS NOT NULL OR EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)) AS has_content
           FROM messages m
          WHERE m.id = $1 AND m.conversation_id = $2",
    )
    .bind(message_id)
    .bind(conversation_id)
    .fetch_optional(&mut *conn)
    .await?;
    target.ok_or(StoreError::NotFound)
}

/// Takes the conversation's next rev (its row is locked already).
async fn next_rev(conn: &mut PgConnection, conversation_id: &str) -> StoreResult<i64> {
    let rev: Option<i64> = sqlx::query_scalar("UPDATE conversations SET last_rev = last_rev + 1 WHERE id = $1 RETURNING last_rev")
        .bind(conversation_id)
        .fetch_optional(&mut *conn)
        .await?;
    rev.ok_or(StoreError::NotFound)
}

/// The message as it is now, at the end of the change's transaction.
async fn finish(conn: &mut PgConnection, conversation_id: &str, message_id: &str, verdict: Verdict, removed: Vec<String>) -> StoreResult<Change> {
    let message = message_in(conn, conversation_id, message_id).await?.ok_or(StoreError::NotFound)?;
    Ok(Change { message, changed: verdict == Verdict::Apply, removed_attachments: removed })
}

#[async_trait]
impl ChangeStore for PostgresStore {
    async fn edit_message(&self, user_id: &str, conversation_id: &str, message_id: &str, body: &str) -> StoreResult<Change> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        lock_conversation(&mut tx, user_id, conversation_id).await?;
        let t = target(&mut tx, conversation_id, message_id).await?;
        let current = Current { sender_id: &t.sender_id, body: &t.body, deleted: t.deleted, has_content: t.has_content };
        let verdict = change::edit(&current, user_id, body)?;
        if verdict == Verdict::Apply {
            let rev = next_rev(&mut tx, conversation_id).await?;
            sqlx::query("UPDATE messages SET body = $1, edited_at = $2, rev = $3 WHERE id = $4")
                .bind(body)
                .bind(now_ms())
                .bind(rev)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
        }
        let change = finish(&mut tx, conversation_id, message_id, verdict, Vec::new()).await?;
        tx.commit().await?;
        Ok(change)
    }

    async fn delete_message(&self, user_id: &str, conversation_id: &str, message_id: &str) -> StoreResult<Change> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        lock_conversation(&mut tx, user_id, conversation_id).await?;
        let t = target(&mut tx, conversation_id, message_id).await?;
        let current = Current { sender_id: &t.sender_id, body: &t.body, deleted: t.deleted, has_content: t.has_content };
        let verdict = change::delete(&current, user_id)?;
        let mut removed = Vec::new();
        if verdict == Verdict::Apply {
            let rev = next_rev(&mut tx, conversation_id).await?;
            // No query sees the old body after the commit; the old row version stays in the
            // table's file until VACUUM prunes it (docs/operations.md).
            sqlx::query("UPDATE messages SET body = '', card = NULL, edited_at = NULL, deleted_at = $1, rev = $2 WHERE id = $3")
                .bind(now_ms())
                .bind(rev)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM reactions WHERE message_id = $1").bind(message_id).execute(&mut *tx).await?;
            removed = sqlx::query_scalar("DELETE FROM attachments WHERE message_id = $1 RETURNING id")
                .bind(message_id)
                .fetch_all(&mut *tx)
                .await?;
        }
        let change = finish(&mut tx, conversation_id, message_id, verdict, removed).await?;
        tx.commit().await?;
        Ok(change)
    }

    async fn react(&self, user_id: &str, conversation_id: &str, message_id: &str, emoji: &str, on: bool) -> StoreResult<Change> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        lock_conversation(&mut tx, user_id, conversation_id).await?;
        let state: Option<(bool, bool, bool, i64)> = sqlx::query_as(
            "SELECT m.deleted_at IS NOT NULL,
                    EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = m.id AND r.emoji = $3 AND r.user_id = $4),
                    EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = m.id AND r.emoji = $3),
                    (SELECT COUNT(DISTINCT r.emoji) FROM reactions r WHERE r.message_id = m.id)
               FROM messages m
              WHERE m.id = $1 AND m.conversation_id = $2",
        )
        .bind(message_id)
        .bind(conversation_id)
        .bind(emoji)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (deleted, mine, present, distinct) = state.ok_or(StoreError::NotFound)?;
        let verdict = change::react(&Reactions { deleted, mine, present, distinct: distinct as usize }, on)?;
        if verdict == Verdict::Apply {
            let rev = next_rev(&mut tx, conversation_id).await?;
            if on {
                sqlx::query("INSERT INTO reactions (message_id, emoji, user_id, added_rev) VALUES ($1, $2, $3, $4)")
                    .bind(message_id)
                    .bind(emoji)
                    .bind(user_id)
                    .bind(rev)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3")
                    .bind(message_id)
                    .bind(emoji)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("UPDATE messages SET rev = $1 WHERE id = $2").bind(rev).bind(message_id).execute(&mut *tx).await?;
        }
        let change = finish(&mut tx, conversation_id, message_id, verdict, Vec::new()).await?;
        tx.commit().await?;
        Ok(change)
    }
}
