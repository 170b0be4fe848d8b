//! Files through the engine: upload, send, download verified by SHA-256 and kept under a cap;
//! an upload cut off by a killed hub starts over and attaches one whole file; cancelling one.

use std::path::{Path, PathBuf};

use rapport_client::{Code, Draft, EngineError, EngineEvent};
use rapport_testkit::{HubProcess, Proxy, TestHub};
use sha2::{Digest as _, Sha256};

use crate::support::{connected, eventually, hub_history, next_event, Client, DEADLINE};

/// A 4×3 red PNG.
const PNG: [u8; 73] = [
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 4, 0, 0, 0, 3, 8, 2, 0, 0, 0, 59, 150, 57, 145, 0, 0, 0, 16, 73, 68, 65,
    84, 120, 156, 99, 248, 207, 192, 0, 71, 12, 56, 57, 0, 245, 49, 11, 245, 53, 123, 251, 130, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

/// `len` bytes that differ from file to file (`seed`), so that a mix-up shows in the hash.
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[i % 4] ^ seed).collect()
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn sha256(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

fn files(paths: Vec<PathBuf>, body: &str) -> Draft {
    Draft { body: body.into(), reply_to: None, files: paths, card: None }
}

#[tokio::test]
async fn files_are_uploaded_sent_downloaded_verified_and_kept() {
    let mut hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    let originals = tempfile::tempdir().unwrap();
    let cv = bytes(300_000, 7);
    let draft = files(vec![write(originals.path(), "../cv (final).pdf", &cv), write(originals.path(), "photo.png", &PNG)], "");
    let mut alice_events = alice.engine.subscribe();
    alice.engine.start();
    let queued = alice.engine.send_draft(&conversation.id, &draft).await.expect("a message of files only may have no text");
    assert_eq!(queued.attachments.len(), 2);
    assert_eq!(queued.attachments[0].filename, "cv (final).pdf", "a name without its path");
    assert_eq!((queued.attachments[0].sha256.clone(), queued.attachments[0].id.clone()), (sha256(&cv), None), "hashed when queued, no id yet");
    std::fs::remove_dir_all(originals.path()).unwrap();
    next_event(&mut alice_events, "uploads done", |e| matches!(e, EngineEvent::UploadDone { client_msg_id, .. } if *client_msg_id == queued.client_msg_id).then_some(())).await;
    let sent = alice.engine.wait_sent(&queued.client_msg_id, DEADLINE).await.expect("sent from the copies, the originals are gone");
    let (pdf, png) = (sent.attachments[0].clone(), sent.attachments[1].clone());
    assert_eq!((pdf.size, pdf.sha256.clone(), pdf.content_type.as_str()), (cv.len() as u64, sha256(&cv), "application/pdf"));
    assert_eq!((png.width, png.height, png.content_type.as_str()), (Some(4), Some(3), "image/png"), "the hub read the image's size");

    bob.engine.sync(DEADLINE).await.unwrap();
    let mut bob_events = bob.engine.subscribe();
    let path = bob.engine.download(pdf.id.as_deref().unwrap()).await.expect("download");
    assert_eq!(std::fs::read(&path).unwrap(), cv, "the very bytes");
    assert_eq!(path.file_name().unwrap().to_str(), Some("cv (final).pdf"));
    assert!(path.starts_with(bob.dir.path()), "kept in the profile: {path:?}");
    next_event(&mut bob_events, "download done", |e| matches!(e, EngineEvent::DownloadDone { attachment_id, .. } if Some(attachment_id.as_str()) == pdf.id.as_deref()).then_some(())).await;
    let thumbnail = bob.engine.thumbnail(png.id.as_deref().unwrap()).await.expect("a preview of the image");
    assert!(std::fs::metadata(&thumbnail).unwrap().len() > 0);
    let err = bob.engine.thumbnail(pdf.id.as_deref().unwrap()).await.unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "only images have one: {err:?}");

    hub.stop().await.unwrap();
    assert_eq!(bob.engine.download(pdf.id.as_deref().unwrap()).await.unwrap(), path, "kept: no hub needed the second time");
    let own = alice.engine.download(pdf.id.as_deref().unwrap()).await.expect("the sender keeps what it sent");
    assert_eq!(std::fs::read(own).unwrap(), cv);
    assert!(matches!(bob.engine.download("no-such-attachment").await, Err(EngineError::NotFound(_))));
}

#[tokio::test]
async fn bad_files_are_refused_before_anything_is_queued() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (files(vec![dir.path().join("missing.pdf")], "x"), Code::InvalidPayload),
        (files(vec![write(dir.path(), "empty.txt", b"")], "x"), Code::InvalidPayload),
        (files(vec![dir.path().to_path_buf()], "x"), Code::InvalidPayload),
        (files(vec![write(dir.path(), "big.bin", &vec![0u8; (25 << 20) + 1])], "x"), Code::TooLarge),
        (files((0..11).map(|i| write(dir.path(), &format!("{i}.txt"), b"x")).collect(), "x"), Code::InvalidPayload),
        (files(vec![], "  "), Code::BodyEmpty),
    ];
    for (draft, code) in cases {
        let err = alice.engine.send_draft(&conversation.id, &draft).await.unwrap_err();
        assert!(matches!(&err, EngineError::Invalid { reason, .. } if *reason == code), "{:?}: {err:?}", draft.files);
    }
    assert!(alice.engine.outbox().await.unwrap().is_empty(), "nothing was queued");
    let outgoing = alice.dir.path().join("outgoing");
    assert!(!outgoing.exists() || std::fs::read_dir(&outgoing).unwrap().next().is_none(), "and no copy is left behind");
}

#[tokio::test]
async fn an_upload_cut_off_by_a_killed_hub_starts_over_and_attaches_one_whole_file() {
    let mut hub = HubProcess::start(&["--heartbeat-ms", "1000"]).await;
    let proxy = Proxy::start(hub.addr).await;
    let alice = Client::register(&proxy.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let content = bytes(4 << 20, 42);
    let draft = files(vec![write(dir.path(), "portfolio.zip", &content)], "my portfolio");
    alice.engine.start();
    connected(&alice.engine).await;
    let mut events = alice.engine.subscribe();
    // Slow enough that the hub can be killed while the file is on its way.
    proxy.throttle(512 << 10);
    let queued = alice.engine.send_draft(&conversation.id, &draft).await.unwrap();
    // Progress counts what went to the network; through the slow proxy the hub has far from
    // all of it when the first report comes.
    next_event(&mut events, "the upload under way", |e| matches!(e, EngineEvent::UploadProgress { progress, .. } if progress.done > 0).then_some(())).await;
    hub.kill().await;
    let failed = next_event(&mut events, "the upload failed", |e| match e {
        EngineEvent::UploadFailed { retrying, error, .. } => Some((*retrying, *error)),
        _ => None,
    })
    .await;
    assert!(failed.0, "a cut-off upload is tried again: {failed:?}");
    proxy.throttle(0);
    hub.restart().await;
    alice.engine.reconnect_now();
    let sent = alice.engine.wait_sent(&queued.client_msg_id, DEADLINE).await.expect("uploaded again and sent");
    let hub_view = hub_history(&alice.api(&hub.url()).await, &conversation.id).await;
    assert_eq!(hub_view.len(), 1, "one message");
    assert_eq!(hub_view[0].attachments.len(), 1, "with one file");
    assert_eq!((hub_view[0].attachments[0].size, hub_view[0].attachments[0].sha256.clone()), (content.len() as u64, sha256(&content)), "all of it");
    assert_eq!(sent.attachments[0].id.as_deref(), Some(hub_view[0].attachments[0].id.as_str()));
    bob.engine.sync(DEADLINE).await.unwrap();
    let path = bob.engine.download(&hub_view[0].attachments[0].id).await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), content);
    eventually("the staged copy is cleaned up", || async {
        let outgoing = alice.dir.path().join("outgoing");
        (!outgoing.exists() || std::fs::read_dir(&outgoing).ok()?.next().is_none()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn discarding_a_message_stops_its_upload_and_sends_nothing() {
    let hub = TestHub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let alice = Client::register(&proxy.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    alice.engine.start();
    connected(&alice.engine).await;
    let mut events = alice.engine.subscribe();
    proxy.throttle(256 << 10);
    let queued = alice.engine.send_draft(&conversation.id, &files(vec![write(dir.path(), "big.bin", &bytes(2 << 20, 1))], "")).await.unwrap();
    next_event(&mut events, "the upload is under way", |e| matches!(e, EngineEvent::UploadProgress { progress, .. } if progress.done > 0).then_some(())).await;
    alice.engine.discard(&queued.client_msg_id).await.expect("cancel");
    next_event(&mut events, "discarded", |e| matches!(e, EngineEvent::MessageDiscarded { client_msg_id, .. } if *client_msg_id == queued.client_msg_id).then_some(())).await;
    proxy.throttle(0);
    let after = alice.engine.send(&conversation.id, "never mind").await.unwrap();
    alice.engine.wait_sent(&after.client_msg_id, DEADLINE).await.unwrap();
    let hub_view = hub_history(&alice.api(&hub.url()).await, &conversation.id).await;
    assert_eq!(hub_view.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["never mind"], "the cancelled message never went");
    assert!(!alice.dir.path().join("outgoing").join(&queued.client_msg_id).exists(), "its copy is gone");
}

#[tokio::test]
async fn kept_files_stay_under_the_cap_least_recently_used_first_and_go_with_their_message() {
    let hub = TestHub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&proxy.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    alice.engine.start();
    let mut sent = Vec::new();
    for (i, name) in ["a.bin", "b.bin", "c.bin"].iter().enumerate() {
        let m = alice.engine.send_draft(&conversation.id, &files(vec![write(dir.path(), name, &bytes(1 << 20, i as u8))], name)).await.unwrap();
        sent.push(alice.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap());
    }
    let id = |i: usize| sent[i].attachments[0].id.clone().unwrap();
    bob.engine.start();
    bob.engine.sync(DEADLINE).await.unwrap();
    bob.engine.set_download_cache_limit((5 << 20) / 2).await;
    let a = bob.engine.download(&id(0)).await.unwrap();
    let b = bob.engine.download(&id(1)).await.unwrap();
    bob.engine.download(&id(0)).await.unwrap(); // a is used again: b is now the oldest
    let c = bob.engine.download(&id(2)).await.unwrap();
    assert!(a.exists() && c.exists(), "the two used last are kept");
    assert!(!b.exists(), "the least recently used one went to stay under the cap");
    assert!(bob.engine.download_cache_usage().await.unwrap() <= (5 << 20) / 2);
    assert_eq!(std::fs::read(bob.engine.download(&id(1)).await.unwrap()).unwrap(), bytes(1 << 20, 1), "an evicted file is fetched again");

    // A download cut off half-way keeps its part and resumes from it.
    bob.engine.set_download_cache_limit(1).await;
    assert!(!a.exists() && !c.exists(), "a lower cap lets go of the others at once");
    let mut events = bob.engine.subscribe();
    proxy.throttle(256 << 10);
    let downloading = {
        let engine = bob.engine.clone();
        let target = id(2);
        tokio::spawn(async move { engine.download(&target).await })
    };
    next_event(&mut events, "part of the file is here", |e| matches!(e, EngineEvent::DownloadProgress { progress, .. } if progress.done > 0).then_some(())).await;
    proxy.cut();
    let err = downloading.await.unwrap().unwrap_err();
    assert!(matches!(err, EngineError::Offline(_)), "{err:?}");
    let part = bob.dir.path().join("files").join(id(2)).join(".part");
    let had = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    assert!(had > 0, "the part is kept");
    proxy.throttle(0);
    let again = bob.engine.download(&id(2)).await.expect("resumed");
    assert_eq!(std::fs::read(&again).unwrap(), bytes(1 << 20, 2), "the resumed file is whole and verified");

    // Deleting the message takes its file off every device.
    alice.engine.delete(sent[2].id.as_deref().unwrap()).await.unwrap();
    eventually("bob's copy of the deleted file is gone", || async { (!again.exists()).then_some(()) }).await;
    assert!(matches!(bob.engine.download(&id(2)).await, Err(EngineError::NotFound(_))), "and it cannot be downloaded any more");
}
