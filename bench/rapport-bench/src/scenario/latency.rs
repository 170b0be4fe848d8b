//! `latency`: direct messages at a fixed total rate while N idle sessions are attached;
//! send→receive latency of every recipient session (the sender's own included: the protocol
//! sends `message.created` to every session of every member), lost and duplicated counts.
//!
//! Layout: `active` users in a ring of direct conversations (user i talks to i+1), one session
//! each, each sending into its conversation at `rate / active` per second (under the hub's
//! 50 ops/s per-session limit). The idle sessions belong to other users who share no
//! conversation with them, so they receive nothing but heartbeats.

use std::time::Duration;

use futures_util::{stream, StreamExt as _, TryStreamExt as _};

use crate::api::Api;
use crate::fleet::{self, Fleet, Phases, Role};
use crate::report::ScenarioResult;
use crate::runner::SendPlan;
use crate::server::{Programs, Server, Target};

/// How big.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Users sending (one session each).
    pub active: usize,
    /// Idle sessions attached meanwhile.
    pub idle_sessions: usize,
    /// Users the idle sessions belong to.
    pub idle_users: usize,
    /// Messages per second, all senders together.
    pub rate: f64,
    /// Warm-up, measured window, drain.
    pub phases: Phases,
}

/// Runs the scenario against `target`.
pub async fn run(target: Target, programs: &Programs, scale: &Scale) -> anyhow::Result<ScenarioResult> {
    let text = format!(
        "{} idle + {} active sessions, {} msg/s, warm-up {}, measured {}",
        scale.idle_sessions, scale.active, scale.rate, super::secs(scale.phases.warmup), super::secs(scale.phases.measure)
    );
    let mut outcome = ScenarioResult::new("latency", target.name(), text);
    let server = Server::start(target, programs).await?;
    let api = Api::new(target, server.base_url());
    let accounts = api.register_many("lat", scale.active + scale.idle_users).await?;
    let (active, idle) = accounts.split_at(scale.active);
    let conversations: Vec<String> = stream::iter(0..active.len())
        .map(|i| {
            let api = api.clone();
            let (me, other) = (active[i].clone(), active[(i + 1) % active.len()].clone());
            async move { api.direct(&me, &other).await }
        })
        .buffered(16)
        .try_collect()
        .await?;

    let idle_tokens: Vec<String> = idle.iter().map(|a| a.token.clone()).collect();
    let idle_opened = fleet::open_all(target, server.addr, &super::spread(&idle_tokens, scale.idle_sessions)).await?;
    let active_tokens: Vec<String> = active.iter().map(|a| a.token.clone()).collect();
    let active_opened = fleet::open_all(target, server.addr, &active_tokens).await?;

    let (window, stop_at) = scale.phases.start_now();
    let interval = Duration::from_secs_f64(scale.active as f64 / scale.rate);
    let mut sessions: Vec<_> = idle_opened.into_iter().map(|o| (o, Role { plan: None, measure: false })).collect();
    for (i, opened) in active_opened.into_iter().enumerate() {
        let plan = SendPlan { conversation_id: conversations[i].clone(), sender: i as u32, interval, stop_at };
        sessions.push((opened, Role { plan: Some(plan), measure: true }));
    }
    let measured = Fleet::start(target, sessions, window).measure(scale.phases, &[server.pid()], &[]).await;
    server.stop().await;
    let totals = &measured.totals;

    // Every message reaches two sessions: the sender's and the other member's.
    let expected = totals.sent_in_window * 2;
    super::record_latency(&mut outcome, "latency", totals.latency.as_ref());
    super::record_latency(&mut outcome, "ack", totals.ack_latency.as_ref());
    outcome.set("sessions", (scale.idle_sessions + scale.active) as f64);
    outcome.set("sent_per_s", totals.sent_in_window as f64 / scale.phases.measure.as_secs_f64());
    outcome.set("deliveries_expected", expected as f64);
    outcome.set("undelivered_after_drain", expected.saturating_sub(totals.received_unique) as f64);
    outcome.set("duplicates", totals.duplicates as f64);
    outcome.set("errors", totals.errors as f64);
    outcome.set("dropped_sessions", totals.dropped as f64);
    measured.record_cpu(&mut outcome);
    Ok(outcome)
}
