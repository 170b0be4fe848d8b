//! REST routes, their extractors and the OpenAPI document.
//!
//! Every failure, including a body that does not parse, an unknown route or a wrong method,
//! answers `{"error": {code, message}}` with a fitting 4xx status.

mod account;
mod attachments;
mod conversations;
mod extract;
mod integrations;
mod messages;
mod notifications;
mod openapi;
mod poll;
mod scheduled;
mod service;
mod templates;
mod text;
mod twilio;
mod updates;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::{gateway, Hub};

/// Largest REST request body.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest poll body: room for many ops, each at most `MAX_FRAME_BYTES` as on the WebSocket.
const MAX_POLL_BODY_BYTES: usize = 1024 * 1024;

/// All routes of protocol v1 and 1.1. `POST /v1/attachments` reads its body as a stream with
/// its own limit (`--max-upload-mb`); the 64 KiB limit is that of the JSON bodies.
pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/v1/auth/register", post(account::register))
        .route("/v1/auth/login", post(account::login))
        .route("/v1/auth/refresh", post(account::refresh))
        .route("/v1/auth/logout", post(account::logout))
        .route("/v1/me", get(account::me))
        .route("/v1/users", get(account::users))
        .route("/v1/conversations", post(conversations::create).get(conversations::list))
        .route("/v1/conversations/{id}", get(conversations::get))
        .route("/v1/conversations/{id}/messages", get(conversations::messages))
        .route("/v1/conversations/{id}/read", post(conversations::read))
        .route("/v1/conversations/{id}/messages/{message_id}", patch(messages::edit).delete(messages::delete))
        .route("/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", put(messages::react).delete(messages::unreact))
        .route("/v1/attachments", post(attachments::upload))
        .route("/v1/attachments/{id}", get(attachments::download))
        .route("/v1/attachments/{id}/thumbnail", get(attachments::thumbnail))
        .route("/v1/notifications", post(notifications::create).get(notifications::list))
        .route("/v1/notifications/{id}/read", post(notifications::read))
        .route("/v1/integrations/application-status", post(integrations::application_status))
        .route("/v1/templates", get(templates::list).post(templates::create))
        .route("/v1/templates/{id}", put(templates::update).delete(templates::delete))
        .route("/v1/scheduled", get(scheduled::list).post(scheduled::create))
        .route("/v1/scheduled/{id}", delete(scheduled::cancel))
        .route("/v1/bridges/twilio/numbers", get(twilio::numbers::list).post(twilio::numbers::add))
        .route("/v1/bridges/twilio/numbers/{number}", delete(twilio::numbers::remove))
        .route("/v1/bridges/twilio/inbound", get(twilio::inbound::health).post(twilio::inbound::receive))
        .route("/v1/bridges/twilio/status", post(twilio::status::report))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/v1/gateway", get(gateway::upgrade))
        .route("/v1/poll/open", post(poll::open))
        .route("/v1/poll/{session_id}", post(poll::call).layer(DefaultBodyLimit::max(MAX_POLL_BODY_BYTES)))
        .route("/v1/updates/{file}", get(updates::file))
        .route("/healthz", get(service::healthz))
        .route("/readyz", get(service::readyz))
        .route("/metrics", get(service::metrics))
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(rapport_protocol::ErrorCode::MethodNotAllowed, "method not allowed on this route")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(hub)
}
