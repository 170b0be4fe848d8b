//! `storm`: N sessions, SIGKILL the server and start it again; time until every session is
//! ready again and has caught up, and messages lost (must be 0).
//!
//! Layout: users in groups of `group_size`; the N listening sessions are spread over the users;
//! one extra sending session per group sends at `rate_per_group` until the kill. Every
//! acknowledged message is durable by contract, so after the storm every listening session
//! must hold every acknowledged message of its group, at its seq, with its id.
//!
//! Each session reconnects like the client engine does (`rapport-client`'s backoff): full
//! jitter, first ceiling 500 ms, doubling per failed attempt. On Rapport it first tries
//! `resume` (which a restarted hub answers with `invalid_session`), then `identify`; on both
//! targets it then pages every conversation from what it holds up to the `last_seq` in `ready`.
//! Senders resend their unacknowledged messages with the same `client_msg_id` after reconnecting.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, SinkExt as _, StreamExt as _, TryStreamExt as _};
use rand::Rng as _;
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::api::{Account, Api};
use crate::procfs::CpuMark;
use crate::report::ScenarioResult;
use crate::server::{Programs, Server, Target};
use crate::wire::{self, Incoming, Opened, Ws};

/// How big.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Listening sessions.
    pub sessions: usize,
    /// Users (a multiple of `group_size`).
    pub users: usize,
    /// Members per group.
    pub group_size: usize,
    /// Messages per second each group's sender sends before the kill.
    pub rate_per_group: f64,
    /// How long the senders send before the kill.
    pub before_kill: Duration,
    /// Give up waiting for recovery after this.
    pub deadline: Duration,
}

/// First backoff ceiling, as in `rapport-client`.
const BACKOFF_START_MS: u64 = 500;
/// REST catch-up requests in flight at once (the generator has ~20k descriptors in all).
const CATCH_UP_CONCURRENCY: usize = 128;

/// What one session holds: per conversation, message id by seq (index seq - 1).
type Held = HashMap<String, Vec<Option<String>>>;

fn hold(held: &mut Held, conversation_id: &str, seq: i64, id: &str) {
    let list = held.entry(conversation_id.to_owned()).or_default();
    let i = (seq - 1).max(0) as usize;
    if list.len() <= i {
        list.resize(i + 1, None);
    }
    list[i] = Some(id.to_owned());
}

/// Gap-free prefix length.
fn synced(held: &Held, conversation_id: &str) -> i64 {
    held.get(conversation_id).map_or(0, |l| l.iter().take_while(|m| m.is_some()).count() as i64)
}

struct Shared {
    target: Target,
    addr: SocketAddr,
    api: Api,
    rest: Semaphore,
    /// Listeners that recovered or gave up.
    done: AtomicUsize,
}

/// Where one session's recovery spent its time.
#[derive(Default)]
struct Phases {
    /// Connection attempts, the successful one included.
    attempts: u32,
    /// Time asleep in backoff.
    backoff: Duration,
    /// When the gateway session was open again (`ready`/`resumed`, or the peer's connect).
    reopened: Option<Instant>,
}

/// Reconnects (resume, then identify) with full-jitter backoff; then catches up over REST.
async fn recover(shared: &Shared, account: &Account, session_id: &str, last_event_seq: u64, held: &mut Held, phases: &mut Phases) -> anyhow::Result<Opened> {
    let mut ceiling = BACKOFF_START_MS;
    let opened = loop {
        let wait = Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling));
        tokio::time::sleep(wait).await;
        phases.backoff += wait;
        phases.attempts += 1;
        let resume = (shared.target.is_rapport() && !session_id.is_empty()).then_some((session_id, last_event_seq));
        let mut replayed = Vec::new();
        match wire::open(shared.target, shared.addr, &account.token, resume, &mut |t| replayed.push(t.to_owned())).await {
            Ok(opened) => {
                for text in replayed {
                    if let Incoming::Message(m) = wire::classify(shared.target, &text) {
                        hold(held, m.conversation_id, m.seq, m.id);
                    }
                }
                break opened;
            }
            Err(_) => ceiling = (ceiling * 2).min(30_000),
        }
    };
    phases.reopened = Some(Instant::now());
    for (conversation_id, last_seq) in &opened.conversations {
        let have = synced(held, conversation_id);
        if *last_seq > have {
            let _permit = shared.rest.acquire().await?;
            for m in shared.api.after(&account.token, conversation_id, have).await? {
                hold(held, conversation_id, m.seq, &m.id);
            }
        }
    }
    Ok(opened)
}

/// What a listening session reports.
struct Listener {
    /// The group this session's user is in.
    conversation_id: String,
    held: Held,
    recovered_after: Option<Duration>,
    phases: Phases,
    failed: Option<String>,
}

/// Reads until the socket drops, recovers, then reads until told to stop.
async fn listen(shared: Arc<Shared>, account: Account, conversation_id: String, opened: Opened, killed_at: watch::Receiver<Option<Instant>>, mut stop: watch::Receiver<bool>) -> Listener {
    let mut held = Held::new();
    let session_id = opened.session_id.clone();
    let mut last_event_seq = 0;
    let target = shared.target;
    // Until the kill: collect deliveries.
    let ws = opened.ws;
    read_until_closed(target, ws, &mut held, &mut last_event_seq, &mut stop).await;
    let mut phases = Phases::default();
    if *stop.borrow() {
        return Listener { conversation_id, held, recovered_after: None, phases, failed: Some("stopped before the kill".into()) };
    }
    let outcome = tokio::select! {
        outcome = recover(&shared, &account, &session_id, last_event_seq, &mut held, &mut phases) => outcome,
        _ = stop.changed() => Err(anyhow::anyhow!("not recovered by the deadline")),
    };
    let recovered = Instant::now();
    shared.done.fetch_add(1, Ordering::Relaxed);
    let killed = (*killed_at.borrow()).unwrap_or(recovered);
    match outcome {
        Ok(opened) => {
            let mut ignore = 0;
            read_until_closed(target, opened.ws, &mut held, &mut ignore, &mut stop).await;
            Listener { conversation_id, held, recovered_after: Some(recovered.saturating_duration_since(killed)), phases, failed: None }
        }
        Err(err) => Listener { conversation_id, held, recovered_after: None, phases, failed: Some(err.to_string()) },
    }
}

async fn read_until_closed(target: Target, ws: Ws, held: &mut Held, last_event_seq: &mut u64, stop: &mut watch::Receiver<bool>) {
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let _ = sink.close().await;
                return;
            }
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => return,
                    Some(Ok(_)) => continue,
                };
                match wire::classify(target, &text) {
                    Incoming::Message(m) => {
                        hold(held, m.conversation_id, m.seq, m.id);
                        *last_event_seq = m.event_seq.max(*last_event_seq);
                    }
                    Incoming::Ping => {
                        let _ = sink.send(WsMessage::text("3")).await;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A message the server acknowledged: (conversation, seq, id).
type Acked = (String, i64, String);

/// Sends until the socket drops; after recovery resends what was not acknowledged.
async fn send(shared: Arc<Shared>, account: Account, opened: Opened, conversation_id: String, sender: u32, interval: Duration) -> anyhow::Result<Vec<Acked>> {
    let target = shared.target;
    let mut acked = Vec::new();
    let mut pending: HashMap<u64, String> = HashMap::new(); // ref -> body
    let mut counter = 0u64;
    let (mut sink, mut stream) = opened.ws.split();
    let mut tick = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                counter += 1;
                let body = format!("b {sender} {counter} 0");
                let frame = wire::send_frame(target, counter, &conversation_id, &format!("{sender}-{counter}"), &body);
                pending.insert(counter, body);
                if sink.send(WsMessage::text(frame)).await.is_err() {
                    break;
                }
            }
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                match wire::classify(target, &text) {
                    Incoming::Ack { reference, message: Some(m) } => {
                        pending.remove(&reference);
                        acked.push((m.conversation_id.to_owned(), m.seq, m.id.to_owned()));
                    }
                    Incoming::Ping => {
                        let _ = sink.send(WsMessage::text("3")).await;
                    }
                    _ => {}
                }
            }
        }
    }
    // The server is gone: reconnect and resend the unacknowledged ones, same client_msg_id.
    let mut held = Held::new();
    let opened = recover(&shared, &account, "", 0, &mut held, &mut Phases::default()).await?;
    let (mut sink, mut stream) = opened.ws.split();
    for (reference, body) in &pending {
        let frame = wire::send_frame(target, *reference, &conversation_id, &format!("{sender}-{reference}"), body);
        sink.send(WsMessage::text(frame)).await?;
    }
    while !pending.is_empty() {
        let frame = tokio::time::timeout(Duration::from_secs(10), stream.next()).await?;
        let Some(Ok(WsMessage::Text(text))) = frame else { anyhow::bail!("sender lost its connection again") };
        match wire::classify(target, &text) {
            Incoming::Ack { reference, message: Some(m) } => {
                pending.remove(&reference);
                acked.push((m.conversation_id.to_owned(), m.seq, m.id.to_owned()));
            }
            Incoming::Ping => sink.send(WsMessage::text("3")).await?,
            _ => {}
        }
    }
    let _ = sink.close().await;
    Ok(acked)
}

/// Runs the scenario against `target`.
pub async fn run(target: Target, programs: &Programs, scale: &Scale) -> anyhow::Result<ScenarioResult> {
    let groups = scale.users / scale.group_size;
    let text = format!(
        "{} sessions of {} users in {} groups of {}, {} msg/s per group until the kill",
        scale.sessions, scale.users, groups, scale.group_size, scale.rate_per_group
    );
    let mut outcome = ScenarioResult::new("storm", target.name(), text);
    if target == Target::SocketIoMemory {
        return Ok(ScenarioResult::skipped("storm", target.name(), "keeps nothing across a restart".into()));
    }
    let mut server = Server::start(target, programs).await?;
    let api = Api::new(target, server.base_url());
    let accounts = api.register_many("storm", groups * scale.group_size).await?;
    let conversations: Vec<String> = stream::iter(0..groups)
        .map(|g| {
            let members = &accounts[g * scale.group_size..(g + 1) * scale.group_size];
            let others: Vec<&Account> = members[1..].iter().collect();
            let api = api.clone();
            async move { api.group(&members[0], &others, &format!("storm {g}")).await }
        })
        .buffered(8)
        .try_collect()
        .await?;
    let shared = Arc::new(Shared { target, addr: server.addr, api: api.clone(), rest: Semaphore::new(CATCH_UP_CONCURRENCY), done: AtomicUsize::new(0) });

    let listeners: Vec<Account> = (0..scale.sessions).map(|i| accounts[i % accounts.len()].clone()).collect();
    let tokens: Vec<String> = listeners.iter().map(|a| a.token.clone()).collect();
    let opened = crate::fleet::open_all(target, server.addr, &tokens).await?;
    let (killed_tx, killed_rx) = watch::channel(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let listening: Vec<_> = listeners
        .into_iter()
        .zip(opened)
        .enumerate()
        .map(|(i, (a, o))| {
            let conversation_id = conversations[(i % accounts.len()) / scale.group_size].clone();
            tokio::spawn(listen(shared.clone(), a, conversation_id, o, killed_rx.clone(), stop_rx.clone()))
        })
        .collect();
    let interval = Duration::from_secs_f64(1.0 / scale.rate_per_group);
    let mut sending = Vec::new();
    for (g, conversation_id) in conversations.iter().enumerate() {
        let account = accounts[g * scale.group_size].clone();
        let opened = wire::open(target, server.addr, &account.token, None, &mut |_| {}).await?;
        sending.push(tokio::spawn(send(shared.clone(), account, opened, conversation_id.clone(), g as u32, interval)));
    }
    tokio::time::sleep(scale.before_kill).await;

    let killed_at = Instant::now();
    let generator_cpu = CpuMark::now(std::process::id());
    let _ = killed_tx.send(Some(killed_at));
    server.kill().await?;
    let server_exited = killed_at.elapsed();
    server.respawn()?;
    let hub_cpu = CpuMark::now(server.pid());
    // The listening socket accepts (into its backlog) before the hub answers HTTP; polled
    // apart from `/healthz`, which queues behind the reconnecting sessions.
    let addr = server.addr;
    let first_accept = tokio::spawn(async move {
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        killed_at.elapsed()
    });
    server.wait_ready(Duration::from_secs(30)).await?;
    let server_up = killed_at.elapsed();
    let server_listening = first_accept.await?;

    let mut acked: Vec<Acked> = Vec::new();
    let mut sender_failures = 0;
    for task in sending {
        match tokio::time::timeout(scale.deadline, task).await {
            Ok(Ok(Ok(a))) => acked.extend(a),
            _ => sender_failures += 1,
        }
    }
    // Wait until every listener has recovered (or failed, or the deadline passed); then give
    // the resent messages a moment to arrive and stop everyone.
    let deadline = killed_at + scale.deadline;
    while shared.done.load(Ordering::Relaxed) < scale.sessions && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Who was busy while the sessions recovered: the restarted server or the generator
    // (both share the machine's cores).
    let (hub_cpu_s, _) = hub_cpu.since();
    let (generator_cpu_s, _) = generator_cpu.since();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop_tx.send(true);
    let mut results = Vec::with_capacity(listening.len());
    for task in listening {
        results.push(task.await?);
    }
    server.stop().await;

    let recovered: Vec<Duration> = results.iter().filter_map(|l| l.recovered_after).collect();
    let failed = results.iter().filter(|l| l.failed.is_some()).count();
    if let Some(why) = results.iter().find_map(|l| l.failed.clone()) {
        outcome.notes.push(format!("{failed} sessions failed, e.g.: {why}"));
    }
    // Lost: (session, acknowledged message) pairs where the session does not hold that id at that seq.
    let by_conversation: HashMap<&str, Vec<(i64, &str)>> = acked.iter().fold(HashMap::new(), |mut m, (c, s, id)| {
        m.entry(c.as_str()).or_insert_with(Vec::new).push((*s, id.as_str()));
        m
    });
    let mut lost_pairs = 0u64;
    let mut lost_messages = std::collections::HashSet::new();
    for listener in &results {
        let list = listener.held.get(&listener.conversation_id);
        for (seq, id) in by_conversation.get(listener.conversation_id.as_str()).into_iter().flatten() {
            let held = list.and_then(|l| l.get((*seq - 1) as usize)).and_then(|m| m.as_deref());
            if held != Some(*id) {
                lost_pairs += 1;
                lost_messages.insert(*id);
            }
        }
    }
    let mut sorted = recovered.clone();
    sorted.sort();
    let pct = |q: f64| sorted.get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1))).map_or(f64::NAN, |d| d.as_secs_f64());
    outcome.set("sessions", scale.sessions as f64);
    outcome.set("recovered_sessions", recovered.len() as f64);
    outcome.set("failed_sessions", failed as f64);
    outcome.set("recovered_s", if recovered.len() == scale.sessions { pct(1.0) } else { f64::INFINITY });
    outcome.set("recovered_p50_s", pct(0.5));
    outcome.set("recovered_p99_s", pct(0.99));
    outcome.set("server_restart_s", server_up.as_secs_f64());
    outcome.set("server_exited_s", server_exited.as_secs_f64());
    outcome.set("server_listening_s", server_listening.as_secs_f64());
    outcome.set("recovery_server_cpu_s", hub_cpu_s);
    outcome.set("recovery_generator_cpu_s", generator_cpu_s);
    // Per recovered session: when its gateway session was open again, the part spent asleep
    // in backoff, and its attempts.
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let phases: Vec<&Phases> = results.iter().filter(|l| l.recovered_after.is_some()).map(|l| &l.phases).collect();
    outcome.set("reopened_p50_s", median(phases.iter().filter_map(|p| p.reopened).map(|at| at.saturating_duration_since(killed_at).as_secs_f64()).collect()));
    outcome.set("backoff_p50_s", median(phases.iter().map(|p| p.backoff.as_secs_f64()).collect()));
    outcome.set("attempts_p50", median(phases.iter().map(|p| f64::from(p.attempts)).collect()));
    outcome.set("attempts_max", phases.iter().map(|p| p.attempts).max().map_or(f64::NAN, f64::from));
    outcome.set("acked_messages", acked.len() as f64);
    outcome.set("lost_messages", lost_messages.len() as f64);
    outcome.set("lost_deliveries", lost_pairs as f64);
    outcome.set("sender_failures", sender_failures as f64);
    Ok(outcome)
}

