//! Presence across hubs. Redis holds, per user, how many ready connections each hub has, the
//! status they chose and what they are shown as; scripts (`lua/`) change these atomically and
//! return a transition only to the hub whose call caused it, which announces it to the
//! user's contacts on every hub. Receivers only hand the event on, never recompute it: no
//! loop, and each change is announced once.
//!
//! - A user is online while any hub counts a connection of theirs. When the last one closes
//!   anywhere, the grace period starts (in Redis, so it runs out even if that hub dies); a
//!   reconnect to any hub in time cancels it, so nobody flaps.
//! - Each hub beats every [`HEARTBEAT`]; a hub silent for [`DEAD_AFTER`] is reaped by the first
//!   hub to notice: its users with no connection elsewhere go offline at once. A user on a
//!   SIGKILLed hub is thus shown offline within `DEAD_AFTER + HEARTBEAT` (9 s).
//! - Each change carries the user's presence version, so a receiver drops one that arrives
//!   after a newer one.
//! - A hub keeps its own counts too: when Redis lost them (restart) or took the hub for dead
//!   (it could not beat), it asserts them again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use parking_lot::Mutex;
use rapport_protocol::gateway::Event;
use rapport_protocol::rest::ChosenStatus;
use rapport_protocol::{Presence, PresenceStatus};
use redis::Script;
use tokio_util::sync::CancellationToken;

use super::wire::Body;
use super::Cluster;
use crate::clock::rfc3339;
use crate::gateway::Skip;
use crate::Hub;

/// How often a hub tells Redis it is alive (and settles grace periods that ran out).
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A hub whose last heartbeat is this old is dead.
pub const DEAD_AFTER: Duration = Duration::from_secs(8);
/// Users asserted again per script call.
const REASSERT_CHUNK: usize = 500;

macro_rules! script {
    ($name:literal) => {
        concat!(include_str!("lua/common.lua"), include_str!(concat!("lua/", $name, ".lua")))
    };
}

/// The presence scripts, loaded once.
pub struct Scripts {
    connect: Script,
    disconnect: Script,
    choose: Script,
    settle: Script,
    heartbeat: Script,
    reap: Script,
    leave: Script,
    reassert: Script,
}

impl Default for Scripts {
    fn default() -> Scripts {
        Scripts {
            connect: Script::new(script!("connect")),
            disconnect: Script::new(script!("disconnect")),
            choose: Script::new(script!("choose")),
            settle: Script::new(script!("settle")),
            heartbeat: Script::new(script!("heartbeat")),
            reap: Script::new(script!("reap")),
            leave: Script::new(script!("leave")),
            reassert: Script::new(script!("reassert")),
        }
    }
}

/// A change of someone's shown status, as a script returned it.
type Transition = (String, String, String, u64);

/// This hub's side of presence.
#[derive(Default)]
pub struct Presences {
    scripts: Scripts,
    /// Ready connections here per user, and the status last chosen here.
    local: Mutex<HashMap<String, (u32, ChosenStatus)>>,
    /// Per user, the newest presence version handed to the sessions here.
    versions: DashMap<String, u64>,
}

fn chosen_name(chosen: ChosenStatus) -> &'static str {
    match chosen {
        ChosenStatus::Online => "online",
        ChosenStatus::Away => "away",
        ChosenStatus::Busy => "busy",
        ChosenStatus::Invisible => "invisible",
    }
}

fn status_of(name: &str) -> PresenceStatus {
    match name {
        "online" => PresenceStatus::Online,
        "away" => PresenceStatus::Away,
        "busy" => PresenceStatus::Busy,
        _ => PresenceStatus::Offline,
    }
}

fn wire(user_id: &str, status: &str, last_seen: &str) -> Presence {
    Presence {
        user_id: user_id.to_owned(),
        status: status_of(status),
        last_seen: last_seen.parse::<i64>().ok().map(rfc3339),
    }
}

impl Presences {
    /// A connection of the user became ready here (`chosen` from `identify`, `None` for a resume).
    pub async fn connected(&self, hub: &Hub, cluster: &Cluster, user_id: &str, chosen: Option<ChosenStatus>, skip: Skip<'_>) {
        {
            let mut local = self.local.lock();
            let entry = local.entry(user_id.to_owned()).or_insert((0, ChosenStatus::Online));
            entry.0 += 1;
            if let Some(chosen) = chosen {
                entry.1 = chosen;
            }
        }
        let mut script = self.scripts.connect.prepare_invoke();
        script.arg(cluster.prefix()).arg(&cluster.id).arg(user_id).arg(chosen.map_or("", chosen_name));
        let outcome: redis::RedisResult<Option<Transition>> = script.invoke_async(&mut cluster.commands.clone()).await;
        self.announce_outcome(hub, cluster, outcome.map(|t| t.into_iter().collect()), skip).await;
    }

    /// A ready connection of the user closed here.
    pub async fn disconnected(&self, hub: &Arc<Hub>, cluster: &Arc<Cluster>, user_id: &str) {
        {
            let mut local = self.local.lock();
            if let Some(entry) = local.get_mut(user_id) {
                entry.0 = entry.0.saturating_sub(1);
                if entry.0 == 0 {
                    local.remove(user_id);
                }
            }
        }
        let grace = hub.config.presence_grace;
        let mut script = self.scripts.disconnect.prepare_invoke();
        script.arg(cluster.prefix()).arg(&cluster.id).arg(user_id).arg(grace.as_millis() as u64);
        match script.invoke_async::<u8>(&mut cluster.commands.clone()).await {
            Ok(1) => {
                // The last connection anywhere: settle once the grace period is over (any
                // other hub's heartbeat would do it a moment later).
                let (hub, cluster) = (hub.clone(), cluster.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(grace + Duration::from_millis(5)).await;
                    cluster.presences.settle(&hub, &cluster).await;
                });
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "redis: could not count a closed connection"),
        }
    }

    /// The user chose a status.
    pub async fn choose(&self, hub: &Hub, cluster: &Cluster, user_id: &str, chosen: ChosenStatus) {
        if let Some(entry) = self.local.lock().get_mut(user_id) {
            entry.1 = chosen;
        }
        let mut script = self.scripts.choose.prepare_invoke();
        script.arg(cluster.prefix()).arg(user_id).arg(chosen_name(chosen));
        let outcome: redis::RedisResult<Option<Transition>> = script.invoke_async(&mut cluster.commands.clone()).await;
        self.announce_outcome(hub, cluster, outcome.map(|t| t.into_iter().collect()), Skip::Nobody).await;
    }

    /// Shown presence of these users, for `ready`, read from Redis in one round trip.
    pub async fn snapshot(&self, cluster: &Cluster, user_ids: &[&str]) -> Vec<Presence> {
        let mut pipe = redis::pipe();
        for user_id in user_ids {
            pipe.cmd("HMGET").arg(cluster.names.presence(user_id)).arg("shown").arg("last_seen").arg("version");
        }
        let rows: Vec<(Option<String>, Option<String>, Option<u64>)> =
            match pipe.query_async(&mut cluster.commands.clone()).await {
                Ok(rows) => rows,
                Err(err) => {
                    tracing::warn!(error = %err, "redis: presence unknown for a ready; shown offline");
                    vec![(None, None, None); user_ids.len()]
                }
            };
        user_ids
            .iter()
            .zip(rows)
            .map(|(user_id, (shown, last_seen, version))| {
                if let Some(version) = version {
                    self.seen(user_id, version);
                }
                wire(user_id, shown.as_deref().unwrap_or("offline"), last_seen.as_deref().unwrap_or(""))
            })
            .collect()
    }

    /// After a reconnect: presence as Redis has it now, for every user the sessions here were
    /// told about; each that changed meanwhile is handed to their contacts here.
    pub async fn refresh(&self, hub: &Hub, cluster: &Cluster) {
        let users: Vec<String> = self.versions.iter().map(|e| e.key().clone()).collect();
        for chunk in users.chunks(REASSERT_CHUNK) {
            let mut pipe = redis::pipe();
            for user_id in chunk {
                pipe.cmd("HMGET").arg(cluster.names.presence(user_id)).arg("shown").arg("last_seen").arg("version");
            }
            let rows: Vec<(Option<String>, Option<String>, Option<u64>)> = match pipe.query_async(&mut cluster.commands.clone()).await {
                Ok(rows) => rows,
                Err(err) => {
                    tracing::warn!(error = %err, "redis: could not refresh presence");
                    return;
                }
            };
            for (user_id, (shown, last_seen, version)) in chunk.iter().zip(rows) {
                let (Some(shown), Some(version)) = (shown, version) else { continue };
                let known = self.versions.get(user_id).map_or(0, |v| *v);
                if version <= known {
                    continue;
                }
                self.versions.insert(user_id.clone(), version);
                let contacts = hub.store.contacts_of(user_id).await.unwrap_or_default();
                let event = Event::Presence(wire(user_id, &shown, last_seen.as_deref().unwrap_or("")));
                let audience = contacts.iter().map(String::as_str).chain(std::iter::once(user_id.as_str()));
                hub.gateway.dispatch(audience, Skip::Nobody, &event);
            }
        }
    }

    /// Notes that the sessions here were told version `version` of the user's presence;
    /// whether it is not older than what they were told already.
    fn seen(&self, user_id: &str, version: u64) -> bool {
        let mut newest = self.versions.entry(user_id.to_owned()).or_insert(0);
        if version < *newest {
            return false;
        }
        *newest = version;
        true
    }

    /// Another hub announced a change to `recipient`: hands it to their sessions here unless a
    /// newer one was handed out already.
    pub fn received(&self, hub: &Hub, recipient: &str, event: &Event, version: u64) {
        if let Event::Presence(presence) = event {
            if self.seen(&presence.user_id, version) {
                hub.gateway.dispatch([recipient], Skip::Nobody, event);
            }
        }
    }

    async fn announce_outcome(&self, hub: &Hub, cluster: &Cluster, outcome: redis::RedisResult<Vec<Transition>>, skip: Skip<'_>) {
        match outcome {
            Ok(transitions) => {
                for transition in transitions {
                    self.announce(hub, cluster, transition, skip).await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "redis: presence not updated"),
        }
    }

    /// Tells the user's contacts and the user's own sessions, here and on every hub.
    async fn announce(&self, hub: &Hub, cluster: &Cluster, (user_id, status, last_seen, version): Transition, skip: Skip<'_>) {
        let contacts = match hub.store.contacts_of(&user_id).await {
            Ok(contacts) => contacts,
            Err(err) => {
                tracing::warn!(error = %err, "presence: could not load contacts");
                Vec::new()
            }
        };
        let event = Event::Presence(wire(&user_id, &status, &last_seen));
        let audience: Vec<&str> = contacts.iter().map(String::as_str).chain(std::iter::once(user_id.as_str())).collect();
        if self.seen(&user_id, version) {
            hub.gateway.dispatch(audience.iter().copied(), skip, &event);
        }
        for recipient in audience {
            cluster.publish(cluster.names.user(recipient), Body::Presence { event: event.clone(), version });
        }
    }

    /// Settles every grace period that ran out (whichever hub started it).
    pub async fn settle(&self, hub: &Hub, cluster: &Cluster) {
        let mut script = self.scripts.settle.prepare_invoke();
        script.arg(cluster.prefix());
        let outcome = script.invoke_async(&mut cluster.commands.clone()).await;
        self.announce_outcome(hub, cluster, outcome, Skip::Nobody).await;
    }

    /// This hub's connections as it counts them, asserted again.
    pub async fn reassert(&self, hub: &Hub, cluster: &Cluster) {
        let local: Vec<(String, u32, ChosenStatus)> =
            self.local.lock().iter().map(|(user, (count, chosen))| (user.clone(), *count, *chosen)).collect();
        for chunk in local.chunks(REASSERT_CHUNK) {
            let mut script = self.scripts.reassert.prepare_invoke();
            script.arg(cluster.prefix()).arg(&cluster.id);
            for (user, count, chosen) in chunk {
                script.arg(user).arg(*count).arg(chosen_name(*chosen));
            }
            let outcome = script.invoke_async(&mut cluster.commands.clone()).await;
            self.announce_outcome(hub, cluster, outcome, Skip::Nobody).await;
        }
    }

    /// One heartbeat: this hub is alive; dead hubs are reaped; grace periods are settled.
    async fn beat(&self, hub: &Hub, cluster: &Cluster) -> redis::RedisResult<()> {
        let mut script = self.scripts.heartbeat.prepare_invoke();
        script.arg(cluster.prefix()).arg(&cluster.id).arg(DEAD_AFTER.as_millis() as u64);
        let (unknown, dead): (u8, Vec<String>) = script.invoke_async(&mut cluster.commands.clone()).await?;
        if unknown == 1 && !self.local.lock().is_empty() {
            tracing::warn!("redis: this hub was not listed as alive; asserting its connections again");
            self.reassert(hub, cluster).await;
        }
        for dead_hub in dead.into_iter().filter(|h| *h != cluster.id) {
            let mut script = self.scripts.reap.prepare_invoke();
            script.arg(cluster.prefix()).arg(&dead_hub);
            let outcome: redis::RedisResult<Vec<Transition>> = script.invoke_async(&mut cluster.commands.clone()).await;
            if let Ok(transitions) = &outcome {
                tracing::warn!(hub = %dead_hub, offline = transitions.len(), "a hub stopped beating; its users are offline");
            }
            self.announce_outcome(hub, cluster, outcome, Skip::Nobody).await;
        }
        self.settle(hub, cluster).await;
        Ok(())
    }

    /// Beats until `stop`, then leaves (the grace periods of this hub's users start).
    pub async fn heartbeats(&self, hub: Arc<Hub>, cluster: Arc<Cluster>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => break,
            }
            if let Err(err) = self.beat(&hub, &cluster).await {
                tracing::warn!(error = %err, "redis: heartbeat failed");
            }
        }
        let mut script = self.scripts.leave.prepare_invoke();
        script.arg(cluster.prefix()).arg(&cluster.id).arg(hub.config.presence_grace.as_millis() as u64);
        if let Err(err) = script.invoke_async::<u8>(&mut cluster.commands.clone()).await {
            tracing::warn!(error = %err, "redis: could not leave; the other hubs reap this one");
        }
    }
}
