//! Bounds: frame size, rate limit, flood, connection cap.

use rapport_testkit::{Closed, Gw, TestHub};
use serde_json::json;

use crate::support::{pair, send_data};

#[tokio::test]
async fn a_frame_over_64_kib_closes_1009_but_a_large_legal_frame_does_not() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    // 60 KiB: within the frame limit, so it is answered (the body itself is too long).
    let big = gw.request("message.send", send_data(&p.conversation.id, "big", &"x".repeat(60 * 1024))).await;
    assert_eq!(big["error"]["code"], "body_too_long");
    gw.send_text(json!({"op": "ping", "ref": 1, "pad": "y".repeat(65 * 1024)}).to_string()).await;
    assert_eq!(gw.closed().await, Closed::Code(1009));
}

#[tokio::test]
async fn bursts_of_200_pass_more_is_rate_limited_and_a_flood_is_closed() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    // Some ops first: the promised burst of 200 must still be there.
    for _ in 0..50 {
        assert_eq!(gw.request("typing", json!({"conversation_id": c})).await["op"], "ack");
    }
    let mut burst = Vec::new();
    for _ in 0..200 {
        burst.push(gw.send_op("typing", json!({"conversation_id": c})).await);
    }
    for r in &burst {
        assert_eq!(gw.reply_to(r).await["op"], "ack", "a burst of 200 is always allowed");
    }
    let mut refs = Vec::new();
    for _ in 0..600 {
        refs.push(gw.send_op("typing", json!({"conversation_id": c})).await);
    }
    let mut acks = 0;
    let mut limited = 0;
    for r in &refs {
        let reply = gw.reply_to(r).await;
        match reply["op"].as_str() {
            Some("ack") => acks += 1,
            Some("error") => {
                assert_eq!(reply["error"]["code"], "rate_limited");
                assert!(reply["error"]["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{reply}");
                limited += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(acks <= 500, "more than 500 ops within one second are refused (got {acks} acks)");
    assert!(limited >= 100, "600 ops at once exceed what one second allows ({limited} limited)");
    assert_eq!(gw.request("ping", json!(null)).await["op"], "pong", "pings are never limited");

    let flood = json!({"op": "typing", "data": {"conversation_id": c}}).to_string();
    for _ in 0..3000 {
        if !gw.try_send_text(flood.clone()).await {
            break; // already closed
        }
    }
    assert_eq!(gw.closed().await, Closed::Code(4008), "a client that keeps flooding is closed");
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_with_503() {
    let hub = TestHub::start_with(|c| c.max_connections = 2).await;
    let _a = Gw::connect(&hub.gateway_url()).await;
    let b = Gw::connect(&hub.gateway_url()).await;
    let refused = tokio_tungstenite::connect_async(hub.gateway_url()).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("a third connection must be refused, got {:?}", other.map(|_| ())),
    }
    b.close().await;
    // The place is given back once a connection closes.
    let deadline = tokio::time::Instant::now() + rapport_testkit::WAIT;
    while tokio_tungstenite::connect_async(hub.gateway_url()).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the freed place must be reusable");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
