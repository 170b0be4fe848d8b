//! The engine's one error type, with the small set of codes the UI branches on.

use rapport_protocol::{ErrorCode, ErrorInfo};
use serde::ser::SerializeStruct as _;

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
        /// The protocol code, when the hub gave one (`body_too_long`, `password_too_short`, …).
        reason: String,
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
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Offline(_) => "offline",
            EngineError::Unauthorized(_) => "unauthorized",
            EngineError::NotFound(_) => "not_found",
            EngineError::Invalid { .. } => "invalid",
            EngineError::Conflict(_) => "conflict",
            EngineError::Hub { .. } => "hub",
            EngineError::Timeout(_) => "timeout",
            EngineError::Io(_) => "io",
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
            ErrorCode::EmailTaken => EngineError::Conflict(message),
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
            | ErrorCode::Unsupported => EngineError::Invalid { reason: code.as_str().to_owned(), message },
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
        s.serialize_field("code", self.code())?;
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
    }
}
