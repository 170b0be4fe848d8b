//! REST bodies and the objects shared by REST and the gateway.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// What kind of account a user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Finds and talks to candidates.
    Recruiter,
    /// Looks for a job.
    Candidate,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Recruiter => "recruiter",
            Role::Candidate => "candidate",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "recruiter" => Some(Role::Recruiter),
            "candidate" => Some(Role::Candidate),
            _ => None,
        }
    }
}

/// An account as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct User {
    /// Opaque id.
    pub id: String,
    /// Name shown to others.
    pub display_name: String,
    /// Recruiter or candidate.
    pub role: Role,
    /// Login email, lower-cased.
    pub email: String,
}

/// `POST /v1/auth/register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RegisterRequest {
    /// Login email (case-insensitive).
    pub email: String,
    /// At least 8 characters.
    pub password: String,
    /// Name shown to others.
    pub display_name: String,
    /// `recruiter` or `candidate`.
    pub role: Role,
}

/// `POST /v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginRequest {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RefreshRequest {
    /// The refresh token of the last `Session`.
    pub refresh_token: String,
}

/// A login: who, and the tokens to act as them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Session {
    /// The logged-in user.
    pub user: User,
    /// Bearer token for REST and the gateway.
    pub access_token: String,
    /// Single-use token to get the next `Session`.
    pub refresh_token: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
}

/// `GET /v1/users`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UserList {
    /// Matching users.
    pub users: Vec<User>,
}

/// Direct (two people) or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// Exactly two members, at most one per pair.
    Direct,
    /// A titled conversation of any size.
    Group,
}

impl ConversationKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Direct => "direct",
            ConversationKind::Group => "group",
        }
    }
}

/// `POST /v1/conversations`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CreateConversation {
    /// Start (or get) the direct conversation with one user.
    Direct {
        /// The other person.
        user_id: String,
    },
    /// Start a group; the caller is always a member.
    Group {
        /// Shown to every member.
        title: String,
        /// The other members.
        member_ids: Vec<String>,
    },
}

/// One member of a conversation, with their receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Member {
    /// The member's user id.
    pub user_id: String,
    /// Their display name.
    pub display_name: String,
    /// Their role.
    pub role: Role,
    /// Highest seq they have read.
    pub read_seq: i64,
    /// Highest seq delivered to one of their devices.
    pub delivered_seq: i64,
}

/// A conversation as one member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Conversation {
    /// Opaque id.
    pub id: String,
    /// Direct or group.
    pub kind: ConversationKind,
    /// Group title; null for direct conversations.
    pub title: Option<String>,
    /// Everyone in it, the caller included.
    pub members: Vec<Member>,
    /// Seq of the newest message (0 when empty).
    pub last_seq: i64,
    /// The newest message, if any.
    pub last_message: Option<Message>,
    /// Messages of others after the caller's `read_seq`.
    pub unread_count: i64,
    /// RFC 3339.
    pub created_at: String,
}

/// `GET /v1/conversations`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ConversationList {
    /// Most recent activity first.
    pub conversations: Vec<Conversation>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Message {
    /// Opaque id.
    pub id: String,
    /// Where it was sent.
    pub conversation_id: String,
    /// Position in the conversation: 1, 2, 3, … without gaps.
    pub seq: i64,
    /// Who sent it.
    pub sender_id: String,
    /// The text.
    pub body: String,
    /// The sender's idempotency key.
    pub client_msg_id: String,
    /// RFC 3339.
    pub created_at: String,
}

/// `GET /v1/conversations/{id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MessagePage {
    /// Ascending by seq.
    pub messages: Vec<Message>,
    /// More messages lie beyond this page in the paging direction.
    pub has_more: bool,
}

/// `POST /v1/conversations/{id}/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReadRequest {
    /// Everything up to this seq has been read.
    pub seq: i64,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A job that matches the user.
    JobAlert,
    /// An application moved on (or did not).
    ApplicationStatus,
    /// Anything from the operator.
    System,
}

impl NotificationKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::JobAlert => "job_alert",
            NotificationKind::ApplicationStatus => "application_status",
            NotificationKind::System => "system",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "job_alert" => Some(NotificationKind::JobAlert),
            "application_status" => Some(NotificationKind::ApplicationStatus),
            "system" => Some(NotificationKind::System),
            _ => None,
        }
    }
}

/// `POST /v1/notifications` (integration route, `X-Api-Key`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateNotification {
    /// Target by id …
    #[serde(default)]
    pub user_id: Option<String>,
    /// … or by email.
    #[serde(default)]
    pub email: Option<String>,
    /// What it is about.
    pub kind: NotificationKind,
    /// Short headline.
    pub title: String,
    /// Longer text.
    pub body: String,
    /// Free-form JSON for the client (a job id, a link, …).
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

/// A notification addressed to one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Notification {
    /// Opaque id.
    pub id: String,
    /// What it is about.
    pub kind: NotificationKind,
    /// Short headline.
    pub title: String,
    /// Longer text.
    pub body: String,
    /// Free-form JSON, null when none was given.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub data: serde_json::Value,
    /// Whether the user has read it.
    pub read: bool,
    /// RFC 3339.
    pub created_at: String,
}

/// `GET /v1/notifications`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NotificationList {
    /// Newest first.
    pub notifications: Vec<Notification>,
}

/// Presence as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    /// Here.
    Online,
    /// Away from the keyboard.
    Away,
    /// Here but do not disturb.
    Busy,
    /// No open session, or invisible.
    Offline,
}

impl PresenceStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceStatus::Online => "online",
            PresenceStatus::Away => "away",
            PresenceStatus::Busy => "busy",
            PresenceStatus::Offline => "offline",
        }
    }
}

/// The status a user chooses for themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChosenStatus {
    /// Shown as online.
    #[default]
    Online,
    /// Shown as away.
    Away,
    /// Shown as busy.
    Busy,
    /// Shown to others as offline.
    Invisible,
}

impl ChosenStatus {
    /// What others see while the user has a session open.
    pub fn shown(self) -> PresenceStatus {
        match self {
            ChosenStatus::Online => PresenceStatus::Online,
            ChosenStatus::Away => PresenceStatus::Away,
            ChosenStatus::Busy => PresenceStatus::Busy,
            ChosenStatus::Invisible => PresenceStatus::Offline,
        }
    }
}

/// A user's shown presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Presence {
    /// Whose.
    pub user_id: String,
    /// What others see.
    pub status: PresenceStatus,
    /// When the user's last session closed (RFC 3339); null while never seen offline.
    pub last_seen: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_conversation_is_tagged_by_kind() {
        let direct: CreateConversation =
            serde_json::from_str(r#"{"kind":"direct","user_id":"u1"}"#).unwrap();
        assert!(matches!(direct, CreateConversation::Direct { user_id } if user_id == "u1"));
        let group: CreateConversation =
            serde_json::from_str(r#"{"kind":"group","title":"T","member_ids":["a","b"]}"#).unwrap();
        assert!(matches!(group, CreateConversation::Group { member_ids, .. } if member_ids.len() == 2));
        assert!(serde_json::from_str::<CreateConversation>(r#"{"kind":"channel"}"#).is_err());
    }

    #[test]
    fn conversation_title_serialises_null_for_direct() {
        let c = Conversation {
            id: "c".into(),
            kind: ConversationKind::Direct,
            title: None,
            members: vec![],
            last_seq: 0,
            last_message: None,
            unread_count: 0,
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert!(v["title"].is_null() && v["last_message"].is_null(), "nulls must be present: {v}");
    }
}
