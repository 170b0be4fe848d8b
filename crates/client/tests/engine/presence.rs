//! Presence, auto-away, and hub notifications (job alerts).

use std::time::Duration;

use rapport_client::{ChosenStatus, EngineEvent, PresenceStatus};
use rapport_testkit::{TestHub, API_KEY};

use crate::support::{connected, eventually, next_event, Client};

#[tokio::test]
async fn presence_map_and_auto_away_without_loops() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    alice.engine.start_direct(&bob.user.id).await.unwrap();
    alice.engine.start();
    bob.engine.start();
    connected(&alice.engine).await;
    connected(&bob.engine).await;
    eventually("alice sees bob online", || async {
        (alice.engine.presence_of(&bob.user.id)?.status == PresenceStatus::Online).then_some(())
    })
    .await;
    bob.engine.set_away_after(Duration::from_secs(60));
    bob.engine.report_idle(Duration::from_secs(61));
    eventually("auto-away reaches alice", || async {
        (alice.engine.presence_of(&bob.user.id)?.status == PresenceStatus::Away).then_some(())
    })
    .await;
    let mut alice_events = alice.engine.subscribe();
    for _ in 0..20 {
        bob.engine.report_idle(Duration::from_secs(120));
    }
    bob.engine.report_idle(Duration::ZERO);
    eventually("activity restores online", || async {
        (alice.engine.presence_of(&bob.user.id)?.status == PresenceStatus::Online).then_some(())
    })
    .await;
    let mut changes = 0;
    while let Ok(event) = alice_events.try_recv() {
        if matches!(event, EngineEvent::Presence(ref p) if p.user_id == bob.user.id) {
            changes += 1;
        }
    }
    assert_eq!(changes, 1, "twenty idle reports and one return make exactly one presence change");
    let mut bob_events = bob.engine.subscribe();
    bob.engine.set_presence(ChosenStatus::Busy).await.expect("acknowledged");
    eventually("busy reaches alice", || async {
        (alice.engine.presence_of(&bob.user.id)?.status == PresenceStatus::Busy).then_some(())
    })
    .await;
    assert_eq!(bob.engine.chosen_presence(), ChosenStatus::Busy);
    let announced = next_event(&mut bob_events, "bob's own choice announced", |e| match e {
        EngineEvent::ChosenPresence(status) => Some(*status),
        _ => None,
    })
    .await;
    assert_eq!(announced, ChosenStatus::Busy, "every view of bob's engine (window, tray) learns the choice from the engine");
    bob.engine.set_presence(ChosenStatus::Busy).await.unwrap();
    bob.engine.set_presence(ChosenStatus::Online).await.unwrap();
    let next = next_event(&mut bob_events, "the next choice", |e| match e {
        EngineEvent::ChosenPresence(status) => Some(*status),
        _ => None,
    })
    .await;
    assert_eq!(next, ChosenStatus::Online, "choosing the same status again announces nothing");
}

#[tokio::test]
async fn job_alerts_notify_and_are_listed() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let mut events = alice.engine.subscribe();
    alice.engine.start();
    connected(&alice.engine).await;
    let reply = hub
        .api()
        .call(
            "POST",
            "/v1/notifications",
            Some(serde_json::json!({"email": alice.user.email, "kind": "job_alert", "title": "New job", "body": "Rust engineer in Lyon"})),
            &[("X-Api-Key", API_KEY)],
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let shown = next_event(&mut events, "job alert shown", |e| match e {
        EngineEvent::Notify(n) if n.notification_id.is_some() => Some(n.clone()),
        _ => None,
    })
    .await;
    assert_eq!(shown.title, "New job");
    let list = alice.engine.notifications().await.unwrap();
    assert_eq!(list.len(), 1);
    alice.engine.mark_notification_read(&list[0].id).await.unwrap();
    assert!(alice.engine.notifications().await.unwrap()[0].read, "read at the hub and in the cache");
}
