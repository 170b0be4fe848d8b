//! Registration, login, token rotation, logout and the user directory.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rapport_protocol::rest::{LoginRequest, RefreshRequest, RegisterRequest, UserList};
use rapport_protocol::{ErrorBody, ErrorCode, Session, User, MIN_PASSWORD_CHARS};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{Body, Caller, ClientAddress, Params};
use super::text::one_line;
use crate::auth::{hash_refresh_token, new_refresh_token};
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::gateway::announce;
use crate::passwords::Busy;
use crate::store::{NewUser, RefreshUse};
use crate::Hub;

/// Passwords longer than this are refused rather than hashed (hashing cost is per byte).
const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_DISPLAY_NAME_CHARS: usize = 100;
const MAX_EMAIL_CHARS: usize = 254;

/// Lower-cases and checks an email address.
fn normalise_email(email: &str) -> ApiResult<String> {
    let email = email.trim().to_lowercase();
    let valid = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(ApiError::invalid("email must look like name@example.com"))
    }
}

/// Issues an access token and hands over an already-stored refresh token.
fn session(hub: &Hub, user: User, login_id: &str, refresh_token: String) -> Session {
    Session {
        access_token: hub.auth.issue_access(&user.id, login_id),
        refresh_token,
        expires_in: hub.auth.access_ttl_secs(),
        user,
    }
}

async fn start_login(hub: &Hub, user: User) -> ApiResult<Session> {
    let (token, hash) = new_refresh_token();
    let expires_at = now_ms() + hub.config.refresh_ttl.as_millis() as i64;
    let login_id = hub.store.create_login(&user.id, &hash, expires_at).await?;
    Ok(session(hub, user, &login_id, token))
}

fn internal(err: anyhow::Error) -> ApiError {
    tracing::error!(error = %err, "password hashing failed");
    ApiError::new(ErrorCode::Internal, "internal error")
}

/// Every password-hashing thread is taken and its queue full.
fn busy(_: Busy) -> ApiError {
    ApiError { retry_after_ms: Some(1000), ..ApiError::new(ErrorCode::Unavailable, "the hub is busy checking passwords; try again in a moment") }
}

/// Too many failed logins for this account or from this address.
fn throttled(wait: std::time::Duration) -> ApiError {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    ApiError { retry_after_ms: Some(ms), ..ApiError::new(ErrorCode::RateLimited, "too many failed logins; wait before trying again") }
}

/// Creates an account and logs it in.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = Session), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "busy checking passwords; see Retry-After")))]
pub async fn register(State(hub): State<Arc<Hub>>, Body(req): Body<RegisterRequest>) -> ApiResult<(StatusCode, Json<Session>)> {
    let email = normalise_email(&req.email)?;
    let display_name = one_line("display_name", &req.display_name, MAX_DISPLAY_NAME_CHARS)?;
    if req.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::new(ErrorCode::PasswordTooShort, "the password must be at least 8 characters"));
    }
    if req.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid("the password is too long"));
    }
    if hub.store.user_by_email(&email).await?.is_some() {
        return Err(ApiError::new(ErrorCode::EmailTaken, "an account with this email already exists"));
    }
    let password_hash = hub.auth.hash_password(req.password).await.map_err(busy)?.map_err(internal)?;
    let user = hub
        .store
        .create_user(NewUser { email: &email, password_hash: &password_hash, display_name, role: req.role })
        .await?;
    tracing::info!(user_id = %user.id, role = user.role.as_str(), "account created");
    Ok((StatusCode::CREATED, Json(start_login(&hub, user).await?)))
}

/// Logs in with email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Session), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many failed logins; see Retry-After"),
        (status = 503, body = ErrorBody, description = "busy checking passwords; see Retry-After")))]
pub async fn login(State(hub): State<Arc<Hub>>, ClientAddress(address): ClientAddress, Body(req): Body<LoginRequest>) -> ApiResult<Json<Session>> {
    let wrong = || ApiError::new(ErrorCode::InvalidCredentials, "wrong email or password");
    let email = req.email.trim().to_lowercase();
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(wrong()); // no account has one this long; not worth a hash or a throttle entry
    }
    let attempt = hub.login_throttle.begin(hub.login_throttle.key(&email, address)).map_err(throttled)?;
    let found = hub.store.user_by_email(&email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    // Runs the hash check even for an unknown email, so timing does not reveal accounts.
    let ok = match hub.auth.verify_password(req.password, hash).await {
        Ok(ok) => ok,
        Err(full) => {
            attempt.unchecked();
            return Err(busy(full));
        }
    };
    match user.filter(|_| ok) {
        Some(user) => {
            attempt.succeeded();
            Ok(Json(start_login(&hub, user).await?))
        }
        None => Err(wrong()), // the attempt stays counted
    }
}

/// Trades a refresh token for a new session; the old token stops working.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Session), (status = 401, body = ErrorBody)))]
pub async fn refresh(State(hub): State<Arc<Hub>>, Body(req): Body<RefreshRequest>) -> ApiResult<Json<Session>> {
    let (next, next_hash) = new_refresh_token();
    let expires_at = now_ms() + hub.config.refresh_ttl.as_millis() as i64;
    let used = hub.store.use_refresh_token(&hash_refresh_token(&req.refresh_token), &next_hash, expires_at).await?;
    match used {
        RefreshUse::Fresh { login_id, user } => Ok(Json(session(&hub, user, &login_id, next))),
        RefreshUse::Reused { login_id } => {
            tracing::warn!(login_id = %login_id, "refresh token reused; login revoked");
            announce::login_revoked(&hub, &login_id);
            Err(ApiError::new(ErrorCode::InvalidRefreshToken, "refresh token already used; please log in again"))
        }
        RefreshUse::Invalid => Err(ApiError::new(ErrorCode::InvalidRefreshToken, "invalid or expired refresh token")),
    }
}

/// Ends the login that holds this refresh token (its access tokens and sessions too).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204), (status = 400, body = ErrorBody)))]
pub async fn logout(State(hub): State<Arc<Hub>>, Body(req): Body<RefreshRequest>) -> ApiResult<StatusCode> {
    if let Some(login_id) = hub.store.revoke_by_refresh_token(&hash_refresh_token(&req.refresh_token)).await? {
        announce::login_revoked(&hub, &login_id);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The caller.
#[utoipa::path(get, path = "/v1/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(State(hub): State<Arc<Hub>>, caller: Caller) -> ApiResult<Json<User>> {
    let user = hub.store.user_by_id(&caller.user_id).await?;
    user.map(Json).ok_or_else(|| ApiError::unauthorized("this account no longer exists"))
}

/// `GET /v1/users` query.
#[derive(Deserialize, IntoParams)]
pub struct UserQuery {
    /// Display-name substring (case-insensitive) or exact email.
    q: Option<String>,
    /// At most this many: 1 or more (default 20; more than 100 is capped at 100).
    limit: Option<u32>,
}

/// The user directory.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(UserQuery), security(("bearer" = [])),
    responses((status = 200, body = UserList), (status = 401, body = ErrorBody)))]
pub async fn users(State(hub): State<Arc<Hub>>, _caller: Caller, Params(query): Params<UserQuery>) -> ApiResult<Json<UserList>> {
    let limit = match query.limit {
        None => 20,
        Some(0) => return Err(ApiError::invalid("limit must be at least 1")),
        Some(limit) => limit.min(100),
    };
    let users = hub.store.search_users(query.q.as_deref().unwrap_or(""), limit).await?;
    Ok(Json(UserList { users }))
}
