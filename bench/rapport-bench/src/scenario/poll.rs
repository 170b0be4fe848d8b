//! `poll`: the hub's long-polling transport (protocol 1.1 §4) against its own WebSocket, in
//! one run: what an idle session costs the hub, and how fast a message reaches a session over
//! each. Rapport only (the Socket.IO peer has no part in it); its two columns are `websocket`
//! and `poll`, the latter with the ratios poll / WebSocket.
//!
//! - Idle: N sessions over WebSockets (pinging every heartbeat, as the runner does), measured
//!   for a window; then N long-polled sessions (one poll always held, sent again when
//!   answered), measured for the same window. Each half has a fresh hub, so the second does not
//!   reuse memory the first freed: RSS per session is the RSS delta / N, CPU per session per
//!   minute the hub's CPU in the window / sessions, scaled to a minute. The polled sessions are
//!   opened evenly over one hold time (25 s), so that, as the WebSocket pings are, their
//!   answers and re-polls are spread evenly through the window.
//! - Latency: M senders (WebSocket) each write at `rate / M` per second into a direct
//!   conversation with a receiver, who has two sessions: one over a WebSocket, one long-polled.
//!   Every message reaches both at once, so the two latencies are measured on the same
//!   messages, on the same hub, at the same moments.

use std::time::Duration;

use futures_util::{stream, StreamExt as _, TryStreamExt as _};
use hdrhistogram::Histogram;

use crate::api::{Account, Api};
use crate::fleet::{self, Fleet, Phases, Role};
use crate::polled;
use crate::procfs::{rss_kib, CpuMark};
use crate::report::ScenarioResult;
use crate::runner::SendPlan;
use crate::server::{Programs, Server, Target};

/// How big.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Idle sessions per transport.
    pub idle_sessions: usize,
    /// Users the idle sessions belong to.
    pub idle_users: usize,
    /// The polled idle sessions are opened evenly over this long (one hold time spreads them).
    pub spread: Duration,
    /// Wait after the last session is open before measuring.
    pub settle: Duration,
    /// The idle sessions' measured window.
    pub window: Duration,
    /// Senders, and receivers (each with one WebSocket and one polled session).
    pub receivers: usize,
    /// Messages per second, all senders together.
    pub rate: f64,
    /// The latency part's warm-up, measured window and drain.
    pub phases: Phases,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    WebSocket,
    Poll,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Poll => "poll",
        }
    }
}

/// Runs both parts; one outcome per transport (`websocket`, then `poll` with the ratios).
pub async fn run(programs: &Programs, scale: &Scale) -> Vec<ScenarioResult> {
    let text = format!(
        "idle: {} sessions, measured {}; latency: {} receivers, {} msg/s, warm-up {}, measured {}",
        scale.idle_sessions,
        super::secs(scale.window),
        scale.receivers,
        scale.rate,
        super::secs(scale.phases.warmup),
        super::secs(scale.phases.measure)
    );
    let mut outcomes = [
        ScenarioResult::new("poll", Transport::WebSocket.name(), text.clone()),
        ScenarioResult::new("poll", Transport::Poll.name(), text),
    ];
    for (outcome, transport) in outcomes.iter_mut().zip([Transport::WebSocket, Transport::Poll]) {
        eprintln!("-- poll: idle sessions over {}", transport.name());
        if let Err(err) = idle(transport, programs, scale, outcome).await {
            outcome.notes.push(format!("idle part failed: {err:#}"));
        }
        record_load(outcome, "idle_loadavg_1m");
    }
    eprintln!("-- poll: latency, one receiver session over each transport");
    let [ws, poll] = &mut outcomes;
    if let Err(err) = latency(programs, scale, ws, poll).await {
        poll.notes.push(format!("latency part failed: {err:#}"));
    }
    record_load(ws, "latency_loadavg_1m");
    record_load(poll, "latency_loadavg_1m");
    record_ratios(ws, poll);
    eprintln!("{}", crate::report::table(&outcomes));
    outcomes.into()
}

fn record_load(outcome: &mut ScenarioResult, key: &str) {
    if let Some(load) = crate::procfs::loadavg() {
        outcome.set(key, load);
    }
}

/// N idle sessions over `transport` on a fresh hub: RSS and CPU per session.
async fn idle(transport: Transport, programs: &Programs, scale: &Scale, outcome: &mut ScenarioResult) -> anyhow::Result<()> {
    let server = Server::start(Target::Rapport, programs).await?;
    let base = server.base_url();
    let api = Api::new(Target::Rapport, base.clone());
    let tokens = tokens(&api.register_many("idle", scale.idle_users).await?);
    let many = super::spread(&tokens, scale.idle_sessions);
    let http = polled::http_client();
    // A session per user first, so one-time allocations (pools, caches) are not charged per
    // session; they count in the CPU figures, as the warm sessions of `idle` do.
    let (fleets, rss_before, begin) = match transport {
        Transport::WebSocket => {
            let warm = fleet::open_all(Target::Rapport, server.addr, &tokens).await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let rss_before = rss_kib(server.pid());
            let opened = fleet::open_all(Target::Rapport, server.addr, &many).await?;
            let (window, begin) = idle_window(scale.settle, scale.window);
            let sessions = warm.into_iter().chain(opened).map(|o| (o, Role { plan: None, measure: false })).collect();
            (vec![Fleet::start(Target::Rapport, sessions, window)], rss_before, begin)
        }
        Transport::Poll => {
            // Polls are started as sessions open, so the window is set before.
            let (window, begin) = idle_window(scale.spread + scale.settle, scale.window);
            let warm = Fleet::open_polled(&http, &base, &tokens, Duration::ZERO, window, false).await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let rss_before = rss_kib(server.pid());
            let opened = Fleet::open_polled(&http, &base, &many, scale.spread, window, false).await?;
            (vec![warm, opened], rss_before, begin)
        }
    };
    if tokio::time::Instant::now() > begin {
        outcome.notes.push(format!("{}: opening the sessions ran into the measured window", transport.name()));
    }
    tokio::time::sleep_until(begin).await;
    let rss_after = rss_kib(server.pid());
    let mark = CpuMark::now(server.pid());
    tokio::time::sleep(scale.window).await;
    let (cpu_s, wall_s) = mark.since();
    let mut totals = crate::runner::Stats::default();
    for fleet in fleets {
        totals.add(fleet.stop().await);
    }
    server.stop().await;

    let n = scale.idle_sessions as f64;
    let all = (scale.idle_sessions + scale.idle_users) as f64;
    let per_minute = 60.0 / wall_s;
    let round_trips = match transport {
        Transport::WebSocket => totals.heartbeats_in_window, // pongs: one per ping
        Transport::Poll => totals.polls_in_window,
    };
    outcome.set("idle_sessions", n);
    outcome.set("idle_rss_per_session_bytes", (rss_after.saturating_sub(rss_before) * 1024) as f64 / n);
    outcome.set("idle_hub_rss_mib", rss_after as f64 / 1024.0);
    outcome.set("idle_hub_cpu_pct", 100.0 * cpu_s / wall_s);
    outcome.set("idle_cpu_ms_per_session_min", 1000.0 * cpu_s / all * per_minute);
    outcome.set("idle_round_trips_per_session_min", round_trips as f64 / all * per_minute);
    outcome.set("idle_non_heartbeat_frames", totals.frames_in_window.saturating_sub(totals.heartbeats_in_window) as f64);
    outcome.set("idle_dropped_sessions", totals.dropped as f64);
    Ok(())
}

/// A window of `measure` that starts `warmup` from now, and that start on the tokio clock.
fn idle_window(warmup: Duration, measure: Duration) -> (crate::runner::Window, tokio::time::Instant) {
    let (window, _) = Phases { warmup, measure, drain: Duration::ZERO }.start_now();
    (window, tokio::time::Instant::now() + warmup)
}

/// Senders over WebSockets; every receiver with one WebSocket and one polled session.
async fn latency(programs: &Programs, scale: &Scale, ws: &mut ScenarioResult, poll: &mut ScenarioResult) -> anyhow::Result<()> {
    let server = Server::start(Target::Rapport, programs).await?;
    let base = server.base_url();
    let api = Api::new(Target::Rapport, base.clone());
    let accounts = api.register_many("pollat", 2 * scale.receivers).await?;
    let (senders, receivers) = accounts.split_at(scale.receivers);
    let conversations: Vec<String> = stream::iter(senders.iter().zip(receivers))
        .map(|(sender, receiver)| {
            let api = api.clone();
            async move { api.direct(sender, receiver).await }
        })
        .buffered(16)
        .try_collect()
        .await?;
    let receiver_tokens = tokens(receivers);
    let ws_receivers = fleet::open_all(Target::Rapport, server.addr, &receiver_tokens).await?;
    let sending = fleet::open_all(Target::Rapport, server.addr, &tokens(senders)).await?;

    let (window, stop_at) = scale.phases.start_now();
    let http = polled::http_client();
    let polled = Fleet::open_polled(&http, &base, &receiver_tokens, Duration::ZERO, window, true).await?;
    let interval = Duration::from_secs_f64(scale.receivers as f64 / scale.rate);
    // Senders do not measure: the latencies are the receivers' alone.
    let mut sessions: Vec<_> = ws_receivers.into_iter().map(|o| (o, Role { plan: None, measure: true })).collect();
    for (i, opened) in sending.into_iter().enumerate() {
        let plan = SendPlan { conversation_id: conversations[i].clone(), sender: i as u32, interval, stop_at };
        sessions.push((opened, Role { plan: Some(plan), measure: false }));
    }
    let measured = Fleet::start(Target::Rapport, sessions, window).measure(scale.phases, &[server.pid()], &[]).await;
    let polled = polled.stop().await;
    server.stop().await;

    // Every message sent in the window is due once at each receiver transport.
    let sent = measured.totals.sent_in_window;
    for (outcome, latency, stats) in [(ws, measured.totals.latency.as_ref(), &measured.totals), (poll, polled.latency.as_ref(), &polled)] {
        let received = latency.map_or(0, Histogram::len);
        super::record_latency(outcome, "latency", latency);
        outcome.set("latency_sent_per_s", sent as f64 / scale.phases.measure.as_secs_f64());
        outcome.set("latency_undelivered_after_drain", sent.saturating_sub(received) as f64);
        outcome.set("latency_duplicates", stats.duplicates as f64);
        outcome.set("latency_errors", stats.errors as f64);
        outcome.set("latency_dropped_sessions", stats.dropped as f64);
        // Both transports ran on one hub at once: its CPU is theirs together.
        outcome.set("latency_hub_cpu_pct", measured.pct(measured.hubs.total_s()));
    }
    Ok(())
}

/// On the `poll` column: poll / WebSocket for the figures compared (> 1: polling costs more).
fn record_ratios(ws: &ScenarioResult, poll: &mut ScenarioResult) {
    for key in ["idle_cpu_ms_per_session_min", "idle_rss_per_session_bytes", "latency_p50_ms", "latency_p99_ms", "latency_max_ms"] {
        let (Some(w), Some(p)) = (ws.get(key), poll.get(key)) else { continue };
        let ratio = p / w;
        if ratio.is_finite() {
            poll.set(&format!("ratio_{key}"), ratio);
        }
    }
}

fn tokens(accounts: &[Account]) -> Vec<String> {
    accounts.iter().map(|a| a.token.clone()).collect()
}
