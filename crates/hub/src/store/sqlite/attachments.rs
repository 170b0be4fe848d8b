//! Uploads and the attachments they become. The bytes are in the blob directory; these rows
//! say whose they are and which message carries them.

use async_trait::async_trait;
use rapport_protocol::Attachment;

use super::messages::{AttachmentColumns, ATTACHMENT_COLUMNS};
use super::SqliteStore;
use crate::clock::now_ms;
use crate::store::{AttachmentStore, NewUpload, StoreResult};

/// Ids per `IN (…)` list.
const IDS_PER_QUERY: usize = 500;

#[async_trait]
impl AttachmentStore for SqliteStore {
    async fn create_upload(&self, upload: NewUpload<'_>) -> StoreResult<Attachment> {
        let (width, height) = upload.dimensions.map_or((None, None), |(w, h)| (Some(i64::from(w)), Some(i64::from(h))));
        sqlx::query(
            "INSERT INTO attachments (id, uploader_id, filename, content_type, size, sha256, width, height, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(upload.id)
        .bind(upload.uploader_id)
        .bind(upload.filename)
        .bind(upload.content_type)
        .bind(upload.size as i64)
        .bind(upload.sha256)
        .bind(width)
        .bind(height)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(Attachment {
            id: upload.id.to_owned(),
            filename: upload.filename.to_owned(),
            content_type: upload.content_type.to_owned(),
            size: upload.size,
            sha256: upload.sha256.to_owned(),
            width: upload.dimensions.map(|(w, _)| w),
            height: upload.dimensions.map(|(_, h)| h),
        })
    }

    async fn attachment_for(&self, user_id: &str, attachment_id: &str) -> StoreResult<Option<Attachment>> {
        let row: Option<AttachmentColumns> = sqlx::query_as(&format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments a
               LEFT JOIN messages m ON m.id = a.message_id
              WHERE a.id = $1
                AND (a.uploader_id = $2
                     OR EXISTS (SELECT 1 FROM members mm WHERE mm.conversation_id = m.conversation_id AND mm.user_id = $2))"
        ))
        .bind(attachment_id)
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn remove_unsent_uploads(&self, cutoff_ms: i64) -> StoreResult<Vec<String>> {
        // One statement: an upload being attached right now is either attached first (and
        // kept) or removed first (and the send is refused), never both.
        Ok(sqlx::query_scalar("DELETE FROM attachments WHERE message_id IS NULL AND created_at < $1 RETURNING id")
            .bind(cutoff_ms)
            .fetch_all(&self.write)
            .await?)
    }

    async fn known_attachments(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut known = Vec::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = format!("SELECT id FROM attachments WHERE id IN ({})", vec!["?"; chunk.len()].join(", "));
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            known.extend(query.fetch_all(&self.read).await?);
        }
        Ok(known)
    }
}
