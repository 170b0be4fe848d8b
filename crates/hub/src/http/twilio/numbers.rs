//! `GET`/`POST /v1/bridges/twilio/numbers`, `DELETE /v1/bridges/twilio/numbers/{number}`: the
//! Twilio numbers a recruiter receives WhatsApp and SMS messages on. A number has one owner, so
//! that an inbound message has exactly one recruiter to go to.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rapport_protocol::rest::{is_e164, AddTwilioNumber, TwilioNumber, TwilioNumberList};
use rapport_protocol::{ErrorBody, ErrorCode, Role};

use super::enabled;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, Named, PathId};
use crate::store::StoreError;
use crate::Hub;

/// A phone number in the path.
pub struct NumberInPath;
impl Named for NumberInPath {
    const WHAT: &'static str = "number";
}

const E164_RULE: &str = "number must be in E.164 form: + and 8 to 15 digits, such as +4915112345678";

/// The caller, who must be a recruiter: candidates have no numbers.
async fn recruiter(hub: &Hub, caller: &Caller) -> ApiResult<()> {
    let user = hub.store.user_by_id(&caller.user_id).await?.ok_or_else(|| ApiError::unauthorized("this account no longer exists"))?;
    if user.role != Role::Recruiter {
        return Err(ApiError::new(ErrorCode::Forbidden, "only recruiters receive on Twilio numbers"));
    }
    Ok(())
}

/// The caller's Twilio numbers.
#[utoipa::path(get, path = "/v1/bridges/twilio/numbers", tag = "bridges", security(("bearer" = [])),
    responses((status = 200, body = TwilioNumberList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "a candidate"),
        (status = 404, body = ErrorBody, description = "the bridge is off")))]
pub async fn list(State(hub): State<Arc<Hub>>, caller: Caller) -> ApiResult<Json<TwilioNumberList>> {
    enabled(&hub)?;
    recruiter(&hub, &caller).await?;
    Ok(Json(TwilioNumberList { numbers: hub.store.twilio_numbers(&caller.user_id).await? }))
}

/// Messages to this number now reach the caller.
#[utoipa::path(post, path = "/v1/bridges/twilio/numbers", tag = "bridges", request_body = AddTwilioNumber, security(("bearer" = [])),
    responses((status = 201, body = TwilioNumber), (status = 200, body = TwilioNumber, description = "the caller had it already"),
        (status = 400, body = ErrorBody, description = "not E.164"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "a candidate"), (status = 404, body = ErrorBody, description = "the bridge is off"),
        (status = 409, body = ErrorBody, description = "another recruiter has it")))]
pub async fn add(State(hub): State<Arc<Hub>>, caller: Caller, Body(req): Body<AddTwilioNumber>) -> ApiResult<(StatusCode, Json<TwilioNumber>)> {
    enabled(&hub)?;
    recruiter(&hub, &caller).await?;
    let number = req.number.trim();
    if !is_e164(number) {
        return Err(ApiError::invalid(E164_RULE));
    }
    let (number, added) = hub.store.add_twilio_number(&caller.user_id, number).await?;
    Ok((if added { StatusCode::CREATED } else { StatusCode::OK }, Json(number)))
}

/// The caller stops receiving on this number.
#[utoipa::path(delete, path = "/v1/bridges/twilio/numbers/{number}", tag = "bridges", security(("bearer" = [])),
    params(("number" = String, Path, description = "E.164, its + percent-encoded as %2B")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "a candidate"),
        (status = 404, body = ErrorBody, description = "not one of the caller's numbers, or the bridge is off")))]
pub async fn remove(State(hub): State<Arc<Hub>>, caller: Caller, PathId(number, _): PathId<NumberInPath>) -> ApiResult<StatusCode> {
    enabled(&hub)?;
    recruiter(&hub, &caller).await?;
    match hub.store.remove_twilio_number(&caller.user_id, number.trim()).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(ApiError::not_found("number")),
        Err(err) => Err(err.into()),
    }
}
