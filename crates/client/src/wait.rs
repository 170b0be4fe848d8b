//! Waiting for the engine to get something done within a deadline (`sync`, `wait_sent`).
//!
//! The condition is checked again whenever the progress counters move (an ack, a finished
//! catch-up) or the connection state changes. When the deadline passes, the answer says which of
//! the two failures it was: `Offline` when the hub was never reached meanwhile, `Timeout` when it
//! was but the work did not finish — the CLI's exit code 3 and the app's banner depend on it.

use std::future::Future;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use crate::error::EngineError;
use crate::event::{ConnectionState, EngineEvent};
use crate::shared::Shared;

/// What to say when the deadline passes.
pub(crate) struct Deadline {
    pub timeout: Duration,
    /// The connection was up at some point, but the work did not finish.
    pub unfinished: &'static str,
    /// The hub was never reached.
    pub unreachable: &'static str,
}

/// Checks `done` until it answers `Some` (or fails), the login ends, or the deadline passes.
/// `connected_before` counts a connection that was up before the wait began.
pub(crate) async fn until<T, F, Fut>(shared: &Shared, deadline: Deadline, connected_before: bool, mut done: F) -> Result<T, EngineError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, EngineError>>,
{
    // Subscribed before the first check, so that no change between the check and the wait is lost.
    let mut progress = shared.progress.subscribe();
    let mut events = shared.subscribe();
    let mut ever_connected = connected_before;
    let at = tokio::time::Instant::now() + deadline.timeout;
    loop {
        progress.borrow_and_update();
        if let Some(value) = done().await? {
            return Ok(value);
        }
        match shared.state() {
            ConnectionState::SignedOut => return Err(EngineError::Unauthorized("signed out".into())),
            ConnectionState::Connected { .. } => ever_connected = true,
            _ => {}
        }
        // Wait for something that can change the answer: progress, a state change, the deadline.
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {
                    return Err(if ever_connected {
                        EngineError::Timeout(deadline.unfinished.into())
                    } else {
                        EngineError::Offline(deadline.unreachable.into())
                    });
                }
                _ = progress.changed() => break,
                event = events.recv() => match event {
                    // A connection that came and went between two checks still counts.
                    Ok(EngineEvent::Connection(ConnectionState::Connected { .. })) => {
                        ever_connected = true;
                        break;
                    }
                    Ok(EngineEvent::Connection(_)) | Err(RecvError::Lagged(_)) => break,
                    // Messages, presence, typing…: nothing this wait is about.
                    Ok(_) => {}
                    // Cannot happen while `shared` (which holds the sender) is borrowed.
                    Err(RecvError::Closed) => return Err(EngineError::Io("the engine stopped".into())),
                },
            }
        }
    }
}
