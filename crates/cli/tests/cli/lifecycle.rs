//! edit, delete, react, send --reply-to/--attach, download, and what history shows of them.

use rapport_testkit::HubProcess;

use crate::support::Profile;

#[tokio::test]
async fn edit_react_reply_delete_and_history() {
    let hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (rita_email, _) = rita.register("Rita", "recruiter").await;
    let (carl_email, carl_id) = carl.register("Carl", "candidate").await;
    let sent = rita.ok(&["--json", "send", "--to", &carl_email, "Are", "you", "free", "on", "Monday?"]).await.json();
    let id = sent["id"].as_str().unwrap().to_owned();
    let conversation = sent["conversation_id"].as_str().unwrap().to_owned();

    let edited = rita.ok(&["--json", "edit", &id, "Are", "you", "free", "on", "Tuesday?"]).await.json();
    assert_eq!((edited["body"].as_str(), edited["edited_at"].is_string()), (Some("Are you free on Tuesday?"), true), "{edited}");
    assert!(edited["change"].is_null(), "applied, nothing queued: {edited}");

    carl.ok(&["sync"]).await;
    let reacted = carl.ok(&["--json", "react", &id, "👍"]).await.json();
    assert_eq!(reacted["reactions"][0]["emoji"], "👍");
    assert_eq!(reacted["reactions"][0]["user_ids"][0], carl_id.as_str());
    let reply = carl.ok(&["--json", "send", "--conversation", &conversation, "--reply-to", &id, "Yes,", "after", "10."]).await.json();
    assert_eq!(reply["reply_to"], id.as_str());
    assert_eq!(reply["reply"]["seq"], 1, "the reply quotes #1: {reply}");

    let refused = carl.run(&["edit", &id, "not mine"]).await;
    assert_eq!(refused.code, 1, "only the sender edits: {refused:?}");
    assert!(refused.stderr.contains("sender"), "{refused:?}");
    let bad = carl.run(&["react", &id, "nice"]).await;
    assert_eq!(bad.code, 1, "a word is not a reaction: {bad:?}");

    rita.ok(&["sync"]).await;
    let human = rita.ok(&["history", "--with", &carl_email]).await;
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{human:?}");
    assert!(lines[0].contains("Tuesday?") && lines[0].contains("(edited)") && lines[0].contains("👍 1 (Carl)") && lines[0].contains(&id), "{}", lines[0]);
    assert!(lines[1].contains("(reply to #1)"), "{}", lines[1]);

    let off = carl.ok(&["--json", "react", &id, "👍", "--off"]).await.json();
    assert_eq!(off["reactions"], serde_json::json!([]), "taken back: {off}");
    let deleted = rita.ok(&["--json", "delete", &id]).await.json();
    assert!(deleted["deleted_at"].is_string() && deleted["body"] == "", "{deleted}");
    carl.ok(&["sync"]).await;
    let history = carl.ok(&["--json", "history", "--conversation", &conversation]).await.lines();
    assert!(history[0]["deleted_at"].is_string() && history[0]["body"] == "", "carl sees the tombstone: {}", history[0]);
    assert_eq!(history[1]["reply"]["deleted"], true, "the reply's quote says so");
    let human = carl.ok(&["history", "--with", &rita_email]).await;
    assert!(human.stdout.lines().next().unwrap().contains("(message deleted)"), "{human:?}");
    assert!(carl.ok(&["--json", "search", "Tuesday"]).await.stdout.is_empty(), "search forgets deleted messages");
}

#[tokio::test]
async fn files_are_sent_and_downloaded() {
    let hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (rita_email, _) = rita.register("Rita", "recruiter").await;
    let (carl_email, _) = carl.register("Carl", "candidate").await;
    let files = tempfile::tempdir().unwrap();
    let jd: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(files.path().join("job description.pdf"), &jd).unwrap();
    std::fs::write(files.path().join("notes.txt"), "bring your CV\n").unwrap();
    let jd_path = files.path().join("job description.pdf");
    let notes_path = files.path().join("notes.txt");
    let sent = rita
        .ok(&["--json", "send", "--to", &carl_email, "--attach", jd_path.to_str().unwrap(), "--attach", notes_path.to_str().unwrap()])
        .await
        .json();
    assert_eq!(sent["body"], "", "files without text");
    let attachments = sent["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2);
    let jd_id = attachments[0]["id"].as_str().unwrap().to_owned();
    let message_id = sent["id"].as_str().unwrap().to_owned();

    carl.ok(&["sync"]).await;
    let history = carl.ok(&["history", "--with", &rita_email]).await;
    assert!(history.stdout.contains("[file job description.pdf 195 KiB"), "{history:?}");

    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("jd.pdf");
    let saved = carl.ok(&["--json", "download", &jd_id, "--out", target.to_str().unwrap()]).await.json();
    assert_eq!(saved["path"], target.to_str().unwrap());
    assert_eq!(std::fs::read(&target).unwrap(), jd, "the same bytes");
    // A message id saves all its files into a directory, never over an existing file.
    let both = carl.ok(&["--json", "download", &message_id, "--out", out.path().to_str().unwrap()]).await.lines();
    assert_eq!(both.len(), 2);
    let again = carl.ok(&["--json", "download", &message_id, "--out", out.path().to_str().unwrap()]).await.lines();
    assert_eq!(again[1]["path"], out.path().join("notes (1).txt").to_str().unwrap(), "{again:?}");
    assert_eq!(std::fs::read_to_string(out.path().join("notes.txt")).unwrap(), "bring your CV\n");
    let missing = carl.run(&["download", "no-such-id", "--timeout", "2"]).await;
    assert_eq!(missing.code, 1, "{missing:?}");
}

#[tokio::test]
async fn an_edit_made_with_the_hub_down_exits_3_and_is_applied_by_the_next_sync() {
    let mut hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (rita_email, _) = rita.register("Rita", "recruiter").await;
    let (carl_email, _) = carl.register("Carl", "candidate").await;
    let sent = rita.ok(&["--json", "send", "--to", &carl_email, "teh offer"]).await.json();
    let id = sent["id"].as_str().unwrap().to_owned();
    hub.kill().await;
    let queued = rita.run(&["--json", "edit", &id, "--timeout", "1", "the", "offer"]).await;
    assert_eq!(queued.code, 3, "queued, not applied: {queued:?}");
    assert_eq!(queued.json()["change"]["state"], "pending");
    let history = rita.ok(&["history", "--conversation", sent["conversation_id"].as_str().unwrap()]).await;
    assert!(history.stdout.contains("the offer (edit queued)"), "{history:?}");
    hub.restart().await;
    rita.ok(&["sync"]).await;
    carl.ok(&["sync"]).await;
    let seen = carl.ok(&["--json", "history", "--with", &rita_email]).await.json();
    assert_eq!((seen["body"].as_str(), seen["edited_at"].is_string()), (Some("the offer"), true), "{seen}");
}
