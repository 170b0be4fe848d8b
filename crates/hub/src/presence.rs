//! Who is shown online.
//!
//! A user is shown `offline` when no connection of theirs is open or when they chose
//! `invisible`; otherwise with the status they chose last. When the last connection closes the
//! user stays as they were for the grace period, so a quick reconnect does not flap. An event
//! goes out only when the shown status changes, and each user's changes are serialised by that
//! user's own lock (held while the event is dispatched, so their events keep their order).
//!
//! With `--redis` the board is not used: presence counts the connections of every hub, in
//! Redis (`cluster::presence`), by the same rules.

use std::sync::Arc;

use dashmap::DashMap;
use rapport_protocol::gateway::Event;
use rapport_protocol::rest::ChosenStatus;
use rapport_protocol::{Presence, PresenceStatus};
use tokio::sync::Mutex;

use crate::clock::{now_ms, rfc3339};
use crate::gateway::Skip;
use crate::Hub;

#[derive(Default)]
struct UserPresence {
    connections: u32,
    chosen: ChosenStatus,
    shown: Option<PresenceStatus>,
    last_seen: Option<i64>,
    /// Bumped on every connect, so a pending grace timer knows it is stale.
    generation: u64,
}

impl UserPresence {
    fn computed(&self) -> PresenceStatus {
        if self.connections == 0 {
            PresenceStatus::Offline
        } else {
            self.chosen.shown()
        }
    }

    fn shown(&self) -> PresenceStatus {
        self.shown.unwrap_or(PresenceStatus::Offline)
    }

    fn wire(&self, user_id: &str) -> Presence {
        Presence {
            user_id: user_id.to_owned(),
            status: self.shown(),
            last_seen: self.last_seen.map(rfc3339),
        }
    }
}

/// Presence of every user this hub has seen.
#[derive(Default)]
pub struct PresenceBoard {
    users: DashMap<String, Arc<Mutex<UserPresence>>>,
}

impl PresenceBoard {
    fn entry(&self, user_id: &str) -> Arc<Mutex<UserPresence>> {
        self.users.entry(user_id.to_owned()).or_default().clone()
    }

    /// A connection of the user became ready (`chosen` from `identify`; `None` for a resume).
    /// `skip` is a session that learns the outcome otherwise (from its `ready`).
    pub async fn connected(&self, hub: &Arc<Hub>, user_id: &str, chosen: Option<ChosenStatus>, skip: Skip<'_>) {
        if let Some(cluster) = &hub.cluster {
            return cluster.presences().connected(hub, cluster, user_id, chosen, skip).await;
        }
        let entry = self.entry(user_id);
        let mut user = entry.lock().await;
        user.connections += 1;
        user.generation += 1;
        if let Some(chosen) = chosen {
            user.chosen = chosen;
        }
        publish(hub, user_id, &mut user, skip).await;
    }

    /// A ready connection of the user closed. The last one starts the grace period.
    pub async fn disconnected(&self, hub: &Arc<Hub>, user_id: &str) {
        if let Some(cluster) = &hub.cluster {
            return cluster.presences().disconnected(hub, cluster, user_id).await;
        }
        let entry = self.entry(user_id);
        let mut user = entry.lock().await;
        user.connections = user.connections.saturating_sub(1);
        if user.connections > 0 {
            return;
        }
        let closed_at = now_ms();
        let generation = user.generation;
        let grace = hub.config.presence_grace;
        drop(user);
        let hub = hub.clone();
        let user_id = user_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let mut user = entry.lock().await;
            if user.generation == generation && user.connections == 0 {
                // Only a visible user reveals when they left; an invisible one already did.
                if user.shown() != PresenceStatus::Offline {
                    user.last_seen = Some(closed_at);
                }
                publish(&hub, &user_id, &mut user, Skip::Nobody).await;
            }
        });
    }

    /// The user chose a status.
    pub async fn choose(&self, hub: &Arc<Hub>, user_id: &str, chosen: ChosenStatus) {
        if let Some(cluster) = &hub.cluster {
            return cluster.presences().choose(hub, cluster, user_id, chosen).await;
        }
        let entry = self.entry(user_id);
        let mut user = entry.lock().await;
        user.chosen = chosen;
        publish(hub, user_id, &mut user, Skip::Nobody).await;
    }

    /// Shown presence of these users, for `ready`.
    pub async fn snapshot(&self, hub: &Hub, user_ids: &[&str]) -> Vec<Presence> {
        if let Some(cluster) = &hub.cluster {
            return cluster.presences().snapshot(cluster, user_ids).await;
        }
        let mut out = Vec::with_capacity(user_ids.len());
        for user_id in user_ids {
            let entry = self.users.get(*user_id).map(|e| e.clone());
            out.push(match entry {
                Some(entry) => entry.lock().await.wire(user_id),
                None => Presence { user_id: (*user_id).to_owned(), status: PresenceStatus::Offline, last_seen: None },
            });
        }
        out
    }
}

/// Recomputes the shown status and, only when it changed, tells the user's contacts and the
/// user's own sessions.
async fn publish(hub: &Hub, user_id: &str, user: &mut UserPresence, skip: Skip<'_>) {
    let status = user.computed();
    if user.shown() == status && user.shown.is_some() {
        return;
    }
    let was_visible = user.shown.is_some_and(|s| s != PresenceStatus::Offline);
    if status == PresenceStatus::Offline && was_visible && user.connections > 0 {
        // Went invisible: others see them leave now.
        user.last_seen = Some(now_ms());
    }
    let first = user.shown.is_none();
    user.shown = Some(status);
    if first && status == PresenceStatus::Offline {
        return; // never seen online: nobody was told otherwise
    }
    let contacts = match hub.store.contacts_of(user_id).await {
        Ok(contacts) => contacts,
        Err(err) => {
            tracing::warn!(error = %err, "presence: could not load contacts");
            Vec::new()
        }
    };
    let event = Event::Presence(user.wire(user_id));
    let audience = contacts.iter().map(String::as_str).chain(std::iter::once(user_id));
    hub.gateway.dispatch(audience, skip, &event);
}
