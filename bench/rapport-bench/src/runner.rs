//! One task per session: reads every frame, answers heartbeats, optionally sends messages at a
//! fixed rate, and records what it saw. Tasks keep their own statistics (no shared locks on the
//! hot path) and hand them back when told to stop.
//!
//! Message bodies are `b <sender> <counter> <sent_us>`: the receiver computes the latency from
//! the send time (one process, one monotonic clock) and detects duplicates by (sender, counter).

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::server::Target;
use crate::wire::{self, Incoming, Opened};

/// Microseconds since the generator started: the clock in every body.
pub fn now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// A latency histogram in microseconds, 1 µs to 60 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

/// Messages this session sends.
#[derive(Debug, Clone)]
pub struct SendPlan {
    /// Where to.
    pub conversation_id: String,
    /// This sender's number, unique in the run.
    pub sender: u32,
    /// Time between two sends.
    pub interval: Duration,
    /// No send after this.
    pub stop_at: Instant,
}

/// The window (in [`now_us`]) whose messages are measured: before it is warm-up.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Start, µs.
    pub from_us: u64,
    /// End, µs.
    pub to_us: u64,
}

impl Window {
    /// Whether `t` (µs) falls in the window.
    pub fn contains(&self, t: u64) -> bool {
        t >= self.from_us && t < self.to_us
    }
}

/// What sessions saw: one session's, or many added up ([`Stats::add`]).
#[derive(Default)]
pub struct Stats {
    /// Send→receive latency (µs) of messages sent in the window, per recipient.
    pub latency: Option<Histogram<u64>>,
    /// Send→ack latency (µs) of the sessions' own messages sent in the window.
    pub ack_latency: Option<Histogram<u64>>,
    /// Distinct messages of the window received (per session, summed).
    pub received_unique: u64,
    /// Messages of the window received more than once.
    pub duplicates: u64,
    /// Messages received in all (warm-up and drain included).
    pub received_total: u64,
    /// Sends in the window.
    pub sent_in_window: u64,
    /// Sends in all.
    pub sent_total: u64,
    /// Acks received.
    pub acked: u64,
    /// Error replies received.
    pub errors: u64,
    /// Frames received during the window.
    pub frames_in_window: u64,
    /// Heartbeat frames (pong / Engine.IO ping) received during the window.
    pub heartbeats_in_window: u64,
    /// Polls answered during the window (long-polled sessions).
    pub polls_in_window: u64,
    /// Sessions whose socket ended before they were told to stop.
    pub dropped: u64,
}

impl Stats {
    /// Adds another session's (or group's) statistics.
    pub fn add(&mut self, s: Stats) {
        merge(&mut self.latency, s.latency);
        merge(&mut self.ack_latency, s.ack_latency);
        self.received_unique += s.received_unique;
        self.duplicates += s.duplicates;
        self.received_total += s.received_total;
        self.sent_in_window += s.sent_in_window;
        self.sent_total += s.sent_total;
        self.acked += s.acked;
        self.errors += s.errors;
        self.frames_in_window += s.frames_in_window;
        self.heartbeats_in_window += s.heartbeats_in_window;
        self.polls_in_window += s.polls_in_window;
        self.dropped += s.dropped;
    }
}

fn merge(into: &mut Option<Histogram<u64>>, from: Option<Histogram<u64>>) {
    if let Some(from) = from {
        match into {
            Some(into) => into.add(&from).expect("same bounds"),
            None => *into = Some(from),
        }
    }
}

/// Runs one session until `stop` changes; returns what it saw.
pub async fn run(
    target: Target,
    opened: Opened,
    plan: Option<SendPlan>,
    window: Window,
    measure_latency: bool,
    mut stop: watch::Receiver<bool>,
) -> Stats {
    let Opened { ws, heartbeat, .. } = opened;
    let (mut sink, mut stream) = ws.split();
    let mut stats = Stats::default();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut sent_at: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();

    // Rapport clients ping; spread the first ping over the interval so pings do not come in waves.
    let jitter = Duration::from_millis(rand::random::<u64>() % heartbeat.as_millis().max(1) as u64);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + jitter, heartbeat);
    let mut send_tick = plan.as_ref().map(|p| {
        let first = tokio::time::Instant::now() + Duration::from_micros(rand::random::<u64>() % p.interval.as_micros().max(1) as u64);
        let mut tick = tokio::time::interval_at(first, p.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        tick
    });
    let mut counter: u64 = 0;

    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = ping.tick(), if target.is_rapport() => {
                if sink.send(WsMessage::text(wire::ping_frame())).await.is_err() {
                    stats.dropped = 1;
                    break;
                }
            }
            _ = tick(&mut send_tick) => {
                let plan = plan.as_ref().expect("ticks only with a plan");
                if Instant::now() >= plan.stop_at {
                    send_tick = None;
                    continue;
                }
                counter += 1;
                let t = now_us();
                let body = format!("b {} {counter} {t}", plan.sender);
                let client_msg_id = format!("{}-{counter}", plan.sender);
                let frame = wire::send_frame(target, counter, &plan.conversation_id, &client_msg_id, &body);
                if sink.send(WsMessage::text(frame)).await.is_err() {
                    stats.dropped = 1;
                    break;
                }
                stats.sent_total += 1;
                if window.contains(t) {
                    stats.sent_in_window += 1;
                    sent_at.insert(counter, t);
                }
            }
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => {
                        stats.dropped = 1;
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                let now = now_us();
                let in_window = window.contains(now);
                if in_window {
                    stats.frames_in_window += 1;
                }
                match wire::classify(target, &text) {
                    Incoming::Message(m) => count_message(&mut stats, &mut seen, window, measure_latency, now, m.body),
                    Incoming::Ack { reference, .. } => {
                        stats.acked += 1;
                        if let Some(t) = sent_at.remove(&reference) {
                            let _ = stats.ack_latency.get_or_insert_with(histogram).record(now.saturating_sub(t).max(1));
                        }
                    }
                    Incoming::Error => stats.errors += 1,
                    Incoming::Ping => {
                        if in_window {
                            stats.heartbeats_in_window += 1;
                        }
                        if sink.send(WsMessage::text("3")).await.is_err() {
                            stats.dropped = 1;
                            break;
                        }
                    }
                    Incoming::Pong => {
                        if in_window {
                            stats.heartbeats_in_window += 1;
                        }
                    }
                    Incoming::OtherEvent | Incoming::Other => {}
                }
            }
        }
    }
    let _ = sink.close().await;
    stats
}

/// Counts a message received at `now` (µs): distinct or repeated, and its latency when it was
/// sent in the window and the session measures.
pub fn count_message(stats: &mut Stats, seen: &mut HashSet<u64>, window: Window, measure_latency: bool, now: u64, body: &str) {
    stats.received_total += 1;
    let Some((sender, count, t)) = parse_body(body) else { return };
    if !window.contains(t) {
        return;
    }
    if seen.insert((sender << 32) | count) {
        stats.received_unique += 1;
        if measure_latency {
            let _ = stats.latency.get_or_insert_with(histogram).record(now.saturating_sub(t).max(1));
        }
    } else {
        stats.duplicates += 1;
    }
}

async fn tick(tick: &mut Option<tokio::time::Interval>) {
    match tick {
        Some(tick) => {
            tick.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// `b <sender> <counter> <sent_us>` → its three numbers.
pub fn parse_body(body: &str) -> Option<(u64, u64, u64)> {
    let mut parts = body.strip_prefix("b ")?.split(' ');
    let sender = parts.next()?.parse().ok()?;
    let count = parts.next()?.parse().ok()?;
    let t = parts.next()?.parse().ok()?;
    Some((sender, count, t))
}
