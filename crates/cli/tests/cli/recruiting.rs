//! Protocol 1.1 §3 from the command line: `card job`, `templates list|add|rm`,
//! `send --template`, `send --at`, `scheduled list|cancel`, and the application stage that the
//! ATS integration route sets — each bad input refused with exit 1 (or 2 for usage), a clear
//! message on stderr, and nothing sent, queued or scheduled.

use jiff::{civil, tz::TimeZone, Timestamp};
use rapport_testkit::{Api, HubProcess, API_KEY};
use serde_json::{json, Value};

use crate::support::{Profile, Run, PASSWORD};

/// What the hub holds of a conversation, oldest first (its own view, not a profile's cache).
async fn hub_messages(hub: &HubProcess, email: &str, conversation: &str) -> Vec<Value> {
    let login = Api::new(&hub.url()).post("/v1/auth/login", json!({"email": email, "password": PASSWORD})).await;
    let api = Api::new(&hub.url()).with_token(login.body["access_token"].as_str().unwrap());
    let page = api.get(&format!("/v1/conversations/{conversation}/messages?limit=200")).await;
    page.body["messages"].as_array().unwrap().clone()
}

/// Exit 1, a message on stderr that contains `needle`, nothing on stdout.
fn refused(run: &Run, needle: &str) {
    assert_eq!(run.code, 1, "refused with exit 1: {run:?}");
    assert!(run.stderr.contains(needle), "stderr says why ({needle:?}): {run:?}");
    assert!(run.stdout.is_empty(), "nothing printed as done: {run:?}");
}

#[tokio::test]
async fn job_card_templates_and_scheduled_sends_round_trip() {
    let hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (_, rita_id) = rita.register("Rita Moreno", "recruiter").await;
    let (carl_email, _) = carl.register("Carl Jensen", "candidate").await;

    let card = rita
        .ok(&[
            "--json", "card", "job", "--to", &carl_email, "--title", "Senior Rust Engineer", "--company", "Acme", "--location", "Berlin",
            "--salary", "€90–110k", "--link", "https://acme.test/jobs/42", "--description", "Async Rust, a small team", "Thought", "of", "you",
        ])
        .await
        .json();
    assert_eq!((card["state"].as_str(), card["kind"].as_str()), (Some("sent"), Some("job")), "exit 0 once acknowledged, as a job message: {card}");
    assert_eq!(card["body"], "Thought of you");
    let expected_card = json!({"title": "Senior Rust Engineer", "company": "Acme", "location": "Berlin", "salary": "€90–110k", "url": "https://acme.test/jobs/42", "description": "Async Rust, a small team"});
    assert_eq!(card["card"], expected_card, "every field, --link as url");
    let conversation = card["conversation_id"].as_str().unwrap().to_owned();

    carl.ok(&["sync"]).await;
    let received = carl.ok(&["--json", "history", "--conversation", &conversation]).await.json();
    assert_eq!((received["kind"].as_str(), received["sender_id"].as_str()), (Some("job"), Some(rita_id.as_str())));
    assert_eq!(received["card"], expected_card, "Carl receives the card with its fields");
    let human = carl.ok(&["history", "--conversation", &conversation]).await;
    assert!(human.stdout.contains("[job: Senior Rust Engineer · Acme · Berlin · €90–110k · https://acme.test/jobs/42 — Async Rust, a small team] Thought of you"), "{human:?}");

    // A card with only the required fields and no text.
    let bare = rita.ok(&["--json", "card", "job", "--conversation", &conversation, "--title", "Staff Engineer", "--company", "Acme"]).await.json();
    assert_eq!((bare["body"].as_str(), bare["card"].clone()), (Some(""), json!({"title": "Staff Engineer", "company": "Acme"})));

    // Templates: saved on the hub, filled from the conversation when sent.
    let saved = rita.ok(&["--json", "templates", "add", "intro", "Hi {{first_name}}, about {{job_title}}: 20 minutes this week? — {{my_name}}"]).await.json();
    assert_eq!(saved["name"], "intro");
    let template_id = saved["id"].as_str().unwrap().to_owned();
    rita.ok(&["templates", "add", "thanks", "Thanks", "{{display_name}}!"]).await;
    let listed = rita.ok(&["--json", "templates", "list"]).await.lines();
    let names: Vec<&str> = listed.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["intro", "thanks"], "listed by name");
    assert_eq!(listed[1]["body"], "Thanks {{display_name}}!", "TEXT... words are joined with spaces");
    let human = rita.ok(&["templates", "list"]).await;
    assert!(human.stdout.contains(&format!("{template_id}  intro: Hi {{{{first_name}}}}")), "{human:?}");

    let filled = rita.ok(&["--json", "send", "--to", &carl_email, "--template", "intro"]).await.json();
    assert_eq!(filled["body"], "Hi Carl, about Staff Engineer: 20 minutes this week? — Rita Moreno", "first name, the newest job card's title, own name");
    let by_id = rita.ok(&["--json", "send", "--conversation", &conversation, "--template", "thanks"]).await.json();
    assert_eq!(by_id["body"], "Thanks Carl Jensen!");
    let on_hub: Vec<String> = hub_messages(&hub, &carl_email, &conversation).await.iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect();
    assert_eq!(on_hub.last().map(String::as_str), Some("Thanks Carl Jensen!"), "sent filled, never with braces: {on_hub:?}");

    let later = rita.ok(&["--json", "send", "--to", &carl_email, "--template", "intro", "--at", "+5h"]).await.json();
    assert_eq!(later["body"], "Hi Carl, about Staff Engineer: 20 minutes this week? — Rita Moreno", "a template can be scheduled, filled now");
    rita.ok(&["scheduled", "cancel", later["id"].as_str().unwrap()]).await;

    let removed = rita.ok(&["--json", "templates", "rm", "thanks"]).await.json();
    assert_eq!(removed["name"], "thanks");
    rita.ok(&["templates", "rm", &template_id]).await;
    assert!(rita.ok(&["--json", "templates", "list"]).await.stdout.is_empty(), "both removed (by name, by id)");
    assert!(rita.ok(&["templates", "list"]).await.stdout.contains("no templates"));

    // Scheduled sends: the hub keeps them; nothing is a message yet.
    let before = Timestamp::now();
    let in_two_hours = rita.ok(&["--json", "send", "--to", &carl_email, "--at", "+2h", "Any", "news?"]).await.json();
    let after = Timestamp::now();
    assert_eq!((in_two_hours["conversation_id"].as_str(), in_two_hours["body"].as_str()), (Some(conversation.as_str()), Some("Any news?")));
    let send_at: Timestamp = in_two_hours["send_at"].as_str().unwrap().parse().expect("send_at is RFC 3339");
    let two_hours = jiff::SignedDuration::from_hours(2);
    let slack = jiff::SignedDuration::from_secs(1);
    assert!(send_at >= before + two_hours - slack && send_at <= after + two_hours + slack, "+2h is two hours from now: {send_at}");

    // A wall-clock time is read in the system's time zone (TZ).
    let tomorrow = rita.command(&["--json", "send", "--conversation", &conversation, "--at", "tomorrow 09:00", "Good luck today!"]).env("TZ", "Europe/Paris").output().await.unwrap();
    let tomorrow = Run::from(tomorrow);
    assert_eq!(tomorrow.code, 0, "{tomorrow:?}");
    let paris = TimeZone::get("Europe/Paris").unwrap();
    let expected = Timestamp::now().to_zoned(paris.clone()).date().tomorrow().unwrap().to_datetime(civil::time(9, 0, 0, 0)).to_zoned(paris).unwrap().timestamp();
    assert_eq!(tomorrow.json()["send_at"].as_str().unwrap().parse::<Timestamp>().unwrap(), expected, "tomorrow 09:00 in Paris");

    let card_later = rita.ok(&["--json", "card", "job", "--conversation", &conversation, "--title", "Principal Engineer", "--company", "Acme", "--at", "+3h"]).await.json();
    assert_eq!(card_later["card"], json!({"title": "Principal Engineer", "company": "Acme"}), "a card can be scheduled too: {card_later}");
    let listed = rita.ok(&["--json", "scheduled", "list"]).await.lines();
    let bodies: Vec<&str> = listed.iter().map(|s| s["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Any news?", "", "Good luck today!"], "soonest first (tomorrow 09:00 is at least 9 hours away)");
    let human = rita.ok(&["scheduled", "list"]).await;
    assert_eq!(human.stdout.lines().count(), 3, "{human:?}");
    assert!(human.stdout.contains("[job: Principal Engineer · Acme]"), "{human:?}");
    assert!(human.stdout.contains(in_two_hours["id"].as_str().unwrap()) && human.stdout.contains("Any news?"), "{human:?}");
    assert!(
        hub_messages(&hub, &carl_email, &conversation).await.iter().all(|m| m["body"] != "Any news?" && m["body"] != "Good luck today!"),
        "a scheduled message is not a message before its time"
    );

    let id = in_two_hours["id"].as_str().unwrap();
    let cancelled = rita.ok(&["--json", "scheduled", "cancel", id]).await.json();
    assert_eq!(cancelled["cancelled"], id);
    let left = rita.ok(&["--json", "scheduled", "list"]).await.lines();
    assert_eq!(left.iter().map(|s| s["body"].as_str().unwrap()).collect::<Vec<_>>(), ["", "Good luck today!"], "only the cancelled one is gone");
    refused(&rita.run(&["scheduled", "cancel", id]).await, "not found");
    assert!(carl.ok(&["--json", "scheduled", "list"]).await.stdout.is_empty(), "scheduled messages are their sender's");
}

#[tokio::test]
async fn bad_cards_templates_and_times_are_refused_and_nothing_is_sent_or_scheduled() {
    let mut hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (rita_email, _) = rita.register("Rita", "recruiter").await;
    let (carl_email, _) = carl.register("Carl", "candidate").await;
    let first = rita.ok(&["--json", "send", "--to", &carl_email, "hello"]).await.json();
    let conversation = first["conversation_id"].as_str().unwrap().to_owned();
    carl.ok(&["sync"]).await;

    // Cards. To someone not talked to yet: no conversation is created either.
    let (dana_email, _) = Profile::new(&hub.url()).register("Dana", "candidate").await;
    refused(&rita.run(&["card", "job", "--to", &dana_email, "--title", "", "--company", "Acme"]).await, "title must not be empty");
    refused(&rita.run(&["send", "--to", &dana_email, " "]).await, "message not sent");
    refused(&rita.run(&["send", "--to", &dana_email, "--at", "+1d 3h", ""]).await, "message not sent");
    refused(&rita.run(&["send", "--to", &dana_email, "--at", "yesterday", "hi"]).await, "not a time I can read");
    rita.ok(&["sync"]).await;
    assert_eq!(rita.ok(&["--json", "conversations"]).await.lines().len(), 1, "only the conversation with Carl exists");
    refused(&carl.run(&["card", "job", "--to", &rita_email, "--title", "Rust dev", "--company", "Me"]).await, "only recruiters send job");
    let json = carl.run(&["--json", "card", "job", "--conversation", &conversation, "--title", "Rust dev", "--company", "Me"]).await;
    assert_eq!(json.code, 1, "{json:?}");
    let error: Value = serde_json::from_str(json.stderr.trim()).expect("--json errors are one JSON object on stderr");
    assert_eq!(error["error"]["code"], "invalid", "{error}");
    let carl_history = carl.ok(&["--json", "history", "--conversation", &conversation]).await.lines();
    assert!(carl_history.iter().all(|m| m["state"] != "pending" && m["state"] != "failed"), "the refused card left nothing in the outbox: {carl_history:?}");
    refused(&rita.run(&["card", "job", "--conversation", &conversation, "--title", " ", "--company", "Acme"]).await, "title must not be empty");
    refused(&rita.run(&["card", "job", "--conversation", &conversation, "--title", "T", "--company", "Acme", "--link", "javascript:alert(1)"]).await, "http(s) link");
    refused(&rita.run(&["card", "job", "--conversation", &conversation, "--title", "T\u{202e}", "--company", "Acme"]).await, "title");
    let usage = rita.run(&["card", "job", "--conversation", &conversation, "--company", "Acme"]).await;
    assert_eq!(usage.code, 2, "a missing --title is a usage error: {usage:?}");
    let usage = rita.run(&["card", "offer", "--conversation", &conversation]).await;
    assert_eq!(usage.code, 2, "an unknown card kind is a usage error: {usage:?}");

    // Templates.
    refused(&rita.run(&["templates", "add", "bad", "Hi {{salary}}"]).await, "unknown template variable {{salary}}");
    refused(&rita.run(&["templates", "add", "open", "Hi {{first_name"]).await, "not closed");
    rita.ok(&["templates", "add", "pitch", "Hi {{first_name}}, about {{job_title}}"]).await;
    refused(&rita.run(&["templates", "add", "pitch", "again"]).await, "already have a template with this name");
    refused(&rita.run(&["send", "--conversation", &conversation, "--template", "nope"]).await, "no template named \"nope\"");
    refused(&rita.run(&["send", "--conversation", &conversation, "--template", "pitch"]).await, "{{job_title}} has no value in this conversation");
    refused(&rita.run(&["send", "--conversation", &conversation, "--template", "pitch", "--at", "+2h"]).await, "{{job_title}}");
    refused(&rita.run(&["templates", "rm", "nope"]).await, "no template named");
    let usage = rita.run(&["send", "--conversation", &conversation, "--template", "pitch", "and", "text"]).await;
    assert_eq!(usage.code, 2, "--template replaces TEXT: {usage:?}");
    assert!(carl.ok(&["--json", "templates", "list"]).await.stdout.is_empty(), "templates are private to their owner");
    refused(&carl.run(&["templates", "rm", "pitch"]).await, "no template named");

    // Times.
    for (at, why) in [
        ("2020-01-01T09:00:00Z", "in the past"),
        ("today 00:00", "in the past"),
        ("+30s", "less than 1 minute"),
        ("+91d", "more than 90 days"),
        ("2099-01-01 09:00", "more than 90 days"),
        ("soon", "not a time I can read"),
        ("tomorrow 25:00", "not a time of day"),
    ] {
        refused(&rita.run(&["send", "--conversation", &conversation, "--at", at, "later"]).await, why);
        refused(&rita.run(&["card", "job", "--conversation", &conversation, "--title", "T", "--company", "C", "--at", at]).await, why);
    }
    for conflicting in [["--attach", "/etc/hostname"], ["--reply-to", first["id"].as_str().unwrap()]] {
        let usage = rita.run(&["send", "--conversation", &conversation, "--at", "+2h", conflicting[0], conflicting[1], "later"]).await;
        assert_eq!(usage.code, 2, "--at {conflicting:?}: files and replies are not scheduled: {usage:?}");
    }
    refused(&rita.run(&["scheduled", "cancel", "0000"]).await, "not found");
    refused(&rita.run(&["send", "--conversation", "no-such-conversation", "--at", "+2h", "later"]).await, "");

    // Scheduling needs the hub: offline it is an error (exit 1), not queued (exit 3).
    hub.kill().await;
    let offline = rita.run(&["--json", "send", "--conversation", &conversation, "--at", "+2h", "while down"]).await;
    assert_eq!(offline.code, 1, "{offline:?}");
    assert!(offline.stderr.contains("\"code\":\"offline\""), "{offline:?}");
    refused(&rita.run(&["templates", "list"]).await, "the hub cannot be reached");
    refused(&rita.run(&["scheduled", "list"]).await, "the hub cannot be reached");
    let history = rita.ok(&["--json", "history", "--conversation", &conversation]).await.lines();
    assert!(history.iter().all(|m| m["state"] != "pending"), "nothing was queued by a refused schedule: {history:?}");
    hub.restart().await;

    assert!(rita.ok(&["--json", "scheduled", "list"]).await.stdout.is_empty(), "nothing was scheduled by any refused command");
    let bodies: Vec<String> = hub_messages(&hub, &rita_email, &conversation).await.iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect();
    assert_eq!(bodies, ["hello"], "nothing was sent by any refused command");
}

#[tokio::test]
async fn the_application_status_the_ats_posts_shows_in_conversations_and_history() {
    let hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (rita_email, _) = rita.register("Rita", "recruiter").await;
    let (carl_email, _) = carl.register("Carl", "candidate").await;

    let body = json!({"candidate_email": carl_email, "recruiter_email": rita_email, "job_title": "Senior Rust Engineer", "status": "interview", "note": "Tuesday 10:00", "external_id": "ats-1"});
    let posted = Api::new(&hub.url()).call("POST", "/v1/integrations/application-status", Some(body), &[("x-api-key", API_KEY)]).await;
    assert_eq!(posted.status, 201, "{posted:?}");

    for profile in [&rita, &carl] {
        profile.ok(&["sync"]).await;
        let list = profile.ok(&["--json", "conversations"]).await.json();
        assert_eq!(list["application"]["status"], "interview", "{list}");
        assert_eq!(list["application"]["job_title"], "Senior Rust Engineer");
        let human = profile.ok(&["conversations"]).await;
        assert!(human.stdout.contains("[interview: Senior Rust Engineer]"), "the stage shows in the list: {human:?}");
        let history = profile.ok(&["history", "--conversation", list["id"].as_str().unwrap()]).await;
        assert!(history.stdout.contains("[status: Senior Rust Engineer → interview (Tuesday 10:00)]"), "{history:?}");
    }
}
