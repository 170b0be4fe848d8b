//! Presence: what a user is shown as, and what they chose.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Presence as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    /// Here.
    Online,
    /// Away from the keyboard.
    Away,
    /// Here but do not disturb.
    Busy,
    /// No open session, or invisible.
    Offline,
}

impl PresenceStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceStatus::Online => "online",
            PresenceStatus::Away => "away",
            PresenceStatus::Busy => "busy",
            PresenceStatus::Offline => "offline",
        }
    }
}

/// The status a user chooses for themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChosenStatus {
    /// Shown as online.
    #[default]
    Online,
    /// Shown as away.
    Away,
    /// Shown as busy.
    Busy,
    /// Shown to others as offline.
    Invisible,
}

impl ChosenStatus {
    /// What others see while the user has a session open.
    pub fn shown(self) -> PresenceStatus {
        match self {
            ChosenStatus::Online => PresenceStatus::Online,
            ChosenStatus::Away => PresenceStatus::Away,
            ChosenStatus::Busy => PresenceStatus::Busy,
            ChosenStatus::Invisible => PresenceStatus::Offline,
        }
    }
}

/// A user's shown presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Presence {
    /// Whose.
    pub user_id: String,
    /// What others see.
    pub status: PresenceStatus,
    /// When the user's last session closed (RFC 3339); null while never seen offline.
    pub last_seen: Option<String>,
}
