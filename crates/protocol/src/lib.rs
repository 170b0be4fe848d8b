//! Rapport protocol, version 1, as plain data.
//!
//! This crate is the one place where the wire format is defined for both sides: the hub
//! serialises what the clients deserialise and the other way round. It has no runtime
//! dependencies, only serde.
//!
//! - [`rest`]: the JSON bodies of the REST routes and the objects they return.
//! - [`gateway`]: the frames of the WebSocket gateway, client and server, and the events.
//! - [`error`]: the one error shape (`{code, message}`) and the codes clients branch on.
//!
//! Timestamps are RFC 3339 UTC strings and ids are opaque strings, exactly as on the wire.
#![deny(missing_docs)]

pub mod error;
pub mod gateway;
pub mod rest;

pub use error::{ErrorBody, ErrorCode, ErrorInfo};
pub use rest::{
    Conversation, ConversationKind, Member, Message, Notification, NotificationKind, Presence,
    PresenceStatus, Role, Session, User,
};

/// The protocol version the hub announces in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest message body, in Unicode scalar values.
pub const MAX_BODY_CHARS: usize = 4000;

/// Longest `client_msg_id`, in characters.
pub const MAX_CLIENT_MSG_ID_CHARS: usize = 64;

/// Largest gateway frame the hub accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Default and largest page size of the message history route.
pub const HISTORY_PAGE_DEFAULT: u32 = 50;
/// Largest page size of the message history route.
pub const HISTORY_PAGE_MAX: u32 = 200;

/// Why a message body is not acceptable, if it is not.
pub fn check_body(body: &str) -> Result<(), ErrorCode> {
    if body.trim().is_empty() {
        return Err(ErrorCode::BodyEmpty);
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(ErrorCode::BodyTooLong);
    }
    Ok(())
}

/// Whether `c` changes how a line of text is shown rather than what it says: control
/// characters (C0, DEL, C1: newlines, tabs, terminal escape sequences) and the bidirectional
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which reorder what
/// follows them. Display names and titles may not contain any; text meant for a terminal shows
/// them escaped.
pub fn is_display_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// WebSocket close codes the hub uses.
pub mod close {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The hub is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The client fell too far behind (its outgoing queue is full).
    pub const POLICY: u16 = 1008;
    /// A frame was larger than [`crate::MAX_FRAME_BYTES`].
    pub const TOO_BIG: u16 = 1009;
    /// Not authenticated: bad token, or an op before identify/resume.
    pub const NOT_AUTHENTICATED: u16 = 4001;
    /// No identify/resume within the deadline.
    pub const IDENTIFY_TIMEOUT: u16 = 4002;
    /// The client kept flooding after being rate limited.
    pub const RATE_LIMITED: u16 = 4008;
    /// Nothing received for two heartbeat intervals.
    pub const HEARTBEAT_TIMEOUT: u16 = 4009;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_rules_count_scalar_values_not_bytes() {
        assert_eq!(check_body("   \n\t"), Err(ErrorCode::BodyEmpty));
        assert_eq!(check_body(""), Err(ErrorCode::BodyEmpty));
        // 4000 three-byte characters are 12000 bytes but still within the limit.
        assert_eq!(check_body(&"é".repeat(MAX_BODY_CHARS)), Ok(()));
        assert_eq!(check_body(&"a".repeat(MAX_BODY_CHARS + 1)), Err(ErrorCode::BodyTooLong));
    }

    #[test]
    fn display_controls_are_controls_and_bidi_overrides_but_not_letters_or_marks() {
        for c in ['\n', '\r', '\t', '\u{0}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{202e}', '\u{2066}'] {
            assert!(is_display_control(c), "{c:?}");
        }
        // Letters of every script, spaces, and the invisible marks bidirectional names need.
        for c in ['a', 'Ö', 'ש', 'ع', '中', ' ', '\u{a0}', '\u{200e}', '\u{200f}', '\u{200d}'] {
            assert!(!is_display_control(c), "{c:?}");
        }
    }
}
