//! The identify deadline and the heartbeat timeout. The protocol's real defaults (10 s, 2×25 s)
//! are tested with tokio's paused clock, so they cost no wall time.

use std::time::Duration;

use rapport_testkit::{Closed, Gw, TestHub};
use serde_json::json;

#[tokio::test]
async fn no_identify_within_10_s_closes_4002_and_not_earlier() {
    let hub = TestHub::start().await;
    let mut gw = Gw::connect(&hub.gateway_url()).await;
    // From here on nothing needs the database, so the clock can jump.
    tokio::time::pause();
    let start = tokio::time::Instant::now();
    assert_eq!(gw.closed_within(Duration::from_secs(60)).await, Closed::Code(4002));
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(9500), "closed early, after {waited:?}");
    // Paused-clock slack: loopback I/O may let the clock jump to the next timer.
    assert!(waited <= Duration::from_secs(14), "closed late, after {waited:?}");
}

#[tokio::test]
async fn silence_for_two_heartbeats_closes_4009_and_never_earlier() {
    let hub = TestHub::start().await;
    let (_, session) = hub.api().user("Quiet", "candidate").await;
    let mut gw = Gw::connect(&hub.gateway_url()).await;
    let sent_last = tokio::time::Instant::now();
    gw.identify(&session.access_token, "online").await;
    tokio::time::pause();
    assert_eq!(gw.closed_within(Duration::from_secs(120)).await, Closed::Code(4009));
    let silent_for = sent_last.elapsed();
    assert!(silent_for >= Duration::from_secs(50), "closed after only {silent_for:?} of silence (2×H = 50 s)");
    // With the clock paused, loopback I/O can let the clock jump to the next timer (the hub's
    // 2 s close linger), so "late" has a few seconds of slack here.
    assert!(silent_for <= Duration::from_secs(55), "closed late: {silent_for:?}");
}

#[tokio::test]
async fn pings_keep_a_session_alive_and_are_answered() {
    let hub = TestHub::start_with(|c| c.heartbeat = Duration::from_millis(200)).await;
    let (_, session) = hub.api().user("Pinger", "candidate").await;
    let mut gw = Gw::connect(&hub.gateway_url()).await;
    assert_eq!(gw.hello["data"]["heartbeat_interval_ms"], 200);
    gw.identify(&session.access_token, "online").await;
    for n in 0..10 {
        let pong = gw.request("ping", json!(null)).await;
        assert_eq!(pong["op"], "pong", "ping {n}");
        tokio::time::sleep(Duration::from_millis(150)).await; // below 2×H between frames
    }
    let frames = gw.drain_for(Duration::from_millis(100)).await;
    assert!(frames.is_empty(), "an idle session gets nothing but pongs: {frames:?}");
    assert_eq!(gw.closed_within(Duration::from_secs(5)).await, Closed::Code(4009), "then silence ends it");
}
