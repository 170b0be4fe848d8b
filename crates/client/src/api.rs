//! The hub's REST routes, typed, with errors mapped to [`EngineError`].

use std::time::Duration;

use rapport_protocol::rest::{
    ConversationList, CreateConversation, LoginRequest, MessagePage, NotificationList, RefreshRequest, RegisterRequest,
    ScheduleRequest, ScheduledList, TemplateList, TemplateRequest, UserList,
};
use rapport_protocol::poll::{PollAnswer, PollOpen, PollOpened, PollRequest};
use rapport_protocol::{Attachment, Conversation, ErrorBody, ErrorCode, ErrorInfo, ScheduledMessage, Session, Template};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::EngineError;

/// Longest a single REST call may take before the hub counts as unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest an upload or download of a file may take; a stalled one is given up much sooner by
/// its caller (see `uploads` and `downloads`).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What an upload declares about its file.
pub(crate) struct UploadRequest<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: u64,
    pub sha256: &'a str,
}

/// A REST client for one hub.
#[derive(Clone)]
pub(crate) struct HubApi {
    http: reqwest::Client,
    base: String,
}

impl HubApi {
    pub(crate) fn new(base: String) -> Result<HubApi, EngineError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| EngineError::Io(format!("HTTP client: {e}")))?;
        Ok(HubApi { http, base })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, EngineError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.answer(request).await?;
        let bytes = response.bytes().await.map_err(|e| EngineError::Offline(without_url(e)))?;
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(bytes).map_err(|e| EngineError::Hub { code: ErrorCode::Internal, message: format!("unexpected answer: {e}") })
    }

    /// Sends a request; a success comes back to be read, anything else as the error it means.
    async fn answer(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, EngineError> {
        let response = request.send().await.map_err(|e| EngineError::Offline(without_url(e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let bytes = response.bytes().await.map_err(|e| EngineError::Offline(without_url(e)))?;
        let info = serde_json::from_slice::<ErrorBody>(&bytes).map(|b| b.error).unwrap_or_else(|_| {
            let code = match status.as_u16() {
                401 => ErrorCode::Unauthorized,
                404 => ErrorCode::NotFound,
                413 => ErrorCode::TooLarge,
                416 => ErrorCode::RangeNotSatisfiable,
                502..=504 => ErrorCode::Unavailable,
                _ => ErrorCode::Internal,
            };
            ErrorInfo::new(code, format!("HTTP {status}"))
        });
        if matches!(info.code, ErrorCode::Unavailable) && status.as_u16() >= 502 {
            // A proxy in front of a stopped hub: as good as offline.
            return Err(EngineError::Offline(info.message));
        }
        Err(EngineError::from_hub(info))
    }

    /// (1.1 §4) Opens a long-polled session (the `identify` of the HTTP fallback).
    pub(crate) async fn poll_open(&self, req: &PollOpen) -> Result<PollOpened, EngineError> {
        self.call(reqwest::Method::POST, "/v1/poll/open", None, Some(req)).await
    }

    /// (1.1 §4) One poll: carries `req.ops`, waits up to `hold` (the hub's) for what the
    /// session has, with some room for the network on top.
    pub(crate) async fn poll(&self, session_id: &str, req: &PollRequest, hold: Duration) -> Result<PollAnswer, EngineError> {
        let url = format!("{}/v1/poll/{}", self.base, encode(session_id));
        let request = self.http.post(url).json(req).timeout(hold + REQUEST_TIMEOUT);
        let response = self.answer(request).await?;
        let bytes = response.bytes().await.map_err(|e| EngineError::Offline(without_url(e)))?;
        serde_json::from_slice(&bytes).map_err(|e| EngineError::Hub { code: ErrorCode::Internal, message: format!("unexpected answer: {e}") })
    }

    pub(crate) async fn register(&self, req: &RegisterRequest) -> Result<Session, EngineError> {
        self.call(reqwest::Method::POST, "/v1/auth/register", None, Some(req)).await
    }

    pub(crate) async fn login(&self, req: &LoginRequest) -> Result<Session, EngineError> {
        self.call(reqwest::Method::POST, "/v1/auth/login", None, Some(req)).await
    }

    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<Session, EngineError> {
        let req = RefreshRequest { refresh_token: refresh_token.to_owned() };
        self.call(reqwest::Method::POST, "/v1/auth/refresh", None, Some(&req)).await
    }

    pub(crate) async fn logout(&self, refresh_token: &str) -> Result<(), EngineError> {
        let req = RefreshRequest { refresh_token: refresh_token.to_owned() };
        self.call::<serde_json::Value>(reqwest::Method::POST, "/v1/auth/logout", None, Some(&req)).await.map(drop)
    }

    pub(crate) async fn users(&self, token: &str, query: &str, limit: u32) -> Result<UserList, EngineError> {
        let path = format!("/v1/users?q={}&limit={limit}", encode(query));
        self.call(reqwest::Method::GET, &path, Some(token), None::<&()>).await
    }

    pub(crate) async fn create_conversation(&self, token: &str, req: &CreateConversation) -> Result<Conversation, EngineError> {
        self.call(reqwest::Method::POST, "/v1/conversations", Some(token), Some(req)).await
    }

    pub(crate) async fn conversations(&self, token: &str) -> Result<ConversationList, EngineError> {
        self.call(reqwest::Method::GET, "/v1/conversations", Some(token), None::<&()>).await
    }

    pub(crate) async fn conversation(&self, token: &str, id: &str) -> Result<Conversation, EngineError> {
        self.call(reqwest::Method::GET, &format!("/v1/conversations/{}", encode(id)), Some(token), None::<&()>).await
    }

    pub(crate) async fn messages_after(&self, token: &str, id: &str, after_seq: i64, limit: u32) -> Result<MessagePage, EngineError> {
        let path = format!("/v1/conversations/{}/messages?after_seq={after_seq}&limit={limit}", encode(id));
        self.call(reqwest::Method::GET, &path, Some(token), None::<&()>).await
    }

    /// (1.1) The messages that changed after `after_rev` (created, edited, deleted, reacted
    /// to), ascending by rev.
    pub(crate) async fn messages_changed_after(&self, token: &str, id: &str, after_rev: i64, limit: u32) -> Result<MessagePage, EngineError> {
        let path = format!("/v1/conversations/{}/messages?changed_after_rev={after_rev}&limit={limit}", encode(id));
        self.call(reqwest::Method::GET, &path, Some(token), None::<&()>).await
    }

    /// (1.1) Uploads a whole file (`POST /v1/attachments`); the hub checks it against `sha256`
    /// and keeps nothing of a body that does not arrive whole.
    pub(crate) async fn upload(&self, token: &str, file: &UploadRequest<'_>, body: reqwest::Body) -> Result<Attachment, EngineError> {
        let request = self
            .http
            .post(format!("{}/v1/attachments", self.base))
            .bearer_auth(token)
            .timeout(TRANSFER_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, file.content_type)
            .header(reqwest::header::CONTENT_LENGTH, file.size)
            .header("x-filename", encode(file.filename))
            .header("x-sha256", file.sha256)
            .body(body);
        let response = self.answer(request).await?;
        response.json().await.map_err(|e| EngineError::Hub { code: ErrorCode::Internal, message: format!("unexpected answer: {}", without_url(e)) })
    }

    /// (1.1) An attachment's bytes from `from` on (a resumed download names the ETag it
    /// started with, so that a changed file is sent whole instead); the response to stream.
    pub(crate) async fn download(&self, token: &str, id: &str, from: u64, etag: &str) -> Result<reqwest::Response, EngineError> {
        let mut request = self.http.get(format!("{}/v1/attachments/{}", self.base, encode(id))).bearer_auth(token).timeout(TRANSFER_TIMEOUT);
        if from > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={from}-")).header(reqwest::header::IF_RANGE, etag);
        }
        self.answer(request).await
    }

    /// (1.1) The preview of an image attachment.
    pub(crate) async fn thumbnail(&self, token: &str, id: &str) -> Result<reqwest::Response, EngineError> {
        let request = self.http.get(format!("{}/v1/attachments/{}/thumbnail", self.base, encode(id))).bearer_auth(token).timeout(TRANSFER_TIMEOUT);
        self.answer(request).await
    }

    /// (1.1, §3) The user's saved replies.
    pub(crate) async fn templates(&self, token: &str) -> Result<TemplateList, EngineError> {
        self.call(reqwest::Method::GET, "/v1/templates", Some(token), None::<&()>).await
    }

    pub(crate) async fn create_template(&self, token: &str, req: &TemplateRequest) -> Result<Template, EngineError> {
        self.call(reqwest::Method::POST, "/v1/templates", Some(token), Some(req)).await
    }

    pub(crate) async fn update_template(&self, token: &str, id: &str, req: &TemplateRequest) -> Result<Template, EngineError> {
        self.call(reqwest::Method::PUT, &format!("/v1/templates/{}", encode(id)), Some(token), Some(req)).await
    }

    pub(crate) async fn delete_template(&self, token: &str, id: &str) -> Result<(), EngineError> {
        self.call::<serde_json::Value>(reqwest::Method::DELETE, &format!("/v1/templates/{}", encode(id)), Some(token), None::<&()>).await.map(drop)
    }

    /// (1.1, §3) Schedules a message (the REST form of `message.send` with `send_at`).
    pub(crate) async fn schedule(&self, token: &str, req: &ScheduleRequest) -> Result<ScheduledMessage, EngineError> {
        self.call(reqwest::Method::POST, "/v1/scheduled", Some(token), Some(req)).await
    }

    pub(crate) async fn scheduled(&self, token: &str) -> Result<ScheduledList, EngineError> {
        self.call(reqwest::Method::GET, "/v1/scheduled", Some(token), None::<&()>).await
    }

    pub(crate) async fn cancel_scheduled(&self, token: &str, id: &str) -> Result<(), EngineError> {
        self.call::<serde_json::Value>(reqwest::Method::DELETE, &format!("/v1/scheduled/{}", encode(id)), Some(token), None::<&()>).await.map(drop)
    }

    pub(crate) async fn notifications(&self, token: &str) -> Result<NotificationList, EngineError> {
        self.call(reqwest::Method::GET, "/v1/notifications", Some(token), None::<&()>).await
    }

    pub(crate) async fn notification_read(&self, token: &str, id: &str) -> Result<(), EngineError> {
        let path = format!("/v1/notifications/{}/read", encode(id));
        self.call::<serde_json::Value>(reqwest::Method::POST, &path, Some(token), None::<&()>).await.map(drop)
    }
}

/// reqwest errors print the URL; keep the cause only (URLs may carry search text).
pub(crate) fn without_url(err: reqwest::Error) -> String {
    let kind = if err.is_timeout() { "timed out" } else if err.is_connect() { "connection failed" } else { "request failed" };
    match std::error::Error::source(&err) {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_owned(),
    }
}

/// Percent-encodes a path segment or query value.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encode_escapes_everything_but_unreserved() {
        assert_eq!(super::encode("a b+c@d.e/é"), "a%20b%2Bc%40d.e%2F%C3%A9");
    }
}
