//! Saved replies (1.1, §3), private to their owner.

use async_trait::async_trait;
use rapport_protocol::Template;
use sqlx::{Connection as _, FromRow};

use super::PostgresStore;
use crate::clock::{new_id, now_ms, rfc3339};
use crate::store::{Refusal, StoreError, StoreResult, TemplateStore, MAX_TEMPLATES};

#[derive(FromRow)]
struct TemplateRow {
    id: String,
    name: String,
    body: String,
    created_at: i64,
    updated_at: i64,
}

impl From<TemplateRow> for Template {
    fn from(row: TemplateRow) -> Template {
        Template { id: row.id, name: row.name, body: row.body, created_at: rfc3339(row.created_at), updated_at: rfc3339(row.updated_at) }
    }
}

#[async_trait]
impl TemplateStore for PostgresStore {
    async fn templates(&self, owner_id: &str) -> StoreResult<Vec<Template>> {
        let rows: Vec<TemplateRow> = sqlx::query_as(
            "SELECT id, name, body, created_at, updated_at FROM templates WHERE owner_id = $1 ORDER BY name, id",
        )
        .bind(owner_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn create_template(&self, owner_id: &str, name: &str, body: &str) -> StoreResult<Template> {
        let (id, now) = (new_id(), now_ms());
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        // The owner's row serialises their creations, so the cap holds with several hubs.
        sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE").bind(owner_id).execute(&mut *tx).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM templates WHERE owner_id = $1").bind(owner_id).fetch_one(&mut *tx).await?;
        if count >= MAX_TEMPLATES {
            return Err(StoreError::Refused(Refusal::TooManyTemplates));
        }
        let inserted = sqlx::query(
            "INSERT INTO templates (id, owner_id, name, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (owner_id, name) DO NOTHING",
        )
        .bind(&id)
        .bind(owner_id)
        .bind(name)
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Refused(Refusal::TemplateNameTaken));
        }
        tx.commit().await?;
        Ok(Template { id, name: name.to_owned(), body: body.to_owned(), created_at: rfc3339(now), updated_at: rfc3339(now) })
    }

    async fn update_template(&self, owner_id: &str, id: &str, name: &str, body: &str) -> StoreResult<Template> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE").bind(owner_id).execute(&mut *tx).await?;
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM templates WHERE owner_id = $1 AND name = $2 AND id <> $3")
            .bind(owner_id)
            .bind(name)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            // A missing template is named as such before its new name is judged.
            let exists: Option<String> = sqlx::query_scalar("SELECT id FROM templates WHERE id = $1 AND owner_id = $2")
                .bind(id)
                .bind(owner_id)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match exists {
                Some(_) => StoreError::Refused(Refusal::TemplateNameTaken),
                None => StoreError::NotFound,
            });
        }
        let row: Option<TemplateRow> = sqlx::query_as(
            "UPDATE templates SET name = $3, body = $4, updated_at = $5 WHERE id = $1 AND owner_id = $2
             RETURNING id, name, body, created_at, updated_at",
        )
        .bind(id)
        .bind(owner_id)
        .bind(name)
        .bind(body)
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn delete_template(&self, owner_id: &str, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM templates WHERE id = $1 AND owner_id = $2").bind(id).bind(owner_id).execute(&mut *self.conn().await?).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
