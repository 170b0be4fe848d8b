//! `POST /v1/poll/open` and `POST /v1/poll/{session_id}`: the long-polling transport's routes
//! (the session itself is the gateway's, see `gateway::poll`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rapport_protocol::poll::{PollOpen, PollRequest};

use super::extract::{Body, Named, PathId};
use crate::error::ApiError;
use crate::{gateway, Hub};

/// A polled session's id in the path.
pub struct PollSessionId;
impl Named for PollSessionId {
    const WHAT: &'static str = "poll session";
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `POST /v1/poll/open`.
pub async fn open(State(hub): State<Arc<Hub>>, Body(open): Body<PollOpen>) -> Result<Response, ApiError> {
    gateway::poll::open(&hub, open).await.map(json)
}

/// `POST /v1/poll/{session_id}`.
pub async fn call(
    State(hub): State<Arc<Hub>>,
    PathId(session_id, _): PathId<PollSessionId>,
    Body(request): Body<PollRequest>,
) -> Result<Response, ApiError> {
    gateway::poll::call(&hub, &session_id, request).await.map(json)
}
