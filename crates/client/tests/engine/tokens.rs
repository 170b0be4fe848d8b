//! Tokens: silent refresh with a short access TTL, 4001 → refresh → reconnect, and a refused
//! refresh → signed out without hammering the hub.

use std::time::Duration;

use rapport_client::{ConnectionState, EngineEvent, StoredLogin, TokenStore as _};
use rapport_testkit::{Proxy, TestHub};

use crate::support::{connected, next_event, Client, DEADLINE};

#[tokio::test]
async fn short_access_ttl_refreshes_silently_and_reconnects() {
    let hub = TestHub::start_with(|c| c.access_ttl = Duration::from_secs(2)).await;
    let proxy = Proxy::start(hub.addr).await;
    let alice = Client::register(&proxy.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    let mut events = alice.engine.subscribe();
    alice.engine.start();
    connected(&alice.engine).await;
    // Keep working across several token lifetimes, with a network drop in the middle.
    let until = tokio::time::Instant::now() + Duration::from_secs(7);
    let mut n = 0;
    while tokio::time::Instant::now() < until {
        if n == 4 {
            proxy.cut();
        }
        let m = alice.engine.send(&conversation.id, &format!("tick {n}")).await.unwrap();
        alice.engine.wait_sent(&m.client_msg_id, DEADLINE).await.expect("every message acknowledged across token expiries");
        alice.engine.users("Bob").await.expect("REST keeps working with refreshed tokens");
        n += 1;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(alice.engine.diagnostics().refreshes >= 2, "tokens were refreshed: {:?}", alice.engine.diagnostics());
    while let Ok(event) = events.try_recv() {
        assert!(!matches!(event, EngineEvent::SignedOut | EngineEvent::Connection(ConnectionState::SignedOut)), "never signed out");
    }
}

fn tamper(dir: &std::path::Path, change: impl FnOnce(&mut StoredLogin)) {
    let store = rapport_client::FileTokenStore::new(dir);
    let mut login = store.load().unwrap().expect("a stored login");
    change(&mut login);
    store.save(&login).unwrap();
}

#[tokio::test]
async fn a_rejected_access_token_is_refreshed_and_the_connection_retried() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    // The stored access token is no longer accepted (the hub rotated its secret, say), but it
    // does not look expired: the gateway closes with 4001 and the engine must refresh.
    tamper(alice.dir.path(), |l| l.access_token = "not-a-valid-token".into());
    let engine = alice.reopen(&hub.url()).await;
    engine.start();
    connected(&engine).await;
    assert!(engine.diagnostics().refreshes >= 1, "refreshed after the 4001: {:?}", engine.diagnostics());
    engine.shutdown().await;
}

#[tokio::test]
async fn a_refused_refresh_signs_out_and_stops_retrying() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    tamper(alice.dir.path(), |l| {
        l.access_token = "not-a-valid-token".into();
        l.refresh_token = "not-a-valid-refresh-token".into();
    });
    let engine = alice.reopen(&hub.url()).await;
    let mut events = engine.subscribe();
    engine.start();
    next_event(&mut events, "signed out", |e| matches!(e, EngineEvent::SignedOut).then_some(())).await;
    assert_eq!(engine.connection_state(), ConnectionState::SignedOut);
    assert!(engine.me().is_none(), "the login is forgotten");
    let connections = engine.diagnostics().connections;
    // Give a retry loop time to show itself: it must not.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(engine.diagnostics().connections, connections, "no reconnect attempts once signed out");
    assert!(rapport_client::FileTokenStore::new(alice.dir.path()).load().unwrap().is_none(), "tokens cleared from the store");
}
