//! The HTTP fallback's wire (1.1 §4): turns the session's outgoing frames into polls and the
//! polls' answers into incoming frames, so that `session` runs the same over it as over the
//! WebSocket.
//!
//! One poll is always waiting at the hub (it answers at once when it has something, else after
//! its hold time); frames to send go out at once in a poll of their own, which makes the hub
//! answer the waiting one. Answers are read in the order the polls were sent, and an event
//! whose seq was seen already (the hub sends again what follows a poll's `last_seq`, in case an
//! answer was lost) is dropped: each event reaches the session once, in order.

use std::time::Duration;

use futures_util::stream::FuturesOrdered;
use futures_util::StreamExt as _;
use rapport_protocol::gateway::ServerFrame;
use rapport_protocol::poll::{PollAnswer, PollRequest, MAX_POLL_OPS};
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::api::HubApi;
use crate::inbound::{parse, Incoming};

/// Polls in flight at once: the waiting one and one carrying frames.
const IN_FLIGHT: usize = 2;

/// Runs until the session drops its queue or sends a close, the hub ends the session, or a
/// poll fails (the connection then counts as lost, as a broken socket would).
pub(crate) async fn run(
    api: HubApi,
    session_id: String,
    hold: Duration,
    mut queue: mpsc::Receiver<WsMessage>,
    frames: mpsc::Sender<Incoming>,
) {
    let mut last_seq = 0u64;
    let mut polls = FuturesOrdered::new();
    let poll = |ops: Vec<Box<RawValue>>, last_seq: u64| {
        let (api, session_id) = (api.clone(), session_id.clone());
        async move { api.poll(&session_id, &PollRequest { ops, last_seq }, hold).await }
    };
    loop {
        if polls.is_empty() {
            polls.push_back(poll(Vec::new(), last_seq));
        }
        tokio::select! {
            message = queue.recv(), if polls.len() < IN_FLIGHT => {
                let mut ops = Vec::new();
                let mut next = message;
                loop {
                    match next {
                        Some(WsMessage::Text(text)) => match RawValue::from_string(text.as_str().to_owned()) {
                            Ok(op) => ops.push(op),
                            Err(e) => tracing::warn!(error = %e, "dropping an op that is not JSON"),
                        },
                        // Closing, or the session is gone: the hub ends the polled session by
                        // its heartbeat rule.
                        Some(WsMessage::Close(_)) | None => return,
                        Some(_) => {}
                    }
                    if ops.len() == MAX_POLL_OPS {
                        break;
                    }
                    match queue.try_recv() {
                        Ok(message) => next = Some(message),
                        Err(_) => break,
                    }
                }
                if !ops.is_empty() {
                    polls.push_back(poll(ops, last_seq));
                }
            }
            answer = polls.next(), if !polls.is_empty() => {
                let answer: PollAnswer = match answer.expect("guarded") {
                    Ok(answer) => answer,
                    Err(e) => {
                        tracing::debug!(error = %e, "poll failed");
                        let _ = frames.send(Incoming::Closed(None)).await;
                        return;
                    }
                };
                for frame in answer.frames {
                    let incoming = parse(frame.get());
                    if let Incoming::Frame(frame) = &incoming {
                        if let ServerFrame::Event { seq, .. } = **frame {
                            if seq <= last_seq {
                                continue;
                            }
                            last_seq = seq;
                        }
                    }
                    if frames.send(incoming).await.is_err() {
                        return;
                    }
                }
                if let Some(closed) = answer.closed {
                    let _ = frames.send(Incoming::Closed(Some(closed.code))).await;
                    return;
                }
            }
        }
    }
}
