//! The one way out to the other hubs: a bounded queue that one task empties into Redis, every
//! publish that queued up meanwhile in one pipeline (one round trip).
//!
//! Nobody waits for Redis: the committer and the request handlers only queue. When Redis does
//! not answer, the batch stays at the head of the queue and is tried again once it is back, so
//! a short outage delays events instead of losing them (a publish that did reach Redis before
//! the failure is sent twice; every receiver drops what it has seen). When the queue is full the
//! oldest publish gives way, and if it concerned a conversation, that conversation is announced
//! as "catch up from the database" once Redis is back: the database always has what was lost.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::wire::{Body, Channel, Names, Relayed};
use super::Cluster;
use crate::clock::now_ms;

/// Publishes waiting at most; beyond, the oldest is dropped (and its conversation caught up).
const QUEUE: usize = 64 * 1024;
/// Publishes sent in one pipeline at most.
const BATCH: usize = 512;
/// Waits between tries while Redis does not answer.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// The outgoing queue.
#[derive(Default)]
pub struct Publisher {
    queue: Mutex<VecDeque<(String, String)>>,
    /// Conversations whose events were dropped from a full queue.
    dirty: Mutex<HashSet<String>>,
    wake: Notify,
}

impl Publisher {
    /// Queues `body` for `channel`, signed by hub `from`.
    pub fn push(&self, names: &Names, from: &str, channel: String, body: Body) {
        let payload = serde_json::to_string(&Relayed { from: from.to_owned(), at_ms: now_ms(), body })
            .expect("relayed messages always serialise");
        let mut queue = self.queue.lock();
        if queue.len() >= QUEUE {
            if let Some((dropped, _)) = queue.pop_front() {
                if let Some(Channel::Conversation(id)) = names.parse(&dropped) {
                    self.dirty.lock().insert(id.to_owned());
                }
            }
        }
        queue.push_back((channel, payload));
        drop(queue);
        self.wake.notify_one();
    }

    /// How many publishes wait.
    pub fn waiting(&self) -> usize {
        self.queue.lock().len()
    }

    /// Empties the queue into Redis until `stop`, then once more (what the last sessions
    /// caused on their way out).
    pub async fn run(self: Arc<Publisher>, cluster: Arc<Cluster>, stop: CancellationToken) {
        let mut retry = RETRY_MIN;
        loop {
            let batch = self.take_batch();
            if batch.is_empty() {
                if stop.is_cancelled() {
                    return;
                }
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = stop.cancelled() => {}
                }
                continue;
            }
            let mut pipe = redis::pipe();
            for (channel, payload) in &batch {
                pipe.publish(channel, payload).ignore();
            }
            let mut commands = cluster.commands.clone();
            match pipe.query_async::<()>(&mut commands).await {
                Ok(()) => {
                    retry = RETRY_MIN;
                    self.flush_dirty(&cluster);
                }
                Err(err) => {
                    cluster.metrics.publish_retries.inc();
                    tracing::warn!(error = %err, waiting = self.waiting() + batch.len(), "redis: publishing failed; keeping the events to try again");
                    self.requeue(batch);
                    if stop.is_cancelled() {
                        return; // shutting down with Redis away: the other hubs catch up from the database
                    }
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// The oldest publishes waiting, [`BATCH`] at most.
    fn take_batch(&self) -> Vec<(String, String)> {
        let mut queue = self.queue.lock();
        let n = queue.len().min(BATCH);
        queue.drain(..n).collect()
    }

    /// Puts a batch that failed back at the head of the queue, in its order.
    fn requeue(&self, batch: Vec<(String, String)>) {
        let mut queue = self.queue.lock();
        for item in batch.into_iter().rev() {
            queue.push_front(item);
        }
    }

    /// Tells the other hubs to read the conversations whose events were dropped.
    fn flush_dirty(&self, cluster: &Cluster) {
        let dirty: Vec<String> = self.dirty.lock().drain().collect();
        for id in dirty {
            self.push(&cluster.names, &cluster.id, cluster.names.conversation(&id), Body::CatchUp);
        }
    }
}
