//! Operator routes: health, readiness, metrics, OpenAPI; and JSON errors for unknown routes.

use rapport_testkit::{Gw, TestHub};
use serde_json::json;

use crate::support::{pair, send_data};

#[tokio::test]
async fn health_readiness_and_metrics() {
    let hub = TestHub::start().await;
    let api = hub.api();
    assert_eq!(api.get("/healthz").await.status, 200);
    assert_eq!(api.get("/readyz").await.status, 200);
    let p = pair(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    gw.request("message.send", send_data(&p.conversation.id, "m", "hi")).await;
    let text = reqwest::get(format!("{}/metrics", hub.url())).await.unwrap().text().await.unwrap();
    for needle in [
        "rapport_gateway_sessions 1",
        "rapport_messages_stored_total 1",
        "rapport_events_dispatched_total",
        "rapport_dispatch_latency_seconds_bucket",
        "rapport_db_pool_wait_seconds_count",
    ] {
        assert!(text.contains(needle), "metrics must contain {needle:?}:\n{text}");
    }
}

#[tokio::test]
async fn a_hub_whose_database_is_gone_does_not_start() {
    let mut hub = TestHub::start().await;
    hub.stop().await.unwrap();
    hub.break_database().await;
    let config = hub.config.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let result = rapport_hub::run(listener, config, async {}).await;
    assert!(result.is_err(), "a hub that cannot open its database must not start");
}

#[tokio::test]
async fn openapi_lists_every_route_with_the_spec_paths() {
    let hub = TestHub::start().await;
    let doc = hub.api().get("/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    let expected = [
        ("/v1/auth/register", "post"), ("/v1/auth/login", "post"), ("/v1/auth/refresh", "post"), ("/v1/auth/logout", "post"),
        ("/v1/me", "get"), ("/v1/users", "get"), ("/v1/conversations", "post"), ("/v1/conversations", "get"),
        ("/v1/conversations/{id}", "get"), ("/v1/conversations/{id}/messages", "get"), ("/v1/conversations/{id}/read", "post"),
        ("/v1/notifications", "post"), ("/v1/notifications", "get"), ("/v1/notifications/{id}/read", "post"),
        ("/v1/openapi.json", "get"), ("/healthz", "get"), ("/readyz", "get"), ("/metrics", "get"),
        // Protocol 1.1.
        ("/v1/conversations/{id}/messages/{message_id}", "patch"), ("/v1/conversations/{id}/messages/{message_id}", "delete"),
        ("/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", "put"),
        ("/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", "delete"),
        ("/v1/attachments", "post"), ("/v1/attachments/{id}", "get"), ("/v1/attachments/{id}/thumbnail", "get"),
        // 1.1, §5: the WhatsApp / SMS bridge.
        ("/v1/bridges/twilio/numbers", "get"), ("/v1/bridges/twilio/numbers", "post"), ("/v1/bridges/twilio/numbers/{number}", "delete"),
        ("/v1/bridges/twilio/inbound", "get"), ("/v1/bridges/twilio/inbound", "post"), ("/v1/bridges/twilio/status", "post"),
    ];
    let history_params = doc.body["paths"]["/v1/conversations/{id}/messages"]["get"]["parameters"].to_string();
    assert!(history_params.contains("changed_after_rev"), "{history_params}");
    for (path, method) in expected {
        assert!(doc.body["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    let schemas = &doc.body["components"]["schemas"];
    for schema in ["Session", "User", "Conversation", "Message", "Notification", "ErrorBody", "Attachment", "Reaction", "EditMessageRequest", "Bridge", "TwilioNumber"] {
        assert!(schemas[schema].is_object(), "schema {schema} is generated");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let hub = TestHub::start().await;
    let api = hub.api();
    let missing = api.get("/v1/nothing-here").await;
    assert_eq!((missing.status, missing.code()), (404, "not_found"));
    let wrong_method = api.call("DELETE", "/v1/conversations", None, &[]).await;
    assert_eq!((wrong_method.status, wrong_method.code()), (405, "method_not_allowed"));
    let huge = api.post("/v1/auth/login", json!({"email": "x".repeat(100_000), "password": "p"})).await;
    assert_eq!((huge.status, huge.code()), (413, "payload_too_large"));
    let text = api.call("POST", "/v1/auth/login", None, &[("content-type", "text/plain")]).await;
    assert_eq!((text.status, text.code()), (400, "invalid_payload"));
    // The gateway's route, asked without a WebSocket upgrade, says so in the same shape.
    let plain = api.get("/v1/gateway").await;
    assert_eq!((plain.status, plain.code()), (400, "invalid_payload"), "{:?}", plain.body);
    let upgrade_only = api.call("GET", "/v1/gateway", None, &[("connection", "upgrade"), ("upgrade", "websocket")]).await;
    assert_eq!((upgrade_only.status, upgrade_only.code()), (400, "invalid_payload"), "no key, no version: {:?}", upgrade_only.body);
}

#[tokio::test]
async fn update_manifests_are_served_from_the_updates_dir_only() {
    let updates = tempfile::tempdir().unwrap();
    std::fs::write(updates.path().join("latest.json"), r#"{"version":"0.2.0"}"#).unwrap();
    std::fs::write(updates.path().join(".hidden"), "no").unwrap();
    let dir = updates.path().to_path_buf();
    let hub = TestHub::start_with(move |c| c.updates_dir = Some(dir)).await;
    let api = hub.api();
    let manifest = api.get("/v1/updates/latest.json").await;
    assert_eq!((manifest.status, &manifest.body), (200, &json!({"version": "0.2.0"})));
    for path in ["/v1/updates/.hidden", "/v1/updates/missing.json", "/v1/updates/..%2Fhub.db"] {
        let reply = api.get(path).await;
        assert_eq!((reply.status, reply.code()), (404, "not_found"), "{path}");
    }
    let without = TestHub::start().await;
    assert_eq!(without.api().get("/v1/updates/latest.json").await.status, 404, "no --updates-dir, no updates");
}
