//! What carries a gateway session's frames: the one seam between the session core
//! (`connection`) and the wire.
//!
//! The core writes server frames into a [`Transport`] as a `Sink` of WebSocket messages and
//! reads client frames from it as [`Incoming`]s. Two transports exist: the WebSocket itself
//! (this file) and the long-polling link (`poll_link`), which answers HTTP requests with the
//! frames the core writes. Everything else — identify, ops, acks in order, rate limits,
//! presence, the heartbeat deadline, the event ring — is the core's, once, for both.

use std::future::Future;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, Utf8Bytes, WebSocket};
use futures_util::{Sink, StreamExt as _};

/// After our close frame, how long we keep reading for the client's, so the client is not
/// reset before it has read ours.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// A client frame, or what happened instead of one.
pub enum Incoming {
    /// A text frame: one JSON client frame.
    Text(Utf8Bytes),
    /// A binary frame (refused: frames are JSON text).
    Binary,
    /// Proof of life without a frame (a protocol-level ping or pong).
    Alive,
    /// (Long polling) a new poll arrived: the client has every event up to `last_seq`, and
    /// those after it are due again.
    Poll {
        /// The last event seq the client has.
        last_seq: u64,
    },
    /// A frame larger than the protocol allows.
    TooBig,
    /// The client closed or vanished.
    Closed,
}

/// A wire for one gateway session's frames.
pub trait Transport: Sink<WsMessage, Error = axum::Error> + Unpin + Send + 'static {
    /// Whether the connection starts with `hello` (a polled session learns the heartbeat
    /// from the answer to its open instead).
    const SENDS_HELLO: bool;

    /// The next client frame; called only while the core is ready to handle one.
    fn poll_incoming(&mut self, cx: &mut Context<'_>) -> Poll<Incoming>;

    /// Whether events can be written now. A WebSocket always can; a polled session only while
    /// it holds a poll to answer — meanwhile events wait in the session's ring, which is the
    /// only place they are kept.
    fn takes_events(&self) -> bool;

    /// After the close frame was written: lets the client read it before the link ends.
    fn linger(&mut self) -> impl Future<Output = ()> + Send;
}

impl Transport for WebSocket {
    const SENDS_HELLO: bool = true;

    fn poll_incoming(&mut self, cx: &mut Context<'_>) -> Poll<Incoming> {
        let frame = std::task::ready!(self.poll_next_unpin(cx));
        Poll::Ready(match frame {
            None | Some(Ok(WsMessage::Close(_))) => Incoming::Closed,
            Some(Err(err)) => {
                if too_big(err) {
                    Incoming::TooBig
                } else {
                    Incoming::Closed
                }
            }
            Some(Ok(WsMessage::Text(text))) => Incoming::Text(text),
            Some(Ok(WsMessage::Binary(_))) => Incoming::Binary,
            // Protocol-level pings are answered by the WebSocket layer; they still count as life.
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => Incoming::Alive,
        })
    }

    fn takes_events(&self) -> bool {
        true
    }

    /// Reads until the client's close frame (or [`CLOSE_LINGER`]).
    async fn linger(&mut self) {
        let _ = tokio::time::timeout(CLOSE_LINGER, async {
            while let Some(Ok(message)) = self.next().await {
                if matches!(message, WsMessage::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

fn too_big(err: axum::Error) -> bool {
    err.into_inner()
        .downcast::<tungstenite::Error>()
        .is_ok_and(|e| matches!(*e, tungstenite::Error::Capacity(_)))
}
