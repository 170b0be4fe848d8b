//! tail: prints connection states and protocol events, reconnects by itself, exits 0 on SIGTERM;
//! and the demo bot answers.

use std::time::Duration;

use rapport_testkit::HubProcess;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::support::Profile;

async fn next_line(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>, what: &str, pick: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("read stdout")
            .unwrap_or_else(|| panic!("tail ended before {what}"));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("tail --json line is not JSON ({e}): {line}"));
        if pick(&v) {
            return v;
        }
    }
}

fn sigterm(child: &tokio::process::Child) {
    let pid = child.id().expect("running");
    let _ = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
}

#[tokio::test]
async fn tail_prints_events_reconnects_and_exits_0_on_sigterm() {
    let mut hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (_, rita_id) = rita.register("Rita", "recruiter").await;
    let (carl_email, _) = carl.register("Carl", "candidate").await;
    rita.ok(&["send", "--to", &carl_email, "hello"]).await;

    let mut child = carl.command(&["--json", "tail"]).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    next_line(&mut lines, "connected", |v| v["op"] == "connection" && v["state"] == "connected").await;
    rita.ok(&["send", "--to", &carl_email, "are you there?"]).await;
    let event = next_line(&mut lines, "message.created", |v| v["op"] == "event" && v["type"] == "message.created" && v["data"]["message"]["body"] == "are you there?").await;
    assert_eq!(event["data"]["message"]["sender_id"], rita_id.as_str(), "the protocol's event object: {event}");
    assert!(event["seq"].is_u64(), "live events carry the session seq: {event}");

    hub.kill().await;
    next_line(&mut lines, "reconnecting", |v| v["op"] == "connection" && v["state"] == "reconnecting").await;
    hub.restart().await;
    next_line(&mut lines, "connected again", |v| v["op"] == "connection" && v["state"] == "connected").await;
    rita.ok(&["send", "--to", &carl_email, "after the restart"]).await;
    next_line(&mut lines, "message after restart", |v| v["type"] == "message.created" && v["data"]["message"]["body"] == "after the restart").await;

    sigterm(&child);
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("tail exits after SIGTERM").unwrap();
    assert_eq!(status.code(), Some(0), "tail exits 0 on SIGTERM");
}

#[tokio::test]
async fn the_bot_answers_like_a_candidate() {
    let hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let bot = Profile::new(&hub.url());
    rita.register("Rita", "recruiter").await;
    let (bot_email, _) = bot.register("Dana", "candidate").await;
    let mut child = bot.command(&["--json", "bot", "--reply-delay-ms", "100"]).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    next_line(&mut lines, "bot running", |v| v["bot"] == "running").await;
    let sent = rita.ok(&["--json", "send", "--to", &bot_email, "What are your salary expectations?"]).await.json();
    let conversation = sent["conversation_id"].as_str().unwrap().to_owned();
    next_line(&mut lines, "bot replied", |v| v["bot"] == "replied").await;
    rita.ok(&["sync"]).await;
    let history = rita.ok(&["--json", "history", "--conversation", &conversation]).await.lines();
    assert_eq!(history.len(), 2, "question and answer: {history:?}");
    assert!(history[1]["body"].as_str().unwrap().contains("85"), "a salary answer: {}", history[1]);
    assert_eq!(history[0]["state"], "read", "the bot read the question");
    sigterm(&child);
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("bot exits").unwrap();
    assert_eq!(status.code(), Some(0));
}
