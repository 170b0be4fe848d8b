//! Notifications: pushed by integrations with the API key, read by users.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rapport_protocol::gateway::Event;
use rapport_protocol::rest::{CreateNotification, NotificationList};
use rapport_protocol::{ErrorBody, Notification};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{ApiKey, Body, Caller, NotificationId, Params, PathId};
use super::text::one_line;
use crate::error::{ApiError, ApiResult};
use crate::gateway::announce;
use crate::store::StoreError;
use crate::Hub;

const MAX_TITLE_CHARS: usize = 200;
const MAX_BODY_CHARS: usize = 4000;

/// Stores a notification for a user and pushes it to their sessions (integration route).
#[utoipa::path(post, path = "/v1/notifications", tag = "notifications", request_body = CreateNotification,
    security(("api_key" = [])),
    responses((status = 201, body = Notification), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(State(hub): State<Arc<Hub>>, _key: ApiKey, Body(req): Body<CreateNotification>) -> ApiResult<(StatusCode, Json<Notification>)> {
    let title = one_line("title", &req.title, MAX_TITLE_CHARS)?;
    if req.body.chars().count() > MAX_BODY_CHARS {
        return Err(ApiError::invalid("body must be at most 4000 characters"));
    }
    let user = match (&req.user_id, &req.email) {
        (Some(id), _) => hub.store.user_by_id(id).await?,
        (None, Some(email)) => hub.store.user_by_email(&email.trim().to_lowercase()).await?.map(|(u, _)| u),
        (None, None) => return Err(ApiError::invalid("give user_id or email")),
    };
    let user = user.ok_or_else(|| ApiError::not_found("user"))?;
    let data = req.data.unwrap_or(serde_json::Value::Null);
    let notification = hub.store.create_notification(&user.id, req.kind, title, &req.body, &data).await?;
    let event = Event::Notification { notification: notification.clone() };
    announce::to_user(&hub, &user.id, &event);
    Ok((StatusCode::CREATED, Json(notification)))
}

/// `GET /v1/notifications` query.
#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only unread ones.
    unread: Option<bool>,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = NotificationList), (status = 401, body = ErrorBody)))]
pub async fn list(State(hub): State<Arc<Hub>>, caller: Caller, Params(query): Params<ListQuery>) -> ApiResult<Json<NotificationList>> {
    let notifications = hub.store.notifications(&caller.user_id, query.unread.unwrap_or(false)).await?;
    Ok(Json(NotificationList { notifications }))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "notification id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn read(State(hub): State<Arc<Hub>>, caller: Caller, PathId(id, _): PathId<NotificationId>) -> ApiResult<StatusCode> {
    hub.store.mark_notification_read(&caller.user_id, &id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("notification"),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}
