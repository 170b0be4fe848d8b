//! The WhatsApp / SMS bridge's routes (1.1, §5): `numbers` (which Twilio numbers a recruiter
//! receives on) and `inbound` (Twilio's webhook for a message someone sent to one, with `media`
//! fetching its photos and files) and `status` (Twilio's
//! delivery reports on the messages the hub sent). With the
//! bridge off (no `--twilio-auth-token`) every one of them answers 404, as an unknown route.

pub mod inbound;
mod media;
pub mod numbers;
pub mod status;

use std::collections::HashMap;

use axum::http::{HeaderMap, Uri};
use rapport_protocol::ErrorCode;

use crate::config::TwilioConfig;
use crate::error::{ApiError, ApiResult};
use crate::twilio::signature;
use crate::Hub;

/// The bridge's settings, or the 404 of a hub that has no bridge.
fn enabled(hub: &Hub) -> ApiResult<&TwilioConfig> {
    hub.config.twilio.as_ref().ok_or_else(|| ApiError::not_found("route"))
}

/// The form's parameters, once the signature over them and the URL is Twilio's: a missing or
/// wrong one is `forbidden`, and nothing else is looked at.
fn signed_form(hub: &Hub, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> ApiResult<HashMap<String, String>> {
    let twilio = enabled(hub)?;
    let forbidden = || ApiError::new(ErrorCode::Forbidden, "missing or wrong X-Twilio-Signature");
    let presented = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).ok_or_else(forbidden)?;
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    // Twilio signs the URL it was configured with: this hub's public URL, this path and query.
    let url = match uri.query() {
        Some(query) => format!("{}{}?{query}", twilio.public_url, uri.path()),
        None => format!("{}{}", twilio.public_url, uri.path()),
    };
    if !signature::verify(&twilio.auth_token, &url, &params, presented) {
        tracing::warn!(%url, "a request to the Twilio webhook with a missing or wrong signature was refused");
        return Err(forbidden());
    }
    Ok(params.into_iter().collect())
}

