//! Group commit of `message.send`: one task stores every queued message in one transaction,
//! and makes every other change to messages (edits, deletions, reactions) too.
//!
//! A send or a change is queued (the queue is bounded, so a flood waits instead of growing
//! memory) to the committer task, which takes everything waiting, up to [`MAX_BATCH`]. It
//! stores each run of consecutive sends with
//! [`Store::insert_messages`](crate::store::Store::insert_messages), makes each change in a
//! transaction of its own ([`super::changes`]), in queue order, and after each commit
//! dispatches the events and answers. Hence:
//! - an ack always follows the commit of its message or change;
//! - under load one commit serves many messages, where one commit per message was the limit;
//! - only this task dispatches `message.created`, `message.updated`, `message.deleted` and
//!   `reaction`, in the order of the seqs and revs the transactions assigned, so the events of
//!   a conversation leave in seq and rev order without any lock;
//! - at low load a message is committed as soon as it arrives: batches form only while the
//!   previous commit is running, so nothing waits for a batch to fill.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use rapport_protocol::gateway::{Event, MessageAck};
use rapport_protocol::{Card, Message, MessageKind};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::changes::{self, QueuedChange};
use super::{announce, Skip};
use crate::error::{ApiError, ApiResult};
use crate::store::{NewMessage, StoreResult};
use crate::Hub;

/// Messages committed together at most.
pub const MAX_BATCH: usize = 1024;
/// Sends waiting for the committer at most; a sender beyond that waits for room.
const QUEUE: usize = 4 * MAX_BATCH;

/// A validated `message.send`.
pub struct QueuedSend {
    /// Where.
    pub conversation_id: String,
    /// Who (a member, as far as the gateway's cache knows; the store checks again).
    pub sender_id: String,
    /// Idempotency key.
    pub client_msg_id: String,
    /// Text.
    pub body: String,
    /// (§3) Its card, checked already (its kind is the message's).
    pub card: Option<Card>,
    /// The message it answers.
    pub reply_to: Option<String>,
    /// The sender's uploads it carries.
    pub attachment_ids: Vec<String>,
    /// Who gets the event.
    pub members: Arc<[String]>,
    /// When the frame was read, for the dispatch latency metric.
    pub received_at: Instant,
}

/// What the committer is asked to do.
pub enum Work {
    /// Store a message.
    Send(QueuedSend),
    /// Edit, delete or react.
    Change(QueuedChange),
}

/// Work waiting for the committer, and where its outcome goes.
struct PendingSend {
    work: Work,
    reply: oneshot::Sender<StoreResult<Message>>,
}

/// The way into the committer.
pub struct SendQueue {
    queue: mpsc::Sender<PendingSend>,
}

/// The committer's end of the queue, handed to [`run`].
pub struct SendQueueReceiver(mpsc::Receiver<PendingSend>);

/// A queue and the receiver the committer task will drain.
pub fn queue() -> (SendQueue, SendQueueReceiver) {
    let (queue, receiver) = mpsc::channel(QUEUE);
    (SendQueue { queue }, SendQueueReceiver(receiver))
}

impl SendQueue {
    /// Queues a send or a change (waiting for room when the queue is full); the returned future
    /// completes with the ack's data once it is committed (or found to be a repeat).
    pub async fn enqueue(&self, work: Work) -> ApiResult<PendingAck> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(PendingSend { work, reply }).await.map_err(|_| shutting_down())?;
        Ok(PendingAck(answer))
    }
}

fn shutting_down() -> ApiError {
    ApiError::new(rapport_protocol::ErrorCode::Unavailable, "the hub is shutting down")
}

/// The ack of a queued send or change: `{message}` once it is stored.
pub struct PendingAck(oneshot::Receiver<StoreResult<Message>>);

impl PendingAck {
    /// The message itself, for a REST route.
    pub async fn message(self) -> ApiResult<Message> {
        Ok(self.0.await.map_err(|_| shutting_down())??)
    }
}

impl Future for PendingAck {
    type Output = ApiResult<Value>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ApiResult<Value>> {
        Pin::new(&mut self.0).poll(cx).map(|answer| {
            let message = answer.map_err(|_| shutting_down())??;
            Ok(json!(MessageAck { message }))
        })
    }
}

/// The committer: runs until `stop` is cancelled while it waits for work (a batch in progress
/// is always finished, so every queued sender gets its answer).
pub async fn run(hub: Arc<Hub>, SendQueueReceiver(mut receiver): SendQueueReceiver, stop: CancellationToken) {
    let mut batch: Vec<PendingSend> = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = tokio::select! {
            biased;
            first = receiver.recv() => first,
            () = stop.cancelled() => None,
        };
        let Some(first) = first else { return };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        commit(&hub, &mut batch).await;
    }
}

/// Does the batch's work in queue order — each run of sends in one transaction, each change
/// in its own — dispatching and answering after each commit; leaves `batch` empty.
async fn commit(hub: &Hub, batch: &mut Vec<PendingSend>) {
    let mut sends: Vec<(QueuedSend, oneshot::Sender<StoreResult<Message>>)> = Vec::new();
    for pending in batch.drain(..) {
        match pending.work {
            Work::Send(send) => sends.push((send, pending.reply)),
            Work::Change(change) => {
                // Sends queued before it take their seqs and revs first.
                commit_sends(hub, &mut sends).await;
                let _ = pending.reply.send(changes::apply(hub, &change).await);
            }
        }
    }
    commit_sends(hub, &mut sends).await;
}

/// Stores a run of sends in one transaction, then dispatches and answers in order; leaves
/// `sends` empty.
async fn commit_sends(hub: &Hub, sends: &mut Vec<(QueuedSend, oneshot::Sender<StoreResult<Message>>)>) {
    if sends.is_empty() {
        return;
    }
    let messages: Vec<NewMessage<'_>> = sends
        .iter()
        .map(|(send, _)| NewMessage {
            kind: send.card.as_ref().map_or(MessageKind::Text, Card::kind),
            card: send.card.as_ref(),
            reply_to: send.reply_to.as_deref(),
            attachment_ids: &send.attachment_ids,
            ..NewMessage::text(&send.conversation_id, &send.sender_id, &send.client_msg_id, &send.body)
        })
        .collect();
    let results = hub.store.insert_messages(&messages).await;
    drop(messages);
    if hub.config.twilio.is_some() {
        // Some may be replies into bridged conversations, queued by the database to go out.
        hub.outbound_due.notify_one();
    }
    hub.metrics.commit_batch.observe(sends.len() as f64);
    for ((send, reply), result) in sends.drain(..).zip(results) {
        // `inserted` is false for a resend after a lost ack: the database answered with the
        // first message, and nothing is announced again.
        if let Ok((message, true)) = &result {
            hub.metrics.messages_stored.inc();
            let event = Event::MessageCreated { message: message.clone() };
            announce::in_conversation(hub, &send.conversation_id, &send.members, Skip::Nobody, &event).await;
            hub.metrics.dispatch_latency.observe(send.received_at.elapsed().as_secs_f64());
        }
        let answer = result.map(|(message, _)| message);
        // The sender may have gone meanwhile; the message is stored and announced anyway.
        let _ = reply.send(answer);
    }
}
