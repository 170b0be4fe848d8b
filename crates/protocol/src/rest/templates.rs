//! Templates (1.1, §3): a recruiter's saved replies, kept on the hub.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A saved reply (1.1, §3), private to its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Template {
    /// Opaque id.
    pub id: String,
    /// What the owner calls it (unique among their templates).
    pub name: String,
    /// The text, with `{{variables}}` the client fills in before sending.
    pub body: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `POST /v1/templates` and `PUT /v1/templates/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TemplateRequest {
    /// 1..100 characters, one line.
    pub name: String,
    /// 1..4000 characters; only the known `{{variables}}`.
    pub body: String,
}

/// `GET /v1/templates`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TemplateList {
    /// By name.
    pub templates: Vec<Template>,
}
