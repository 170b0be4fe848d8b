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
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {url}: not JSON: {status} {text:?}"));
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
