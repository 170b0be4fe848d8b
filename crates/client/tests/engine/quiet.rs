//! Quiet periods through the whole engine and a real hub: messages still arrive and count as
//! unread, nothing is shown, one digest follows; a pause survives a restart; busy while quiet
//! reaches others once each way. (The schedule itself, midnight and DST, is tested on tokio's
//! paused clock in the engine's `quiet` and `quiet_hours` modules.)

use rapport_client::{ChosenStatus, EngineEvent, NotificationToShow, Pause, PresenceStatus, QuietHours, QuietReason, Role};
use rapport_testkit::TestHub;

use crate::support::{connected, eventually, next_event, Client, DEADLINE};

async fn send_and_wait(from: &Client, conversation_id: &str, text: &str) {
    let m = from.engine.send(conversation_id, text).await.expect("queue");
    from.engine.wait_sent(&m.client_msg_id, DEADLINE).await.expect("acknowledged");
}

#[tokio::test]
async fn a_pause_holds_notifications_back_for_one_digest_and_the_unread_count_still_counts() {
    let hub = TestHub::start().await;
    let dana = Client::register_as(&hub.url(), "Dana", Role::Recruiter).await;
    let carl = Client::register_as(&hub.url(), "Carl", Role::Candidate).await;
    let cleo = Client::register_as(&hub.url(), "Cleo", Role::Candidate).await;
    let muted = Client::register_as(&hub.url(), "Mute", Role::Candidate).await;
    let mut events = dana.engine.subscribe();
    for c in [&dana, &carl, &cleo, &muted] {
        c.engine.start();
        connected(&c.engine).await;
    }
    let with_carl = carl.engine.start_direct(&dana.user.id).await.unwrap().id;
    let with_cleo = cleo.engine.start_direct(&dana.user.id).await.unwrap().id;
    let with_muted = muted.engine.start_direct(&dana.user.id).await.unwrap().id;
    eventually("dana has the three conversations", || async { (dana.engine.conversations().await.ok()?.len() == 3).then_some(()) }).await;
    dana.engine.set_muted(&with_muted, true).await.unwrap();

    let status = dana.engine.pause_notifications(Pause::For { seconds: 3600 }).await.expect("pause");
    assert!(status.quiet && status.reason == Some(QuietReason::Paused) && status.paused_until.is_some(), "{status:?}");
    next_event(&mut events, "the pause is announced", |e| matches!(e, EngineEvent::Quiet(s) if s.quiet).then_some(())).await;

    send_and_wait(&carl, &with_carl, "Hi Dana, I sent my CV").await;
    send_and_wait(&carl, &with_carl, "and my portfolio").await;
    send_and_wait(&cleo, &with_cleo, "Is the role still open?").await;
    send_and_wait(&muted, &with_muted, "muted stays muted").await;
    let unread = next_event(&mut events, "the unread count reaches four", |e| match e {
        EngineEvent::Unread { total } if *total == 4 => Some(*total),
        _ => None,
    })
    .await;
    assert_eq!(unread, 4, "every message arrived and counts as unread, the muted one too");

    let status = dana.engine.resume_notifications().await.expect("resume");
    assert!(!status.quiet, "{status:?}");
    // One more message after the pause notifies normally; everything shown until then is what
    // the pause held back (a message notification from the pause would come before it).
    send_and_wait(&cleo, &with_cleo, "Back to normal").await;
    let mut shown: Vec<NotificationToShow> = Vec::new();
    while !shown.last().is_some_and(|n| n.body.contains("Back to normal")) {
        shown.push(next_event(&mut events, "notifications after the pause", |e| match e {
            EngineEvent::Notify(n) => Some(n.clone()),
            _ => None,
        })
        .await);
    }
    assert_eq!(shown.len(), 2, "one digest, then the new message: {shown:?}");
    assert_eq!(shown[0].title, "While notifications were paused");
    assert_eq!(shown[0].body, "3 messages from 2 candidates", "the muted conversation stays out of the digest");
    assert_eq!(shown[0].conversation_id, None, "two conversations: the digest opens the app");
}

#[tokio::test]
async fn nothing_held_means_no_digest_and_a_pause_survives_a_restart() {
    let hub = TestHub::start().await;
    let dana = Client::register(&hub.url(), "Dana").await;
    let carl = Client::register_as(&hub.url(), "Carl", Role::Candidate).await;
    let mut events = dana.engine.subscribe();
    dana.engine.start();
    carl.engine.start();
    connected(&dana.engine).await;
    connected(&carl.engine).await;
    let conversation = carl.engine.start_direct(&dana.user.id).await.unwrap().id;

    dana.engine.pause_notifications(Pause::UntilTomorrow).await.expect("pause");
    let reopened = dana.reopen(&hub.url()).await;
    let status = reopened.quiet_status();
    assert_eq!(status.reason, Some(QuietReason::Paused), "the pause is kept in the profile: {status:?}");
    drop(reopened);

    // A message read during the pause leaves the digest: nothing is left to tell.
    send_and_wait(&carl, &conversation, "read at once").await;
    eventually("dana has it", || async { (dana.engine.cached_seqs(&conversation).await.ok()?.len() == 1).then_some(()) }).await;
    dana.engine.mark_read(&conversation).await.unwrap();
    dana.engine.resume_notifications().await.unwrap();
    send_and_wait(&carl, &conversation, "after").await;
    let first = next_event(&mut events, "the next notification", |e| match e {
        EngineEvent::Notify(n) => Some(n.clone()),
        _ => None,
    })
    .await;
    assert_eq!(first.body, "after", "no digest when nothing is left to tell: {first:?}");

    let bad = dana.engine.set_quiet_hours(QuietHours { time_zone: "Europe/Atlantis".into(), ..QuietHours::default() });
    assert!(bad.expect_err("unknown zone").to_string().contains("Europe/Atlantis"));
    assert!(dana.engine.pause_notifications(Pause::For { seconds: 0 }).await.is_err(), "an empty pause is refused");
}

#[tokio::test]
async fn busy_while_quiet_reaches_others_once_each_way_and_a_chosen_status_wins() {
    let hub = TestHub::start().await;
    let dana = Client::register(&hub.url(), "Dana").await;
    let carl = Client::register_as(&hub.url(), "Carl", Role::Candidate).await;
    dana.engine.start_direct(&carl.user.id).await.unwrap();
    dana.engine.start();
    carl.engine.start();
    connected(&dana.engine).await;
    connected(&carl.engine).await;
    let dana_is = |status: PresenceStatus| {
        let carl = &carl.engine;
        let id = dana.user.id.clone();
        async move { (carl.presence_of(&id)?.status == status).then_some(()) }
    };
    eventually("carl sees dana online", || dana_is(PresenceStatus::Online)).await;
    dana.engine.set_quiet_hours(QuietHours { busy_while_quiet: true, ..QuietHours::default() }).unwrap();
    let mut carl_events = carl.engine.subscribe();

    dana.engine.pause_notifications(Pause::For { seconds: 3600 }).await.unwrap();
    eventually("busy while paused", || dana_is(PresenceStatus::Busy)).await;
    // Idle reports during the pause change nothing others see (busy wins over auto-away).
    dana.engine.set_away_after(std::time::Duration::from_secs(60));
    for _ in 0..10 {
        dana.engine.report_idle(std::time::Duration::from_secs(120));
    }
    dana.engine.report_idle(std::time::Duration::ZERO);
    dana.engine.resume_notifications().await.unwrap();
    eventually("online again after the pause", || dana_is(PresenceStatus::Online)).await;
    // A later change proves every earlier one was delivered: count up to it.
    dana.engine.set_presence(ChosenStatus::Away).await.unwrap();
    let mut seen = Vec::new();
    while seen.last() != Some(&PresenceStatus::Away) {
        seen.push(next_event(&mut carl_events, "dana's presence", |e| match e {
            EngineEvent::Presence(p) if p.user_id == dana.user.id => Some(p.status),
            _ => None,
        })
        .await);
    }
    assert_eq!(seen, [PresenceStatus::Busy, PresenceStatus::Online, PresenceStatus::Away], "one change each way, no flapping");

    // A status the user picks during a quiet period wins until it ends.
    dana.engine.set_presence(ChosenStatus::Online).await.unwrap();
    dana.engine.pause_notifications(Pause::For { seconds: 3600 }).await.unwrap();
    eventually("busy again", || dana_is(PresenceStatus::Busy)).await;
    dana.engine.set_presence(ChosenStatus::Online).await.unwrap();
    eventually("the user's choice wins", || dana_is(PresenceStatus::Online)).await;
    assert_eq!(dana.engine.chosen_presence(), ChosenStatus::Online);
}
