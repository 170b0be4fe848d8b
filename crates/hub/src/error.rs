//! The one place where failures become protocol errors.
//!
//! Handlers and gateway ops return [`ApiError`]; REST turns it into a status and
//! `{"error": {code, message}}`, the gateway into an `error` frame. Internal failures are logged
//! here with their cause and reach the client only as a generic code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rapport_protocol::{ErrorBody, ErrorCode, ErrorInfo};

use crate::store::{Refusal, StoreError};

/// When a client should try again after the database was unavailable: about the time a
/// database restart takes.
const UNAVAILABLE_RETRY_MS: u64 = 1000;

/// A failure that a client sees as `{code, message}`.
#[derive(Debug)]
pub struct ApiError {
    /// What the client branches on.
    pub code: ErrorCode,
    /// What a person reads.
    pub message: String,
    /// With `rate_limited`.
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    /// An error with this code and text.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), retry_after_ms: None }
    }

    /// `not_found`, worded the same for "no such id" and "not yours".
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// `invalid_payload`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidPayload, message)
    }

    /// `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unauthorized, message)
    }

    /// The HTTP status for this code.
    pub fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::BadFrame
            | ErrorCode::UnknownOp
            | ErrorCode::InvalidPayload
            | ErrorCode::BodyEmpty
            | ErrorCode::BodyTooLong
            | ErrorCode::PasswordTooShort
            | ErrorCode::Unsupported => StatusCode::BAD_REQUEST,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::Gone => StatusCode::GONE,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::Unauthorized
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidRefreshToken => StatusCode::UNAUTHORIZED,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::EmailTaken | ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The wire form.
    pub fn info(&self) -> ErrorInfo {
        ErrorInfo {
            code: self.code,
            message: self.message.clone(),
            retry_after_ms: self.retry_after_ms,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound => ApiError::not_found("conversation"),
            StoreError::EmailTaken => {
                ApiError::new(ErrorCode::EmailTaken, "an account with this email already exists")
            }
            StoreError::InvalidText => ApiError::invalid("text must not contain the character U+0000"),
            StoreError::Unavailable(err) => {
                // Expected while the database restarts; the readiness probe and the group
                // commit report it once, so each request only leaves a debug line.
                tracing::debug!(error = %err, "database unavailable");
                ApiError {
                    retry_after_ms: Some(UNAVAILABLE_RETRY_MS),
                    ..ApiError::new(ErrorCode::Unavailable, "the database is not available; retry shortly")
                }
            }
            StoreError::Refused(refusal) => refusal.into(),
            StoreError::Database(err) => {
                // Logged with its cause here; the client learns only that the hub is struggling.
                tracing::error!(error = %err, "database error");
                ApiError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::NotSender => ApiError::new(ErrorCode::Forbidden, "only its sender may edit or delete a message"),
            Refusal::Deleted => ApiError::new(ErrorCode::Gone, "the message was deleted"),
            Refusal::EmptyBody => ApiError::new(ErrorCode::BodyEmpty, "the message is empty"),
            Refusal::BodyTooLong => ApiError::new(ErrorCode::BodyTooLong, "the message is longer than 4000 characters"),
            Refusal::ReplyElsewhere => ApiError::invalid("reply_to must name a message of this conversation"),
            Refusal::AttachmentUnavailable => ApiError::not_found("attachment"),
            Refusal::TooManyReactions => ApiError::invalid("a message has at most 20 different reactions"),
            Refusal::TemplateNameTaken => ApiError::invalid("you already have a template with this name"),
            Refusal::TooManyTemplates => ApiError::invalid("you have 500 templates already; remove one first"),
            Refusal::AlreadySent => ApiError::new(ErrorCode::Gone, "the scheduled message is being sent or was sent already"),
            Refusal::NoSuchMessage => ApiError::not_found("message"),
            Refusal::NumberTaken => ApiError::new(ErrorCode::Conflict, "another recruiter receives on this number"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(ErrorBody { error: self.info() })).into_response();
        if let Some(ms) = self.retry_after_ms {
            let secs = ms.div_ceil(1000).max(1);
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// Result of a handler or op.
pub type ApiResult<T> = Result<T, ApiError>;
