//! The world the authorization matrix runs in: an owner with something of every kind, a member
//! of her conversation, an outsider, and the owner's own expired and logged-out tokens. The hub
//! runs the WhatsApp/SMS bridge, sending through the test kit's fake Twilio.

use std::io::Cursor;
use std::time::{Duration, Instant};

use rapport_protocol::Session;
use rapport_hub::config::TwilioConfig;
use rapport_testkit::{
    form_body, twilio_signature, Api, FakeTwilio, Gw, TestHub, API_KEY, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL,
};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Every user's password here.
const PASSWORD: &str = "correct horse";
/// The owner's email.
const OWNER_EMAIL: &str = "owner@example.test";
/// The member's email.
const MEMBER_EMAIL: &str = "member@example.test";
/// The owner's Twilio number, that the world's phone writes to.
const NUMBER: &str = "+4930123456789";
/// Another number of the owner's (removed by its `DELETE` row).
const SPARE_NUMBER: &str = "+4930123456780";
/// The number the owner adds by the `POST /v1/bridges/twilio/numbers` row.
pub const NEW_NUMBER: &str = "+4930123456781";
/// The phone of the outside contact who writes to the owner over WhatsApp.
pub const PHONE: &str = "+4915112345678";
/// The tables whose row counts must not move while requests are refused.
const TABLES: [&str; 17] = [
    "users", "logins", "refresh_tokens", "conversations", "members", "messages", "reactions", "attachments",
    "notifications", "templates", "scheduled_messages", "integration_events", "twilio_numbers", "bridge_contacts",
    "bridge_conversations", "twilio_inbound", "twilio_outbox",
];

/// The ids (and the credentials that go in bodies) of one request: the world's real ones, or
/// made-up ones of the same form.
#[derive(Clone, Debug)]
pub struct Ids {
    /// The owner's user id.
    pub owner: String,
    /// The member's user id.
    pub member: String,
    /// The owner's email.
    pub owner_email: String,
    /// The member's email.
    pub member_email: String,
    /// The owner's access token (for the bodies of `identify`, `resume`, `poll/open`).
    pub owner_token: String,
    /// A refresh token of a login of the owner's.
    pub refresh_token: String,
    /// The owner's conversation with the member.
    pub conversation: String,
    /// The owner's message in it, carrying `attachment` and `image`.
    pub message: String,
    /// Another message of hers in it.
    pub deletable: String,
    /// Her message in her conversation with the outsider.
    pub foreign: String,
    /// Her text attachment.
    pub attachment: String,
    /// Her image attachment.
    pub image: String,
    /// Her upload that no message carries.
    pub unsent: String,
    /// Her notification.
    pub notification: String,
    /// Her template.
    pub template: String,
    /// Her scheduled message.
    pub scheduled: String,
    /// Her poll session.
    pub poll_session: String,
    /// Her WebSocket session, disconnected and resumable.
    pub gateway_session: String,
    /// An update file the hub serves.
    pub update_file: String,
    /// A reaction emoji, percent-encoded for a path.
    pub emoji: String,
    /// Her Twilio number, that the phone writes to.
    pub number: String,
    /// Her other Twilio number.
    pub spare_number: String,
    /// Twilio's `MessageSid` of her reply over the bridge.
    pub twilio_sid: String,
}

impl Ids {
    /// These ids with `id` as every message id.
    pub fn with_messages(&self, id: &str) -> Ids {
        Ids { message: id.to_owned(), deletable: id.to_owned(), ..self.clone() }
    }

    /// These ids with `id` as every attachment id.
    pub fn with_attachments(&self, id: &str) -> Ids {
        Ids { attachment: id.to_owned(), image: id.to_owned(), unsent: id.to_owned(), ..self.clone() }
    }

    /// The same users and credentials, every id made up (of the hub's form: 32 hex digits).
    fn made_up(&self) -> Ids {
        let id = |n: u64| format!("0193a1b2c3d47e5f8a9b{n:012x}");
        Ids {
            conversation: id(1),
            message: id(2),
            deletable: id(3),
            foreign: id(4),
            attachment: id(5),
            image: id(6),
            unsent: id(7),
            notification: id(8),
            template: id(9),
            scheduled: id(10),
            poll_session: id(11),
            gateway_session: id(12),
            number: "+4930999999999".to_owned(),
            spare_number: "+4930999999998".to_owned(),
            twilio_sid: "SM0000000000000000000000000000ffff".to_owned(),
            ..self.clone()
        }
    }

    /// The ids that are the owner's alone: not even a member of her conversation learns of them.
    pub fn owners_own(&self) -> [&str; 7] {
        [&self.unsent, &self.notification, &self.template, &self.scheduled, &self.poll_session, &self.number, &self.spare_number]
    }

    /// The ids the outsider may learn nothing about (the owner's conversation with the outsider
    /// and its message are theirs too).
    pub fn private(&self) -> [&str; 12] {
        [
            &self.conversation, &self.message, &self.deletable, &self.attachment, &self.image, &self.unsent,
            &self.notification, &self.template, &self.scheduled, &self.poll_session, &self.number, &self.spare_number,
        ]
    }
}

/// A hub with an owner (a recruiter), a member of her conversation (a candidate) and an
/// outsider (a recruiter too, so that no refusal of theirs is about their role).
pub struct World {
    /// The hub.
    pub hub: TestHub,
    /// Acting as the owner.
    pub owner: Api,
    /// Acting as the member.
    pub member: Api,
    /// Acting as the outsider.
    pub outsider: Api,
    /// The member's access token.
    pub member_token: String,
    /// The outsider's access token.
    pub outsider_token: String,
    /// The owner's access token that has expired.
    pub expired_token: String,
    /// The owner's access token of a login she logged out of.
    pub logged_out_token: String,
    /// The real ids.
    pub ids: Ids,
    /// Made-up ids of the same form.
    pub made_up: Ids,
    _updates: tempfile::TempDir,
    /// Where the hub sends the bridge's messages.
    _twilio: FakeTwilio,
}

impl World {
    pub async fn build() -> World {
        let updates = tempfile::tempdir().expect("temp dir");
        std::fs::write(updates.path().join("latest.json"), "{}").expect("an update manifest");
        let dir = updates.path().to_path_buf();
        let twilio = FakeTwilio::start(TWILIO_AUTH_TOKEN).await;
        let mut bridge = TwilioConfig::new(TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL);
        bridge.account_sid = Some(TWILIO_ACCOUNT_SID.to_owned());
        bridge.api_url = twilio.url();
        // The owner's first token lives one second; the hub then restarts with the default
        // lifetime (the signing secret stays in its data dir), so only that token expires.
        let mut hub = TestHub::start_with(move |c| {
            c.access_ttl = Duration::from_secs(1);
            c.updates_dir = Some(dir);
            c.twilio = Some(bridge);
        })
        .await;
        let expiring = hub.api().register(OWNER_EMAIL, "Olivia Owner", "recruiter").await;
        let issued = Instant::now();
        hub.stop().await.expect("the hub stops");
        hub.config.access_ttl = Duration::from_secs(900);
        hub.restart().await;

        let api = hub.api();
        let owner_session = login(&api, OWNER_EMAIL).await;
        let ended = login(&api, OWNER_EMAIL).await;
        assert_eq!(api.post("/v1/auth/logout", json!({"refresh_token": ended.refresh_token})).await.status, 204);
        let for_refresh = login(&api, OWNER_EMAIL).await;
        let owner = api.with_token(&owner_session.access_token);
        let member_session = api.register(MEMBER_EMAIL, "Mark Member", "candidate").await;
        let member = api.with_token(&member_session.access_token);
        let (outsider, outsider_session) = api.user("Otto Outsider", "recruiter").await;

        let conversation = owner.direct(&member_session.user.id).await;
        let elsewhere = owner.direct(&outsider_session.user.id).await;
        let attachment = uploaded(&owner, "cv.txt", "text/plain", b"ten years of Rust".to_vec()).await;
        let image = uploaded(&owner, "photo.png", "image/png", png()).await;
        let unsent = uploaded(&owner, "draft.txt", "text/plain", b"not sent yet".to_vec()).await;

        let (mut gw, ready) = Gw::ready(&hub.gateway_url(), &owner_session.access_token).await;
        let c = conversation.id.as_str();
        let message = sent(&mut gw, json!({"conversation_id": c, "client_msg_id": "m1", "body": "hello", "attachment_ids": [attachment, image]})).await;
        let deletable = sent(&mut gw, json!({"conversation_id": c, "client_msg_id": "m2", "body": "delete me"})).await;
        let foreign = sent(&mut gw, json!({"conversation_id": elsewhere.id, "client_msg_id": "m3", "body": "elsewhere"})).await;
        let twilio_sid = bridged(&hub, &owner, &mut gw, &twilio).await;
        let gateway_session = ready["session_id"].as_str().expect("a session id").to_owned();
        // Dropped, not closed: the session stays resumable.
        gw.drop_connection();

        let notification = created(
            &api,
            "/v1/notifications",
            json!({"user_id": owner_session.user.id, "kind": "job_alert", "title": "New role", "body": "Rust, Berlin"}),
            &[("x-api-key", API_KEY)],
        )
        .await;
        let template = created(&owner, "/v1/templates", json!({"name": "Greeting", "body": "Hello {{first_name}}"}), &[]).await;
        let scheduled = created(
            &owner,
            "/v1/scheduled",
            json!({"conversation_id": c, "client_msg_id": "later-1", "body": "Later", "send_at": in_an_hour()}),
            &[],
        )
        .await;
        let poll = api.post("/v1/poll/open", json!({"token": owner_session.access_token})).await;
        assert_eq!(poll.status, 200, "poll open: {:?}", poll.body);
        let poll_session = poll.body["session_id"].as_str().expect("a poll session id").to_owned();

        let ids = Ids {
            owner: owner_session.user.id.clone(),
            member: member_session.user.id.clone(),
            owner_email: OWNER_EMAIL.to_owned(),
            member_email: MEMBER_EMAIL.to_owned(),
            owner_token: owner_session.access_token.clone(),
            refresh_token: for_refresh.refresh_token,
            conversation: conversation.id.clone(),
            message,
            deletable,
            foreign,
            attachment,
            image,
            unsent,
            notification,
            template,
            scheduled,
            poll_session,
            gateway_session,
            update_file: "latest.json".to_owned(),
            emoji: "%F0%9F%91%8D".to_owned(),
            number: NUMBER.to_owned(),
            spare_number: SPARE_NUMBER.to_owned(),
            twilio_sid,
        };
        // exp has one-second resolution: two seconds after it was issued, the token has expired.
        tokio::time::sleep(Duration::from_millis(2100).saturating_sub(issued.elapsed())).await;
        assert_eq!(owner.with_token(&expiring.access_token).get("/v1/me").await.status, 401, "the first token has expired");
        World {
            hub,
            owner,
            member,
            outsider,
            member_token: member_session.access_token,
            outsider_token: outsider_session.access_token,
            expired_token: expiring.access_token,
            logged_out_token: ended.access_token,
            made_up: ids.made_up(),
            ids,
            _updates: updates,
            _twilio: twilio,
        }
    }

    /// Authorization header values that carry no valid token of this hub.
    pub fn malformed_authorizations(&self) -> Vec<String> {
        let token = &self.ids.owner_token;
        let (unsigned, signature) = token.rsplit_once('.').expect("a JWT has three parts");
        let flipped = match signature.chars().next() {
            Some('A') => format!("B{}", &signature[1..]),
            _ => format!("A{}", &signature[1..]),
        };
        let payload = unsigned.split_once('.').expect("header.payload").1;
        // {"alg":"none","typ":"JWT"}
        let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        vec![
            "Bearer garbage".to_owned(),
            "Bearer ".to_owned(),
            format!("Bearer {unsigned}.{flipped}"),
            format!("Bearer {unsigned}"),
            format!("Bearer {alg_none}"),
            format!("Basic {token}"),
            token.clone(),
        ]
    }

    /// Everything the three users can see, and the row count of every table: a refused request
    /// must leave all of it as it was.
    pub async fn snapshot(&self) -> Value {
        let mut state = serde_json::Map::new();
        for (who, api) in [("owner", &self.owner), ("member", &self.member), ("outsider", &self.outsider)] {
            for path in ["/v1/me", "/v1/conversations", "/v1/templates", "/v1/scheduled", "/v1/notifications"] {
                let reply = api.get(path).await;
                assert_eq!(reply.status, 200, "{who} GET {path}: {:?}", reply.body);
                state.insert(format!("{who} {path}"), reply.body);
            }
            let conversations = state[&format!("{who} /v1/conversations")]["conversations"].as_array().cloned().unwrap_or_default();
            for conversation in conversations {
                let path = format!("/v1/conversations/{}/messages?limit=200", conversation["id"].as_str().expect("an id"));
                state.insert(format!("{who} {path}"), api.get(&path).await.body);
            }
        }
        // Only recruiters have numbers: the member (a candidate) is refused the list.
        for (who, api) in [("owner", &self.owner), ("outsider", &self.outsider)] {
            let reply = api.get("/v1/bridges/twilio/numbers").await;
            assert_eq!(reply.status, 200, "{who} GET /v1/bridges/twilio/numbers: {:?}", reply.body);
            state.insert(format!("{who} numbers"), reply.body);
        }
        for table in TABLES {
            let count = self.hub.query_integer(&format!("SELECT COUNT(*) FROM {table}")).await;
            state.insert(format!("rows in {table}"), json!(count));
        }
        Value::Object(state)
    }
}

/// RFC 3339, an hour from now.
pub fn in_an_hour() -> String {
    (OffsetDateTime::now_utc() + time::Duration::hours(1)).format(&Rfc3339).expect("formats")
}

/// The owner receives on two numbers; the phone writes to one of them (a conversation over the
/// bridge), she replies, and the reply goes out through Twilio: its `MessageSid`.
async fn bridged(hub: &TestHub, owner: &Api, gw: &mut Gw, twilio: &FakeTwilio) -> String {
    for number in [NUMBER, SPARE_NUMBER] {
        let added = owner.post("/v1/bridges/twilio/numbers", json!({"number": number})).await;
        assert_eq!(added.status, 201, "add {number}: {:?}", added.body);
    }
    let params = [
        ("MessageSid", "SM0000000000000000000000000000a001"),
        ("From", &format!("whatsapp:{PHONE}")),
        ("To", &format!("whatsapp:{NUMBER}")),
        ("Body", "Hello, I saw your post"),
        ("NumMedia", "0"),
    ];
    let path = "/v1/bridges/twilio/inbound";
    let signature = twilio_signature(TWILIO_AUTH_TOKEN, &format!("{TWILIO_PUBLIC_URL}{path}"), &params);
    let headers = [("content-type", "application/x-www-form-urlencoded"), ("x-twilio-signature", signature.as_str())];
    let reply = hub.api().raw("POST", path, &headers, Some(form_body(&params))).await;
    assert_eq!(reply.status, 200, "the phone's message: {}", String::from_utf8_lossy(&reply.body));
    // Stored before the webhook was answered: the one conversation of hers over the bridge.
    let conversations = owner.get("/v1/conversations").await.body;
    let conversation = conversations["conversations"]
        .as_array()
        .and_then(|list| list.iter().find(|c| c["bridge"]["number"] == PHONE))
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("a conversation over the bridge: {conversations}"))
        .to_owned();
    sent(gw, json!({"conversation_id": conversation, "client_msg_id": "m4", "body": "It is. When can we talk?"})).await;
    let sent = twilio.wait_until("the owner's reply", |sent, _| !sent.is_empty()).await;
    // The hub records Twilio's answer just after Twilio gave it: wait for that, so that no
    // table moves while the matrix runs.
    let deadline = Instant::now() + rapport_testkit::WAIT;
    while hub.query_integer("SELECT COUNT(*) FROM twilio_outbox WHERE done_at IS NULL").await != 0 {
        assert!(Instant::now() < deadline, "the hub never recorded that Twilio took the reply");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sid = sent[0].sid.clone();
    let recorded = hub.query_integer(&format!("SELECT COUNT(*) FROM twilio_outbox WHERE twilio_sid = '{sid}'")).await;
    assert_eq!(recorded, 1, "the reply was sent, as {sid}: its delivery reports reach it");
    sid
}

async fn login(api: &Api, email: &str) -> Session {
    let reply = api.post("/v1/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(reply.status, 200, "login {email}: {:?}", reply.body);
    serde_json::from_value(reply.body).expect("a Session")
}

async fn uploaded(api: &Api, name: &str, content_type: &str, bytes: Vec<u8>) -> String {
    let reply = api.upload(name, content_type, bytes).await;
    assert_eq!(reply.status, 201, "upload {name}: {:?}", reply.body);
    reply.body["id"].as_str().expect("an attachment id").to_owned()
}

async fn sent(gw: &mut Gw, data: Value) -> String {
    let ack = gw.request("message.send", data).await;
    assert_eq!(ack["op"], "ack", "send: {ack}");
    ack["data"]["message"]["id"].as_str().expect("a message id").to_owned()
}

async fn created(api: &Api, path: &str, body: Value, headers: &[(&str, &str)]) -> String {
    let reply = api.call("POST", path, Some(body), headers).await;
    assert_eq!(reply.status, 201, "POST {path}: {:?}", reply.body);
    reply.body["id"].as_str().expect("an id").to_owned()
}

fn png() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_fn(64, 32, |x, y| image::Rgb([x as u8 * 4, y as u8 * 8, 90]))
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("a PNG");
    out.into_inner()
}
