//! `POST /v1/integrations/application-status` (1.1, §3): the applicant-tracking system tells
//! the recruiter↔candidate conversation where an application stands.
//!
//! Everything that can refuse the call (key, body, the two accounts) is checked before
//! anything is created. The card is then sent as the recruiter through the committer like any
//! message of theirs, under a client id derived from `external_id`, so concurrent retries of
//! one call store one message; the candidate's notification is created in the transaction that
//! records the external id, so they are notified once.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rapport_protocol::card::check_card;
use rapport_protocol::gateway::Event;
use rapport_protocol::rest::ApplicationStatusRequest;
use rapport_protocol::{ApplicationStatusCard, Card, ErrorBody, ErrorCode, Message, NotificationKind, Role, User};
use sha2::{Digest as _, Sha256};

use super::extract::{ApiKey, Body};
use super::text::one_line;
use crate::clock::new_id;
use crate::error::{ApiError, ApiResult};
use crate::gateway::{announce, send_as};
use crate::store::NewNotification;
use crate::Hub;

const MAX_EXTERNAL_ID_CHARS: usize = 200;

/// Posts an application status card from the recruiter to the candidate and notifies them.
#[utoipa::path(post, path = "/v1/integrations/application-status", tag = "integrations", request_body = ApplicationStatusRequest,
    security(("api_key" = [])),
    responses((status = 201, body = Message), (status = 200, body = Message, description = "this external_id was posted before: the same message"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "no account with that candidate_email or recruiter_email")))]
pub async fn application_status(
    State(hub): State<Arc<Hub>>,
    _key: ApiKey,
    Body(req): Body<ApplicationStatusRequest>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let status = ApplicationStatusCard { job_title: req.job_title.trim().to_owned(), status: req.status, note: req.note.clone().filter(|n| !n.trim().is_empty()) };
    let card = Card::ApplicationStatus(status.clone());
    check_card(&card).map_err(ApiError::invalid)?;
    let external_id = match &req.external_id {
        Some(id) => Some(one_line("external_id", id, MAX_EXTERNAL_ID_CHARS)?),
        None => None,
    };
    if let Some(external_id) = external_id {
        if let Some(message) = hub.store.integration_message(external_id).await? {
            return Ok((StatusCode::OK, Json(message)));
        }
    }
    let candidate = account(&hub, "candidate_email", &req.candidate_email, Role::Candidate).await?;
    let recruiter = account(&hub, "recruiter_email", &req.recruiter_email, Role::Recruiter).await?;

    let (conversation, created) = hub.store.direct_conversation(&recruiter.id, &candidate.id).await?;
    if created {
        announce::conversation_created(&hub, &conversation).await;
    }
    let client_msg_id = match external_id {
        Some(id) => format!("ats:{}", &hex::encode(Sha256::digest(id.as_bytes()))[..40]),
        None => format!("ats:{}", new_id()),
    };
    let message = send_as(&hub, &recruiter.id, &conversation.id, &client_msg_id, "", Some(card), Vec::new()).await?;

    let title = format!("{}: {}", status.job_title, status.status.as_str());
    let body = match &status.note {
        Some(note) => note.clone(),
        None => format!("Your application for {} moved to {}.", status.job_title, status.status.as_str()),
    };
    let data = serde_json::json!({
        "conversation_id": conversation.id,
        "message_id": message.id,
        "job_title": status.job_title,
        "status": status.status,
    });
    let notify = NewNotification { user_id: &candidate.id, kind: NotificationKind::ApplicationStatus, title: &title, body: &body, data: &data };
    let notification = match external_id {
        Some(external_id) => hub.store.record_integration(external_id, &conversation.id, &message.id, notify).await?,
        None => Some(hub.store.create_notification(notify.user_id, notify.kind, notify.title, notify.body, notify.data).await?),
    };
    let Some(notification) = notification else {
        // A concurrent call with this external_id recorded it first: answer what it recorded.
        let recorded = match external_id {
            Some(external_id) => hub.store.integration_message(external_id).await?,
            None => None,
        };
        return Ok((StatusCode::OK, Json(recorded.unwrap_or(message))));
    };
    announce::to_user(&hub, &candidate.id, &Event::Notification { notification });
    Ok((StatusCode::CREATED, Json(message)))
}

/// The account with this email, which must have this role.
async fn account(hub: &Hub, field: &str, email: &str, role: Role) -> ApiResult<User> {
    let email = email.trim().to_lowercase();
    let (user, _) = hub
        .store
        .user_by_email(&email)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no account has the {field} {email:?}; nothing was created")))?;
    if user.role != role {
        return Err(ApiError::invalid(format!("{field} {email:?} is not a {} account", role.as_str())));
    }
    Ok(user)
}
