//! Gateway frames: what a client sends, what the hub sends, and the events.
//!
//! Every frame is one JSON object with an `"op"`. Client frames may carry a `"ref"` that the hub
//! echoes in exactly one `ack` or `error`. Events carry a per-session `seq`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{ErrorCode, ErrorInfo};
use crate::rest::{Card, ChosenStatus, Conversation, Message, Notification, Presence, ScheduledMessage, User};

/// The client's correlation id: a number or a string, echoed as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ref {
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string.
    Text(String),
}

impl From<u64> for Ref {
    fn from(n: u64) -> Self {
        Ref::Number(n.into())
    }
}

impl From<&str> for Ref {
    fn from(s: &str) -> Self {
        Ref::Text(s.to_owned())
    }
}

/// A client frame: an operation and the optional `ref` to answer to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientFrame {
    /// Echoed in the answer.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<Ref>,
    /// What to do.
    #[serde(flatten)]
    pub op: ClientOp,
}

/// The operations a client may send.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", content = "data")]
pub enum ClientOp {
    /// Start a new session.
    #[serde(rename = "identify")]
    Identify(Identify),
    /// Continue a session after a reconnect.
    #[serde(rename = "resume")]
    Resume(Resume),
    /// Heartbeat.
    #[serde(rename = "ping")]
    Ping,
    /// Send a message.
    #[serde(rename = "message.send")]
    MessageSend(SendMessage),
    /// (1.1) Change the body of one's own message.
    #[serde(rename = "message.edit")]
    MessageEdit(EditMessage),
    /// (1.1) Delete one's own message, leaving a tombstone.
    #[serde(rename = "message.delete")]
    MessageDelete(MessageTarget),
    /// (1.1) Add or take back a reaction.
    #[serde(rename = "message.react")]
    MessageReact(ReactMessage),
    /// The user is typing.
    #[serde(rename = "typing")]
    Typing(ConversationTarget),
    /// Everything up to `seq` is read.
    #[serde(rename = "read")]
    Read(SeqTarget),
    /// Everything up to `seq` reached this device.
    #[serde(rename = "delivered")]
    Delivered(SeqTarget),
    /// Change the user's own presence.
    #[serde(rename = "presence.set")]
    PresenceSet(PresenceSet),
}

impl ClientOp {
    /// The wire name of the op.
    pub fn name(&self) -> &'static str {
        match self {
            ClientOp::Identify(_) => "identify",
            ClientOp::Resume(_) => "resume",
            ClientOp::Ping => "ping",
            ClientOp::MessageSend(_) => "message.send",
            ClientOp::MessageEdit(_) => "message.edit",
            ClientOp::MessageDelete(_) => "message.delete",
            ClientOp::MessageReact(_) => "message.react",
            ClientOp::Typing(_) => "typing",
            ClientOp::Read(_) => "read",
            ClientOp::Delivered(_) => "delivered",
            ClientOp::PresenceSet(_) => "presence.set",
        }
    }
}

/// `identify` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identify {
    /// Access token.
    pub token: String,
    /// Initial presence; online when absent.
    #[serde(default)]
    pub presence: ChosenStatus,
}

/// `resume` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    /// Access token (may be newer than the one the session was identified with).
    pub token: String,
    /// From `ready`.
    pub session_id: String,
    /// Seq of the last event the client processed.
    pub last_seq: u64,
}

/// `message.send` data. The optional fields are those of 1.1 and are left out of the frame
/// when unused, so a v1 send is byte for byte what it was.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SendMessage {
    /// Where to.
    pub conversation_id: String,
    /// 1..64 characters, unique per sender: the idempotency key.
    pub client_msg_id: String,
    /// 1..4000 Unicode scalar values, not only whitespace; may be empty (`""`) when the
    /// message has attachments or a card.
    pub body: String,
    /// (1.1) The message of the same conversation this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// (1.1) The sender's own uploads to attach, at most 10.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment_ids: Vec<String>,
    /// (1.1, §3) A job or application status card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Box<Card>>,
    /// (1.1, §3) Send later, at this time (RFC 3339, 1 min to 90 days ahead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<String>,
}

/// `message.edit` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditMessage {
    /// Where the message is.
    pub conversation_id: String,
    /// Which message.
    pub message_id: String,
    /// The new body (same rules as for a send).
    pub body: String,
}

/// `message.delete` data: one message of one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTarget {
    /// Where the message is.
    pub conversation_id: String,
    /// Which message.
    pub message_id: String,
}

/// `message.react` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactMessage {
    /// Where the message is.
    pub conversation_id: String,
    /// Which message.
    pub message_id: String,
    /// One emoji or a `:shortcode:`, 1..32 bytes.
    pub emoji: String,
    /// `true` adds the caller's reaction, `false` takes it back.
    pub on: bool,
}

/// `typing` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationTarget {
    /// Which conversation.
    pub conversation_id: String,
}

/// `read` and `delivered` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeqTarget {
    /// Which conversation.
    pub conversation_id: String,
    /// Up to which message.
    pub seq: i64,
}

/// `presence.set` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceSet {
    /// The new status.
    pub status: ChosenStatus,
}

/// Why a client frame could not be decoded, with the `ref` to answer to when it was readable.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    /// `bad_frame`, `unknown_op` or `invalid_payload`.
    pub code: ErrorCode,
    /// Human text.
    pub message: String,
    /// The frame's `ref`, if it could be read.
    pub reference: Option<Ref>,
}

#[derive(Deserialize)]
struct RawFrame<'a> {
    op: Option<serde_json::Value>,
    #[serde(rename = "ref", default)]
    reference: Option<serde_json::Value>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// Decodes one client text frame, telling apart malformed JSON (`bad_frame`), an unknown op
/// (`unknown_op`) and missing or ill-typed fields (`invalid_payload`).
pub fn decode_client_frame(text: &str) -> Result<ClientFrame, DecodeError> {
    let fail = |code, message: String, reference| DecodeError { code, message, reference };
    let raw: RawFrame<'_> = serde_json::from_str(text)
        .map_err(|e| fail(ErrorCode::BadFrame, format!("not a JSON object: {e}"), None))?;
    let reference = match raw.reference {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => Some(Ref::Number(n)),
        Some(serde_json::Value::String(s)) => Some(Ref::Text(s)),
        Some(_) => {
            return Err(fail(ErrorCode::BadFrame, "ref must be a number or a string".into(), None))
        }
    };
    let op = match raw.op {
        Some(serde_json::Value::String(op)) => op,
        _ => return Err(fail(ErrorCode::BadFrame, "op must be a string".into(), reference)),
    };
    fn data<T: serde::de::DeserializeOwned>(
        op: &str,
        raw: Option<&RawValue>,
    ) -> Result<T, String> {
        let raw = raw.ok_or_else(|| format!("{op}: data is missing"))?;
        serde_json::from_str(raw.get()).map_err(|e| format!("{op}: {e}"))
    }
    let data_raw = raw.data;
    let decoded = match op.as_str() {
        "identify" => data(&op, data_raw).map(ClientOp::Identify),
        "resume" => data(&op, data_raw).map(ClientOp::Resume),
        "ping" => Ok(ClientOp::Ping),
        "message.send" => data(&op, data_raw).map(ClientOp::MessageSend),
        "message.edit" => data(&op, data_raw).map(ClientOp::MessageEdit),
        "message.delete" => data(&op, data_raw).map(ClientOp::MessageDelete),
        "message.react" => data(&op, data_raw).map(ClientOp::MessageReact),
        "typing" => data(&op, data_raw).map(ClientOp::Typing),
        "read" => data(&op, data_raw).map(ClientOp::Read),
        "delivered" => data(&op, data_raw).map(ClientOp::Delivered),
        "presence.set" => data(&op, data_raw).map(ClientOp::PresenceSet),
        _ => {
            let message = format!("unknown op {op:?}");
            return Err(fail(ErrorCode::UnknownOp, message, reference));
        }
    };
    match decoded {
        Ok(op) => Ok(ClientFrame { reference, op }),
        Err(message) => Err(fail(ErrorCode::InvalidPayload, message, reference)),
    }
}

/// A frame the hub sends.
///
/// An event holds a whole [`Message`], much larger than the other frames; a frame lives only
/// while it is written or read, one at a time, so boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection.
    Hello {
        /// Protocol version and heartbeat interval.
        data: Hello,
    },
    /// Answer to `identify`.
    Ready {
        /// Echoed.
        #[serde(rename = "ref", default)]
        reference: Option<Ref>,
        /// The session and a snapshot of the user's world.
        data: Box<Ready>,
    },
    /// Answer to a successful `resume`, after the replayed events.
    Resumed {
        /// Echoed.
        #[serde(rename = "ref", default)]
        reference: Option<Ref>,
        /// How many events were replayed.
        data: Resumed,
    },
    /// Answer to a `resume` that cannot be honoured; identify next.
    InvalidSession {
        /// Echoed.
        #[serde(rename = "ref", default)]
        reference: Option<Ref>,
    },
    /// Success of a client op.
    Ack {
        /// Echoed.
        #[serde(rename = "ref", default)]
        reference: Option<Ref>,
        /// `{message}` for `message.send`, `.edit`, `.delete` and `.react`; `{scheduled}` for
        /// a scheduled send; `{}` otherwise.
        data: serde_json::Value,
    },
    /// Failure of a client op; the connection stays open.
    Error {
        /// Echoed; null when it could not be read.
        #[serde(rename = "ref", default)]
        reference: Option<Ref>,
        /// What went wrong.
        error: ErrorInfo,
    },
    /// Heartbeat answer.
    Pong {
        /// Echoed.
        #[serde(rename = "ref", default)]
        reference: Option<Ref>,
    },
    /// Something happened.
    Event {
        /// Per-session event counter: 1, 2, 3, …
        seq: u64,
        /// What happened.
        #[serde(flatten)]
        event: Event,
    },
}

/// `hello` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Always 1.
    pub protocol: u32,
    /// Send a ping at least this often.
    pub heartbeat_interval_ms: u64,
    /// (1.1) What this hub serves beyond v1, names from [`feature`]; empty from a v1 hub.
    #[serde(default)]
    pub features: Vec<String>,
}

impl Hello {
    /// Whether the hub announced this [`feature`].
    pub fn serves(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// The names of `hello.features` (1.1).
pub mod feature {
    /// `message.edit` and its REST route.
    pub const EDIT: &str = "edit";
    /// `message.delete` and its REST route.
    pub const DELETE: &str = "delete";
    /// `message.react` and its REST routes.
    pub const REACTIONS: &str = "reactions";
    /// `reply_to` on `message.send`.
    pub const REPLIES: &str = "replies";
    /// Uploads, downloads and `attachment_ids` on `message.send`.
    pub const ATTACHMENTS: &str = "attachments";
    /// Job and application status cards.
    pub const CARDS: &str = "cards";
    /// Saved replies.
    pub const TEMPLATES: &str = "templates";
    /// `send_at` on `message.send`.
    pub const SCHEDULED: &str = "scheduled";
    /// The long-polling transport.
    pub const POLL: &str = "poll";
}

/// `ready` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    /// Keep it to resume.
    pub session_id: String,
    /// Who is logged in.
    pub user: User,
    /// Every conversation of the user, most recent activity first.
    pub conversations: Vec<Conversation>,
    /// Presence of everyone who shares a conversation with the user, and of the user.
    pub presence: Vec<Presence>,
    /// Unread notifications.
    pub notifications_unread: i64,
}

/// `resumed` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// Number of events replayed before this frame.
    pub replayed: u64,
}

/// Ack data of `message.send`, `message.edit`, `message.delete` and `message.react`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageAck {
    /// The stored message (the same one again for a repeated `client_msg_id`); after an
    /// edit, delete or reaction the message as it is now.
    pub message: Message,
}

/// (1.1, §3) Ack data of a `message.send` with `send_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledAck {
    /// What will be sent, and when.
    pub scheduled: ScheduledMessage,
}

/// Delivered or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// Reached a device.
    Delivered,
    /// Seen by the user.
    Read,
}

/// The events, tagged by `type` with their `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    /// A message was stored.
    #[serde(rename = "message.created")]
    MessageCreated {
        /// The message.
        message: Message,
    },
    /// A member's read or delivered position moved.
    #[serde(rename = "receipt")]
    Receipt {
        /// Which conversation.
        conversation_id: String,
        /// Whose receipt.
        user_id: String,
        /// Delivered or read.
        kind: ReceiptKind,
        /// Their position now.
        seq: i64,
    },
    /// Someone is typing.
    #[serde(rename = "typing")]
    Typing {
        /// Where.
        conversation_id: String,
        /// Who.
        user_id: String,
        /// Show it for this long unless renewed or their message arrives.
        expires_in_ms: u64,
    },
    /// Someone's shown presence changed.
    #[serde(rename = "presence")]
    Presence(Presence),
    /// The user was added to a new conversation.
    #[serde(rename = "conversation.created")]
    ConversationCreated {
        /// The conversation as the recipient sees it.
        conversation: Box<Conversation>,
    },
    /// A notification for the user.
    #[serde(rename = "notification")]
    Notification {
        /// The notification.
        notification: Notification,
    },
    /// (1.1) A message's body was edited.
    #[serde(rename = "message.updated")]
    MessageUpdated {
        /// The message as it is now.
        message: Message,
    },
    /// (1.1) A message was deleted; it is a tombstone now.
    #[serde(rename = "message.deleted")]
    MessageDeleted {
        /// Where.
        conversation_id: String,
        /// Which message.
        message_id: String,
        /// Its seq (kept: no gap appears).
        seq: i64,
        /// The conversation's rev the deletion took.
        rev: i64,
    },
    /// (1.1) Someone added or took back a reaction.
    #[serde(rename = "reaction")]
    Reaction {
        /// Where.
        conversation_id: String,
        /// On which message.
        message_id: String,
        /// Who.
        user_id: String,
        /// Which emoji.
        emoji: String,
        /// Added (`true`) or taken back.
        on: bool,
        /// The conversation's rev the change took.
        rev: i64,
    },
}

impl Event {
    /// The wire name of the event type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::MessageCreated { .. } => "message.created",
            Event::Receipt { .. } => "receipt",
            Event::Typing { .. } => "typing",
            Event::Presence(_) => "presence",
            Event::ConversationCreated { .. } => "conversation.created",
            Event::Notification { .. } => "notification",
            Event::MessageUpdated { .. } => "message.updated",
            Event::MessageDeleted { .. } => "message.deleted",
            Event::Reaction { .. } => "reaction",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::PresenceStatus;

    #[test]
    fn client_frames_round_trip_through_the_decoder() {
        let frames = [
            ClientFrame { reference: Some(1.into()), op: ClientOp::Ping },
            ClientFrame {
                reference: Some("a".into()),
                op: ClientOp::MessageSend(SendMessage {
                    conversation_id: "c".into(),
                    client_msg_id: "m".into(),
                    body: "hi".into(),
                    ..SendMessage::default()
                }),
            },
            ClientFrame {
                reference: Some(2.into()),
                op: ClientOp::MessageSend(SendMessage {
                    conversation_id: "c".into(),
                    client_msg_id: "m2".into(),
                    body: String::new(),
                    reply_to: Some("m1".into()),
                    attachment_ids: vec!["a1".into(), "a2".into()],
                    ..SendMessage::default()
                }),
            },
            ClientFrame {
                reference: Some(3.into()),
                op: ClientOp::MessageEdit(EditMessage { conversation_id: "c".into(), message_id: "m".into(), body: "fixed".into() }),
            },
            ClientFrame {
                reference: Some(4.into()),
                op: ClientOp::MessageDelete(MessageTarget { conversation_id: "c".into(), message_id: "m".into() }),
            },
            ClientFrame {
                reference: Some(5.into()),
                op: ClientOp::MessageReact(ReactMessage { conversation_id: "c".into(), message_id: "m".into(), emoji: "👍".into(), on: true }),
            },
            ClientFrame {
                reference: None,
                op: ClientOp::PresenceSet(PresenceSet { status: ChosenStatus::Invisible }),
            },
        ];
        for frame in frames {
            let text = serde_json::to_string(&frame).unwrap();
            assert_eq!(decode_client_frame(&text).unwrap(), frame, "{text}");
        }
    }

    #[test]
    fn a_v1_send_is_serialised_as_in_v1_and_v1_frames_still_decode() {
        let send = SendMessage { conversation_id: "c".into(), client_msg_id: "m".into(), body: "hi".into(), ..SendMessage::default() };
        assert_eq!(
            serde_json::to_string(&ClientOp::MessageSend(send)).unwrap(),
            r#"{"op":"message.send","data":{"conversation_id":"c","client_msg_id":"m","body":"hi"}}"#,
            "the 1.1 fields stay out of a v1 send"
        );
        let hello: ServerFrame = serde_json::from_str(r#"{"op":"hello","data":{"protocol":1,"heartbeat_interval_ms":25000}}"#).unwrap();
        assert!(matches!(hello, ServerFrame::Hello { data } if data.features.is_empty()), "a v1 hello has no features");
        let without_body = r#"{"op":"message.send","ref":1,"data":{"conversation_id":"c","client_msg_id":"m"}}"#;
        assert_eq!(decode_client_frame(without_body).unwrap_err().code, ErrorCode::InvalidPayload, "body stays required");
        let react = r#"{"op":"message.react","ref":1,"data":{"conversation_id":"c","message_id":"m","emoji":"x","on":"yes"}}"#;
        assert_eq!(decode_client_frame(react).unwrap_err().code, ErrorCode::InvalidPayload);
    }

    #[test]
    fn the_1_1_events_serialise_with_their_wire_names() {
        let deleted = Event::MessageDeleted { conversation_id: "c".into(), message_id: "m".into(), seq: 4, rev: 9 };
        let v = serde_json::to_value(&deleted).unwrap();
        assert_eq!(v, serde_json::json!({"type": "message.deleted", "data": {"conversation_id": "c", "message_id": "m", "seq": 4, "rev": 9}}));
        assert_eq!(deleted.type_name(), "message.deleted");
        let reaction = Event::Reaction { conversation_id: "c".into(), message_id: "m".into(), user_id: "u".into(), emoji: "🎉".into(), on: false, rev: 10 };
        let v = serde_json::to_value(&reaction).unwrap();
        assert_eq!((v["type"].as_str(), v["data"]["on"].as_bool()), (Some("reaction"), Some(false)));
        assert_eq!(serde_json::from_value::<Event>(v).unwrap(), reaction);
        let updated = Event::MessageUpdated { message: Message::default() };
        assert_eq!(serde_json::to_value(&updated).unwrap()["type"], "message.updated");
    }

    #[test]
    fn decoder_tells_the_error_kinds_apart() {
        let code = |t: &str| decode_client_frame(t).unwrap_err().code;
        assert_eq!(code("{nope"), ErrorCode::BadFrame);
        assert_eq!(code("[1,2]"), ErrorCode::BadFrame);
        assert_eq!(code(r#"{"ref":1}"#), ErrorCode::BadFrame);
        assert_eq!(code(r#"{"op":"fly","ref":1}"#), ErrorCode::UnknownOp);
        assert_eq!(code(r#"{"op":"read","ref":1,"data":{"seq":"x"}}"#), ErrorCode::InvalidPayload);
        assert_eq!(code(r#"{"op":"typing","ref":1}"#), ErrorCode::InvalidPayload);
        let err = decode_client_frame(r#"{"op":"fly","ref":"r7"}"#).unwrap_err();
        assert_eq!(err.reference, Some(Ref::Text("r7".into())), "ref must be echoed when readable");
    }

    #[test]
    fn events_serialise_with_type_and_data() {
        let frame = ServerFrame::Event {
            seq: 3,
            event: Event::Presence(Presence {
                user_id: "u".into(),
                status: PresenceStatus::Away,
                last_seen: None,
            }),
        };
        let v = serde_json::to_value(&frame).unwrap();
        assert_eq!(v["op"], "event");
        assert_eq!(v["seq"], 3);
        assert_eq!(v["type"], "presence");
        assert_eq!(v["data"]["status"], "away");
        let back: ServerFrame = serde_json::from_value(v).unwrap();
        assert_eq!(back, frame);
    }

    #[test]
    fn error_frames_carry_null_ref_when_unreadable() {
        let frame = ServerFrame::Error {
            reference: None,
            error: ErrorInfo::new(ErrorCode::BadFrame, "x"),
        };
        let v = serde_json::to_value(&frame).unwrap();
        assert!(v.as_object().unwrap().contains_key("ref") && v["ref"].is_null(), "{v}");
    }
}
