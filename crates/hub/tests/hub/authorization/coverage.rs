//! The matrix covers everything: every route of the router and of the OpenAPI document has a
//! row in [`ROUTES`] (and the document's security agrees with the row's access), every
//! `ClientOp` a row in [`OPS`]. A new route or op fails here, by name, until it has its rows.

use std::collections::BTreeSet;

use rapport_protocol::gateway::ClientFrame;
use rapport_testkit::TestHub;
use serde_json::Value;

use super::gateway::{every_op, listed};
use super::{Access, OPS, ROUTES};

/// The router's source: every `.route(…)` call is read from it.
const ROUTER: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/mod.rs"));

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(METHOD, path)` of every `.route("path", get(…).post(…))` in `source`.
fn routes_in(source: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut rest = source;
    while let Some(start) = rest.find(".route(") {
        rest = &rest[start + ".route(".len()..];
        // The call runs to its matching parenthesis.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("a closed .route( call");
        let call = &rest[..end];
        let path = call.split('"').nth(1).expect("a route's path is its first argument, a string literal");
        let handlers = &call[call.find(',').expect("a path and its handlers")..];
        let mut methods = 0;
        for (i, _) in handlers.match_indices('(') {
            let before = &handlers[..i];
            let word_start = before.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |j| j + 1);
            let word = &before[word_start..];
            // `get(`, `.post(`, but not `module::get(`.
            let qualified = before[..word_start].ends_with("::");
            if METHODS.contains(&word) && !qualified {
                found.insert((word.to_uppercase(), path.to_owned()));
                methods += 1;
            }
        }
        assert!(methods > 0, "no method found for the route {path}: {call}");
        rest = &rest[end..];
    }
    found
}

fn rows() -> BTreeSet<(String, String)> {
    ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect()
}

#[test]
fn every_route_of_the_router_has_exactly_one_row() {
    let router = routes_in(ROUTER);
    assert!(router.len() >= 30, "the router's routes were not all found: {router:?}");
    let rows = rows();
    assert_eq!(rows.len(), ROUTES.len(), "a route has two rows");
    let missing: Vec<_> = router.difference(&rows).collect();
    assert!(missing.is_empty(), "routes of http/mod.rs without a row in authorization::ROUTES (who may call them, how others are refused): {missing:?}");
    let stale: Vec<_> = rows.difference(&router).collect();
    assert!(stale.is_empty(), "rows of authorization::ROUTES for routes that http/mod.rs does not have: {stale:?}");
}

#[test]
fn the_router_reader_finds_methods_chained_and_alone() {
    let source = r#".route("/a/{id}", put(x::update).delete(x::delete))
        .route("/b", post(poll::call).layer(DefaultBodyLimit::max(1)))"#;
    let found: Vec<_> = routes_in(source).into_iter().collect();
    let expected = [("DELETE", "/a/{id}"), ("POST", "/b"), ("PUT", "/a/{id}")].map(|(m, p)| (m.to_owned(), p.to_owned()));
    assert_eq!(found, expected);
}

#[tokio::test]
async fn every_route_of_the_openapi_document_has_a_row_and_the_security_of_its_access() {
    let hub = TestHub::start().await;
    let reply = hub.api().get("/v1/openapi.json").await;
    assert_eq!(reply.status, 200);
    let paths = reply.body["paths"].as_object().expect("paths");
    let mut missing = Vec::new();
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let Some(row) = ROUTES.iter().find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path) else {
                missing.push(format!("{} {path}", method.to_uppercase()));
                continue;
            };
            let schemes: Vec<&str> = operation["security"]
                .as_array()
                .map(|list| list.iter().filter_map(Value::as_object).flat_map(|o| o.keys().map(String::as_str)).collect())
                .unwrap_or_default();
            let expected: &[&str] = match row.access {
                Access::User => &["bearer"],
                Access::Integration => &["api_key"],
                // Twilio's signature is no security scheme of the document: it is a header
                // parameter of those routes.
                Access::Anyone | Access::PollSession | Access::Gateway | Access::TwilioSignature => &[],
            };
            assert_eq!(schemes, expected, "{} {path}: the document's security must say who may call it ({:?})", method.to_uppercase(), row.access);
        }
    }
    assert!(missing.is_empty(), "routes of /v1/openapi.json without a row in authorization::ROUTES: {missing:?}");
}

#[test]
fn every_client_op_has_exactly_one_row_named_as_on_the_wire() {
    let mut named = BTreeSet::new();
    for op in every_op() {
        listed(&op);
        let wire = serde_json::to_value(ClientFrame { reference: None, op: op.clone() }).expect("serialises");
        let wire = wire["op"].as_str().expect("an op name").to_owned();
        assert_eq!(wire, op.name(), "ClientOp::name and serde agree");
        assert!(OPS.iter().any(|row| row.name == wire), "the op {wire} has no row in authorization::OPS");
        named.insert(wire);
    }
    let rows: BTreeSet<String> = OPS.iter().map(|row| row.name.to_owned()).collect();
    assert_eq!(rows.len(), OPS.len(), "an op has two rows");
    let stale: Vec<_> = rows.difference(&named).collect();
    assert!(stale.is_empty(), "rows of authorization::OPS without a ClientOp (or without a value in gateway::every_op): {stale:?}");
}
