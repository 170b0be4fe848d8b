//! Persistence behind one trait, so a second database is a second implementation.
//!
//! Layout: this file holds the contract (one trait per concept: users, logins,
//! conversations, messages, changes to messages, attachments, receipts, notifications,
//! templates, scheduled messages, integrations, the Twilio bridge and its outbox;
//! [`Store`] is all of them). What does not depend on the dialect is decided in shared code,
//! the same for every database: `batch` plans a group commit, `change` decides an edit, a
//! deletion or a reaction from the rows a backend read, `parts` assembles a message's
//! attachments and reactions, `application` reads where a candidate stands off a status card. `sqlite/` (the embedded default) and `postgres/` (several hubs
//! sharing one database) implement the contract with one file per concept each. PostgreSQL also
//! implements [`ClusterStore`]: what hubs that share it read to catch up on events they missed.
//! `backend` is the one place that knows both: it opens the one a URL names and reads their
//! errors, so this contract depends on neither.
//!
//! The invariants that must hold under concurrency live in the database, not in the hub's
//! memory, so that they hold just as well when several hub processes share one database:
//! `seq` and `rev` are assigned in the same transaction as the change that takes them
//! (gap-free), `(sender, conversation, client_msg_id)` is unique, a pair of users has at most
//! one direct conversation, an upload is attached to one message at most, and a refresh token
//! is spent by one atomic update. Everything returned here is already in protocol shape for
//! the caller it was asked for.

mod application;
pub mod backend;
mod batch;
mod change;
mod outbound_rows;
mod parts;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use rapport_protocol::gateway::ReceiptKind;
use rapport_protocol::{
    Attachment, BridgeChannel, Card, Conversation, Message, MessageKind, Notification, NotificationKind, Role, ScheduledMessage, Template, User,
};
use rapport_protocol::rest::TwilioNumber;

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
    /// The caller may see the thing but the change breaks a rule of the protocol.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// The database failed.
    #[error(transparent)]
    Database(sqlx::Error),
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Why a change that names things the caller may see is refused (1.1, §1–§2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Only the sender edits or deletes a message (`forbidden`).
    NotSender,
    /// The message is deleted (`gone`).
    Deleted,
    /// The body is empty and there is nothing else in the message (`body_empty`).
    EmptyBody,
    /// The body is longer than a send allows (`body_too_long`).
    BodyTooLong,
    /// `reply_to` names no message of this conversation (`invalid_payload`).
    ReplyElsewhere,
    /// An attachment id that is not an unsent upload of the sender (`not_found`).
    AttachmentUnavailable,
    /// A new emoji on a message that has [`rapport_protocol::MAX_REACTIONS`] (`invalid_payload`).
    TooManyReactions,
    /// (§3) The owner already has a template of this name (`invalid_payload`).
    TemplateNameTaken,
    /// (§3) The owner has [`MAX_TEMPLATES`] templates already (`invalid_payload`).
    TooManyTemplates,
    /// (§3) The scheduled message is being sent or was sent: too late to cancel (`gone`).
    AlreadySent,
    /// An edit, deletion or reaction of a member names no message of the conversation
    /// (`not_found` "message not found", as for any unknown id).
    NoSuchMessage,
    /// (§5) Another recruiter receives on this Twilio number (`conflict`).
    NumberTaken,
}

/// Templates one user keeps at most.
pub const MAX_TEMPLATES: i64 = 500;

/// A scheduled message about to be stored (1.1, §3).
pub struct NewScheduled<'a> {
    /// Who will send it (must be a member).
    pub sender_id: &'a str,
    /// Where.
    pub conversation_id: &'a str,
    /// Its idempotency key now, and that of the message it becomes.
    pub client_msg_id: &'a str,
    /// Text.
    pub body: &'a str,
    /// Its card, checked by the caller.
    pub card: Option<&'a Card>,
    /// When, in milliseconds since the epoch.
    pub send_at: i64,
}

/// A scheduled message a hub claimed to send now.
#[derive(Debug, Clone)]
pub struct DueMessage {
    /// The scheduled message's id.
    pub id: String,
    /// Who sends it.
    pub sender_id: String,
    /// Where.
    pub conversation_id: String,
    /// The key of the message it becomes.
    pub client_msg_id: String,
    /// Text.
    pub body: String,
    /// Its card.
    pub card: Option<Card>,
    /// When it is due (ms since the epoch): the order it is sent in, with `id`.
    pub send_at: i64,
}

/// How sending a scheduled message ended.
pub enum SentOutcome<'a> {
    /// Stored as this message.
    Sent(&'a str),
    /// Refused for good (the sender left the conversation, …): it will not be tried again.
    Failed(&'a str),
}

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
    /// Text, or the kind of its card.
    pub kind: MessageKind,
    /// The card, checked by the caller against `kind`.
    pub card: Option<&'a Card>,
    /// A message of the same conversation it answers.
    pub reply_to: Option<&'a str>,
    /// Unsent uploads of the sender, distinct, at most [`rapport_protocol::MAX_ATTACHMENTS`].
    pub attachment_ids: &'a [String],
}

impl<'a> NewMessage<'a> {
    /// A plain text message.
    pub fn text(conversation_id: &'a str, sender_id: &'a str, client_msg_id: &'a str, body: &'a str) -> NewMessage<'a> {
        NewMessage {
            conversation_id,
            sender_id,
            client_msg_id,
            body,
            kind: MessageKind::Text,
            card: None,
            reply_to: None,
            attachment_ids: &[],
        }
    }
}

/// An upload about to be recorded; its bytes are already in the blob directory.
pub struct NewUpload<'a> {
    /// Its id (also its blob's name).
    pub id: &'a str,
    /// Who uploaded it.
    pub uploader_id: &'a str,
    /// Safe file name.
    pub filename: &'a str,
    /// Media type.
    pub content_type: &'a str,
    /// Bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: &'a str,
    /// Image dimensions, when it is an image the hub could read.
    pub dimensions: Option<(u32, u32)>,
}

/// What an edit, a deletion or a reaction did.
#[derive(Debug, Clone)]
pub struct Change {
    /// The message as it is now.
    pub message: Message,
    /// Whether anything changed (a repeat changes nothing, takes no rev and is not announced).
    pub changed: bool,
    /// Attachments whose rows the change removed (a deletion): their blobs go next.
    pub removed_attachments: Vec<String>,
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
    /// (1.1) The `limit` messages whose `rev` is above this one, ascending by `rev`.
    ChangedAfter(i64),
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
pub trait Store:
    UserStore
    + LoginStore
    + ConversationStore
    + MessageStore
    + ChangeStore
    + AttachmentStore
    + ReceiptStore
    + NotificationStore
    + TemplateStore
    + ScheduleStore
    + IntegrationStore
    + BridgeStore
    + OutboundStore
{
    /// Answers when the database is reachable.
    async fn ping(&self) -> StoreResult<()>;
    /// Makes what deletions removed unrecoverable from the database's own files too (SQLite:
    /// a truncating checkpoint of the write-ahead log, which still holds the old pages).
    async fn purge_removed(&self) -> StoreResult<()>;
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
    /// seq and the next rev of its conversation in batch order, assigned in the transaction
    /// that inserts it, and attaches their uploads. One result per message, in order:
    /// `(message, true)` when stored; `(earlier message, false)` — as it is now — when the
    /// sender already used that client id in that conversation, earlier in this batch
    /// included; `NotFound` for non-members; `Refused` for a bad `reply_to` or attachment. A
    /// message that fails does not fail the others.
    async fn insert_messages(&self, batch: &[NewMessage<'_>]) -> Vec<StoreResult<(Message, bool)>>;
    /// A page of history, ascending, and whether more lies beyond it. `NotFound` for non-members.
    async fn messages(&self, user_id: &str, conversation_id: &str, page: Page, limit: u32) -> StoreResult<(Vec<Message>, bool)>;
}

/// (1.1) Changes to stored messages. Each takes the next rev of the conversation in the
/// transaction that makes it; a repeat changes nothing and takes none. `NotFound` when the
/// caller is not a member or the message is not in that conversation.
#[async_trait]
pub trait ChangeStore: Send + Sync {
    /// Replaces the body and sets `edited_at`, as [`change::edit`] decides (the caller checked
    /// the length).
    async fn edit_message(&self, user_id: &str, conversation_id: &str, message_id: &str, body: &str) -> StoreResult<Change>;
    /// Turns the message into a tombstone: body, card, reactions and attachment rows removed.
    async fn delete_message(&self, user_id: &str, conversation_id: &str, message_id: &str) -> StoreResult<Change>;
    /// Adds (`on`) or takes back the caller's reaction (the caller checked the emoji).
    async fn react(&self, user_id: &str, conversation_id: &str, message_id: &str, emoji: &str, on: bool) -> StoreResult<Change>;
}

/// (1.1) Uploads and the attachments they become.
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Records an upload (not yet attached to anything).
    async fn create_upload(&self, upload: NewUpload<'_>) -> StoreResult<Attachment>;
    /// The attachment, if this user may download it: its uploader, or a member of the
    /// conversation of the message that carries it.
    async fn attachment_for(&self, user_id: &str, attachment_id: &str) -> StoreResult<Option<Attachment>>;
    /// Removes the uploads that no message carries and that were made before `cutoff_ms`;
    /// returns their ids (their blobs go next).
    async fn remove_unsent_uploads(&self, cutoff_ms: i64) -> StoreResult<Vec<String>>;
    /// Of these ids, those that have a row (the others' blobs are left-overs).
    async fn known_attachments(&self, ids: &[String]) -> StoreResult<Vec<String>>;
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

/// (1.1, §3) Saved replies, each private to its owner: another user's id is `NotFound`.
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// The owner's templates by name.
    async fn templates(&self, owner_id: &str) -> StoreResult<Vec<Template>>;
    /// A new template; `Refused` when the name is taken or the owner has too many.
    async fn create_template(&self, owner_id: &str, name: &str, body: &str) -> StoreResult<Template>;
    /// Replaces a template's name and body.
    async fn update_template(&self, owner_id: &str, id: &str, name: &str, body: &str) -> StoreResult<Template>;
    /// Removes a template.
    async fn delete_template(&self, owner_id: &str, id: &str) -> StoreResult<()>;
}

/// (1.1, §3) Messages waiting for their time. Several hubs may share the table: a due message
/// is claimed by one of them for a lease, and becomes a message under its own client id, so
/// even a second send (after a hub died holding the claim) stores it once.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Stores a scheduled message, or returns the one the sender already scheduled under this
    /// client id in this conversation. `NotFound` when the sender is not a member.
    async fn schedule(&self, new: NewScheduled<'_>) -> StoreResult<ScheduledMessage>;
    /// The user's scheduled messages not sent yet, soonest first.
    async fn scheduled_of(&self, user_id: &str) -> StoreResult<Vec<ScheduledMessage>>;
    /// Cancels one; `NotFound` when it is not the user's, `Refused(AlreadySent)` when it is
    /// being sent or was sent.
    async fn cancel_scheduled(&self, user_id: &str, id: &str) -> StoreResult<()>;
    /// When the next unsent message falls due (or its claim runs out), in ms since the epoch.
    async fn next_due(&self) -> StoreResult<Option<i64>>;
    /// Claims up to `limit` messages due at `now` that nobody holds, until `lease_until`.
    async fn claim_due(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<DueMessage>>;
    /// Records how sending a claimed message ended; it is never claimed again.
    async fn finish_scheduled(&self, id: &str, outcome: SentOutcome<'_>) -> StoreResult<()>;
}

/// (1.1, §3) What the applicant-tracking system told the hub, by its `external_id`.
#[async_trait]
pub trait IntegrationStore: Send + Sync {
    /// The message already posted for this external id, as it is now.
    async fn integration_message(&self, external_id: &str) -> StoreResult<Option<Message>>;
    /// Records that `external_id` became `message_id` and, in the same transaction, creates
    /// the candidate's notification unless an earlier call for this external id did: returns
    /// it when this call created it. A concurrent second call waits for the first and creates
    /// none.
    async fn record_integration(
        &self,
        external_id: &str,
        conversation_id: &str,
        message_id: &str,
        notify: NewNotification<'_>,
    ) -> StoreResult<Option<Notification>>;
}

/// (1.1, §5) The WhatsApp / SMS bridge: the Twilio numbers recruiters receive on, the outside
/// contacts who write to them (each a users row that cannot log in, so that their messages are
/// those of any member), and the inbound messages already taken, by Twilio's `MessageSid`.
#[async_trait]
pub trait BridgeStore: Send + Sync {
    /// The owner's numbers, oldest first.
    async fn twilio_numbers(&self, owner_id: &str) -> StoreResult<Vec<TwilioNumber>>;
    /// Gives the owner this (E.164) number; `true` when it was added now, `false` when they had
    /// it already. `Refused(NumberTaken)` when someone else has it.
    async fn add_twilio_number(&self, owner_id: &str, number: &str) -> StoreResult<(TwilioNumber, bool)>;
    /// Takes the number from its owner; `NotFound` when it is not theirs.
    async fn remove_twilio_number(&self, owner_id: &str, number: &str) -> StoreResult<()>;
    /// Who receives on this number.
    async fn twilio_number_owner(&self, number: &str) -> StoreResult<Option<String>>;
    /// The user id of the contact who writes from `number` over `channel`, created when
    /// missing (by one caller only, also when several hubs receive their first message at once).
    async fn bridge_contact(&self, channel: BridgeChannel, number: &str) -> StoreResult<String>;
    /// Records that the contact wrote into the conversation through `twilio_number` at `at_ms`
    /// (the number replies go out from, and the start of WhatsApp's 24-hour window).
    async fn record_bridge_inbound(&self, conversation_id: &str, contact_id: &str, recruiter_id: &str, twilio_number: &str, at_ms: i64) -> StoreResult<()>;
    /// The message an inbound `MessageSid` became, when it was taken before.
    async fn inbound_message_id(&self, message_sid: &str) -> StoreResult<Option<String>>;
    /// Records that `message_sid` became `message_id` (a second record of the sid keeps the first).
    async fn record_inbound_message(&self, message_sid: &str, message_id: &str) -> StoreResult<()>;
    /// Whether the conversation runs over the bridge: its channel, when the contact last wrote
    /// (ms since the epoch), and the recruiter.
    async fn bridge_window(&self, conversation_id: &str) -> StoreResult<Option<BridgeWindow>>;
}

/// (§5) A conversation that runs over the bridge, as a send into it needs to know it.
#[derive(Debug, Clone)]
pub struct BridgeWindow {
    /// WhatsApp or SMS.
    pub channel: BridgeChannel,
    /// When the contact last wrote, ms since the epoch.
    pub last_inbound_at: i64,
    /// The recruiter whose messages go out.
    pub recruiter_id: String,
}

/// (1.1, §5) The outbox of the bridge: a message of a recruiter into a bridged conversation is
/// queued by the database in the transaction that stores it (a trigger), and goes out through
/// Twilio from here. Hubs claim due rows for a lease, as scheduled messages are claimed, so one
/// hub sends each; Twilio's answer is recorded at once.
#[async_trait]
pub trait OutboundStore: Send + Sync {
    /// When the next unsent row falls due (or its claim runs out), in ms since the epoch.
    async fn next_outbound_due(&self) -> StoreResult<Option<i64>>;
    /// Claims up to `limit` rows due at `now` that nobody holds, until `lease_until`, with what
    /// sending them needs; oldest first.
    async fn claim_outbound(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<Outbound>>;
    /// A try that may succeed later: the row is released, to be tried at `next_attempt_at`.
    async fn retry_outbound(&self, message_id: &str, attempts: i64, next_attempt_at: i64) -> StoreResult<()>;
    /// Records how the row ended; `true` when this call ended it (an earlier one did not).
    async fn finish_outbound(&self, message_id: &str, outcome: OutboundOutcome<'_>) -> StoreResult<bool>;
    /// The row Twilio knows by this `MessageSid`.
    async fn outbound_by_sid(&self, twilio_sid: &str) -> StoreResult<Option<SentOutbound>>;
    /// Records that Twilio reported the message undelivered; `true` the first time.
    async fn outbound_undelivered(&self, twilio_sid: &str, why: &str) -> StoreResult<bool>;
}

/// (§5) A message a hub claimed to send through Twilio.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The message, which is also the row's key.
    pub message_id: String,
    /// Where it was sent.
    pub conversation_id: String,
    /// The recruiter who sent it.
    pub sender_id: String,
    /// Its text and card now (a deletion before it went out leaves nothing to send).
    pub body: String,
    /// Its card.
    pub card: Option<Card>,
    /// Whether it was deleted before it went out.
    pub deleted: bool,
    /// Tries so far.
    pub attempts: i64,
    /// WhatsApp or SMS.
    pub channel: BridgeChannel,
    /// The contact's number.
    pub to: String,
    /// The recruiter's Twilio number the contact last wrote to.
    pub from: String,
    /// When the contact last wrote, ms since the epoch.
    pub last_inbound_at: i64,
}

/// How sending an outbound message ended.
pub enum OutboundOutcome<'a> {
    /// Twilio took it under this `MessageSid`.
    Sent(&'a str),
    /// Given up on, for this reason.
    Failed(&'a str),
}

/// (§5) A message Twilio took, as its status callbacks need it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SentOutbound {
    /// Where.
    pub conversation_id: String,
    /// Which message.
    pub message_id: String,
    /// Its seq, the receipt position it moves.
    pub seq: i64,
    /// The recruiter who sent it.
    pub sender_id: String,
    /// The contact it went to, whose receipts it moves.
    pub contact_id: String,
}

/// A notification about to be stored.
pub struct NewNotification<'a> {
    /// For whom.
    pub user_id: &'a str,
    /// What about.
    pub kind: NotificationKind,
    /// Headline.
    pub title: &'a str,
    /// Text.
    pub body: &'a str,
    /// Data for the client.
    pub data: &'a serde_json::Value,
}

/// Where a conversation stands in the database, for a hub that may have missed its events.
#[derive(Debug, Clone)]
pub struct ConversationPositions {
    /// Which conversation.
    pub conversation_id: String,
    /// Its newest seq.
    pub last_seq: i64,
    /// Its newest rev.
    pub last_rev: i64,
    /// Each member's `(user_id, read_seq, delivered_seq)`.
    pub receipts: Vec<(String, i64, i64)>,
}

/// What hubs sharing one database read to catch up on the events they may have missed while
/// Redis was away (PostgreSQL only: a SQLite database belongs to one hub).
#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Where these conversations stand (those that exist).
    async fn positions(&self, conversation_ids: &[String]) -> StoreResult<Vec<ConversationPositions>>;
    /// Every `(user_id, conversation_id)` membership of these users.
    async fn memberships(&self, user_ids: &[String]) -> StoreResult<Vec<(String, String)>>;
    /// These users' notifications created at or after `since_ms`, oldest first, each with its
    /// user's id.
    async fn notifications_since(&self, user_ids: &[String], since_ms: i64) -> StoreResult<Vec<(String, Notification)>>;
}
