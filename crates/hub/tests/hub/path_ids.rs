//! Path parameters that do not decode (invalid UTF-8, broken escapes) are ids that name
//! nothing: 404 `not_found` in the JSON error shape, never a plain-text 400.

use rapport_testkit::{TestHub, API_KEY};
use serde_json::json;

use crate::support::pair;

/// Percent-escapes that are not UTF-8, or not escapes.
const UNDECODABLE: [&str; 5] = ["%ff", "%c0%af", "%ed%a0%80", "ab%fe%ffcd", "%e2%82"];

#[tokio::test]
async fn every_route_with_a_path_parameter_answers_not_found_json_for_an_undecodable_one() {
    let updates = tempfile::tempdir().unwrap();
    std::fs::write(updates.path().join("latest.json"), "{}").unwrap();
    let dir = updates.path().to_path_buf();
    let hub = TestHub::start_with(move |c| c.updates_dir = Some(dir)).await;
    let p = pair(&hub).await;
    let http = reqwest::Client::new();
    let token = p.alice_session.access_token.as_str();
    let routes: [(&str, &str, &str, Option<serde_json::Value>); 5] = [
        ("GET", "/v1/conversations/{}", "conversation", None),
        ("GET", "/v1/conversations/{}/messages", "conversation", None),
        ("POST", "/v1/conversations/{}/read", "conversation", Some(json!({"seq": 1}))),
        ("POST", "/v1/notifications/{}/read", "notification", None),
        ("GET", "/v1/updates/{}", "update", None),
    ];
    for (method, route, what, body) in &routes {
        for id in UNDECODABLE {
            let url = format!("{}{}", hub.url(), route.replace("{}", id));
            let mut request = http.request(method.parse().unwrap(), &url).bearer_auth(token).header("x-api-key", API_KEY);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let text = response.text().await.unwrap();
            let parsed: serde_json::Value = match text.as_str() {
                "" if status == 204 => serde_json::Value::Null,
                _ => serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {url}: not JSON: {status} {text:?}")),
            };
            assert_eq!(status, 404, "{method} {url}: {text}");
            assert_eq!(parsed["error"]["code"], "not_found", "{method} {url}: {text}");
            assert_eq!(parsed["error"]["message"], format!("{what} not found"), "worded like any unknown id: {method} {url}");
            assert!(content_type.starts_with("application/json"), "{method} {url}: {content_type}");
        }
    }
    // The same routes still work with real ids.
    let ok = p.alice.get(&format!("/v1/conversations/{}", p.conversation.id)).await;
    assert_eq!(ok.status, 200);
    assert_eq!(hub.api().get("/v1/updates/latest.json").await.status, 200);
}

#[tokio::test]
async fn the_1_1_routes_answer_an_undecodable_id_as_an_unknown_one_and_an_undecodable_emoji_as_no_emoji() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let http = reqwest::Client::new();
    let token = p.alice_session.access_token.as_str();
    let c = p.conversation.id.as_str();
    let (mut gw, _) = rapport_testkit::Gw::ready(&hub.gateway_url(), token).await;
    let sent = crate::support::send(&mut gw, c, "k1", "hello").await;
    let m = sent["id"].as_str().expect("a stored message").to_owned();
    let edit = Some(json!({"body": "hi"}));
    let answer = |method: &'static str, path: String, body: Option<serde_json::Value>| {
        let (http, url) = (http.clone(), format!("{}{}", hub.url(), path));
        async move {
            let mut request = http.request(method.parse().unwrap(), &url).bearer_auth(token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            let parsed: serde_json::Value = match text.as_str() {
                "" if status == 204 => serde_json::Value::Null,
                _ => serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {url}: not JSON: {status} {text:?}")),
            };
            (status, parsed["error"]["code"].as_str().unwrap_or_default().to_owned(), parsed["error"]["message"].as_str().unwrap_or_default().to_owned())
        }
    };
    let not_found = |what: &str| (404, "not_found".to_owned(), format!("{what} not found"));
    for id in UNDECODABLE {
        for (method, body) in [("PATCH", edit.clone()), ("DELETE", None)] {
            assert_eq!(answer(method, format!("/v1/conversations/{id}/messages/{m}"), body.clone()).await, not_found("conversation"), "{method} with conversation {id}");
            assert_eq!(answer(method, format!("/v1/conversations/{c}/messages/{id}"), body).await, not_found("message"), "{method} with message {id}");
        }
        for method in ["PUT", "DELETE"] {
            assert_eq!(answer(method, format!("/v1/conversations/{c}/messages/{id}/reactions/%F0%9F%91%8D"), None).await, not_found("message"));
            let (status, code, _) = answer(method, format!("/v1/conversations/{c}/messages/{m}/reactions/{id}"), None).await;
            assert_eq!((status, code.as_str()), (400, "invalid_payload"), "{method}: an emoji that does not decode is no emoji ({id})");
        }
        for route in ["/v1/attachments/{}", "/v1/attachments/{}/thumbnail"] {
            assert_eq!(answer("GET", route.replace("{}", id), None).await, not_found("attachment"), "{route} with {id}");
        }
    }
    // Worded exactly as for ids that decode but name nothing.
    assert_eq!(answer("PATCH", format!("/v1/conversations/{c}/messages/no-such-message"), edit).await, not_found("message"));
    assert_eq!(answer("GET", "/v1/attachments/no-such-file".to_owned(), None).await, not_found("attachment"));
    assert_eq!(answer("PUT", format!("/v1/conversations/{c}/messages/{m}/reactions/%F0%9F%91%8D"), None).await.0, 204, "a real emoji still works");
}
