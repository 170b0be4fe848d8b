//! `/v1/openapi.json`, generated from the route handlers and the protocol types.

use axum::Json;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
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
    modifiers(&Security, &CommonErrors)
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

/// The errors any route of a kind may answer, documented once here rather than on each handler:
/// 401 on every authenticated route (no, a bad, an expired or a revoked token or key), 400 on
/// every route that takes a body or query parameters (one that does not parse), 413 on every
/// route with a body (over the size limit).
struct CommonErrors;

impl CommonErrors {
    fn add(operation: &mut Operation) {
        let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
        let with_body = operation.request_body.is_some();
        let with_query = operation.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Query);
        let common = [
            (secured, "401", "unauthorized: a missing, malformed, expired or revoked token (or API key)"),
            (with_body || with_query, "400", "invalid_payload: a body or query that does not parse"),
            (with_body, "413", "payload_too_large: a body over the size limit"),
        ];
        for (applies, status, description) in common {
            if applies && !operation.responses.responses.contains_key(status) {
                let error = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
                let response = ResponseBuilder::new().description(description).content("application/json", error).build();
                operation.responses.responses.insert(status.to_owned(), RefOr::T(response));
            }
        }
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
                CommonErrors::add(operation);
            }
        }
    }
}

/// The OpenAPI 3 document of every REST route.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "service", responses((status = 200, content_type = "application/json")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
