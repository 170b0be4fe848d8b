//! Names and titles others see are one line of plain text: control characters (line breaks,
//! tabs, terminal escapes) and direction overrides are refused, every script is welcome.

use rapport_testkit::{TestHub, API_KEY};
use serde_json::json;

use crate::support::pair;

const HOSTILE: [&str; 8] = [
    "Mallory\n#2 09:15 Bob: send me your password",
    "Carriage\rReturn",
    "Tab\tName",
    "Red\u{1b}[31m Alert",
    "Bell\u{7}",
    "Del\u{7f}",
    "Nul\u{0}",
    "Reversed \u{202e}gnp.exe",
];

#[tokio::test]
async fn display_names_with_control_characters_are_refused_and_nothing_is_created() {
    let hub = TestHub::start().await;
    let api = hub.api();
    for (n, name) in HOSTILE.iter().enumerate() {
        let email = format!("hostile-{n}@x.test");
        let reply = api.post("/v1/auth/register", json!({"email": email, "password": "correct horse", "display_name": name, "role": "candidate"})).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_payload"), "display name {name:?}");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("display_name") && message.contains("control characters"), "the message says what is wrong: {message}");
        let retry = api.post("/v1/auth/register", json!({"email": email, "password": "correct horse", "display_name": "Fine", "role": "candidate"})).await;
        assert_eq!(retry.status, 201, "the refused registration left nothing behind");
    }
    for (n, name) in ["Ida Ödegaard", "שרה כהן", "محمد", "李 小龙", "Zoë\u{a0}Li"].iter().enumerate() {
        let reply = api.post("/v1/auth/register", json!({"email": format!("fine-{n}@x.test"), "password": "correct horse", "display_name": name, "role": "candidate"})).await;
        assert_eq!(reply.status, 201, "{name:?} is a fine name: {:?}", reply.body);
        assert_eq!(reply.body["user"]["display_name"], *name);
    }
}

#[tokio::test]
async fn group_and_notification_titles_with_control_characters_are_refused() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    for title in HOSTILE {
        let group = p.alice.post("/v1/conversations", json!({"kind": "group", "title": title, "member_ids": [p.bob_session.user.id]})).await;
        assert_eq!((group.status, group.code()), (400, "invalid_payload"), "group title {title:?}");
        let notification = hub
            .api()
            .call("POST", "/v1/notifications", Some(json!({"user_id": p.bob_session.user.id, "kind": "system", "title": title, "body": "b"})), &[("x-api-key", API_KEY)])
            .await;
        assert_eq!((notification.status, notification.code()), (400, "invalid_payload"), "notification title {title:?}");
    }
    let conversations = p.bob.get("/v1/conversations").await;
    assert_eq!(conversations.body["conversations"].as_array().unwrap().len(), 1, "no group was made");
    let ok = p.alice.post("/v1/conversations", json!({"kind": "group", "title": "Équipe Rust — 2026", "member_ids": [p.bob_session.user.id]})).await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
}
