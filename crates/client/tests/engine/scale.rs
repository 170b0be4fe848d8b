//! Measurements (ignored by default; run with `--ignored --nocapture`).

use std::time::Instant;

use rapport_testkit::TestHub;

use crate::support::{hub_history, Client};

/// Seeds `n` messages through raw gateway connections (a fresh one per 200, to stay within the
/// hub's per-session burst allowance).
async fn seed(hub: &TestHub, token: &str, conversation_id: &str, n: usize) {
    let mut sent = 0;
    while sent < n {
        let (mut gw, _) = rapport_testkit::Gw::ready(&hub.gateway_url(), token).await;
        let batch = (n - sent).min(200);
        let mut refs = Vec::new();
        for i in 0..batch {
            let body = format!("seeded message {} about salary and remote work", sent + i);
            refs.push(gw.send_op("message.send", serde_json::json!({"conversation_id": conversation_id, "client_msg_id": format!("seed-{}", sent + i), "body": body})).await);
        }
        for r in refs {
            let reply = gw.reply_to(&r).await;
            assert_eq!(reply["op"], "ack", "{reply}");
        }
        sent += batch;
        gw.close().await;
    }
}

#[tokio::test]
#[ignore = "measurement"]
async fn measure_catch_up_of_10k_messages() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    let token = alice.api(&hub.url()).await;
    let session: serde_json::Value = token.get("/v1/me").await.body;
    let _ = session;
    let login = rapport_testkit::Api::new(&hub.url())
        .post("/v1/auth/login", serde_json::json!({"email": alice.user.email, "password": alice.password}))
        .await;
    let t = Instant::now();
    seed(&hub, login.body["access_token"].as_str().unwrap(), &conversation.id, 10_000).await;
    println!("seeded 10k messages in {:?}", t.elapsed());
    let t = Instant::now();
    bob.engine.sync(std::time::Duration::from_secs(600)).await.unwrap();
    println!("MEASURE catch-up of 10k messages: {:?}", t.elapsed());
    let hub_view = hub_history(&bob.api(&hub.url()).await, &conversation.id).await;
    crate::support::assert_cache_equals_hub("bob", &bob.engine, &hub_view, &conversation.id).await;
    let t = Instant::now();
    let hits = bob.engine.search("salary remote", 20).await.unwrap();
    println!("MEASURE search over 10k cached messages: {:?} ({} hits)", t.elapsed(), hits.len());
}
