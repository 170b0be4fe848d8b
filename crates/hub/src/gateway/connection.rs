//! One gateway session's connection, whatever carries it: `hello`, identify or resume, then
//! ops until it closes. The wire is a [`Transport`]: the WebSocket, or the long-polling link
//! (`poll_link`); this file is the one implementation of the session for both.
//!
//! One task owns the socket (no split, no channel between a reader and a writer): it waits for
//! whichever comes first — a client frame, the end of the op in progress, events in its
//! session's ring, the deadline, shutdown — then writes what is due and flushes once, so events
//! that queued up meanwhile share one socket write. Client frames are handled in order: while
//! an op runs no further frame is read, but events keep flowing. An op is never cancelled
//! half-way (a stored message is always dispatched): when the connection ends during one, the
//! op still runs to its end.
//!
//! A `message.send` does not hold reading up: once queued for the group commit, the next frame
//! is read (up to [`MAX_COMMITTING`] sends waiting), so a client's pipelined sends can share one
//! commit. Later replies are held back behind them: replies leave in the order of the ops.
//!
//! What stays resident per idle connection is this task (the socket, a timer, the
//! shutdown waiter); an op's future is boxed and lives only while the op runs.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;

use tokio::time::Instant;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures_util::SinkExt as _;
use rapport_protocol::gateway::{
    decode_client_frame, ClientOp, Hello, Identify, Ready, Ref, Resume, Resumed, ServerFrame,
};
use rapport_protocol::{close, ErrorCode, ErrorInfo, MAX_FRAME_BYTES, PROTOCOL_VERSION};

use super::group_commit::PendingAck;
use super::ops::OpAnswer;
use super::rate::{OpLimiter, Verdict};
use super::session::{Kick, Rewind, Session, Take};
use super::transport::{Incoming, Transport};
use super::{ops, Admission, Gateway, Skip};
use crate::error::ApiError;
use crate::store::ReadySnapshot;
use crate::Hub;

/// What this hub serves of protocol 1.1, announced in `hello`.
const FEATURES: &[&str] = {
    use rapport_protocol::gateway::feature::*;
    &[EDIT, DELETE, REACTIONS, REPLIES, ATTACHMENTS, CARDS, TEMPLATES, SCHEDULED, POLL]
};

/// Socket read chunk. Small on purpose: thousands of idle connections are the normal load, the
/// buffer is allocated per connection and zeroed before each read, and client frames are small
/// (larger ones just take more reads).
const READ_BUFFER: usize = 1024;
/// Bytes buffered before a write goes to the socket.
const WRITE_BUFFER: usize = 4 * 1024;
/// Unsent bytes a connection may hold before writes fail.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;
/// Events written per flush at most, so one busy session cannot hold its socket's bytes back
/// for long; the rest follow in the next flush.
const WRITE_BATCH: usize = 64;
/// `message.send`s of one connection waiting for their group commit at once; reading pauses
/// when this many wait.
const MAX_COMMITTING: usize = 32;

/// `GET /v1/gateway`.
pub async fn upgrade(State(hub): State<Arc<Hub>>, ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> Response {
    // A plain request (no upgrade, a wrong version or key) gets the protocol's error shape
    // like every other bad request, not axum's plain text.
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => {
            let why = rejection.body_text();
            return ApiError::invalid(format!("this route is the WebSocket gateway: {why}")).into_response();
        }
    };
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
        .on_upgrade(move |socket| tracker.track_future(serve(hub, socket, admission)))
}

/// Serves one connection over `socket` to its end, then detaches its session.
pub(super) async fn serve<T: Transport>(hub: Arc<Hub>, socket: T, admission: Admission) {
    let mut connection = Connection {
        id: hub.gateway.next_conn_id(),
        deadline: Instant::now() + hub.config.identify_timeout,
        hub,
        socket,
        session: None,
        resumed: None,
        limiter: OpLimiter::new(),
        op: None,
        committing: VecDeque::new(),
        unflushed: false,
    };
    connection.run().await;
    if let Some(session) = connection.session {
        let hub = &connection.hub;
        if session.detach(connection.id) {
            hub.metrics.sessions.dec();
            // Boxed: rare, and its future would otherwise make every resident task larger.
            Box::pin(hub.presence.disconnected(hub, &session.user_id)).await;
        }
    }
    drop(admission);
}

/// An op in progress; boxed so that the resident task is not sized for the largest op.
type OpFuture = Pin<Box<dyn Future<Output = Done> + Send>>;

/// How an op ended, for the connection to act on.
enum Done {
    /// An op after `ready`: its answer, for the client if it gave a `ref`.
    Op(Option<Ref>, Result<OpAnswer, ApiError>),
    /// `identify` succeeded: send `ready`, then the session's events.
    Ready { ready: Utf8Bytes, session: Arc<Session> },
    /// `resume` succeeded: replay, then `resumed`.
    Resumed { session: Arc<Session>, resumed: PendingResumed },
    /// `resume` could not be honoured; an `identify` may follow.
    InvalidSession(Utf8Bytes),
    /// Close the connection; a session that was opened all the same must be detached.
    Close { kick: Kick, session: Option<Arc<Session>> },
}

/// A reply to send after the replayed events of a resume.
struct PendingResumed {
    reference: Option<Ref>,
    replay_upto: u64,
    replayed: u64,
}

impl PendingResumed {
    fn frame(&self) -> WsMessage {
        let resumed = ServerFrame::Resumed { reference: self.reference.clone(), data: Resumed { replayed: self.replayed } };
        WsMessage::Text(serialise(&resumed))
    }
}

/// Why the connection stopped serving.
enum Ending {
    /// The client closed or vanished.
    ByClient,
    /// The hub closes it with this code.
    Close(Kick),
    /// A write failed or timed out: the client is gone or stopped reading.
    Broken,
}

/// A reply in [`Connection::committing`].
enum Answer {
    /// A send waiting for its group commit.
    Committing(PendingAck),
    /// An op done already, waiting for the sends before it (taken once answered).
    Ready(Option<Result<serde_json::Value, ApiError>>),
}

/// The oldest held-back reply, once it is there.
async fn next_committed(committing: &mut VecDeque<(Option<Ref>, Answer)>) -> (Option<Ref>, Result<serde_json::Value, ApiError>) {
    std::future::poll_fn(|cx| {
        let answer = match committing.front_mut() {
            None => return Poll::Pending,
            Some((_, Answer::Committing(ack))) => std::task::ready!(Pin::new(ack).poll(cx)),
            Some((_, Answer::Ready(answer))) => answer.take().expect("a ready answer is taken once"),
        };
        let (reference, _) = committing.pop_front().expect("front exists");
        Poll::Ready((reference, answer))
    })
    .await
}

/// What woke the connection.
enum Wake {
    Shutdown,
    Done(Done),
    Committed(Option<Ref>, Result<serde_json::Value, ApiError>),
    Events,
    Frame(Incoming),
    Deadline,
}

fn serialise(frame: &ServerFrame) -> Utf8Bytes {
    serde_json::to_string(frame).expect("server frames always serialise").into()
}

fn kick(code: u16, reason: &'static str) -> Kick {
    Kick { code, reason }
}

struct Connection<T> {
    hub: Arc<Hub>,
    id: u64,
    socket: T,
    /// Set once `ready` or `resumed` is due; its events are sent from then on.
    session: Option<Arc<Session>>,
    /// `resumed`, due once the replay is written.
    resumed: Option<PendingResumed>,
    limiter: OpLimiter,
    /// Identify deadline before the session is ready; heartbeat deadline after.
    deadline: Instant,
    op: Option<OpFuture>,
    /// Replies held back behind sends still committing, oldest first (pongs and frame-level
    /// errors excepted).
    committing: VecDeque<(Option<Ref>, Answer)>,
    /// Frames were fed to the socket since the last flush.
    unflushed: bool,
}

impl<T: Transport> Connection<T> {
    async fn run(&mut self) {
        let hello = ServerFrame::Hello {
            data: Hello {
                protocol: PROTOCOL_VERSION,
                heartbeat_interval_ms: self.hub.config.heartbeat.as_millis() as u64,
                features: FEATURES.iter().map(|f| (*f).to_owned()).collect(),
            },
        };
        let greeted = if T::SENDS_HELLO { self.feed(WsMessage::Text(serialise(&hello))).await } else { Ok(()) };
        let ending = match greeted {
            Ok(()) => self.serve().await,
            Err(()) => Ending::Broken,
        };
        if let Some(op) = self.op.take() {
            // Never half-way: the op finishes, and a session it opened is kept so it is detached.
            match op.await {
                Done::Ready { session, .. }
                | Done::Resumed { session, .. }
                | Done::Close { session: Some(session), .. } => self.session = Some(session),
                Done::Op(reference, Ok(OpAnswer::Committing(ack))) => {
                    self.committing.push_back((reference, Answer::Committing(ack)));
                }
                Done::Op(..) | Done::InvalidSession(_) | Done::Close { session: None, .. } => {}
            }
        }
        if !matches!(ending, Ending::Broken) {
            // Sends that were queued are stored (or about to be): their acks go out before
            // any close frame.
            while !self.committing.is_empty() {
                let (reference, answer) = next_committed(&mut self.committing).await;
                if self.answer(reference, answer).await.is_err() {
                    break;
                }
            }
        }
        match ending {
            Ending::Close(kick) => {
                let close = CloseFrame { code: kick.code, reason: kick.reason.into() };
                if self.write(WsMessage::Close(Some(close))).await.is_ok() {
                    self.socket.linger().await;
                }
            }
            // Sends the close frame that answers the client's, if it closed cleanly.
            Ending::ByClient => drop(tokio::time::timeout(self.hub.config.write_timeout, self.socket.flush()).await),
            Ending::Broken => {}
        }
    }

    /// Serves until the connection must end.
    async fn serve(&mut self) -> Ending {
        let mut deadline = pin!(tokio::time::sleep_until(self.deadline));
        // Made once: each `cancelled()` registers with the token that every connection shares.
        let mut shutdown = pin!(self.hub.shutdown.clone().cancelled_owned());
        loop {
            match self.write_due().await {
                Ok(None) => {}
                Ok(Some(kick)) => return Ending::Close(kick),
                Err(()) => return Ending::Broken,
            }
            if deadline.deadline() != self.deadline {
                deadline.as_mut().reset(self.deadline);
            }
            let Connection { socket, session, op, id, committing, .. } = &mut *self;
            let reading = op.is_none() && committing.len() < MAX_COMMITTING;
            let wake = tokio::select! {
                biased;
                () = &mut shutdown => Wake::Shutdown,
                done = async { op.as_mut().expect("checked").await }, if op.is_some() => Wake::Done(done),
                (reference, answer) = next_committed(committing) => Wake::Committed(reference, answer),
                () = std::future::poll_fn(|cx| session.as_ref().expect("checked").poll_events(*id, cx)),
                    if session.is_some() && socket.takes_events() => Wake::Events,
                // Before the deadline: a frame that arrived in time wins.
                frame = std::future::poll_fn(|cx| socket.poll_incoming(cx)), if reading => Wake::Frame(frame),
                () = deadline.as_mut(), if reading => Wake::Deadline,
            };
            let next = match wake {
                Wake::Shutdown => Err(Ending::Close(kick(close::GOING_AWAY, "hub shutting down"))),
                Wake::Done(done) => {
                    self.op = None;
                    self.on_done(done).await
                }
                Wake::Committed(reference, answer) => self.answer(reference, answer).await,
                Wake::Events => Ok(()),
                Wake::Frame(frame) => self.on_frame(frame).await,
                Wake::Deadline if self.session.is_none() => {
                    Err(Ending::Close(kick(close::IDENTIFY_TIMEOUT, "identify timeout")))
                }
                Wake::Deadline => Err(Ending::Close(kick(close::HEARTBEAT_TIMEOUT, "heartbeat timeout"))),
            };
            if let Err(ending) = next {
                return ending;
            }
        }
    }

    /// Writes every event the session has for this connection (and `resumed` after the
    /// replay), then flushes what was fed since the last flush, in one go.
    async fn write_due(&mut self) -> Result<Option<Kick>, ()> {
        let written = tokio::time::timeout(self.hub.config.write_timeout, async {
            if let Some(session) = self.session.clone() {
                let mut batch = 0;
                while self.socket.takes_events() {
                    let (seq, body) = match session.take(self.id) {
                        Take::Event(seq, body) => (seq, body),
                        Take::Nothing => break,
                        Take::Close(kick) => return Ok(Some(kick)),
                    };
                    if self.resumed.as_ref().is_some_and(|r| seq > r.replay_upto) {
                        let resumed = self.resumed.take().expect("checked");
                        self.feed_now(resumed.frame()).await?;
                    }
                    std::future::poll_fn(|cx| self.socket.poll_ready_unpin(cx)).await.map_err(drop)?;
                    // Built right before the socket copies it, so the per-thread buffer is free
                    // again for the next event.
                    self.socket.start_send_unpin(WsMessage::Text(event_text(seq, &body))).map_err(drop)?;
                    self.unflushed = true;
                    batch += 1;
                    if batch == WRITE_BATCH {
                        self.socket.flush().await.map_err(drop)?;
                        self.unflushed = false;
                        batch = 0;
                    }
                }
                if let Some(resumed) = self.resumed.take() {
                    self.feed_now(resumed.frame()).await?;
                }
            }
            if self.unflushed {
                self.socket.flush().await.map_err(drop)?;
                self.unflushed = false;
            }
            Ok(None)
        })
        .await;
        written.unwrap_or(Err(()))
    }

    /// Queues a frame on the socket; [`Connection::write_due`] flushes it.
    async fn feed_now(&mut self, message: WsMessage) -> Result<(), ()> {
        self.socket.feed(message).await.map_err(drop)?;
        self.unflushed = true;
        Ok(())
    }

    /// [`Connection::feed_now`] within the write timeout.
    async fn feed(&mut self, message: WsMessage) -> Result<(), ()> {
        tokio::time::timeout(self.hub.config.write_timeout, self.feed_now(message)).await.unwrap_or(Err(()))
    }

    /// Sends a frame and flushes, within the write timeout.
    async fn write(&mut self, message: WsMessage) -> Result<(), ()> {
        match tokio::time::timeout(self.hub.config.write_timeout, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    async fn reply(&mut self, frame: &ServerFrame) -> Result<(), Ending> {
        self.feed(WsMessage::Text(serialise(frame))).await.map_err(|()| Ending::Broken)
    }

    /// Sends the ack or error of an op, if the client asked for one (gave a `ref`).
    async fn answer(&mut self, reference: Option<Ref>, answer: Result<serde_json::Value, ApiError>) -> Result<(), Ending> {
        match answer {
            Ok(_) if reference.is_none() => Ok(()),
            Ok(data) => self.reply(&ServerFrame::Ack { reference, data }).await,
            Err(err) => self.reply(&ServerFrame::Error { reference, error: err.info() }).await,
        }
    }

    /// Answers now, or behind the sends still committing.
    async fn answer_in_order(&mut self, reference: Option<Ref>, answer: Result<serde_json::Value, ApiError>) -> Result<(), Ending> {
        if self.committing.is_empty() {
            self.answer(reference, answer).await
        } else {
            self.committing.push_back((reference, Answer::Ready(Some(answer))));
            Ok(())
        }
    }

    async fn on_done(&mut self, done: Done) -> Result<(), Ending> {
        match done {
            Done::Op(reference, Ok(OpAnswer::Committing(ack))) => {
                self.committing.push_back((reference, Answer::Committing(ack)));
                Ok(())
            }
            Done::Op(reference, Ok(OpAnswer::Done(data))) => self.answer_in_order(reference, Ok(data)).await,
            Done::Op(reference, Err(err)) => self.answer_in_order(reference, Err(err)).await,
            Done::Ready { ready, session } => {
                // `ready` first: the session's events follow it.
                self.feed(WsMessage::Text(ready)).await.map_err(|()| Ending::Broken)?;
                self.session = Some(session);
                self.deadline = Instant::now() + 2 * self.hub.config.heartbeat;
                Ok(())
            }
            Done::Resumed { session, resumed } => {
                self.session = Some(session);
                self.resumed = Some(resumed);
                self.deadline = Instant::now() + 2 * self.hub.config.heartbeat;
                Ok(())
            }
            Done::InvalidSession(text) => {
                // A fresh deadline for the identify that should follow.
                self.deadline = Instant::now() + self.hub.config.identify_timeout;
                self.feed(WsMessage::Text(text)).await.map_err(|()| Ending::Broken)
            }
            Done::Close { kick, session } => {
                if session.is_some() {
                    self.session = session;
                }
                Err(Ending::Close(kick))
            }
        }
    }

    async fn on_frame(&mut self, frame: Incoming) -> Result<(), Ending> {
        match frame {
            Incoming::Closed => return Err(Ending::ByClient),
            Incoming::TooBig => return Err(Ending::Close(kick(close::TOO_BIG, "frame too big"))),
            _ => {}
        }
        if self.session.is_some() {
            self.deadline = Instant::now() + 2 * self.hub.config.heartbeat;
        }
        match frame {
            Incoming::Text(text) if self.session.is_none() => self.authenticate(text.as_str()),
            Incoming::Text(text) => self.on_op(text.as_str()).await,
            Incoming::Binary if self.session.is_none() => {
                Err(Ending::Close(kick(close::NOT_AUTHENTICATED, "identify first")))
            }
            Incoming::Binary => {
                let error = ErrorInfo::new(ErrorCode::BadFrame, "frames must be text (JSON)");
                self.reply(&ServerFrame::Error { reference: None, error }).await
            }
            Incoming::Poll { last_seq } => self.rewind(last_seq).await,
            Incoming::Alive | Incoming::Closed | Incoming::TooBig => Ok(()),
        }
    }

    /// A new poll says which events the client has: those after `last_seq` are due (again,
    /// when an earlier answer never reached it).
    async fn rewind(&mut self, last_seq: u64) -> Result<(), Ending> {
        // Replies written while no poll was held go out in this one's answer, with the events
        // due (the flush in `write_due` answers it when there is anything).
        self.unflushed = true;
        let Some(session) = &self.session else { return Ok(()) };
        match session.rewind(self.id, last_seq) {
            Rewind::Done => Ok(()),
            Rewind::Ahead => {
                let error = ErrorInfo::new(ErrorCode::InvalidPayload, "last_seq is ahead of every event this session sent");
                self.reply(&ServerFrame::Error { reference: None, error }).await
            }
            Rewind::Lost => Err(Ending::Close(kick(close::POLICY, "client too slow"))),
        }
    }

    /// Before `ready`: only `identify` or `resume` are acceptable; starts it.
    fn authenticate(&mut self, text: &str) -> Result<(), Ending> {
        let refuse = || Ending::Close(kick(close::NOT_AUTHENTICATED, "identify first"));
        let frame = decode_client_frame(text).map_err(|_| refuse())?;
        let (hub, conn, reference) = (self.hub.clone(), self.id, frame.reference);
        let op: OpFuture = match frame.op {
            ClientOp::Identify(identify) => Box::pin(opened(identify_op(hub, conn, reference, identify))),
            ClientOp::Resume(resume) => Box::pin(opened(resume_op(hub, conn, reference, resume))),
            _ => return Err(refuse()),
        };
        self.op = Some(op);
        Ok(())
    }

    /// After `ready`: answers a ping at once, starts any other op.
    async fn on_op(&mut self, text: &str) -> Result<(), Ending> {
        let received_at = std::time::Instant::now();
        let frame_in = match decode_client_frame(text) {
            Ok(frame_in) => frame_in,
            Err(err) => {
                if !self.limit(err.reference.clone()).await? {
                    return Ok(());
                }
                let error = ErrorInfo::new(err.code, err.message);
                return self.reply(&ServerFrame::Error { reference: err.reference, error }).await;
            }
        };
        let reference = frame_in.reference;
        if let ClientOp::Ping = frame_in.op {
            return self.reply(&ServerFrame::Pong { reference }).await;
        }
        if !self.limit(reference.clone()).await? {
            return Ok(());
        }
        let (hub, session) = (self.hub.clone(), self.session.clone().expect("on_op runs only once ready"));
        self.op = Some(Box::pin(async move {
            let outcome = ops::handle(&hub, &session, frame_in.op, received_at).await;
            Done::Op(reference, outcome)
        }));
        Ok(())
    }

    /// Counts an op against the rate limit; whether it may be processed.
    async fn limit(&mut self, reference: Option<Ref>) -> Result<bool, Ending> {
        match self.limiter.check() {
            Verdict::Allow => Ok(true),
            Verdict::Flooding => Err(Ending::Close(kick(close::RATE_LIMITED, "rate limited"))),
            Verdict::Limited { retry_after_ms } => {
                let mut error = ErrorInfo::new(ErrorCode::RateLimited, "too many operations");
                error.retry_after_ms = Some(retry_after_ms);
                self.reply(&ServerFrame::Error { reference, error }).await?;
                Ok(false)
            }
        }
    }
}

/// `{"op":"event","seq":N,` followed by the shared body without its `{`: the frame of one
/// event for one session, built without allocating.
///
/// The text is built in a per-thread buffer and handed out as a slice of it; the socket copies
/// it into its write buffer and drops the slice at once, so the next event reuses the same
/// memory. No await may come between building and sending (the task could move thread).
fn event_text(seq: u64, body: &str) -> Utf8Bytes {
    thread_local! {
        static SCRATCH: RefCell<BytesMut> = RefCell::new(BytesMut::new());
    }
    const PREFIX: &[u8] = b"{\"op\":\"event\",\"seq\":";
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut n = seq;
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // `body` is `{"type":…,"data":…}`, shared by every recipient.
    let rest = body.strip_prefix('{').expect("an event body is a JSON object");
    SCRATCH.with_borrow_mut(|buf| {
        buf.reserve(PREFIX.len() + digits.len() + 1 + rest.len());
        buf.extend_from_slice(PREFIX);
        buf.extend_from_slice(&digits[start..]);
        buf.extend_from_slice(b",");
        buf.extend_from_slice(rest.as_bytes());
        Utf8Bytes::try_from(buf.split().freeze()).expect("ASCII and a str are UTF-8")
    })
}

/// Maps an identify/resume error to closing the connection.
async fn opened(op: impl Future<Output = Result<Done, ApiError>>) -> Done {
    op.await.unwrap_or_else(|err| {
        tracing::error!(error = %err.message, "could not open a gateway session");
        Done::Close { kick: kick(1011, "internal error"), session: None }
    })
}

/// Checks the token and that its login is still active; the user id and login id.
async fn authorise(hub: &Hub, token: &str) -> Result<Option<crate::auth::Claims>, ApiError> {
    let Some(claims) = hub.auth.verify_access(token) else { return Ok(None) };
    let active = hub.logins.is_active(hub.store.as_ref(), &claims.login_id).await?;
    Ok(active.then_some(claims))
}

async fn identify_op(hub: Arc<Hub>, conn: u64, reference: Option<Ref>, identify: Identify) -> Result<Done, ApiError> {
    let Some(claims) = authorise(&hub, &identify.token).await? else {
        return Ok(Done::Close { kick: kick(close::NOT_AUTHENTICATED, "invalid or expired token"), session: None });
    };
    let session =
        Arc::new(Session::new(uuid::Uuid::new_v4().simple().to_string(), claims.user_id.clone(), claims.login_id, conn));
    // Subscribe before taking the snapshot, so nothing happens in between unseen: events
    // wait in the ring until `ready` is written.
    hub.gateway.register(session.clone());
    if let Some(cluster) = &hub.cluster {
        // The same for what other hubs announce to the user: heard from now on.
        cluster.join(&claims.user_id).await;
    }
    let snapshot = match hub.gateway.snapshots.take(hub.store.as_ref(), &claims.user_id).await {
        Ok(Some(snapshot)) => snapshot,
        Ok(None) => {
            hub.gateway.forget(&session);
            return Ok(Done::Close { kick: kick(close::NOT_AUTHENTICATED, "no such user"), session: None });
        }
        Err(err) => {
            hub.gateway.forget(&session);
            return Err(err);
        }
    };
    let ReadySnapshot { user, conversations, notifications_unread } = ReadySnapshot::clone(&snapshot);
    if let Some(cluster) = &hub.cluster {
        // Follows the user's conversations from the snapshot on: what other hubs did in them
        // from its reading on reaches this session, from Redis or from the database.
        cluster.follow(&hub, &user.id, &conversations).await;
    }
    hub.metrics.sessions.inc();
    // Its own `ready` tells this session the outcome; other sessions get the event.
    hub.presence.connected(&hub, &user.id, Some(identify.presence), Skip::Session(&session.id)).await;
    let mut people: Vec<&str> = vec![user.id.as_str()];
    for member in conversations.iter().flat_map(|c| &c.members) {
        if !people.contains(&member.user_id.as_str()) {
            people.push(&member.user_id);
        }
    }
    let presence = hub.presence.snapshot(&hub, &people).await;
    let ready = Ready { session_id: session.id.clone(), user, conversations, presence, notifications_unread };
    Ok(Done::Ready { ready: serialise(&ServerFrame::Ready { reference, data: Box::new(ready) }), session })
}

async fn resume_op(hub: Arc<Hub>, conn: u64, reference: Option<Ref>, resume: Resume) -> Result<Done, ApiError> {
    let Some(claims) = authorise(&hub, &resume.token).await? else {
        return Ok(Done::Close { kick: kick(close::NOT_AUTHENTICATED, "invalid or expired token"), session: None });
    };
    let session = hub
        .gateway
        .session(&resume.session_id)
        .filter(|s| s.user_id == claims.user_id && s.login_id == claims.login_id)
        // Expired but not yet swept: as good as gone.
        .filter(|s| !s.expired(hub.config.resume_window));
    let resumed = session.and_then(|s| Some((s.resume(conn, resume.last_seq)?, s)));
    let Some((resumption, session)) = resumed else {
        return Ok(Done::InvalidSession(serialise(&ServerFrame::InvalidSession { reference })));
    };
    if !resumption.took_over {
        // When it took over a live connection, that connection's place is handed over.
        hub.metrics.sessions.inc();
        hub.presence.connected(&hub, &session.user_id, None, Skip::Nobody).await;
    }
    let resumed =
        PendingResumed { reference, replay_upto: resumption.replay_upto, replayed: resumption.replayed };
    Ok(Done::Resumed { session, resumed })
}

