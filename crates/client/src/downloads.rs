//! Attachments on this device: downloads into the profile (`files/<id>/<name>`), verified by
//! SHA-256, resumed with an HTTP range after a cut-off, and kept up to a size cap with the least
//! recently used copies let go first. Files sent from here are kept the same way once their
//! message is acknowledged (no download needed to show them); a deleted message's copies go.
//!
//! A download is written to `files/<id>/.part` and only renamed to its name once whole and
//! verified, so a file under its name is always the right one.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use rapport_protocol::ErrorCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::cache::SentFile;
use crate::error::EngineError;
use crate::event::{DownloadVariant, EngineEvent, LocalAttachment, TransferProgress};
use crate::files::{now_ms, safe_filename, Hasher, CHUNK};
use crate::shared::Shared;

/// A download that receives nothing for this long is given up (the part is kept to resume).
const STALL: Duration = Duration::from_secs(30);
/// Progress events at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// A thumbnail larger than this is not one.
const MAX_THUMBNAIL_BYTES: usize = 8 << 20;

fn corrupt(what: &str) -> EngineError {
    EngineError::Hub { code: ErrorCode::Internal, message: format!("the downloaded file {what}; it was thrown away") }
}

/// The file (or an image's thumbnail) of a cached attachment on this device: kept already, or
/// downloaded now. Tells the app with `download_done` or `download_failed`.
pub(crate) async fn fetch(shared: &Shared, attachment_id: &str, variant: DownloadVariant) -> Result<PathBuf, EngineError> {
    let known = shared
        .cache
        .attachment(attachment_id)
        .await?
        .ok_or_else(|| EngineError::NotFound("no such attachment in the cache (sync first)".into()))?;
    if variant == DownloadVariant::Thumbnail && known.width.is_none() {
        return Err(EngineError::NotFound("only images have a thumbnail".into()));
    }
    let key = format!("{attachment_id}/{}", variant.as_str());
    let lock = shared.downloading.lock().entry(key.clone()).or_default().clone();
    let result = {
        let _turn = lock.lock().await;
        fetch_locked(shared, &known, variant).await
    };
    {
        let mut downloading = shared.downloading.lock();
        if downloading.get(&key).is_some_and(|l| Arc::strong_count(l) <= 2) {
            downloading.remove(&key);
        }
    }
    match &result {
        Ok((path, true)) => shared.emit(EngineEvent::DownloadDone {
            attachment_id: attachment_id.to_owned(),
            variant,
            path: path.to_string_lossy().into_owned(),
        }),
        Ok(_) => {}
        Err(e) => shared.emit(EngineEvent::DownloadFailed { attachment_id: attachment_id.to_owned(), error: e.reason() }),
    }
    result.map(|(path, _)| path)
}

/// The kept copy, or a new one; whether it is new.
async fn fetch_locked(shared: &Shared, known: &LocalAttachment, variant: DownloadVariant) -> Result<(PathBuf, bool), EngineError> {
    let id = known.id.as_deref().unwrap_or_default();
    if let Some((relative, size)) = shared.cache.use_download(id, variant, now_ms()).await? {
        let path = shared.layout.absolute(&relative);
        if tokio::fs::metadata(&path).await.is_ok_and(|m| m.len() == size) {
            return Ok((path, false));
        }
        // Removed or changed behind the engine's back: fetched again below.
    }
    let dir = shared.layout.attachment_dir(id)?;
    tokio::fs::create_dir_all(shared.layout.absolute(&dir)).await?;
    let (relative, size) = match variant {
        DownloadVariant::File => file(shared, known, &dir).await?,
        DownloadVariant::Thumbnail => thumbnail(shared, id, &dir).await?,
    };
    shared.cache.keep_download(id, variant, &relative, size, now_ms()).await?;
    evict(shared, Some((id, variant))).await;
    Ok((shared.layout.absolute(&relative), true))
}

/// Downloads the file itself, resuming a part left by an earlier try.
async fn file(shared: &Shared, a: &LocalAttachment, dir: &str) -> Result<(String, u64), EngineError> {
    let id = a.id.clone().unwrap_or_default();
    let part = shared.layout.absolute(&format!("{dir}/.part"));
    let etag = format!("\"{}\"", a.sha256);
    let mut have = tokio::fs::metadata(&part).await.map_or(0, |m| m.len());
    if have >= a.size {
        have = 0;
    }
    let response = {
        let (id, etag) = (id.clone(), etag.clone());
        shared
            .authed(|api, token| {
                let (id, etag) = (id.clone(), etag.clone());
                async move { api.download(&token, &id, have, &etag).await }
            })
            .await
    };
    let response = match response {
        Err(EngineError::Invalid { reason: crate::Code::RangeNotSatisfiable, .. }) => {
            let _ = tokio::fs::remove_file(&part).await;
            have = 0;
            shared
                .authed(|api, token| {
                    let (id, etag) = (id.clone(), etag.clone());
                    async move { api.download(&token, &id, 0, &etag).await }
                })
                .await?
        }
        other => other?,
    };
    let mut hasher = Hasher::default();
    let resumed = have > 0 && response.status() == reqwest::StatusCode::PARTIAL_CONTENT;
    let mut out = if resumed {
        // The part is hashed again: the hash covers the whole file.
        let mut existing = tokio::fs::File::open(&part).await?;
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let n = existing.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        tokio::fs::OpenOptions::new().append(true).open(&part).await?
    } else {
        have = 0;
        tokio::fs::File::create(&part).await?
    };
    let mut stream = response.bytes_stream();
    let mut done = have;
    let mut shown = tokio::time::Instant::now();
    loop {
        let next = tokio::time::timeout(STALL, stream.next()).await.map_err(|_| EngineError::Offline("the download stalled".into()))?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| EngineError::Offline(crate::api::without_url(e)))?;
        done += chunk.len() as u64;
        if done > a.size {
            drop(out);
            let _ = tokio::fs::remove_file(&part).await;
            return Err(corrupt("is larger than announced"));
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await?;
        if shown.elapsed() >= PROGRESS_EVERY {
            shown = tokio::time::Instant::now();
            shared.emit(EngineEvent::DownloadProgress { attachment_id: id.clone(), progress: TransferProgress { done, total: a.size } });
        }
    }
    out.sync_all().await?;
    drop(out);
    if done != a.size {
        // Cut off at the end of a response that looked complete: keep the part to resume.
        return Err(EngineError::Offline("the download was cut off".into()));
    }
    if hasher.hex() != a.sha256 {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(corrupt("does not match its SHA-256"));
    }
    let relative = format!("{dir}/{}", safe_filename(&a.filename));
    tokio::fs::rename(&part, shared.layout.absolute(&relative)).await?;
    shared.emit(EngineEvent::DownloadProgress { attachment_id: id, progress: TransferProgress { done, total: a.size } });
    Ok((relative, a.size))
}

/// Downloads the hub's preview of an image.
async fn thumbnail(shared: &Shared, id: &str, dir: &str) -> Result<(String, u64), EngineError> {
    let owned = id.to_owned();
    let response = shared
        .authed(|api, token| {
            let id = owned.clone();
            async move { api.thumbnail(&token, &id).await }
        })
        .await?;
    let extension = match response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some("image/png") => "png",
        _ => "jpg",
    };
    let mut bytes = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = tokio::time::timeout(STALL, stream.next()).await.map_err(|_| EngineError::Offline("the download stalled".into()))? {
        bytes.extend_from_slice(&chunk.map_err(|e| EngineError::Offline(crate::api::without_url(e)))?);
        if bytes.len() > MAX_THUMBNAIL_BYTES {
            return Err(corrupt("is too large for a thumbnail"));
        }
    }
    let relative = format!("{dir}/thumbnail.{extension}");
    let part = shared.layout.absolute(&format!("{dir}/.thumbnail.part"));
    tokio::fs::write(&part, &bytes).await?;
    tokio::fs::rename(&part, shared.layout.absolute(&relative)).await?;
    Ok((relative, bytes.len() as u64))
}

/// Files sent from here whose message is acknowledged: the staged copies become kept ones.
pub(crate) async fn adopt_sent(shared: &Shared, files: Vec<SentFile>) {
    if files.is_empty() {
        return;
    }
    for f in files {
        let kept = async {
            let dir = shared.layout.attachment_dir(&f.attachment_id)?;
            tokio::fs::create_dir_all(shared.layout.absolute(&dir)).await?;
            let relative = format!("{dir}/{}", safe_filename(&f.filename));
            tokio::fs::rename(shared.layout.absolute(&f.staged), shared.layout.absolute(&relative)).await?;
            shared.cache.keep_download(&f.attachment_id, DownloadVariant::File, &relative, f.size, now_ms()).await?;
            Ok::<_, EngineError>(())
        };
        if let Err(e) = kept.await {
            tracing::info!(error = %e, "a sent file is not kept");
        }
        // The staged copy (if it is still there) and its directory once empty.
        shared.layout.remove(&f.staged).await;
    }
    evict(shared, None).await;
}

/// The kept copies of these attachments go (their message was deleted).
pub(crate) async fn forget(shared: &Shared, attachment_ids: &[String]) {
    if attachment_ids.is_empty() {
        return;
    }
    match shared.cache.forget_downloads(attachment_ids).await {
        Ok(paths) => {
            for path in paths {
                shared.layout.remove(&path).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot forget the files of a deleted message"),
    }
    for id in attachment_ids {
        if let Ok(dir) = shared.layout.attachment_dir(id) {
            shared.layout.remove(&dir).await;
        }
    }
}

/// Lets go of the least recently used copies over the cap (`keep` stays).
pub(crate) async fn evict(shared: &Shared, keep: Option<(&str, DownloadVariant)>) {
    let cap = shared.download_limit.load(Ordering::Relaxed);
    match shared.cache.evict_downloads(cap, keep).await {
        Ok(paths) => {
            for path in paths {
                shared.layout.remove(&path).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot trim the kept files"),
    }
}
