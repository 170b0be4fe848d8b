//! The WhatsApp / SMS bridge's routes (1.1, §5): `numbers` (which Twilio numbers a recruiter
//! receives on) and `inbound` (Twilio's webhook for a message someone sent to one). With the
//! bridge off (no `--twilio-auth-token`) every one of them answers 404, as an unknown route.

pub mod inbound;
pub mod numbers;

use crate::config::TwilioConfig;
use crate::error::{ApiError, ApiResult};
use crate::Hub;

/// The bridge's settings, or the 404 of a hub that has no bridge.
fn enabled(hub: &Hub) -> ApiResult<&TwilioConfig> {
    hub.config.twilio.as_ref().ok_or_else(|| ApiError::not_found("route"))
}
