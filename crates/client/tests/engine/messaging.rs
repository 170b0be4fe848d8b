//! Send and receive, receipts, typing, desktop notifications.

use rapport_client::{EngineEvent, MessageState, ReceiptKind};
use rapport_testkit::TestHub;

use crate::support::{connected, eventually, next_event, Client};

#[tokio::test]
async fn send_and_receive_with_receipts_and_a_notification() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let mut bob_events = bob.engine.subscribe();
    alice.engine.start();
    bob.engine.start();
    connected(&alice.engine).await;
    connected(&bob.engine).await;

    let conversation = alice.engine.start_direct(&bob.user.id).await.expect("start a direct conversation");
    let pending = alice.engine.send(&conversation.id, "Hello Bob, are you open to new roles?").await.expect("queue");
    assert_eq!(pending.state, MessageState::Pending, "send returns at once with a pending message");
    assert!(pending.seq.is_none() && pending.id.is_none(), "a pending message has no seq or id yet");
    let sent = alice.engine.wait_sent(&pending.client_msg_id, crate::support::DEADLINE).await.expect("acknowledged");
    assert_eq!(sent.seq, Some(1), "first message of the conversation");
    assert_eq!(sent.client_msg_id, pending.client_msg_id, "the idempotency key is stable across states");

    let received = next_event(&mut bob_events, "bob receives the message", |e| match e {
        EngineEvent::Message(m) if m.client_msg_id == pending.client_msg_id => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(received.body, "Hello Bob, are you open to new roles?");
    assert_eq!(received.state, MessageState::Delivered, "a received message is delivered to this device");
    let shown = next_event(&mut bob_events, "bob is notified", |e| match e {
        EngineEvent::Notify(n) => Some(n.clone()),
        _ => None,
    })
    .await;
    assert_eq!(shown.conversation_id.as_deref(), Some(conversation.id.as_str()), "the notification opens the conversation");
    assert!(shown.body.contains("open to new roles"), "a lone message shows its text: {shown:?}");

    // Bob's device reports delivery by itself; reading is explicit.
    eventually("alice sees delivered", || async {
        let page = alice.engine.history(&conversation.id, None, 10).await.ok()?;
        (page.messages.last()?.state == MessageState::Delivered).then_some(())
    })
    .await;
    let mut alice_events = alice.engine.subscribe();
    bob.engine.mark_read(&conversation.id).await.expect("mark read");
    next_event(&mut alice_events, "alice gets bob's read receipt", |e| match e {
        EngineEvent::Receipt { user_id, kind: ReceiptKind::Read, seq: 1, .. } if *user_id == bob.user.id => Some(()),
        _ => None,
    })
    .await;
    let moved = next_event(&mut alice_events, "alice's message is announced read", |e| match e {
        EngineEvent::Message(m) if m.client_msg_id == pending.client_msg_id => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(moved.state, MessageState::Read, "the receipt comes with the message's new state: the app works out nothing itself");
    let page = alice.engine.history(&conversation.id, None, 10).await.unwrap();
    assert_eq!(page.messages[0].state, MessageState::Read, "once bob read it, alice sees read");
    let bob_list = bob.engine.conversations().await.unwrap();
    assert_eq!(bob_list[0].unread_count, 0, "reading clears the unread count");

    // Bob answers; alice's list puts the conversation first with the reply as last message.
    let reply = bob.engine.send(&conversation.id, "Yes, tell me more").await.unwrap();
    bob.engine.wait_sent(&reply.client_msg_id, crate::support::DEADLINE).await.unwrap();
    let list = eventually("alice has the reply", || async {
        let list = alice.engine.conversations().await.ok()?;
        (list[0].last_message.as_ref()?.body == "Yes, tell me more").then_some(list)
    })
    .await;
    assert_eq!(list[0].unread_count, 1, "one unread message from bob");
    assert_eq!(list[0].display_title, "Bob", "a direct conversation is named after the other person");
}

#[tokio::test]
async fn typing_is_shown_then_cleared_by_the_message() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    alice.engine.start();
    bob.engine.start();
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    connected(&alice.engine).await;
    connected(&bob.engine).await;
    let mut bob_events = bob.engine.subscribe();
    alice.engine.typing(&conversation.id).await;
    next_event(&mut bob_events, "typing shown", |e| match e {
        EngineEvent::Typing { user_id, active: true, .. } if *user_id == alice.user.id => Some(()),
        _ => None,
    })
    .await;
    let m = alice.engine.send(&conversation.id, "done typing").await.unwrap();
    alice.engine.wait_sent(&m.client_msg_id, crate::support::DEADLINE).await.unwrap();
    next_event(&mut bob_events, "typing cleared by the message", |e| match e {
        EngineEvent::Typing { user_id, active: false, .. } if *user_id == alice.user.id => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn focus_mute_and_do_not_disturb_silence_notifications() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    alice.engine.start();
    bob.engine.start();
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    connected(&bob.engine).await;
    let mut bob_events = bob.engine.subscribe();
    bob.engine.set_focus(Some(&conversation.id), true);
    bob.engine.set_muted(&conversation.id, false).await.unwrap();
    // Each message must have reached bob's cache before the policy changes again.
    let send = |text: &'static str, n: usize| {
        let alice = alice.engine.clone();
        let bob = bob.engine.clone();
        let id = conversation.id.clone();
        async move {
            let m = alice.send(&id, text).await.unwrap();
            alice.wait_sent(&m.client_msg_id, crate::support::DEADLINE).await.unwrap();
            eventually("bob has the message", || async { (bob.cached_seqs(&id).await.ok()?.len() == n).then_some(()) }).await;
        }
    };
    send("seen while looking", 1).await;
    bob.engine.set_focus(Some(&conversation.id), false);
    bob.engine.set_muted(&conversation.id, true).await.unwrap();
    send("muted", 2).await;
    bob.engine.set_muted(&conversation.id, false).await.unwrap();
    bob.engine.set_do_not_disturb(true);
    send("dnd", 3).await;
    bob.engine.set_do_not_disturb(false);
    for i in 0..5 {
        alice.engine.send(&conversation.id, &format!("burst {i}")).await.unwrap();
    }
    let shown = next_event(&mut bob_events, "the burst notifies", |e| match e {
        EngineEvent::Notify(n) => Some(n.clone()),
        _ => None,
    })
    .await;
    assert_eq!(shown.body, "5 new messages from Alice", "only the burst notifies, coalesced: {shown:?}");
}
