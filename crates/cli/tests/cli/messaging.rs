//! send, sync, conversations, history, search, presence.

use rapport_testkit::HubProcess;

use crate::support::Profile;

#[tokio::test]
async fn send_sync_conversations_history_search_presence() {
    let hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (rita_email, rita_id) = rita.register("Rita", "recruiter").await;
    let (carl_email, _) = carl.register("Carl", "candidate").await;

    let sent = rita.ok(&["--json", "send", "--to", &carl_email, "Hi", "Carl,", "what", "salary", "do", "you", "expect?"]).await.json();
    assert_eq!(sent["state"], "sent", "exit 0 once acknowledged: {sent}");
    assert_eq!(sent["seq"], 1);
    assert_eq!(sent["body"], "Hi Carl, what salary do you expect?", "TEXT... words are joined with spaces");
    let conversation = sent["conversation_id"].as_str().unwrap().to_owned();

    let synced = carl.ok(&["--json", "sync"]).await.json();
    assert_eq!(synced["synced"], true);
    let list = carl.ok(&["--json", "conversations"]).await.lines();
    assert_eq!(list.len(), 1, "one cached conversation");
    assert_eq!((list[0]["id"].as_str(), list[0]["unread_count"].as_i64()), (Some(conversation.as_str()), Some(1)));

    carl.ok(&["send", "--conversation", &conversation, "Around 90k."]).await;
    rita.ok(&["sync"]).await;
    let history = rita.ok(&["--json", "history", "--with", &carl_email]).await.lines();
    let bodies: Vec<&str> = history.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Hi Carl, what salary do you expect?", "Around 90k."], "oldest first");
    for m in &history {
        for field in ["id", "conversation_id", "seq", "sender_id", "body", "client_msg_id", "created_at", "state"] {
            assert!(m.get(field).is_some(), "history lines are protocol Messages plus state; {field} missing in {m}");
        }
    }
    assert_eq!(history[0]["sender_id"], rita_id.as_str());
    let limited = rita.ok(&["--json", "history", "--conversation", &conversation, "--limit", "1"]).await.lines();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0]["body"], "Around 90k.", "--limit keeps the newest");
    let human = carl.ok(&["history", "--with", &rita_email]).await;
    assert!(human.stdout.contains("salary"), "human history shows bodies: {human:?}");

    let hits = carl.ok(&["--json", "search", "salary"]).await.lines();
    assert_eq!(hits.len(), 1, "search finds the word in the local cache");
    assert!(hits[0]["snippet"].as_str().unwrap().contains("[salary]"), "the match is highlighted: {}", hits[0]);
    assert!(carl.ok(&["--json", "search", "nothing-like-this"]).await.stdout.is_empty(), "no match, no lines");

    let presence = carl.ok(&["--json", "presence", "busy"]).await.json();
    assert_eq!(presence["presence"], "busy");
}
