//! Changes to stored messages: edits, tombstones, reactions. Each reads the message inside
//! its transaction, asks [`change`] what the rules say, and writes with the next rev.

use async_trait::async_trait;
use sqlx::{FromRow, SqliteConnection};

use super::messages::message_in;
use super::SqliteStore;
use crate::clock::now_ms;
use crate::store::change::{self, Current, Reactions, Verdict};
use crate::store::{Change, ChangeStore, StoreError, StoreResult};

/// The message a change names, as the rules need it; read only through the caller's membership.
#[derive(FromRow)]
struct Target {
    sender_id: String,
    body: String,
    deleted: bool,
    has_content: bool,
}

async fn target(conn: &mut SqliteConnection, user_id: &str, conversation_id: &str, message_id: &str) -> StoreResult<Target> {
    let target: Option<Target> = sqlx::query_as(
        "SELECT m.sender_id, m.body, m.deleted_at IS NOT NULL AS deleted,
                (m.card IS NOT NULL OR EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)) AS has_content
           FROM messages m
           JOIN members mm ON mm.conversation_id = m.conversation_id AND mm.user_id = $1
          WHERE m.id = $2 AND m.conversation_id = $3",
    )
    .bind(user_id)
    .bind(message_id)
    .bind(conversation_id)
    .fetch_optional(&mut *conn)
    .await?;
    target.ok_or(StoreError::NotFound)
}

/// Takes the conversation's next rev, in the caller's transaction (gap-free like seq).
async fn next_rev(conn: &mut SqliteConnection, conversation_id: &str) -> StoreResult<i64> {
    let rev: Option<i64> = sqlx::query_scalar("UPDATE conversations SET last_rev = last_rev + 1 WHERE id = $1 RETURNING last_rev")
        .bind(conversation_id)
        .fetch_optional(&mut *conn)
        .await?;
    rev.ok_or(StoreError::NotFound)
}

/// The message as it is now, at the end of the change's transaction.
async fn finish(conn: &mut SqliteConnection, conversation_id: &str, message_id: &str, verdict: Verdict, removed: Vec<String>) -> StoreResult<Change> {
    let message = message_in(conn, conversation_id, message_id).await?.ok_or(StoreError::NotFound)?;
    Ok(Change { message, changed: verdict == Verdict::Apply, removed_attachments: removed })
}

#[async_trait]
impl ChangeStore for SqliteStore {
    async fn edit_message(&self, user_id: &str, conversation_id: &str, message_id: &str, body: &str) -> StoreResult<Change> {
        let mut tx = self.write.begin().await?;
        let t = target(&mut tx, user_id, conversation_id, message_id).await?;
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
        let mut tx = self.write.begin().await?;
        let t = target(&mut tx, user_id, conversation_id, message_id).await?;
        let current = Current { sender_id: &t.sender_id, body: &t.body, deleted: t.deleted, has_content: t.has_content };
        let verdict = change::delete(&current, user_id)?;
        let mut removed = Vec::new();
        if verdict == Verdict::Apply {
            let rev = next_rev(&mut tx, conversation_id).await?;
            // The text and the card are overwritten, not flagged: with `secure_delete` on, the
            // old bytes are zeroed in the database file too.
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
        let mut tx = self.write.begin().await?;
        let state: Option<(bool, bool, bool, i64)> = sqlx::query_as(
            "SELECT m.deleted_at IS NOT NULL,
                    EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = m.id AND r.emoji = $4 AND r.user_id = $1),
                    EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = m.id AND r.emoji = $4),
                    (SELECT COUNT(DISTINCT r.emoji) FROM reactions r WHERE r.message_id = m.id)
               FROM messages m
               JOIN members mm ON mm.conversation_id = m.conversation_id AND mm.user_id = $1
              WHERE m.id = $2 AND m.conversation_id = $3",
        )
        .bind(user_id)
        .bind(message_id)
        .bind(conversation_id)
        .bind(emoji)
        .fetch_optional(&mut *tx)
        .await?;
        let (deleted, mine, present, distinct) = state.ok_or(StoreError::NotFound)?;
        let verdict = change::react(&Reactions { deleted, mine, present, distinct: distinct as usize }, on)?;
        if verdict == Verdict::Apply {
            let rev = next_rev(&mut tx, conversation_id).await?;
            let sql = if on {
                "INSERT INTO reactions (message_id, emoji, user_id, added_rev) VALUES ($1, $2, $3, $4)"
            } else {
                "DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3 AND $4 IS NOT NULL"
            };
            sqlx::query(sql).bind(message_id).bind(emoji).bind(user_id).bind(rev).execute(&mut *tx).await?;
            sqlx::query("UPDATE messages SET rev = $1 WHERE id = $2").bind(rev).bind(message_id).execute(&mut *tx).await?;
        }
        let change = finish(&mut tx, conversation_id, message_id, verdict, Vec::new()).await?;
        tx.commit().await?;
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{store, user};
    use super::*;
    use crate::store::{ConversationStore as _, MessageStore as _, NewMessage};

    #[tokio::test]
    async fn a_reaction_taken_back_leaves_the_others_in_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let (a, b) = (user(&store, "a").await, user(&store, "b").await);
        let ab = store.direct_conversation(&a, &b).await.unwrap().0.id;
        let m = store.insert_messages(&[NewMessage::text(&ab, &a, "k", "hi")]).await.pop().unwrap().unwrap().0;
        store.react(&b, &ab, &m.id, "🎉", true).await.unwrap();
        store.react(&a, &ab, &m.id, "👍", true).await.unwrap();
        store.react(&a, &ab, &m.id, "🎉", true).await.unwrap();
        let off = store.react(&b, &ab, &m.id, "🎉", false).await.unwrap();
        assert!(off.changed);
        let summary: Vec<(String, Vec<String>)> = off.message.reactions.iter().map(|r| (r.emoji.clone(), r.user_ids.clone())).collect();
        // 🎉's oldest standing reaction is now a's (rev 4), younger than 👍 (rev 3).
        assert_eq!(summary, vec![("👍".to_owned(), vec![a.clone()]), ("🎉".to_owned(), vec![a.clone()])], "by the first use still standing");
        assert_eq!(off.message.rev, 5, "creation and four changes");
    }
}
