//! `/v1/openapi.json`, generated from the route handlers and the protocol types.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{account, attachments, conversations, integrations, messages, notifications, scheduled, service, templates, twilio};

#[derive(OpenApi)]
#[openapi(
    info(title = "Rapport hub", description = "Protocol v1 and 1.1: REST routes. The realtime gateway is at GET /v1/gateway (WebSocket)."),
    paths(
        account::register, account::login, account::refresh, account::logout, account::me, account::users,
        conversations::create, conversations::list, conversations::get, conversations::messages, conversations::read,
        messages::edit, messages::delete, messages::react, messages::unreact,
        attachments::upload, attachments::download, attachments::thumbnail,
        notifications::create, notifications::list, notifications::read,
        integrations::application_status, templates::list, templates::create, templates::update, templates::delete,
        scheduled::create, scheduled::list, scheduled::cancel,
        twilio::numbers::list, twilio::numbers::add, twilio::numbers::remove, twilio::inbound::health, twilio::inbound::receive, twilio::status::report,
        document, service::healthz, service::readyz, service::metrics,
    ),
    modifiers(&Security)
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
        components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))));
    }
}

/// The OpenAPI 3 document of every REST route.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "service", responses((status = 200, content_type = "application/json")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
