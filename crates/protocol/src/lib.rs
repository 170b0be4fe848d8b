//! Rapport protocol, version 1 with the additions of 1.1, as plain data.
//!
//! This crate is the one place where the wire format is defined for both sides: the hub
//! serialises what the clients deserialise and the other way round. It has no runtime
//! dependencies, only serde.
//!
//! - [`rest`]: the JSON bodies of the REST routes and the objects they return.
//! - [`gateway`]: the frames of the WebSocket gateway, client and server, and the events.
//! - [`poll`]: the long-polling transport's request and answer bodies (1.1 §4).
//! - [`error`]: the one error shape (`{code, message}`) and the codes clients branch on.
//! - [`card`]: what makes a job or application status card acceptable (1.1, §3).
//! - [`template`]: the variables of saved replies and how a client fills them (1.1, §3).
//!
//! Timestamps are RFC 3339 UTC strings and ids are opaque strings, exactly as on the wire.
//!
//! 1.1 only adds: every new field has a default, so a v1 frame decodes unchanged, and the
//! optional fields of client frames are left out when unused, so a v1 client's frames are
//! byte for byte those of v1.
#![deny(missing_docs)]

pub mod card;
pub mod error;
pub mod gateway;
pub mod poll;
pub mod rest;
pub mod template;

pub use error::{ErrorBody, ErrorCode, ErrorInfo};
pub use rest::{
    Application, ApplicationStatus, ApplicationStatusCard, Attachment, Bridge, BridgeChannel, Card, Conversation, ConversationKind, JobCard,
    Member, Message, MessageKind, Notification, NotificationKind, Presence, PresenceStatus, Reaction, Role,
    ScheduledMessage, Session, Template, User,
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

/// Attachments one message carries at most (1.1).
pub const MAX_ATTACHMENTS: usize = 10;

/// Distinct emoji on one message at most (1.1).
pub const MAX_REACTIONS: usize = 20;

/// Longest reaction emoji or `:shortcode:`, in bytes (1.1).
pub const MAX_EMOJI_BYTES: usize = 32;

/// Default largest upload, in MiB (1.1; the hub's `--max-upload-mb`).
pub const DEFAULT_MAX_UPLOAD_MB: u64 = 25;

/// Longest side of a thumbnail, in pixels (1.1).
pub const THUMBNAIL_MAX_PX: u32 = 320;

/// A scheduled send lies at least this far ahead, in seconds (1.1, §3).
pub const MIN_SCHEDULE_AHEAD_SECS: i64 = 60;

/// A scheduled send lies at most this far ahead, in days (1.1, §3).
pub const MAX_SCHEDULE_AHEAD_DAYS: i64 = 90;

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

/// [`check_body`] for a message that carries attachments or a card (`has_content`): then the
/// body may be empty (or only whitespace), but never too long.
pub fn check_body_with(body: &str, has_content: bool) -> Result<(), ErrorCode> {
    match check_body(body) {
        Err(ErrorCode::BodyEmpty) if has_content => Ok(()),
        other => other,
    }
}

/// Whether `emoji` is acceptable as a reaction: 1..32 bytes that are either a `:shortcode:`
/// (lower-case ASCII letters, digits, `_`, `+`, `-`) or one emoji — a single pictograph with
/// its modifiers (variation selector, skin tone, keycap, tags), a ZWJ sequence of those, or a
/// flag (two regional indicators).
pub fn check_emoji(emoji: &str) -> bool {
    if emoji.is_empty() || emoji.len() > MAX_EMOJI_BYTES {
        return false;
    }
    if let Some(name) = emoji.strip_prefix(':').and_then(|rest| rest.strip_suffix(':')) {
        return !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'+' | b'-'));
    }
    emoji::is_one(emoji)
}

/// The shape of one emoji, without a Unicode table: close enough to refuse text, several
/// emoji and stray modifiers, which is what a reaction must not be.
mod emoji {
    const ZWJ: char = '\u{200D}';

    fn is_regional_indicator(c: char) -> bool {
        ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
    }

    /// Characters that may follow a base: variation selectors, skin tones, the keycap, tags.
    fn is_modifier(c: char) -> bool {
        matches!(c, '\u{FE0E}' | '\u{FE0F}' | '\u{20E3}')
            || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
            || ('\u{E0020}'..='\u{E007F}').contains(&c)
    }

    /// Pictographs: the emoji blocks, and the older symbols that are emoji.
    fn is_pictograph(c: char) -> bool {
        matches!(c as u32,
            0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139
            | 0x2194..=0x21AA | 0x231A..=0x23FF | 0x24C2 | 0x25AA..=0x25FE
            | 0x2600..=0x27BF | 0x2934 | 0x2935 | 0x2B05..=0x2B55 | 0x3030 | 0x303D | 0x3297 | 0x3299
            | 0x1F000..=0x1F0FF | 0x1F10D..=0x1F1E5 | 0x1F200..=0x1F3FA | 0x1F400..=0x1FAFF)
    }

    /// One component of a ZWJ sequence: a base and its modifiers.
    fn is_component(part: &str) -> bool {
        let mut chars = part.chars();
        let Some(base) = chars.next() else { return false };
        let keycap_base = base.is_ascii_digit() || matches!(base, '#' | '*');
        if !(is_pictograph(base) || keycap_base) {
            return false;
        }
        let modifiers: Vec<char> = chars.collect();
        if keycap_base && !modifiers.contains(&'\u{20E3}') {
            return false; // a bare digit is text
        }
        modifiers.iter().all(|&c| is_modifier(c))
    }

    pub fn is_one(s: &str) -> bool {
        let flags: Vec<char> = s.chars().collect();
        if flags.iter().all(|&c| is_regional_indicator(c)) {
            return flags.len() == 2;
        }
        s.split(ZWJ).all(is_component)
    }
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

    #[test]
    fn a_body_may_be_empty_only_with_attachments_or_a_card() {
        assert_eq!(check_body_with("", true), Ok(()));
        assert_eq!(check_body_with(" ", false), Err(ErrorCode::BodyEmpty));
        assert_eq!(check_body_with(&"a".repeat(MAX_BODY_CHARS + 1), true), Err(ErrorCode::BodyTooLong));
    }

    #[test]
    fn a_reaction_is_one_emoji_or_a_shortcode() {
        for good in ["👍", "❤️", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🇫🇷", "1️⃣", "☕", ":thumbsup:", ":+1:", ":party-parrot:"] {
            assert!(check_emoji(good), "{good:?} is one emoji");
        }
        for bad in ["", "ok", "👍👍", "🇫", "🇫🇷🇩🇪", "1", "🏽", ":Thumbs:", "::", ":a b:", "👍 ", "\u{200D}", "<script>"] {
            assert!(!check_emoji(bad), "{bad:?} is not a reaction");
        }
        assert!(!check_emoji(&format!(":{}:", "a".repeat(MAX_EMOJI_BYTES))), "over 32 bytes");
    }
}
