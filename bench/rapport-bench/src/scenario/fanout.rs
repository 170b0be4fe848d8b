//! `fanout`: group conversations of size K, senders at a total rate R; deliveries per second
//! and deliveries per server CPU-second (server CPU from `/proc/PID/stat`).
//!
//! Layout: K users, one session each; G groups that all have the same K members; S senders
//! (users 0..S), sender j writes into group j mod G. Every message reaches K sessions.

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
    /// Members per group (= users, one session each).
    pub group_size: usize,
    /// Groups.
    pub groups: usize,
    /// Sending sessions.
    pub senders: usize,
    /// Messages per second, all senders together.
    pub rate: f64,
    /// Warm-up, measured window, drain.
    pub phases: Phases,
}

/// Runs the scenario against `target`.
pub async fn run(target: Target, programs: &Programs, scale: &Scale) -> anyhow::Result<ScenarioResult> {
    let text = format!(
        "{} groups of {}, {} senders, {} msg/s, measured {}",
        scale.groups, scale.group_size, scale.senders, scale.rate, super::secs(scale.phases.measure)
    );
    let mut outcome = ScenarioResult::new("fanout", target.name(), text);
    let server = Server::start(target, programs).await?;
    let api = Api::new(target, server.base_url());
    let accounts = api.register_many("fan", scale.group_size).await?;
    let others: Vec<&crate::api::Account> = accounts[1..].iter().collect();
    let groups: Vec<String> = stream::iter(0..scale.groups)
        .map(|g| {
            let (api, others) = (&api, &others);
            let owner = &accounts[0];
            async move { api.group(owner, others, &format!("group {g}")).await }
        })
        .buffered(4)
        .try_collect()
        .await?;
    let tokens: Vec<String> = accounts.iter().map(|a| a.token.clone()).collect();
    let opened = fleet::open_all(target, server.addr, &tokens).await?;

    let (window, stop_at) = scale.phases.start_now();
    let interval = Duration::from_secs_f64(scale.senders as f64 / scale.rate);
    let sessions = opened
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let plan = (i < scale.senders).then(|| SendPlan {
                conversation_id: groups[i % groups.len()].clone(),
                sender: i as u32,
                interval,
                stop_at,
            });
            (o, Role { plan, measure: true })
        })
        .collect();
    let measured = Fleet::start(target, sessions, window).measure(scale.phases, &[server.pid()], &[]).await;
    server.stop().await;
    let (totals, hub_s) = (&measured.totals, measured.hubs.total_s());

    let expected = totals.sent_in_window * scale.group_size as u64;
    let deliveries = totals.received_unique as f64;
    outcome.set("sent_per_s", totals.sent_in_window as f64 / scale.phases.measure.as_secs_f64());
    outcome.set("deliveries_per_s", deliveries / scale.phases.measure.as_secs_f64());
    outcome.set("deliveries_per_cpu_s", deliveries / hub_s.max(0.01));
    outcome.set("server_cpu_s", hub_s);
    measured.record_cpu(&mut outcome);
    outcome.set("undelivered_after_drain", expected.saturating_sub(totals.received_unique) as f64);
    outcome.set("duplicates", totals.duplicates as f64);
    outcome.set("errors", totals.errors as f64);
    super::record_latency(&mut outcome, "latency", totals.latency.as_ref());
    Ok(outcome)
}
