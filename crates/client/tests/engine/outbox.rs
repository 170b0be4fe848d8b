//! The durable outbox: offline compose, exactly-once delivery, permanent failures, and a hub
//! killed mid-stream.

use std::time::Duration;

use rapport_client::{Code, EngineError, MessageState};
use rapport_testkit::{HubProcess, TestHub};

use crate::support::{assert_cache_equals_hub, connected, eventually, hub_history, Client, DEADLINE};

#[tokio::test]
async fn composed_offline_then_hub_starts_delivered_exactly_once() {
    let mut hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    hub.stop().await.expect("hub stops");

    let m = alice.engine.send(&conversation.id, "written on the train").await.expect("queueing works offline");
    alice.engine.start();
    let err = alice.engine.wait_sent(&m.client_msg_id, Duration::from_millis(800)).await.unwrap_err();
    assert!(matches!(err, EngineError::Offline(_)), "hub down: the message stays queued, got {err:?}");
    let page = alice.engine.history(&conversation.id, None, 10).await.unwrap();
    assert_eq!(page.messages.last().unwrap().state, MessageState::Pending, "shown as pending in history");

    hub.restart().await;
    alice.engine.reconnect_now();
    let sent = alice.engine.wait_sent(&m.client_msg_id, DEADLINE).await.expect("sent once the hub is back");
    assert_eq!(sent.seq, Some(1));
    bob.engine.sync(DEADLINE).await.expect("bob syncs");
    let hub_view = hub_history(&alice.api(&hub.url()).await, &conversation.id).await;
    assert_eq!(hub_view.len(), 1, "exactly one message at the hub");
    assert_cache_equals_hub("alice", &alice.engine, &hub_view, &conversation.id).await;
    assert_cache_equals_hub("bob", &bob.engine, &hub_view, &conversation.id).await;
    assert!(alice.engine.outbox().await.unwrap().is_empty(), "the outbox is empty once acknowledged");
}

#[tokio::test]
async fn permanent_refusal_fails_with_reason_then_retry_and_discard() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    alice.engine.start();
    let m = alice.engine.send("no-such-conversation", "hello?").await.unwrap();
    let err = alice.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap_err();
    assert!(matches!(&err, EngineError::Invalid { reason, .. } if *reason == Code::NotFound), "refused for good: {err:?}");
    let outbox = alice.engine.outbox().await.unwrap();
    assert_eq!(outbox.len(), 1, "a failed message stays visible");
    assert_eq!((outbox[0].state, outbox[0].error), (MessageState::Failed, Some(Code::NotFound)));
    alice.engine.retry(&m.client_msg_id).await.expect("retry a failed message");
    let err = alice.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap_err();
    assert!(matches!(err, EngineError::Invalid { .. }), "retried and refused again");
    alice.engine.discard(&m.client_msg_id).await.expect("discard");
    assert!(alice.engine.outbox().await.unwrap().is_empty(), "discarded messages are gone");
    let blank = alice.engine.send("x", "   ").await;
    assert!(matches!(blank, Err(EngineError::Invalid { reason: Code::BodyEmpty, .. })), "blank bodies are refused up front: {blank:?}");
}

#[tokio::test]
async fn outbox_survives_reopening_the_profile() {
    let mut hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    hub.stop().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(alice.engine.send(&conversation.id, &format!("queued {i}")).await.unwrap().client_msg_id);
    }
    drop(alice.engine.clone());
    let reopened = alice.reopen(&hub.url()).await;
    assert_eq!(reopened.outbox().await.unwrap().len(), 20, "every queued message is still on disk");
    hub.restart().await;
    reopened.sync(DEADLINE).await.expect("flush after restart");
    let hub_view = hub_history(&alice.api(&hub.url()).await, &conversation.id).await;
    let order: Vec<&str> = hub_view.iter().map(|m| m.client_msg_id.as_str()).collect();
    assert_eq!(order, ids.iter().map(String::as_str).collect::<Vec<_>>(), "flushed in order, each exactly once");
}

#[tokio::test]
async fn hub_sigkill_mid_stream_loses_and_duplicates_nothing() {
    let mut hub = HubProcess::start(&["--heartbeat-ms", "1000"]).await;
    let url = hub.url();
    let mut clients = Vec::new();
    for name in ["Ann", "Ben", "Cat"] {
        clients.push(Client::register(&url, name).await);
    }
    let others: Vec<String> = clients[1..].iter().map(|c| c.user.id.clone()).collect();
    let group = clients[0].engine.start_group("Hiring", &others).await.expect("group");
    for c in &clients {
        c.engine.start();
    }
    for c in &clients {
        connected(&c.engine).await;
    }
    const EACH: usize = 40;
    let senders: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let engine = c.engine.clone();
            let id = group.id.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    engine.send(&id, &format!("client {n} message {i}")).await.expect("queue");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        })
        .collect();
    // Kill the hub once some messages are stored, while the others are still being sent.
    let probe = clients[0].api(&url).await;
    eventually("some messages stored before the kill", || async {
        (hub_history(&probe, &group.id).await.len() >= 20).then_some(())
    })
    .await;
    hub.kill().await;
    for s in senders {
        s.await.unwrap();
    }
    hub.restart().await;
    for c in &clients {
        c.engine.reconnect_now();
    }
    for c in &clients {
        c.engine.wait_outbox_empty(DEADLINE).await.expect("every queued message acknowledged after the restart");
    }
    for c in &clients {
        c.engine.sync(DEADLINE).await.expect("catch up");
    }
    let hub_view = hub_history(&clients[0].api(&url).await, &group.id).await;
    assert_eq!(hub_view.len(), 3 * EACH, "every message stored exactly once at the hub");
    for (n, c) in clients.iter().enumerate() {
        assert_cache_equals_hub(&format!("client {n}"), &c.engine, &hub_view, &group.id).await;
        let mine: Vec<&str> = hub_view.iter().filter(|m| m.sender_id == c.user.id).map(|m| m.body.as_str()).collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("client {n} message {i}")).collect();
        assert_eq!(mine, expected.iter().map(String::as_str).collect::<Vec<_>>(), "client {n}'s messages in the order written");
    }
}
