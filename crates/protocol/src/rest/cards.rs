//! Recruiting cards (1.1, §3): job cards, application-status cards, and the ATS integration call that posts them.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A structured card on a message (1.1, §3); which one is told by the fields, and must
/// match the message's `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum Card {
    /// Kind `job`.
    Job(JobCard),
    /// Kind `application_status`.
    ApplicationStatus(ApplicationStatusCard),
}

/// A role a recruiter shares. Unknown fields are refused, so that a card of another (or a
/// mistyped) kind never passes for this one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct JobCard {
    /// Job title.
    pub title: String,
    /// Hiring company.
    pub company: String,
    /// Where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Pay, as the recruiter writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salary: Option<String>,
    /// Link to the posting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Longer text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Sent.
    Applied,
    /// Being looked at.
    Screening,
    /// Interviews planned or under way.
    Interview,
    /// An offer was made.
    Offer,
    /// Hired.
    Hired,
    /// Not taken further.
    Rejected,
    /// The candidate withdrew.
    Withdrawn,
}

impl ApplicationStatus {
    /// Every status, in the order an application usually goes.
    pub const ALL: [ApplicationStatus; 7] = [
        ApplicationStatus::Applied,
        ApplicationStatus::Screening,
        ApplicationStatus::Interview,
        ApplicationStatus::Offer,
        ApplicationStatus::Hired,
        ApplicationStatus::Rejected,
        ApplicationStatus::Withdrawn,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Applied => "applied",
            ApplicationStatus::Screening => "screening",
            ApplicationStatus::Interview => "interview",
            ApplicationStatus::Offer => "offer",
            ApplicationStatus::Hired => "hired",
            ApplicationStatus::Rejected => "rejected",
            ApplicationStatus::Withdrawn => "withdrawn",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<ApplicationStatus> {
        ApplicationStatus::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// An application moved on. Unknown fields are refused, as for [`JobCard`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ApplicationStatusCard {
    /// The role applied for.
    pub job_title: String,
    /// Where it stands now.
    pub status: ApplicationStatus,
    /// A word from the recruiter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `Conversation.application`: the latest application status card of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Application {
    /// The role applied for.
    pub job_title: String,
    /// Where it stands.
    pub status: ApplicationStatus,
    /// RFC 3339: when that card was sent.
    pub updated_at: String,
}

/// `POST /v1/integrations/application-status` (integration route, `X-Api-Key`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApplicationStatusRequest {
    /// The candidate's login email.
    pub candidate_email: String,
    /// The recruiter's login email; the card is sent as them.
    pub recruiter_email: String,
    /// The role applied for.
    pub job_title: String,
    /// Where the application stands now.
    pub status: ApplicationStatus,
    /// A word for the candidate.
    #[serde(default)]
    pub note: Option<String>,
    /// The tracking system's id of this change: the same one again is the same message.
    #[serde(default)]
    pub external_id: Option<String>,
}
