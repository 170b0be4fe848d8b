//! Nothing secret and no message body ever reaches the log.

use rapport_testkit::{Api, Gw, HubProcess};
use serde_json::json;

#[tokio::test]
async fn the_log_never_contains_passwords_tokens_or_bodies() {
    let mut hub = HubProcess::start(&["--log-format", "json"]).await;
    let api = Api::new(&hub.url());
    let password = "pw-Zebra-Quartz-9931";
    let body = "confidential-salary-offer-123456";
    let reg = api
        .post("/v1/auth/register", json!({"email": "log@x.test", "password": password, "display_name": "Logan", "role": "recruiter"}))
        .await;
    assert_eq!(reg.status, 201);
    let login = api.post("/v1/auth/login", json!({"email": "log@x.test", "password": password})).await;
    let wrong = api.post("/v1/auth/login", json!({"email": "log@x.test", "password": format!("{password}-wrong")})).await;
    assert_eq!(wrong.status, 401);
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();
    let (_, other) = api.user("Other", "candidate").await;
    let me = api.with_token(&access);
    let c = me.direct(&other.user.id).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &access).await;
    gw.request("message.send", json!({"conversation_id": c.id, "client_msg_id": "log-1", "body": body})).await;
    gw.request("message.send", json!({"conversation_id": c.id, "client_msg_id": "log-2", "body": format!("{body}{}", "!".repeat(4000))})).await;
    let rotated = api.post("/v1/auth/refresh", json!({"refresh_token": refresh})).await;
    let reused = api.post("/v1/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(reused.status, 401);
    let new_access = rotated.body["access_token"].as_str().unwrap().to_owned();
    gw.close().await;
    hub.terminate().await;

    let log = hub.log_text();
    assert!(log.contains("account created"), "the log was captured at debug level:\n{log}");
    if let Some(password) = hub.database().and_then(|database| database.password()) {
        assert!(!log.contains(&password), "the log contains the database password");
    }
    for (what, secret) in [
        ("password", password),
        ("message body", body),
        ("access token", access.as_str()),
        ("rotated access token", new_access.as_str()),
        ("refresh token", refresh.as_str()),
        ("jwt secret", std::fs::read_to_string(hub.dir().join("jwt-secret")).unwrap().trim()),
    ] {
        assert!(!log.contains(secret), "the log contains the {what}");
    }
}
