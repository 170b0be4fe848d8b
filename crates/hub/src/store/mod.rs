//! Persistence behind one trait, so a second database is a second implementation.
//!
//! Layout: this file holds the contract (one trait per concept: users, logins,
//! conversations, messages, receipts, notifications; [`Store`] is all of them); `batch` plans
//! a group commit the same way for every database; `sqlite/` (the embedded default) and
//! `postgres/` (several hubs sharing one database) implement the contract with one file per
//! concept each.
//!
//! The invariants that must hold under concurrency live in the database, not in the hub's
//! memory, so that they hold just as well when several hub processes share one database:
//! `seq` is assigned in the same transaction as the insert (gap-free),
//! `(sender, conversation, client_msg_id)` is unique, a pair of users has at most one direct
//! conversation, and a refresh token is spent by one atomic update. Everything returned here is already in
//! protocol shape for the caller it was asked for.

mod batch;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use prometheus_client::metrics::histogram::Histogram;
use rapport_protocol::gateway::ReceiptKind;
use rapport_protocol::{Conversation, Message, Notification, NotificationKind, Role, User};

use crate::config::Config;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row, or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// The email is already registered.
    #[error("email already registered")]
    EmailTaken,
    /// The database cannot be reached, is restarting or overloaded, or broke a deadlock by
    /// rolling this call back: nothing the call did is kept, except that a commit whose answer
    /// was lost may have happened. Retrying later is the cure (a send retried with the same
    /// `client_msg_id` is stored once either way). Shared, so that one failure can answer
    /// every message of a batch.
    #[error("database unavailable: {0}")]
    Unavailable(Arc<sqlx::Error>),
    /// The text holds a character this database cannot store (U+0000 on PostgreSQL).
    #[error("text the database cannot store")]
    InvalidText,
    /// The database failed.
    #[error(transparent)]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> StoreError {
        match &err {
            _ if is_transient(&err) => StoreError::Unavailable(Arc::new(err)),
            sqlx::Error::Database(db) if postgres::is_invalid_text(db.as_ref()) => StoreError::InvalidText,
            _ => StoreError::Database(err),
        }
    }
}

/// Whether a failure means "not now" rather than "never": no connection could be had in time,
/// the connection broke, or PostgreSQL said so (its list is `postgres::is_transient`).
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => postgres::is_transient(db.as_ref()),
        _ => false,
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A user about to be created.
pub struct NewUser<'a> {
    /// Lower-cased email.
    pub email: &'a str,
    /// PHC string of the argon2id hash.
    pub password_hash: &'a str,
    /// Name shown to others.
    pub display_name: &'a str,
    /// Recruiter or candidate.
    pub role: Role,
}

/// A message about to be stored.
pub struct NewMessage<'a> {
    /// Where.
    pub conversation_id: &'a str,
    /// Who (must be a member).
    pub sender_id: &'a str,
    /// Idempotency key.
    pub client_msg_id: &'a str,
    /// Text.
    pub body: &'a str,
}

/// Which page of history.
#[derive(Debug, Clone, Copy)]
pub enum Page {
    /// The newest `limit` messages.
    Latest,
    /// The `limit` messages right after this seq.
    After(i64),
    /// The `limit` messages right before this seq.
    Before(i64),
}

/// What presenting a refresh token found.
pub enum RefreshUse {
    /// Valid and now spent: issue the next one in the same login.
    Fresh {
        /// The login (token family).
        login_id: String,
        /// Its user.
        user: User,
    },
    /// Already spent once: someone replayed it. The login has been revoked.
    Reused {
        /// The revoked login.
        login_id: String,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Everything a gateway `ready` reads from the database, for one user.
#[derive(Clone)]
pub struct ReadySnapshot {
    /// The user.
    pub user: User,
    /// Their conversations, as [`Store::conversations_of`] gives them.
    pub conversations: Vec<Conversation>,
    /// Their unread notifications.
    pub notifications_unread: i64,
}

/// A member's receipt positions after a `read` or `delivered`.
#[derive(Debug, Clone, Copy)]
pub struct Receipts {
    /// Highest read seq.
    pub read_seq: i64,
    /// Highest delivered seq.
    pub delivered_seq: i64,
}

/// The database: one trait per concept, so that a backend is a folder of files that each
/// implement one of them (see `sqlite/`), and the planning of a group commit that does not
/// depend on the dialect lives in `batch`.
#[async_trait]
pub trait Store: UserStore + LoginStore + ConversationStore + MessageStore + ReceiptStore + NotificationStore {
    /// Answers when the database is reachable.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the pool.
    async fn close(&self);
}

/// Accounts and the user directory.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; `EmailTaken` when the email exists.
    async fn create_user(&self, user: NewUser<'_>) -> StoreResult<User>;
    /// The user with this (lower-cased) email and their password hash.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>>;
    /// The user with this id.
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>>;
    /// Users whose display name contains `q` (case-insensitive) or whose email is `q`.
    async fn search_users(&self, q: &str, limit: u32) -> StoreResult<Vec<User>>;
}

/// Logins: families of rotating refresh tokens.
#[async_trait]
pub trait LoginStore: Send + Sync {
    /// Starts a login (a refresh-token family) with its first refresh token.
    async fn create_login(&self, user_id: &str, token_hash: &str, expires_at: i64) -> StoreResult<String>;
    /// Spends a refresh token and, when it was fresh, stores its successor atomically.
    async fn use_refresh_token(&self, token_hash: &str, next_hash: &str, next_expires_at: i64) -> StoreResult<RefreshUse>;
    /// Revokes the login that holds this refresh token; returns its id when there was one.
    async fn revoke_by_refresh_token(&self, token_hash: &str) -> StoreResult<Option<String>>;
    /// Whether the login has not been revoked.
    async fn login_is_active(&self, login_id: &str) -> StoreResult<bool>;
}

/// Conversations, their members, and what a gateway `ready` reads.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// The direct conversation of the pair, created when missing; `true` when created.
    async fn direct_conversation(&self, me: &str, other: &str) -> StoreResult<(Conversation, bool)>;
    /// A new group of `me` and `others` (existing users, deduplicated).
    async fn create_group(&self, me: &str, title: &str, others: &[String]) -> StoreResult<Conversation>;
    /// The user, their conversations and their unread notification count, read together (one
    /// connection, as few queries as the database allows): every reconnect asks for it.
    /// `None` when there is no such user.
    async fn ready_snapshot(&self, user_id: &str) -> StoreResult<Option<ReadySnapshot>>;
    /// Every conversation of the user, most recent activity first.
    async fn conversations_of(&self, user_id: &str) -> StoreResult<Vec<Conversation>>;
    /// One conversation as this member sees it; `NotFound` for non-members.
    async fn conversation(&self, user_id: &str, conversation_id: &str) -> StoreResult<Conversation>;
    /// The member ids of a conversation (empty when there is no such conversation).
    async fn member_ids(&self, conversation_id: &str) -> StoreResult<Vec<String>>;
    /// Everyone who shares at least one conversation with the user, not the user.
    async fn contacts_of(&self, user_id: &str) -> StoreResult<Vec<String>>;
}

/// Messages: group commit and history.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores messages together (group commit: one transaction for many), each with the next
    /// seq of its conversation in batch order, assigned in the transaction that inserts it.
    /// One result per message, in order: `(message, true)` when stored; `(earlier message,
    /// false)` when the sender already used that client id in that conversation, earlier in
    /// this batch included;
    /// `NotFound` for non-members. A message that fails does not fail the others.
    async fn insert_messages(&self, batch: &[NewMessage<'_>]) -> Vec<StoreResult<(Message, bool)>>;
    /// A page of history, ascending, and whether more lies beyond it. `NotFound` for non-members.
    async fn messages(&self, user_id: &str, conversation_id: &str, page: Page, limit: u32) -> StoreResult<(Vec<Message>, bool)>;
}

/// Read and delivered positions.
#[async_trait]
pub trait ReceiptStore: Send + Sync {
    /// Moves the member's `kind` position to at least `seq`, capped at the last message; read
    /// moves delivered with it (what was read was delivered). `NotFound` for non-members.
    async fn move_receipt(&self, user_id: &str, conversation_id: &str, kind: ReceiptKind, seq: i64) -> StoreResult<Receipts>;
}

/// Notifications pushed by integrations.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores a notification for a user.
    async fn create_notification(&self, user_id: &str, kind: NotificationKind, title: &str, body: &str, data: &serde_json::Value) -> StoreResult<Notification>;
    /// The user's notifications, newest first.
    async fn notifications(&self, user_id: &str, unread_only: bool) -> StoreResult<Vec<Notification>>;
    /// Marks one read; `NotFound` when it is not the user's.
    async fn mark_notification_read(&self, user_id: &str, id: &str) -> StoreResult<()>;
    /// Number of unread notifications.
    async fn unread_notifications(&self, user_id: &str) -> StoreResult<i64>;
}

/// Opens the database named by the configuration and migrates it. `pool_wait` observes how
/// long each call waited for a pooled connection (PostgreSQL, whose pool is bounded by
/// `--database-pool`; SQLite's pools are internal and observe nothing).
pub async fn open(config: &Config, pool_wait: Histogram) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url.as_str();
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PostgresStore::open(config, pool_wait).await?))
    } else {
        anyhow::bail!("unsupported database URL (expected sqlite://PATH or postgres://...)")
    }
}
