//! `POST /v1/integrations/application-status` (1.1, §3): the tracking system's status card,
//! the candidate's notification, `Conversation.application`, idempotency, and what is refused.

use rapport_testkit::{Api, Gw, TestHub, API_KEY};
use serde_json::{json, Value};

const ROUTE: &str = "/v1/integrations/application-status";

async fn post(api: &Api, body: &Value) -> rapport_testkit::Reply {
    api.call("POST", ROUTE, Some(body.clone()), &[("x-api-key", API_KEY)]).await
}

#[tokio::test]
async fn a_status_change_posts_a_card_from_the_recruiter_notifies_the_candidate_live_and_moves_the_application() {
    let hub = TestHub::start().await;
    let (rita, rita_session) = hub.api().user("Rita Recruiter", "recruiter").await;
    let (carl, carl_session) = hub.api().user("Carl Candidate", "candidate").await;
    let (mut carl_gw, _) = Gw::ready(&hub.gateway_url(), &carl_session.access_token).await;
    let api = hub.api();
    let body = json!({
        "candidate_email": carl_session.user.email.to_uppercase(), "recruiter_email": rita_session.user.email,
        "job_title": "Senior Rust engineer", "status": "screening", "note": "We are reading your CV.", "external_id": "ats-1",
    });
    let reply = post(&api, &body).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let message = reply.body.clone();
    assert_eq!((message["kind"].as_str(), message["sender_id"].as_str(), message["seq"].as_i64()), (Some("application_status"), Some(rita_session.user.id.as_str()), Some(1)));
    assert_eq!(message["card"], json!({"job_title": "Senior Rust engineer", "status": "screening", "note": "We are reading your CV."}));
    let conversation_id = message["conversation_id"].as_str().unwrap().to_owned();

    let created = carl_gw.event("conversation.created").await;
    assert_eq!(created["data"]["conversation"]["id"], conversation_id.as_str(), "the direct conversation was made for them");
    let live = carl_gw.event("message.created").await;
    assert_eq!(live["data"]["message"], message, "the card reaches the candidate live");
    let notification = carl_gw.event("notification").await["data"]["notification"].clone();
    assert_eq!(notification["kind"], "application_status");
    assert_eq!((notification["data"]["conversation_id"].as_str(), notification["data"]["status"].as_str()), (Some(conversation_id.as_str()), Some("screening")), "it says where to open: {notification}");
    let stored = carl.get("/v1/notifications").await.body;
    assert_eq!(stored["notifications"].as_array().unwrap().len(), 1);

    let seen_by_rita = rita.get(&format!("/v1/conversations/{conversation_id}")).await.body;
    assert_eq!(seen_by_rita["application"]["status"], "screening");
    assert_eq!(seen_by_rita["application"]["job_title"], "Senior Rust engineer");
    assert_eq!(seen_by_rita["application"]["updated_at"], message["created_at"]);
    assert_eq!(rita.direct(&carl_session.user.id).await.id, conversation_id, "the same direct conversation as a chat would use");

    let offer = post(&api, &json!({"candidate_email": carl_session.user.email, "recruiter_email": rita_session.user.email, "job_title": "Senior Rust engineer", "status": "offer"})).await;
    assert_eq!(offer.status, 201, "without an external_id: a new change");
    assert_eq!(offer.body["seq"], 2);
    let list = carl.get("/v1/conversations").await.body;
    assert_eq!(list["conversations"][0]["application"]["status"], "offer", "the list shows the latest stage");

    // Rita deletes the offer card: the application is back where the remaining card says.
    let deleted = rita.call("DELETE", &format!("/v1/conversations/{conversation_id}/messages/{}", offer.body["id"].as_str().unwrap()), None, &[]).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(carl.get(&format!("/v1/conversations/{conversation_id}")).await.body["application"]["status"], "screening");
}

#[tokio::test]
async fn concurrent_retries_of_one_external_id_store_one_message_and_notify_once() {
    let hub = TestHub::start().await;
    let (_, rita) = hub.api().user("Rita Recruiter", "recruiter").await;
    let (carl, carl_session) = hub.api().user("Carl Candidate", "candidate").await;
    let body = json!({"candidate_email": carl_session.user.email, "recruiter_email": rita.user.email, "job_title": "Platform engineer", "status": "interview", "external_id": "evt-77"});
    let mut calls = Vec::new();
    for _ in 0..8 {
        let (api, body) = (hub.api(), body.clone());
        calls.push(tokio::spawn(async move { post(&api, &body).await }));
    }
    let mut replies = Vec::new();
    for call in calls {
        replies.push(call.await.unwrap());
    }
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert!(replies.iter().all(|r| r.status == 201 || r.status == 200), "{:?}", replies.iter().map(|r| (r.status, r.body.clone())).collect::<Vec<_>>());
    assert_eq!(created, 1, "exactly one call created it; the others answered what it created");
    let ids: std::collections::HashSet<&str> = replies.iter().map(|r| r.body["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "every retry answers the same message");

    let again = post(&hub.api(), &body).await;
    assert_eq!((again.status, again.body["id"].as_str()), (200, ids.iter().next().copied()), "a later retry too");
    let conversation_id = again.body["conversation_id"].as_str().unwrap();
    let history = carl.get(&format!("/v1/conversations/{conversation_id}/messages")).await.body;
    assert_eq!(history["messages"].as_array().unwrap().len(), 1, "one message in the conversation");
    let notifications = carl.get("/v1/notifications").await.body;
    assert_eq!(notifications["notifications"].as_array().unwrap().len(), 1, "one notification for the candidate");
    assert_eq!(carl.get("/v1/conversations").await.body["conversations"].as_array().unwrap().len(), 1, "one conversation");
}

#[tokio::test]
async fn bad_calls_are_refused_clearly_and_create_nothing() {
    let hub = TestHub::start().await;
    let (_, rita) = hub.api().user("Rita Recruiter", "recruiter").await;
    let (carl, carl_session) = hub.api().user("Carl Candidate", "candidate").await;
    let api = hub.api();
    let good = json!({"candidate_email": carl_session.user.email, "recruiter_email": rita.user.email, "job_title": "Engineer", "status": "applied", "external_id": "x1"});
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    for headers in [vec![], vec![("x-api-key", "wrong")]] {
        let reply = api.call("POST", ROUTE, Some(good.clone()), &headers).await;
        assert_eq!((reply.status, reply.code()), (401, "unauthorized"), "{headers:?}");
    }
    let unknown_candidate = post(&api, &with("candidate_email", json!("ghost@nowhere.test"))).await;
    assert_eq!((unknown_candidate.status, unknown_candidate.code()), (404, "not_found"));
    let text = unknown_candidate.body["error"]["message"].as_str().unwrap();
    assert!(text.contains("candidate_email") && text.contains("ghost@nowhere.test"), "the message says which email: {text}");
    let unknown_recruiter = post(&api, &with("recruiter_email", json!("nobody@nowhere.test"))).await;
    assert_eq!((unknown_recruiter.status, unknown_recruiter.code()), (404, "not_found"));
    assert!(unknown_recruiter.body["error"]["message"].as_str().unwrap().contains("recruiter_email"));
    let cases = [
        ("an unknown status", with("status", json!("promoted"))),
        ("an empty job title", with("job_title", json!("  "))),
        ("a job title over two lines", with("job_title", json!("a\nb"))),
        ("a candidate as the recruiter", with("recruiter_email", json!(carl_session.user.email))),
        ("a recruiter as the candidate", with("candidate_email", json!(rita.user.email))),
        ("an empty external id", with("external_id", json!(""))),
        ("no status", json!({"candidate_email": carl_session.user.email, "recruiter_email": rita.user.email, "job_title": "Engineer"})),
    ];
    for (why, body) in cases {
        let reply = post(&api, &body).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_payload"), "{why}: {:?}", reply.body);
    }
    assert_eq!(carl.get("/v1/conversations").await.body["conversations"], json!([]), "no conversation was made");
    assert_eq!(carl.get("/v1/notifications").await.body["notifications"], json!([]), "no notification was made");
    assert_eq!(post(&api, &good).await.status, 201, "the external id of refused calls is still free");
}
