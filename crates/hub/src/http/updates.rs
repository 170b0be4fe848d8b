//! Desktop-app updates: the files of `--updates-dir` (a Tauri updater manifest such as
//! `latest.json`, and the signed bundles it points to), served as they are.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::extract::{PathId, UpdateFile};
use crate::error::{ApiError, ApiResult};
use crate::Hub;

/// Only plain file names: no directories, no dot files, so nothing outside the dir is reachable.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `GET /v1/updates/{file}`.
pub async fn file(State(hub): State<Arc<Hub>>, PathId(name, _): PathId<UpdateFile>) -> ApiResult<Response> {
    let dir = hub.config.updates_dir.as_ref().ok_or_else(|| ApiError::not_found("update"))?;
    if !is_plain_name(&name) {
        return Err(ApiError::not_found("update"));
    }
    let bytes = tokio::fs::read(dir.join(&name)).await.map_err(|_| ApiError::not_found("update"))?;
    let content_type = if name.ends_with(".json") { "application/json" } else { "application/octet-stream" };
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::is_plain_name;

    #[test]
    fn only_plain_names_are_served() {
        assert!(is_plain_name("latest.json"));
        assert!(is_plain_name("rapport_0.2.0_amd64.deb.sig"));
        for bad in ["", ".env", "../secret", "a/b", "a\\b", "%2e%2e"] {
            assert!(!is_plain_name(bad), "{bad:?}");
        }
    }
}
