//! One WebSocket connection: `hello`, identify or resume, then ops until it closes.
//!
//! Two futures share the socket inside one task: the reader handles client frames in order
//! (an op is never cancelled half-way: a stored message is always dispatched), the writer sends
//! replies and the session's events. When the reader ends it drops the reply channel and the
//! writer finishes what is queued (a close frame included); when the writer ends it tells the
//! reader to stop at its next await. A `message.send` does not hold the reader up: it goes to
//! the group commit and the reader reads on (up to [`MAX_COMMITTING`] waiting), holding back
//! later op replies so that replies still leave in the order of the ops.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use rapport_protocol::gateway::{
    decode_client_frame, ClientOp, Hello, Identify, Ready, Ref, Resume, Resumed, ServerFrame,
};
use rapport_protocol::{close, ErrorCode, ErrorInfo, MAX_FRAME_BYTES, PROTOCOL_VERSION};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use super::group_commit::PendingAck;
use super::ops::Outcome;
use super::rate::{OpLimiter, Verdict};
use super::session::{Kick, Session, Take};
use super::{ops, Gateway, Skip};
use crate::error::ApiError;
use crate::store::ReadySnapshot;
use crate::Hub;

/// Socket read chunk. Small on purpose: thousands of idle connections are the normal load, the
/// buffer is allocated per connection and zeroed before each read, and client frames are small
/// (larger ones just take more reads).
const READ_BUFFER: usize = 1024;
/// Bytes buffered before a write goes to the socket.
const WRITE_BUFFER: usize = 4 * 1024;
/// Unsent bytes a connection may hold before writes fail.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;
/// A write that cannot complete in this long means the client stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Replies queued from reader to writer.
const REPLY_QUEUE: usize = 32;
/// `message.send`s of one connection waiting for their group commit at once. The reader goes
/// on reading while they commit (so a client's pipelined sends can share one commit), and
/// stops reading when this many are waiting.
const MAX_COMMITTING: usize = 32;
/// Events sent per lock of the session ring.
const WRITE_BATCH: usize = 64;
/// After our close frame, how long we keep reading for the client's, so the client is not
/// reset before it has read ours.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// `GET /v1/gateway`.
pub async fn upgrade(State(hub): State<Arc<Hub>>, ws: WebSocketUpgrade) -> Response {
    if hub.shutdown.is_cancelled() {
        return ApiError::new(ErrorCode::Unavailable, "the hub is shutting down").into_response();
    }
    let Some(admission) = Gateway::admit(&hub) else {
        return ApiError::new(ErrorCode::Unavailable, "too many connections").into_response();
    };
    let tracker = hub.connections.clone();
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            tracker.track_future(async move {
                serve(hub, socket).await;
                drop(admission);
            })
        })
}

/// What the reader asks the writer to do.
enum Outgoing {
    Frame(String),
    Close(Kick),
    /// Start sending this session's events (boxed: rare, and it would make every slot of the
    /// reply channel large).
    Attach(Box<Attach>),
}

/// Start sending this session's events; for a resume, replay up to a seq and then send
/// `resumed`.
struct Attach {
    session: Arc<Session>,
    wake: Arc<Notify>,
    resumed: Option<(Option<Ref>, u64, u64)>,
}

fn frame(frame: &ServerFrame) -> Outgoing {
    Outgoing::Frame(serde_json::to_string(frame).expect("server frames always serialise"))
}

async fn serve(hub: Arc<Hub>, socket: WebSocket) {
    let conn = hub.gateway.next_conn_id();
    let (sink, stream) = socket.split();
    let (replies, reply_rx) = mpsc::channel(REPLY_QUEUE);
    let stop_reading = CancellationToken::new();
    let hello = ServerFrame::Hello {
        data: Hello {
            protocol: PROTOCOL_VERSION,
            heartbeat_interval_ms: hub.config.heartbeat.as_millis() as u64,
        },
    };
    let _ = replies.send(frame(&hello)).await;
    let reader = Reader {
        deadline: Instant::now() + hub.config.identify_timeout,
        hub: hub.clone(),
        conn,
        replies,
        wake: Arc::new(Notify::new()),
        session: None,
        limiter: OpLimiter::new(),
        committing: VecDeque::new(),
    };
    let writer = write_loop(conn, sink, reply_rx, stop_reading.clone());
    let (session, ()) = tokio::join!(reader.run(stream, stop_reading), writer);
    if let Some(session) = session {
        if session.detach(conn) {
            hub.metrics.sessions.dec();
            hub.presence.disconnected(&hub, &session.user_id).await;
        }
    }
}

struct Reader {
    hub: Arc<Hub>,
    conn: u64,
    replies: mpsc::Sender<Outgoing>,
    /// Wakes this connection's writer when its session has new events.
    wake: Arc<Notify>,
    /// Set once `ready` or `resumed` was sent.
    session: Option<Arc<Session>>,
    limiter: OpLimiter,
    /// Identify deadline before the session is ready; heartbeat deadline after.
    deadline: Instant,
    /// Op replies held back behind sends still committing, oldest first: replies to ops leave
    /// in the order of the ops (pongs and frame-level errors excepted).
    committing: VecDeque<(Option<Ref>, Answer)>,
}

/// A reply in the queue of [`Reader::committing`].
enum Answer {
    /// A send waiting for its group commit.
    Committing(PendingAck),
    /// An op done already, waiting for the sends before it (taken once answered).
    Ready(Option<Result<serde_json::Value, ApiError>>),
}

/// What woke the reader.
enum Woken {
    Stop,
    Shutdown,
    Committed(Option<Ref>, Result<serde_json::Value, ApiError>),
    Received(Result<Option<Result<WsMessage, axum::Error>>, tokio::time::error::Elapsed>),
}

/// The oldest held-back reply, once it is there.
async fn next_committed(committing: &mut VecDeque<(Option<Ref>, Answer)>) -> (Option<Ref>, Result<serde_json::Value, ApiError>) {
    std::future::poll_fn(|cx| {
        let answer = match committing.front_mut() {
            None => return Poll::Pending,
            Some((_, Answer::Committing(ack))) => std::task::ready!(std::future::Future::poll(std::pin::Pin::new(ack), cx)),
            Some((_, Answer::Ready(answer))) => answer.take().expect("a ready answer is taken once"),
        };
        let (reference, _) = committing.pop_front().expect("front exists");
        Poll::Ready((reference, answer))
    })
    .await
}

/// Who ended the connection.
#[derive(PartialEq, Eq)]
enum Ending {
    /// The client closed or vanished.
    ByClient,
    /// The hub sent (or is sending) a close frame.
    ByUs,
}

/// What the reader does after a frame.
enum Next {
    Continue,
    Close(Kick),
    Stop,
}

fn kick(code: u16, reason: &'static str) -> Next {
    Next::Close(Kick { code, reason })
}

impl Reader {
    /// Reads until the connection ends; returns the session it opened, if any. Consuming the
    /// reader drops the reply channel, which tells the writer to finish.
    async fn run(mut self, mut stream: SplitStream<WebSocket>, stop: CancellationToken) -> Option<Arc<Session>> {
        let ending = self.read(&mut stream, stop).await;
        drop(self.replies); // lets the writer finish, our close frame included
        if ending == Ending::ByUs {
            let _ = tokio::time::timeout(CLOSE_LINGER, async {
                while let Some(Ok(message)) = stream.next().await {
                    if matches!(message, WsMessage::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
        self.session
    }

    async fn read(&mut self, stream: &mut SplitStream<WebSocket>, stop: CancellationToken) -> Ending {
        let shutdown = self.hub.shutdown.clone();
        loop {
            let reading = self.committing.len() < MAX_COMMITTING;
            let woken = tokio::select! {
                biased;
                _ = stop.cancelled() => Woken::Stop,
                _ = shutdown.cancelled() => Woken::Shutdown,
                (reference, answer) = next_committed(&mut self.committing) => Woken::Committed(reference, answer),
                received = tokio::time::timeout_at(self.deadline, stream.next()), if reading => Woken::Received(received),
            };
            let received = match woken {
                Woken::Stop => return Ending::ByUs,
                Woken::Shutdown => {
                    self.finish_committing().await;
                    self.close(Kick { code: close::GOING_AWAY, reason: "hub shutting down" }).await;
                    return Ending::ByUs;
                }
                Woken::Committed(reference, answer) => {
                    self.answer(reference, answer).await;
                    continue;
                }
                Woken::Received(received) => received,
            };
            let next = match received {
                Err(_elapsed) if self.session.is_none() => kick(close::IDENTIFY_TIMEOUT, "identify timeout"),
                Err(_elapsed) => kick(close::HEARTBEAT_TIMEOUT, "heartbeat timeout"),
                Ok(None) | Ok(Some(Ok(WsMessage::Close(_)))) => Next::Stop,
                Ok(Some(Err(err))) => read_error(err),
                Ok(Some(Ok(message))) => {
                    if self.session.is_some() {
                        self.deadline = Instant::now() + 2 * self.hub.config.heartbeat;
                    }
                    // Boxed: the op futures are large, and the idle connection task should not
                    // carry their size for its whole life.
                    Box::pin(self.on_message(message)).await
                }
            };
            match next {
                Next::Continue => {}
                Next::Stop => {
                    self.finish_committing().await;
                    return Ending::ByClient;
                }
                Next::Close(kick) => {
                    self.finish_committing().await;
                    self.close(kick).await;
                    return Ending::ByUs;
                }
            }
        }
    }

    /// Answers every send still waiting for its commit (they are committed or about to be:
    /// their acks go out before any close frame).
    async fn finish_committing(&mut self) {
        while !self.committing.is_empty() {
            let (reference, answer) = next_committed(&mut self.committing).await;
            self.answer(reference, answer).await;
        }
    }

    /// Answers now, or behind the sends still committing.
    async fn answer_in_order(&mut self, reference: Option<Ref>, answer: Result<serde_json::Value, ApiError>) {
        if self.committing.is_empty() {
            self.answer(reference, answer).await;
        } else {
            self.committing.push_back((reference, Answer::Ready(Some(answer))));
        }
    }

    /// Sends the ack or error of an op, if the client asked for one (gave a `ref`).
    async fn answer(&self, reference: Option<Ref>, answer: Result<serde_json::Value, ApiError>) {
        let reply = match answer {
            Ok(_) if reference.is_none() => return,
            Ok(data) => ServerFrame::Ack { reference, data },
            Err(err) => ServerFrame::Error { reference, error: err.info() },
        };
        self.send(frame(&reply)).await;
    }

    async fn send(&self, outgoing: Outgoing) {
        // Fails only when the writer is gone, and then the reader is told to stop.
        let _ = self.replies.send(outgoing).await;
    }

    async fn close(&self, kick: Kick) {
        self.send(Outgoing::Close(kick)).await;
    }

    async fn on_message(&mut self, message: WsMessage) -> Next {
        match message {
            WsMessage::Text(text) if self.session.is_none() => self.authenticate(text.as_str()).await,
            WsMessage::Text(text) => self.on_op(text.as_str()).await,
            WsMessage::Binary(_) if self.session.is_none() => kick(close::NOT_AUTHENTICATED, "identify first"),
            WsMessage::Binary(_) => {
                let error = ErrorInfo::new(ErrorCode::BadFrame, "frames must be text (JSON)");
                self.send(frame(&ServerFrame::Error { reference: None, error })).await;
                Next::Continue
            }
            // Protocol-level pings are answered by the WebSocket layer; they still count as life.
            WsMessage::Ping(_) | WsMessage::Pong(_) => Next::Continue,
            WsMessage::Close(_) => Next::Stop,
        }
    }

    /// Before `ready`: only `identify` or `resume` are acceptable.
    async fn authenticate(&mut self, text: &str) -> Next {
        let Ok(frame) = decode_client_frame(text) else {
            return kick(close::NOT_AUTHENTICATED, "identify first");
        };
        let result = match frame.op {
            ClientOp::Identify(identify) => self.identify(frame.reference, identify).await,
            ClientOp::Resume(resume) => self.resume(frame.reference, resume).await,
            _ => return kick(close::NOT_AUTHENTICATED, "identify first"),
        };
        result.unwrap_or_else(|err| {
            tracing::error!(error = %err.message, "could not open a gateway session");
            kick(1011, "internal error")
        })
    }

    /// Checks the token and that its login is still active; the user id and login id.
    async fn authorise(&self, token: &str) -> Result<Option<crate::auth::Claims>, ApiError> {
        let Some(claims) = self.hub.auth.verify_access(token) else { return Ok(None) };
        let active = self.hub.logins.is_active(self.hub.store.as_ref(), &claims.login_id).await?;
        Ok(active.then_some(claims))
    }

    async fn identify(&mut self, reference: Option<Ref>, identify: Identify) -> Result<Next, ApiError> {
        let Some(claims) = self.authorise(&identify.token).await? else {
            return Ok(kick(close::NOT_AUTHENTICATED, "invalid or expired token"));
        };
        let hub = self.hub.clone();
        let session = Arc::new(Session::new(
            uuid::Uuid::new_v4().simple().to_string(),
            claims.user_id.clone(),
            claims.login_id,
            self.conn,
            self.wake.clone(),
        ));
        // Subscribe before taking the snapshot, so nothing happens in between unseen.
        hub.gateway.register(session.clone());
        let snapshot = match hub.gateway.snapshots.take(hub.store.as_ref(), &claims.user_id).await {
            Ok(Some(snapshot)) => snapshot,
            Ok(None) => {
                hub.gateway.forget(&session);
                return Ok(kick(close::NOT_AUTHENTICATED, "no such user"));
            }
            Err(err) => {
                hub.gateway.forget(&session);
                return Err(err);
            }
        };
        let ReadySnapshot { user, conversations, notifications_unread } = ReadySnapshot::clone(&snapshot);
        self.session = Some(session.clone());
        self.deadline = Instant::now() + 2 * hub.config.heartbeat;
        hub.metrics.sessions.inc();
        // Its own `ready` tells this session the outcome; other sessions get the event.
        hub.presence.connected(&hub, &user.id, Some(identify.presence), Skip::Session(&session.id)).await;

        let mut people: Vec<&str> = vec![user.id.as_str()];
        for member in conversations.iter().flat_map(|c| &c.members) {
            if !people.contains(&member.user_id.as_str()) {
                people.push(&member.user_id);
            }
        }
        let presence = hub.presence.snapshot(&people).await;
        let ready = Ready { session_id: session.id.clone(), user, conversations, presence, notifications_unread };
        self.send(frame(&ServerFrame::Ready { reference, data: Box::new(ready) })).await;
        self.send(Outgoing::Attach(Box::new(Attach { session, wake: self.wake.clone(), resumed: None }))).await;
        Ok(Next::Continue)
    }

    async fn resume(&mut self, reference: Option<Ref>, resume: Resume) -> Result<Next, ApiError> {
        let Some(claims) = self.authorise(&resume.token).await? else {
            return Ok(kick(close::NOT_AUTHENTICATED, "invalid or expired token"));
        };
        let hub = self.hub.clone();
        let session = hub
            .gateway
            .session(&resume.session_id)
            .filter(|s| s.user_id == claims.user_id && s.login_id == claims.login_id)
            // Expired but not yet swept: as good as gone.
            .filter(|s| !s.expired(hub.config.resume_window));
        let resumed = session.and_then(|s| Some((s.resume(self.conn, self.wake.clone(), resume.last_seq)?, s)));
        let Some((resumption, session)) = resumed else {
            self.send(frame(&ServerFrame::InvalidSession { reference })).await;
            // A fresh deadline for the identify that should follow.
            self.deadline = Instant::now() + hub.config.identify_timeout;
            return Ok(Next::Continue);
        };
        self.session = Some(session.clone());
        self.deadline = Instant::now() + 2 * hub.config.heartbeat;
        if !resumption.took_over {
            // When it took over a live connection, that connection's place is handed over.
            hub.metrics.sessions.inc();
            hub.presence.connected(&hub, &session.user_id, None, Skip::Nobody).await;
        }
        let resumed = Some((reference, resumption.replay_upto, resumption.replayed));
        self.send(Outgoing::Attach(Box::new(Attach { session, wake: self.wake.clone(), resumed }))).await;
        Ok(Next::Continue)
    }

    /// After `ready`: one op.
    async fn on_op(&mut self, text: &str) -> Next {
        let received_at = std::time::Instant::now();
        let frame_in = match decode_client_frame(text) {
            Ok(frame_in) => frame_in,
            Err(err) => {
                if let Some(next) = self.limit(err.reference.clone()).await {
                    return next;
                }
                let error = ErrorInfo::new(err.code, err.message);
                self.send(frame(&ServerFrame::Error { reference: err.reference, error })).await;
                return Next::Continue;
            }
        };
        let reference = frame_in.reference;
        if let ClientOp::Ping = frame_in.op {
            self.send(frame(&ServerFrame::Pong { reference })).await;
            return Next::Continue;
        }
        if let Some(next) = self.limit(reference.clone()).await {
            return next;
        }
        let session = self.session.clone().expect("on_op runs only once ready");
        match ops::handle(&self.hub, &session, frame_in.op, received_at).await {
            Ok(Outcome::Committing(ack)) => self.committing.push_back((reference, Answer::Committing(ack))),
            Ok(Outcome::Done(data)) => self.answer_in_order(reference, Ok(data)).await,
            Err(err) => self.answer_in_order(reference, Err(err)).await,
        }
        Next::Continue
    }

    /// Counts an op against the rate limit; `Some` when it must not be processed.
    async fn limit(&mut self, reference: Option<Ref>) -> Option<Next> {
        match self.limiter.check() {
            Verdict::Allow => None,
            Verdict::Flooding => Some(kick(close::RATE_LIMITED, "rate limited")),
            Verdict::Limited { retry_after_ms } => {
                let mut error = ErrorInfo::new(ErrorCode::RateLimited, "too many operations");
                error.retry_after_ms = Some(retry_after_ms);
                self.send(frame(&ServerFrame::Error { reference, error })).await;
                Some(Next::Continue)
            }
        }
    }
}

fn read_error(err: axum::Error) -> Next {
    let too_big = err
        .into_inner()
        .downcast::<tungstenite::Error>()
        .is_ok_and(|e| matches!(*e, tungstenite::Error::Capacity(_)));
    if too_big {
        kick(close::TOO_BIG, "frame too big")
    } else {
        Next::Stop
    }
}

type Sink = SplitSink<WebSocket, WsMessage>;

/// A reply to send after the replayed events of a resume.
struct PendingResumed {
    reference: Option<Ref>,
    replay_upto: u64,
    replayed: u64,
}

impl PendingResumed {
    fn frame(self) -> WsMessage {
        let resumed = ServerFrame::Resumed { reference: self.reference, data: Resumed { replayed: self.replayed } };
        WsMessage::Text(serde_json::to_string(&resumed).expect("serialises").into())
    }
}

async fn write_loop(conn: u64, mut sink: Sink, mut replies: mpsc::Receiver<Outgoing>, stop_reading: CancellationToken) {
    let mut attached: Option<(Arc<Session>, Arc<Notify>)> = None;
    let outcome: Result<Option<Kick>, ()> = async {
        loop {
            let wake = attached.as_ref().map(|(_, wake)| wake.clone());
            let mut pending_resumed = None;
            tokio::select! {
                biased;
                outgoing = replies.recv() => match outgoing {
                    None => return Ok(None),
                    Some(Outgoing::Frame(text)) => write(&mut sink, WsMessage::Text(text.into())).await?,
                    Some(Outgoing::Close(kick)) => return Ok(Some(kick)),
                    Some(Outgoing::Attach(attach)) => {
                        let Attach { session, wake, resumed } = *attach;
                        pending_resumed = resumed.map(|(reference, replay_upto, replayed)| {
                            PendingResumed { reference, replay_upto, replayed }
                        });
                        attached = Some((session, wake));
                    }
                },
                () = notified(wake.as_deref()) => {}
            }
            if let Some((session, _)) = &attached {
                if let Some(kick) = drain(conn, session, &mut sink, pending_resumed).await? {
                    return Ok(Some(kick));
                }
            }
        }
    }
    .await;
    if let Ok(Some(kick)) = outcome {
        let close = CloseFrame { code: kick.code, reason: kick.reason.into() };
        let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.send(WsMessage::Close(Some(close)))).await;
    }
    stop_reading.cancel();
}

async fn notified(wake: Option<&Notify>) {
    match wake {
        Some(wake) => wake.notified().await,
        None => std::future::pending().await,
    }
}

/// Sends every event the session has for this connection (and `resumed` after the replay).
async fn drain(conn: u64, session: &Session, sink: &mut Sink, mut pending: Option<PendingResumed>) -> Result<Option<Kick>, ()> {
    loop {
        let batch = match session.take(conn, WRITE_BATCH) {
            Take::Close(kick) => return Ok(Some(kick)),
            Take::Events(batch) if batch.is_empty() => break,
            Take::Events(batch) => batch,
        };
        let written = tokio::time::timeout(WRITE_TIMEOUT, async {
            for (seq, body) in batch {
                if pending.as_ref().is_some_and(|p| seq > p.replay_upto) {
                    sink.feed(pending.take().expect("checked").frame()).await?;
                }
                // `body` is `{"type":…,"data":…}`, shared by every recipient; only the
                // session's own seq is written per recipient.
                let text = format!("{{\"op\":\"event\",\"seq\":{seq},{}", &body[1..]);
                sink.feed(WsMessage::Text(text.into())).await?;
            }
            sink.flush().await
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            return Err(());
        }
    }
    if let Some(pending) = pending {
        write(sink, pending.frame()).await?;
    }
    Ok(None)
}

async fn write(sink: &mut Sink, message: WsMessage) -> Result<(), ()> {
    match tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
