//! The data the engine hands to its callers: its event stream and the shapes of cached things.

use rapport_protocol::gateway::{Event, ReceiptKind};
use rapport_protocol::rest::ChosenStatus;
use rapport_protocol::{Application, Bridge, Card, ConversationKind, Member, MessageKind, Notification, Presence};
use serde::{Deserialize, Serialize};

/// The connection supervisor's state, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    /// Opening a connection (first attempt, or right after `reconnect_now`).
    Connecting,
    /// `ready` or `resumed` received; ops flow.
    Connected {
        /// What carries the session.
        transport: Transport,
    },
    /// The last attempt failed or the connection was lost; the next attempt is scheduled.
    Reconnecting {
        /// 1 for the first retry after a failure, then 2, 3, …
        attempt: u32,
        /// How long until that attempt.
        retry_in_ms: u64,
    },
    /// Not trying to connect (the supervisor is not running).
    Offline {
        /// Why.
        reason: String,
    },
    /// The login is gone (logged out, or the hub refused the refresh): nothing is retried.
    SignedOut,
}

impl ConnectionState {
    /// Whether ops flow (over either transport).
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnectionState::Connected { .. })
    }
}

/// What carries the connection to the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// The gateway WebSocket: the normal case.
    #[serde(rename = "websocket")]
    WebSocket,
    /// HTTP long polling, because the WebSocket does not get through (a proxy refuses it);
    /// the engine keeps trying the WebSocket and goes back to it.
    HttpFallback,
}

/// Where a message is, as far as this device knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum MessageState {
    /// In the outbox, not yet acknowledged by the hub.
    Pending,
    /// Stored by the hub (for messages of others: cached here, not yet read by this user).
    Sent,
    /// Own message: every other member has it on a device. Others' message: cached here.
    Delivered,
    /// Own message: every other member read it. Others' message: this user read it.
    Read,
    /// The hub refused it for good; see `error`. Retry or discard.
    Failed,
}

impl MessageState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Sent => "sent",
            MessageState::Delivered => "delivered",
            MessageState::Read => "read",
            MessageState::Failed => "failed",
        }
    }
}

/// A message as this device knows it: the protocol `Message` plus its local state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocalMessage {
    /// The hub's id; null while pending or failed.
    pub id: Option<String>,
    /// Where it belongs; empty for a queued `send --to EMAIL` whose conversation is not known yet.
    pub conversation_id: String,
    /// Position in the conversation; null while pending or failed.
    pub seq: Option<i64>,
    /// Who sent it.
    pub sender_id: String,
    /// The text.
    pub body: String,
    /// The idempotency key (UUIDv7 for messages sent from here); stable across states.
    pub client_msg_id: String,
    /// RFC 3339: the hub's time, or the local compose time while pending.
    pub created_at: String,
    /// Local state.
    pub state: MessageState,
    /// Why it failed, when it did: the hub's code, or the engine's for a message refused
    /// before it reached the hub.
    pub error: Option<crate::Code>,
    /// For a queued `send --to EMAIL` whose conversation is not known yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_email: Option<String>,
    /// What sort of message it is: `text`, or the kind of its card.
    #[serde(default)]
    pub kind: MessageKind,
    /// (1.1, §3) A job or application status card; null for text and once deleted.
    #[serde(default)]
    pub card: Option<Card>,
    /// The message this one answers, or null.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The answered message as cached now (null when it is not cached).
    #[serde(default)]
    pub reply: Option<ReplyPreview>,
    /// Its files, in the order the sender gave them; `[]` once deleted.
    #[serde(default)]
    pub attachments: Vec<LocalAttachment>,
    /// Reactions, ordered by first use, this device's queued ones included; `[]` once deleted.
    #[serde(default)]
    pub reactions: Vec<LocalReaction>,
    /// When the body was last edited (RFC 3339), or null.
    #[serde(default)]
    pub edited_at: Option<String>,
    /// When it was deleted (RFC 3339), or null: a tombstone (empty body, no files, no reactions).
    #[serde(default)]
    pub deleted_at: Option<String>,
    /// The conversation's change counter at the latest change of this message the cache has;
    /// 0 while pending (or from a v1 hub).
    #[serde(default)]
    pub rev: i64,
    /// An edit or deletion this device queued and the hub has not applied yet. The fields
    /// above already show it (the new body; a tombstone for a deletion), unless it failed.
    #[serde(default)]
    pub change: Option<PendingChange>,
    /// While a pending message's files are uploaded: how far (in bytes of all of them).
    #[serde(default)]
    pub upload: Option<TransferProgress>,
}

/// A file sent with a message: what the hub says about it. The bytes come from
/// [`crate::Engine::download`] (and a preview of an image from [`crate::Engine::thumbnail`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocalAttachment {
    /// The hub's id; null while the message is still in the outbox.
    pub id: Option<String>,
    /// A name safe to show and to save as (no path, no control characters).
    pub filename: String,
    /// The media type the sender declared.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// Pixels, for images.
    pub width: Option<u32>,
    /// Pixels, for images.
    pub height: Option<u32>,
}

/// One emoji on a message and who reacted with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocalReaction {
    /// One emoji or a `:shortcode:`.
    pub emoji: String,
    /// Who reacted with it, in the order they did (this user's queued reaction included).
    pub user_ids: Vec<String>,
    /// Whether this user is among them.
    pub mine: bool,
    /// This user's reaction (or taking it back) is queued and not yet at the hub.
    pub pending: bool,
}

/// The message a reply answers, as the thread quotes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReplyPreview {
    /// Its id (to scroll to it).
    pub message_id: String,
    /// Its position in the conversation.
    pub seq: i64,
    /// Who wrote it.
    pub sender_id: String,
    /// The beginning of its body (at most 200 characters); empty once deleted.
    pub body: String,
    /// How many files it carries.
    pub attachments: u32,
    /// Whether it was deleted.
    pub deleted: bool,
}

/// What a queued change does to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A new body.
    Edit,
    /// A deletion.
    Delete,
}

/// An edit or deletion in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PendingChange {
    /// Its id in the outbox: what [`crate::Engine::retry`] and [`crate::Engine::discard`] take.
    pub op_id: String,
    /// Edit or delete.
    pub kind: ChangeKind,
    /// `pending` (queued, sent when connected) or `failed` (see `error`; retry or discard).
    pub state: MessageState,
    /// Why it failed.
    pub error: Option<crate::Code>,
}

/// How far a transfer got, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TransferProgress {
    /// Bytes done.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// A page of history, ascending by seq, with pending and failed outbox entries at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryPage {
    /// Oldest first.
    pub messages: Vec<LocalMessage>,
    /// Older messages exist before this page.
    pub has_more: bool,
}

/// A conversation for the conversation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConversationSummary {
    /// Opaque id.
    pub id: String,
    /// Direct or group.
    pub kind: ConversationKind,
    /// Group title; null for direct conversations.
    pub title: Option<String>,
    /// What to show as its name: the title, or the other person's name.
    pub display_title: String,
    /// Everyone in it, with their receipts.
    pub members: Vec<Member>,
    /// Newest seq known at the hub.
    pub last_seq: i64,
    /// Newest cached message (or the newest pending one).
    pub last_message: Option<LocalMessage>,
    /// Messages of others after this user's read position.
    pub unread_count: i64,
    /// Muted conversations never notify.
    pub muted: bool,
    /// (1.1, §3) Where the candidate stands: the newest application status card, or null.
    #[serde(default)]
    pub application: Option<Application>,
    /// (1.1, §5) Set when the other member is an outside contact writing over WhatsApp or SMS
    /// through the hub's Twilio bridge (their number, and the recruiter's number replies go
    /// out from); null otherwise.
    #[serde(default)]
    pub bridge: Option<Bridge>,
    /// RFC 3339.
    pub created_at: String,
}

/// One piece of a search snippet: plain text, or a matched term to highlight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SnippetPart {
    /// Text to render as text.
    pub text: String,
    /// Whether it matched the query.
    pub hit: bool,
}

/// A search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchHit {
    /// The matching message.
    pub message: LocalMessage,
    /// Name of its conversation.
    pub conversation_title: String,
    /// Display name of the sender, when cached.
    pub sender_name: Option<String>,
    /// An excerpt around the match, split into highlighted and plain parts.
    pub snippet: Vec<SnippetPart>,
}

/// A desktop notification the app should show now (the engine has already applied the policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotificationToShow {
    /// Headline.
    pub title: String,
    /// Text.
    pub body: String,
    /// Conversation to open on click.
    pub conversation_id: Option<String>,
    /// Notification to open on click.
    pub notification_id: Option<String>,
}

/// Which copy of an attachment is on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DownloadVariant {
    /// The file itself, verified by its SHA-256.
    File,
    /// The hub's preview of an image (at most 320 px).
    Thumbnail,
}

impl DownloadVariant {
    /// The name kept in the cache.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DownloadVariant::File => "file",
            DownloadVariant::Thumbnail => "thumbnail",
        }
    }
}

/// A protocol event as the hub sent it (for `rapport-cli tail --json`); `seq` is null for
/// messages that arrived through REST catch-up rather than the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    /// The gateway session's event seq.
    pub seq: Option<u64>,
    /// The event.
    pub event: Event,
}

/// Everything the engine tells its callers, on one typed stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EngineEvent {
    /// The connection state changed.
    Connection(ConnectionState),
    /// Catch-up progress, in messages.
    Syncing {
        /// Fetched so far.
        done: u64,
        /// To fetch in all.
        total: u64,
    },
    /// Catch-up finished: every conversation equals the hub's history.
    Synced {
        /// Messages that were new to the cache.
        new_messages: u64,
        /// Cached messages that were edited, deleted or reacted to meanwhile.
        changed_messages: u64,
    },
    /// A message was created or its local state (pending, sent, delivered, …) changed.
    Message(LocalMessage),
    /// A message's content changed: edited or deleted (here or elsewhere), an edit or deletion
    /// of this device was queued, applied, failed or discarded, or the message it answers
    /// changed (its `reply`). The message as it is now; replace the shown one (by `id`, or by
    /// `client_msg_id` while it has none).
    MessageChanged(LocalMessage),
    /// A message's reactions changed (here or elsewhere): the whole list now.
    Reactions {
        /// Where.
        conversation_id: String,
        /// Which message.
        message_id: String,
        /// Every reaction, ordered by first use.
        reactions: Vec<LocalReaction>,
    },
    /// A pending message's files are being uploaded: how far (throttled, a few times a second).
    UploadProgress {
        /// Where the message goes.
        conversation_id: String,
        /// The message.
        client_msg_id: String,
        /// Bytes of all its files.
        progress: TransferProgress,
    },
    /// Every file of a pending message is at the hub; the message itself goes out next.
    UploadDone {
        /// Where the message goes.
        conversation_id: String,
        /// The message.
        client_msg_id: String,
    },
    /// An upload did not finish. With `retrying` it starts over by itself once the hub can be
    /// reached (a cut-off upload leaves nothing at the hub); otherwise the hub refused the file
    /// and the message is now `failed` (a `message` event follows).
    UploadFailed {
        /// Where the message goes.
        conversation_id: String,
        /// The message.
        client_msg_id: String,
        /// Why.
        error: crate::Code,
        /// Whether it is tried again.
        retrying: bool,
    },
    /// A download is under way (throttled, a few times a second).
    DownloadProgress {
        /// Which file.
        attachment_id: String,
        /// Bytes.
        progress: TransferProgress,
    },
    /// A file (or an image's thumbnail) is on this device and matches its SHA-256.
    DownloadDone {
        /// Which file.
        attachment_id: String,
        /// `file` or `thumbnail`.
        variant: DownloadVariant,
        /// Where it is (inside the profile; it may be evicted later, ask again to get it back).
        path: String,
    },
    /// A download failed; nothing half-downloaded is kept as the file.
    DownloadFailed {
        /// Which file.
        attachment_id: String,
        /// Why.
        error: crate::Code,
    },
    /// A pending or failed message was discarded from the outbox.
    MessageDiscarded {
        /// Its conversation (empty when unknown).
        conversation_id: String,
        /// Its idempotency key.
        client_msg_id: String,
    },
    /// A member's delivered or read position moved.
    Receipt {
        /// Which conversation.
        conversation_id: String,
        /// Whose.
        user_id: String,
        /// Delivered or read.
        kind: ReceiptKind,
        /// Their position now.
        seq: i64,
    },
    /// Someone started (`active`) or stopped typing.
    Typing {
        /// Where.
        conversation_id: String,
        /// Who.
        user_id: String,
        /// Whether to show the indicator.
        active: bool,
    },
    /// Someone's presence changed.
    Presence(Presence),
    /// The user chose another status of their own (`set_presence`; auto-away is not a choice).
    ChosenPresence(ChosenStatus),
    /// A conversation was added or changed (members, unread count, last message, muted).
    Conversation(Box<ConversationSummary>),
    /// A notification arrived (job alert, application status, system).
    Notification(Notification),
    /// Show this desktop notification now.
    Notify(NotificationToShow),
    /// Notifications became quiet (quiet hours, a pause) or not, or the end moved.
    Quiet(QuietStatus),
    /// The total unread count over all conversations changed.
    Unread {
        /// Sum of unread counts.
        total: i64,
    },
    /// The login ended; the app should show the sign-in screen.
    SignedOut,
}

/// Why notifications are quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum QuietReason {
    /// The user paused notifications.
    Paused,
    /// A quiet-hours span runs.
    Schedule,
}

/// Whether notifications are quiet now, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuietStatus {
    /// Nothing is shown now (a digest follows at the end).
    pub quiet: bool,
    /// Why (a pause wins when both hold).
    pub reason: Option<QuietReason>,
    /// When the quiet period ends (RFC 3339), when quiet.
    pub until: Option<String>,
    /// The same in the quiet-hours time zone: `07:00`, or `Sat 07:00` on another day.
    pub until_local: Option<String>,
    /// When the pause ends (RFC 3339), when paused.
    pub paused_until: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_states_have_the_documented_json_shape() {
        let v = serde_json::to_value(EngineEvent::Connection(ConnectionState::Reconnecting {
            attempt: 2,
            retry_in_ms: 700,
        }))
        .unwrap();
        assert_eq!(v["type"], "connection", "{v}");
        assert_eq!(v["data"]["state"], "reconnecting", "{v}");
        assert_eq!(v["data"]["retry_in_ms"], 700, "{v}");
        let v = serde_json::to_value(EngineEvent::Syncing { done: 1, total: 2 }).unwrap();
        assert_eq!((v["type"].as_str(), v["data"]["total"].as_u64()), (Some("syncing"), Some(2)), "{v}");
        let v = serde_json::to_value(EngineEvent::SignedOut).unwrap();
        assert_eq!(v["type"], "signed_out", "{v}");
    }
}
