//! Opening and polling a long-polled session (1.1 §4): the HTTP side of the `poll_link`.
//!
//! A polled session lives on the hub that opened it: its task is found by id in
//! [`Gateway`]'s registry. Another hub (behind a load balancer that does not keep a session's
//! polls on one hub) answers `not_found`, and the client opens a new session and catches up as
//! after an `invalid_session`.

use std::sync::Arc;
use std::time::Duration;

use rapport_protocol::gateway::{ClientFrame, ClientOp, Identify};
use rapport_protocol::poll::{PollClosed, PollOpen, PollRequest, MAX_POLL_OPS, POLL_HOLD_MS};
use rapport_protocol::{close, ErrorCode};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use super::poll_link::{PollCall, PollLink, PollReply, CALL_QUEUE};
use super::{connection, Gateway};
use crate::error::{ApiError, ApiResult};
use crate::Hub;

/// `POST /v1/poll/open`: identifies a session carried by polls; the JSON of `PollOpened`.
pub async fn open(hub: &Arc<Hub>, open: PollOpen) -> ApiResult<String> {
    if hub.shutdown.is_cancelled() {
        return Err(ApiError::new(ErrorCode::Unavailable, "the hub is shutting down"));
    }
    let Some(admission) = Gateway::admit(hub) else {
        return Err(ApiError::new(ErrorCode::Unavailable, "too many connections"));
    };
    let identify = ClientFrame { reference: None, op: ClientOp::Identify(Identify { token: open.token, presence: open.presence }) };
    let identify = serde_json::value::to_raw_value(&identify).expect("client frames always serialise");
    let (calls, receiver) = mpsc::channel(CALL_QUEUE);
    let (reply, answer) = oneshot::channel();
    let hold = hub.config.heartbeat.min(Duration::from_millis(POLL_HOLD_MS));
    let link = PollLink::new(receiver, PollCall { ops: vec![identify], last_seq: None, reply }, hold);
    hub.connections.spawn(connection::serve(hub.clone(), link, admission));
    let reply = answer.await.map_err(|_| ApiError::new(ErrorCode::Unavailable, "the session ended before it was ready"))?;
    // Events may follow `ready` in this answer: the first poll (`last_seq` 0) brings them
    // again, so only `ready` is kept here.
    let Some(first) = reply.frames.first() else {
        return Err(refusal(reply.closed.as_ref()));
    };
    #[derive(Deserialize)]
    struct Frame<'a> {
        op: &'a str,
        #[serde(borrow)]
        data: &'a RawValue,
    }
    #[derive(Deserialize)]
    struct Id {
        session_id: String,
    }
    let frame: Frame<'_> = serde_json::from_str(first.as_str()).map_err(|_| refusal(reply.closed.as_ref()))?;
    if frame.op != "ready" {
        return Err(refusal(reply.closed.as_ref()));
    }
    let Id { session_id } = serde_json::from_str(frame.data.get()).map_err(|_| refusal(None))?;
    hub.gateway.polls.insert(session_id.clone(), calls);
    let heartbeat_ms = hub.config.heartbeat.as_millis() as u64;
    let session = serde_json::to_string(&session_id).expect("a string serialises");
    Ok(format!(r#"{{"session_id":{session},"heartbeat_interval_ms":{heartbeat_ms},"ready":{}}}"#, frame.data.get()))
}

/// Why an open gave no `ready`, from how the session closed.
fn refusal(closed: Option<&PollClosed>) -> ApiError {
    match closed {
        Some(closed) if closed.code == close::NOT_AUTHENTICATED => ApiError::unauthorized(closed.reason.clone()),
        Some(closed) => ApiError::new(ErrorCode::Unavailable, format!("the session could not be opened: {}", closed.reason)),
        None => ApiError::new(ErrorCode::Unavailable, "the session could not be opened"),
    }
}

/// `POST /v1/poll/{session_id}`: hands the ops to the session and waits for its answer; the
/// JSON of `PollAnswer`.
pub async fn call(hub: &Hub, session_id: &str, request: PollRequest) -> ApiResult<String> {
    if request.ops.len() > MAX_POLL_OPS {
        return Err(ApiError::invalid(format!("a poll carries at most {MAX_POLL_OPS} ops")));
    }
    let gone = || ApiError::not_found("poll session");
    let calls = hub.gateway.polls.get(session_id).map(|c| c.clone()).ok_or_else(gone)?;
    let (reply, answer) = oneshot::channel();
    let call = PollCall { ops: request.ops, last_seq: Some(request.last_seq), reply };
    match calls.try_send(call) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            let mut error = ApiError::new(ErrorCode::RateLimited, "too many polls of this session at once");
            error.retry_after_ms = Some(100);
            return Err(error);
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            hub.gateway.polls.remove_if(session_id, |_, c| c.is_closed());
            return Err(gone());
        }
    }
    let reply = answer.await.map_err(|_| gone())?;
    Ok(render(&reply))
}

/// `{"frames":[…],"closed":…}` from the frames as they are, without parsing them again.
fn render(reply: &PollReply) -> String {
    let mut body = String::with_capacity(32 + reply.frames.iter().map(|f| f.len() + 1).sum::<usize>());
    body.push_str(r#"{"frames":["#);
    for (i, frame) in reply.frames.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(frame.as_str());
    }
    body.push(']');
    if let Some(closed) = &reply.closed {
        body.push_str(r#","closed":"#);
        body.push_str(&serde_json::to_string(closed).expect("a close serialises"));
    }
    body.push('}');
    body
}
