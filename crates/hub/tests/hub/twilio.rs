//! The WhatsApp / SMS bridge through Twilio (1.1, §5): recruiters' numbers, Twilio's signed
//! inbound webhook, the outside contact and their conversation, idempotency by `MessageSid`,
//! photos and files fetched into attachments, and what is refused.

use rapport_protocol::Session;
use rapport_testkit::{form_body, twilio_signature, Api, FakeTwilio, Gw, RawReply, TestHub, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL};
use rapport_hub::config::TwilioConfig;
use serde_json::{json, Value};

pub(crate) const INBOUND: &str = "/v1/bridges/twilio/inbound";
pub(crate) const NUMBERS: &str = "/v1/bridges/twilio/numbers";
pub(crate) const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";
pub(crate) const RITAS_NUMBER: &str = "+4930123456789";
pub(crate) const PHONE: &str = "+4915112345678";

/// A hub with the bridge on (inbound only: no account SID).
pub(crate) async fn bridged_hub() -> TestHub {
    bridged_hub_with(|_| {}).await
}

/// A hub with the bridge on, as `adjust` changes it.
pub(crate) async fn bridged_hub_with(adjust: impl FnOnce(&mut TwilioConfig)) -> TestHub {
    let mut twilio = TwilioConfig::new(TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL);
    adjust(&mut twilio);
    TestHub::start_with(|c| c.twilio = Some(twilio)).await
}

/// A recruiter who receives on [`RITAS_NUMBER`].
pub(crate) async fn rita(hub: &TestHub) -> (Api, Session) {
    let (rita, session) = hub.api().user("Rita Recruiter", "recruiter").await;
    let added = rita.post(NUMBERS, json!({"number": RITAS_NUMBER})).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    (rita, session)
}

/// The parameters of Twilio's message webhook for a WhatsApp message.
pub(crate) fn whatsapp(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    [
        ("MessageSid", sid.to_owned()),
        ("SmsSid", sid.to_owned()),
        ("AccountSid", "ACtest".to_owned()),
        ("From", format!("whatsapp:{from}")),
        ("To", format!("whatsapp:{RITAS_NUMBER}")),
        ("Body", body.to_owned()),
        ("NumMedia", "0".to_owned()),
        ("ProfileName", "Carla".to_owned()),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v))
    .collect()
}

pub(crate) fn borrowed(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

/// POSTs the webhook as Twilio would: signed over the public URL.
pub(crate) async fn deliver(hub: &TestHub, params: &[(String, String)]) -> RawReply {
    let params = borrowed(params);
    let signature = twilio_signature(TWILIO_AUTH_TOKEN, &format!("{TWILIO_PUBLIC_URL}{INBOUND}"), &params);
    post_form(hub, &params, Some(&signature)).await
}

pub(crate) async fn post_form(hub: &TestHub, params: &[(&str, &str)], signature: Option<&str>) -> RawReply {
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    if let Some(signature) = signature {
        headers.push(("x-twilio-signature", signature));
    }
    hub.api().raw("POST", INBOUND, &headers, Some(form_body(params))).await
}

pub(crate) fn assert_taken(reply: &RawReply) {
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("content-type"), "text/xml");
    assert_eq!(String::from_utf8_lossy(&reply.body), EMPTY_TWIML, "Twilio gets empty TwiML: nothing to reply");
}

pub(crate) async fn count(hub: &TestHub, table: &str) -> i64 {
    hub.query_integer(&format!("SELECT COUNT(*) FROM {table}")).await
}

#[test]
fn the_test_signer_gives_twilios_documented_signature() {
    // The worked example of Twilio's "Validating requests" page.
    let params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"), ("From", "+12349013030"), ("To", "+18005551212")];
    assert_eq!(twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
}

#[tokio::test]
async fn a_whatsapp_message_from_an_unknown_phone_reaches_the_recruiter_live_in_a_bridged_conversation() {
    let hub = bridged_hub().await;
    let (rita, session) = rita(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &session.access_token).await;

    let mut first = whatsapp("SM00000000000000000000000000000001", PHONE, "Hello, is the Rust role still open?");
    // Nothing listens there: the photo cannot be fetched, so it is linked.
    first.extend([("NumMedia".to_owned(), "1".to_owned()), ("MediaUrl0".to_owned(), "http://127.0.0.1:9/media/ME1".to_owned())]);
    first.retain(|(n, v)| n != "NumMedia" || v != "0");
    assert_taken(&deliver(&hub, &first).await);

    let created = gw.event("conversation.created").await["data"]["conversation"].clone();
    assert_eq!(created["bridge"], json!({"channel": "whatsapp", "number": PHONE, "via": RITAS_NUMBER}), "the conversation says it runs over WhatsApp: {created}");
    let contact = created["members"].as_array().unwrap().iter().find(|m| m["user_id"] != session.user.id.as_str()).expect("a second member").clone();
    assert_eq!(contact["display_name"], PHONE, "the contact is shown by their number");
    let message = gw.event("message.created").await["data"]["message"].clone();
    assert_eq!(message["body"], "Hello, is the Rust role still open?\nhttp://127.0.0.1:9/media/ME1", "the photo is linked");
    assert_eq!((message["sender_id"].clone(), message["seq"].as_i64(), message["conversation_id"].clone()), (contact["user_id"].clone(), Some(1), created["id"].clone()));

    // The next message from the same phone lands in the same conversation.
    assert_taken(&deliver(&hub, &whatsapp("SM00000000000000000000000000000002", PHONE, "I am Carla.")).await);
    let next = gw.event("message.created").await["data"]["message"].clone();
    assert_eq!((next["conversation_id"].clone(), next["seq"].as_i64()), (created["id"].clone(), Some(2)));
    let listed = rita.get("/v1/conversations").await.body;
    assert_eq!(listed["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(listed["conversations"][0]["bridge"]["channel"], "whatsapp");
    assert_eq!(listed["conversations"][0]["unread_count"], 2);

    // An SMS from the same phone is another channel: another contact, another conversation.
    let sms: Vec<(String, String)> = [("MessageSid", "SM00000000000000000000000000000003"), ("From", PHONE), ("To", RITAS_NUMBER), ("Body", "by SMS")]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    assert_taken(&deliver(&hub, &sms).await);
    let by_sms = gw.event("conversation.created").await["data"]["conversation"].clone();
    assert_eq!(by_sms["bridge"], json!({"channel": "sms", "number": PHONE, "via": RITAS_NUMBER}));

    // A contact is no account: not in the directory, and no login.
    let found = rita.get(&format!("/v1/users?q={}", rapport_testkit::percent_encode(PHONE))).await.body;
    assert_eq!(found["users"], json!([]), "outside contacts are not listed: {found}");
    let login = hub.api().post("/v1/auth/login", json!({"email": format!("whatsapp:{PHONE}"), "password": "!"})).await;
    assert_eq!(login.status, 401);
    // A conversation of two accounts has no bridge field at all.
    let (_, carl) = hub.api().user("Carl Candidate", "candidate").await;
    let plain = serde_json::to_value(rita.direct(&carl.user.id).await).unwrap();
    assert!(rita.get(&format!("/v1/conversations/{}", plain["id"].as_str().unwrap())).await.body.get("bridge").is_none());
}

#[tokio::test]
async fn a_missing_or_wrong_signature_is_forbidden_and_stores_nothing() {
    let hub = bridged_hub().await;
    let _rita = rita(&hub).await;
    let params = whatsapp("SM00000000000000000000000000000009", PHONE, "Hello");
    let good = twilio_signature(TWILIO_AUTH_TOKEN, &format!("{TWILIO_PUBLIC_URL}{INBOUND}"), &borrowed(&params));

    let mut tampered = params.clone();
    tampered[5].1 = "Send me your password".to_owned();
    let refused = [
        post_form(&hub, &borrowed(&tampered), Some(&good)).await,
        post_form(&hub, &borrowed(&params), None).await,
        post_form(&hub, &borrowed(&params), Some("not base64!")).await,
        post_form(&hub, &borrowed(&params), Some(&twilio_signature("another token", &format!("{TWILIO_PUBLIC_URL}{INBOUND}"), &borrowed(&params)))).await,
        // Signed for another URL (the hub's own address rather than the public one).
        post_form(&hub, &borrowed(&params), Some(&twilio_signature(TWILIO_AUTH_TOKEN, &format!("{}{INBOUND}", hub.url()), &borrowed(&params)))).await,
    ];
    for reply in &refused {
        assert_eq!(reply.status, 403);
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["error"]["code"], "forbidden", "{body}");
    }
    for table in ["messages", "bridge_contacts", "bridge_conversations", "twilio_inbound", "conversations"] {
        assert_eq!(count(&hub, table).await, 0, "nothing reached {table}");
    }
    assert_taken(&deliver(&hub, &params).await);
    assert_eq!(count(&hub, "messages").await, 1, "the genuine request is taken");
}

#[tokio::test]
async fn a_replayed_message_sid_stores_one_message_also_after_a_restart() {
    let mut hub = bridged_hub().await;
    let (rita, session) = rita(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &session.access_token).await;
    let params = whatsapp("SM0000000000000000000000000000000a", PHONE, "Only once, please");
    // Twilio retries while the first delivery may still be running.
    let (a, b) = tokio::join!(deliver(&hub, &params), deliver(&hub, &params));
    assert_taken(&a);
    assert_taken(&b);
    assert_taken(&deliver(&hub, &params).await);
    gw.event("message.created").await;
    let frames = gw.drain_for(std::time::Duration::from_millis(300)).await;
    assert_eq!(crate::support::events(&frames, "message.created").count(), 0, "announced once: {frames:?}");
    assert_eq!(count(&hub, "messages").await, 1);
    assert_eq!(count(&hub, "twilio_inbound").await, 1);

    hub.stop().await.unwrap();
    hub.restart().await;
    assert_taken(&deliver(&hub, &params).await);
    let conversations = rita.get("/v1/conversations").await.body;
    let id = conversations["conversations"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(conversations["conversations"][0]["bridge"]["number"], PHONE, "the bridge survives the restart");
    let history = rita.get(&format!("/v1/conversations/{id}/messages")).await.body;
    let bodies: Vec<&str> = history["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["Only once, please"], "still there after the restart, and still once");
}

#[tokio::test]
async fn a_message_to_a_number_no_recruiter_owns_is_answered_and_dropped() {
    let hub = bridged_hub().await;
    let params = whatsapp("SM0000000000000000000000000000000b", PHONE, "Anyone?");
    assert_taken(&deliver(&hub, &params).await);
    assert_eq!(count(&hub, "messages").await, 0);
    assert_eq!(count(&hub, "bridge_contacts").await, 0, "no contact is made for nobody");
    let unsigned_fields = [("MessageSid".to_owned(), "SM1".to_owned())];
    let reply = deliver(&hub, &unsigned_fields).await;
    assert_eq!(reply.status, 400, "signed but without From and To: {}", String::from_utf8_lossy(&reply.body));
}

#[tokio::test]
async fn recruiters_own_their_numbers_one_owner_each() {
    let hub = bridged_hub().await;
    let (rita, _) = rita(&hub).await;
    let (ralf, _) = hub.api().user("Ralf Recruiter", "recruiter").await;
    let (carl, _) = hub.api().user("Carl Candidate", "candidate").await;

    assert_eq!(rita.post(NUMBERS, json!({"number": RITAS_NUMBER})).await.status, 200, "adding one's own number again is a no-op");
    let taken = ralf.post(NUMBERS, json!({"number": RITAS_NUMBER})).await;
    assert_eq!((taken.status, taken.code()), (409, "conflict"), "{:?}", taken.body);
    for bad in ["4930123456789", "+49 30 1234567", "+1234567", "+1234567890123456", "whatsapp:+4930123456789", ""] {
        let reply = ralf.post(NUMBERS, json!({"number": bad})).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_payload"), "{bad:?}: {:?}", reply.body);
    }
    let candidate = carl.post(NUMBERS, json!({"number": "+4930999999999"})).await;
    assert_eq!((candidate.status, candidate.code()), (403, "forbidden"));
    assert_eq!(carl.get(NUMBERS).await.status, 403);

    assert_eq!(ralf.post(NUMBERS, json!({"number": " +4930999999999 "})).await.status, 201);
    let listed = rita.get(NUMBERS).await.body;
    let numbers: Vec<&str> = listed["numbers"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, vec![RITAS_NUMBER], "each sees their own");

    let path = format!("{NUMBERS}/{}", rapport_testkit::percent_encode(RITAS_NUMBER));
    assert_eq!(ralf.call("DELETE", &path, None, &[]).await.status, 404, "not Ralf's to remove");
    assert_eq!(rita.call("DELETE", &path, None, &[]).await.status, 204);
    assert_eq!(rita.call("DELETE", &path, None, &[]).await.status, 404);
    assert_eq!(rita.get(NUMBERS).await.body["numbers"], json!([]));
    assert_eq!(ralf.post(NUMBERS, json!({"number": RITAS_NUMBER})).await.status, 201, "a freed number can be taken");
}

#[tokio::test]
async fn without_a_twilio_token_the_bridge_routes_do_not_exist() {
    let hub = TestHub::start().await;
    let (rita, _) = hub.api().user("Rita Recruiter", "recruiter").await;
    let params = whatsapp("SM0000000000000000000000000000000c", PHONE, "Hello");
    let replies = [
        rita.get(NUMBERS).await,
        rita.post(NUMBERS, json!({"number": RITAS_NUMBER})).await,
        rita.get(INBOUND).await,
    ];
    for reply in replies {
        assert_eq!((reply.status, reply.code()), (404, "not_found"), "{:?}", reply.body);
    }
    assert_eq!(deliver(&hub, &params).await.status, 404);
    assert_eq!(count(&hub, "messages").await, 0);

    let bridged = bridged_hub().await;
    let health = bridged.api().raw("GET", INBOUND, &[], None).await;
    assert_eq!(health.status, 200, "a health check for the webhook URL");
}

/// Largest file the media tests' hub takes (the real default is 25 MiB).
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// A hub that fetches media from `fake` as the account [`TWILIO_ACCOUNT_SID`] (or, without
/// `account`, without credentials), taking files up to [`MAX_FILE_BYTES`].
async fn hub_with_media_at(fake: &FakeTwilio, account: bool) -> TestHub {
    let mut twilio = TwilioConfig::new(TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL);
    twilio.account_sid = account.then(|| TWILIO_ACCOUNT_SID.to_owned());
    twilio.api_url = fake.url();
    TestHub::start_with(|c| {
        c.twilio = Some(twilio);
        c.max_upload_bytes = MAX_FILE_BYTES;
    })
    .await
}

/// The webhook of a WhatsApp message with these media (URL, Twilio's content type).
fn with_media(sid: &str, body: &str, media: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut params = whatsapp(sid, PHONE, body);
    params.retain(|(n, _)| n != "NumMedia");
    params.push(("NumMedia".to_owned(), media.len().to_string()));
    for (i, (url, content_type)) in media.iter().enumerate() {
        params.push((format!("MediaUrl{i}"), (*url).to_owned()));
        params.push((format!("MediaContentType{i}"), (*content_type).to_owned()));
    }
    params
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 40])).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Part files left in the blob directory's `incoming`.
fn part_files(hub: &TestHub) -> usize {
    std::fs::read_dir(hub.config.blobs_dir.join("incoming")).unwrap().count()
}

#[tokio::test]
async fn photos_and_files_arrive_as_attachments_and_what_cannot_be_fetched_is_linked() {
    let fake = FakeTwilio::start(TWILIO_AUTH_TOKEN).await;
    let photo = jpeg(640, 480);
    let cv = b"%PDF-1.4 Carla's CV".to_vec();
    fake.serve_media("ME-photo", "image/jpeg", photo.clone(), false);
    fake.serve_media("ME-cv", "application/pdf", cv.clone(), false);
    // Too large, and only found out while it streams: no Content-Length.
    fake.serve_media("ME-video", "video/mp4", vec![7u8; MAX_FILE_BYTES as usize + 1], true);
    let hub = hub_with_media_at(&fake, true).await;
    let (rita, session) = rita(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &session.access_token).await;

    let gone = fake.media_url("ME-gone");
    let video = fake.media_url("ME-video");
    let params = with_media(
        "SM00000000000000000000000000000m01",
        "My CV and me",
        // Twilio's media links redirect to its CDN.
        &[(&fake.redirected_media_url("ME-photo"), "image/jpeg"), (&fake.media_url("ME-cv"), "application/pdf"), (&gone, "image/png"), (&video, "video/mp4")],
    );
    assert_taken(&deliver(&hub, &params).await);
    let message = gw.event("message.created").await["data"]["message"].clone();
    assert_eq!(message["body"], format!("My CV and me\n{gone}\n{video}"), "a 404 and a file too large are linked, the rest attached: {message}");
    let files = message["attachments"].as_array().expect("attachments").clone();
    let described: Vec<(&str, &str, u64)> = files.iter().map(|f| (f["filename"].as_str().unwrap(), f["content_type"].as_str().unwrap(), f["size"].as_u64().unwrap())).collect();
    assert_eq!(described, vec![("whatsapp-image-1.jpg", "image/jpeg", photo.len() as u64), ("whatsapp-file-2.pdf", "application/pdf", cv.len() as u64)]);
    assert_eq!((files[0]["width"].as_u64(), files[0]["height"].as_u64()), (Some(640), Some(480)), "an image is measured: {}", files[0]);
    assert!(files[1].get("width").is_none(), "a PDF is no image");
    assert_eq!(fake.unauthorized(), 0, "the hub sent the account's credentials");
    assert_eq!(part_files(&hub), 0, "the file too large left no part file");

    // The recruiter downloads them, with a thumbnail of the photo; someone else cannot.
    let photo_id = files[0]["id"].as_str().unwrap();
    let downloaded = rita.raw("GET", &format!("/v1/attachments/{photo_id}"), &[], None).await;
    assert_eq!((downloaded.status, downloaded.header("content-type")), (200, "image/jpeg"));
    assert_eq!(downloaded.body, photo, "the bytes Twilio kept");
    let cv_id = files[1]["id"].as_str().unwrap();
    assert_eq!(rita.raw("GET", &format!("/v1/attachments/{cv_id}"), &[], None).await.body, cv);
    let thumb = rita.raw("GET", &format!("/v1/attachments/{photo_id}/thumbnail"), &[], None).await;
    assert_eq!(thumb.status, 200);
    let small = image::load_from_memory(&thumb.body).unwrap();
    assert_eq!((small.width(), small.height()), (320, 240), "a preview, proportions kept");
    let (outsider, _) = hub.api().user("Olga Outsider", "recruiter").await;
    for id in [photo_id, cv_id] {
        assert_eq!(outsider.raw("GET", &format!("/v1/attachments/{id}"), &[], None).await.status, 404, "not a member of the conversation");
    }

    // Twilio's retry fetches nothing and stores nothing new.
    let fetched = fake.media_requests();
    assert_eq!(fetched, 4, "the photo (past its redirect), the CV, the 404, the video");
    assert_taken(&deliver(&hub, &params).await);
    assert_eq!(fake.media_requests(), fetched, "a replay downloads nothing");
    assert_eq!((count(&hub, "messages").await, count(&hub, "attachments").await), (1, 2), "and stores nothing");

    // A photo without text is a message with an empty body.
    fake.serve_media("ME-only", "image/png", jpeg(10, 10), false);
    assert_taken(&deliver(&hub, &with_media("SM00000000000000000000000000000m02", "", &[(&fake.media_url("ME-only"), "image/png")])).await);
    let only = gw.event("message.created").await["data"]["message"].clone();
    assert_eq!((only["body"].as_str(), only["attachments"].as_array().map(Vec::len)), (Some(""), Some(1)), "{only}");
    assert_eq!(only["attachments"][0]["filename"], "whatsapp-image-1.png", "Twilio's content type names it");
    let history = rita.get(&format!("/v1/conversations/{}/messages", message["conversation_id"].as_str().unwrap())).await.body;
    assert_eq!(history["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn media_that_needs_credentials_the_hub_does_not_send_there_is_linked() {
    let fake = FakeTwilio::start(TWILIO_AUTH_TOKEN).await;
    // Another host than Twilio's API: the account's credentials never go there.
    let elsewhere = FakeTwilio::start(TWILIO_AUTH_TOKEN).await;
    fake.serve_media("ME-photo", "image/jpeg", jpeg(20, 20), false);
    elsewhere.serve_media("ME-photo", "image/jpeg", jpeg(20, 20), false);
    let without_sid = hub_with_media_at(&fake, false).await;
    let with_sid = hub_with_media_at(&fake, true).await;
    for (hub, fake) in [(&without_sid, &fake), (&with_sid, &elsewhere)] {
        let (rita, _) = rita(hub).await;
        let url = fake.media_url("ME-photo");
        let refused_before = fake.unauthorized();
        assert_taken(&deliver(hub, &with_media("SM00000000000000000000000000000m03", "", &[(&url, "image/jpeg")])).await);
        assert_eq!(fake.unauthorized(), refused_before + 1, "asked without credentials, refused");
        let conversations = rita.get("/v1/conversations").await.body;
        let id = conversations["conversations"][0]["id"].as_str().unwrap();
        let history = rita.get(&format!("/v1/conversations/{id}/messages")).await.body;
        let message = &history["messages"][0];
        assert_eq!(message["body"], url.as_str(), "the message is kept, with its link: {message}");
        assert_eq!(message["attachments"].as_array().map_or(0, Vec::len), 0);
        assert_eq!(count(hub, "attachments").await, 0);
    }
}
