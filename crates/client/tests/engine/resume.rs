//! Reconnecting: the resume path (events replayed) and the invalid-session path (identify and
//! REST catch-up).

use rapport_testkit::{Proxy, TestHub};

use crate::support::{assert_cache_equals_hub, connected, eventually, hub_history, Client, DEADLINE};

#[tokio::test]
async fn a_dropped_connection_resumes_and_gets_the_missed_events() {
    let hub = TestHub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let alice = Client::register(&proxy.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = bob.engine.start_direct(&alice.user.id).await.unwrap();
    alice.engine.start();
    bob.engine.start();
    connected(&alice.engine).await;
    connected(&bob.engine).await;
    eventually("alice knows the conversation", || async { alice.engine.conversation(&conversation.id).await.ok() }).await;

    proxy.block();
    eventually("alice notices the drop", || async {
        (!alice.engine.connection_state().is_connected()).then_some(())
    })
    .await;
    for i in 0..5 {
        let m = bob.engine.send(&conversation.id, &format!("while you were away {i}")).await.unwrap();
        bob.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap();
    }
    proxy.unblock();
    alice.engine.reconnect_now();
    connected(&alice.engine).await;
    let hub_view = hub_history(&bob.api(&hub.url()).await, &conversation.id).await;
    eventually("alice has the five messages", || async {
        (alice.engine.cached_seqs(&conversation.id).await.ok()?.len() == 5).then_some(())
    })
    .await;
    assert_cache_equals_hub("alice", &alice.engine, &hub_view, &conversation.id).await;
    let d = alice.engine.diagnostics();
    assert_eq!((d.identifies, d.resumes, d.invalid_sessions), (1, 1, 0), "the session was resumed, not re-identified: {d:?}");
}

#[tokio::test]
async fn an_unresumable_session_identifies_again_and_catches_up_over_rest() {
    let mut hub = TestHub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let alice = Client::register(&proxy.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = bob.engine.start_direct(&alice.user.id).await.unwrap();
    let first = bob.engine.send(&conversation.id, "before").await.unwrap();
    bob.engine.start();
    bob.engine.wait_sent(&first.client_msg_id, DEADLINE).await.unwrap();
    alice.engine.start();
    connected(&alice.engine).await;
    eventually("alice has the first message", || async {
        (alice.engine.cached_seqs(&conversation.id).await.ok()?.len() == 1).then_some(())
    })
    .await;

    // The hub crashes (sessions are lost) while alice is cut off; bob writes after the restart.
    proxy.block();
    hub.crash().await;
    hub.restart().await;
    bob.engine.reconnect_now();
    for i in 0..30 {
        bob.engine.send(&conversation.id, &format!("after the crash {i}")).await.unwrap();
    }
    bob.engine.wait_outbox_empty(DEADLINE).await.expect("bob's messages stored");
    proxy.unblock();
    alice.engine.reconnect_now();
    let hub_view = hub_history(&bob.api(&hub.url()).await, &conversation.id).await;
    assert_eq!(hub_view.len(), 31);
    eventually("alice caught up", || async {
        (alice.engine.cached_seqs(&conversation.id).await.ok()?.len() == 31).then_some(())
    })
    .await;
    assert_cache_equals_hub("alice", &alice.engine, &hub_view, &conversation.id).await;
    let d = alice.engine.diagnostics();
    assert_eq!(d.invalid_sessions, 1, "the resume was refused once: {d:?}");
    assert_eq!(d.identifies, 2, "then a fresh identify: {d:?}");
}
