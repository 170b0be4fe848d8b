//! Uploads and the attachments they become. The bytes are in the blob directory, which every
//! hub of this database shares; these rows say whose they are and which message carries them.

use async_trait::async_trait;
use rapport_protocol::Attachment;

use super::messages::{AttachmentColumns, ATTACHMENT_COLUMNS};
use super::PostgresStore;
use crate::clock::now_ms;
use crate::store::{AttachmentStore, NewUpload, StoreResult};

#[async_trait]
impl AttachmentStore for PostgresStore {
    async fn create_upload(&self, upload: NewUpload<'_>) -> StoreResult<Attachment> {
        let (width, height) = upload.dimensions.map_or((None, None), |(w, h)| (i32::try_from(w).ok(), i32::try_from(h).ok()));
        let mut conn = self.conn().await?;
        sqlx::query(
            "INSERT INTO attachments (id, uploader_id, filename, content_type, size, sha256, width, height, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(upload.id)
        .bind(upload.uploader_id)
        .bind(upload.filename)
        .bind(upload.content_type)
        .bind(i64::try_from(upload.size).unwrap_or(i64::MAX))
        .bind(upload.sha256)
        .bind(width)
        .bind(height)
        .bind(now_ms())
        .execute(&mut *conn)
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
        let mut conn = self.conn().await?;
        let row: Option<AttachmentColumns> = sqlx::query_as(&format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments a
               LEFT JOIN messages m ON m.id = a.message_id
              WHERE a.id = $1
                AND (a.uploader_id = $2
                     OR EXISTS (SELECT 1 FROM members mm WHERE mm.conversation_id = m.conversation_id AND mm.user_id = $2))"
        ))
        .bind(attachment_id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn remove_unsent_uploads(&self, cutoff_ms: i64) -> StoreResult<Vec<String>> {
        // One statement: a batch attaching one of them holds its row lock, so the row is
        // either attached first (and kept: the condition is checked again after the wait) or
        // removed first (and the send is refused), never both — whichever hubs they run on.
        let mut conn = self.conn().await?;
        Ok(sqlx::query_scalar("DELETE FROM attachments WHERE message_id IS NULL AND created_at < $1 RETURNING id")
            .bind(cutoff_ms)
            .fetch_all(&mut *conn)
            .await?)
    }

    async fn known_attachments(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut conn = self.conn().await?;
        Ok(sqlx::query_scalar("SELECT id FROM attachments WHERE id = ANY($1)").bind(ids).fetch_all(&mut *conn).await?)
    }
}
