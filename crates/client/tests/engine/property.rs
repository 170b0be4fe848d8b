//! Property: whatever the interleaving of sends, dropped connections and hub crashes, every
//! member's cache ends equal to the hub's history, and every message is stored exactly once.

use proptest::prelude::*;
use rapport_testkit::{Proxy, TestHub};

use crate::support::{assert_cache_equals_hub, hub_history, Client, DEADLINE};

#[derive(Debug, Clone)]
enum Step {
    /// Client `who` writes `count` messages.
    Send { who: usize, count: usize },
    /// Client `who`'s connection drops.
    Cut { who: usize },
    /// Client `who` is offline for a while (sends queue up meanwhile).
    Offline { who: usize },
    /// Client `who` is back.
    Online { who: usize },
    /// The hub crashes and restarts (sessions lost).
    HubCrash,
    /// Let things run for a moment.
    Pause { ms: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..2usize, 1..6usize).prop_map(|(who, count)| Step::Send { who, count }),
        2 => (0..2usize).prop_map(|who| Step::Cut { who }),
        1 => (0..2usize).prop_map(|who| Step::Offline { who }),
        1 => (0..2usize).prop_map(|who| Step::Online { who }),
        1 => Just(Step::HubCrash),
        1 => (0..150u64).prop_map(|ms| Step::Pause { ms }),
    ]
}

async fn scenario(steps: Vec<Step>) {
    let mut hub = TestHub::start().await;
    let proxies = [Proxy::start(hub.addr).await, Proxy::start(hub.addr).await];
    let clients = [Client::register(&proxies[0].url(), "Pat").await, Client::register(&proxies[1].url(), "Quinn").await];
    let conversation = clients[0].engine.start_direct(&clients[1].user.id).await.unwrap();
    for c in &clients {
        c.engine.start();
    }
    let mut written = 0usize;
    for step in steps {
        match step {
            Step::Send { who, count } => {
                for i in 0..count {
                    clients[who].engine.send(&conversation.id, &format!("{who}:{written}:{i}")).await.unwrap();
                }
                written += count;
            }
            Step::Cut { who } => proxies[who].cut(),
            Step::Offline { who } => proxies[who].block(),
            Step::Online { who } => {
                proxies[who].unblock();
                clients[who].engine.reconnect_now();
            }
            Step::HubCrash => {
                hub.crash().await;
                for p in &proxies {
                    p.cut();
                }
                hub.restart().await;
            }
            Step::Pause { ms } => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        }
    }
    for (p, c) in proxies.iter().zip(&clients) {
        p.unblock();
        c.engine.reconnect_now();
    }
    for c in &clients {
        c.engine.wait_outbox_empty(DEADLINE).await.expect("every message acknowledged in the end");
    }
    for c in &clients {
        c.engine.sync(DEADLINE).await.expect("final catch-up");
    }
    let hub_view = hub_history(&clients[0].api(&hub.url()).await, &conversation.id).await;
    assert_eq!(hub_view.len(), written, "each written message stored exactly once");
    for (n, c) in clients.iter().enumerate() {
        assert_cache_equals_hub(&format!("client {n}"), &c.engine, &hub_view, &conversation.id).await;
        c.engine.shutdown().await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn caches_equal_hub_history_after_any_interleaving(steps in proptest::collection::vec(step(), 1..20)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(scenario(steps));
    }
}
