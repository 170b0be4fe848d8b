//! (1.1) Changes to one message over REST: the same as the gateway's `message.edit`,
//! `message.delete` and `message.react`, through the same committer, with the same events.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rapport_protocol::rest::EditMessageRequest;
use rapport_protocol::{ErrorBody, Message};

use super::extract::{Body, Caller, MessageIds, PathId};
use crate::error::ApiResult;
use crate::gateway::{enqueue_change, ChangeKind};
use crate::Hub;

async fn change(hub: &Hub, caller: &Caller, conversation_id: String, message_id: String, kind: ChangeKind) -> ApiResult<Message> {
    // Queued only for a member of the conversation (else `conversation not found`); a message
    // that is not in it is the committer's `message not found`.
    let pending = enqueue_change(hub, &caller.user_id, conversation_id, message_id, kind, Instant::now()).await?;
    pending.message().await
}

/// Replaces the body of one's own message (`message.updated` to every member).
#[utoipa::path(patch, path = "/v1/conversations/{id}/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id"), ("message_id" = String, Path, description = "message id")),
    request_body = EditMessageRequest,
    responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody, description = "not the sender"),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody, description = "the message was deleted")))]
pub async fn edit(State(hub): State<Arc<Hub>>, caller: Caller, PathId((id, message_id), _): PathId<MessageIds, (String, String)>, Body(req): Body<EditMessageRequest>) -> ApiResult<Json<Message>> {
    Ok(Json(change(&hub, &caller, id, message_id, ChangeKind::Edit { body: req.body }).await?))
}

/// Deletes one's own message, leaving a tombstone (`message.deleted` to every member, once).
#[utoipa::path(delete, path = "/v1/conversations/{id}/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id"), ("message_id" = String, Path, description = "message id")),
    responses((status = 204), (status = 403, body = ErrorBody, description = "not the sender"), (status = 404, body = ErrorBody)))]
pub async fn delete(State(hub): State<Arc<Hub>>, caller: Caller, PathId((id, message_id), _): PathId<MessageIds, (String, String)>) -> ApiResult<StatusCode> {
    change(&hub, &caller, id, message_id, ChangeKind::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds the caller's reaction (idempotent).
#[utoipa::path(put, path = "/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id"), ("message_id" = String, Path, description = "message id"),
        ("emoji" = String, Path, description = "one emoji or a :shortcode:, percent-encoded")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody, description = "the message was deleted")))]
pub async fn react(State(hub): State<Arc<Hub>>, caller: Caller, PathId((id, message_id, emoji), _): PathId<MessageIds, (String, String, String)>) -> ApiResult<StatusCode> {
    change(&hub, &caller, id, message_id, ChangeKind::React { emoji, on: true }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes the caller's reaction back (idempotent).
#[utoipa::path(delete, path = "/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id"), ("message_id" = String, Path, description = "message id"),
        ("emoji" = String, Path, description = "one emoji or a :shortcode:, percent-encoded")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody, description = "the message was deleted")))]
pub async fn unreact(State(hub): State<Arc<Hub>>, caller: Caller, PathId((id, message_id, emoji), _): PathId<MessageIds, (String, String, String)>) -> ApiResult<StatusCode> {
    change(&hub, &caller, id, message_id, ChangeKind::React { emoji, on: false }).await?;
    Ok(StatusCode::NO_CONTENT)
}
