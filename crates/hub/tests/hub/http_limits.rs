//! HTTP connections that stall are closed — silent TCP, unfinished headers, idle keep-alive,
//! bodies that never arrive — and a cap on them never locks `/healthz` out. Real sockets.

use std::time::{Duration, Instant};

use rapport_testkit::{Gw, HubProcess, Launch, TestHub};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: hub\r\n\r\n";

/// Reads until the hub closes the connection, at most `within`: what it sent, and when it
/// closed (`None`: still open at the end).
async fn read_until_closed(socket: &mut TcpStream, within: Duration) -> (Vec<u8>, Option<Duration>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = within.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, socket.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, Some(started.elapsed())),
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
            Err(_) => return (received, None),
        }
    }
}

/// Reads one response to a request without a body (`content-length` framed).
async fn read_response(socket: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                .expect("content-length");
            if body.len() >= length {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut chunk)).await.expect("a response").expect("read");
        assert!(n > 0, "closed before the response was complete: {text:?}");
        received.extend_from_slice(&chunk[..n]);
    }
}

fn short_timeouts(config: &mut rapport_testkit::Config) {
    config.http_header_timeout = Duration::from_millis(500);
    config.http_idle_timeout = Duration::from_millis(1500);
    config.http_request_timeout = Duration::from_millis(1000);
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    let hub = TestHub::start_with(short_timeouts).await;
    let mut socket = TcpStream::connect(hub.addr).await.unwrap();
    let (sent, closed) = read_until_closed(&mut socket, Duration::from_secs(5)).await;
    let closed = closed.expect("a connection that never sends a byte is closed");
    assert!(closed >= Duration::from_millis(400), "not before the header timeout (closed after {closed:?})");
    assert!(closed < Duration::from_secs(3), "soon after the 500 ms header timeout, not {closed:?}");
    assert!(sent.is_empty(), "nothing is answered to nothing: {sent:?}");
}

#[tokio::test]
async fn unfinished_headers_are_closed_after_the_header_timeout_however_slowly_they_trickle() {
    let hub = TestHub::start_with(short_timeouts).await;
    let mut socket = TcpStream::connect(hub.addr).await.unwrap();
    socket.write_all(b"GET /healthz HTTP/1.1\r\nhost: hub\r\n").await.unwrap();
    let started = Instant::now();
    // Slowloris: a byte of one more header every 100 ms never completes the head.
    let mut closed_after = None;
    for byte in b"x-slow: ".iter().cycle().take(40) {
        if socket.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut probe = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(100), socket.read(&mut probe)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Ok(Ok(_)) | Err(_) => {}
        }
    }
    let closed_after = closed_after.expect("a head trickling in for 4 s is cut off");
    assert!(closed_after < Duration::from_secs(2), "within the 500 ms header timeout and some slack, not {closed_after:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let hub = TestHub::start_with(short_timeouts).await;
    let mut socket = TcpStream::connect(hub.addr).await.unwrap();
    socket.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut socket).await.starts_with("HTTP/1.1 200"));
    // Longer than the header timeout, shorter than the idle one: still open, and reusable.
    tokio::time::sleep(Duration::from_millis(900)).await;
    socket.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut socket).await.starts_with("HTTP/1.1 200"), "keep-alive survives 900 ms of silence");
    let (_, closed) = read_until_closed(&mut socket, Duration::from_secs(6)).await;
    let closed = closed.expect("an idle keep-alive connection is closed");
    assert!(closed >= Duration::from_millis(1300), "not before the 1.5 s idle timeout (after {closed:?})");
    assert!(closed < Duration::from_secs(4), "soon after it, not {closed:?}");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_503_and_the_connection_closes() {
    let hub = TestHub::start_with(short_timeouts).await;
    let mut socket = TcpStream::connect(hub.addr).await.unwrap();
    socket
        .write_all(b"POST /v1/auth/login HTTP/1.1\r\nhost: hub\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\":")
        .await
        .unwrap();
    let (sent, closed) = read_until_closed(&mut socket, Duration::from_secs(5)).await;
    let closed = closed.expect("the connection is closed after the answer");
    let text = String::from_utf8_lossy(&sent);
    assert!(text.starts_with("HTTP/1.1 503"), "a request that cannot complete is answered 503: {text:?}");
    assert!(text.contains(r#""code":"unavailable""#), "in the protocol's error shape: {text:?}");
    assert!(text.to_ascii_lowercase().contains("retry-after: 1"), "{text:?}");
    assert!(closed >= Duration::from_millis(900) && closed < Duration::from_secs(3), "after the 1 s request timeout: {closed:?}");
}

#[tokio::test]
async fn a_websocket_is_not_cut_by_the_http_timeouts() {
    let hub = TestHub::start_with(short_timeouts).await;
    let (_, session) = hub.api().user("Patient", "candidate").await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &session.access_token).await;
    // Silent for longer than every HTTP timeout, but well within the gateway's heartbeat.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(gw.request("ping", json!(null)).await["op"], "pong", "the gateway's own heartbeat rules a WebSocket");
}

#[tokio::test]
async fn at_the_connection_cap_idle_sockets_make_room_and_healthz_still_answers_fast() {
    let hub = TestHub::start_with(|c| c.max_http_connections = 20).await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(hub.addr).await.unwrap());
    }
    // Every new connection closed the one idle the longest: only the newest 20 stay open.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        let mut socket = TcpStream::connect(hub.addr).await.unwrap();
        socket.write_all(HEALTHZ).await.unwrap();
        assert!(read_response(&mut socket).await.starts_with("HTTP/1.1 200"));
        slowest = slowest.max(started.elapsed());
    }
    eprintln!("cap of 20, 300 idle sockets: slowest of 10 /healthz {slowest:?}");
    assert!(slowest < Duration::from_millis(50), "healthz answers within 50 ms at the cap (slowest {slowest:?})");
    let mut still_open = 0;
    for socket in &mut idle {
        if read_until_closed(socket, Duration::from_millis(5)).await.1.is_none() {
            still_open += 1;
        }
    }
    assert!(still_open <= 20, "at most the cap stays open: {still_open} of 300 idle sockets did");
}

#[tokio::test]
async fn a_low_open_file_limit_never_stops_healthz() {
    // The hub process with room for 256 files: 300 silent sockets used to exhaust them, so
    // accepting failed and /healthz timed out.
    let hub = HubProcess::launch(Launch { open_files: Some(256), ..Launch::default() }).await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        match TcpStream::connect(hub.addr).await {
            Ok(socket) => idle.push(socket),
            Err(err) => panic!("connecting must not fail: {err}"),
        }
    }
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        let mut socket = TcpStream::connect(hub.addr).await.unwrap();
        socket.write_all(HEALTHZ).await.unwrap();
        let response = tokio::time::timeout(Duration::from_secs(3), read_response(&mut socket)).await.expect("healthz answers with the file table full");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        slowest = slowest.max(started.elapsed());
    }
    eprintln!("open-file limit 256, 300 idle sockets: slowest of 10 /healthz {slowest:?}");
    assert!(slowest < Duration::from_millis(50), "healthz answers within 50 ms (slowest {slowest:?})");
}

/// Starts `POST /v1/attachments` by hand with `Content-Length: length`, so that the body can be
/// paced.
async fn upload_head(hub: &TestHub, length: usize) -> TcpStream {
    let (_, session) = hub.api().user("Uploader", "recruiter").await;
    let mut socket = TcpStream::connect(hub.addr).await.unwrap();
    let head = format!(
        "POST /v1/attachments HTTP/1.1\r\nhost: hub\r\nauthorization: Bearer {}\r\ncontent-type: application/octet-stream\r\nx-filename: cv.pdf\r\ncontent-length: {length}\r\n\r\n",
        session.access_token
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
}

/// Writes `body` in `chunk`-byte pieces, one every `every`.
async fn paced(socket: &mut TcpStream, body: &[u8], chunk: usize, every: Duration) {
    for piece in body.chunks(chunk) {
        socket.write_all(piece).await.unwrap();
        tokio::time::sleep(every).await;
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_25_mib_upload_that_takes_many_request_timeouts_is_served() {
    let hub = TestHub::start_with(short_timeouts).await;
    let file: Vec<u8> = (0..25 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let mut socket = upload_head(&hub, file.len()).await;
    let started = Instant::now();
    // 256 KiB every 50 ms: about 5 MiB/s, so the body takes some 5 s — five request timeouts.
    paced(&mut socket, &file, 256 * 1024, Duration::from_millis(50)).await;
    let response = read_response(&mut socket).await;
    let took = started.elapsed();
    assert!(took > Duration::from_secs(4), "the body really outlasted the 1 s request timeout: {took:?}");
    assert!(response.starts_with("HTTP/1.1 201"), "a large upload that keeps coming is served: {}", &response[..response.len().min(400)]);
    let body = response.split_once("\r\n\r\n").unwrap().1;
    let attachment: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!((attachment["size"].as_u64(), attachment["sha256"].as_str()), (Some(file.len() as u64), Some(sha256_hex(&file).as_str())), "every byte arrived");
}

#[tokio::test]
async fn an_upload_at_a_slow_but_steady_rate_is_served() {
    let hub = TestHub::start_with(short_timeouts).await;
    let file: Vec<u8> = (0..96 * 1024u32).map(|i| (i % 13) as u8).collect();
    let mut socket = upload_head(&hub, file.len()).await;
    let started = Instant::now();
    // 4 KiB every 250 ms: 16 KiB/s (a 128 kbit/s link), twice the slowest rate the hub serves;
    // the body takes 6 s, six request timeouts.
    paced(&mut socket, &file, 4 * 1024, Duration::from_millis(250)).await;
    let response = read_response(&mut socket).await;
    assert!(started.elapsed() > Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
}

#[tokio::test]
async fn an_upload_that_drips_or_stops_is_cut_off_after_about_the_request_timeout() {
    let hub = TestHub::start_with(short_timeouts).await;
    // A drip: 100 bytes every 100 ms (1 KB/s) of a declared 1 MiB, to hold the connection.
    let mut socket = upload_head(&hub, 1 << 20).await;
    let (mut reader, mut writer) = socket.into_split();
    let drip = tokio::spawn(async move { while writer.write_all(&[1u8; 100]).await.is_ok() { tokio::time::sleep(Duration::from_millis(100)).await; } });
    let started = Instant::now();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(Ok(n @ 1..)) = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut chunk)).await {
        received.extend_from_slice(&chunk[..n]);
    }
    drip.abort();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 503") && text.contains(r#""code":"unavailable""#), "a drip is answered 503 unavailable: {text:?}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "after about the 1 s request timeout: {took:?}");

    // A stop: 4 MiB at once (which bought minutes), then silence.
    socket = upload_head(&hub, 8 << 20).await;
    socket.write_all(&vec![2u8; 4 << 20]).await.unwrap();
    let (sent, closed) = read_until_closed(&mut socket, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&sent);
    assert!(text.starts_with("HTTP/1.1 503"), "a body that stops half-way is answered 503: {text:?}");
    let closed = closed.expect("and the connection closes");
    assert!(closed < Duration::from_secs(3), "about 1 s after its last byte, not the minutes it banked: {closed:?}");

    // Neither left a part file behind.
    let incoming = hub.config.blobs_dir.join("incoming");
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_dir(&incoming).map(|d| d.count()).unwrap_or(0) > 0 {
        assert!(Instant::now() < deadline, "cut-off uploads leave no part file");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
