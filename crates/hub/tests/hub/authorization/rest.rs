//! Runs [`ROUTES`]: every refusal of every route, then every route's rightful call.

use rapport_testkit::{form_body, percent_encode, twilio_signature, API_KEY, TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL};
use serde_json::{json, Value};

use super::world::{in_an_hour, Ids, World};
use super::{Access, Body, Fill, Refusal, Route, ROUTES};

/// Who a request comes from.
enum Caller<'a> {
    /// No credentials at all.
    Nobody,
    /// This `Authorization` header value.
    Authorization(String),
    /// This `X-Api-Key`.
    Key(&'a str),
    /// An `X-Twilio-Signature` of the request's form and of `url` (followed by the path) by
    /// `token`, sent as it was signed or with its first parameter's value changed afterwards.
    Signed { token: &'a str, url: &'a str, tampered: bool },
    /// This `X-Twilio-Signature` value.
    Signature(&'a str),
}

/// The webhook's signature as Twilio makes it.
fn twilio() -> Caller<'static> {
    Caller::Signed { token: TWILIO_AUTH_TOKEN, url: TWILIO_PUBLIC_URL, tampered: false }
}

fn bearer(token: &str) -> Caller<'static> {
    Caller::Authorization(format!("Bearer {token}"))
}

/// What the hub answered: the status and, for an error, its code and message.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    code: String,
    message: String,
}

fn answer(status: u16, code: &str, message: &str) -> Answer {
    Answer { status, code: code.to_owned(), message: message.to_owned() }
}

/// The route's path with its parameters filled from `ids`.
fn concrete(route: &Route, ids: &Ids) -> String {
    let mut path = String::new();
    let mut rest = route.path;
    let mut fills = route.fill.iter();
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("a closed parameter") + start;
        let fill = fills.next().unwrap_or_else(|| panic!("{}: more parameters than fills", route.path));
        path.push_str(&rest[..start]);
        let number;
        path.push_str(match fill {
            Fill::Conversation => &ids.conversation,
            Fill::Message => &ids.message,
            Fill::DeletableMessage => &ids.deletable,
            Fill::Emoji => &ids.emoji,
            Fill::Attachment => &ids.attachment,
            Fill::Image => &ids.image,
            Fill::Notification => &ids.notification,
            Fill::Template => &ids.template,
            Fill::Scheduled => &ids.scheduled,
            Fill::PollSession => &ids.poll_session,
            Fill::UpdateFile => &ids.update_file,
            Fill::Number => {
                number = percent_encode(&ids.spare_number);
                &number
            }
        });
        rest = &rest[end + 1..];
    }
    assert!(fills.next().is_none(), "{}: more fills than parameters", route.path);
    path.push_str(rest);
    path
}

/// Makes the route's request (with `body` instead of the row's, when given) and returns the
/// answer and the body as text. An error is always JSON in the protocol's shape.
async fn call(world: &World, route: &Route, caller: &Caller<'_>, ids: &Ids, body: Option<Value>) -> (Answer, String) {
    let path = concrete(route, ids);
    let method = reqwest::Method::from_bytes(route.method.as_bytes()).expect("a method");
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", world.hub.url()));
    match caller {
        Caller::Nobody => {}
        Caller::Authorization(value) => request = request.header("authorization", value),
        Caller::Key(key) => request = request.header("x-api-key", *key),
        Caller::Signature(value) => request = request.header("x-twilio-signature", *value),
        Caller::Signed { .. } => {}
    }
    request = match (body, route.body) {
        (None, Body::Form(build)) => {
            let mut params = build(ids);
            if let Caller::Signed { token, url, tampered } = caller {
                let signed: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
                request = request.header("x-twilio-signature", twilio_signature(token, &format!("{url}{path}"), &signed));
                if *tampered {
                    params[0].1.push('0');
                }
            }
            let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
            request.header("content-type", "application/x-www-form-urlencoded").body(form_body(&params))
        }
        (Some(body), _) => request.json(&body),
        (None, Body::Json(build)) => request.json(&build(ids)),
        (None, Body::Upload) => request.header("x-filename", "note.txt").header("content-type", "text/plain").body("a note"),
        (None, Body::Empty) => request,
    };
    let response = request.send().await.expect("the hub answers");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = response.text().await.expect("a body");
    if status >= 400 {
        assert!(content_type.starts_with("application/json"), "{} {path}: a {status} must be JSON, is {content_type:?}: {text}", route.method);
        let error: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{} {path}: not JSON: {text}", route.method));
        let code = error["error"]["code"].as_str().unwrap_or_else(|| panic!("{} {path}: no error code: {text}", route.method));
        let message = error["error"]["message"].as_str().unwrap_or_else(|| panic!("{} {path}: no message: {text}", route.method));
        assert!(!message.is_empty(), "{} {path}: an empty message", route.method);
        return (answer(status, code, message), text);
    }
    (answer(status, "", ""), text)
}

/// Asks as `caller`: the answer must have `expected`'s status and code.
async fn refused(world: &World, route: &Route, refusal: Refusal, caller: Caller<'_>, expected: (u16, &str)) {
    let (got, text) = call(world, route, &caller, &world.ids, None).await;
    assert_eq!((got.status, got.code.as_str()), expected, "{} {} ({refusal:?}): {text}", route.method, route.path);
}

/// Asks as `caller` about `real` and about `fake` ids: both must get exactly `expected`.
async fn same_for_real_and_made_up(world: &World, route: &Route, refusal: Refusal, caller: Caller<'_>, real: &Ids, fake: &Ids, expected: Answer) {
    let label = format!("{} {} ({refusal:?})", route.method, route.path);
    let (for_real, text) = call(world, route, &caller, real, None).await;
    assert_eq!(for_real, expected, "{label}: {text}");
    let (for_fake, text) = call(world, route, &caller, fake, None).await;
    assert_eq!(for_fake, for_real, "{label}: a made-up id must be answered exactly as a real one: {text}");
}

async fn refuse(world: &World, route: &Route, refusal: Refusal) {
    let label = format!("{} {} ({refusal:?})", route.method, route.path);
    let unauthorized = (401, "unauthorized");
    let (ids, made_up) = (&world.ids, &world.made_up);
    match refusal {
        Refusal::NoToken | Refusal::NoApiKey => refused(world, route, refusal, Caller::Nobody, unauthorized).await,
        Refusal::MalformedToken => {
            for header in world.malformed_authorizations() {
                let (got, text) = call(world, route, &Caller::Authorization(header.clone()), ids, None).await;
                assert_eq!((got.status, got.code.as_str()), unauthorized, "{label} with {header:?}: {text}");
            }
        }
        Refusal::ExpiredToken => refused(world, route, refusal, bearer(&world.expired_token), unauthorized).await,
        Refusal::LoggedOutToken => refused(world, route, refusal, bearer(&world.logged_out_token), unauthorized).await,
        Refusal::WrongApiKey => refused(world, route, refusal, Caller::Key("not-the-key"), unauthorized).await,
        Refusal::UserTokenForKey => refused(world, route, refusal, bearer(&ids.owner_token), unauthorized).await,
        Refusal::Outsider(what) => {
            let expected = answer(404, "not_found", &format!("{what} not found"));
            same_for_real_and_made_up(world, route, refusal, bearer(&world.outsider_token), ids, made_up, expected).await;
        }
        Refusal::ForeignMessage => {
            let (foreign, fake) = (ids.with_messages(&ids.foreign), ids.with_messages(&made_up.message));
            let expected = answer(404, "not_found", "message not found");
            same_for_real_and_made_up(world, route, refusal, bearer(&world.member_token), &foreign, &fake, expected).await;
        }
        Refusal::OnlyUploader => {
            let (unsent, fake) = (ids.with_attachments(&ids.unsent), ids.with_attachments(&made_up.unsent));
            let expected = answer(404, "not_found", "attachment not found");
            same_for_real_and_made_up(world, route, refusal, bearer(&world.member_token), &unsent, &fake, expected).await;
        }
        Refusal::NotSender => refused(world, route, refusal, bearer(&world.member_token), (403, "forbidden")).await,
        Refusal::CandidateCard => {
            let card = json!({"conversation_id": ids.conversation, "client_msg_id": "card", "body": "", "send_at": in_an_hour(),
                "card": {"title": "Rust engineer", "company": "Acme"}});
            let (got, text) = call(world, route, &bearer(&world.member_token), ids, Some(card)).await;
            assert_eq!((got.status, got.code.as_str()), (403, "forbidden"), "{label}: {text}");
        }
        Refusal::OthersHidden => {
            let (got, text) = call(world, route, &bearer(&world.outsider_token), ids, None).await;
            assert_eq!(got.status, 200, "{label}: {text}");
            for id in ids.private() {
                assert!(!text.contains(id), "{label}: the outsider's answer names {id}: {text}");
            }
        }
        Refusal::NotOwner(what) => {
            let expected = answer(404, "not_found", &format!("{what} not found"));
            same_for_real_and_made_up(world, route, refusal, bearer(&world.member_token), ids, made_up, expected).await;
        }
        Refusal::OwnersHidden => {
            let (got, text) = call(world, route, &bearer(&world.member_token), ids, None).await;
            assert_eq!(got.status, 200, "{label}: {text}");
            for id in ids.owners_own() {
                assert!(!text.contains(id), "{label}: the member's answer names the owner's {id}: {text}");
            }
        }
        Refusal::UnknownPollSession => {
            let (got, text) = call(world, route, &Caller::Nobody, made_up, None).await;
            assert_eq!(got, answer(404, "not_found", "poll session not found"), "{label}: {text}");
        }
        Refusal::NotAnUpgrade => refused(world, route, refusal, bearer(&ids.owner_token), (400, "invalid_payload")).await,
        Refusal::CandidateNumbers => {
            let expected = answer(403, "forbidden", "only recruiters receive on Twilio numbers");
            same_for_real_and_made_up(world, route, refusal, bearer(&world.member_token), ids, made_up, expected).await;
        }
        Refusal::NumberTaken => {
            let body = json!({"number": ids.number});
            let (got, text) = call(world, route, &bearer(&world.outsider_token), ids, Some(body)).await;
            assert_eq!(got, answer(409, "conflict", "another recruiter receives on this number"), "{label}: {text}");
        }
        Refusal::NoSignature => refused(world, route, refusal, Caller::Nobody, (403, "forbidden")).await,
        Refusal::BadSignature => {
            let hub_url = world.hub.url();
            let forged = [
                Caller::Signature("garbage!"),
                Caller::Signature(""),
                // Well formed, but Twilio's for another request (its documented example).
                Caller::Signature("0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
                Caller::Signed { token: "another auth token", url: TWILIO_PUBLIC_URL, tampered: false },
                // Signed for the hub's own address, not the public URL Twilio is given.
                Caller::Signed { token: TWILIO_AUTH_TOKEN, url: &hub_url, tampered: false },
                Caller::Signed { token: TWILIO_AUTH_TOKEN, url: TWILIO_PUBLIC_URL, tampered: true },
            ];
            for caller in forged {
                let (got, text) = call(world, route, &caller, ids, None).await;
                assert_eq!(got, answer(403, "forbidden", "missing or wrong X-Twilio-Signature"), "{label}: {text}");
            }
        }
        Refusal::UnknownRefreshToken => {
            let body = json!({"refresh_token": "bm90LWEtcmVmcmVzaC10b2tlbi1vZi10aGlzLWh1Yg"});
            let (got, text) = call(world, route, &Caller::Nobody, ids, Some(body)).await;
            assert_eq!((got.status, got.code.as_str()), (401, "invalid_refresh_token"), "{label}: {text}");
        }
    }
}

#[tokio::test]
async fn every_route_refuses_all_but_its_rightful_caller_and_a_refusal_changes_nothing() {
    let world = World::build().await;
    let before = world.snapshot().await;
    for route in ROUTES {
        for &refusal in route.refusals {
            refuse(&world, route, refusal).await;
        }
    }
    assert_eq!(world.snapshot().await, before, "a refused request changed what someone sees, or a table");

    // The same requests from their rightful callers succeed: every refusal above was about who
    // asked, not about the request.
    for route in ROUTES {
        let caller = match route.access {
            Access::User => bearer(&world.ids.owner_token),
            Access::Integration => Caller::Key(API_KEY),
            Access::Anyone | Access::PollSession => Caller::Nobody,
            Access::Gateway => continue, // upgraded by `gateway`'s tests
            Access::TwilioSignature => twilio(),
        };
        let (got, text) = call(&world, route, &caller, &world.ids, None).await;
        assert_eq!(got.status, route.ok, "{} {} by its rightful caller: {text}", route.method, route.path);
        if route.access == Access::TwilioSignature {
            assert!(text.contains("<Response></Response>"), "{} {}: Twilio is answered with empty TwiML: {text}", route.method, route.path);
        }
    }
}
