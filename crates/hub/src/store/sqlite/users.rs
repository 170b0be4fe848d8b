//! Accounts and the user directory.

use async_trait::async_trait;
use rapport_protocol::{Role, User};
use sqlx::FromRow;

use super::SqliteStore;
use crate::clock::{new_id, now_ms};
use crate::store::{NewUser, StoreError, StoreResult, UserStore};

#[derive(FromRow)]
pub(super) struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
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

/// The columns of a [`UserRow`], in order.
pub(super) const USER_COLUMNS: &str = "id, email, display_name, role";

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl UserStore for SqliteStore {
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
              WHERE (instr(display_name_folded, $1) > 0 OR email = $1)
                -- (§5) outside contacts are no one's to look up: a phone number is not a directory entry
                AND NOT EXISTS (SELECT 1 FROM bridge_contacts b WHERE b.user_id = users.id)
              ORDER BY display_name_folded, id LIMIT $2"
        ))
        .bind(&folded)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
