//! `presence`: choose a status.

use rapport_client::{ChosenStatus, Engine};

use crate::args::seconds;
use crate::failure::Failure;
use crate::output::Output;

/// Saves the status in the profile and applies it at the hub (identify carries it).
pub async fn run(engine: &Engine, out: &Output, status: ChosenStatus, timeout: f64) -> Result<(), Failure> {
    engine.set_presence(status).await.map_err(Failure::engine)?;
    engine.sync(seconds(timeout)).await.map_err(Failure::queued_or_error)?;
    out.emit(&serde_json::json!({"presence": status}), || format!("presence set to {}", serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()));
    Ok(())
}
