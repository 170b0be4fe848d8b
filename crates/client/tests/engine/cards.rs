//! Job cards (1.1, §3): a recruiter shares a role, the other side receives it with every field;
//! a candidate's card, or one that breaks the card rules, is refused before it is queued.

use rapport_client::{Code, Draft, EngineError, EngineEvent, MessageState, Role};
use rapport_protocol::{ApplicationStatus, ApplicationStatusCard, Card, JobCard, MessageKind};
use rapport_testkit::TestHub;

use crate::support::{connected, hub_history, next_event, Client, DEADLINE};

fn rust_role() -> JobCard {
    JobCard {
        title: "Senior Rust Engineer".into(),
        company: "Acme".into(),
        location: Some("Berlin".into()),
        salary: Some("€90–110k".into()),
        url: Some("https://acme.test/jobs/42".into()),
        description: Some("Async Rust, a small team, no on-call.".into()),
    }
}

#[tokio::test]
async fn a_recruiters_job_card_reaches_the_candidate_with_every_field() {
    let hub = TestHub::start().await;
    let rita = Client::register(&hub.url(), "Rita").await;
    let carl = Client::register_as(&hub.url(), "Carl", Role::Candidate).await;
    let mut carl_events = carl.engine.subscribe();
    rita.engine.start();
    carl.engine.start();
    connected(&carl.engine).await;
    let conversation = rita.engine.start_direct(&carl.user.id).await.unwrap();

    let card = Card::Job(rust_role());
    let pending = rita.engine.send_card(&conversation.id, "Thought of you for this one", card.clone()).await.expect("a recruiter may share a role");
    assert_eq!((pending.state, pending.kind, pending.card.as_ref()), (MessageState::Pending, MessageKind::Job, Some(&card)), "queued as a job message with its card");
    let sent = rita.engine.wait_sent(&pending.client_msg_id, DEADLINE).await.expect("acknowledged");
    assert_eq!(sent.card.as_ref(), Some(&card), "the sender's copy keeps the card");

    let received = next_event(&mut carl_events, "carl receives the card", |e| match e {
        EngineEvent::Message(m) if m.client_msg_id == pending.client_msg_id => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!((received.kind, received.card.as_ref(), received.body.as_str()), (MessageKind::Job, Some(&card), "Thought of you for this one"), "every field arrives");
    let cached = carl.engine.history(&conversation.id, None, 10).await.unwrap();
    assert_eq!(cached.messages[0].card.as_ref(), Some(&card), "and is cached with it");
    let on_hub = hub_history(&carl.api(&hub.url()).await, &conversation.id).await;
    assert_eq!(on_hub[0].card.as_deref(), Some(&card), "the hub stores it as sent");

    // Only the required fields, no text: a card is enough of a message.
    let bare = Card::Job(JobCard { title: "Staff Engineer".into(), company: "Acme".into(), ..JobCard::default() });
    let queued = rita.engine.send_card(&conversation.id, "", bare.clone()).await.expect("title and company suffice");
    let sent = rita.engine.wait_sent(&queued.client_msg_id, DEADLINE).await.unwrap();
    assert_eq!((sent.body.as_str(), sent.card.as_ref()), ("", Some(&bare)));
}

#[tokio::test]
async fn a_candidates_card_and_a_broken_card_are_refused_and_nothing_is_left_in_the_outbox() {
    let hub = TestHub::start().await;
    let rita = Client::register(&hub.url(), "Rita").await;
    let carl = Client::register_as(&hub.url(), "Carl", Role::Candidate).await;
    carl.engine.start();
    connected(&carl.engine).await;
    let conversation = carl.engine.start_direct(&rita.user.id).await.unwrap();

    let status = Card::ApplicationStatus(ApplicationStatusCard { job_title: "Rust".into(), status: ApplicationStatus::Hired, note: None });
    for card in [Card::Job(rust_role()), status] {
        match carl.engine.send_card(&conversation.id, "hire me", card).await {
            Err(EngineError::Invalid { reason: Code::Forbidden, message }) => assert!(message.contains("only recruiters"), "the message says why: {message}"),
            other => panic!("a candidate's card must be refused as forbidden: {other:?}"),
        }
    }
    assert!(carl.engine.outbox().await.unwrap().is_empty(), "nothing was queued, so nothing can be stuck");
    let page = carl.engine.history(&conversation.id, None, 10).await.unwrap();
    assert!(page.messages.is_empty(), "no pending or failed message shows: {:?}", page.messages);

    // The outbox still works: the candidate's plain answer goes out.
    let answer = carl.engine.send(&conversation.id, "Interested!").await.unwrap();
    carl.engine.wait_sent(&answer.client_msg_id, DEADLINE).await.expect("nothing blocks the outbox");
    let bodies: Vec<String> = hub_history(&carl.api(&hub.url()).await, &conversation.id).await.into_iter().map(|m| m.body).collect();
    assert_eq!(bodies, ["Interested!"], "the hub got only the plain message");

    // A recruiter's card that breaks the rules is refused the same way, naming the field.
    let broken = [
        (JobCard { title: " ".into(), ..rust_role() }, "title"),
        (JobCard { company: String::new(), ..rust_role() }, "company"),
        (JobCard { url: Some("javascript:alert(1)".into()), ..rust_role() }, "url"),
        (JobCard { location: Some("Berlin\u{202e}".into()), ..rust_role() }, "location"),
        (JobCard { salary: Some("x".repeat(1000)), ..rust_role() }, "salary"),
    ];
    for (job, field) in broken {
        match rita.engine.send_card(&conversation.id, "", Card::Job(job)).await {
            Err(EngineError::Invalid { reason: Code::InvalidPayload, message }) => assert!(message.contains(field), "names the {field}: {message}"),
            other => panic!("a card with a bad {field} must be refused: {other:?}"),
        }
    }
    assert!(rita.engine.outbox().await.unwrap().is_empty(), "no refused card was queued");
}

/// A send to an email looks its conversation up at the hub, creating it when there is none: a
/// draft the hub would refuse is refused before that, so it leaves no empty conversation behind.
#[tokio::test]
async fn a_refused_card_or_empty_text_to_an_email_creates_no_conversation() {
    let hub = TestHub::start().await;
    let rita = Client::register(&hub.url(), "Rita").await;
    let carl = Client::register_as(&hub.url(), "Carl", Role::Candidate).await;
    carl.engine.start();
    connected(&carl.engine).await;

    let card = Draft { card: Some(Card::Job(rust_role())), ..Draft::default() };
    match carl.engine.send_to_email(&rita.user.email, &card).await {
        Err(EngineError::Invalid { reason: Code::Forbidden, .. }) => {}
        other => panic!("a candidate's card to an email must be refused as forbidden: {other:?}"),
    }
    match carl.engine.send_to_email(&rita.user.email, &Draft::text("  ")).await {
        Err(EngineError::Invalid { reason: Code::BodyEmpty, .. }) => {}
        other => panic!("an empty text to an email must be refused: {other:?}"),
    }
    let listed = carl.api(&hub.url()).await.get("/v1/conversations").await.body;
    assert_eq!(listed["conversations"], serde_json::json!([]), "no conversation was created at the hub: {listed}");
    assert!(carl.engine.outbox().await.unwrap().is_empty());

    // A message the hub accepts does create it.
    let sent = carl.engine.send_to_email(&rita.user.email, &Draft::text("Hello Rita")).await.unwrap();
    carl.engine.wait_sent(&sent.client_msg_id, DEADLINE).await.expect("sent");
}
