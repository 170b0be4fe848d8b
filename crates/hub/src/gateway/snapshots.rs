//! The `ready` snapshots of one user's sessions, read once for all that identify together.
//!
//! After a hub restart every session reconnects at once, and a user's sessions (devices, tabs)
//! all ask for the same snapshot. A session joins a read that has not started yet; the read
//! starts when one of the [`CONCURRENT_READS`] slots frees up, so under load many sessions
//! share one read, and without load nobody waits. A session never joins a read that has
//! already started: it registered for events before joining, so the read it gets began after
//! that, and nothing that happens in between can be missed (the `ready` invariant: subscribe
//! before the snapshot).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rapport_protocol::ErrorCode;
use tokio::sync::{OnceCell, Semaphore};

use crate::error::{ApiError, ApiResult};
use crate::store::{ReadySnapshot, Store};

/// Snapshot reads running at once (the SQLite read pool has 4 connections; the REST catch-up
/// that follows a reconnect needs them too).
const CONCURRENT_READS: usize = 4;

type Shared = Result<Option<Arc<ReadySnapshot>>, (ErrorCode, String)>;

/// One read, shared by every session that joined it before it began.
#[derive(Default)]
struct Read {
    outcome: OnceCell<Shared>,
}

/// Reads not started yet, by user, and the slots that start them.
pub struct ReadySnapshots {
    waiting: Mutex<HashMap<String, Arc<Read>>>,
    slots: Semaphore,
}

impl Default for ReadySnapshots {
    fn default() -> ReadySnapshots {
        ReadySnapshots { waiting: Mutex::new(HashMap::new()), slots: Semaphore::new(CONCURRENT_READS) }
    }
}

impl ReadySnapshots {
    /// The user's snapshot, read after this call began (call it once the session is
    /// registered). `None` when there is no such user.
    pub async fn take(&self, store: &dyn Store, user_id: &str) -> ApiResult<Option<Arc<ReadySnapshot>>> {
        let read = self.waiting.lock().entry(user_id.to_owned()).or_default().clone();
        let shared = read
            .outcome
            .get_or_init(|| async {
                let _slot = self.slots.acquire().await.expect("the semaphore is never closed");
                {
                    // From now on nobody may join: this read is about to begin.
                    let mut waiting = self.waiting.lock();
                    if waiting.get(user_id).is_some_and(|r| Arc::ptr_eq(r, &read)) {
                        waiting.remove(user_id);
                    }
                }
                match store.ready_snapshot(user_id).await {
                    Ok(snapshot) => Ok(snapshot.map(Arc::new)),
                    Err(err) => {
                        let err = ApiError::from(err);
                        Err((err.code, err.message))
                    }
                }
            })
            .await;
        shared.clone().map_err(|(code, message)| ApiError::new(code, message))
    }
}
