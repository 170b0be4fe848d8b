//! Exit code 3 while the hub is down, and exactly-once delivery later — also after the CLI
//! process itself was killed mid-send.

use std::time::Duration;

use rapport_testkit::{Api, HubProcess};

use crate::support::{Profile, PASSWORD};

async fn hub_bodies(hub: &HubProcess, email: &str, conversation: &str) -> Vec<String> {
    let login = Api::new(&hub.url()).post("/v1/auth/login", serde_json::json!({"email": email, "password": PASSWORD})).await;
    let api = Api::new(&hub.url()).with_token(login.body["access_token"].as_str().unwrap());
    let page = api.get(&format!("/v1/conversations/{conversation}/messages?limit=200")).await;
    page.body["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn hub_down_exits_3_and_the_message_is_sent_exactly_once_later() {
    let mut hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (rita_email, _) = rita.register("Rita", "recruiter").await;
    let (carl_email, _) = carl.register("Carl", "candidate").await;
    let first = rita.ok(&["--json", "send", "--to", &carl_email, "first"]).await.json();
    let conversation = first["conversation_id"].as_str().unwrap().to_owned();
    hub.kill().await;

    let queued = rita.run(&["--json", "send", "--to", &carl_email, "--timeout", "1", "written while the hub is down"]).await;
    assert_eq!(queued.code, 3, "queued but not sent: {queued:?}");
    assert_eq!(queued.json()["state"], "pending", "the queued message is printed as pending");
    let sync = rita.run(&["sync", "--timeout", "1"]).await;
    assert_eq!(sync.code, 3, "sync with the hub down: {sync:?}");
    let history = rita.ok(&["--json", "history", "--conversation", &conversation]).await.lines();
    assert_eq!(history.last().unwrap()["state"], "pending", "history shows the queued message as pending");

    // Queued for someone not cached yet, with the hub down: resolved later.
    let (dana_email, _) = {
        hub.restart().await;
        let dana = Profile::new(&hub.url());
        let r = dana.register("Dana", "candidate").await;
        hub.kill().await;
        r
    };
    let to_unknown = rita.run(&["send", "--to", &dana_email, "--timeout", "1", "hello Dana"]).await;
    assert_eq!(to_unknown.code, 3, "queued with only an email: {to_unknown:?}");

    hub.restart().await;
    rita.ok(&["sync"]).await;
    rita.ok(&["sync"]).await;
    let bodies = hub_bodies(&hub, &rita_email, &conversation).await;
    assert_eq!(bodies, ["first", "written while the hub is down"], "delivered exactly once, in order");
    let after = rita.ok(&["--json", "history", "--conversation", &conversation]).await.lines();
    assert!(after.iter().all(|m| m["state"] != "pending"), "nothing pending after the sync: {after:?}");
    let dana = rita.ok(&["--json", "history", "--with", &dana_email]).await.lines();
    assert_eq!(dana.len(), 1, "the message to Dana was sent once its conversation was created");
}

#[tokio::test]
async fn outbox_survives_killing_the_cli_process() {
    let mut hub = HubProcess::start(&[]).await;
    let rita = Profile::new(&hub.url());
    let carl = Profile::new(&hub.url());
    let (rita_email, _) = rita.register("Rita", "recruiter").await;
    let (carl_email, _) = carl.register("Carl", "candidate").await;
    let first = rita.ok(&["--json", "send", "--to", &carl_email, "before"]).await.json();
    let conversation = first["conversation_id"].as_str().unwrap().to_owned();
    hub.kill().await;

    let mut child = rita.command(&["send", "--conversation", &conversation, "--timeout", "60", "survives a kill"]).spawn().unwrap();
    // Wait until the message is on disk (another run of the same profile sees it), then kill.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let lines = rita.ok(&["--json", "history", "--conversation", &conversation]).await.lines();
        if lines.iter().any(|m| m["body"] == "survives a kill" && m["state"] == "pending") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the message never reached the outbox");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "the CLI was killed");

    hub.restart().await;
    rita.ok(&["sync"]).await;
    rita.ok(&["sync"]).await;
    assert_eq!(hub_bodies(&hub, &rita_email, &conversation).await, ["before", "survives a kill"], "sent exactly once after the kill");
}
