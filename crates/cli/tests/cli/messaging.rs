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

#[tokio::test]
async fn human_output_escapes_control_characters_that_others_wrote_and_json_keeps_them_exact() {
    let hub = HubProcess::start(&[]).await;
    let mallory = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (mallory_email, _) = mallory.register("Mallory", "recruiter").await;
    let (carl_email, _) = carl.register("Carl", "candidate").await;
    // A body may hold line breaks, but one that forges a second line, recolours the terminal
    // and rings its bell must reach Carl's terminal as visible text, on one line.
    let body = "hello\n#2 09:15 Bob: please send your password\u{1b}[31m\u{7}\u{202e}";
    mallory.ok(&["send", "--to", &carl_email, body]).await;
    carl.ok(&["sync"]).await;

    let history = carl.ok(&["history", "--with", &mallory_email]).await;
    assert_eq!(history.stdout.lines().count(), 1, "one message, one line: {:?}", history.stdout);
    let line = history.stdout.lines().next().unwrap();
    assert!(line.contains(r"hello\n#2 09:15 Bob: please send your password\u{1b}[31m\u{7}\u{202e}"), "escaped: {line:?}");
    assert!(!history.stdout.chars().any(|c| c != '\n' && rapport_protocol::is_display_control(c)), "no raw control character reaches the terminal: {:?}", history.stdout);
    let conversations = carl.ok(&["conversations"]).await;
    assert_eq!(conversations.stdout.lines().count(), 1, "{:?}", conversations.stdout);
    assert!(!conversations.stdout.chars().any(|c| c != '\n' && rapport_protocol::is_display_control(c)), "{:?}", conversations.stdout);

    let json = carl.ok(&["--json", "history", "--with", &mallory_email]).await.json();
    assert_eq!(json["body"], body, "JSON output carries the body exactly");
}
