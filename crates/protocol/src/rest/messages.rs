//! Messages with their 1.1 lifecycle: kinds, attachments, reactions, edits, history pages.

use serde::{Deserialize, Serialize};

use super::cards::Card;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

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

/// Which message kind a card makes (here, with the kinds, so that cards need not know them).
impl Card {
    /// The message kind this card belongs to.
    pub fn kind(&self) -> MessageKind {
        match self {
            Card::Job(_) => MessageKind::Job,
            Card::ApplicationStatus(_) => MessageKind::ApplicationStatus,
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

/// `PATCH /v1/conversations/{id}/messages/{message_id}`: the new body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EditMessageRequest {
    /// Same rules as for a send.
    pub body: String,
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
