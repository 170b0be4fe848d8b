//! Uploading the files of queued sends, one file at a time, oldest send first, while connected.
//!
//! The hub's upload route takes a whole file per request and keeps nothing of a body that does
//! not arrive whole (and checks it against the SHA-256 we send), so an upload cut off by a
//! network drop, a hub restart or a stall simply starts over later: there is never half a file to
//! attach. Only when every file of a send has an upload id does the send go out (`session`), and
//! an upload older than [`FRESH_FOR_MS`] is made again first, since the hub forgets uploads that
//! no message took within a day. [`crate::Engine::discard`] stops the upload of its send.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;

use crate::api::UploadRequest;
use crate::backoff::Backoff;
use crate::cache::UploadJob;
use crate::error::{Code, EngineError};
use crate::event::{EngineEvent, TransferProgress};
use crate::files::{now_ms, CHUNK};
use crate::shared::Shared;

/// An upload that sends nothing for this long is given up (and started over).
const STALL: Duration = Duration::from_secs(30);
/// Progress events at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// Uploads are used for a send within this long of being made (the hub keeps unsent ones 24 h).
pub(crate) const FRESH_FOR_MS: i64 = 20 * 3600 * 1000;

/// Uploads older than this (unix ms) must be made again before their send goes out.
pub(crate) fn fresh_after() -> i64 {
    now_ms() - FRESH_FOR_MS
}

/// How one upload ended.
enum Ended {
    /// The file is at the hub; `true` when it was the send's last one.
    Uploaded(bool),
    /// The send was discarded meanwhile.
    Dropped,
}

/// Uploads until the session ends (it aborts this task).
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    loop {
        let job = match shared.cache.next_upload(fresh_after()).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                shared.kick_uploads.notified().await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the uploads to make");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        let conversation_id = job.conversation_id.clone().unwrap_or_default();
        let result = upload(&shared, &job).await;
        *shared.uploading.lock() = None;
        match result {
            Ok(Ended::Uploaded(last)) => {
                backoff.reset();
                if last {
                    shared.emit(EngineEvent::UploadDone { conversation_id, client_msg_id: job.client_msg_id.clone() });
                    shared.kick_outbox.notify_one();
                }
            }
            Ok(Ended::Dropped) => {}
            Err(EngineError::Unauthorized(_)) => return, // signed out: the session ends too
            Err(e) if e.is_permanent() => {
                tracing::info!(error = %e, "the hub refused a file; its message failed");
                let reason = e.reason();
                if let Err(e) = shared.cache.fail(&job.client_msg_id, reason).await {
                    tracing::warn!(error = %e, "cannot mark the message failed");
                }
                shared.emit(EngineEvent::UploadFailed { conversation_id, client_msg_id: job.client_msg_id.clone(), error: reason, retrying: false });
                shared.emit_queued(&job.client_msg_id).await;
                shared.bump_progress(|p| p.outbox_version += 1);
            }
            Err(e) => {
                tracing::info!(error = %e, "upload cut off; it starts over");
                shared.emit(EngineEvent::UploadFailed { conversation_id, client_msg_id: job.client_msg_id.clone(), error: e.code(), retrying: true });
                shared.emit_queued(&job.client_msg_id).await;
                let _ = Backoff::wait(backoff.next_delay(), &shared.kick_uploads).await;
            }
        }
    }
}

/// The session ended (and aborted [`run`]) in the middle of an upload: tell the app it starts
/// over on the next connection.
pub(crate) async fn interrupted(shared: &Shared) {
    let Some((client_msg_id, _)) = shared.uploading.lock().take() else { return };
    let Ok(me) = shared.me_id() else { return };
    let conversation_id = match shared.cache.queued_message(&client_msg_id, &me).await {
        Ok(Some(m)) => m.conversation_id,
        _ => return, // sent or discarded meanwhile
    };
    shared.emit(EngineEvent::UploadFailed { conversation_id, client_msg_id: client_msg_id.clone(), error: Code::Offline, retrying: true });
    shared.emit_queued(&client_msg_id).await;
}

/// Uploads one file, with progress events, until it is at the hub, the send is discarded, the
/// upload stalls, or the hub refuses it.
async fn upload(shared: &Shared, job: &UploadJob) -> Result<Ended, EngineError> {
    let cancel = CancellationToken::new();
    *shared.uploading.lock() = Some((job.client_msg_id.clone(), cancel.clone()));
    let (before, total) = shared.cache.upload_totals(&job.client_msg_id).await?;
    let size = job.size.max(0) as u64;
    let path = shared.layout.absolute(&job.staged);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| EngineError::Invalid { reason: Code::InvalidPayload, message: format!("the copy of {} to send is gone: {e}", job.filename) })?;
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let stream = tokio_util::io::ReaderStream::with_capacity(file, CHUNK).inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
    });
    let token = shared.fresh_token().await?;
    let request = UploadRequest { filename: &job.filename, content_type: &job.content_type, size, sha256: &job.sha256 };
    let call = shared.api.upload(&token, &request, reqwest::Body::wrap_stream(stream));
    let conversation_id = job.conversation_id.clone().unwrap_or_default();
    let watch = async {
        let mut last = (0u64, tokio::time::Instant::now());
        let mut shown = u64::MAX;
        loop {
            tokio::time::sleep(PROGRESS_EVERY).await;
            let now = sent.load(Ordering::Relaxed);
            if now != last.0 {
                last = (now, tokio::time::Instant::now());
            } else if last.1.elapsed() >= STALL {
                return EngineError::Offline("the upload stalled".into());
            }
            if now != shown {
                shown = now;
                let progress = TransferProgress { done: (before + now).min(total), total };
                shared.emit(EngineEvent::UploadProgress { conversation_id: conversation_id.clone(), client_msg_id: job.client_msg_id.clone(), progress });
            }
        }
    };
    let attachment = tokio::select! {
        result = call => match result {
            Err(EngineError::Unauthorized(_)) => {
                // The token expired on the way: refresh, and the loop starts this upload again.
                shared.refresh(&token).await?;
                return Err(EngineError::Offline("the access token had expired".into()));
            }
            other => other?,
        },
        () = cancel.cancelled() => return Ok(Ended::Dropped),
        stalled = watch => return Err(stalled),
    };
    if attachment.sha256 != job.sha256 || attachment.size != size {
        return Err(EngineError::Hub { code: rapport_protocol::ErrorCode::Internal, message: "the hub stored another file than the one sent".into() });
    }
    Ok(match shared.cache.uploaded(&job.client_msg_id, job.position, &attachment.id, now_ms()).await? {
        Some(last) => {
            let (done, total) = shared.cache.upload_totals(&job.client_msg_id).await?;
            shared.emit(EngineEvent::UploadProgress { conversation_id, client_msg_id: job.client_msg_id.clone(), progress: TransferProgress { done, total } });
            Ended::Uploaded(last)
        }
        None => Ended::Dropped,
    })
}
