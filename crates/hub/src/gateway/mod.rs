//! The gateway: session registry and fan-out, over a WebSocket or long polling.
//!
//! - `connection`: one task per session connection, from `hello` to close — the one
//!   implementation of the session, whatever carries its frames.
//! - `transport`: what carries them: the WebSocket, or `poll_link` (long polling, whose HTTP
//!   side is `poll`).
//! - `ops`: what each client op does once the session is ready.
//! - `group_commit`: the one task that stores queued `message.send`s together and makes the
//!   queued edits, deletions and reactions (`changes`), dispatching their events in `seq` and
//!   `rev` order per conversation.
//! - `schedule`: `message.send` with `send_at`, kept in the database until its time.
//! - `session`: a session's event ring (outgoing queue and resume buffer at once).
//! - `snapshots`: `ready` snapshots shared by the sessions of a user that identify together.
//! - `announce`: where an event goes: the sessions here and, with `--redis`, every other hub's.
//!
//! Fan-out ([`Gateway::dispatch`]) serialises an event once and appends the shared bytes to the
//! ring of every recipient session. It never awaits while holding a lock.

pub mod announce;
mod changes;
mod connection;
mod group_commit;
mod ops;
pub mod poll;
mod poll_link;
mod rate;
mod schedule;
mod session;
mod snapshots;
mod transport;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use rapport_protocol::gateway::Event;

pub use changes::{enqueue as enqueue_change, ChangeKind, EMOJI_RULE};
pub use connection::upgrade;
pub use group_commit::{run as commit_sends, SendQueueReceiver};
pub use ops::{read_over_rest, receipt_as, schedule_over_rest, send_as};
use session::{Kick, Session};

use crate::store::StoreResult;
use crate::Hub;

/// Where sessions are found.
pub struct Gateway {
    sessions: DashMap<String, Arc<Session>>,
    /// The way to each long-polled session's task, by session id.
    polls: DashMap<String, tokio::sync::mpsc::Sender<poll_link::PollCall>>,
    by_user: DashMap<String, Vec<Arc<Session>>>,
    /// Members of each conversation; membership never changes after creation in protocol v1.
    members: DashMap<String, Arc<[String]>>,
    /// The way to the committer task.
    pub(crate) sends: group_commit::SendQueue,
    /// `ready` snapshots being read.
    snapshots: snapshots::ReadySnapshots,
    /// Last accepted `typing` per (user, conversation), for the 1 s throttle.
    typing: DashMap<(String, String), Instant>,
    connections: AtomicUsize,
    next_conn: AtomicU64,
    /// Events handed to sessions (the `/metrics` counter).
    dispatched: prometheus_client::metrics::counter::Counter,
    /// The other hubs, told when a user's last session here is gone.
    cluster: Option<Arc<crate::cluster::Cluster>>,
}

/// Whose sessions a dispatch leaves out.
#[derive(Clone, Copy)]
pub enum Skip<'a> {
    /// Nobody's.
    Nobody,
    /// Every session of this user (typing goes to the others only).
    User(&'a str),
    /// This one session (it already knows, e.g. from its `ready`).
    Session(&'a str),
}

/// Holds a place under the connection cap while a socket is open.
pub struct Admission {
    hub: Arc<Hub>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.hub.gateway.connections.fetch_sub(1, Ordering::Relaxed);
        self.hub.metrics.connections.dec();
    }
}

impl Gateway {
    /// An empty gateway that counts dispatched events in `dispatched`, and the receiver its
    /// committer task ([`commit_sends`]) must drain.
    pub fn new(
        dispatched: prometheus_client::metrics::counter::Counter,
        cluster: Option<Arc<crate::cluster::Cluster>>,
    ) -> (Gateway, SendQueueReceiver) {
        let (sends, receiver) = group_commit::queue();
        let gateway = Gateway {
            sessions: DashMap::new(),
            polls: DashMap::new(),
            by_user: DashMap::new(),
            members: DashMap::new(),
            sends,
            snapshots: snapshots::ReadySnapshots::default(),
            typing: DashMap::new(),
            connections: AtomicUsize::new(0),
            next_conn: AtomicU64::new(1),
            dispatched,
            cluster,
        };
        (gateway, receiver)
    }

    /// Takes a place under the connection cap, or `None` when the hub is full.
    fn admit(hub: &Arc<Hub>) -> Option<Admission> {
        let previous = hub.gateway.connections.fetch_add(1, Ordering::Relaxed);
        hub.metrics.connections.inc();
        let admission = Admission { hub: hub.clone() };
        (previous < hub.config.max_connections).then_some(admission)
    }

    fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes a session reachable by dispatch (before its `ready` is built, so nothing is missed).
    fn register(&self, session: Arc<Session>) {
        self.by_user.entry(session.user_id.clone()).or_default().push(session.clone());
        self.sessions.insert(session.id.clone(), session);
    }

    fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions.get(id).map(|s| s.clone())
    }

    fn forget(&self, session: &Session) {
        if self.sessions.remove(&session.id).is_none() {
            return; // forgotten already (a revocation and the janitor may meet)
        }
        if let Some(cluster) = &self.cluster {
            cluster.leave(&session.user_id);
        }
        if let dashmap::mapref::entry::Entry::Occupied(mut entry) = self.by_user.entry(session.user_id.clone()) {
            entry.get_mut().retain(|s| s.id != session.id);
            if entry.get().is_empty() {
                entry.remove();
            }
        }
    }

    /// Closes (4001) and forgets every session opened with this login: it was revoked.
    pub fn end_login(&self, login_id: &str) {
        let ended: Vec<Arc<Session>> =
            self.sessions.iter().filter(|s| s.login_id == login_id).map(|s| s.clone()).collect();
        for session in ended {
            session.kick(Kick { code: rapport_protocol::close::NOT_AUTHENTICATED, reason: "logged out" });
            self.forget(&session);
        }
    }

    /// Serialises `event` once and queues the shared bytes for every session of `users`
    /// but those `skip` names. Returns the number of sessions reached.
    pub fn dispatch<'a>(&self, users: impl IntoIterator<Item = &'a str>, skip: Skip<'_>, event: &Event) -> u64 {
        let json = serde_json::to_string(event).expect("events always serialise");
        let body: session::EventBody = Arc::from(json);
        let mut reached = 0;
        for user in users {
            if matches!(skip, Skip::User(skipped) if skipped == user) {
                continue;
            }
            if let Some(sessions) = self.by_user.get(user) {
                for session in sessions.iter() {
                    if matches!(skip, Skip::Session(skipped) if skipped == session.id) {
                        continue;
                    }
                    session.push(body.clone());
                    reached += 1;
                }
            }
        }
        self.dispatched.inc_by(reached);
        reached
    }

    /// Member ids of a conversation, from the cache or the store. Empty when there is no such
    /// conversation (not cached, so random ids cannot fill memory).
    pub async fn members(&self, hub: &Hub, conversation_id: &str) -> StoreResult<Arc<[String]>> {
        if let Some(members) = self.members.get(conversation_id) {
            return Ok(members.clone());
        }
        let members: Arc<[String]> = hub.store.member_ids(conversation_id).await?.into();
        if !members.is_empty() {
            self.members.insert(conversation_id.to_owned(), members.clone());
        }
        Ok(members)
    }

    /// Caches the members of a conversation that was just created.
    pub fn remember_members(&self, conversation_id: &str, members: Vec<String>) {
        self.members.insert(conversation_id.to_owned(), members.into());
    }

    /// Whether a `typing` from this user in this conversation passes the 1 s throttle.
    fn typing_allowed(&self, user_id: &str, conversation_id: &str) -> bool {
        let now = Instant::now();
        let mut allowed = false;
        self.typing
            .entry((user_id.to_owned(), conversation_id.to_owned()))
            .and_modify(|last| {
                if now.duration_since(*last) >= TYPING_THROTTLE {
                    *last = now;
                    allowed = true;
                }
            })
            .or_insert_with(|| {
                allowed = true;
                now
            });
        allowed
    }
}

/// Repeats of `typing` within this window are dropped.
pub(crate) const TYPING_THROTTLE: Duration = Duration::from_secs(1);
/// How often detached sessions and stale throttle entries are swept.
const JANITOR_INTERVAL: Duration = Duration::from_secs(5);

/// Forgets sessions that stayed detached past the resume window, and old throttle entries.
pub async fn janitor(hub: Arc<Hub>) {
    let mut tick = tokio::time::interval(JANITOR_INTERVAL);
    loop {
        tick.tick().await;
        let window = hub.config.resume_window;
        let expired: Vec<Arc<Session>> = hub
            .gateway
            .sessions
            .iter()
            .filter(|s| s.expired(window))
            .map(|s| s.clone())
            .collect();
        for session in expired {
            hub.gateway.forget(&session);
        }
        // Polled sessions whose task has ended.
        hub.gateway.polls.retain(|_, calls| !calls.is_closed());
        hub.logins.sweep();
        if let Some(cluster) = &hub.cluster {
            cluster.sweep();
        }
        hub.login_throttle.sweep();
        let now = Instant::now();
        hub.gateway.typing.retain(|_, last| now.duration_since(*last) < TYPING_THROTTLE);
    }
}
