//! `idle`: N authenticated idle sessions; server RSS per session (RSS delta / N) and frames
//! received per session per minute, which must all be heartbeats.
//!
//! Both targets use a 25 s heartbeat (the hub's default `heartbeat_interval_ms`, Socket.IO's
//! default `pingInterval`). The sessions belong to a handful of users who share no conversation.

use std::time::Duration;

use crate::api::Api;
use crate::fleet::{self, Fleet, Phases, Role};
use crate::procfs::rss_kib;
use crate::report::ScenarioResult;
use crate::server::{Programs, Server, Target};

/// How big.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Idle sessions.
    pub sessions: usize,
    /// Users they belong to.
    pub users: usize,
    /// Wait after the last session is ready before measuring RSS.
    pub settle: Duration,
    /// Frames are counted for this long.
    pub window: Duration,
}

/// Runs the scenario against `target`.
pub async fn run(target: Target, programs: &Programs, scale: &Scale) -> anyhow::Result<ScenarioResult> {
    let text = format!("{} sessions of {} users, frames counted for {}", scale.sessions, scale.users, super::secs(scale.window));
    let mut outcome = ScenarioResult::new("idle", target.name(), text);
    let server = Server::start(target, programs).await?;
    let api = Api::new(target, server.base_url());
    let accounts = api.register_many("idle", scale.users).await?;
    let tokens: Vec<String> = accounts.iter().map(|a| a.token.clone()).collect();
    // A few sessions first, so one-time allocations (pools, caches) are not charged per session.
    let warm = fleet::open_all(target, server.addr, &tokens).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server_before = rss_kib(server.pid());
    let own_before = rss_kib(std::process::id());
    let opened = fleet::open_all(target, server.addr, &super::spread(&tokens, scale.sessions)).await?;
    // Frames are counted after the settling time, for the window: the phases of a run that sends nothing.
    let (window, _) = Phases { warmup: scale.settle, measure: scale.window, drain: Duration::ZERO }.start_now();
    let sessions = warm.into_iter().chain(opened).map(|o| (o, Role { plan: None, measure: false })).collect();
    let fleet = Fleet::start(target, sessions, window);
    tokio::time::sleep(scale.settle).await;
    let server_after = rss_kib(server.pid());
    let own_after = rss_kib(std::process::id());
    tokio::time::sleep(scale.window).await;
    let totals = fleet.stop().await;
    server.stop().await;

    let n = scale.sessions as f64;
    let per_minute = 60.0 / scale.window.as_secs_f64();
    let all = (scale.sessions + scale.users) as f64;
    outcome.set("sessions", n);
    outcome.set("rss_per_session_bytes", (server_after.saturating_sub(server_before) * 1024) as f64 / n);
    outcome.set("server_rss_mib", server_after as f64 / 1024.0);
    outcome.set("generator_rss_per_session_bytes", (own_after.saturating_sub(own_before) * 1024) as f64 / n);
    outcome.set("frames_per_session_min", totals.frames_in_window as f64 / all * per_minute);
    outcome.set("heartbeats_per_session_min", totals.heartbeats_in_window as f64 / all * per_minute);
    outcome.set("non_heartbeat_frames", (totals.frames_in_window - totals.heartbeats_in_window) as f64);
    outcome.set("dropped_sessions", totals.dropped as f64);
    Ok(outcome)
}
