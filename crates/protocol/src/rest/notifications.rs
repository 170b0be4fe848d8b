//! Notifications: job alerts and the like, created by integrations and listed per user.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A job that matches the user.
    JobAlert,
    /// An application moved on (or did not).
    ApplicationStatus,
    /// Anything from the operator.
    System,
}

impl NotificationKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::JobAlert => "job_alert",
            NotificationKind::ApplicationStatus => "application_status",
            NotificationKind::System => "system",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "job_alert" => Some(NotificationKind::JobAlert),
            "application_status" => Some(NotificationKind::ApplicationStatus),
            "system" => Some(NotificationKind::System),
            _ => None,
        }
    }
}

/// `POST /v1/notifications` (integration route, `X-Api-Key`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateNotification {
    /// Target by id …
    #[serde(default)]
    pub user_id: Option<String>,
    /// … or by email.
    #[serde(default)]
    pub email: Option<String>,
    /// What it is about.
    pub kind: NotificationKind,
    /// Short headline.
    pub title: String,
    /// Longer text.
    pub body: String,
    /// Free-form JSON for the client (a job id, a link, …).
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

/// A notification addressed to one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Notification {
    /// Opaque id.
    pub id: String,
    /// What it is about.
    pub kind: NotificationKind,
    /// Short headline.
    pub title: String,
    /// Longer text.
    pub body: String,
    /// Free-form JSON, null when none was given.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub data: serde_json::Value,
    /// Whether the user has read it.
    pub read: bool,
    /// RFC 3339.
    pub created_at: String,
}

/// `GET /v1/notifications`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NotificationList {
    /// Newest first.
    pub notifications: Vec<Notification>,
}
