//! Logins: refresh-token families, rotation with reuse detection, revocation.

use async_trait::async_trait;
use sqlx::Connection as _;

use super::users::{UserRow, USER_COLUMNS};
use super::PostgresStore;
use crate::clock::{new_id, now_ms};
use crate::store::{LoginStore, RefreshUse, StoreResult};

#[async_trait]
impl LoginStore for PostgresStore {
    async fn create_login(&self, user_id: &str, token_hash: &str, expires_at: i64) -> StoreResult<String> {
        let login_id = new_id();
        let mut conn = self.conn().await?;
        // One statement, so no transaction: both rows or neither.
        sqlx::query(
            "WITH login AS (INSERT INTO logins (id, user_id, created_at) VALUES ($1, $2, $3))
             INSERT INTO refresh_tokens (token_hash, login_id, expires_at) VALUES ($4, $1, $5)",
        )
        .bind(&login_id)
        .bind(user_id)
        .bind(now_ms())
        .bind(token_hash)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
        Ok(login_id)
    }

    async fn use_refresh_token(&self, token_hash: &str, next_hash: &str, next_expires_at: i64) -> StoreResult<RefreshUse> {
        let now = now_ms();
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        // Spend it first: the update locks the row, so of two presenters (on any hubs) one
        // spends it and the other, once the first commits, finds it spent.
        let spent: Option<(String, i64)> = sqlx::query_as(
            "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL
             RETURNING login_id, expires_at",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((login_id, expires_at)) = spent else {
            // A spent token came back: whoever holds it is not the rightful owner, or the owner
            // lost a race with a thief. Either way, the whole login ends.
            let revoked: Option<String> = sqlx::query_scalar(
                "UPDATE logins SET revoked_at = COALESCE(revoked_at, $2)
                  WHERE id = (SELECT login_id FROM refresh_tokens WHERE token_hash = $1)
                 RETURNING id",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(match revoked {
                Some(login_id) => RefreshUse::Reused { login_id },
                None => RefreshUse::Invalid,
            });
        };
        let owner: Option<(Option<i64>, String)> = sqlx::query_as("SELECT revoked_at, user_id FROM logins WHERE id = $1")
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
        let mut conn = self.conn().await?;
        let id: Option<String> = sqlx::query_scalar(
            "UPDATE logins SET revoked_at = COALESCE(revoked_at, $2)
              WHERE id = (SELECT login_id FROM refresh_tokens WHERE token_hash = $1)
             RETURNING id",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(id)
    }

    async fn login_is_active(&self, login_id: &str) -> StoreResult<bool> {
        let mut conn = self.conn().await?;
        let revoked: Option<Option<i64>> = sqlx::query_scalar("SELECT revoked_at FROM logins WHERE id = $1")
            .bind(login_id)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(matches!(revoked, Some(None)))
    }
}
