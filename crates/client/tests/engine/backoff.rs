//! The supervisor's retries against a hub that is not there (timing of the schedule itself is
//! unit-tested with paused time in `src/backoff.rs`).

use std::time::Duration;

use rapport_client::{ConnectionState, EngineEvent};
use rapport_testkit::TestHub;

use crate::support::{connected, next_event, Client};

#[tokio::test]
async fn retries_back_off_with_jitter_and_reconnect_now_cuts_the_wait() {
    let mut hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    hub.stop().await.unwrap();
    let mut events = alice.engine.subscribe();
    alice.engine.start();
    let ceilings = [500u64, 1000, 2000];
    for (i, ceiling) in ceilings.iter().enumerate() {
        let (attempt, retry_in_ms) = next_event(&mut events, "a reconnecting state", |e| match e {
            EngineEvent::Connection(ConnectionState::Reconnecting { attempt, retry_in_ms }) => Some((*attempt, *retry_in_ms)),
            _ => None,
        })
        .await;
        assert_eq!(attempt as usize, i + 1, "attempts count up");
        assert!(retry_in_ms <= *ceiling, "attempt {attempt}: {retry_in_ms} ms is above the {ceiling} ms ceiling");
    }
    hub.restart().await;
    let t0 = tokio::time::Instant::now();
    alice.engine.reconnect_now();
    connected(&alice.engine).await;
    assert!(t0.elapsed() < Duration::from_secs(3), "reconnect_now does not wait out the backoff ({:?})", t0.elapsed());
}
