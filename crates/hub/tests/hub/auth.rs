//! Registration, login, refresh rotation with reuse detection, logout.

use std::time::Duration;

use rapport_testkit::{Closed, Gw, TestHub};
use serde_json::json;

#[tokio::test]
async fn register_returns_a_session_and_lowercases_the_email() {
    let hub = TestHub::start().await;
    let api = hub.api();
    let reply = api
        .post("/v1/auth/register", json!({"email": "Carl@Example.TEST", "password": "12345678", "display_name": " Carl ", "role": "candidate"}))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let s = &reply.body;
    assert_eq!(s["user"]["email"], "carl@example.test");
    assert_eq!(s["user"]["display_name"], "Carl", "names are trimmed");
    assert_eq!(s["user"]["role"], "candidate");
    assert!(s["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(s["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(s["expires_in"], 900, "default access TTL");
    let again = api
        .post("/v1/auth/register", json!({"email": "carl@example.test", "password": "12345678", "display_name": "C", "role": "candidate"}))
        .await;
    assert_eq!((again.status, again.code()), (409, "email_taken"), "emails are unique case-insensitively");
}

#[tokio::test]
async fn register_rejects_bad_input_with_clear_codes() {
    let hub = TestHub::start().await;
    let api = hub.api();
    let cases = [
        (json!({"email": "d@x.test", "password": "short", "display_name": "D", "role": "candidate"}), 400, "password_too_short"),
        (json!({"email": "d@x.test", "password": "12345678", "display_name": "D", "role": "admin"}), 400, "invalid_payload"),
        (json!({"email": "not-an-email", "password": "12345678", "display_name": "D", "role": "candidate"}), 400, "invalid_payload"),
        (json!({"email": "d@x.test", "password": "12345678", "display_name": "   ", "role": "candidate"}), 400, "invalid_payload"),
        (json!({"email": "d@x.test", "password": "12345678", "role": "candidate"}), 400, "invalid_payload"),
        (json!([1, 2, 3]), 400, "invalid_payload"),
    ];
    for (body, status, code) in cases {
        let reply = api.post("/v1/auth/register", body.clone()).await;
        assert_eq!((reply.status, reply.code()), (status, code), "for {body}");
        assert!(reply.body["error"]["message"].is_string(), "errors carry a message");
    }
    let raw = api.call("POST", "/v1/auth/register", None, &[("content-type", "application/json")]).await;
    assert_eq!((raw.status, raw.code()), (400, "invalid_payload"), "an empty body is invalid, not a 5xx");
    // Nothing half-made: the email is still free.
    let ok = api.post("/v1/auth/register", json!({"email": "d@x.test", "password": "12345678", "display_name": "D", "role": "candidate"})).await;
    assert_eq!(ok.status, 201);
}

#[tokio::test]
async fn login_answers_the_same_for_wrong_email_and_wrong_password() {
    let hub = TestHub::start().await;
    let api = hub.api();
    api.register("eve@x.test", "Eve", "recruiter").await;
    let ok = api.post("/v1/auth/login", json!({"email": "EVE@x.test", "password": "correct horse"})).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["user"]["email"], "eve@x.test");
    let wrong_password = api.post("/v1/auth/login", json!({"email": "eve@x.test", "password": "wrong horse"})).await;
    let wrong_email = api.post("/v1/auth/login", json!({"email": "nobody@x.test", "password": "correct horse"})).await;
    assert_eq!((wrong_password.status, wrong_password.code()), (401, "invalid_credentials"));
    assert_eq!(wrong_password.body, wrong_email.body, "the two failures must be indistinguishable");
}

#[tokio::test]
async fn authenticated_routes_refuse_missing_bad_and_expired_tokens() {
    let hub = TestHub::start_with(|c| c.access_ttl = Duration::from_secs(1)).await;
    let (me, session) = hub.api().user("Fay", "recruiter").await;
    assert_eq!(me.get("/v1/me").await.body["id"], session.user.id.as_str());
    assert_eq!(session.expires_in, 1);
    for api in [hub.api(), hub.api().with_token("garbage"), hub.api().with_token(&format!("{}x", session.access_token))] {
        let reply = api.get("/v1/me").await;
        assert_eq!((reply.status, reply.code()), (401, "unauthorized"));
    }
    // exp has one-second resolution; two seconds later the token has certainly expired.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = me.get("/v1/me").await;
    assert_eq!((expired.status, expired.code()), (401, "unauthorized"), "expired tokens are refused");
    let mut gw = Gw::connect(&hub.gateway_url()).await;
    gw.send_op("identify", json!({"token": session.access_token, "presence": "online"})).await;
    assert_eq!(gw.closed().await, Closed::Code(4001), "the gateway refuses expired tokens too");
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_login() {
    let hub = TestHub::start().await;
    let (_, first) = hub.api().user("Gus", "candidate").await;
    let api = hub.api();
    let second = api.post("/v1/auth/refresh", json!({"refresh_token": first.refresh_token})).await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    let second_refresh = second.body["refresh_token"].as_str().unwrap().to_owned();
    let second_access = second.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first.refresh_token, "a new refresh token every time");
    assert_eq!(hub.api().with_token(&second_access).get("/v1/me").await.status, 200);

    // A gateway session of this login, to see it ended.
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &second_access).await;

    // The first token again: someone replayed it. Everything of this login ends.
    let reuse = api.post("/v1/auth/refresh", json!({"refresh_token": first.refresh_token})).await;
    assert_eq!((reuse.status, reuse.code()), (401, "invalid_refresh_token"));
    let after = api.post("/v1/auth/refresh", json!({"refresh_token": second_refresh})).await;
    assert_eq!(after.status, 401, "the newest refresh token of the login is revoked too");
    let me = hub.api().with_token(&second_access).get("/v1/me").await;
    assert_eq!(me.status, 401, "access tokens of the revoked login stop working");
    assert_eq!(gw.closed().await, Closed::Code(4001), "open sessions of the login are closed");

    let unknown = api.post("/v1/auth/refresh", json!({"refresh_token": "nope"})).await;
    assert_eq!((unknown.status, unknown.code()), (401, "invalid_refresh_token"));
}

#[tokio::test]
async fn logout_ends_the_login_but_not_other_logins() {
    let hub = TestHub::start().await;
    let api = hub.api();
    let one = api.register("hal@x.test", "Hal", "recruiter").await;
    let two: rapport_protocol::Session = serde_json::from_value(
        api.post("/v1/auth/login", json!({"email": "hal@x.test", "password": "correct horse"})).await.body,
    )
    .unwrap();
    let out = api.post("/v1/auth/logout", json!({"refresh_token": one.refresh_token})).await;
    assert_eq!(out.status, 204);
    assert_eq!(api.post("/v1/auth/refresh", json!({"refresh_token": one.refresh_token})).await.status, 401);
    assert_eq!(api.with_token(&one.access_token).get("/v1/me").await.status, 401);
    assert_eq!(api.with_token(&two.access_token).get("/v1/me").await.status, 200, "the other device stays logged in");
    let again = api.post("/v1/auth/logout", json!({"refresh_token": one.refresh_token})).await;
    assert_eq!(again.status, 204, "logout is idempotent");
}

#[tokio::test]
async fn user_directory_matches_names_case_insensitively_and_exact_emails() {
    let hub = TestHub::start().await;
    let api = hub.api();
    let me = api.register("ida@x.test", "Ida Ödegaard", "recruiter").await;
    api.register("jon@x.test", "Jon Snow", "candidate").await;
    let me = api.with_token(&me.access_token);
    let names = |reply: rapport_testkit::Reply| -> Vec<String> {
        reply.body["users"].as_array().unwrap().iter().map(|u| u["display_name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(me.get("/v1/users?q=snow").await), vec!["Jon Snow"]);
    assert_eq!(names(me.get("/v1/users?q=%C3%B6DEG").await), vec!["Ida Ödegaard"], "Unicode case folding");
    assert_eq!(names(me.get("/v1/users?q=JON@x.test").await), vec!["Jon Snow"], "exact email, any case");
    assert_eq!(names(me.get("/v1/users?q=jon@x").await), Vec::<String>::new(), "emails match exactly, not by substring");
    assert_eq!(me.get("/v1/users?limit=1").await.body["users"].as_array().unwrap().len(), 1);
    assert_eq!(me.get("/v1/users?limit=abc").await.code(), "invalid_payload");
    let zero = me.get("/v1/users?limit=0").await;
    assert_eq!((zero.status, zero.code()), (400, "invalid_payload"), "limit is 1 to 100, so 0 is refused");
    assert_eq!(me.get("/v1/users?limit=1000").await.status, 200, "above 100 is capped, not refused");
    assert_eq!(hub.api().get("/v1/users").await.status, 401);
}

#[tokio::test]
async fn a_logout_is_enforced_at_once_although_the_login_was_just_confirmed_active() {
    let hub = TestHub::start().await;
    let (api, session) = hub.api().user("Kim", "candidate").await;
    // Both paths have just confirmed the login active (and may remember that for a while).
    let (_gw, _) = Gw::ready(&hub.gateway_url(), &session.access_token).await;
    assert_eq!(api.get("/v1/me").await.status, 200);

    let out = hub.api().post("/v1/auth/logout", json!({"refresh_token": session.refresh_token})).await;
    assert_eq!(out.status, 204);
    assert_eq!(api.get("/v1/me").await.status, 401, "REST refuses the ended login's token at once");
    let mut gw = Gw::connect(&hub.gateway_url()).await;
    gw.send_op("identify", json!({"token": session.access_token, "presence": "online"})).await;
    assert_eq!(gw.closed().await, Closed::Code(4001), "so does the gateway");
}
