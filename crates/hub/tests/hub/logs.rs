//! Nothing secret and no message body ever reaches the log.

use rapport_testkit::{Api, Gw, HubProcess, Launch};
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

#[tokio::test]
async fn not_even_trace_level_prints_a_token_a_password_or_a_body() {
    let mut hub = HubProcess::launch(Launch { args: &["--log-format", "json"], env: &[("RUST_LOG", "trace")], ..Launch::default() }).await;
    let api = Api::new(&hub.url());
    let password = "pw-Trace-Quartz-4417";
    let body = "trace-secret-offer-987654";
    let reg = api
        .post("/v1/auth/register", json!({"email": "trace@x.test", "password": password, "display_name": "Tracy", "role": "recruiter"}))
        .await;
    assert_eq!(reg.status, 201);
    let login = api.post("/v1/auth/login", json!({"email": "trace@x.test", "password": password})).await;
    assert_eq!(login.status, 200);
    // A password of the wrong type: a rejection message would quote it.
    let ill_typed = api.post("/v1/auth/login", json!({"email": "trace@x.test", "password": 4417_4417_4417u64})).await;
    assert_eq!(ill_typed.status, 400);
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();
    let (_, other) = api.user("Other", "candidate").await;
    let c = api.with_token(&access).direct(&other.user.id).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &access).await;
    let sent = gw.request("message.send", json!({"conversation_id": c.id, "client_msg_id": "trace-1", "body": body})).await;
    assert_eq!(sent["op"], "ack");
    let rotated = api.post("/v1/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(rotated.status, 200);
    gw.close().await;
    hub.terminate().await;

    let log = hub.log_text();
    // Not silence: the WebSocket library's own lines reach the log, only capped below trace,
    // where it prints whole frames.
    assert!(log.contains(r#""target":"tungstenite::protocol""#), "the WebSocket library logs through the hub's subscriber:\n{log}");
    assert!(log.contains(r#""level":"DEBUG""#) && log.contains("account created"), "the log was captured at the levels asked for");
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    for (what, secret) in [
        ("password", password.to_owned()),
        ("ill-typed password", "441744174417".to_owned()),
        ("message body", body.to_owned()),
        ("access token", access.clone()),
        ("refresh token", refresh.clone()),
        ("rotated refresh token", rotated.body["refresh_token"].as_str().unwrap().to_owned()),
    ] {
        // WebSocket frames are logged as hex by the library, so look for that too; a JWT's
        // signature alone would be enough to recognise it.
        let signature = secret.rsplit('.').next().unwrap_or(&secret).to_owned();
        for form in [secret.clone(), hex(&secret), signature] {
            assert!(!log.contains(&form), "the trace log contains the {what} ({form})");
        }
    }
}
