//! `scaleout`: the same load against one SQLite hub, one PostgreSQL hub, and two PostgreSQL hubs
//! with Redis behind nginx, in one run. The load is the `latency` scenario's ring of direct
//! conversations, at each rate of a ladder; every rate is measured on every deployment, so the
//! figures of one row were taken minutes apart on the same machine.
//!
//! Per rate it records what was sent and delivered per second, the send→receive latency of
//! every recipient session, losses, duplicates and the hubs' CPU. The ceiling of a deployment is
//! the highest rate it carried: at least 95 % of the offered rate sent, nothing lost, p99 under
//! [`P99_LIMIT_MS`]. Against the two hubs, half the sessions go to each hub (nginx balances by
//! connections), so every other message crosses Redis.

use std::time::Duration;

use futures_util::{stream, StreamExt as _, TryStreamExt as _};

use crate::api::Api;
use crate::deployment::{Deployment, Topology};
use crate::fleet::{self, Fleet, Phases, Role};
use crate::procfs;
use crate::report::ScenarioResult;
use crate::runner::SendPlan;
use crate::server::{Programs, Target};

/// A rate is carried only while its p99 stays under this.
pub const P99_LIMIT_MS: f64 = 100.0;
/// Sends per second of one session: under the hub's 50 ops/s per-session limit.
const PER_SESSION_RATE: f64 = 25.0;

/// How big.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Messages per second, all senders together, one step each.
    pub rates: Vec<f64>,
    /// Warm-up, measured window and drain of each step.
    pub phases: Phases,
}

/// Runs every deployment through the ladder; one outcome per deployment.
pub async fn run(programs: &Programs, scale: &Scale) -> Vec<ScenarioResult> {
    let mut outcomes = Vec::new();
    for topology in [Topology::Sqlite, Topology::Postgres, Topology::PostgresPair] {
        eprintln!("-- scaleout against {}", topology.name());
        let outcome = match ladder(topology, programs, scale).await {
            Ok(outcome) => outcome,
            Err(err) => ScenarioResult::skipped("scaleout", topology.name(), format!("failed: {err:#}")),
        };
        eprintln!("{}", crate::report::table(std::slice::from_ref(&outcome)));
        outcomes.push(outcome);
    }
    outcomes
}

async fn ladder(topology: Topology, programs: &Programs, scale: &Scale) -> anyhow::Result<ScenarioResult> {
    let rates: Vec<String> = scale.rates.iter().map(|r| format!("{r}")).collect();
    let text = format!(
        "direct messages at {} msg/s, {} s warm-up and {} s measured each",
        rates.join(" / "),
        scale.phases.warmup.as_secs_f64(),
        scale.phases.measure.as_secs_f64()
    );
    let mut outcome = ScenarioResult::new("scaleout", topology.name(), text);
    let deployment = Deployment::start(topology, programs).await?;
    let base = format!("http://{}", deployment.addr);
    let api = Api::new(Target::Rapport, base);
    let most = scale.rates.iter().map(|r| senders(*r)).max().unwrap_or(2);
    let accounts = api.register_many("scale", most).await?;

    let mut ceiling = 0.0;
    for (step, &rate) in scale.rates.iter().enumerate() {
        let active = senders(rate);
        let ring = &accounts[..active];
        // User i writes to i+1 (a ring of this step's users, so both members of every
        // conversation have a session).
        let conversations: Vec<String> = stream::iter(0..ring.len())
            .map(|i| {
                let api = api.clone();
                let (me, other) = (ring[i].clone(), ring[(i + 1) % ring.len()].clone());
                async move { api.direct(&me, &other).await }
            })
            .buffered(16)
            .try_collect()
            .await?;
        let tokens: Vec<String> = ring.iter().map(|a| a.token.clone()).collect();
        let opened = fleet::open_all(Target::Rapport, deployment.addr, &tokens).await?;
        let (window, stop_at) = scale.phases.start_now();
        let interval = Duration::from_secs_f64(active as f64 / rate);
        let sessions = opened
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                // Sender numbers unique across steps: client ids are `sender-counter`.
                let sender = (step * 100_000 + i) as u32;
                let plan = SendPlan { conversation_id: conversations[i].clone(), sender, interval, stop_at };
                (o, Role { plan: Some(plan), measure: true })
            })
            .collect();
        let measured =
            Fleet::start(Target::Rapport, sessions, window).measure(scale.phases, &deployment.hub_pids(), &deployment.helper_pids()).await;
        let totals = &measured.totals;

        // Each message reaches two sessions: the sender's and the other member's (the ring
        // gives every user one conversation as sender and one as recipient).
        let offered = rate * scale.phases.measure.as_secs_f64();
        let expected = totals.sent_in_window * 2;
        let lost = expected.saturating_sub(totals.received_unique);
        let key = |k: &str| format!("r{rate:05.0}_{k}");
        let p99 = totals.latency.as_ref().map(|h| h.value_at_quantile(0.99) as f64 / 1000.0);
        super::record_latency(&mut outcome, &key("latency"), totals.latency.as_ref());
        outcome.set(&key("sent_per_s"), totals.sent_in_window as f64 / scale.phases.measure.as_secs_f64());
        outcome.set(&key("lost"), lost as f64);
        outcome.set(&key("duplicates"), totals.duplicates as f64);
        outcome.set(&key("errors"), totals.errors as f64);
        outcome.set(&key("hubs_cpu_pct"), measured.pct(measured.hubs.total_s()));
        if !deployment.helper_pids().is_empty() {
            outcome.set(&key("redis_nginx_cpu_pct"), measured.pct(measured.helpers.total_s()));
        }
        if let Some(load) = procfs::loadavg() {
            outcome.set(&key("loadavg_1m"), load);
        }
        let carried = totals.sent_in_window as f64 >= 0.95 * offered
            && lost == 0
            && totals.duplicates == 0
            && p99.is_some_and(|p| p < P99_LIMIT_MS);
        if carried {
            ceiling = rate;
        } else {
            outcome.notes.push(format!("{rate} msg/s not carried (sent {:.0}/s, lost {lost}, p99 {:.1} ms)", totals.sent_in_window as f64 / scale.phases.measure.as_secs_f64(), p99.unwrap_or(f64::NAN)));
        }
    }
    outcome.set("ceiling_msg_per_s", ceiling);
    deployment.stop().await;
    Ok(outcome)
}

/// Sending sessions for `rate` (at least two: a ring needs a pair).
fn senders(rate: f64) -> usize {
    ((rate / PER_SESSION_RATE).ceil() as usize).max(2)
}
