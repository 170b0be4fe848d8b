//! The long-polling transport: a gateway session whose frames travel in HTTP requests.
//!
//! Each `POST /v1/poll/{id}` becomes a [`PollCall`] sent to the session's one task (the same
//! `connection` task a WebSocket has). The link holds the newest call and answers it as soon
//! as the core flushes anything (acks, errors, events, the close), or empty when the hold time
//! passes. Events are taken from the session's ring only while a call is held, so between
//! polls they wait in the ring and nowhere else; a call's `last_seq` rewinds the session, so an
//! answer lost on the way is sent again. Replies written while no call is held (an ack whose
//! commit finished after the previous answer) wait here for the next call.
//!
//! A second call while one is held answers the held one at once, empty: the newest request is
//! the one the client waits on (a proxy may have dropped the older one). What was due goes to
//! the newest call.

use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, Utf8Bytes};
use futures_util::Sink;
use rapport_protocol::poll::PollClosed;
use rapport_protocol::MAX_FRAME_BYTES;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, Sleep};

use super::transport::{Incoming, Transport};

/// Polls of one session that may wait for its task at once; more are refused.
pub const CALL_QUEUE: usize = 4;
/// Unanswered reply bytes a link holds at most (a client that stopped polling while its ops
/// keep completing); beyond, the connection counts as broken, as a WebSocket whose write
/// buffer is full.
const MAX_UNANSWERED_BYTES: usize = 1024 * 1024;
/// After the close, how long the link waits for a poll to tell it to.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// One poll, on its way to the session's task.
pub struct PollCall {
    /// Client frames, in order.
    pub ops: Vec<Box<RawValue>>,
    /// The client's `last_seq` (none for the open, which has no session yet).
    pub last_seq: Option<u64>,
    /// Where its answer goes.
    pub reply: oneshot::Sender<PollReply>,
}

/// What a poll is answered with.
#[derive(Default)]
pub struct PollReply {
    /// Server frames, each one JSON object.
    pub frames: Vec<Utf8Bytes>,
    /// Set once the session has ended.
    pub closed: Option<PollClosed>,
}

/// The session task's end of the polls.
pub struct PollLink {
    calls: mpsc::Receiver<PollCall>,
    held: Option<oneshot::Sender<PollReply>>,
    /// When the held call is answered even if there is nothing.
    hold_until: Pin<Box<Sleep>>,
    hold: Duration,
    /// Client frames of the calls received, not yet read by the core.
    ops: VecDeque<Box<RawValue>>,
    /// Frames written since the last answer.
    out: Vec<Utf8Bytes>,
    out_bytes: usize,
    closed: Option<PollClosed>,
    /// The close has been told to a poll.
    close_told: bool,
}

impl PollLink {
    /// A link whose first call is `open` (the `identify`), holding calls for `hold` at most.
    pub fn new(calls: mpsc::Receiver<PollCall>, open: PollCall, hold: Duration) -> PollLink {
        PollLink {
            calls,
            held: Some(open.reply),
            hold_until: Box::pin(tokio::time::sleep(hold)),
            hold,
            ops: open.ops.into(),
            out: Vec::new(),
            out_bytes: 0,
            closed: None,
            close_told: false,
        }
    }

    fn hold(&mut self, call: PollCall) {
        if let Some(superseded) = self.held.take() {
            let _ = superseded.send(PollReply::default());
        }
        // Events not yet answered are taken again after the rewind this call brings.
        self.out.retain(|frame| !is_event(frame));
        self.out_bytes = self.out.iter().map(|f| f.len()).sum();
        self.ops.extend(call.ops);
        self.held = Some(call.reply);
        self.hold_until.as_mut().reset(Instant::now() + self.hold);
    }

    /// Answers the held call with everything written so far.
    fn answer(&mut self) {
        let Some(held) = self.held.take() else { return };
        let reply = PollReply { frames: std::mem::take(&mut self.out), closed: self.closed.clone() };
        self.out_bytes = 0;
        match held.send(reply) {
            Ok(()) => self.close_told = self.closed.is_some(),
            // The request is gone (its client disconnected): what it would have carried
            // waits for the next call.
            Err(reply) => {
                self.out = reply.frames;
                self.out_bytes = self.out.iter().map(|f| f.len()).sum();
            }
        }
    }

    /// Whether the held call's request is still waiting for its answer.
    fn holding(&self) -> bool {
        self.held.as_ref().is_some_and(|held| !held.is_closed())
    }
}

/// An event frame, as `connection::event_text` writes it.
fn is_event(frame: &Utf8Bytes) -> bool {
    frame.as_str().starts_with("{\"op\":\"event\"")
}

impl Transport for PollLink {
    const SENDS_HELLO: bool = false;

    fn poll_incoming(&mut self, cx: &mut Context<'_>) -> Poll<Incoming> {
        loop {
            if let Some(op) = self.ops.pop_front() {
                if op.get().len() > MAX_FRAME_BYTES {
                    return Poll::Ready(Incoming::TooBig);
                }
                return Poll::Ready(Incoming::Text(Utf8Bytes::from(String::from(Box::<str>::from(op)))));
            }
            match self.calls.poll_recv(cx) {
                Poll::Ready(Some(call)) => {
                    let last_seq = call.last_seq;
                    self.hold(call);
                    if let Some(last_seq) = last_seq {
                        return Poll::Ready(Incoming::Poll { last_seq });
                    }
                    continue;
                }
                // Every way to this session is gone.
                Poll::Ready(None) => return Poll::Ready(Incoming::Closed),
                Poll::Pending => {}
            }
            if self.held.is_some() && self.hold_until.as_mut().poll(cx).is_ready() {
                self.answer();
                continue;
            }
            return Poll::Pending;
        }
    }

    fn takes_events(&self) -> bool {
        self.holding()
    }

    async fn linger(&mut self) {
        if self.close_told {
            return;
        }
        let _ = tokio::time::timeout(CLOSE_LINGER, async {
            while let Some(call) = self.calls.recv().await {
                self.hold(call);
                self.answer();
                if self.close_told {
                    break;
                }
            }
        })
        .await;
    }
}

impl Sink<WsMessage> for PollLink {
    type Error = axum::Error;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.out_bytes > MAX_UNANSWERED_BYTES {
            return Poll::Ready(Err(axum::Error::new("the client stopped polling")));
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, message: WsMessage) -> Result<(), Self::Error> {
        let link = self.get_mut();
        match message {
            WsMessage::Text(text) => {
                // A copy: the event text lives in a per-thread scratch buffer meant to be
                // reused at once, and this frame waits for its answer.
                let text = Utf8Bytes::from(text.as_str().to_owned());
                link.out_bytes += text.len();
                link.out.push(text);
            }
            WsMessage::Close(frame) => {
                let (code, reason) = frame.map_or((rapport_protocol::close::NORMAL, String::new()), |f| (f.code, f.reason.to_string()));
                link.closed = Some(PollClosed { code, reason });
            }
            WsMessage::Binary(_) | WsMessage::Ping(_) | WsMessage::Pong(_) => {}
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let link = self.get_mut();
        if link.held.is_some() && (!link.out.is_empty() || (link.closed.is_some() && !link.close_told)) {
            link.answer();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_flush(cx)
    }
}
