//! The HTTP long-polling fallback (1.1 §4), through a proxy that refuses WebSocket upgrades and
//! forwards plain HTTP, as corporate proxies do.

use std::collections::HashMap;

use rapport_client::{ConnectionState, EngineEvent, Transport, WireEvent};
use rapport_protocol::gateway::Event;
use rapport_testkit::{Proxy, TestHub};
use tokio::sync::broadcast;

use crate::support::{assert_cache_equals_hub, eventually, hub_history, Client, DEADLINE};

/// Everything received so far on a broadcast stream (the buffer holds far more than a test sends).
fn drain<T: Clone>(rx: &mut broadcast::Receiver<T>) -> Vec<T> {
    let mut out = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(item) => out.push(item),
            Err(broadcast::error::TryRecvError::Empty) => return out,
            Err(e) => panic!("the event stream lagged or closed: {e}"),
        }
    }
}

#[tokio::test]
async fn a_refused_upgrade_falls_back_to_polls_and_the_websocket_takes_over_again_without_loss_or_repeat() {
    let hub = TestHub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    proxy.refuse_upgrades(true);
    let alice = Client::register(&proxy.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = bob.engine.start_direct(&alice.user.id).await.unwrap();
    let mut states = alice.engine.subscribe();
    let mut wire = alice.engine.subscribe_wire();
    alice.engine.start();
    bob.engine.start();

    // The upgrade is refused: the engine is connected over polls, and says so.
    let via = |engine: &rapport_client::Engine| match engine.connection_state() {
        ConnectionState::Connected { transport } => Some(transport),
        _ => None,
    };
    eventually("alice connected over the HTTP fallback", || async { (via(&alice.engine) == Some(Transport::HttpFallback)).then_some(()) }).await;
    assert!(proxy.upgrades_refused() >= 1, "the WebSocket was tried first");
    eventually("bob connected", || async { bob.engine.connection_state().is_connected().then_some(()) }).await;
    eventually("alice knows the conversation", || async { alice.engine.conversation(&conversation.id).await.ok() }).await;

    // Live over polls.
    let mut sent = Vec::new();
    for i in 0..5 {
        let m = bob.engine.send(&conversation.id, &format!("over polls {i}")).await.unwrap();
        sent.push(bob.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap());
    }
    eventually("alice has the messages sent while polling", || async {
        (alice.engine.cached_seqs(&conversation.id).await.ok()?.len() == sent.len()).then_some(())
    })
    .await;
    assert_eq!(via(&alice.engine), Some(Transport::HttpFallback), "still polling while upgrades are refused");

    // Upgrades pass again: the engine's probe gets through and the session moves to the
    // WebSocket, while messages keep coming.
    proxy.refuse_upgrades(false);
    let deadline = tokio::time::Instant::now() + 2 * DEADLINE;
    let mut i = 0;
    while via(&alice.engine) != Some(Transport::WebSocket) {
        assert!(tokio::time::Instant::now() < deadline, "alice never went back to the WebSocket");
        let m = bob.engine.send(&conversation.id, &format!("during the switch {i}")).await.unwrap();
        sent.push(bob.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap());
        i += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for i in 0..3 {
        let m = bob.engine.send(&conversation.id, &format!("over the websocket {i}")).await.unwrap();
        sent.push(bob.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap());
    }
    eventually("alice has every message", || async {
        (alice.engine.cached_seqs(&conversation.id).await.ok()?.len() == sent.len()).then_some(())
    })
    .await;
    let hub_view = hub_history(&bob.api(&hub.url()).await, &conversation.id).await;
    assert_eq!(hub_view.len(), sent.len());
    assert_cache_equals_hub("alice", &alice.engine, &hub_view, &conversation.id).await;

    // One gateway session from the poll open to the end, resumed over the WebSocket: its
    // events came gap-free and once, whichever transport carried them.
    let d = alice.engine.diagnostics();
    assert_eq!((d.identifies, d.resumes, d.invalid_sessions), (1, 1, 0), "the polled session was resumed over the WebSocket: {d:?}");
    let delivered: Vec<WireEvent> = drain(&mut wire).into_iter().filter(|w| w.seq.is_some()).collect();
    let seqs: Vec<u64> = delivered.iter().filter_map(|w| w.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "every event of the session once, in order");
    let mut created: HashMap<String, usize> = HashMap::new();
    for w in &delivered {
        if let Event::MessageCreated { message } = &w.event {
            *created.entry(message.id.clone()).or_default() += 1;
        }
    }
    for m in &sent {
        let id = m.id.as_deref().expect("a sent message has its id");
        assert_eq!(created.get(id), Some(&1), "{:?} reached alice live exactly once", m.body);
    }

    // What the app was told: the HTTP fallback, then the WebSocket; never "reconnecting".
    let events = drain(&mut states);
    let connected: Vec<Transport> = events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Connection(ConnectionState::Connected { transport }) => Some(*transport),
            _ => None,
        })
        .collect();
    assert_eq!(connected, vec![Transport::HttpFallback, Transport::WebSocket], "{events:?}");
    assert!(
        !events.iter().any(|e| matches!(e, EngineEvent::Connection(ConnectionState::Reconnecting { .. }))),
        "switching transport is not a lost connection"
    );
    let mut shown = HashMap::new();
    for e in &events {
        if let EngineEvent::Message(m) = e {
            if let Some(id) = &m.id {
                *shown.entry(id.clone()).or_insert(0) += 1;
            }
        }
    }
    for m in &sent {
        assert_eq!(shown.get(m.id.as_deref().unwrap()), Some(&1), "the app was shown {:?} once", m.body);
    }
}
