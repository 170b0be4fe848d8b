//! Scheduled sends (1.1, §3): handed to the hub with a time, listed and cancelled there; a
//! time outside 1 minute … 90 days ahead is refused and nothing is scheduled. (The send at the
//! time, across a hub restart, is the hub suite's: waiting a minute here would only be slow.)

use jiff::{SignedDuration, Timestamp, Unit};
use rapport_client::{Draft, EngineError, Role};
use rapport_protocol::{Card, JobCard};
use rapport_testkit::TestHub;

use crate::support::{hub_history, Client};

fn ahead(duration: SignedDuration) -> String {
    (Timestamp::now() + duration).round(Unit::Second).unwrap().to_string()
}

#[tokio::test]
async fn messages_are_scheduled_listed_soonest_first_and_cancelled() {
    let hub = TestHub::start().await;
    let rita = Client::register(&hub.url(), "Rita").await;
    let carl = Client::register_as(&hub.url(), "Carl", Role::Candidate).await;
    let conversation = rita.engine.start_direct(&carl.user.id).await.unwrap();

    let later = ahead(SignedDuration::from_hours(3));
    let sooner = ahead(SignedDuration::from_mins(5));
    let follow_up = rita.engine.schedule(&conversation.id, &Draft::text("Any news?"), &later).await.expect("schedule");
    assert_eq!((follow_up.conversation_id.as_str(), follow_up.body.as_str()), (conversation.id.as_str(), "Any news?"));
    assert_eq!(follow_up.send_at.parse::<Timestamp>().unwrap(), later.parse::<Timestamp>().unwrap(), "at the time asked");
    let card = Card::Job(JobCard { title: "Staff Engineer".into(), company: "Acme".into(), ..JobCard::default() });
    let with_card = rita.engine.schedule(&conversation.id, &Draft { card: Some(card.clone()), ..Draft::default() }, &sooner).await.expect("a card can wait too");
    assert_eq!(with_card.card.as_deref(), Some(&card));

    let listed = rita.engine.scheduled().await.unwrap();
    assert_eq!(listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [with_card.id.as_str(), follow_up.id.as_str()], "soonest first");
    assert_eq!(listed[1], follow_up, "listed as it was scheduled");
    assert!(hub_history(&rita.api(&hub.url()).await, &conversation.id).await.is_empty(), "nothing is a message before its time");
    assert!(carl.engine.scheduled().await.unwrap().is_empty(), "scheduled messages are their sender's");
    assert!(matches!(carl.engine.cancel_scheduled(&follow_up.id).await, Err(EngineError::NotFound(_))), "nobody else cancels them");

    rita.engine.cancel_scheduled(&follow_up.id).await.expect("cancel");
    let left: Vec<String> = rita.engine.scheduled().await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(left, std::slice::from_ref(&with_card.id), "only the cancelled one is gone");
    assert!(matches!(rita.engine.cancel_scheduled(&follow_up.id).await, Err(EngineError::NotFound(_))), "a cancelled message cannot be cancelled again");
}

#[tokio::test]
async fn a_bad_send_at_or_draft_is_refused_and_nothing_is_scheduled() {
    let hub = TestHub::start().await;
    let rita = Client::register(&hub.url(), "Rita").await;
    let carl = Client::register_as(&hub.url(), "Carl", Role::Candidate).await;
    let conversation = rita.engine.start_direct(&carl.user.id).await.unwrap();
    let in_an_hour = ahead(SignedDuration::from_hours(1));

    for send_at in [
        ahead(SignedDuration::from_hours(-1)),
        ahead(SignedDuration::from_secs(20)),
        ahead(SignedDuration::from_hours(91 * 24)),
        "tomorrow".to_owned(),
        "2026-13-01T09:00:00Z".to_owned(),
        String::new(),
    ] {
        match rita.engine.schedule(&conversation.id, &Draft::text("later"), &send_at).await {
            Err(EngineError::Invalid { message, .. } | EngineError::Hub { message, .. }) => assert!(!message.is_empty(), "{send_at:?}: a message says why"),
            other => panic!("send_at {send_at:?} must be refused: {other:?}"),
        }
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"cv").unwrap();
    let with_file = Draft { body: "cv".into(), files: vec![file.path().to_path_buf()], ..Draft::default() };
    assert!(matches!(rita.engine.schedule(&conversation.id, &with_file, &in_an_hour).await, Err(EngineError::Invalid { .. })), "files are not scheduled");
    assert!(matches!(rita.engine.schedule(&conversation.id, &Draft::text(""), &in_an_hour).await, Err(EngineError::Invalid { .. })), "an empty message is not scheduled");
    let job = Card::Job(JobCard { title: "Rust".into(), company: "Me".into(), ..JobCard::default() });
    let candidate_card = Draft { card: Some(job), ..Draft::default() };
    assert!(matches!(carl.engine.schedule(&conversation.id, &candidate_card, &in_an_hour).await, Err(EngineError::Invalid { .. })), "a candidate's card is not scheduled either");
    assert!(rita.engine.schedule("no-such-conversation", &Draft::text("later"), &in_an_hour).await.is_err(), "nor to a conversation that does not exist");

    assert!(rita.engine.scheduled().await.unwrap().is_empty(), "nothing was scheduled");
    assert!(carl.engine.scheduled().await.unwrap().is_empty());
    assert!(hub_history(&rita.api(&hub.url()).await, &conversation.id).await.is_empty(), "nothing was sent");
}
