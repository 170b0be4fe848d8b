//! `download`: save an attachment, or every file of a message, out of the profile.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use rapport_client::{Engine, EngineError, LocalAttachment};

use crate::args::seconds;
use crate::failure::Failure;
use crate::output::Output;

/// The attachments `id` names: one attachment, or the files of one message.
async fn resolve(engine: &Engine, id: &str) -> Result<Vec<LocalAttachment>, EngineError> {
    if let Ok(attachment) = engine.attachment(id).await {
        return Ok(vec![attachment]);
    }
    let message = engine.message(id).await?;
    if message.attachments.is_empty() {
        return Err(EngineError::NotFound(format!("message #{} has no files", message.seq.unwrap_or_default())));
    }
    Ok(message.attachments)
}

/// `dir/name`, or `dir/name (1).ext`, … when that exists: a download never replaces a file.
fn free_path(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, extension) = match name.rfind('.').filter(|&i| i > 0) {
        Some(i) => (&name[..i], &name[i..]),
        None => (name, ""),
    };
    (1..).map(|n| dir.join(format!("{stem} ({n}){extension}"))).find(|p| !p.exists()).expect("some number is free")
}

/// Downloads (or finds kept) each file, verified, and copies it to where the user asked.
pub async fn run(engine: &Engine, out: &Output, id: &str, to: Option<&Path>, timeout: f64) -> Result<(), Failure> {
    let attachments = match resolve(engine, id).await {
        Err(EngineError::NotFound(_)) => {
            // Not cached yet: a sync may bring it.
            engine.sync(seconds(timeout)).await.map_err(Failure::engine)?;
            resolve(engine, id).await
        }
        other => other,
    }
    .map_err(Failure::engine)?;
    let into_dir = match to {
        Some(path) => path.is_dir() || attachments.len() > 1,
        None => true,
    };
    if into_dir && attachments.len() > 1 && to.is_some_and(|p| !p.is_dir()) {
        return Err(Failure::error(anyhow!("the message has {} files: --out must be a directory", attachments.len())));
    }
    for a in attachments {
        let attachment_id = a.id.clone().unwrap_or_default();
        let kept = engine.download(&attachment_id).await.map_err(Failure::engine)?;
        let target = match (to, into_dir) {
            (Some(path), false) => path.to_path_buf(),
            (Some(dir), true) => free_path(dir, &a.filename),
            (None, _) => free_path(Path::new("."), &a.filename),
        };
        tokio::fs::copy(&kept, &target).await.map_err(|e| Failure::error(anyhow!("cannot write {}: {e}", target.display())))?;
        let line = serde_json::json!({
            "attachment_id": attachment_id,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "sha256": a.sha256,
            "path": target.display().to_string(),
        });
        out.emit(&line, || format!("saved {} ({}) to {}", a.filename, super::size(a.size), target.display()));
    }
    Ok(())
}
