//! The connection supervisor: an explicit state machine around [`crate::session`].
//!
//! ```text
//!            start()
//!               │
//!               ▼
//!         ┌──────────┐  ready/resumed   ┌───────────┐
//!    ┌───▶│connecting│─────────────────▶│ connected │
//!    │    └──────────┘                  └───────────┘
//!    │         │ failed                       │ lost (close, error, zombie)
//!    │         ▼                              ▼
//!    │    ┌──────────────────────────────────────┐
//!    └────│ reconnecting {attempt, retry_in_ms}   │  backoff: full jitter, 0.5 s … 30 s,
//!  delay  └──────────────────────────────────────┘  cut short by reconnect_now()
//!  or wake     │ 4001 → refresh → connecting at once; refresh refused → signed_out (stop)
//!              ▼
//!   shutdown() → offline {reason}
//! ```
//!
//! `connected` carries the transport: the WebSocket, or HTTP long polling when the WebSocket
//! does not get through (see [`crate::fallback`] for when the engine switches each way). A
//! switch is a reconnection like any other: back to the WebSocket it resumes the polled
//! session (nothing replayed twice, nothing missed); to polling it identifies anew and the
//! catch-up fetches what happened meanwhile.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::shared::Shared;
use crate::event::{ConnectionState, Transport};
use crate::fallback::Fallback;
use crate::session::{self, Attempt, ConnectionEnd, ResumePoint};
use crate::EngineError;

/// Consecutive 4001 closes (each after a successful refresh) before giving up.
const MAX_AUTH_REJECTIONS: u32 = 3;

/// Runs until cancelled or signed out.
pub(crate) async fn run(shared: Arc<Shared>, cancel: CancellationToken) {
    let mut backoff = Backoff::default();
    let mut resume: Option<ResumePoint> = None;
    let mut rejections = 0u32;
    let mut fallback = Fallback::default();
    // A socket a probe opened while polling, for the next attempt.
    let mut probed = None;
    shared.set_state(ConnectionState::Connecting);
    loop {
        let polling = fallback.transport() == Transport::HttpFallback;
        let attempt = if polling { Attempt::Poll(&mut fallback.probe) } else { Attempt::WebSocket(probed.take()) };
        let end = session::run(&shared, &mut resume, &cancel, attempt).await;
        tracing::debug!(?end, "connection ended");
        match end {
            ConnectionEnd::Shutdown => break,
            ConnectionEnd::SignedOut => {
                shared.signed_out().await;
                return;
            }
            ConnectionEnd::AuthRejected { token } => {
                rejections += 1;
                if rejections >= MAX_AUTH_REJECTIONS {
                    shared.signed_out().await;
                    return;
                }
                match shared.refresh(&token).await {
                    Ok(()) => {
                        shared.set_state(ConnectionState::Connecting);
                        continue;
                    }
                    Err(EngineError::Unauthorized(_)) => {
                        shared.signed_out().await;
                        return;
                    }
                    Err(_) => {}
                }
            }
            ConnectionEnd::Lost { was_connected } => {
                if was_connected {
                    backoff.reset();
                    rejections = 0;
                    if !polling {
                        fallback.websocket_worked();
                    }
                } else if polling {
                    fallback.poll_failed();
                } else if fallback.websocket_failed(false) {
                    tracing::info!("the WebSocket keeps failing: falling back to HTTP long polling");
                    shared.set_state(ConnectionState::Connecting);
                    continue;
                }
            }
            ConnectionEnd::UpgradeRefused => {
                if fallback.websocket_failed(true) {
                    tracing::info!("the WebSocket upgrade was refused: falling back to HTTP long polling");
                    shared.set_state(ConnectionState::Connecting);
                    continue;
                }
            }
            ConnectionEnd::BackToWebSocket(ws) => {
                fallback.websocket_worked();
                probed = Some(ws);
                shared.set_state(ConnectionState::Connecting);
                continue;
            }
        }
        let delay = backoff.next_delay();
        shared.set_state(ConnectionState::Reconnecting { attempt: backoff.attempt(), retry_in_ms: delay.as_millis() as u64 });
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = Backoff::wait(delay, &shared.reconnect) => {}
        }
        shared.set_state(ConnectionState::Connecting);
    }
    if shared.state() != ConnectionState::SignedOut {
        shared.set_state(ConnectionState::Offline { reason: "stopped".into() });
    }
}
