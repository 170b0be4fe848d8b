//! A small REST client that returns status and JSON, so tests can assert on both.

use rapport_protocol::{Conversation, Session};
use serde_json::{json, Value};

/// A status and a JSON body (`Value::Null` when the body was empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
}

impl Reply {
    /// The `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// A status, the headers and the raw body: for downloads.
#[derive(Debug, Clone)]
pub struct RawReply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as sent.
    pub body: Vec<u8>,
}

impl RawReply {
    /// A header's value as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// REST client bound to one hub and, optionally, one access token.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    /// A client for the hub at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Api {
        Api { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_owned(), token: None }
    }

    /// The same client acting with this access token.
    pub fn with_token(&self, token: &str) -> Api {
        Api { token: Some(token.to_owned()), ..self.clone() }
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the hub answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    /// Sends a request with a raw body and returns the raw answer.
    pub async fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> RawReply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("the hub answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body").to_vec();
        RawReply { status, headers, body }
    }

    /// `POST /v1/attachments` with this file; the JSON answer.
    pub async fn upload(&self, filename: &str, content_type: &str, bytes: Vec<u8>) -> Reply {
        let name = percent_encode(filename);
        let reply = self.raw("POST", "/v1/attachments", &[("content-type", content_type), ("x-filename", &name)], Some(bytes)).await;
        Reply { status: reply.status, body: serde_json::from_slice(&reply.body).unwrap_or(Value::Null) }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None, &[]).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call("POST", path, Some(body), &[]).await
    }

    /// Registers an account and returns its session; panics with the hub's answer otherwise.
    pub async fn register(&self, email: &str, name: &str, role: &str) -> Session {
        let reply = self
            .post("/v1/auth/register", json!({"email": email, "password": "correct horse", "display_name": name, "role": role}))
            .await;
        assert_eq!(reply.status, 201, "register {email}: {:?}", reply.body);
        serde_json::from_value(reply.body).expect("a Session")
    }

    /// Registers a user with a unique email (`name-N@example.test`) and returns a client
    /// acting as them plus their session.
    pub async fn user(&self, name: &str, role: &str) -> (Api, Session) {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let email = format!("{}-{n}-{}@example.test", name.to_lowercase().replace(' ', "."), std::process::id());
        let session = self.register(&email, name, role).await;
        (self.with_token(&session.access_token), session)
    }

    /// Starts (or gets) the direct conversation with `user_id`.
    pub async fn direct(&self, user_id: &str) -> Conversation {
        let reply = self.post("/v1/conversations", json!({"kind": "direct", "user_id": user_id})).await;
        assert!(reply.status == 201 || reply.status == 200, "direct conversation: {:?}", reply.body);
        serde_json::from_value(reply.body).expect("a Conversation")
    }
}

/// Percent-encodes everything but ASCII letters, digits and `-._~` (what `X-Filename` and a
/// path segment need).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
