//! Accounts: users, their roles, registration, login and the session a login returns.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// What kind of account a user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Finds and talks to candidates.
    Recruiter,
    /// Looks for a job.
    Candidate,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Recruiter => "recruiter",
            Role::Candidate => "candidate",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "recruiter" => Some(Role::Recruiter),
            "candidate" => Some(Role::Candidate),
            _ => None,
        }
    }
}

/// An account as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct User {
    /// Opaque id.
    pub id: String,
    /// Name shown to others.
    pub display_name: String,
    /// Recruiter or candidate.
    pub role: Role,
    /// Login email, lower-cased.
    pub email: String,
}

/// `POST /v1/auth/register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RegisterRequest {
    /// Login email (case-insensitive).
    pub email: String,
    /// At least 8 characters.
    pub password: String,
    /// Name shown to others.
    pub display_name: String,
    /// `recruiter` or `candidate`.
    pub role: Role,
}

/// `POST /v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginRequest {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RefreshRequest {
    /// The refresh token of the last `Session`.
    pub refresh_token: String,
}

/// A login: who, and the tokens to act as them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Session {
    /// The logged-in user.
    pub user: User,
    /// Bearer token for REST and the gateway.
    pub access_token: String,
    /// Single-use token to get the next `Session`.
    pub refresh_token: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
}

/// `GET /v1/users`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UserList {
    /// Matching users.
    pub users: Vec<User>,
}
