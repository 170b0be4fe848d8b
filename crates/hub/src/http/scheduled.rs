//! The caller's scheduled messages (1.1, §3): listed until they are sent, cancelled until a
//! hub starts sending them. Scheduling is `message.send` with `send_at`, or its REST form here.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rapport_protocol::gateway::SendMessage;
use rapport_protocol::rest::{ScheduleRequest, ScheduledList};
use rapport_protocol::{ErrorBody, ScheduledMessage};

use super::extract::{Body, Caller, Named, PathId};
use crate::error::{ApiError, ApiResult};
use crate::store::StoreError;
use crate::{gateway, Hub};

/// A scheduled message id in the path.
pub struct ScheduledId;
impl Named for ScheduledId {
    const WHAT: &'static str = "scheduled message";
}

/// Schedules a message: `message.send` with `send_at`, over REST.
#[utoipa::path(post, path = "/v1/scheduled", tag = "scheduled", request_body = ScheduleRequest, security(("bearer" = [])),
    responses((status = 201, body = ScheduledMessage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(State(hub): State<Arc<Hub>>, caller: Caller, Body(req): Body<ScheduleRequest>) -> ApiResult<(StatusCode, Json<ScheduledMessage>)> {
    let send = SendMessage {
        conversation_id: req.conversation_id,
        client_msg_id: req.client_msg_id,
        body: req.body,
        card: req.card,
        send_at: Some(req.send_at),
        ..SendMessage::default()
    };
    let scheduled = gateway::schedule_over_rest(&hub, &caller.user_id, send).await?;
    Ok((StatusCode::CREATED, Json(scheduled)))
}

/// The caller's messages waiting for their time, soonest first.
#[utoipa::path(get, path = "/v1/scheduled", tag = "scheduled", security(("bearer" = [])),
    responses((status = 200, body = ScheduledList), (status = 401, body = ErrorBody)))]
pub async fn list(State(hub): State<Arc<Hub>>, caller: Caller) -> ApiResult<Json<ScheduledList>> {
    Ok(Json(ScheduledList { scheduled: hub.store.scheduled_of(&caller.user_id).await? }))
}

/// Cancels a scheduled message: it will not be sent.
#[utoipa::path(delete, path = "/v1/scheduled/{id}", tag = "scheduled", security(("bearer" = [])),
    params(("id" = String, Path, description = "scheduled message id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody, description = "it is being sent or was sent")))]
pub async fn cancel(State(hub): State<Arc<Hub>>, caller: Caller, PathId(id, _): PathId<ScheduledId>) -> ApiResult<StatusCode> {
    hub.store.cancel_scheduled(&caller.user_id, &id).await.map_err(|err| match err {
        StoreError::NotFound => ApiError::not_found("scheduled message"),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}
