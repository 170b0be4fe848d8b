//! Files in the cache: uploads of queued sends (`outbox_files`), the attachments of cached
//! messages, and the copies kept on this device (`downloads`, least recently used first out).

use super::Cache;
use crate::event::{DownloadVariant, LocalAttachment};
use crate::EngineError;

/// One file of a queued send that still has to reach the hub.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct UploadJob {
    pub client_msg_id: String,
    pub conversation_id: Option<String>,
    pub position: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// Relative to the profile.
    pub staged: String,
}

/// A kept copy that was let go: its path relative to the profile.
pub(crate) type Evicted = String;

impl Cache {
    /// The next file to upload: of the oldest pending send, the first file without an upload
    /// made after `fresh_after` (unix ms; older uploads may have expired at the hub).
    pub(crate) async fn next_upload(&self, fresh_after: i64) -> Result<Option<UploadJob>, EngineError> {
        Ok(sqlx::query_as(
            "SELECT f.client_msg_id, o.conversation_id, f.position, f.filename, f.content_type, f.size, f.sha256, f.staged
             FROM outbox_files f JOIN outbox o ON o.client_msg_id = f.client_msg_id
             WHERE o.state = 'pending' AND o.op = 'send' AND (f.attachment_id IS NULL OR f.uploaded_at < ?)
             ORDER BY o.position, f.position LIMIT 1",
        )
        .bind(fresh_after)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A file is at the hub as `attachment_id`: whether every file of its send is now (`None`
    /// when the send was discarded meanwhile).
    pub(crate) async fn uploaded(&self, client_msg_id: &str, position: i64, attachment_id: &str, now_ms: i64) -> Result<Option<bool>, EngineError> {
        let done = sqlx::query("UPDATE outbox_files SET attachment_id = ?, uploaded_at = ? WHERE client_msg_id = ? AND position = ?")
            .bind(attachment_id)
            .bind(now_ms)
            .bind(client_msg_id)
            .bind(position)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let missing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox_files WHERE client_msg_id = ? AND attachment_id IS NULL")
            .bind(client_msg_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(missing == 0))
    }

    /// `(bytes uploaded, bytes in all)` of a send's files.
    pub(crate) async fn upload_totals(&self, client_msg_id: &str) -> Result<(u64, u64), EngineError> {
        let (done, total): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN attachment_id IS NOT NULL THEN size ELSE 0 END), 0), COALESCE(SUM(size), 0)
             FROM outbox_files WHERE client_msg_id = ?",
        )
        .bind(client_msg_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((done.max(0) as u64, total.max(0) as u64))
    }

    /// The upload ids of a send's files, when every one was uploaded after `fresh_after`
    /// (`Some(vec![])` for a send without files); `None` while some still have to go.
    pub(crate) async fn attachment_ids(&self, client_msg_id: &str, fresh_after: i64) -> Result<Option<Vec<String>>, EngineError> {
        let rows: Vec<(Option<String>, Option<i64>)> =
            sqlx::query_as("SELECT attachment_id, uploaded_at FROM outbox_files WHERE client_msg_id = ? ORDER BY position")
                .bind(client_msg_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, at)| id.filter(|_| at.is_some_and(|at| at >= fresh_after)))
            .collect::<Option<Vec<String>>>())
    }

    /// Every staged copy the outbox still refers to (relative to the profile).
    pub(crate) async fn staged_files(&self) -> Result<Vec<String>, EngineError> {
        Ok(sqlx::query_scalar("SELECT staged FROM outbox_files").fetch_all(&self.pool).await?)
    }

    /// A cached attachment by id.
    pub(crate) async fn attachment(&self, id: &str) -> Result<Option<LocalAttachment>, EngineError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: String,
            filename: String,
            content_type: String,
            size: i64,
            sha256: String,
            width: Option<u32>,
            height: Option<u32>,
        }
        let row: Option<Row> = sqlx::query_as("SELECT id, filename, content_type, size, sha256, width, height FROM attachments WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| LocalAttachment {
            id: Some(r.id),
            filename: r.filename,
            content_type: r.content_type,
            size: r.size.max(0) as u64,
            sha256: r.sha256,
            width: r.width,
            height: r.height,
        }))
    }

    /// Where the kept copy is (relative to the profile), marking it used now.
    ///
    /// `last_used` is the wall clock, but never equal to or behind the latest use: two uses in
    /// one millisecond must still be ordered, or the one used last could be evicted first.
    pub(crate) async fn use_download(&self, attachment_id: &str, variant: DownloadVariant, now_ms: i64) -> Result<Option<(String, u64)>, EngineError> {
        let row: Option<(String, i64)> =
            sqlx::query_as("UPDATE downloads SET last_used = MAX(?, (SELECT COALESCE(MAX(last_used), 0) + 1 FROM downloads)) WHERE attachment_id = ? AND variant = ? RETURNING path, size")
                .bind(now_ms)
                .bind(attachment_id)
                .bind(variant.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(path, size)| (path, size.max(0) as u64)))
    }

    /// A copy is kept now (its use ordered after every other, as in [`Self::use_download`]).
    pub(crate) async fn keep_download(&self, attachment_id: &str, variant: DownloadVariant, path: &str, size: u64, now_ms: i64) -> Result<(), EngineError> {
        sqlx::query(
            "INSERT INTO downloads (attachment_id, variant, path, size, last_used)
             VALUES (?, ?, ?, ?, MAX(?, (SELECT COALESCE(MAX(last_used), 0) + 1 FROM downloads)))
             ON CONFLICT (attachment_id, variant) DO UPDATE SET path = excluded.path, size = excluded.size, last_used = excluded.last_used",
        )
        .bind(attachment_id)
        .bind(variant.as_str())
        .bind(path)
        .bind(size as i64)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Lets go of the least recently used copies until the rest take at most `cap` bytes; the
    /// one just used (`keep`) stays even when it alone is larger. The paths to remove.
    pub(crate) async fn evict_downloads(&self, cap: u64, keep: Option<(&str, DownloadVariant)>) -> Result<Vec<Evicted>, EngineError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let total: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(size), 0) FROM downloads").fetch_one(&mut *tx).await?;
        let mut over = total - cap.min(i64::MAX as u64) as i64;
        let mut out = Vec::new();
        if over > 0 {
            let (keep_id, keep_variant) = keep.map_or(("", ""), |(id, v)| (id, v.as_str()));
            let oldest: Vec<(String, String, String, i64)> = sqlx::query_as(
                "SELECT attachment_id, variant, path, size FROM downloads
                 WHERE NOT (attachment_id = ? AND variant = ?) ORDER BY last_used, rowid",
            )
            .bind(keep_id)
            .bind(keep_variant)
            .fetch_all(&mut *tx)
            .await?;
            for (id, variant, path, size) in oldest {
                if over <= 0 {
                    break;
                }
                sqlx::query("DELETE FROM downloads WHERE attachment_id = ? AND variant = ?").bind(&id).bind(&variant).execute(&mut *tx).await?;
                over -= size;
                out.push(path);
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Forgets the kept copies of these attachments (their message was deleted); the paths.
    pub(crate) async fn forget_downloads(&self, attachment_ids: &[String]) -> Result<Vec<Evicted>, EngineError> {
        let list = serde_json::to_string(attachment_ids).unwrap_or_else(|_| "[]".into());
        Ok(sqlx::query_scalar("DELETE FROM downloads WHERE attachment_id IN (SELECT value FROM json_each(?)) RETURNING path")
            .bind(list)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Bytes kept in all.
    pub(crate) async fn download_usage(&self) -> Result<u64, EngineError> {
        let total: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(size), 0) FROM downloads").fetch_one(&self.pool).await?;
        Ok(total.max(0) as u64)
    }
}
