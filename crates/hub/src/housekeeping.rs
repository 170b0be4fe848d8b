//! Periodic clean-up of what protocol 1.1 leaves behind: uploads that no message carries
//! after a day (the contract's 24 h), files without a row, part files of a hub that stopped
//! mid-upload, and the database pages that still hold what deletions removed.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_ms;
use crate::Hub;

/// A file is a stray only when it has had no row for this long: between an upload's rename and
/// its insert there is a moment without one.
const STRAY_AGE: Duration = Duration::from_secs(10 * 60);
/// A part file untouched this long belongs to an upload that will never finish.
const PART_AGE: Duration = Duration::from_secs(3600);

/// Runs [`tidy`] every `config.housekeeping_interval` until aborted.
pub async fn run(hub: Arc<Hub>) {
    let mut tick = tokio::time::interval(hub.config.housekeeping_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        tidy(&hub).await;
    }
}

/// One round; every failure is logged and retried next round.
async fn tidy(hub: &Hub) {
    if hub.purge_due.swap(false, Ordering::Relaxed) {
        if let Err(err) = hub.store.purge_removed().await {
            hub.purge_due.store(true, Ordering::Relaxed);
            tracing::warn!(error = %err, "could not purge deleted data from the database files");
        }
    }
    let cutoff = now_ms() - hub.config.unsent_upload_ttl.as_millis() as i64;
    match hub.store.remove_unsent_uploads(cutoff).await {
        Ok(expired) if !expired.is_empty() => {
            tracing::info!(count = expired.len(), "removed uploads that no message carries");
            hub.blobs.remove(&expired).await;
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "could not look for expired uploads"),
    }
    let strays = async {
        let names = hub.blobs.names(STRAY_AGE).await.map_err(|e| e.to_string())?;
        let known = hub.store.known_attachments(&names).await.map_err(|e| e.to_string())?;
        let strays: Vec<String> = names.into_iter().filter(|n| !known.contains(n)).collect();
        if !strays.is_empty() {
            tracing::info!(count = strays.len(), "removed files that no attachment names");
            hub.blobs.remove(&strays).await;
        }
        hub.blobs.sweep(PART_AGE).await.map_err(|e| e.to_string())
    };
    if let Err(err) = strays.await {
        tracing::warn!(error = %err, "could not sweep the blob directory");
    }
}
