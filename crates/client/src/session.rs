//! One gateway connection, from `hello` to its end: identify or resume, then frames in and ops
//! out until the connection is lost, the hub refuses the token, or the engine shuts down.
//!
//! The connection is a WebSocket, or (the HTTP fallback) a long-polled session: then the
//! open's answer stands for `hello` and `ready`, `poll_link` carries the frames both ways, and
//! the WebSocket is probed with backoff meanwhile; once a probe gets through, the connection
//! ends with that socket, and the next one resumes the same session over it.
//!
//! One task owns the connection state; a small writer task owns the socket's sink (or the
//! polls) behind a bounded queue. Ops that need an answer carry a numeric `ref` and wait in `pending`. The
//! REST catch-up runs as a separate task so heartbeats and live events keep flowing meanwhile.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt as _, StreamExt as _};
use rapport_protocol::gateway::{
    ClientFrame, ClientOp, ConversationTarget, Identify, PresenceSet, ReceiptKind, Ref, Resume, SeqTarget, ServerFrame,
};
use rapport_protocol::poll::{PollOpen, PollOpened};
use rapport_protocol::rest::ChosenStatus;
use rapport_protocol::{close, ErrorCode, ErrorInfo};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;

use crate::budget::OpBudget;
use crate::outgoing::{Halt, InFlight};
use crate::cache::PendingReceipt;
use crate::shared::{LiveCommand, Shared, LIVE_QUEUE};
use crate::backoff::Backoff;
use crate::event::{ConnectionState, Transport};
use crate::error::EngineError;
use crate::inbound::{Inbound, Incoming, Ws};

/// Opening the TCP/TLS/WebSocket connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Waiting for `hello`, then for `ready`/`resumed`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// Frames queued for the writer.
const WRITE_QUEUE: usize = 256;
/// `message.send` ops awaiting their ack at once.
const SEND_WINDOW: usize = 64;
/// After `reconnect_now` on a live connection: a frame must arrive within this long.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// Receipts are batched for this long after something makes one due.
const RECEIPT_DELAY: Duration = Duration::from_millis(250);
/// Rechecks for receipts (the hub may have missed one when a connection dropped).
const RECEIPT_SWEEP: Duration = Duration::from_secs(5);

/// Where to resume: the session and the last event processed.
#[derive(Debug, Clone)]
pub(crate) struct ResumePoint {
    pub session_id: String,
    pub last_seq: u64,
}

/// How a connection ended.
pub(crate) enum ConnectionEnd {
    /// The engine is shutting down.
    Shutdown,
    /// No usable login.
    SignedOut,
    /// The hub closed with 4001 for this access token.
    AuthRejected { token: String },
    /// Anything else: retry with backoff.
    Lost { was_connected: bool },
    /// The WebSocket upgrade was answered with an HTTP error (a proxy that refuses it).
    UpgradeRefused,
    /// (HTTP fallback) a probe reached the gateway: go on over this socket.
    BackToWebSocket(Box<Ws>),
}

/// What a connection runs over.
pub(crate) enum Attempt<'a> {
    /// The WebSocket: a new one, or one a probe opened already.
    WebSocket(Option<Box<Ws>>),
    /// Long polling, probing the WebSocket on this schedule meanwhile.
    Poll(&'a mut Backoff),
}

impl std::fmt::Debug for ConnectionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionEnd::Shutdown => f.write_str("Shutdown"),
            ConnectionEnd::SignedOut => f.write_str("SignedOut"),
            ConnectionEnd::AuthRejected { .. } => f.write_str("AuthRejected"),
            ConnectionEnd::Lost { was_connected } => write!(f, "Lost {{ was_connected: {was_connected} }}"),
            ConnectionEnd::UpgradeRefused => f.write_str("UpgradeRefused"),
            ConnectionEnd::BackToWebSocket(_) => f.write_str("BackToWebSocket"),
        }
    }
}

/// What an op with a `ref` is waiting for.
enum Pending {
    /// An outbox op (send, edit, delete, react).
    Op(InFlight),
    Receipt(PendingReceipt),
    Presence(Option<oneshot::Sender<Result<(), EngineError>>>),
}

fn text(frame: &ClientFrame) -> WsMessage {
    WsMessage::Text(serde_json::to_string(frame).expect("client frames always serialise").into())
}

async fn write_loop(mut sink: SplitSink<Ws, WsMessage>, mut queue: mpsc::Receiver<WsMessage>) {
    while let Some(message) = queue.recv().await {
        let closing = matches!(message, WsMessage::Close(_));
        if sink.send(message).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

/// How a WebSocket connect failed.
enum ConnectFailure {
    /// Answered with an HTTP status instead of the upgrade (not the hub's own 503).
    Refused,
    /// Anything else: no answer, a reset, a timeout, the hub's 503.
    Failed,
}

/// Opens the gateway WebSocket.
async fn connect(shared: &Shared) -> Result<Ws, ConnectFailure> {
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(16 << 20);
    // TCP_NODELAY (the `true`): ops are small frames and must not wait for delayed ACKs.
    let connect = tokio_tungstenite::connect_async_with_config(shared.config.gateway_url(), Some(config), true);
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) if response.status().as_u16() != 503 => {
            tracing::debug!(status = response.status().as_u16(), "gateway upgrade refused");
            Err(ConnectFailure::Refused)
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "gateway connect failed");
            Err(ConnectFailure::Failed)
        }
        Err(_) => Err(ConnectFailure::Failed),
    }
}

/// Runs one connection. `resume` is read (to resume) and updated (session id, last seq).
pub(crate) async fn run(
    shared: &Arc<Shared>,
    resume: &mut Option<ResumePoint>,
    cancel: &CancellationToken,
    attempt: Attempt<'_>,
) -> ConnectionEnd {
    let token = match shared.fresh_token().await {
        Ok(token) => token,
        Err(EngineError::Unauthorized(_)) => return ConnectionEnd::SignedOut,
        Err(_) => return ConnectionEnd::Lost { was_connected: false },
    };
    let (mut inbound, writer, start, probe) = match attempt {
        Attempt::WebSocket(probed) => {
            let ws = match probed {
                Some(ws) => *ws,
                None => tokio::select! {
                    () = cancel.cancelled() => return ConnectionEnd::Shutdown,
                    connected = connect(shared) => match connected {
                        Ok(ws) => ws,
                        Err(ConnectFailure::Refused) => return ConnectionEnd::UpgradeRefused,
                        Err(ConnectFailure::Failed) => return ConnectionEnd::Lost { was_connected: false },
                    },
                },
            };
            let (sink, stream) = ws.split();
            let (out, queue) = mpsc::channel(WRITE_QUEUE);
            (Inbound::WebSocket(stream), (out, tokio::spawn(write_loop(sink, queue))), Start::Handshake, None)
        }
        Attempt::Poll(probe) => {
            let request = PollOpen { token: token.clone(), presence: shared.effective_status() };
            let opened = tokio::select! {
                () = cancel.cancelled() => return ConnectionEnd::Shutdown,
                opened = shared.api.poll_open(&request) => match opened {
                    Ok(opened) => opened,
                    Err(EngineError::Unauthorized(_)) => return ConnectionEnd::AuthRejected { token },
                    Err(e) => {
                        tracing::debug!(error = %e, "poll open failed");
                        return ConnectionEnd::Lost { was_connected: false };
                    }
                },
            };
            let hold = Duration::from_millis(opened.heartbeat_interval_ms.clamp(10, rapport_protocol::poll::POLL_HOLD_MS));
            let (out, queue) = mpsc::channel(WRITE_QUEUE);
            let (frames, incoming) = mpsc::channel(WRITE_QUEUE);
            let link = crate::poll_link::run(shared.api.clone(), opened.session_id.clone(), hold, queue, frames);
            (Inbound::Poll(incoming), (out, tokio::spawn(link)), Start::Opened(Box::new(opened)), Some(probe))
        }
    };
    shared.diagnostics.lock().connections += 1;
    let (out, writer) = writer;
    let mut live = Live::new(shared.clone(), out);
    let end = live.run(&mut inbound, start, &token, resume, cancel, probe).await;
    // Stop the live session's helpers and let the writer finish (a close frame included).
    shared.live.lock().take();
    if let Some(task) = live.catch_up.take() {
        task.abort();
    }
    if let Some(task) = live.uploads.take() {
        // A cut-off upload leaves nothing at the hub; it starts over on the next connection.
        task.abort();
        let _ = task.await;
        crate::uploads::interrupted(shared).await;
    }
    for (_, pending) in live.pending.drain() {
        if let Pending::Presence(Some(tx)) = pending {
            let _ = tx.send(Err(EngineError::Offline("connection lost".into())));
        }
    }
    drop(live);
    if matches!(inbound, Inbound::Poll(_)) {
        // A poll may be waiting at the hub: nothing more is read from it.
        writer.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    end
}

/// How a connection starts.
enum Start {
    /// `hello`, then `identify` or `resume` (the WebSocket).
    Handshake,
    /// The poll open's answer: `hello` and `ready` in one.
    Opened(Box<PollOpened>),
}

struct Live {
    shared: Arc<Shared>,
    me: String,
    out: mpsc::Sender<WsMessage>,
    next_ref: u64,
    pending: HashMap<u64, Pending>,
    in_flight: HashSet<String>,
    receipts_in_flight: HashSet<(String, bool)>,
    budget: OpBudget,
    /// When the outbox may be flushed again (after a rate limit or a transient refusal).
    outbox_at: Option<Instant>,
    receipts_at: Option<Instant>,
    catch_up: Option<JoinHandle<Result<u64, EngineError>>>,
    uploads: Option<JoinHandle<()>>,
    catch_up_number: u64,
    catch_up_again: bool,
    last_heard: Instant,
    probe_until: Option<Instant>,
}

impl Live {
    fn new(shared: Arc<Shared>, out: mpsc::Sender<WsMessage>) -> Live {
        let now = Instant::now();
        Live {
            me: shared.me_id().unwrap_or_default(),
            shared,
            out,
            next_ref: 1,
            pending: HashMap::new(),
            in_flight: HashSet::new(),
            receipts_in_flight: HashSet::new(),
            budget: OpBudget::new(now),
            outbox_at: None,
            receipts_at: Some(now),
            catch_up: None,
            uploads: None,
            catch_up_number: 0,
            catch_up_again: false,
            last_heard: now,
            probe_until: None,
        }
    }

    async fn write(&self, frame: &ClientFrame) -> Result<(), ConnectionEnd> {
        self.out.send(text(frame)).await.map_err(|_| ConnectionEnd::Lost { was_connected: true })
    }

    fn next_ref(&mut self) -> u64 {
        self.next_ref += 1;
        self.next_ref
    }

    async fn handshake(
        &mut self,
        stream: &mut Inbound,
        token: &str,
        resume: &mut Option<ResumePoint>,
    ) -> Result<(Duration, Option<Vec<rapport_protocol::Conversation>>), ConnectionEnd> {
        let lost = ConnectionEnd::Lost { was_connected: false };
        let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
        let heartbeat = match tokio::time::timeout_at(deadline, stream.read()).await {
            Ok(Incoming::Frame(frame)) => match *frame {
                ServerFrame::Hello { data } => Duration::from_millis(data.heartbeat_interval_ms.max(10)),
                _ => return Err(lost),
            },
            _ => return Err(lost),
        };
        let identify = |r: u64| ClientFrame {
            reference: Some(Ref::from(r)),
            op: ClientOp::Identify(Identify { token: token.to_owned(), presence: self.shared.effective_status() }),
        };
        let first = match resume.as_ref() {
            Some(point) => ClientFrame {
                reference: Some(Ref::from(1u64)),
                op: ClientOp::Resume(Resume { token: token.to_owned(), session_id: point.session_id.clone(), last_seq: point.last_seq }),
            },
            None => identify(1),
        };
        self.write(&first).await.map_err(|_| ConnectionEnd::Lost { was_connected: false })?;
        loop {
            let incoming = tokio::time::timeout_at(deadline, stream.read()).await.map_err(|_| ConnectionEnd::Lost { was_connected: false })?;
            let frame = match incoming {
                Incoming::Frame(frame) => *frame,
                Incoming::Ignored => continue,
                Incoming::Closed(Some(close::NOT_AUTHENTICATED)) => return Err(ConnectionEnd::AuthRejected { token: token.to_owned() }),
                Incoming::Closed(_) => return Err(ConnectionEnd::Lost { was_connected: false }),
            };
            match frame {
                ServerFrame::Ready { data, .. } => {
                    self.shared.diagnostics.lock().identifies += 1;
                    *resume = Some(ResumePoint { session_id: data.session_id.clone(), last_seq: 0 });
                    crate::apply::ready(&self.shared, &data).await.map_err(|e| {
                        tracing::warn!(error = %e, "could not store the ready snapshot");
                        ConnectionEnd::Lost { was_connected: false }
                    })?;
                    return Ok((heartbeat, Some(data.conversations)));
                }
                ServerFrame::Resumed { data, .. } => {
                    tracing::debug!(replayed = data.replayed, "session resumed");
                    self.shared.diagnostics.lock().resumes += 1;
                    return Ok((heartbeat, None));
                }
                ServerFrame::InvalidSession { .. } => {
                    tracing::debug!("session not resumable: identifying");
                    self.shared.diagnostics.lock().invalid_sessions += 1;
                    *resume = None;
                    self.write(&identify(2)).await.map_err(|_| ConnectionEnd::Lost { was_connected: false })?;
                }
                ServerFrame::Event { seq, event } => {
                    // Replayed before `resumed`.
                    crate::apply::event(&self.shared, seq, event).await.map_err(|_| ConnectionEnd::Lost { was_connected: false })?;
                    if let Some(point) = resume.as_mut() {
                        point.last_seq = seq;
                    }
                }
                _ => {}
            }
        }
    }

    /// The poll open's `ready`, taken as a WebSocket `identify`'s.
    async fn opened(&mut self, opened: PollOpened, resume: &mut Option<ResumePoint>) -> Result<(Duration, Option<Vec<rapport_protocol::Conversation>>), ConnectionEnd> {
        self.shared.diagnostics.lock().identifies += 1;
        *resume = Some(ResumePoint { session_id: opened.session_id.clone(), last_seq: 0 });
        crate::apply::ready(&self.shared, &opened.ready).await.map_err(|e| {
            tracing::warn!(error = %e, "could not store the ready snapshot");
            ConnectionEnd::Lost { was_connected: false }
        })?;
        Ok((Duration::from_millis(opened.heartbeat_interval_ms.max(10)), Some(opened.ready.conversations)))
    }

    async fn run(
        &mut self,
        stream: &mut Inbound,
        start: Start,
        token: &str,
        resume: &mut Option<ResumePoint>,
        cancel: &CancellationToken,
        mut probe: Option<&mut Backoff>,
    ) -> ConnectionEnd {
        let transport = if probe.is_some() { Transport::HttpFallback } else { Transport::WebSocket };
        let (heartbeat, snapshot) = tokio::select! {
            () = cancel.cancelled() => return ConnectionEnd::Shutdown,
            done = async {
                match start {
                    Start::Handshake => self.handshake(stream, token, resume).await,
                    Start::Opened(opened) => self.opened(*opened, resume).await,
                }
            } => match done {
                Ok(done) => done,
                Err(stop) => return stop,
            },
        };
        let (commands_tx, mut commands) = mpsc::channel(LIVE_QUEUE);
        *self.shared.live.lock() = Some(commands_tx);
        self.shared.set_state(ConnectionState::Connected { transport });
        // (HTTP fallback) the next WebSocket probe, and the one under way.
        let mut probe_at = probe.as_mut().map(|schedule| Instant::now() + schedule.next_delay());
        let mut probing: Option<JoinHandle<Option<Ws>>> = None;
        self.start_catch_up(snapshot);
        self.uploads = Some(tokio::spawn(crate::uploads::run(self.shared.clone())));
        let ping_every = heartbeat / 2;
        // Any frame proves the connection alive; silence for this long after a ping means a
        // zombie connection (the hub answers pings at once).
        let zombie_after = heartbeat.max(Duration::from_secs(1));
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if let Err(stop) = self.flush_outbox().await {
            return stop;
        }
        let mut refresh_retry_at: Option<Instant> = None;
        loop {
            let refresh_at = refresh_retry_at.unwrap_or_else(|| {
                let secs = self.shared.login.refresh_in().unwrap_or(i64::MAX / 4).max(0);
                Instant::now() + Duration::from_secs(secs as u64)
            });
            let result: Result<(), ConnectionEnd> = tokio::select! {
                () = cancel.cancelled() => {
                    let _ = self.out.send(WsMessage::Close(None)).await;
                    return ConnectionEnd::Shutdown;
                }
                incoming = stream.read() => match incoming {
                    Incoming::Frame(frame) => {
                        self.last_heard = Instant::now();
                        self.probe_until = None;
                        self.on_frame(*frame, resume).await
                    }
                    Incoming::Ignored => {
                        self.last_heard = Instant::now();
                        Ok(())
                    }
                    Incoming::Closed(Some(close::NOT_AUTHENTICATED)) => Err(ConnectionEnd::AuthRejected { token: token.to_owned() }),
                    Incoming::Closed(code) => {
                        tracing::debug!(?code, "gateway closed");
                        Err(ConnectionEnd::Lost { was_connected: true })
                    }
                },
                done = async { self.catch_up.as_mut().expect("guarded").await }, if self.catch_up.is_some() => {
                    self.catch_up = None;
                    self.caught_up(done)
                }
                _ = ping.tick() => {
                    if self.last_heard.elapsed() > zombie_after {
                        tracing::info!("no answer from the hub: reconnecting");
                        Err(ConnectionEnd::Lost { was_connected: true })
                    } else {
                        self.write(&ClientFrame { reference: Some(Ref::from(0u64)), op: ClientOp::Ping }).await
                    }
                }
                _ = sleep_until(self.probe_until) => {
                    tracing::info!("connection probe unanswered: reconnecting");
                    Err(ConnectionEnd::Lost { was_connected: true })
                }
                () = self.shared.reconnect.notified() => {
                    // Wake from sleep or a network change: prove the connection still works.
                    self.probe_until = Some(Instant::now() + PROBE_TIMEOUT);
                    self.write(&ClientFrame { reference: Some(Ref::from(0u64)), op: ClientOp::Ping }).await
                }
                _ = sleep_until(probe_at) => {
                    probe_at = None;
                    let shared = self.shared.clone();
                    probing = Some(tokio::spawn(async move { connect(&shared).await.ok() }));
                    Ok(())
                }
                probed = async { probing.as_mut().expect("guarded").await }, if probing.is_some() => {
                    probing = None;
                    match probed {
                        Ok(Some(ws)) => {
                            tracing::info!("the WebSocket gets through again: leaving the HTTP fallback");
                            return ConnectionEnd::BackToWebSocket(Box::new(ws));
                        }
                        _ => {
                            probe_at = probe.as_mut().map(|schedule| Instant::now() + schedule.next_delay());
                            Ok(())
                        }
                    }
                }
                () = self.shared.kick_outbox.notified() => self.flush_outbox().await,
                _ = sleep_until(self.outbox_at) => {
                    self.outbox_at = None;
                    self.flush_outbox().await
                }
                () = self.shared.kick_receipts.notified() => {
                    // Sooner than the sweep: a new message or a read must show on the other side now.
                    let soon = Instant::now() + RECEIPT_DELAY;
                    self.receipts_at = Some(self.receipts_at.map_or(soon, |at| at.min(soon)));
                    Ok(())
                }
                _ = sleep_until(self.receipts_at) => {
                    self.receipts_at = Some(Instant::now() + RECEIPT_SWEEP);
                    self.send_receipts().await
                }
                () = self.shared.kick_catch_up.notified() => {
                    if self.catch_up.is_some() {
                        self.catch_up_again = true;
                    } else {
                        self.start_catch_up(None);
                    }
                    Ok(())
                }
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command).await,
                    None => Ok(()),
                },
                _ = tokio::time::sleep_until(refresh_at) => {
                    match self.shared.refresh(&self.shared.login.access_token()).await {
                        Ok(()) => { refresh_retry_at = None; Ok(()) }
                        Err(EngineError::Unauthorized(_)) => Err(ConnectionEnd::SignedOut),
                        Err(_) => { refresh_retry_at = Some(Instant::now() + Duration::from_secs(5)); Ok(()) }
                    }
                }
            };
            if let Err(stop) = result {
                return stop;
            }
        }
    }

    fn start_catch_up(&mut self, snapshot: Option<Vec<rapport_protocol::Conversation>>) {
        let mut number = 0;
        self.shared.bump_progress(|p| {
            p.catch_up_started += 1;
            number = p.catch_up_started;
        });
        self.catch_up_number = number;
        self.catch_up_again = false;
        self.catch_up = Some(tokio::spawn(crate::catch_up::run(self.shared.clone(), snapshot)));
    }

    fn caught_up(&mut self, done: Result<Result<u64, EngineError>, tokio::task::JoinError>) -> Result<(), ConnectionEnd> {
        match done {
            Ok(Ok(new)) => {
                tracing::debug!(new, "caught up");
                self.shared.diagnostics.lock().catch_ups += 1;
                let number = self.catch_up_number;
                self.shared.bump_progress(|p| p.catch_up_done = p.catch_up_done.max(number));
                if self.catch_up_again {
                    self.start_catch_up(None);
                }
                Ok(())
            }
            Ok(Err(EngineError::Unauthorized(_))) => Err(ConnectionEnd::SignedOut),
            Ok(Err(e)) => {
                tracing::info!(error = %e, "catch-up failed: reconnecting");
                Err(ConnectionEnd::Lost { was_connected: true })
            }
            Err(e) => {
                tracing::warn!(error = %e, "catch-up task ended abnormally");
                Err(ConnectionEnd::Lost { was_connected: true })
            }
        }
    }

    async fn on_frame(&mut self, frame: ServerFrame, resume: &mut Option<ResumePoint>) -> Result<(), ConnectionEnd> {
        match frame {
            ServerFrame::Event { seq, event } => {
                if let Err(e) = crate::apply::event(&self.shared, seq, event).await {
                    // Unapplied: reconnect and let the hub replay it.
                    tracing::warn!(error = %e, "could not apply an event");
                    return Err(match e {
                        EngineError::Unauthorized(_) => ConnectionEnd::SignedOut,
                        _ => ConnectionEnd::Lost { was_connected: true },
                    });
                }
                if let Some(point) = resume.as_mut() {
                    point.last_seq = seq;
                }
                Ok(())
            }
            ServerFrame::Ack { reference, data } => {
                let Some(pending) = self.take_pending(reference) else { return Ok(()) };
                self.on_ack(pending, data).await
            }
            ServerFrame::Error { reference, error } => {
                let Some(pending) = self.take_pending(reference) else {
                    tracing::warn!(code = %error.code, "hub error without a matching op");
                    return Ok(());
                };
                self.on_error(pending, error).await
            }
            _ => Ok(()),
        }
    }

    fn take_pending(&mut self, reference: Option<Ref>) -> Option<Pending> {
        let Some(Ref::Number(n)) = reference else { return None };
        self.pending.remove(&n.as_u64()?)
    }

    fn io_stop(&self, e: EngineError) -> ConnectionEnd {
        tracing::warn!(error = %e, "local cache failed");
        ConnectionEnd::Lost { was_connected: true }
    }

    async fn on_ack(&mut self, pending: Pending, data: serde_json::Value) -> Result<(), ConnectionEnd> {
        match pending {
            Pending::Op(sent) => {
                self.in_flight.remove(&sent.op_id);
                crate::outgoing::acked(&self.shared, &self.me, &sent, data).await.map_err(|e| self.io_stop(e))?;
                if self.in_flight.len() <= SEND_WINDOW / 2 {
                    self.flush_outbox().await?;
                }
                Ok(())
            }
            Pending::Receipt(r) => {
                self.receipts_in_flight.remove(&(r.conversation_id.clone(), r.kind == ReceiptKind::Read));
                self.shared.cache.receipt_sent(&r).await.map_err(|e| self.io_stop(e))
            }
            Pending::Presence(tx) => {
                if let Some(tx) = tx {
                    let _ = tx.send(Ok(()));
                }
                Ok(())
            }
        }
    }

    async fn on_error(&mut self, pending: Pending, error: ErrorInfo) -> Result<(), ConnectionEnd> {
        let code = error.code;
        match pending {
            Pending::Op(sent) => {
                self.in_flight.remove(&sent.op_id);
                if let Some(after) = crate::outgoing::refused(&self.shared, &self.me, &sent, error).await.map_err(|e| self.io_stop(e))? {
                    self.outbox_at = Some(Instant::now() + after);
                }
                Ok(())
            }
            Pending::Receipt(r) => {
                self.receipts_in_flight.remove(&(r.conversation_id.clone(), r.kind == ReceiptKind::Read));
                if code == ErrorCode::NotFound {
                    // The conversation is gone for this user: stop resending.
                    self.shared.cache.receipt_sent(&r).await.map_err(|e| self.io_stop(e))?;
                }
                Ok(())
            }
            Pending::Presence(tx) => {
                if let Some(tx) = tx {
                    let _ = tx.send(Err(EngineError::from_hub(error)));
                }
                Ok(())
            }
        }
    }

    async fn on_command(&mut self, command: LiveCommand) -> Result<(), ConnectionEnd> {
        match command {
            LiveCommand::Typing(conversation_id) => {
                if self.budget.take(Instant::now()) {
                    let op = ClientOp::Typing(ConversationTarget { conversation_id });
                    self.write(&ClientFrame { reference: None, op }).await?;
                }
                Ok(())
            }
            LiveCommand::Presence(status, tx) => self.send_presence(status, tx).await,
        }
    }

    async fn send_presence(&mut self, status: ChosenStatus, tx: Option<oneshot::Sender<Result<(), EngineError>>>) -> Result<(), ConnectionEnd> {
        let r = self.next_ref();
        self.budget.take(Instant::now());
        self.pending.insert(r, Pending::Presence(tx));
        self.write(&ClientFrame { reference: Some(Ref::from(r)), op: ClientOp::PresenceSet(PresenceSet { status }) }).await
    }

    /// Sends what is due in the outbox (see `outgoing`), within the send window and the op budget.
    async fn flush_outbox(&mut self) -> Result<(), ConnectionEnd> {
        if self.outbox_at.is_some_and(|at| at > Instant::now()) {
            return Ok(());
        }
        let room = SEND_WINDOW.saturating_sub(self.in_flight.len());
        let (due, later) = match crate::outgoing::due(&self.shared, &self.in_flight, room, &mut self.budget).await {
            Ok(due) => due,
            Err(Halt::SignedOut) => return Err(ConnectionEnd::SignedOut),
            Err(Halt::Lost) => return Err(ConnectionEnd::Lost { was_connected: true }),
        };
        if later.is_some() {
            self.outbox_at = later;
        }
        for (op, sent) in due {
            let r = self.next_ref();
            self.in_flight.insert(sent.op_id.clone());
            self.pending.insert(r, Pending::Op(sent));
            self.write(&ClientFrame { reference: Some(Ref::from(r)), op }).await?;
        }
        Ok(())
    }

    /// Tells the hub what this device has received and read.
    async fn send_receipts(&mut self) -> Result<(), ConnectionEnd> {
        let due = self.shared.cache.pending_receipts(&self.me).await.map_err(|e| self.io_stop(e))?;
        for r in due {
            let key = (r.conversation_id.clone(), r.kind == ReceiptKind::Read);
            if self.receipts_in_flight.contains(&key) {
                continue;
            }
            if !self.budget.take(Instant::now()) {
                self.receipts_at = Some(self.budget.next_at());
                break;
            }
            let target = SeqTarget { conversation_id: r.conversation_id.clone(), seq: r.seq };
            let op = match r.kind {
                ReceiptKind::Read => ClientOp::Read(target),
                ReceiptKind::Delivered => ClientOp::Delivered(target),
            };
            let reference = self.next_ref();
            self.receipts_in_flight.insert(key);
            self.pending.insert(reference, Pending::Receipt(r));
            self.write(&ClientFrame { reference: Some(Ref::from(reference)), op }).await?;
        }
        Ok(())
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
