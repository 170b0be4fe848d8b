//! Saved replies (1.1, §3): stored on the hub so that every device of their owner has them,
//! and private to that owner (another user's id is `404`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rapport_protocol::rest::{TemplateList, TemplateRequest};
use rapport_protocol::{check_body, template, ErrorBody, ErrorCode, Template};

use super::extract::{Body, Caller, Named, PathId};
use super::text::one_line;
use crate::error::{ApiError, ApiResult};
use crate::store::StoreError;
use crate::Hub;

const MAX_NAME_CHARS: usize = 100;

/// A template id in the path.
pub struct TemplateId;
impl Named for TemplateId {
    const WHAT: &'static str = "template";
}

fn not_found(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::not_found("template"),
        other => other.into(),
    }
}

/// The name trimmed and the body, if both are acceptable: a body is a message body that
/// uses only the known variables.
fn checked(req: &TemplateRequest) -> ApiResult<(&str, &str)> {
    let name = one_line("name", &req.name, MAX_NAME_CHARS)?;
    check_body(&req.body).map_err(|code| match code {
        ErrorCode::BodyEmpty => ApiError::invalid("body must not be empty"),
        _ => ApiError::invalid("body must be at most 4000 characters"),
    })?;
    template::parse(&req.body).map_err(|err| ApiError::invalid(err.to_string()))?;
    Ok((name, &req.body))
}

/// The caller's templates, by name.
#[utoipa::path(get, path = "/v1/templates", tag = "templates", security(("bearer" = [])),
    responses((status = 200, body = TemplateList), (status = 401, body = ErrorBody)))]
pub async fn list(State(hub): State<Arc<Hub>>, caller: Caller) -> ApiResult<Json<TemplateList>> {
    Ok(Json(TemplateList { templates: hub.store.templates(&caller.user_id).await? }))
}

/// Saves a new template.
#[utoipa::path(post, path = "/v1/templates", tag = "templates", request_body = TemplateRequest, security(("bearer" = [])),
    responses((status = 201, body = Template), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(State(hub): State<Arc<Hub>>, caller: Caller, Body(req): Body<TemplateRequest>) -> ApiResult<(StatusCode, Json<Template>)> {
    let (name, body) = checked(&req)?;
    let template = hub.store.create_template(&caller.user_id, name, body).await?;
    Ok((StatusCode::CREATED, Json(template)))
}

/// Replaces a template's name and body.
#[utoipa::path(put, path = "/v1/templates/{id}", tag = "templates", request_body = TemplateRequest, security(("bearer" = [])),
    params(("id" = String, Path, description = "template id")),
    responses((status = 200, body = Template), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(hub): State<Arc<Hub>>,
    caller: Caller,
    PathId(id, _): PathId<TemplateId>,
    Body(req): Body<TemplateRequest>,
) -> ApiResult<Json<Template>> {
    let (name, body) = checked(&req)?;
    Ok(Json(hub.store.update_template(&caller.user_id, &id, name, body).await.map_err(not_found)?))
}

/// Removes a template.
#[utoipa::path(delete, path = "/v1/templates/{id}", tag = "templates", security(("bearer" = [])),
    params(("id" = String, Path, description = "template id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(State(hub): State<Arc<Hub>>, caller: Caller, PathId(id, _): PathId<TemplateId>) -> ApiResult<StatusCode> {
    hub.store.delete_template(&caller.user_id, &id).await.map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}
