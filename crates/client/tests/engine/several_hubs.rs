//! The engine behind a load balancer (nginx, with the repository's own configuration) in front
//! of two hubs sharing one PostgreSQL and one Redis: when the hub an engine is connected to is
//! SIGKILLed, the engine reconnects through the balancer to the other hub and loses nothing,
//! neither what it receives nor what it sends meanwhile. Skipped, with a note, without
//! PostgreSQL, redis-server or nginx; CI has all three.

use std::time::Duration;

use rapport_protocol::PresenceStatus;
use rapport_testkit::{on_postgres_or_skip, HubProcess, LoadBalancer, TestRedis};

use crate::support::{assert_cache_equals_hub, connected, eventually, hub_history, Client, DEADLINE};

/// Open gateway sessions of a hub, from its metrics.
async fn sessions_on(hub: &HubProcess) -> u64 {
    let Ok(reply) = reqwest::get(format!("{}/metrics", hub.url())).await else { return 0 };
    let text = reply.text().await.unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("rapport_gateway_sessions "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn when_its_hub_is_killed_the_engine_reconnects_to_the_other_through_the_balancer_and_loses_nothing() {
    const TEST: &str = "when_its_hub_is_killed_the_engine_reconnects_to_the_other_through_the_balancer_and_loses_nothing";
    if !on_postgres_or_skip(TEST) || !TestRedis::available_or_skip(TEST) || !LoadBalancer::available_or_skip(TEST) {
        return;
    }
    let redis = TestRedis::start().await;
    let args = ["--redis", &redis.url(), "--presence-grace", "0.3"];
    let first = HubProcess::start(&args).await;
    let second = HubProcess::start_beside(&first, &args).await;
    let balancer = LoadBalancer::start(&[first.addr, second.addr]).await;

    // Alice goes through the balancer; Carol stays on whichever hub Alice is not on.
    let alice = Client::register(&balancer.url(), "Alice").await;
    alice.engine.start();
    connected(&alice.engine).await;
    let alice_on_first = eventually("alice's session counted by one hub", || async {
        match (sessions_on(&first).await, sessions_on(&second).await) {
            (1, 0) => Some(true),
            (0, 1) => Some(false),
            _ => None,
        }
    })
    .await;
    let (mut doomed, survivor) = if alice_on_first { (first, second) } else { (second, first) };
    let carol = Client::register(&survivor.url(), "Carol").await;
    let conversation = carol.engine.start_direct(&alice.user.id).await.unwrap();
    carol.engine.start();
    connected(&carol.engine).await;
    eventually("alice knows the conversation", || async { alice.engine.conversation(&conversation.id).await.ok() }).await;
    eventually("carol sees alice online (across hubs)", || async {
        (carol.engine.presence_of(&alice.user.id)?.status == PresenceStatus::Online).then_some(())
    })
    .await;

    for i in 0..10 {
        carol.engine.send(&conversation.id, &format!("before {i}")).await.unwrap();
        alice.engine.send(&conversation.id, &format!("reply before {i}")).await.unwrap();
    }
    carol.engine.wait_outbox_empty(DEADLINE).await.unwrap();
    alice.engine.wait_outbox_empty(DEADLINE).await.unwrap();

    // Alice's hub dies; both keep writing meanwhile.
    doomed.kill().await;
    for i in 0..10 {
        carol.engine.send(&conversation.id, &format!("while her hub is gone {i}")).await.unwrap();
        alice.engine.send(&conversation.id, &format!("from the outbox {i}")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    connected(&alice.engine).await;
    alice.engine.wait_outbox_empty(DEADLINE).await.expect("alice's outbox went out through the other hub");
    carol.engine.wait_outbox_empty(DEADLINE).await.unwrap();
    assert_eq!(sessions_on(&survivor).await, 2, "alice's engine is now served by the surviving hub");

    let hub_view = hub_history(&carol.api(&survivor.url()).await, &conversation.id).await;
    assert_eq!(hub_view.len(), 40, "every message of both is stored once");
    for (who, client) in [("alice", &alice), ("carol", &carol)] {
        eventually(&format!("{who} has all 40"), || async {
            (client.engine.cached_seqs(&conversation.id).await.ok()?.len() == 40).then_some(())
        })
        .await;
        assert_cache_equals_hub(who, &client.engine, &hub_view, &conversation.id).await;
    }
    // She came back before her dead hub was reaped, so she stays online (reaping it removes a
    // connection she no longer has there, and leaves the one on the survivor).
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        carol.engine.presence_of(&alice.user.id).map(|p| p.status),
        Some(PresenceStatus::Online),
        "alice is online on the surviving hub"
    );
    let d = alice.engine.diagnostics();
    assert!(d.invalid_sessions >= 1, "the other hub cannot resume her session; she identified again: {d:?}");
}
