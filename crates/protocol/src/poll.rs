//! (1.1 §4) The long-polling transport: a gateway session carried by plain HTTP requests, for
//! networks whose proxies refuse WebSocket upgrades.
//!
//! `POST /v1/poll/open` ([`PollOpen`] → [`PollOpened`]) identifies a session;
//! `POST /v1/poll/{session_id}` ([`PollRequest`] → [`PollAnswer`]) carries client frames to the
//! hub and brings back what the session has for the client: acks, errors and events, exactly
//! the frames a WebSocket connection of the same session would have received.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::gateway::Ready;
use crate::rest::ChosenStatus;

/// Client frames one poll carries at most.
pub const MAX_POLL_OPS: usize = 64;

/// Longest a poll is held while the session has nothing for the client, in ms (the hub holds
/// it for the shorter of this and its heartbeat interval).
pub const POLL_HOLD_MS: u64 = 25_000;

/// `POST /v1/poll/open`: the data of an `identify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollOpen {
    /// Access token.
    pub token: String,
    /// Initial presence; online when absent.
    #[serde(default)]
    pub presence: ChosenStatus,
}

/// The answer to [`PollOpen`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollOpened {
    /// The session to poll (the same id a `ready` gives; a WebSocket may `resume` it).
    pub session_id: String,
    /// The `ready` data, as a WebSocket `identify` gets it.
    pub ready: Ready,
    /// The gateway's heartbeat interval: a session not polled for twice this long is closed.
    pub heartbeat_interval_ms: u64,
}

/// `POST /v1/poll/{session_id}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PollRequest {
    /// Client frames, handled in order exactly as if sent over the WebSocket (at most
    /// [`MAX_POLL_OPS`]).
    #[serde(default)]
    pub ops: Vec<Box<RawValue>>,
    /// The last event seq the client has received: every event after it is (re)sent.
    pub last_seq: u64,
}

/// The answer to a [`PollRequest`]: what the session had for the client, in order.
#[derive(Debug, Serialize, Deserialize)]
pub struct PollAnswer {
    /// Server frames (`ack`, `error`, `pong`, `event`, …), as the WebSocket would carry them.
    pub frames: Vec<Box<RawValue>>,
    /// Set when the hub ended the session: what the WebSocket close frame would have said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<PollClosed>,
}

/// How the hub ended a polled session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollClosed {
    /// The WebSocket close code ([`crate::close`]).
    pub code: u16,
    /// The close reason.
    pub reason: String,
}
