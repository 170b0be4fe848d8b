//! A stand-in for Twilio's REST API, the Messages resource only, on `127.0.0.1:0`: what the
//! hub's outbound bridge talks to in tests. It checks HTTP basic auth (account SID and auth
//! token) as Twilio does, records every message it accepted, and can be told to answer the
//! next requests with an error (a 429 with `Retry-After`, a 500, a 400 that no retry cures).
//!
//! It also keeps the media of inbound messages, as Twilio does for the webhook's `MediaUrl0…`:
//! [`FakeTwilio::serve_media`] puts a file at [`FakeTwilio::media_url`], behind the same basic
//! auth; `/redirect/media/{name}` answers a redirect to it (Twilio sends its CDN's address), and
//! a name it was not given answers 404.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::WAIT;

/// The account SID the bridge tests send as.
pub const TWILIO_ACCOUNT_SID: &str = "ACtest0000000000000000000000000000";

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The SID it answered with (`SM…`).
    pub sid: String,
    /// `To`.
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Body`.
    pub body: String,
    /// `StatusCallback`, when given.
    pub status_callback: Option<String>,
}

/// An error the fake answers one request with.
#[derive(Debug, Clone, Copy)]
pub struct Failure {
    /// The HTTP status.
    pub status: u16,
    /// `Retry-After`, in seconds.
    pub retry_after_secs: Option<u64>,
    /// Twilio's error code in the body (21211: an invalid `To` number, …).
    pub code: u32,
}

#[derive(Default)]
struct Record {
    sent: Vec<SentMessage>,
    /// Every request to the Messages resource, accepted or not.
    requests: u64,
    /// Requests whose basic auth was wrong.
    unauthorized: u64,
    failures: VecDeque<Failure>,
    media: HashMap<String, MediaFile>,
    /// Requests for media, served or not.
    media_requests: u64,
}

/// A file the fake serves as a message's media.
#[derive(Clone)]
struct MediaFile {
    content_type: String,
    bytes: Bytes,
    /// Sent in chunks without `Content-Length`: its size shows only as it arrives.
    streamed: bool,
}

struct Shared {
    token: String,
    record: Mutex<Record>,
    changed: tokio::sync::Notify,
}

/// A fake Twilio REST API.
pub struct FakeTwilio {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeTwilio {
    /// Serves on a free loopback port, accepting [`TWILIO_ACCOUNT_SID`] with this auth token.
    pub async fn start(auth_token: &str) -> FakeTwilio {
        let shared = Arc::new(Shared { token: auth_token.to_owned(), record: Mutex::default(), changed: tokio::sync::Notify::new() });
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(create_message))
            .route("/media/{name}", get(media))
            .route("/redirect/media/{name}", get(redirect_to_media))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTwilio { addr, shared, task }
    }

    /// Its base URL, for `--twilio-api-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` requests are answered with `failure` instead of being accepted.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        let mut record = self.shared.record.lock().unwrap();
        record.failures.extend(std::iter::repeat_n(failure, n));
    }

    /// Stops failing: the requests from now on are accepted.
    pub fn stop_failing(&self) {
        self.shared.record.lock().unwrap().failures.clear();
    }

    /// Serves `bytes` as `content_type` at [`FakeTwilio::media_url`]`(name)`, with
    /// `Content-Length`, or (`streamed`) in chunks without it.
    pub fn serve_media(&self, name: &str, content_type: &str, bytes: impl Into<Bytes>, streamed: bool) {
        let file = MediaFile { content_type: content_type.to_owned(), bytes: bytes.into(), streamed };
        self.shared.record.lock().unwrap().media.insert(name.to_owned(), file);
    }

    /// Where the media `name` is (404 until it is served).
    pub fn media_url(&self, name: &str) -> String {
        format!("{}/media/{name}", self.url())
    }

    /// A URL that redirects to the media `name`.
    pub fn redirected_media_url(&self, name: &str) -> String {
        format!("{}/redirect/media/{name}", self.url())
    }

    /// Requests for media files so far, served or not (redirects to them not counted).
    pub fn media_requests(&self) -> u64 {
        self.shared.record.lock().unwrap().media_requests
    }

    /// The messages accepted so far, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.record.lock().unwrap().sent.clone()
    }

    /// Requests to the Messages resource so far, accepted or not.
    pub fn requests(&self) -> u64 {
        self.shared.record.lock().unwrap().requests
    }

    /// Requests whose credentials were wrong.
    pub fn unauthorized(&self) -> u64 {
        self.shared.record.lock().unwrap().unauthorized
    }

    /// Waits (up to [`WAIT`]) until `done` holds for the messages accepted and the requests
    /// made; panics if it never does.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&[SentMessage], u64) -> bool) -> Vec<SentMessage> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let changed = self.shared.changed.notified();
            {
                let record = self.shared.record.lock().unwrap();
                if done(&record.sent, record.requests) {
                    return record.sent.clone();
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let record = self.shared.record.lock().unwrap();
                panic!("the fake Twilio never saw {what}: {} requests, accepted {:?}", record.requests, record.sent);
            }
        }
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether the request carries the account's basic auth.
fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_ACCOUNT_SID}:{}", shared.token)));
    headers.get(header::AUTHORIZATION).is_some_and(|v| v.as_bytes() == expected.as_bytes())
}

async fn media(State(shared): State<Arc<Shared>>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let file = {
        let mut record = shared.record.lock().unwrap();
        record.media_requests += 1;
        if !authorized(&shared, &headers) {
            record.unauthorized += 1;
            drop(record);
            return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate", None);
        }
        record.media.get(&name).cloned()
    };
    shared.changed.notify_waiters();
    let Some(file) = file else {
        return error(StatusCode::NOT_FOUND, 20404, "The requested resource was not found", None);
    };
    let content_type = [(header::CONTENT_TYPE, file.content_type)];
    if file.streamed {
        let chunks: Vec<Result<Bytes, std::io::Error>> = file.bytes.chunks(16 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        (content_type, Body::from_stream(futures_util::stream::iter(chunks))).into_response()
    } else {
        (content_type, file.bytes).into_response()
    }
}

async fn redirect_to_media(Path(name): Path<String>) -> Response {
    (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, format!("/media/{name}"))]).into_response()
}

async fn create_message(State(shared): State<Arc<Shared>>, Path(sid): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let authorized = sid == TWILIO_ACCOUNT_SID && authorized(&shared, &headers);
    let response = {
        let mut record = shared.record.lock().unwrap();
        record.requests += 1;
        if !authorized {
            record.unauthorized += 1;
            error(StatusCode::UNAUTHORIZED, 20003, "Authenticate", None)
        } else if let Some(failure) = record.failures.pop_front() {
            let status = StatusCode::from_u16(failure.status).expect("a status");
            error(status, failure.code, "told to fail", failure.retry_after_secs)
        } else {
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
            let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            let message = SentMessage {
                sid: format!("SM{:032x}", record.sent.len() + 1),
                to: field("To").unwrap_or_default(),
                from: field("From").unwrap_or_default(),
                body: field("Body").unwrap_or_default(),
                status_callback: field("StatusCallback"),
            };
            let answer = json!({"sid": message.sid, "status": "queued", "to": message.to, "from": message.from, "body": message.body});
            record.sent.push(message);
            (StatusCode::CREATED, Json(answer)).into_response()
        }
    };
    shared.changed.notify_waiters();
    response
}

fn error(status: StatusCode, code: u32, message: &str, retry_after_secs: Option<u64>) -> Response {
    let mut response = (status, Json(json!({"code": code, "message": message, "status": status.as_u16()}))).into_response();
    if let Some(secs) = retry_after_secs {
        response.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    response
}
