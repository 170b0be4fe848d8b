//! Graceful shutdown: every session gets 1001 before the hub returns.

use std::time::{Duration, Instant};

use rapport_testkit::{Closed, Gw, HubProcess, TestHub};

#[tokio::test]
async fn every_session_gets_1001_and_run_returns() {
    let mut hub = TestHub::start().await;
    let (_, a) = hub.api().user("A", "candidate").await;
    let (mut one, _) = Gw::ready(&hub.gateway_url(), &a.access_token).await;
    let (mut two, _) = Gw::ready(&hub.gateway_url(), &a.access_token).await;
    let mut unidentified = Gw::connect(&hub.gateway_url()).await;
    let started = Instant::now();
    let (stopped, c1, c2, c3) = tokio::join!(hub.stop(), one.closed(), two.closed(), unidentified.closed());
    stopped.expect("run returns Ok");
    assert!(started.elapsed() < Duration::from_secs(10), "shutdown within 10 s");
    assert_eq!([c1, c2, c3], [Closed::Code(1001), Closed::Code(1001), Closed::Code(1001)]);
}

#[tokio::test]
async fn sigterm_closes_sessions_with_1001_and_exits_0() {
    let mut hub = HubProcess::start(&[]).await;
    let api = rapport_testkit::Api::new(&hub.url());
    let (_, s) = api.user("Term", "candidate").await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &s.access_token).await;
    let (status, closed) = tokio::join!(hub.terminate(), gw.closed());
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(closed, Closed::Code(1001));
}

#[tokio::test]
async fn messages_survive_a_crash_and_seq_continues_after_restart() {
    let mut hub = HubProcess::start(&[]).await;
    let api = rapport_testkit::Api::new(&hub.url());
    let (alice, a) = api.user("Alice", "recruiter").await;
    let (_, b) = api.user("Bob", "candidate").await;
    let c = alice.direct(&b.user.id).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &a.access_token).await;
    for n in 1..=5 {
        let ack = gw.request("message.send", crate::support::send_data(&c.id, &format!("k{n}"), "durable")).await;
        assert_eq!(ack["op"], "ack");
    }
    hub.kill().await; // SIGKILL: acked means stored
    hub.restart().await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &a.access_token).await;
    let resend = gw.request("message.send", crate::support::send_data(&c.id, "k5", "durable")).await;
    assert_eq!(resend["data"]["message"]["seq"], 5, "idempotency survives the restart");
    let next = gw.request("message.send", crate::support::send_data(&c.id, "k6", "durable")).await;
    assert_eq!(next["data"]["message"]["seq"], 6, "seq continues without a gap");
    let history = alice.get(&format!("/v1/conversations/{}/messages", c.id)).await.body;
    let seqs: Vec<i64> = history["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
}
