//! The engine's one error type, and [`Code`]: every error code a Rapport client meets.

use rapport_protocol::{ErrorCode, ErrorInfo};
use serde::ser::SerializeStruct as _;
use serde::{Deserialize, Serialize};

/// Every error code a Rapport client can meet, in one enum. Three groups share it:
/// - the engine's own, [`EngineError::code`] — the small set the UI branches on: `offline`,
///   `unauthorized`, `not_found`, `invalid`, `conflict`, `hub`, `timeout`, `io`;
/// - the desktop shell's: `signed_out` (no engine or no login) and `update` (the updater failed);
/// - the hub's protocol codes ([`ErrorCode`]), which say why exactly: the `reason` of
///   [`EngineError::Invalid`], and the `error` of a failed message in the outbox.
///
/// `unauthorized` and `not_found` are in both the first and the last group: the same word.
/// The wire name (serde, and the text kept in the outbox) is the snake_case variant name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum Code {
    /// The hub could not be reached (or did not answer in time).
    Offline,
    /// No login, wrong credentials, or the login was revoked; from the hub: a missing, invalid or
    /// expired access token.
    Unauthorized,
    /// No such thing, or not visible to this user.
    NotFound,
    /// The request was refused as invalid; the reason says why.
    Invalid,
    /// It already exists (an email that is taken).
    Conflict,
    /// The hub refused for another reason (rate limited, unavailable, internal).
    Hub,
    /// Something did not finish within the time it was given.
    Timeout,
    /// The local cache, token store or settings failed (disk full, permissions, …).
    Io,
    /// Shell: no profile is open, or it has no login.
    SignedOut,
    /// Shell: checking for, downloading or installing an update failed.
    Update,
    /// Hub: [`ErrorCode::BadFrame`].
    BadFrame,
    /// Hub: [`ErrorCode::UnknownOp`].
    UnknownOp,
    /// Hub: [`ErrorCode::InvalidPayload`].
    InvalidPayload,
    /// Hub: [`ErrorCode::BodyEmpty`].
    BodyEmpty,
    /// Hub: [`ErrorCode::BodyTooLong`].
    BodyTooLong,
    /// Hub: [`ErrorCode::RateLimited`].
    RateLimited,
    /// Hub: [`ErrorCode::InvalidCredentials`].
    InvalidCredentials,
    /// Hub: [`ErrorCode::InvalidRefreshToken`].
    InvalidRefreshToken,
    /// Hub: [`ErrorCode::EmailTaken`].
    EmailTaken,
    /// Hub: [`ErrorCode::PasswordTooShort`].
    PasswordTooShort,
    /// Hub: [`ErrorCode::MethodNotAllowed`].
    MethodNotAllowed,
    /// Hub: [`ErrorCode::PayloadTooLarge`].
    PayloadTooLarge,
    /// Hub: [`ErrorCode::Unavailable`].
    Unavailable,
    /// Hub: [`ErrorCode::Internal`].
    Internal,
    /// Hub (1.1): [`ErrorCode::Forbidden`].
    Forbidden,
    /// Hub (1.1): [`ErrorCode::Gone`].
    Gone,
    /// Hub (1.1): [`ErrorCode::TooLarge`].
    TooLarge,
    /// Hub (1.1): [`ErrorCode::RangeNotSatisfiable`].
    RangeNotSatisfiable,
    /// Hub (1.1): [`ErrorCode::Unsupported`].
    Unsupported,
}

impl Code {
    /// Every code, for tests and listings.
    pub const ALL: [Code; 29] = [
        Code::Offline,
        Code::Unauthorized,
        Code::NotFound,
        Code::Invalid,
        Code::Conflict,
        Code::Hub,
        Code::Timeout,
        Code::Io,
        Code::SignedOut,
        Code::Update,
        Code::BadFrame,
        Code::UnknownOp,
        Code::InvalidPayload,
        Code::BodyEmpty,
        Code::BodyTooLong,
        Code::RateLimited,
        Code::InvalidCredentials,
        Code::InvalidRefreshToken,
        Code::EmailTaken,
        Code::PasswordTooShort,
        Code::MethodNotAllowed,
        Code::PayloadTooLarge,
        Code::Unavailable,
        Code::Internal,
        Code::Forbidden,
        Code::Gone,
        Code::TooLarge,
        Code::RangeNotSatisfiable,
        Code::Unsupported,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Offline => "offline",
            Code::Unauthorized => "unauthorized",
            Code::NotFound => "not_found",
            Code::Invalid => "invalid",
            Code::Conflict => "conflict",
            Code::Hub => "hub",
            Code::Timeout => "timeout",
            Code::Io => "io",
            Code::SignedOut => "signed_out",
            Code::Update => "update",
            Code::BadFrame => "bad_frame",
            Code::UnknownOp => "unknown_op",
            Code::InvalidPayload => "invalid_payload",
            Code::BodyEmpty => "body_empty",
            Code::BodyTooLong => "body_too_long",
            Code::RateLimited => "rate_limited",
            Code::InvalidCredentials => "invalid_credentials",
            Code::InvalidRefreshToken => "invalid_refresh_token",
            Code::EmailTaken => "email_taken",
            Code::PasswordTooShort => "password_too_short",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::PayloadTooLarge => "payload_too_large",
            Code::Unavailable => "unavailable",
            Code::Internal => "internal",
            Code::Forbidden => "forbidden",
            Code::Gone => "gone",
            Code::TooLarge => "too_large",
            Code::RangeNotSatisfiable => "range_not_satisfiable",
            Code::Unsupported => "unsupported",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ErrorCode> for Code {
    fn from(code: ErrorCode) -> Code {
        match code {
            ErrorCode::BadFrame => Code::BadFrame,
            ErrorCode::UnknownOp => Code::UnknownOp,
            ErrorCode::InvalidPayload => Code::InvalidPayload,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::BodyEmpty => Code::BodyEmpty,
            ErrorCode::BodyTooLong => Code::BodyTooLong,
            ErrorCode::RateLimited => Code::RateLimited,
            ErrorCode::Unauthorized => Code::Unauthorized,
            ErrorCode::InvalidCredentials => Code::InvalidCredentials,
            ErrorCode::InvalidRefreshToken => Code::InvalidRefreshToken,
            ErrorCode::EmailTaken => Code::EmailTaken,
            ErrorCode::PasswordTooShort => Code::PasswordTooShort,
            ErrorCode::MethodNotAllowed => Code::MethodNotAllowed,
            ErrorCode::PayloadTooLarge => Code::PayloadTooLarge,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::Internal => Code::Internal,
            ErrorCode::Forbidden => Code::Forbidden,
            ErrorCode::Gone => Code::Gone,
            ErrorCode::TooLarge => Code::TooLarge,
            ErrorCode::RangeNotSatisfiable => Code::RangeNotSatisfiable,
            ErrorCode::Unsupported => Code::Unsupported,
            ErrorCode::Conflict => Code::Conflict,
        }
    }
}

/// Why an engine command failed. Serialises as `{code, message}`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The hub could not be reached (or did not answer in time).
    #[error("the hub cannot be reached: {0}")]
    Offline(String),
    /// No login, wrong credentials, or the login was revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// No such conversation, user, message or notification (or not visible to this user).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request was refused as invalid (empty body, short password, …).
    #[error("{message}")]
    Invalid {
        /// Why: the hub's protocol code (`body_too_long`, `password_too_short`, …), or the
        /// engine's `not_found`/`invalid` for a message refused before it reached the hub.
        reason: Code,
        /// Human text.
        message: String,
    },
    /// It already exists (an email that is taken).
    #[error("{0}")]
    Conflict(String),
    /// The hub refused for another reason (rate limited, unavailable, internal).
    #[error("the hub refused: {code}: {message}")]
    Hub {
        /// The protocol code.
        code: ErrorCode,
        /// Human text from the hub.
        message: String,
    },
    /// Something did not finish within the time it was given.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The local cache or token store failed (disk full, permissions, …).
    #[error("local storage failed: {0}")]
    Io(String),
}

impl EngineError {
    /// The code the UI branches on: `offline`, `unauthorized`, `not_found`, `invalid`,
    /// `conflict`, `hub`, `timeout` or `io`.
    pub fn code(&self) -> Code {
        match self {
            EngineError::Offline(_) => Code::Offline,
            EngineError::Unauthorized(_) => Code::Unauthorized,
            EngineError::NotFound(_) => Code::NotFound,
            EngineError::Invalid { .. } => Code::Invalid,
            EngineError::Conflict(_) => Code::Conflict,
            EngineError::Hub { .. } => Code::Hub,
            EngineError::Timeout(_) => Code::Timeout,
            EngineError::Io(_) => Code::Io,
        }
    }

    /// The most specific code known: the hub's reason when it gave one, else [`EngineError::code`].
    pub fn reason(&self) -> Code {
        match self {
            EngineError::Invalid { reason, .. } => *reason,
            EngineError::Hub { code, .. } => Code::from(*code),
            other => other.code(),
        }
    }

    /// The error a hub answer (REST body or gateway `error`) stands for.
    pub(crate) fn from_hub(info: ErrorInfo) -> EngineError {
        let ErrorInfo { code, message, .. } = info;
        match code {
            ErrorCode::NotFound => EngineError::NotFound(message),
            ErrorCode::Unauthorized | ErrorCode::InvalidCredentials | ErrorCode::InvalidRefreshToken => {
                EngineError::Unauthorized(message)
            }
            ErrorCode::EmailTaken | ErrorCode::Conflict => EngineError::Conflict(message),
            ErrorCode::BadFrame
            | ErrorCode::UnknownOp
            | ErrorCode::InvalidPayload
            | ErrorCode::BodyEmpty
            | ErrorCode::BodyTooLong
            | ErrorCode::PasswordTooShort
            | ErrorCode::PayloadTooLarge
            | ErrorCode::MethodNotAllowed
            // Protocol 1.1: retrying the same request cannot help either.
            | ErrorCode::Forbidden
            | ErrorCode::Gone
            | ErrorCode::TooLarge
            | ErrorCode::RangeNotSatisfiable
            | ErrorCode::Unsupported => EngineError::Invalid { reason: Code::from(code), message },
            ErrorCode::RateLimited | ErrorCode::Unavailable | ErrorCode::Internal => EngineError::Hub { code, message },
        }
    }

    /// Whether retrying the same request later cannot help (an outbox entry becomes `failed`).
    pub(crate) fn is_permanent(&self) -> bool {
        matches!(self, EngineError::NotFound(_) | EngineError::Invalid { .. })
    }
}

impl From<sqlx::Error> for EngineError {
    fn from(err: sqlx::Error) -> Self {
        EngineError::Io(err.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for EngineError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        EngineError::Io(err.to_string())
    }
}

impl From<std::io::Error> for EngineError {
    fn from(err: std::io::Error) -> Self {
        EngineError::Io(err.to_string())
    }
}

impl serde::Serialize for EngineError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("EngineError", 2)?;
        s.serialize_field("code", &self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_message() {
        let err = EngineError::from_hub(ErrorInfo::new(ErrorCode::BodyTooLong, "too long"));
        let v = serde_json::to_value(&err).unwrap();
        assert_eq!(v["code"], "invalid", "the UI branches on the small code set: {v}");
        assert_eq!(v["message"], "too long");
        assert!(err.is_permanent(), "a body that is too long will never be accepted");
        assert!(!EngineError::Offline("x".into()).is_permanent(), "offline is worth retrying");
        assert_eq!(err.reason(), Code::BodyTooLong, "the hub's reason is kept");
    }

    #[test]
    fn every_code_has_one_wire_name_and_the_protocol_codes_keep_theirs() {
        let mut names = std::collections::HashSet::new();
        for code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str(), "serde and as_str agree for {code:?}");
            assert!(names.insert(code.as_str()), "{code} is listed twice");
        }
        let protocol = [
            ErrorCode::BadFrame,
            ErrorCode::UnknownOp,
            ErrorCode::InvalidPayload,
            ErrorCode::NotFound,
            ErrorCode::BodyEmpty,
            ErrorCode::BodyTooLong,
            ErrorCode::RateLimited,
            ErrorCode::Unauthorized,
            ErrorCode::InvalidCredentials,
            ErrorCode::InvalidRefreshToken,
            ErrorCode::EmailTaken,
            ErrorCode::PasswordTooShort,
            ErrorCode::MethodNotAllowed,
            ErrorCode::PayloadTooLarge,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
            ErrorCode::Forbidden,
            ErrorCode::Gone,
            ErrorCode::TooLarge,
            ErrorCode::RangeNotSatisfiable,
            ErrorCode::Unsupported,
            ErrorCode::Conflict,
        ];
        for code in protocol {
            assert_eq!(Code::from(code).as_str(), code.as_str(), "a protocol code keeps its wire name");
        }
    }
}
