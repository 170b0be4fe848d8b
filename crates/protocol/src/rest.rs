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
    /// The newest change counter of the conversation (1.1, §1.3): every create, edit, delete
    /// and reaction takes the next one. 0 when nothing happened yet.
    #[serde(default)]
    pub last_rev: i64,
    /// Where the candidate stands: the latest `application_status` card (1.1, §3), or null.
    #[serde(default)]
    pub application: Option<Application>,
}

/// `GET /v1/conversations`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ConversationList {
    /// Most recent activity first.
    pub conversations: Vec<Conversation>,
}

/// A stored message.
///
/// The fields after `created_at` are those of protocol 1.1; each has a default, so a v1
/// message (without them) still decodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Message {
    /// Opaque id.
    pub id: String,
    /// Where it was sent.
    pub conversation_id: String,
    /// Position in the conversation: 1, 2, 3, … without gaps.
    pub seq: i64,
    /// Who sent it.
    pub sender_id: String,
    /// The text; `""` once deleted, and possibly empty when there are attachments or a card.
    pub body: String,
    /// The sender's idempotency key.
    pub client_msg_id: String,
    /// RFC 3339.
    pub created_at: String,
    /// What sort of message it is.
    #[serde(default)]
    pub kind: MessageKind,
    /// A structured card (§3), validated by `kind`; null for plain text and once deleted.
    #[serde(default)]
    pub card: Option<Box<Card>>,
    /// The message this one answers (same conversation), or null. Kept when that one is deleted.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Files sent with it, in the order the sender gave them; `[]` once deleted.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Reactions, ordered by the first use of each emoji; `[]` once deleted.
    #[serde(default)]
    pub reactions: Vec<Reaction>,
    /// When the body was last edited (RFC 3339), or null.
    #[serde(default)]
    pub edited_at: Option<String>,
    /// When it was deleted (RFC 3339), or null. A deleted message is a tombstone.
    #[serde(default)]
    pub deleted_at: Option<String>,
    /// The conversation's change counter at the latest change of this message.
    #[serde(default)]
    pub rev: i64,
}

impl Message {
    /// Whether it is a tombstone.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// What sort of message a [`Message`] is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Text written by a person (with attachments, perhaps).
    #[default]
    Text,
    /// A recruiter shares a role (a [`JobCard`]).
    Job,
    /// An application moved on (an [`ApplicationStatusCard`]).
    ApplicationStatus,
    /// Written by the hub itself.
    System,
}

impl MessageKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Job => "job",
            MessageKind::ApplicationStatus => "application_status",
            MessageKind::System => "system",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<MessageKind> {
        match s {
            "text" => Some(MessageKind::Text),
            "job" => Some(MessageKind::Job),
            "application_status" => Some(MessageKind::ApplicationStatus),
            "system" => Some(MessageKind::System),
            _ => None,
        }
    }
}

/// A file sent with a message (1.1, §2): the metadata; the bytes are at
/// `GET /v1/attachments/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Attachment {
    /// Opaque id.
    pub id: String,
    /// The name the uploader gave it, made safe to show and to save (no path, no control
    /// characters, at most 255 bytes).
    pub filename: String,
    /// The media type the uploader declared (`application/octet-stream` when none).
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// Pixels, for images the hub could read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Pixels, for images the hub could read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// One emoji on a message and who reacted with it, in the order they did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reaction {
    /// One emoji or a `:shortcode:`.
    pub emoji: String,
    /// Who reacted with it.
    pub user_ids: Vec<String>,
}

/// A structured card on a message (1.1, §3); which one is told by the fields, and must
/// match the message's `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum Card {
    /// Kind `job`.
    Job(JobCard),
    /// Kind `application_status`.
    ApplicationStatus(ApplicationStatusCard),
}

impl Card {
    /// The message kind this card belongs to.
    pub fn kind(&self) -> MessageKind {
        match self {
            Card::Job(_) => MessageKind::Job,
            Card::ApplicationStatus(_) => MessageKind::ApplicationStatus,
        }
    }
}

/// A role a recruiter shares. Unknown fields are refused, so that a card of another (or a
/// mistyped) kind never passes for this one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct JobCard {
    /// Job title.
    pub title: String,
    /// Hiring company.
    pub company: String,
    /// Where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Pay, as the recruiter writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salary: Option<String>,
    /// Link to the posting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Longer text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Sent.
    Applied,
    /// Being looked at.
    Screening,
    /// Interviews planned or under way.
    Interview,
    /// An offer was made.
    Offer,
    /// Hired.
    Hired,
    /// Not taken further.
    Rejected,
    /// The candidate withdrew.
    Withdrawn,
}

impl ApplicationStatus {
    /// Every status, in the order an application usually goes.
    pub const ALL: [ApplicationStatus; 7] = [
        ApplicationStatus::Applied,
        ApplicationStatus::Screening,
        ApplicationStatus::Interview,
        ApplicationStatus::Offer,
        ApplicationStatus::Hired,
        ApplicationStatus::Rejected,
        ApplicationStatus::Withdrawn,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Applied => "applied",
            ApplicationStatus::Screening => "screening",
            ApplicationStatus::Interview => "interview",
            ApplicationStatus::Offer => "offer",
            ApplicationStatus::Hired => "hired",
            ApplicationStatus::Rejected => "rejected",
            ApplicationStatus::Withdrawn => "withdrawn",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<ApplicationStatus> {
        ApplicationStatus::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// An application moved on. Unknown fields are refused, as for [`JobCard`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ApplicationStatusCard {
    /// The role applied for.
    pub job_title: String,
    /// Where it stands now.
    pub status: ApplicationStatus,
    /// A word from the recruiter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `Conversation.application`: the latest application status card of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Application {
    /// The role applied for.
    pub job_title: String,
    /// Where it stands.
    pub status: ApplicationStatus,
    /// RFC 3339: when that card was sent.
    pub updated_at: String,
}

/// `PATCH /v1/conversations/{id}/messages/{message_id}`: the new body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EditMessageRequest {
    /// Same rules as for a send.
    pub body: String,
}

/// A `message.send` with `send_at` (1.1, §3), waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScheduledMessage {
    /// Opaque id (for `DELETE /v1/scheduled/{id}`).
    pub id: String,
    /// Where it will be sent.
    pub conversation_id: String,
    /// What will be sent.
    pub body: String,
    /// When (RFC 3339).
    pub send_at: String,
    /// The card it will carry, if any (absent when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Box<Card>>,
}

/// `POST /v1/scheduled`: the REST form of a `message.send` with `send_at` (same fields, same
/// rules, same answer as the gateway ack's `scheduled`), for clients that are not connected.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScheduleRequest {
    /// Where to.
    pub conversation_id: String,
    /// The idempotency key, also of the message it becomes.
    pub client_msg_id: String,
    /// The text; may be empty with a card.
    pub body: String,
    /// A job or application status card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Box<Card>>,
    /// When (RFC 3339, 1 min to 90 days ahead).
    pub send_at: String,
}

/// `GET /v1/scheduled`: the caller's messages still waiting for their time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScheduledList {
    /// Soonest first.
    pub scheduled: Vec<ScheduledMessage>,
}

/// A saved reply (1.1, §3), private to its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Template {
    /// Opaque id.
    pub id: String,
    /// What the owner calls it (unique among their templates).
    pub name: String,
    /// The text, with `{{variables}}` the client fills in before sending.
    pub body: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `POST /v1/templates` and `PUT /v1/templates/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TemplateRequest {
    /// 1..100 characters, one line.
    pub name: String,
    /// 1..4000 characters; only the known `{{variables}}`.
    pub body: String,
}

/// `GET /v1/templates`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TemplateList {
    /// By name.
    pub templates: Vec<Template>,
}

/// `POST /v1/integrations/application-status` (integration route, `X-Api-Key`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApplicationStatusRequest {
    /// The candidate's login email.
    pub candidate_email: String,
    /// The recruiter's login email; the card is sent as them.
    pub recruiter_email: String,
    /// The role applied for.
    pub job_title: String,
    /// Where the application stands now.
    pub status: ApplicationStatus,
    /// A word for the candidate.
    #[serde(default)]
    pub note: Option<String>,
    /// The tracking system's id of this change: the same one again is the same message.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// `GET /v1/conversations/{id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MessagePage {
    /// Ascending by seq (by rev for `changed_after_rev`).
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
    fn a_v1_message_decodes_with_the_1_1_defaults_and_serialises_every_field() {
        let v1 = r#"{"id":"m","conversation_id":"c","seq":3,"sender_id":"u","body":"hi","client_msg_id":"k","created_at":"2026-01-01T00:00:00Z"}"#;
        let m: Message = serde_json::from_str(v1).unwrap();
        assert_eq!((m.kind, m.rev, m.reply_to.as_deref(), m.is_deleted()), (MessageKind::Text, 0, None, false));
        assert!(m.attachments.is_empty() && m.reactions.is_empty() && m.card.is_none());
        let v = serde_json::to_value(&m).unwrap();
        for field in ["kind", "card", "reply_to", "attachments", "reactions", "edited_at", "deleted_at", "rev"] {
            assert!(v.as_object().unwrap().contains_key(field), "1.1 clients rely on {field} being present: {v}");
        }
        let c: Conversation = serde_json::from_str(
            r#"{"id":"c","kind":"group","title":"T","members":[],"last_seq":0,"last_message":null,"unread_count":0,"created_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!((c.last_rev, c.application), (0, None), "a v1 conversation decodes too");
    }

    #[test]
    fn cards_are_told_apart_by_their_fields() {
        let job: Card = serde_json::from_str(r#"{"title":"Rust engineer","company":"Acme","salary":"90k"}"#).unwrap();
        assert_eq!(job.kind(), MessageKind::Job);
        let status: Card = serde_json::from_str(r#"{"job_title":"Rust engineer","status":"interview"}"#).unwrap();
        assert_eq!(status.kind(), MessageKind::ApplicationStatus);
        assert!(serde_json::from_str::<Card>(r#"{"job_title":"x","status":"promoted"}"#).is_err(), "unknown status");
        assert!(serde_json::from_str::<Card>(r#"{"title":"x","company":"y","status":"applied"}"#).is_err(), "a mix of two kinds is neither");
        assert!(serde_json::from_str::<Card>(r#"{"kind":"promo","title":"x","company":"y"}"#).is_err(), "an unknown kind is refused");
        for status in ApplicationStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(ApplicationStatus::parse(status.as_str()), Some(status));
        }
        let v = serde_json::to_value(&job).unwrap();
        assert!(v.get("location").is_none() && v.get("url").is_none(), "absent optional card fields stay absent: {v}");
    }

    #[test]
    fn attachment_dimensions_are_only_sent_for_images() {
        let a = Attachment { id: "a".into(), filename: "cv.pdf".into(), content_type: "application/pdf".into(), size: 3, sha256: "00".into(), width: None, height: None };
        let v = serde_json::to_value(&a).unwrap();
        assert!(v.get("width").is_none() && v.get("height").is_none(), "{v}");
        assert_eq!(serde_json::from_value::<Attachment>(v).unwrap(), a);
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
            last_rev: 0,
            application: None,
        };
        let v = serde_json::to_value(&c).unwrap();
        assert!(v["title"].is_null() && v["last_message"].is_null(), "nulls must be present: {v}");
    }

    /// The 1.1 types come out as TypeScript the UI can use as it is: optional fields that may
    /// be absent are `?:`, nullable ones `| null`, sizes plain numbers, a card one of its shapes.
    #[cfg(feature = "ts")]
    #[test]
    fn the_1_1_types_derive_typescript() {
        use ts_rs::{Config, TS};
        let cfg = Config::new().with_large_int("number");
        let attachment = Attachment::decl(&cfg);
        assert!(attachment.contains("size: number") && attachment.contains("width?: number"), "{attachment}");
        let message = Message::decl(&cfg);
        for field in ["kind: MessageKind", "card: Card | null", "reply_to: string | null", "attachments: Array<Attachment>", "reactions: Array<Reaction>", "deleted_at: string | null", "rev: number"] {
            assert!(message.contains(field), "{field} in {message}");
        }
        let card = Card::decl(&cfg);
        assert!(card.contains("JobCard | ApplicationStatusCard"), "{card}");
        let status = ApplicationStatus::decl(&cfg);
        assert!(status.contains(r#""interview""#) && status.contains(r#""withdrawn""#), "{status}");
        assert!(MessageKind::decl(&cfg).contains(r#""application_status""#));
        assert!(Reaction::decl(&cfg).contains("user_ids: Array<string>"));
        assert!(Application::decl(&cfg).contains("status: ApplicationStatus"));
        assert!(ApplicationStatusCard::decl(&cfg).contains("note?: string"));
    }
}
