//! Notifications from integrations (API key) to users, live and stored.

use rapport_testkit::{Gw, TestHub, API_KEY};
use serde_json::json;

#[tokio::test]
async fn the_integration_route_needs_the_key_and_pushes_live() {
    let hub = TestHub::start().await;
    let (carl, session) = hub.api().user("Carl", "candidate").await;
    let (mut gw, ready) = Gw::ready(&hub.gateway_url(), &session.access_token).await;
    assert_eq!(ready["notifications_unread"], 0);
    let body = json!({"user_id": session.user.id, "kind": "job_alert", "title": "Rust engineer", "body": "Berlin, remote ok", "data": {"job_id": 42}});
    let api = hub.api();
    for headers in [vec![], vec![("x-api-key", "wrong")]] {
        let reply = api.call("POST", "/v1/notifications", Some(body.clone()), &headers).await;
        assert_eq!((reply.status, reply.code()), (401, "unauthorized"), "{headers:?}");
    }
    let as_user = carl.post("/v1/notifications", body.clone()).await;
    assert_eq!(as_user.status, 401, "a user token is not the API key");

    let created = api.call("POST", "/v1/notifications", Some(body), &[("x-api-key", API_KEY)]).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let n = created.body.clone();
    assert_eq!((n["kind"].as_str(), n["read"].as_bool(), &n["data"]), (Some("job_alert"), Some(false), &json!({"job_id": 42})));
    let pushed = gw.event("notification").await;
    assert_eq!(pushed["data"]["notification"], n, "pushed live as stored");

    let by_email = json!({"email": session.user.email.to_uppercase(), "kind": "application_status", "title": "Interview", "body": "Tuesday"});
    let second = api.call("POST", "/v1/notifications", Some(by_email), &[("x-api-key", API_KEY)]).await;
    assert_eq!(second.status, 201);
    assert!(second.body["data"].is_null(), "data is null when none was given");

    let listed = carl.get("/v1/notifications").await.body;
    let ids: Vec<&str> = listed["notifications"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![second.body["id"].as_str().unwrap(), n["id"].as_str().unwrap()], "newest first");
    let (_, ready) = Gw::ready(&hub.gateway_url(), &session.access_token).await;
    assert_eq!(ready["notifications_unread"], 2);

    assert_eq!(carl.post(&format!("/v1/notifications/{}/read", n["id"].as_str().unwrap()), json!({})).await.status, 204);
    let unread = carl.get("/v1/notifications?unread=true").await.body;
    assert_eq!(unread["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(unread["notifications"][0]["id"], second.body["id"]);
}

#[tokio::test]
async fn bad_notifications_and_foreign_ids_are_refused() {
    let hub = TestHub::start().await;
    let (_, carl) = hub.api().user("Carl", "candidate").await;
    let (dana, _) = hub.api().user("Dana", "recruiter").await;
    let api = hub.api();
    let key = [("x-api-key", API_KEY)];
    let cases = [
        (json!({"user_id": carl.user.id, "kind": "spam", "title": "t", "body": "b"}), 400, "invalid_payload"),
        (json!({"kind": "system", "title": "t", "body": "b"}), 400, "invalid_payload"),
        (json!({"user_id": carl.user.id, "kind": "system", "title": "", "body": "b"}), 400, "invalid_payload"),
        (json!({"user_id": "ghost", "kind": "system", "title": "t", "body": "b"}), 404, "not_found"),
        (json!({"email": "ghost@x.test", "kind": "system", "title": "t", "body": "b"}), 404, "not_found"),
    ];
    for (body, status, code) in cases {
        let reply = api.call("POST", "/v1/notifications", Some(body.clone()), &key).await;
        assert_eq!((reply.status, reply.code()), (status, code), "{body}");
    }
    let n = api
        .call("POST", "/v1/notifications", Some(json!({"user_id": carl.user.id, "kind": "system", "title": "t", "body": "b"})), &key)
        .await;
    let foreign = dana.post(&format!("/v1/notifications/{}/read", n.body["id"].as_str().unwrap()), json!({})).await;
    assert_eq!((foreign.status, foreign.code()), (404, "not_found"), "someone else's notification does not exist for you");
}

#[tokio::test]
async fn without_a_configured_key_the_route_is_closed() {
    let hub = TestHub::start_with(|c| c.api_key = None).await;
    let reply = hub
        .api()
        .call("POST", "/v1/notifications", Some(json!({"email": "a@b.c", "kind": "system", "title": "t", "body": "b"})), &[("x-api-key", "")])
        .await;
    assert_eq!(reply.status, 401);
}
