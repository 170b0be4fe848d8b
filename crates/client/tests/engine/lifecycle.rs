//! Protocol 1.1 through the engine: edits, deletions, reactions and replies — live, queued
//! offline across a restart, caught up after being missed, and with the hub killed mid-stream.

use std::collections::HashMap;
use std::time::Duration;

use rapport_client::{ChangeKind, Code, EngineError, EngineEvent, MessageState, WireEvent};
use rapport_protocol::gateway::Event;
use rapport_testkit::{HubProcess, TestHub};

use crate::support::{assert_messages_equal_hub, connected, eventually, hub_history, hub_last_rev, hub_message, next_event, Client, DEADLINE};

#[tokio::test]
async fn edits_deletions_reactions_and_replies_reach_the_other_side_live() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    alice.engine.start();
    bob.engine.start();
    connected(&alice.engine).await;
    connected(&bob.engine).await;
    let mut bob_events = bob.engine.subscribe();
    let mut alice_events = alice.engine.subscribe();

    let first = alice.engine.send(&conversation.id, "the salary is 90k").await.unwrap();
    let first = alice.engine.wait_sent(&first.client_msg_id, DEADLINE).await.unwrap();
    let id = first.id.clone().unwrap();
    next_event(&mut bob_events, "bob gets the message", |e| matches!(e, EngineEvent::Message(m) if m.id.as_deref() == Some(&id)).then_some(())).await;

    let shown = alice.engine.edit(&id, "the salary is 95k").await.unwrap();
    assert_eq!((shown.body.as_str(), shown.change.as_ref().map(|c| c.kind)), ("the salary is 95k", Some(ChangeKind::Edit)), "shown at once, as queued");
    let changed = next_event(&mut bob_events, "bob sees the edit", |e| match e {
        EngineEvent::MessageChanged(m) if m.id.as_deref() == Some(&id) => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(changed.body, "the salary is 95k");
    assert!(changed.edited_at.is_some(), "marked edited");
    let settled = alice.engine.wait_settled(&id, DEADLINE).await.unwrap();
    assert!(settled.change.is_none() && settled.edited_at.is_some(), "nothing left queued: {settled:?}");

    bob.engine.react(&id, "👍", true).await.unwrap();
    let reactions = next_event(&mut alice_events, "alice sees bob's reaction", |e| match e {
        EngineEvent::Reactions { message_id, reactions, .. } if *message_id == id && !reactions.is_empty() && !reactions[0].pending => Some(reactions.clone()),
        _ => None,
    })
    .await;
    assert_eq!((reactions[0].emoji.as_str(), reactions[0].user_ids.clone(), reactions[0].mine), ("👍", vec![bob.user.id.clone()], false));

    let reply = bob.engine.send_draft(&conversation.id, &rapport_client::Draft { body: "deal".into(), reply_to: Some(id.clone()), files: vec![], card: None }).await.unwrap();
    let reply = bob.engine.wait_sent(&reply.client_msg_id, DEADLINE).await.unwrap();
    let quoted = reply.reply.clone().expect("the reply quotes what it answers");
    assert_eq!((quoted.message_id.as_str(), quoted.seq, quoted.body.as_str()), (id.as_str(), 1, "the salary is 95k"));

    // Bob's search follows the edit; then alice deletes and everything of it goes.
    eventually("bob's index follows the edit", || async { (bob.engine.search("95k", 10).await.ok()?.len() == 1).then_some(()) }).await;
    assert!(bob.engine.search("90k", 10).await.unwrap().is_empty(), "the old body is no longer found");
    alice.engine.delete(&id).await.unwrap().expect("a sent message is deleted, not discarded");
    let tombstone = next_event(&mut bob_events, "bob sees the deletion", |e| match e {
        EngineEvent::MessageChanged(m) if m.id.as_deref() == Some(&id) && m.deleted_at.is_some() => Some(m.clone()),
        _ => None,
    })
    .await;
    assert!(tombstone.body.is_empty() && tombstone.reactions.is_empty(), "a tombstone: {tombstone:?}");
    assert_eq!(tombstone.seq, Some(1), "its seq stays");
    let requote = next_event(&mut bob_events, "the reply's quote follows", |e| match e {
        EngineEvent::MessageChanged(m) if m.id == reply.id => m.reply.clone(),
        _ => None,
    })
    .await;
    assert!(requote.deleted, "the reply now quotes a deleted message");
    eventually("bob's index forgets it", || async { bob.engine.search("salary", 10).await.ok()?.is_empty().then_some(()) }).await;

    // What the hub refuses for good is refused at once, with its code.
    let err = bob.engine.edit(&id, "mine now").await.unwrap_err();
    assert!(matches!(err, EngineError::Invalid { reason: Code::Forbidden, .. }), "only the sender edits: {err:?}");
    let err = alice.engine.react(&id, "👍", true).await.unwrap_err();
    assert!(matches!(err, EngineError::Invalid { reason: Code::Gone, .. }), "a tombstone takes no reaction: {err:?}");
    let err = bob.engine.react(reply.id.as_deref().unwrap(), "ok", true).await.unwrap_err();
    assert!(matches!(err, EngineError::Invalid { reason: Code::InvalidPayload, .. }), "text is not a reaction: {err:?}");

    let api = alice.api(&hub.url()).await;
    let hub_view = hub_history(&api, &conversation.id).await;
    assert_messages_equal_hub("alice", &alice.engine, &hub_view, &conversation.id).await;
    eventually("bob has what the hub has", || async {
        let page = bob.engine.history(&conversation.id, None, 10).await.ok()?;
        (page.messages.iter().map(|m| m.rev).collect::<Vec<_>>() == hub_view.iter().map(|m| m.rev).collect::<Vec<_>>()).then_some(())
    })
    .await;
    assert_messages_equal_hub("bob", &bob.engine, &hub_view, &conversation.id).await;
}

#[tokio::test]
async fn changes_made_offline_survive_a_restart_and_apply_exactly_once() {
    let mut hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    alice.engine.start();
    bob.engine.start();
    let mut ids = Vec::new();
    for (who, body) in [(&alice, "typo here"), (&alice, "sent to the wrong person"), (&bob, "are you free?")] {
        let m = who.engine.send(&conversation.id, body).await.unwrap();
        ids.push(who.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap().id.unwrap());
    }
    alice.engine.sync(DEADLINE).await.unwrap();
    alice.engine.shutdown().await;
    hub.stop().await.unwrap();

    alice.engine.edit(&ids[0], "typo hear").await.unwrap();
    assert!(alice.engine.delete(&ids[1]).await.unwrap().is_some());
    alice.engine.react(&ids[2], "🎉", true).await.unwrap();
    alice.engine.react(&ids[2], "👍", true).await.unwrap();
    alice.engine.react(&ids[2], "👍", false).await.unwrap();
    // The app is closed and opened again, still offline.
    let reopened = alice.reopen(&hub.url()).await;
    let page = reopened.history(&conversation.id, None, 10).await.unwrap();
    assert_eq!(page.messages[0].body, "typo hear", "the queued edit is on disk");
    assert!(page.messages[1].deleted_at.is_some(), "so is the deletion");
    let mine: Vec<(&str, bool)> = page.messages[2].reactions.iter().map(|r| (r.emoji.as_str(), r.pending)).collect();
    assert_eq!(mine, [("🎉", true)], "and the reactions, the one taken back already gone from view");
    reopened.edit(&ids[0], "typo fixed").await.unwrap();
    assert_eq!(page.messages[0].change.as_ref().map(|c| c.state), Some(MessageState::Pending));

    hub.restart().await;
    reopened.sync(DEADLINE).await.expect("flushed once the hub is back");
    let api = alice.api(&hub.url()).await;
    let hub_view = hub_history(&api, &conversation.id).await;
    assert_eq!(hub_view[0].body, "typo fixed", "the last edit wins");
    assert!(hub_view[1].is_deleted() && hub_view[1].body.is_empty(), "deleted at the hub");
    assert_eq!(hub_view[2].reactions.len(), 1, "one reaction; the 👍 taken back before it was sent is not there: {:?}", hub_view[2].reactions);
    // 3 messages, one edit (two coalesced), one deletion, one reaction; taking back the 👍
    // that never reached the hub changes nothing there.
    let last_rev = hub_last_rev(&api, &conversation.id).await;
    assert_eq!(last_rev, 6, "every change applied exactly once");
    assert_messages_equal_hub("alice", &reopened, &hub_view, &conversation.id).await;
    assert!(reopened.outbox().await.unwrap().is_empty());
    reopened.sync(DEADLINE).await.unwrap();
    assert_eq!(hub_last_rev(&api, &conversation.id).await, last_rev, "a second sync sends nothing again");
}

#[tokio::test]
async fn an_edit_of_a_queued_message_changes_what_is_sent_and_a_delete_of_it_sends_nothing() {
    let mut hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    hub.stop().await.unwrap();
    let keep = alice.engine.send(&conversation.id, "helo").await.unwrap();
    let oops = alice.engine.send(&conversation.id, "wrong window").await.unwrap();
    let edited = alice.engine.edit(&keep.client_msg_id, "hello").await.unwrap();
    assert_eq!((edited.body.as_str(), edited.state), ("hello", MessageState::Pending));
    assert!(alice.engine.delete(&oops.client_msg_id).await.unwrap().is_none(), "never sent: simply discarded");
    hub.restart().await;
    alice.engine.sync(DEADLINE).await.unwrap();
    let api = alice.api(&hub.url()).await;
    let hub_view = hub_history(&api, &conversation.id).await;
    assert_eq!(hub_view.len(), 1, "the deleted draft never reached the hub");
    assert_eq!((hub_view[0].body.as_str(), hub_view[0].edited_at.as_deref()), ("hello", None), "sent with the new body, not edited after");
    assert_eq!(hub_last_rev(&api, &conversation.id).await, 1);
}

#[tokio::test]
async fn a_send_is_found_by_its_client_msg_id_also_after_the_hub_acknowledged_it() {
    // A caller holds the client_msg_id that `send` returned; the ack may land at any moment
    // after, and the message must not go missing in between (wait_sent once answered
    // not_found when the ack moved it between two lookups).
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    alice.engine.start();
    connected(&alice.engine).await;
    let queued = alice.engine.send(&conversation.id, "helo").await.unwrap();
    let sent = alice.engine.wait_sent(&queued.client_msg_id, DEADLINE).await.unwrap();
    let id = sent.id.clone().expect("acknowledged: it has the hub's id");
    assert_eq!(alice.engine.wait_sent(&queued.client_msg_id, DEADLINE).await.unwrap().id.as_deref(), Some(id.as_str()), "waiting again answers at once");
    let found = alice.engine.message(&queued.client_msg_id).await.unwrap();
    assert_eq!((found.id.as_deref(), found.state), (Some(id.as_str()), MessageState::Sent));
    let edited = alice.engine.edit(&queued.client_msg_id, "hello").await.unwrap();
    assert_eq!((edited.id.as_deref(), edited.body.as_str()), (Some(id.as_str()), "hello"), "an edit by client_msg_id edits the sent message");
    alice.engine.wait_settled(&queued.client_msg_id, DEADLINE).await.unwrap();
    let api = alice.api(&hub.url()).await;
    let hub_view = hub_history(&api, &conversation.id).await;
    assert_eq!(hub_view.len(), 1, "edited, not sent twice");
    assert_eq!(hub_view[0].body, "hello");
    assert!(hub_view[0].edited_at.is_some());
}

#[tokio::test]
async fn a_catch_up_brings_the_edits_deletions_and_reactions_that_were_missed() {
    let hub = TestHub::start().await;
    let alice = Client::register(&hub.url(), "Alice").await;
    let bob = Client::register(&hub.url(), "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    alice.engine.start();
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = alice.engine.send(&conversation.id, &format!("message {i}")).await.unwrap();
        ids.push(alice.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap().id.unwrap());
    }
    bob.engine.sync(DEADLINE).await.unwrap();
    // Bob is offline (not running) while alice changes things.
    alice.engine.edit(&ids[0], "message 0, edited").await.unwrap();
    alice.engine.delete(&ids[1]).await.unwrap();
    alice.engine.react(&ids[2], "❤️", true).await.unwrap();
    alice.engine.react(&ids[3], ":party:", true).await.unwrap();
    alice.engine.react(&ids[3], ":party:", false).await.unwrap();
    let late = alice.engine.send(&conversation.id, "one more").await.unwrap();
    alice.engine.wait_sent(&late.client_msg_id, DEADLINE).await.unwrap();
    alice.engine.wait_outbox_empty(DEADLINE).await.unwrap();

    let mut events = bob.engine.subscribe();
    bob.engine.sync(DEADLINE).await.expect("catch up");
    let synced = next_event(&mut events, "synced", |e| match e {
        EngineEvent::Synced { new_messages, changed_messages } => Some((*new_messages, *changed_messages)),
        _ => None,
    })
    .await;
    // #4's reaction was taken back: its rev moved, but it looks as it did, so it is no change.
    assert_eq!(synced, (1, 3), "one new message; the edited, the deleted and the reacted-to ones changed");
    let hub_view = hub_history(&alice.api(&hub.url()).await, &conversation.id).await;
    assert_messages_equal_hub("bob", &bob.engine, &hub_view, &conversation.id).await;
    assert_eq!(bob.engine.search("edited", 10).await.unwrap().len(), 1, "the index has the edit that was missed");
    let hits = bob.engine.search("message", 10).await.unwrap();
    assert!(hits.iter().all(|h| h.message.id.as_deref() != Some(ids[1].as_str())), "and not the deleted message: {hits:?}");
}

#[tokio::test]
async fn a_hub_killed_mid_edits_applies_each_edit_at_most_once_and_in_order() {
    let mut hub = HubProcess::start(&["--heartbeat-ms", "1000"]).await;
    let url = hub.url();
    let alice = Client::register(&url, "Alice").await;
    let bob = Client::register(&url, "Bob").await;
    let conversation = alice.engine.start_direct(&bob.user.id).await.unwrap();
    alice.engine.start();
    bob.engine.start();
    let mut ids = Vec::new();
    for i in 0..3 {
        let m = alice.engine.send(&conversation.id, &format!("draft {i} v0")).await.unwrap();
        ids.push(alice.engine.wait_sent(&m.client_msg_id, DEADLINE).await.unwrap().id.unwrap());
    }
    connected(&bob.engine).await;
    let mut wire = bob.engine.subscribe_wire();
    const EDITS: usize = 25;
    let editor = {
        let (engine, ids) = (alice.engine.clone(), ids.clone());
        tokio::spawn(async move {
            for v in 1..=EDITS {
                for (i, id) in ids.iter().enumerate() {
                    engine.edit(id, &format!("draft {i} v{v}")).await.expect("queue an edit");
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        })
    };
    let probe = alice.api(&url).await;
    eventually("some edits applied before the kill", || async {
        let body = hub_message(&probe, &conversation.id, &ids[0]).await.body;
        (body != "draft 0 v0").then_some(())
    })
    .await;
    hub.kill().await;
    editor.await.unwrap();
    hub.restart().await;
    alice.engine.reconnect_now();
    bob.engine.reconnect_now();
    alice.engine.wait_outbox_empty(DEADLINE).await.expect("every queued edit applied after the restart");
    bob.engine.sync(DEADLINE).await.unwrap();

    let hub_view = hub_history(&alice.api(&url).await, &conversation.id).await;
    for (i, m) in hub_view.iter().enumerate() {
        assert_eq!(m.body, format!("draft {i} v{EDITS}"), "the last edit of each message is what the hub has");
    }
    // What bob saw of each message: versions only ever moving forward, none applied twice.
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    while let Ok(WireEvent { event, .. }) = wire.try_recv() {
        if let Event::MessageUpdated { message } = event {
            let version: usize = message.body.rsplit('v').next().unwrap().parse().unwrap();
            seen.entry(message.id).or_default().push(version);
        }
    }
    for (id, versions) in &seen {
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "message {id}: an older edit never follows a newer one, none twice: {versions:?}");
    }
    let applied = hub_last_rev(&alice.api(&url).await, &conversation.id).await - 3;
    assert!(applied as usize <= 3 * EDITS, "at most one rev per edit issued ({applied})");
    assert_messages_equal_hub("alice", &alice.engine, &hub_view, &conversation.id).await;
    assert_messages_equal_hub("bob", &bob.engine, &hub_view, &conversation.id).await;
}
