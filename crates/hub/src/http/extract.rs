//! Extractors that fail with the protocol's error shape.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use rapport_protocol::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::server::PeerAddr;
use crate::Hub;

/// The caller of an authenticated route.
pub struct Caller {
    /// User id.
    pub user_id: String,
}

impl FromRequestParts<Arc<Hub>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Caller, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        let claims = hub
            .auth
            .verify_access(token.trim())
            .ok_or_else(|| ApiError::unauthorized("invalid or expired token"))?;
        if !hub.logins.is_active(hub.store.as_ref(), &claims.login_id).await? {
            return Err(ApiError::unauthorized("this login has ended"));
        }
        Ok(Caller { user_id: claims.user_id })
    }
}

/// The client's address: the peer's, or the last address in the header a trusted reverse
/// proxy sets (`--client-address-header`). `None` when neither is known.
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<Arc<Hub>> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<ClientAddress, Self::Rejection> {
        let peer = parts.extensions.get::<PeerAddr>().map(|p| p.0.ip());
        let forwarded = hub.config.client_address_header.as_ref().and_then(|name| {
            // The proxy appends the address it saw, so the last one is the one it vouches for.
            let last = parts.headers.get_all(name).iter().next_back()?.to_str().ok()?.rsplit(',').next()?.trim();
            last.parse::<IpAddr>().ok().or_else(|| last.parse::<SocketAddr>().ok().map(|a| a.ip()))
        });
        Ok(ClientAddress(forwarded.or(peer)))
    }
}

/// The integration route's `X-Api-Key`, checked before the body is read.
pub struct ApiKey;

impl FromRequestParts<Arc<Hub>> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<ApiKey, ApiError> {
        let presented = parts.headers.get("x-api-key").map(|v| v.as_bytes());
        if hub.auth.api_key_matches(presented) {
            Ok(ApiKey)
        } else {
            Err(ApiError::unauthorized("missing or wrong X-Api-Key"))
        }
    }
}

/// What a route's path parameters name, for the error an undecodable one gets.
pub trait Named {
    /// "conversation", "notification", …: the `not_found` message of an undecodable id.
    const WHAT: &'static str;

    /// The error for the path parameter `key` that does not decode: by default the id names
    /// nothing, worded as for any unknown id.
    fn undecodable(_key: &str) -> ApiError {
        ApiError::not_found(Self::WHAT)
    }
}

/// A conversation id in the path.
pub struct ConversationId;
impl Named for ConversationId {
    const WHAT: &'static str = "conversation";
}

/// A conversation id and a message id in the path (`{id}/messages/{message_id}`), perhaps
/// with an `{emoji}`: an undecodable message id names no message, an undecodable emoji is no
/// emoji (`invalid_payload`, as for any other text that is not one).
pub struct MessageIds;
impl Named for MessageIds {
    const WHAT: &'static str = "conversation";

    fn undecodable(key: &str) -> ApiError {
        match key {
            "message_id" => ApiError::not_found("message"),
            "emoji" => ApiError::invalid(crate::gateway::EMOJI_RULE),
            _ => ApiError::not_found(Self::WHAT),
        }
    }
}

/// A notification id in the path.
pub struct NotificationId;
impl Named for NotificationId {
    const WHAT: &'static str = "notification";
}

/// An attachment id in the path.
pub struct AttachmentId;
impl Named for AttachmentId {
    const WHAT: &'static str = "attachment";
}

/// An update file name in the path.
pub struct UpdateFile;
impl Named for UpdateFile {
    const WHAT: &'static str = "update";
}

/// The path parameters of a route (`V`: one `String`, or a tuple of them). One that does not
/// even decode (invalid UTF-8 such as `%ff`, a broken escape) names nothing, so it is
/// `not_found` like any unknown id — with the same message, in the protocol's error shape —
/// unless [`Named::undecodable`] says otherwise for it.
pub struct PathId<T, V = String>(pub V, pub PhantomData<T>);

impl<T: Named, V: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathId<T, V> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<PathId<T, V>, ApiError> {
        match Path::<V>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathId(value, PhantomData)),
            Err(PathRejection::FailedToDeserializePathParams(failed)) => match failed.kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => Err(T::undecodable(key)),
                _ => Err(ApiError::not_found(T::WHAT)),
            },
            Err(_) => Err(ApiError::not_found(T::WHAT)),
        }
    }
}

/// A JSON body; malformed or ill-typed bodies are `invalid_payload`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Body<T>, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(JsonRejection::BytesRejection(rejection))
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large"))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::invalid("expected a JSON body (Content-Type: application/json)"))
            }
            Err(rejection) => Err(ApiError::invalid(rejection.body_text())),
        }
    }
}

/// Query parameters; bad ones are `invalid_payload`.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Params<T>, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Params(value))
            .map_err(|rejection: QueryRejection| ApiError::invalid(rejection.body_text()))
    }
}
