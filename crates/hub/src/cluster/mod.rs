//! Several hubs acting as one (`--redis`): they share one PostgreSQL, the truth, and one Redis,
//! whose pub/sub wakes the hubs whose sessions need an event.
//!
//! Layout:
//! - `wire`: what travels between hubs, and the names of the channels and keys.
//! - `publisher`: the one way out: a bounded queue, pipelined, kept through a Redis outage.
//! - `subscriber`: the one subscriber connection: subscribes to what `interest` asks for,
//!   reconnects, and after a reconnect has the hub catch its sessions up from the database.
//! - `interest`: which users have sessions here and which conversations they are in, that is
//!   which channels this hub listens to.
//! - `order`: per conversation followed, what the sessions here were handed; events pass in rev
//!   order, once, and a gap is filled from the database.
//! - `presence`: connection counts per hub in Redis, changed by scripts that let exactly one
//!   hub announce each change; heartbeats, and reaping hubs that died.
//!
//! Invariants:
//! - Redis is a wake-up hint, never the only copy: messages and their changes are in the
//!   database, and a hub reads them there whenever it cannot be sure it saw them (a gap in
//!   revs, a reconnect). A lost publish delays an event; it never loses it.
//! - A session is handed each message event once, in rev order, whichever hub made it.
//! - Per hub: one command connection (multiplexed: every task shares it) and one subscriber
//!   connection, whatever the number of sessions. A hub subscribes to the channels of the users
//!   with sessions on it and of their conversations, so it receives only what they need.
//! - Nothing on the way of a message waits for Redis: publishing only queues.
//!
//! The client is the `redis` crate (redis-rs): its `ConnectionManager` multiplexes every
//! command of the hub onto one connection and reconnects it by itself, and its `PubSub`
//! splits into a sink and a stream, so subscriptions change while messages are read. `fred`
//! would do as well, but it resubscribes by itself after a reconnect, out of sight — and the
//! moment of a reconnect is exactly when this hub must catch up from the database.

mod interest;
mod order;
mod presence;
mod publisher;
mod subscriber;
mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use dashmap::DashMap;
use rapport_protocol::gateway::Event;
use rapport_protocol::Conversation;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio_util::sync::CancellationToken;

pub use order::Origin;
use wire::{Body, Names};

use crate::gateway::Skip;
use crate::metrics::Metrics;
use crate::store::ClusterStore;
use crate::Hub;

/// How long a Redis command may take before it counts as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the cross-hub typing throttle may take before this hub's decides alone.
const TYPING_CHECK: Duration = Duration::from_millis(250);
/// Notification ids remembered, so that one handed out live is not handed out again by a
/// catch-up.
const NOTIFICATION_MEMORY: Duration = Duration::from_secs(600);

/// This hub's link to the others.
pub struct Cluster {
    /// This hub's id (new at every start).
    pub id: String,
    names: Names,
    prefix: String,
    client: redis::Client,
    /// The hub's one command connection.
    commands: ConnectionManager,
    /// What the subscriber listens to.
    interest: interest::Interest,
    publisher: Arc<publisher::Publisher>,
    subscriber: subscriber::Subscriptions,
    presences: presence::Presences,
    /// What the database can tell a hub that catches up.
    store: Arc<dyn ClusterStore>,
    /// Whether the subscriber is connected (readiness).
    listening: AtomicBool,
    /// Notifications handed out lately, by id.
    notifications: DashMap<String, Instant>,
    metrics: ClusterMetrics,
}

/// The metrics the cluster feeds.
#[derive(Clone)]
pub struct ClusterMetrics {
    lag: prometheus_client::metrics::histogram::Histogram,
    reconnects: prometheus_client::metrics::counter::Counter,
    publish_retries: prometheus_client::metrics::counter::Counter,
}

impl Cluster {
    /// Connects to the Redis at `url` (the first command connection must succeed: a hub that
    /// cannot reach Redis at start refuses to start, like one that cannot open its database).
    pub async fn open(url: &str, prefix: &str, store: Arc<dyn ClusterStore>, metrics: &Metrics) -> anyhow::Result<Cluster> {
        let client = redis::Client::open(url).context("the Redis URL")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_max_delay(Duration::from_secs(2))
            .set_number_of_retries(2);
        let commands = tokio::time::timeout(2 * COMMAND_TIMEOUT, client.get_connection_manager_with_config(config))
            .await
            .map_err(|_| anyhow::anyhow!("Redis did not answer within {:?}", 2 * COMMAND_TIMEOUT))?
            .context("connecting to Redis")?;
        Ok(Cluster {
            id: uuid::Uuid::new_v4().simple().to_string(),
            names: Names::new(prefix),
            prefix: prefix.to_owned(),
            client,
            commands,
            interest: interest::Interest::default(),
            publisher: Arc::default(),
            subscriber: subscriber::Subscriptions::default(),
            presences: presence::Presences::default(),
            store,
            listening: AtomicBool::new(false),
            notifications: DashMap::new(),
            metrics: ClusterMetrics {
                lag: metrics.redis_pubsub_lag.clone(),
                reconnects: metrics.redis_reconnects.clone(),
                publish_retries: metrics.redis_publish_retries.clone(),
            },
        })
    }

    fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Starts the publisher, the subscriber and the heartbeats; they run until `stop`.
    pub fn start(self: &Arc<Cluster>, hub: &Arc<Hub>, stop: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        vec![
            tokio::spawn(self.publisher.clone().run(self.clone(), stop.clone())),
            tokio::spawn(subscriber::run(hub.clone(), self.clone(), stop.clone())),
            tokio::spawn({
                let (hub, cluster) = (hub.clone(), self.clone());
                async move { cluster.presences.heartbeats(hub.clone(), cluster.clone(), stop).await }
            }),
        ]
    }

    /// Whether Redis answers and the subscriber listens: for `/readyz`.
    pub async fn ready(&self) -> Result<(), String> {
        if !self.listening.load(Ordering::Acquire) {
            return Err("the subscriber is not connected".into());
        }
        let (mut commands, ping) = (self.commands.clone(), redis::cmd("PING"));
        let ping = ping.query_async::<String>(&mut commands);
        match tokio::time::timeout(Duration::from_secs(1), ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("no answer within 1 s".into()),
        }
    }

    fn publish(&self, channel: String, body: Body) {
        self.publisher.push(&self.names, &self.id, channel, body);
    }

    /// A session of `user_id` is about to read its `ready`: from now on this hub hears what
    /// is addressed to the user (new conversations, notifications, contacts' presence).
    pub async fn join(&self, user_id: &str) {
        if self.interest.join(user_id) {
            self.subscriber.sync(self, &[self.names.user(user_id)]).await;
        }
    }

    /// The last session of `user_id` here is gone: stop hearing what only it needed.
    pub fn leave(self: &Arc<Cluster>, user_id: &str) {
        if let Some(conversations) = self.interest.leave(user_id) {
            let mut channels: Vec<String> = conversations.iter().map(|c| self.names.conversation(c)).collect();
            channels.push(self.names.user(user_id));
            let cluster = self.clone();
            tokio::spawn(async move { cluster.subscriber.sync(&cluster, &channels).await });
        }
    }

    /// The user (with a session here) is in these conversations, as of the state they show:
    /// follows the new ones from that state on, and hands the sessions here whatever happened
    /// in them since it was read.
    pub async fn follow(&self, hub: &Hub, user_id: &str, conversations: &[Conversation]) {
        let new: Vec<(String, Arc<order::Tracked>)> = conversations
            .iter()
            .filter_map(|c| self.interest.track(user_id, c).map(|t| (c.id.clone(), t)))
            .collect();
        if new.is_empty() {
            return;
        }
        let channels: Vec<String> = new.iter().map(|(id, _)| self.names.conversation(id)).collect();
        self.subscriber.sync(self, &channels).await;
        // Subscribed: what happens from now on is heard. What happened between the state read
        // and now is in the database.
        self.catch_up(hub, new).await;
    }

    /// Hands out what the database has beyond what the sessions here were handed, for these
    /// conversations: messages, changes and receipts.
    async fn catch_up(&self, hub: &Hub, conversations: Vec<(String, Arc<order::Tracked>)>) {
        for chunk in conversations.chunks(500) {
            let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
            let positions = match self.store.positions(&ids).await {
                Ok(positions) => positions,
                Err(err) => {
                    tracing::warn!(error = %err, "cluster: could not read where conversations stand");
                    continue;
                }
            };
            for now in &positions {
                if let Some((id, tracked)) = chunk.iter().find(|(id, _)| *id == now.conversation_id) {
                    tracked.catch_up(hub, id, Some(now)).await;
                }
            }
        }
    }

    /// An event about a conversation, made here: to the sessions here (in order) and to every
    /// other hub.
    pub async fn conversation_event(&self, hub: &Hub, conversation_id: &str, event: &Event, skip: Skip<'_>) {
        let skip_user = match skip {
            Skip::User(user) => Some(user.to_owned()),
            Skip::Nobody | Skip::Session(_) => None,
        };
        self.publish(self.names.conversation(conversation_id), Body::Conversation { event: event.clone(), skip_user });
        if let Some(tracked) = self.interest.tracked(conversation_id) {
            tracked.deliver(hub, conversation_id, event, skip, Origin::Here).await;
        }
    }

    /// A new conversation, made here: its members' sessions here follow it, and every hub is
    /// told.
    pub async fn conversation_created(&self, hub: &Hub, conversation: &Conversation, members: &[String]) {
        let event = Event::ConversationCreated { conversation: Box::new(conversation.clone()) };
        for member in members {
            self.adopt(hub, member, conversation, &event).await;
            self.publish(self.names.user(member), Body::User { event: event.clone() });
        }
    }

    /// The user learns of a conversation they are in: followed first, then announced, then
    /// what happened in it since (nothing, usually) handed out.
    async fn adopt(&self, hub: &Hub, user_id: &str, conversation: &Conversation, event: &Event) {
        if !self.interest.has_user(user_id) || self.interest.knows(user_id, &conversation.id) {
            return;
        }
        let tracked = self.interest.track(user_id, conversation);
        hub.gateway.remember_members(&conversation.id, conversation.members.iter().map(|m| m.user_id.clone()).collect());
        hub.gateway.dispatch([user_id], Skip::Nobody, event);
        if let Some(tracked) = tracked {
            self.subscriber.sync(self, &[self.names.conversation(&conversation.id)]).await;
            self.catch_up(hub, vec![(conversation.id.clone(), tracked)]).await;
        }
    }

    /// An event for one user's sessions (a notification), made here.
    pub fn user_event(&self, hub: &Hub, user_id: &str, event: &Event) {
        if let Event::Notification { notification } = event {
            self.notifications.insert(notification.id.clone(), Instant::now());
        }
        hub.gateway.dispatch([user_id], Skip::Nobody, event);
        self.publish(self.names.user(user_id), Body::User { event: event.clone() });
    }

    /// A login was revoked here: every hub stops trusting it at once.
    pub fn revoked(&self, login_id: &str) {
        self.publish(self.names.logins(), Body::Revoked { login_id: login_id.to_owned() });
    }

    /// Whether a `typing` passes the 1 s throttle of every hub together (it already passed this
    /// hub's). When Redis does not answer at once, this hub's throttle alone decides: a typing
    /// indicator is not worth holding the session's next op up.
    pub async fn typing_allowed(&self, user_id: &str, conversation_id: &str) -> bool {
        let mut set = redis::cmd("SET");
        set.arg(self.names.typing(user_id, conversation_id))
            .arg(1)
            .arg("PX")
            .arg(crate::gateway::TYPING_THROTTLE.as_millis() as u64)
            .arg("NX");
        let mut commands = self.commands.clone();
        match tokio::time::timeout(TYPING_CHECK, set.query_async::<Option<String>>(&mut commands)).await {
            Ok(Ok(reply)) => reply.is_some(),
            Ok(Err(_)) | Err(_) => true,
        }
    }

    /// Presence across hubs.
    pub fn presences(&self) -> &presence::Presences {
        &self.presences
    }

    /// Forgets notification ids handed out long ago.
    pub fn sweep(&self) {
        self.notifications.retain(|_, at| at.elapsed() < NOTIFICATION_MEMORY);
    }
}
