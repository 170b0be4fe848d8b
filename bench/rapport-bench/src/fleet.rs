//! Many sessions at once: open them with bounded concurrency, run them, stop them, add up.

use std::net::SocketAddr;

use futures_util::{stream, StreamExt as _, TryStreamExt as _};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::runner::{self, SendPlan, SessionStats, Totals, Window};
use crate::server::Target;
use crate::wire::{self, Opened};

/// Handshakes in flight at once: enough to keep both processes busy, few enough to stay under
/// the listen backlog (a SYN dropped there costs a 1 s retransmission).
pub const OPEN_CONCURRENCY: usize = 128;

/// Opens one session per token, in order.
pub async fn open_all(target: Target, addr: SocketAddr, tokens: &[String]) -> anyhow::Result<Vec<Opened>> {
    stream::iter(tokens.iter())
        .map(|token| async move { wire::open(target, addr, token, None, &mut |_| {}).await })
        .buffered(OPEN_CONCURRENCY)
        .try_collect()
        .await
}

/// What one running session does.
pub struct Role {
    /// Messages it sends, if any.
    pub plan: Option<SendPlan>,
    /// Whether it records latency.
    pub measure: bool,
}

/// Running sessions.
pub struct Fleet {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<SessionStats>>,
}

impl Fleet {
    /// Starts a runner task for every opened session.
    pub fn start(target: Target, sessions: Vec<(Opened, Role)>, window: Window) -> Fleet {
        let (stop, stop_rx) = watch::channel(false);
        let tasks = sessions
            .into_iter()
            .map(|(opened, role)| tokio::spawn(runner::run(target, opened, role.plan, window, role.measure, stop_rx.clone())))
            .collect();
        Fleet { stop, tasks }
    }

    /// Stops every session and adds up what they saw.
    pub async fn stop(self) -> Totals {
        let _ = self.stop.send(true);
        let mut totals = Totals::default();
        for task in self.tasks {
            if let Ok(stats) = task.await {
                totals.add(stats);
            }
        }
        totals
    }
}
