//! The bridge's outbound side (1.1, §5): what a recruiter writes into a bridged conversation
//! goes out through Twilio's Messages API (here the test kit's fake), from a durable outbox —
//! retried on 429/5xx, given up on (and the sender told) on other 4xx, sent once across a
//! killed hub — WhatsApp's 24-hour window, and delivery reports becoming receipts.

use std::time::Duration;

use rapport_testkit::{
    form_body, query_integers, twilio_signature, Api, Failure, FakeTwilio, Gw, HubProcess, RawReply, TestHub, TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL,
};
use serde_json::{json, Value};
use sqlx::{Connection as _, Executor as _};

use crate::support::{code, send_data};
use crate::twilio::{assert_taken, bridged_hub_with, count, deliver, rita, whatsapp, NUMBERS, PHONE, RITAS_NUMBER};

const STATUS: &str = "/v1/bridges/twilio/status";

/// A hub that sends through `fake`, retrying quickly.
async fn sending_hub(fake: &FakeTwilio) -> TestHub {
    bridged_hub_with(|t| {
        t.account_sid = Some(TWILIO_ACCOUNT_SID.to_owned());
        t.api_url = fake.url();
        t.retry_base = Duration::from_millis(20);
    })
    .await
}

/// POSTs `params` to `path` of the hub at `base`, signed as Twilio signs for the public URL.
async fn signed(base: &str, path: &str, params: &[(&str, &str)]) -> RawReply {
    let signature = twilio_signature(TWILIO_AUTH_TOKEN, &format!("{TWILIO_PUBLIC_URL}{path}"), params);
    Api::new(base).raw("POST", path, &[("content-type", "application/x-www-form-urlencoded"), ("x-twilio-signature", &signature)], Some(form_body(params))).await
}

/// Carla writes to Rita over WhatsApp; the conversation's id.
async fn carla_writes(hub: &TestHub, gw: &mut Gw, sid: &str) -> String {
    assert_taken(&deliver(hub, &whatsapp(sid, PHONE, "Is the role still open?")).await);
    let message = gw.event("message.created").await["data"]["message"].clone();
    message["conversation_id"].as_str().unwrap().to_owned()
}

/// Waits (up to the test kit's WAIT) until the count `sql` reads is 0: the hub has recorded
/// what it did.
async fn settled(url: &str, sql: &str) {
    let deadline = tokio::time::Instant::now() + rapport_testkit::WAIT;
    while query_integers(url, sql).await != vec![0] {
        assert!(tokio::time::Instant::now() < deadline, "{sql} never reached 0");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a statement on the hub's database (the test's hand on the clock of the 24-hour window).
async fn execute(url: &str, sql: &str) {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        conn.execute(sql).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        conn.execute(sql).await.unwrap();
        conn.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_reply_goes_out_through_twilio_and_its_delivery_reports_become_receipts() {
    let fake = FakeTwilio::start(TWILIO_AUTH_TOKEN).await;
    let hub = sending_hub(&fake).await;
    let (rita_api, session) = rita(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &session.access_token).await;
    let conversation_id = carla_writes(&hub, &mut gw, "SM00000000000000000000000000000101").await;

    let ack = gw.request("message.send", send_data(&conversation_id, "r1", "Yes, it is. When can we talk?")).await;
    assert_eq!(ack["op"], "ack", "{ack}");
    let reply = ack["data"]["message"].clone();
    let sent = fake.wait_until("the reply", |sent, _| !sent.is_empty()).await;
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].to.as_str(), sent[0].from.as_str()), (format!("whatsapp:{PHONE}").as_str(), format!("whatsapp:{RITAS_NUMBER}").as_str()), "to Carla, from the number she wrote to");
    assert_eq!(sent[0].body, "Yes, it is. When can we talk?");
    assert_eq!(sent[0].status_callback.as_deref(), Some(format!("{TWILIO_PUBLIC_URL}{STATUS}").as_str()));
    assert_eq!(fake.unauthorized(), 0, "the hub authenticates as the account");

    // Twilio's reports: delivered, then read — Carla's receipts, as her own devices would move them.
    let carla_id = sent_contact(&rita_api, &conversation_id).await;
    for (status, kind) in [("delivered", "delivered"), ("read", "read")] {
        let report = signed(&hub.url(), STATUS, &[("MessageSid", &sent[0].sid), ("MessageStatus", status), ("AccountSid", TWILIO_ACCOUNT_SID)]).await;
        assert_eq!(report.status, 200, "{}", String::from_utf8_lossy(&report.body));
        let receipt = gw.event("receipt").await["data"].clone();
        assert_eq!((receipt["user_id"].as_str(), receipt["kind"].as_str(), receipt["seq"].clone()), (Some(carla_id.as_str()), Some(kind), reply["seq"].clone()), "{receipt}");
    }
    let members = rita_api.get(&format!("/v1/conversations/{conversation_id}")).await.body["members"].clone();
    let carla = members.as_array().unwrap().iter().find(|m| m["user_id"] == carla_id.as_str()).unwrap().clone();
    assert!(carla["read_seq"].as_i64() >= reply["seq"].as_i64(), "{carla}");

    // Carla's own messages never go back out; only Rita's reply is in the outbox.
    assert_taken(&deliver(&hub, &whatsapp("SM00000000000000000000000000000102", PHONE, "Tomorrow?")).await);
    gw.event("message.created").await;
    assert_eq!(count(&hub, "twilio_outbox").await, 1);

    // A report that Twilio did not sign moves nothing.
    let forged = Api::new(&hub.url())
        .raw("POST", STATUS, &[("content-type", "application/x-www-form-urlencoded"), ("x-twilio-signature", "AAAA")], Some(form_body(&[("MessageSid", &sent[0].sid), ("MessageStatus", "failed")])))
        .await;
    assert_eq!(forged.status, 403);
    // A failed report tells Rita once, however often Twilio sends it.
    for _ in 0..2 {
        let report = signed(&hub.url(), STATUS, &[("MessageSid", &sent[0].sid), ("MessageStatus", "undelivered"), ("ErrorCode", "30008")]).await;
        assert_eq!(report.status, 200);
    }
    let notification = gw.event("notification").await["data"]["notification"].clone();
    assert_eq!((notification["kind"].as_str(), notification["data"]["message_id"].clone()), (Some("system"), reply["id"].clone()), "{notification}");
    assert_eq!(rita_api.get("/v1/notifications").await.body["notifications"].as_array().unwrap().len(), 1, "told once");
}

/// The conversation's other member: the contact.
async fn sent_contact(rita: &Api, conversation_id: &str) -> String {
    let conversation = rita.get(&format!("/v1/conversations/{conversation_id}")).await.body;
    let me = rita.get("/v1/me").await.body["id"].clone();
    conversation["members"].as_array().unwrap().iter().find(|m| m["user_id"] != me).unwrap()["user_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_send_that_twilio_refuses_for_now_is_retried_and_sent_once() {
    let fake = FakeTwilio::start(TWILIO_AUTH_TOKEN).await;
    fake.fail_next(1, Failure { status: 429, retry_after_secs: Some(1), code: 20429 });
    fake.fail_next(1, Failure { status: 500, retry_after_secs: None, code: 20500 });
    let hub = sending_hub(&fake).await;
    let (_, session) = rita(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &session.access_token).await;
    let conversation_id = carla_writes(&hub, &mut gw, "SM00000000000000000000000000000201").await;
    let ack = gw.request("message.send", send_data(&conversation_id, "r1", "Third time lucky")).await;
    assert_eq!(ack["op"], "ack", "{ack}");

    let sent = fake.wait_until("the message after two failures", |sent, _| !sent.is_empty()).await;
    assert_eq!((sent.len(), fake.requests()), (1, 3), "two refusals, then one send");
    assert_eq!(sent[0].body, "Third time lucky");
    // The hub records Twilio's answer right after the fake gave it.
    settled(&hub.config.database_url, "SELECT COUNT(*) FROM twilio_outbox WHERE done_at IS NULL").await;
    let done = hub.query_integer("SELECT COUNT(*) FROM twilio_outbox WHERE done_at IS NOT NULL AND twilio_sid IS NOT NULL AND failure IS NULL AND attempts = 3").await;
    assert_eq!(done, 1, "recorded as sent on the third try: it is not sent again");
    let frames = gw.drain_for(Duration::from_millis(200)).await;
    assert_eq!(crate::support::events(&frames, "notification").count(), 0, "a send that went out tells nobody anything");
}

#[tokio::test]
async fn a_send_that_twilio_refuses_for_good_is_given_up_and_the_sender_told() {
    let fake = FakeTwilio::start(TWILIO_AUTH_TOKEN).await;
    fake.fail_next(1, Failure { status: 400, retry_after_secs: None, code: 21211 });
    let hub = sending_hub(&fake).await;
    let (_, session) = rita(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &session.access_token).await;
    let conversation_id = carla_writes(&hub, &mut gw, "SM00000000000000000000000000000301").await;
    let ack = gw.request("message.send", send_data(&conversation_id, "r1", "Hello?")).await;
    let message_id = ack["data"]["message"]["id"].clone();

    let notification = gw.event("notification").await["data"]["notification"].clone();
    assert_eq!((notification["kind"].as_str(), notification["data"]["message_id"].clone(), notification["data"]["conversation_id"].as_str()), (Some("system"), message_id, Some(conversation_id.as_str())), "{notification}");
    assert!(notification["body"].as_str().unwrap().contains("21211"), "says what Twilio said: {notification}");
    assert_eq!(fake.requests(), 1, "a 4xx is not tried again");
    assert_eq!(hub.query_integer("SELECT COUNT(*) FROM twilio_outbox WHERE done_at IS NOT NULL AND failure IS NOT NULL").await, 1);
}

#[tokio::test]
async fn outside_whatsapps_24_hour_window_a_reply_is_refused_until_the_contact_writes_again() {
    let fake = FakeTwilio::start(TWILIO_AUTH_TOKEN).await;
    let hub = sending_hub(&fake).await;
    let (_, session) = rita(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &session.access_token).await;
    let conversation_id = carla_writes(&hub, &mut gw, "SM00000000000000000000000000000401").await;
    execute(&hub.config.database_url, "UPDATE bridge_conversations SET last_inbound_at = last_inbound_at - 25 * 3600 * 1000").await;

    let refused = gw.request("message.send", send_data(&conversation_id, "r1", "Still interested?")).await;
    assert_eq!(code(&refused), "forbidden", "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("template message is needed"), "{refused}");
    assert_eq!(count(&hub, "messages").await, 1, "nothing was stored");
    assert_eq!(count(&hub, "twilio_outbox").await, 0, "nothing was queued");

    // Carla writes again: the window is open, and the same send goes through.
    assert_taken(&deliver(&hub, &whatsapp("SM00000000000000000000000000000402", PHONE, "Sorry, I was away")).await);
    gw.event("message.created").await;
    let ack = gw.request("message.send", send_data(&conversation_id, "r1", "Still interested?")).await;
    assert_eq!(ack["op"], "ack", "{ack}");
    let sent = fake.wait_until("the reply in the open window", |sent, _| !sent.is_empty()).await;
    assert_eq!(sent[0].body, "Still interested?");
}

#[tokio::test]
async fn a_reply_queued_when_the_hub_is_killed_is_sent_after_the_restart_once() {
    let fake = FakeTwilio::start(TWILIO_AUTH_TOKEN).await;
    // First without an account SID: the hub takes messages in but sends nothing, so the
    // reply waits in the outbox when the process is killed.
    let mut hub = HubProcess::start(&["--twilio-auth-token", TWILIO_AUTH_TOKEN, "--public-url", TWILIO_PUBLIC_URL, "--twilio-api-url", &fake.url(), "--twilio-retry-base-ms", "20"]).await;
    let (rita_api, session) = Api::new(&hub.url()).user("Rita Recruiter", "recruiter").await;
    assert_eq!(rita_api.post(NUMBERS, json!({"number": RITAS_NUMBER})).await.status, 201);
    let params = whatsapp("SM00000000000000000000000000000501", PHONE, "Hello from Carla");
    let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_taken(&signed(&hub.url(), crate::twilio::INBOUND, &params).await);
    let conversation: Value = rita_api.get("/v1/conversations").await.body["conversations"][0].clone();
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &session.access_token).await;
    let ack = gw.request("message.send", send_data(conversation["id"].as_str().unwrap(), "r1", "Got it, thanks")).await;
    assert_eq!(ack["op"], "ack", "{ack}");
    hub.kill().await;
    assert_eq!(fake.requests(), 0);

    hub.args.extend(["--twilio-account-sid".to_owned(), TWILIO_ACCOUNT_SID.to_owned()]);
    hub.restart().await;
    let sent = fake.wait_until("the queued reply", |sent, _| !sent.is_empty()).await;
    assert_eq!(sent[0].body, "Got it, thanks");
    let url = match hub.database() {
        Some(database) => database.url().to_owned(),
        None => format!("sqlite://{}", hub.dir().join("hub.db").display()),
    };
    settled(&url, "SELECT COUNT(*) FROM twilio_outbox WHERE done_at IS NULL").await;
    let done = query_integers(&url, "SELECT COUNT(*) FROM twilio_outbox WHERE done_at IS NOT NULL AND twilio_sid IS NOT NULL").await;
    assert_eq!(done, vec![1], "recorded as sent, so never sent again");
    assert_eq!((fake.sent().len(), fake.requests()), (1, 1), "sent once");
}

#[tokio::test]
async fn two_hubs_on_one_database_send_each_queued_reply_once() {
    if !rapport_testkit::on_postgres_or_skip("two_hubs_on_one_database_send_each_queued_reply_once") {
        return;
    }
    let fake = FakeTwilio::start(TWILIO_AUTH_TOKEN).await;
    let inbound_only = ["--twilio-auth-token", TWILIO_AUTH_TOKEN, "--public-url", TWILIO_PUBLIC_URL];
    let mut first = HubProcess::start(&inbound_only).await;
    let (rita_api, session) = Api::new(&first.url()).user("Rita Recruiter", "recruiter").await;
    assert_eq!(rita_api.post(NUMBERS, json!({"number": RITAS_NUMBER})).await.status, 201);
    let params = whatsapp("SM00000000000000000000000000000601", PHONE, "Hello from Carla");
    let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_taken(&signed(&first.url(), crate::twilio::INBOUND, &params).await);
    let conversation_id = rita_api.get("/v1/conversations").await.body["conversations"][0]["id"].as_str().unwrap().to_owned();
    let (mut gw, _) = Gw::ready(&first.gateway_url(), &session.access_token).await;
    const REPLIES: usize = 20;
    for i in 0..REPLIES {
        let ack = gw.request("message.send", send_data(&conversation_id, &format!("r{i}"), &format!("reply {i}"))).await;
        assert_eq!(ack["op"], "ack", "{ack}");
    }
    first.kill().await;

    // Two hubs that send start together on the queued replies.
    let fake_url = fake.url();
    let sending = ["--twilio-auth-token", TWILIO_AUTH_TOKEN, "--public-url", TWILIO_PUBLIC_URL, "--twilio-account-sid", TWILIO_ACCOUNT_SID, "--twilio-api-url", &fake_url];
    let (second, third) = tokio::join!(HubProcess::start_beside(&first, &sending), HubProcess::start_beside(&first, &sending));
    fake.wait_until("every queued reply", |sent, _| sent.len() >= REPLIES).await;
    let url = second.database().expect("PostgreSQL").url().to_owned();
    settled(&url, "SELECT COUNT(*) FROM twilio_outbox WHERE done_at IS NULL").await;
    let mut bodies: Vec<String> = fake.sent().into_iter().map(|m| m.body).collect();
    bodies.sort();
    let mut expected: Vec<String> = (0..REPLIES).map(|i| format!("reply {i}")).collect();
    expected.sort();
    assert_eq!(bodies, expected, "each reply once, none twice");
    assert_eq!(fake.requests(), REPLIES as u64);
    drop((second, third));
}
