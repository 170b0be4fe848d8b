//! Saved replies (1.1, §3): stored on the hub, private to their owner, with only the known
//! variables.

use rapport_testkit::TestHub;
use serde_json::json;

#[tokio::test]
async fn templates_are_created_listed_changed_and_removed_by_their_owner_only() {
    let hub = TestHub::start().await;
    let (rita, _) = hub.api().user("Rita Recruiter", "recruiter").await;
    let (other, _) = hub.api().user("Olga Recruiter", "recruiter").await;
    let thanks = rita.post("/v1/templates", json!({"name": "Thanks", "body": "Thanks {{first_name}}, I'll be in touch. — {{my_name}}"})).await;
    assert_eq!(thanks.status, 201, "{:?}", thanks.body);
    let intro = rita.post("/v1/templates", json!({"name": " Intro ", "body": "Hi {{ display_name }}, the {{job_title}} role is open."})).await;
    assert_eq!((intro.status, intro.body["name"].as_str()), (201, Some("Intro")), "the name is trimmed");
    let list = rita.get("/v1/templates").await.body;
    let names: Vec<&str> = list["templates"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Intro", "Thanks"], "by name");

    let id = thanks.body["id"].as_str().unwrap();
    let path = format!("/v1/templates/{id}");
    let changed = rita.call("PUT", &path, Some(json!({"name": "Thank you", "body": "Thank you {{first_name}}!"})), &[]).await;
    assert_eq!((changed.status, changed.body["body"].as_str()), (200, Some("Thank you {{first_name}}!")));
    assert_eq!(changed.body["created_at"], thanks.body["created_at"]);

    assert_eq!(other.get("/v1/templates").await.body["templates"], json!([]), "another user sees none of them");
    for (method, body) in [("PUT", Some(json!({"name": "Mine", "body": "x"}))), ("DELETE", None)] {
        let reply = other.call(method, &path, body, &[]).await;
        assert_eq!((reply.status, reply.code()), (404, "not_found"), "{method} of someone else's template");
    }
    assert_eq!(rita.call("DELETE", &path, None, &[]).await.status, 204);
    assert_eq!(rita.call("DELETE", &path, None, &[]).await.status, 404, "gone once removed");
    assert_eq!(rita.get("/v1/templates").await.body["templates"].as_array().unwrap().len(), 1);
    assert_eq!(hub.api().get("/v1/templates").await.status, 401, "templates need a login");
}

#[tokio::test]
async fn bad_templates_are_refused_with_a_clear_message() {
    let hub = TestHub::start().await;
    let (rita, _) = hub.api().user("Rita Recruiter", "recruiter").await;
    assert_eq!(rita.post("/v1/templates", json!({"name": "Hello", "body": "Hello {{first_name}}"})).await.status, 201);
    let unknown = rita.post("/v1/templates", json!({"name": "Pay", "body": "The salary is {{salary}}"})).await;
    assert_eq!((unknown.status, unknown.code()), (400, "invalid_payload"));
    let text = unknown.body["error"]["message"].as_str().unwrap();
    assert!(text.contains("{{salary}}") && text.contains("{{first_name}}"), "names the culprit and what is known: {text}");
    let cases = [
        ("a taken name", json!({"name": "Hello", "body": "again"})),
        ("an unclosed variable", json!({"name": "Oops", "body": "Hi {{first_name"})),
        ("an empty body", json!({"name": "Empty", "body": "  "})),
        ("an empty name", json!({"name": "", "body": "x"})),
        ("a name over two lines", json!({"name": "a\nb", "body": "x"})),
        ("an over-long body", json!({"name": "Long", "body": "x".repeat(4001)})),
        ("no body", json!({"name": "None"})),
    ];
    for (why, body) in cases {
        let reply = rita.post("/v1/templates", body).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_payload"), "{why}: {:?}", reply.body);
    }
    let second = rita.post("/v1/templates", json!({"name": "Bye", "body": "Bye"})).await.body;
    let rename = rita.call("PUT", &format!("/v1/templates/{}", second["id"].as_str().unwrap()), Some(json!({"name": "Hello", "body": "Bye"})), &[]).await;
    assert_eq!((rename.status, rename.code()), (400, "invalid_payload"), "a rename onto a taken name");
    assert_eq!(rita.get("/v1/templates").await.body["templates"].as_array().unwrap().len(), 2, "nothing refused was stored");
}
