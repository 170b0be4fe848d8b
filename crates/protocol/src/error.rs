//! The one error shape used over REST and the gateway.

use serde::{Deserialize, Serialize};

/// The error codes of protocol v1 and 1.1. Clients branch on these, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A gateway frame was not a JSON object with an `op`.
    BadFrame,
    /// The gateway `op` is not known.
    UnknownOp,
    /// A required field is missing or has the wrong type or value.
    InvalidPayload,
    /// No such thing, or the caller may not see it.
    NotFound,
    /// A message body is empty or whitespace only.
    BodyEmpty,
    /// A message body is longer than 4000 Unicode scalar values.
    BodyTooLong,
    /// Too many operations; see `retry_after_ms`.
    RateLimited,
    /// Missing, invalid or expired access token (or API key).
    Unauthorized,
    /// Wrong email or password (one answer for both).
    InvalidCredentials,
    /// A refresh token that is unknown, expired, revoked or already used.
    InvalidRefreshToken,
    /// The email address is already registered.
    EmailTaken,
    /// The password is shorter than 8 characters.
    PasswordTooShort,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The request body is larger than the hub accepts.
    PayloadTooLarge,
    /// The hub cannot serve right now (database down, connection cap reached).
    Unavailable,
    /// Something went wrong inside the hub; details are in its log, not here.
    Internal,
    /// (1.1) A member may see the message but not do this to it (edit or delete someone
    /// else's message).
    Forbidden,
    /// (1.1) The message was deleted: it can no longer be edited or reacted to.
    Gone,
    /// (1.1) An upload is larger than the hub accepts (`--max-upload-mb`).
    TooLarge,
    /// (1.1) A `Range` header that asks for nothing inside the file.
    RangeNotSatisfiable,
    /// (1.1) A feature this hub does not serve yet (it is not in `hello.features`).
    Unsupported,
    /// (1.1, §5) The thing belongs to someone else already (a Twilio number another recruiter
    /// receives on).
    Conflict,
}

impl ErrorCode {
    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnknownOp => "unknown_op",
            ErrorCode::InvalidPayload => "invalid_payload",
            ErrorCode::NotFound => "not_found",
            ErrorCode::BodyEmpty => "body_empty",
            ErrorCode::BodyTooLong => "body_too_long",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::InvalidRefreshToken => "invalid_refresh_token",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::PasswordTooShort => "password_too_short",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Gone => "gone",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RangeNotSatisfiable => "range_not_satisfiable",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Conflict => "conflict",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{code, message}` plus, for `rate_limited`, how long to wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorInfo {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable text; never parse it.
    pub message: String,
    /// With `rate_limited`: milliseconds until an op would be accepted again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorInfo {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorInfo { code, message: message.into(), retry_after_ms: None }
    }
}

/// The body of every REST error: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorInfo,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_matches_serde_name() {
        for code in [
            ErrorCode::BadFrame,
            ErrorCode::InvalidRefreshToken,
            ErrorCode::BodyTooLong,
            ErrorCode::Forbidden,
            ErrorCode::Gone,
            ErrorCode::TooLarge,
            ErrorCode::RangeNotSatisfiable,
            ErrorCode::Unsupported,
            ErrorCode::Conflict,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str(), "wire name of {code:?}");
        }
    }
}
