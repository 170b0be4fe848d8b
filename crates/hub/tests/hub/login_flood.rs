//! Logins under attack: password hashing (argon2, 19 MiB each) runs on a bounded pool, so a
//! flood costs bounded memory and the hub keeps answering; failed logins back off per account
//! and per client address.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rapport_testkit::{Api, HubProcess, Launch, TestHub};
use serde_json::json;

/// The hub process's resident memory and its peak so far, in MiB, from `/proc`.
fn memory_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb / 1024)
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// One `GET /healthz` on a new connection; how long until the whole answer was read.
fn probe_healthz(addr: std::net::SocketAddr) -> Duration {
    use std::io::{Read as _, Write as _};
    let started = Instant::now();
    let mut socket = std::net::TcpStream::connect(addr).expect("connect");
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    socket.write_all(b"GET /healthz HTTP/1.1\r\nhost: hub\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).expect("healthz answers during the flood");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    started.elapsed()
}

#[tokio::test]
async fn three_hundred_parallel_logins_keep_memory_bounded_and_health_keeps_answering() {
    // Behind a proxy that names the client, so the 300 logins come from 300 addresses, as in a
    // distributed attack: the per-address throttle does not help here, only the pool does.
    let hub = HubProcess::launch(Launch { args: &["--client-address-header", "x-forwarded-for"], ..Launch::default() }).await;
    let pid = hub.pid().expect("running");
    let (rss_at_start, _) = memory_mib(pid);

    let done = Arc::new(AtomicBool::new(false));
    // Probed from a thread of its own with plain blocking sockets, so the flood's client (on
    // this test's runtime) cannot delay the probes: what is measured is the hub. A fresh
    // connection for every probe, so accepting is measured too.
    let health = {
        let (addr, done) = (hub.addr, done.clone());
        std::thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            let mut probes = 0;
            while !done.load(Ordering::Relaxed) {
                slowest = slowest.max(probe_healthz(addr));
                probes += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            (slowest, probes)
        })
    };

    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let started = Instant::now();
    let logins = (0..300).map(|n| {
        let client = client.clone();
        let url = format!("{}/v1/auth/login", hub.url());
        async move {
            let reply = client
                .post(url)
                .header("x-forwarded-for", format!("203.0.113.{}, 10.0.{}.{}", n % 250, n / 250, n % 250))
                .json(&json!({"email": format!("nobody-{n}@x.test"), "password": "wrong password"}))
                .send()
                .await
                .expect("every login is answered");
            let status = reply.status().as_u16();
            let retry_after = reply.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body: serde_json::Value = reply.json().await.unwrap_or_default();
            (status, body["error"]["code"].as_str().unwrap_or("").to_owned(), retry_after)
        }
    });
    let answers = futures_util::future::join_all(logins).await;
    let flood_took = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (slowest_health, probes) = health.join().unwrap();
    let (rss_after, peak) = memory_mib(pid);

    let mut refused = 0;
    for (status, code, retry_after) in &answers {
        match (status, code.as_str()) {
            (401, "invalid_credentials") => {}
            (503, "unavailable") => {
                refused += 1;
                assert!(retry_after.as_deref().is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s >= 1)), "a busy answer says when to retry");
            }
            other => panic!("a login in the flood is answered 401 or 503 busy, not {other:?}"),
        }
    }
    eprintln!(
        "300 parallel logins in {flood_took:?}: {} checked, {refused} refused busy; RSS {rss_at_start} MiB at start, peak {peak} MiB, {rss_after} MiB after; slowest of {probes} /healthz probes {slowest_health:?}",
        300 - refused
    );
    assert!(refused < 300, "the pool checks some of them");
    assert!(peak < 300, "the hub's peak RSS stays under 300 MiB (was {peak} MiB)");
    // Liveness, not speed (the figure is printed above; speed goals are the benchmarks'): were
    // hashing on the runtime's threads, /healthz would wait for the flood and answer once or
    // twice in all, not again and again while it runs.
    assert!(probes >= 3, "healthz kept answering during the flood ({probes} probes answered in {flood_took:?})");
}

#[tokio::test]
async fn failed_logins_back_off_per_account_and_a_success_resets_it() {
    let hub = TestHub::start().await;
    let api = hub.api();
    api.register("ann@x.test", "Ann", "candidate").await;
    let wrong = json!({"email": "ann@x.test", "password": "wrong password"});
    let right = json!({"email": "ANN@x.test", "password": "correct horse"});
    for n in 0..5 {
        let reply = api.post("/v1/auth/login", wrong.clone()).await;
        assert_eq!((reply.status, reply.code()), (401, "invalid_credentials"), "attempt {n} is checked");
    }
    let throttled = api.call("POST", "/v1/auth/login", Some(right.clone()), &[]).await;
    assert_eq!((throttled.status, throttled.code()), (429, "rate_limited"), "after 5 failures even the right password waits");
    let wait = throttled.body["error"]["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!((500..=1000).contains(&wait), "the first back-off is about 1 s, got {wait} ms");
    let other = api.post("/v1/auth/login", json!({"email": "bob@x.test", "password": "whatever1"})).await;
    assert_eq!(other.code(), "invalid_credentials", "other accounts are not held back");

    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    let again = api.post("/v1/auth/login", wrong.clone()).await;
    assert_eq!(again.code(), "invalid_credentials", "after the wait one more attempt is checked");
    let longer = api.post("/v1/auth/login", right.clone()).await;
    let next_wait = longer.body["error"]["retry_after_ms"].as_u64().expect("throttled again");
    assert!(next_wait > wait, "each further failure doubles the wait ({wait} → {next_wait} ms)");

    tokio::time::sleep(Duration::from_millis(next_wait + 50)).await;
    let ok = api.post("/v1/auth/login", right.clone()).await;
    assert_eq!(ok.status, 200, "the right password after the wait logs in: {:?}", ok.body);
    let fresh = api.post("/v1/auth/login", wrong).await;
    assert_eq!(fresh.code(), "invalid_credentials", "a success forgets the failures");
}

#[tokio::test]
async fn failed_logins_back_off_per_client_address_across_accounts() {
    let hub = TestHub::start().await;
    let api = Api::new(&hub.url());
    // One guess per account, so no account's own limit is reached: only the address's is.
    let mut first_throttled = None;
    for n in 0..60 {
        let reply = api.post("/v1/auth/login", json!({"email": format!("guess-{n}@x.test"), "password": "wrong password"})).await;
        match (reply.status, reply.code()) {
            (401, "invalid_credentials") => {}
            (429, "rate_limited") => {
                first_throttled = Some(n);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(first_throttled, Some(50), "an address has 50 free failures, then waits");
    // A forwarded-for header is not trusted unless the hub was told to: no way around it.
    let spoofed = api.call("POST", "/v1/auth/login", Some(json!({"email": "x@x.test", "password": "wrong password"})), &[("x-forwarded-for", "198.51.100.7")]).await;
    assert_eq!(spoofed.code(), "rate_limited", "X-Forwarded-For is ignored by default");
}
