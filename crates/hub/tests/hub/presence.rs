//! Presence: transitions, invisible, the grace period, and no flapping.

use std::time::{Duration, Instant};

use rapport_testkit::{Gw, TestHub};
use serde_json::json;

use rapport_testkit::Gw as Conn;

use crate::support::{events, pair};

/// The next presence event about `user_id` (the user's own presence events are skipped).
async fn presence_of(gw: &mut Conn, user_id: &str) -> serde_json::Value {
    gw.find(|f| f["op"] == "event" && f["type"] == "presence" && f["data"]["user_id"] == user_id)
        .await
        .unwrap_or_else(|| panic!("no presence event about {user_id}"))
}

const GRACE: Duration = Duration::from_millis(400);

async fn hub() -> TestHub {
    TestHub::start_with(|c| c.presence_grace = GRACE).await
}

#[tokio::test]
async fn contacts_see_each_change_of_shown_status_exactly_once() {
    let hub = hub().await;
    let p = pair(&hub).await;
    let alice_id = p.alice_session.user.id.as_str();
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let (mut alice, ready) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let bob_seen = ready["presence"].as_array().unwrap().iter().find(|x| x["user_id"] == p.bob_session.user.id.as_str()).unwrap().clone();
    assert_eq!(bob_seen["status"], "online", "ready carries contacts' presence");

    let online = presence_of(&mut bob, alice_id).await;
    assert_eq!(online["data"]["status"], "online");
    let own = alice.drain_for(Duration::from_millis(200)).await;
    assert_eq!(events(&own, "presence").count(), 0, "the identifying session learns its status from ready: {own:?}");

    let (mut laptop, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    alice.request("presence.set", json!({"status": "away"})).await;
    assert_eq!(presence_of(&mut bob, alice_id).await["data"]["status"], "away");
    assert_eq!(presence_of(&mut laptop, alice_id).await["data"]["status"], "away", "the user's other devices hear it too");
    alice.request("presence.set", json!({"status": "away"})).await;
    alice.request("presence.set", json!({"status": "busy"})).await;
    assert_eq!(presence_of(&mut bob, alice_id).await["data"]["status"], "busy", "a repeat of the same status sends nothing");

    alice.request("presence.set", json!({"status": "invisible"})).await;
    let hidden = presence_of(&mut bob, alice_id).await;
    assert_eq!(hidden["data"]["status"], "offline", "invisible is shown as offline");
    assert!(hidden["data"]["last_seen"].is_string(), "offline comes with last_seen");

    // Another device identifying as online is the status last chosen.
    let (_phone, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    assert_eq!(presence_of(&mut bob, alice_id).await["data"]["status"], "online");

    let frames = bob.drain_for(Duration::from_millis(300)).await;
    let about_alice = events(&frames, "presence").filter(|e| e["data"]["user_id"] == alice_id).count();
    assert_eq!(about_alice, 0, "no periodic refresh, no loop: {frames:?}");
}

#[tokio::test]
async fn going_offline_waits_for_the_grace_period_and_a_quick_reconnect_does_not_flap() {
    let hub = hub().await;
    let p = pair(&hub).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let alice_id = p.alice_session.user.id.as_str();
    let (alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    assert_eq!(presence_of(&mut bob, alice_id).await["data"]["status"], "online");

    // Drop and come back well within the grace period: nobody notices.
    alice.drop_connection();
    tokio::time::sleep(GRACE / 4).await;
    let (alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let frames = bob.drain_for(GRACE * 2).await;
    let about_alice = events(&frames, "presence").filter(|e| e["data"]["user_id"] == alice_id).count();
    assert_eq!(about_alice, 0, "a reconnect within the grace period must not flap: {frames:?}");

    let closed_at = Instant::now();
    alice.close().await;
    let offline = presence_of(&mut bob, alice_id).await;
    let waited = closed_at.elapsed();
    assert_eq!(offline["data"]["status"], "offline");
    assert!(waited >= GRACE - Duration::from_millis(50), "offline only after the grace period (waited {waited:?})");
    assert!(offline["data"]["last_seen"].as_str().is_some_and(|t| t.ends_with('Z')), "{offline}");
}

#[tokio::test]
async fn an_invisible_user_never_appears_online() {
    let hub = hub().await;
    let p = pair(&hub).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let mut alice = Gw::connect(&hub.gateway_url()).await;
    alice.identify(&p.alice_session.access_token, "invisible").await;
    let (_, bob_again) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let shown = bob_again["presence"].as_array().unwrap().iter().find(|x| x["user_id"] == p.alice_session.user.id.as_str()).unwrap().clone();
    assert_eq!(shown["status"], "offline");
    alice.close().await;
    let frames = bob.drain_for(GRACE * 2).await;
    let alice_events: Vec<_> = events(&frames, "presence").filter(|e| e["data"]["user_id"] == p.alice_session.user.id.as_str()).collect();
    assert!(alice_events.is_empty(), "invisible in, invisible out: {alice_events:?}");
}
