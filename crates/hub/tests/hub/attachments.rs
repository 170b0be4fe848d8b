//! 1.1 §2: attachments — streamed uploads with their limits, members-only downloads with
//! ranges and safe headers, thumbnails, and nothing left behind by failures, deletions or
//! uploads nobody sends.

use std::io::Cursor;
use std::time::Duration;

use rapport_testkit::{Api, Gw, TestHub};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{code, pair, target};

/// Files under the blob directory (incoming part files included), thumbnails aside.
fn blob_files(hub: &TestHub) -> Vec<String> {
    let mut files = Vec::new();
    for dir in [hub.config.blobs_dir.clone(), hub.config.blobs_dir.join("incoming")] {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_file() {
                files.push(entry.file_name().into_string().unwrap());
            }
        }
    }
    files
}

async fn attachment_rows(hub: &TestHub) -> i64 {
    hub.query_integer("SELECT COUNT(*) FROM attachments").await
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90])).write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn send_with(conversation_id: &str, client_msg_id: &str, body: &str, attachment_ids: Value) -> Value {
    json!({"conversation_id": conversation_id, "client_msg_id": client_msg_id, "body": body, "attachment_ids": attachment_ids})
}

async fn download(api: &Api, id: &Value, headers: &[(&str, &str)]) -> rapport_testkit::RawReply {
    api.raw("GET", &format!("/v1/attachments/{}", id.as_str().unwrap()), headers, None).await
}

#[tokio::test]
async fn an_uploaded_cv_is_sent_and_downloaded_by_members_only_with_ranges() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (stranger, _) = hub.api().user("Eve Stranger", "candidate").await;
    let cv: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let uploaded = p.bob.upload("Lebenslauf Bob Müller.pdf", "application/pdf", cv.clone()).await;
    assert_eq!(uploaded.status, 201, "{:?}", uploaded.body);
    let a = uploaded.body.clone();
    assert_eq!(a["filename"], "Lebenslauf Bob Müller.pdf", "percent-decoded UTF-8");
    assert_eq!((a["size"].as_u64(), a["content_type"].as_str()), (Some(300_000), Some("application/pdf")));
    assert_eq!(a["sha256"], hex::encode(Sha256::digest(&cv)), "the hash of what arrived");
    assert!(a.get("width").is_none(), "not an image: {a}");
    assert_eq!(download(&p.bob, &a["id"], &[]).await.body, cv, "the uploader may fetch an unsent upload");
    assert_eq!(download(&p.alice, &a["id"], &[]).await.status, 404, "nobody else may before it is sent");

    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let ack = bob.request("message.send", send_with(c, "cv", "", json!([a["id"]]))).await;
    assert_eq!(ack["op"], "ack", "an empty body is fine with a file: {ack}");
    assert_eq!(ack["data"]["message"]["attachments"], json!([a]));
    assert_eq!(alice.event("message.created").await["data"]["message"]["attachments"][0]["id"], a["id"]);

    let whole = download(&p.alice, &a["id"], &[]).await;
    assert_eq!((whole.status, whole.body.len()), (200, cv.len()));
    assert_eq!(whole.body, cv);
    assert_eq!(whole.header("content-type"), "application/pdf");
    assert_eq!(whole.header("x-content-type-options"), "nosniff");
    assert_eq!(whole.header("cache-control"), "private");
    assert_eq!(whole.header("accept-ranges"), "bytes");
    assert!(whole.header("content-disposition").starts_with("attachment;"), "never inline");
    assert!(whole.header("content-disposition").contains("filename*=UTF-8''Lebenslauf%20Bob%20M%C3%BCller%2Epdf"), "{}", whole.header("content-disposition"));
    assert_eq!(download(&stranger, &a["id"], &[]).await.status, 404, "not a member");
    assert_eq!(download(&p.alice, &json!("no-such-attachment"), &[]).await.status, 404);

    let part = download(&p.alice, &a["id"], &[("range", "bytes=1000-1999")]).await;
    assert_eq!((part.status, part.header("content-range")), (206, "bytes 1000-1999/300000"));
    assert_eq!(part.body, cv[1000..2000]);
    let tail = download(&p.alice, &a["id"], &[("range", "bytes=-500")]).await;
    assert_eq!((tail.status, tail.body.as_slice()), (206, &cv[cv.len() - 500..]));
    let resume = download(&p.alice, &a["id"], &[("range", "bytes=299000-"), ("if-range", whole.header("etag"))]).await;
    assert_eq!((resume.status, resume.body.len()), (206, 1000), "a resumed download of the same file");
    let changed = download(&p.alice, &a["id"], &[("range", "bytes=299000-"), ("if-range", "\"another-file\"")]).await;
    assert_eq!((changed.status, changed.body.len()), (200, cv.len()), "If-Range that does not match: the whole file");
    let outside = download(&p.alice, &a["id"], &[("range", "bytes=300000-")]).await;
    assert_eq!((outside.status, outside.header("content-range")), (416, "bytes */300000"));
    let body: Value = serde_json::from_slice(&outside.body).unwrap();
    assert_eq!(body["error"]["code"], "range_not_satisfiable");
}

#[tokio::test]
async fn every_attachment_rule_is_answered_and_nothing_is_half_done() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;

    let empty = p.bob.upload("empty.txt", "text/plain", Vec::new()).await;
    assert_eq!((empty.status, empty.code()), (400, "invalid_payload"), "an empty file");
    let unnamed = p.bob.raw("POST", "/v1/attachments", &[("content-type", "text/plain")], Some(b"x".to_vec())).await;
    assert_eq!(unnamed.status, 400, "X-Filename is required");
    let wrong_hash = p.bob.raw("POST", "/v1/attachments", &[("x-filename", "a.txt"), ("x-sha256", &"0".repeat(64))], Some(b"abc".to_vec())).await;
    assert_eq!(wrong_hash.status, 400, "a SHA-256 that does not match stores nothing");
    let anonymous = Api::new(&hub.url()).upload("a.txt", "text/plain", b"abc".to_vec()).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(attachment_rows(&hub).await, 0);

    let mut ids = Vec::new();
    for n in 0..11 {
        ids.push(p.bob.upload(&format!("f{n}.txt"), "text/plain", format!("file {n}").into_bytes()).await.body["id"].clone());
    }
    let eleven = bob.request("message.send", send_with(c, "eleven", "", json!(ids))).await;
    assert_eq!(code(&eleven), "invalid_payload", "at most 10 per message: {eleven}");
    let repeated = bob.request("message.send", send_with(c, "rep", "", json!([ids[0], ids[0]]))).await;
    assert_eq!(code(&repeated), "invalid_payload");
    let theirs = alice.request("message.send", send_with(c, "theirs", "look", json!([ids[0]]))).await;
    assert_eq!(code(&theirs), "not_found", "only the uploader may attach: {theirs}");
    let unknown = bob.request("message.send", send_with(c, "unknown", "x", json!(["no-such-upload"]))).await;
    assert_eq!(code(&unknown), "not_found");
    let mixed = bob.request("message.send", send_with(c, "mixed", "x", json!([ids[1], "no-such-upload"]))).await;
    assert_eq!(code(&mixed), "not_found", "one bad id refuses the whole message");
    let no_body = bob.request("message.send", send_with(c, "nobody", "", json!([]))).await;
    assert_eq!(code(&no_body), "body_empty", "without files the body rules of v1 hold");

    let ten = bob.request("message.send", send_with(c, "ten", "ten files", json!(ids[..10]))).await;
    assert_eq!(ten["data"]["message"]["attachments"].as_array().unwrap().len(), 10, "{ten}");
    let order: Vec<&str> = ten["data"]["message"]["attachments"].as_array().unwrap().iter().map(|a| a["filename"].as_str().unwrap()).collect();
    assert_eq!(order[..3], ["f0.txt", "f1.txt", "f2.txt"], "in the order given");
    let resend = bob.request("message.send", send_with(c, "ten", "ten files", json!(ids[..10]))).await;
    assert_eq!(resend["data"], ten["data"], "a resend is the same ack, not a refusal of attached files");
    let twice = bob.request("message.send", send_with(c, "twice", "again", json!([ids[0]]))).await;
    assert_eq!(code(&twice), "not_found", "an upload is sent once");
    let history = p.alice.get(&format!("/v1/conversations/{c}/messages")).await.body;
    assert_eq!(history["messages"].as_array().unwrap().len(), 1, "no refused message was stored");

    // Deleting the message removes its files from the database and the disk.
    let file = hub.config.blobs_dir.join(ids[0].as_str().unwrap());
    assert!(file.exists());
    bob.request("message.delete", target(c, &ten["data"]["message"]["id"], json!({}))).await;
    assert_eq!(download(&p.alice, &ids[0], &[]).await.status, 404);
    assert_eq!(download(&p.bob, &ids[0], &[]).await.status, 404, "not even the uploader gets it back");
    let deadline = tokio::time::Instant::now() + rapport_testkit::WAIT;
    while file.exists() {
        assert!(tokio::time::Instant::now() < deadline, "a deleted message's file must leave the disk");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(attachment_rows(&hub).await, 1, "only the eleventh, never sent, is left");
}

#[tokio::test]
async fn images_get_their_size_and_a_small_thumbnail_other_files_none() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let photo = p.alice.upload("team.png", "image/png", png(800, 400)).await.body;
    assert_eq!((photo["width"].as_u64(), photo["height"].as_u64()), (Some(800), Some(400)), "{photo}");
    let thumb = p.alice.raw("GET", &format!("/v1/attachments/{}/thumbnail", photo["id"].as_str().unwrap()), &[], None).await;
    assert_eq!((thumb.status, thumb.header("content-type")), (200, "image/jpeg"));
    assert_eq!(thumb.header("x-content-type-options"), "nosniff");
    let small = image::load_from_memory(&thumb.body).unwrap();
    assert_eq!((small.width(), small.height()), (320, 160), "at most 320 px, proportions kept");
    let cached = p.alice.raw("GET", &format!("/v1/attachments/{}/thumbnail", photo["id"].as_str().unwrap()), &[], None).await;
    assert_eq!(cached.body, thumb.body, "made once, then served from the cache");

    let pdf = p.alice.upload("job.pdf", "application/pdf", b"%PDF-1.4 ...".to_vec()).await.body;
    assert_eq!(p.alice.raw("GET", &format!("/v1/attachments/{}/thumbnail", pdf["id"].as_str().unwrap()), &[], None).await.status, 404);
    let fake = p.alice.upload("fake.png", "image/png", b"not really a png".to_vec()).await.body;
    assert!(fake.get("width").is_none(), "declared an image but unreadable: no dimensions");
    assert_eq!(p.alice.raw("GET", &format!("/v1/attachments/{}/thumbnail", fake["id"].as_str().unwrap()), &[], None).await.status, 404);
    let (stranger, _) = hub.api().user("Eve Stranger", "candidate").await;
    assert_eq!(stranger.raw("GET", &format!("/v1/attachments/{}/thumbnail", photo["id"].as_str().unwrap()), &[], None).await.status, 404);
}

#[tokio::test]
async fn hostile_file_names_are_stored_and_served_safely() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let long = format!("{}.docx", "x".repeat(500));
    for (given, stored) in [
        ("../../../etc/passwd", "passwd"),
        ("..\\windows\\evil.bat", "evil.bat"),
        ("cv\r\nContent-Type: text/html.pdf", "html.pdf"),
        ("cv\r\nX-Evil: 1\u{202E}.pdf", "cvX-Evil_ 1.pdf"),
        (".htaccess", "htaccess"),
        ("", "file"),
    ] {
        let reply = p.alice.upload(given, "application/octet-stream", b"data".to_vec()).await;
        assert_eq!((reply.status, reply.body["filename"].as_str()), (201, Some(stored)), "{given:?}");
        let served = download(&p.alice, &reply.body["id"], &[]).await;
        assert!(!served.header("content-disposition").contains(['\r', '\n', '/']), "{}", served.header("content-disposition"));
    }
    let reply = p.alice.upload(&long, "text/plain", b"data".to_vec()).await;
    let name = reply.body["filename"].as_str().unwrap();
    assert!(name.len() <= 255 && name.ends_with(".docx"), "500 bytes are cut to 255, extension kept: {} bytes", name.len());
    let odd_type = p.alice.upload("a.html", "text/html, evil/x", b"<script>".to_vec()).await;
    assert_eq!(odd_type.body["content_type"], "application/octet-stream", "not one plain media type: {:?}", odd_type.body);
}

/// Sends the head of an upload by hand, so that the body can trickle, stop or lie.
async fn raw_upload(hub: &TestHub, token: &str, extra_headers: &str) -> TcpStream {
    let mut socket = TcpStream::connect(hub.addr).await.unwrap();
    let head = format!(
        "POST /v1/attachments HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nX-Filename: big.bin\r\n{extra_headers}\r\n",
        hub.addr
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
}

async fn status_line(socket: &mut (impl tokio::io::AsyncRead + Unpin)) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await.expect("an answer in time").unwrap();
    String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_413_before_its_body_is_read() {
    let hub = TestHub::start_with(|c| c.max_upload_bytes = 1024 * 1024).await;
    let p = pair(&hub).await;
    let token = p.alice_session.access_token.clone();

    // Content-Length says 26 MiB; only a trickle follows, 10 bytes every 100 ms (which would
    // take weeks). The answer must not wait for it.
    let socket = raw_upload(&hub, &token, &format!("Content-Length: {}\r\n", 26 * 1024 * 1024)).await;
    let (mut reader, mut writer) = socket.into_split();
    let trickle = tokio::spawn(async move {
        // Write errors are expected: the hub closes the connection once it has answered.
        while writer.write_all(&[0u8; 10]).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let started = tokio::time::Instant::now();
    assert_eq!(status_line(&mut reader).await, "HTTP/1.1 413 Payload Too Large", "answered from the headers alone");
    assert!(started.elapsed() < Duration::from_secs(3), "without waiting for the body: {:?}", started.elapsed());
    trickle.abort();

    // No Content-Length (chunked): refused once the limit is passed, not at the end.
    let socket = raw_upload(&hub, &token, "Transfer-Encoding: chunked\r\n").await;
    let (mut reader, mut writer) = socket.into_split();
    let stream = tokio::spawn(async move {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..1000 {
            // 64 MiB would follow; the hub stops reading after 1 MiB (write errors then).
            let frame = [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk.clone(), b"\r\n".to_vec()].concat();
            if writer.write_all(&frame).await.is_err() {
                break;
            }
        }
    });
    assert_eq!(status_line(&mut reader).await, "HTTP/1.1 413 Payload Too Large", "answered while the body still streams");
    stream.abort();
    let too_large = p.alice.upload("big.bin", "application/octet-stream", vec![0; 1024 * 1024 + 1]).await;
    assert_eq!(too_large.code(), "too_large");
    let at_limit = p.alice.upload("ok.bin", "application/octet-stream", vec![0; 1024 * 1024]).await;
    assert_eq!(at_limit.status, 201, "exactly the limit is fine");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(blob_files(&hub).len(), 1, "the refused uploads left no file: {:?}", blob_files(&hub));
    assert_eq!(attachment_rows(&hub).await, 1);
}

#[tokio::test]
async fn an_upload_cut_off_half_way_leaves_no_file_and_no_row() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let mut socket = raw_upload(&hub, &p.alice_session.access_token, "Content-Length: 2000000\r\n").await;
    socket.write_all(&vec![7u8; 500_000]).await.unwrap();
    // The part file exists while the upload streams…
    let deadline = tokio::time::Instant::now() + rapport_testkit::WAIT;
    while blob_files(&hub).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the upload is being written to disk");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(socket); // …and the client vanishes.
    let deadline = tokio::time::Instant::now() + rapport_testkit::WAIT;
    while !blob_files(&hub).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "a cut-off upload must leave no file: {:?}", blob_files(&hub));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(attachment_rows(&hub).await, 0, "and no row");
    assert_eq!(p.alice.upload("after.txt", "text/plain", b"fine".to_vec()).await.status, 201, "the hub serves on");
}

#[tokio::test]
async fn uploads_that_no_message_carries_are_removed_after_their_time() {
    let hub = TestHub::start_with(|c| {
        c.unsent_upload_ttl = Duration::from_millis(500);
        c.housekeeping_interval = Duration::from_millis(100);
    })
    .await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let sent = p.alice.upload("sent.txt", "text/plain", b"kept".to_vec()).await.body;
    let forgotten = p.alice.upload("forgotten.txt", "text/plain", b"dropped".to_vec()).await.body;
    alice.request("message.send", send_with(c, "m", "here", json!([sent["id"]]))).await;
    let deadline = tokio::time::Instant::now() + rapport_testkit::WAIT;
    while download(&p.alice, &forgotten["id"], &[]).await.status != 404 {
        assert!(tokio::time::Instant::now() < deadline, "an unsent upload expires");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(blob_files(&hub), vec![sent["id"].as_str().unwrap().to_owned()], "its file is gone, the sent one stays");
    assert_eq!(download(&p.bob, &sent["id"], &[]).await.body, b"kept");
    let late = alice.request("message.send", send_with(c, "late", "x", json!([forgotten["id"]]))).await;
    assert_eq!(code(&late), "not_found", "an expired upload cannot be sent");
}
