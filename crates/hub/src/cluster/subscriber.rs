//! The hub's one subscriber connection, and what it does with what it hears.
//!
//! It subscribes to the logins channel and to every channel `interest` wants, then reads until
//! the connection breaks (or stops answering pings), and connects again. Whatever was published
//! while it was away is lost to it, so after every reconnect the hub catches up from the
//! database: the conversations it follows (messages, changes, receipts), conversations its users
//! were added to, notifications created meanwhile, presence as Redis has it now, and it forgets
//! which logins it trusted (a revocation may have been missed).
//!
//! Messages are handled one at a time, in the order Redis delivered them: per conversation
//! that is the order of the revs, so the common case never reads the database.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use rapport_protocol::gateway::Event;
use redis::aio::PubSubSink;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use super::order::Origin;
use super::wire::{Body, Channel, Relayed};
use super::Cluster;
use crate::clock::now_ms;
use crate::gateway::Skip;
use crate::Hub;

/// Channels per SUBSCRIBE at most.
const CHUNK: usize = 1000;
/// How often a quiet connection is pinged, and how long the answer may take.
const PING_EVERY: Duration = Duration::from_secs(2);
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// Waits between connection attempts.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How far back a catch-up looks for notifications before the moment the connection broke
/// (what was published just before it may not have arrived).
const NOTIFICATION_SLACK_MS: i64 = 5_000;

/// The subscriber connection's sink, shared with whoever changes what the hub follows.
#[derive(Default)]
pub struct Subscriptions {
    sink: Mutex<Option<PubSubSink>>,
    /// A subscription change failed: the connection is to be replaced.
    broken: Notify,
}

impl Subscriptions {
    /// Subscribes each of `channels` that the hub wants and unsubscribes the others. Under the
    /// sink's lock, and deciding from what is wanted at that moment, so that changes racing
    /// each other always end as the latest wants. While disconnected it does nothing: the
    /// reconnect subscribes whatever is wanted then.
    pub async fn sync(&self, cluster: &Cluster, channels: &[String]) {
        let mut sink = self.sink.lock().await;
        let Some(connection) = sink.as_mut() else { return };
        let (wanted, unwanted): (Vec<&String>, Vec<&String>) = channels.iter().partition(|c| wants(cluster, c));
        let mut result = Ok(());
        if !wanted.is_empty() {
            result = with_timeout(connection.subscribe(&wanted)).await;
        }
        if result.is_ok() && !unwanted.is_empty() {
            result = with_timeout(connection.unsubscribe(&unwanted)).await;
        }
        if let Err(err) = result {
            tracing::warn!(error = %err, "redis: changing subscriptions failed; reconnecting");
            *sink = None;
            self.broken.notify_one();
        }
    }
}

async fn with_timeout(call: impl std::future::Future<Output = redis::RedisResult<()>>) -> Result<(), String> {
    match tokio::time::timeout(super::COMMAND_TIMEOUT, call).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("no answer in time".into()),
    }
}

fn wants(cluster: &Cluster, channel: &str) -> bool {
    match cluster.names.parse(channel) {
        Some(Channel::Logins) => true,
        Some(Channel::User(id)) => cluster.interest.has_user(id),
        Some(Channel::Conversation(id)) => cluster.interest.has_conversation(id),
        None => false,
    }
}

/// Every channel the hub wants now.
fn wanted(cluster: &Cluster) -> Vec<String> {
    let mut channels = vec![cluster.names.logins()];
    channels.extend(cluster.interest.users().iter().map(|u| cluster.names.user(u)));
    channels.extend(cluster.interest.conversations().iter().map(|(c, _)| cluster.names.conversation(c)));
    channels
}

/// Connects, subscribes and listens until `stop`, reconnecting whenever the connection is lost.
pub async fn run(hub: Arc<Hub>, cluster: Arc<Cluster>, stop: CancellationToken) {
    let mut retry = RETRY_MIN;
    // When the connection that came before broke (none yet at start: nothing to catch up).
    let mut lost_at: Option<i64> = None;
    while !stop.is_cancelled() {
        let stream = match connect(&cluster).await {
            Ok(stream) => stream,
            Err(err) => {
                tracing::warn!(error = %err, "redis: subscriber cannot connect; trying again");
                tokio::select! {
                    () = tokio::time::sleep(retry) => {}
                    () = stop.cancelled() => return,
                }
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
        };
        retry = RETRY_MIN;
        cluster.listening.store(true, Ordering::Release);
        if let Some(lost_at) = lost_at {
            cluster.metrics.reconnects.inc();
            tracing::info!("redis: subscriber reconnected; catching up from the database");
            catch_up_everything(&hub, &cluster, lost_at).await;
        }
        listen(&hub, &cluster, stream, &stop).await;
        cluster.listening.store(false, Ordering::Release);
        *cluster.subscriber.sink.lock().await = None;
        lost_at = Some(now_ms());
        if !stop.is_cancelled() {
            tracing::warn!("redis: subscriber connection lost; reconnecting");
        }
    }
}

/// A subscriber connection subscribed to everything wanted, its sink in place.
async fn connect(cluster: &Cluster) -> Result<redis::aio::PubSubStream, String> {
    let pubsub = match tokio::time::timeout(super::COMMAND_TIMEOUT, cluster.client.get_async_pubsub()).await {
        Ok(Ok(pubsub)) => pubsub,
        Ok(Err(err)) => return Err(err.to_string()),
        Err(_) => return Err("no answer in time".into()),
    };
    let (mut sink, stream) = pubsub.split();
    // Held while subscribing, so that a change of interest meanwhile waits and then applies.
    let mut slot = cluster.subscriber.sink.lock().await;
    for chunk in wanted(cluster).chunks(CHUNK) {
        with_timeout(sink.subscribe(chunk)).await?;
    }
    *slot = Some(sink);
    Ok(stream)
}

async fn listen(hub: &Hub, cluster: &Cluster, mut stream: redis::aio::PubSubStream, stop: &CancellationToken) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => receive(hub, cluster, message.get_channel_name(), message.get_payload_bytes()).await,
                None => return,
            },
            _ = ping.tick() => {
                let sink = cluster.subscriber.sink.lock().await.clone();
                let Some(mut sink) = sink else { return };
                let pong = tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await;
                if !matches!(pong, Ok(Ok(_))) {
                    return;
                }
            }
            () = cluster.subscriber.broken.notified() => return,
            () = stop.cancelled() => return,
        }
    }
}

/// Handles one message from another hub.
async fn receive(hub: &Hub, cluster: &Cluster, channel: &str, payload: &[u8]) {
    let relayed: Relayed = match serde_json::from_slice(payload) {
        Ok(relayed) => relayed,
        Err(err) => {
            tracing::warn!(error = %err, channel, "redis: a message that is not ours; ignored");
            return;
        }
    };
    let lag_ms = (now_ms() - relayed.at_ms).max(0);
    cluster.metrics.lag.observe(lag_ms as f64 / 1000.0);
    if relayed.from == cluster.id {
        return; // ours: the sessions here were handed it when it happened
    }
    match (cluster.names.parse(channel), relayed.body) {
        (Some(Channel::Conversation(id)), Body::Conversation { event, skip_user }) => {
            if let Some(tracked) = cluster.interest.tracked(id) {
                let skip = skip_user.as_deref().map_or(Skip::Nobody, Skip::User);
                tracked.deliver(hub, id, &event, skip, Origin::Elsewhere).await;
            }
        }
        (Some(Channel::Conversation(id)), Body::CatchUp) => {
            if let Some(tracked) = cluster.interest.tracked(id) {
                cluster.catch_up(hub, vec![(id.to_owned(), tracked)]).await;
            }
        }
        (Some(Channel::User(id)), Body::User { event }) => match &event {
            Event::ConversationCreated { conversation } => cluster.adopt(hub, id, conversation.as_ref(), &event).await,
            Event::Notification { notification } => {
                let fresh = cluster.notifications.insert(notification.id.clone(), std::time::Instant::now()).is_none();
                if fresh {
                    hub.gateway.dispatch([id], Skip::Nobody, &event);
                }
            }
            _ => {
                hub.gateway.dispatch([id], Skip::Nobody, &event);
            }
        },
        (Some(Channel::User(id)), Body::Presence { event, version }) => cluster.presences.received(hub, id, &event, version),
        (Some(Channel::Logins), Body::Revoked { login_id }) => {
            hub.logins.revoked(&login_id);
            hub.gateway.end_login(&login_id);
        }
        (channel, _) => tracing::debug!(?channel, "redis: a message on a channel it does not belong to; ignored"),
    }
}

/// After a reconnect: everything the sessions here may have missed while nobody listened.
async fn catch_up_everything(hub: &Hub, cluster: &Cluster, lost_at: i64) {
    // A revocation may have been missed: ask the database again about every login.
    hub.logins.forget_all();
    cluster.presences.reassert(hub, cluster).await;
    cluster.presences.refresh(hub, cluster).await;
    cluster.catch_up(hub, cluster.interest.conversations()).await;

    let users = cluster.interest.users();
    match cluster.store.memberships(&users).await {
        Ok(memberships) => {
            let mut known: std::collections::HashMap<String, HashSet<String>> = std::collections::HashMap::new();
            for (user_id, conversation_id) in memberships {
                let known = known.entry(user_id.clone()).or_insert_with(|| cluster.interest.conversations_of(&user_id));
                if known.contains(&conversation_id) {
                    continue;
                }
                match hub.store.conversation(&user_id, &conversation_id).await {
                    Ok(conversation) => {
                        let event = Event::ConversationCreated { conversation: Box::new(conversation.clone()) };
                        cluster.adopt(hub, &user_id, &conversation, &event).await;
                    }
                    Err(err) => tracing::warn!(error = %err, "cluster: could not read a new conversation"),
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "cluster: could not read memberships"),
    }

    match cluster.store.notifications_since(&users, lost_at - NOTIFICATION_SLACK_MS).await {
        Ok(notifications) => {
            for (user_id, notification) in notifications {
                if cluster.notifications.insert(notification.id.clone(), std::time::Instant::now()).is_none() {
                    hub.gateway.dispatch([user_id.as_str()], Skip::Nobody, &Event::Notification { notification });
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "cluster: could not read notifications"),
    }
}
