//! Conversations, their members, and marking one read.

use serde::{Deserialize, Serialize};

use super::account::Role;
use super::bridges::Bridge;
use super::cards::Application;
use super::messages::Message;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

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
    /// (1.1, §5) Set when the other member is an outside contact writing over WhatsApp or SMS
    /// through the Twilio bridge; absent (not null) otherwise, so clients that do not know it
    /// see nothing new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<Bridge>,
}

/// `GET /v1/conversations`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ConversationList {
    /// Most recent activity first.
    pub conversations: Vec<Conversation>,
}

/// `POST /v1/conversations/{id}/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReadRequest {
    /// Everything up to this seq has been read.
    pub seq: i64,
}
