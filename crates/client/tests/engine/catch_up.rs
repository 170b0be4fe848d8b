//! Catch-up of a long absence: progress events and an exact copy of the history.

use rapport_client::EngineEvent;
use rapport_testkit::TestHub;

use crate::support::{assert_cache_equals_hub, hub_history, next_event, Client, DEADLINE};

#[tokio::test]
async fn a_long_absence_is_caught_up_in_pages_with_progress() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    // 450 messages: three pages of 200, 200 and 50 for bob.
    for i in 0..450 {
        alice.engine.send(&conversation.id, &format!("message number {i}")).await.unwrap();
    }
    alice.engine.sync(std::time::Duration::from_secs(60)).await.expect("alice flushes 450 messages");
    let mut events = bob.engine.subscribe();
    bob.engine.sync(DEADLINE).await.expect("bob catches up");
    let (done, total) = next_event(&mut events, "final progress", |e| match e {
        EngineEvent::Syncing { done, total } if done == total => Some((*done, *total)),
        _ => None,
    })
    .await;
    assert_eq!((done, total), (450, 450), "progress counts messages");
    let hub_view = hub_history(&bob.api(&hub.url()).await, &conversation.id).await;
    assert_cache_equals_hub("bob", &bob.engine, &hub_view, &conversation.id).await;
    let list = bob.engine.conversations().await.unwrap();
    assert_eq!(list[0].unread_count, 450, "all unread");
    let page = bob.engine.history(&conversation.id, Some(101), 50).await.unwrap();
    assert_eq!(page.messages.first().unwrap().seq, Some(51), "before_seq pages backwards");
    assert_eq!(page.messages.len(), 50);
    assert!(page.has_more, "older messages exist");
}
