//! `rapport-bench`: the Rapport hub against the Socket.IO stack it replaces, measured side by
//! side in one run.
//!
//! Layout:
//! - `server`: starts the hub (release build) or the Socket.IO peer (Node) in a temporary data
//!   directory, SIGKILLs and restarts it; `procfs` reads its CPU time and RSS.
//! - `api`: REST setup and catch-up; `wire`: the two gateway protocols (Rapport v1 and
//!   Engine.IO v4 / Socket.IO v5, both spoken here over tokio-tungstenite with small buffers).
//! - `runner`: one task per session (heartbeats, paced sends, latency and loss accounting);
//!   `polled`: the same for a long-polled session (protocol 1.1 §4, HTTP requests on a kept-alive
//!   connection); `fleet`: many of either.
//! - `scenario`: `latency`, `fanout`, `idle`, `storm`, `client`, `desktop`, `scaleout`, `poll`
//!   (the hub's long polling against its own WebSocket: idle cost and latency, Rapport only);
//!   `deployment`: the SQLite hub, the PostgreSQL hub and the pair of PostgreSQL hubs with Redis
//!   behind nginx that `scaleout` compares.
//! - `report`: the table, the JSON summary and the closing comparison lines.

mod api;
mod deployment;
mod fleet;
mod polled;
mod procfs;
mod report;
mod runner;
mod scenario;
mod server;
mod wire;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

use fleet::Phases;
use report::ScenarioResult;
use server::{Programs, Target};

/// Command line.
#[derive(Debug, Parser)]
#[command(name = "rapport-bench", about = "Rapport hub against a Socket.IO peer, measured side by side")]
struct Args {
    /// Small scales: the whole run takes well under a minute.
    #[arg(long)]
    quick: bool,
    /// Scenarios to run (default: all).
    #[arg(long = "scenario", value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Targets: rapport, socketio, socketio-memory (default: rapport,socketio).
    #[arg(long = "target", value_delimiter = ',', default_values_t = vec!["rapport".to_string(), "socketio".to_string()])]
    targets: Vec<String>,
    /// Where the JSON summary goes.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../results"))]
    results: PathBuf,
    /// The Socket.IO peer's directory (with node_modules).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../peers/socketio"))]
    peer_dir: PathBuf,
    /// The hub binary (default: next to this binary).
    #[arg(long)]
    hub: Option<PathBuf>,
    /// Override: sessions for idle, latency (idle sessions), storm and poll (idle sessions).
    #[arg(long)]
    sessions: Option<usize>,
    /// Override: latency, fanout and poll message rate (msg/s, all senders together).
    #[arg(long)]
    rate: Option<f64>,
    /// Override: messages in the client scenario's cache.
    #[arg(long)]
    messages: Option<usize>,
    /// Override: fanout group size.
    #[arg(long)]
    group_size: Option<usize>,
    /// Override: the scaleout scenario's ladder of rates (msg/s, all senders together).
    #[arg(long = "rates", value_delimiter = ',')]
    rates: Vec<f64>,
    /// Override: measured seconds of latency, fanout, poll (latency part) and each scaleout step.
    #[arg(long)]
    seconds: Option<f64>,
    /// The desktop app for the desktop scenario (default: `rapport` next to this binary, as
    /// `tauri build` leaves it).
    #[arg(long)]
    app: Option<PathBuf>,
}

/// Every scenario's scale.
struct Scales {
    latency: scenario::latency::Scale,
    fanout: scenario::fanout::Scale,
    idle: scenario::idle::Scale,
    storm: scenario::storm::Scale,
    client: scenario::client::Scale,
    desktop: scenario::desktop::Scale,
    scaleout: scenario::scaleout::Scale,
    poll: scenario::poll::Scale,
}

fn scales(args: &Args) -> Scales {
    let s = Duration::from_secs_f64;
    let mut scales = if args.quick {
        Scales {
            latency: scenario::latency::Scale { active: 20, idle_sessions: 1000, idle_users: 2, rate: 500.0, phases: Phases { warmup: s(0.5), measure: s(1.5), drain: s(0.5) } },
            fanout: scenario::fanout::Scale { group_size: 30, groups: 2, senders: 4, rate: 200.0, phases: Phases { warmup: s(0.5), measure: s(1.5), drain: s(0.5) } },
            idle: scenario::idle::Scale { sessions: 2000, users: 4, settle: s(1.0), window: s(1.5) },
            storm: scenario::storm::Scale { sessions: 1000, users: 20, group_size: 5, rate_per_group: 10.0, before_kill: s(1.0), deadline: s(20.0) },
            client: scenario::client::Scale { messages: 5_000, conversations: 4, missed: 500 },
            desktop: scenario::desktop::Scale { conversations: 50, launches: 1, settle: s(2.0) },
            scaleout: scenario::scaleout::Scale { rates: vec![200.0, 400.0], phases: Phases { warmup: s(0.5), measure: s(1.5), drain: s(0.5) } },
            poll: scenario::poll::Scale {
                idle_sessions: 200,
                idle_users: 4,
                spread: s(0.0),
                settle: s(1.0),
                window: s(2.0),
                receivers: 5,
                rate: 20.0,
                phases: Phases { warmup: s(0.5), measure: s(2.0), drain: s(0.5) },
            },
        }
    } else {
        Scales {
            latency: scenario::latency::Scale { active: 200, idle_sessions: 10_000, idle_users: 20, rate: 5000.0, phases: Phases { warmup: s(5.0), measure: s(20.0), drain: s(2.0) } },
            fanout: scenario::fanout::Scale { group_size: 100, groups: 10, senders: 20, rate: 500.0, phases: Phases { warmup: s(3.0), measure: s(20.0), drain: s(2.0) } },
            idle: scenario::idle::Scale { sessions: 10_000, users: 20, settle: s(3.0), window: s(60.0) },
            storm: scenario::storm::Scale { sessions: 15_000, users: 150, group_size: 5, rate_per_group: 2.0, before_kill: s(3.0), deadline: s(60.0) },
            client: scenario::client::Scale { messages: 1_000_000, conversations: 20, missed: 10_000 },
            desktop: scenario::desktop::Scale { conversations: 50, launches: 5, settle: s(10.0) },
            scaleout: scenario::scaleout::Scale {
                rates: vec![1000.0, 2000.0, 4000.0, 6000.0, 8000.0],
                phases: Phases { warmup: s(2.0), measure: s(8.0), drain: s(2.0) },
            },
            // Sized for two shared cores; the spread is one hold time (25 s).
            poll: scenario::poll::Scale {
                idle_sessions: 2000,
                idle_users: 20,
                spread: s(25.0),
                settle: s(3.0),
                window: s(30.0),
                receivers: 50,
                rate: 100.0,
                phases: Phases { warmup: s(3.0), measure: s(20.0), drain: s(2.0) },
            },
        }
    };
    if let Some(n) = args.sessions {
        scales.idle.sessions = n;
        scales.latency.idle_sessions = n;
        scales.storm.sessions = n;
        scales.poll.idle_sessions = n;
    }
    if let Some(rate) = args.rate {
        scales.latency.rate = rate;
        scales.fanout.rate = rate;
        scales.poll.rate = rate;
    }
    if let Some(m) = args.messages {
        scales.client.messages = m;
    }
    if let Some(k) = args.group_size {
        scales.fanout.group_size = k;
        scales.fanout.senders = scales.fanout.senders.min(k);
    }
    if let Some(secs) = args.seconds {
        scales.latency.phases.measure = s(secs);
        scales.fanout.phases.measure = s(secs);
        scales.scaleout.phases.measure = s(secs);
        scales.poll.phases.measure = s(secs);
    }
    if !args.rates.is_empty() {
        scales.scaleout.rates = args.rates.clone();
    }
    scales
}

const ALL: [&str; 8] = ["latency", "fanout", "idle", "storm", "client", "desktop", "scaleout", "poll"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Thousands of sockets: take every descriptor the hard limit allows (children inherit it).
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    if soft < hard {
        rlimit::Resource::NOFILE.set(hard, hard).context("raising RLIMIT_NOFILE")?;
    }
    let own_exe = std::env::current_exe()?;
    let target_dir = own_exe.parent().context("exe dir")?.to_path_buf();
    let programs = Programs { hub: args.hub.clone().unwrap_or_else(|| target_dir.join("rapport-hub")), peer_dir: args.peer_dir.clone() };
    anyhow::ensure!(programs.hub.exists(), "no hub binary at {} (cargo build --release -p rapport-hub)", programs.hub.display());
    let targets: Vec<Target> = args
        .targets
        .iter()
        .map(|t| Target::parse(t).with_context(|| format!("unknown target {t}")))
        .collect::<anyhow::Result<_>>()?;
    let scenarios: Vec<&str> = if args.scenarios.is_empty() {
        ALL.to_vec()
    } else {
        args.scenarios.iter().map(String::as_str).collect()
    };
    let scales = scales(&args);
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();

    let mut outcomes: Vec<ScenarioResult> = Vec::new();
    for scenario in &scenarios {
        let per_target = matches!(*scenario, "latency" | "fanout" | "idle" | "storm");
        if *scenario == "scaleout" {
            outcomes.extend(scenario::scaleout::run(&programs, &scales.scaleout).await);
            continue;
        }
        if *scenario == "poll" {
            // Rapport only: the peer it is measured against is the hub's own WebSocket.
            outcomes.extend(scenario::poll::run(&programs, &scales.poll).await);
            continue;
        }
        if !per_target {
            let outcome = match *scenario {
                "client" => scenario::client::run(&programs, &scales.client).await,
                "desktop" => {
                    let app = args.app.clone().unwrap_or_else(|| scenario::desktop::default_app(&target_dir));
                    scenario::desktop::run(&programs, &app, &scales.desktop).await
                }
                other => anyhow::bail!("unknown scenario {other}; known: {}", ALL.join(", ")),
            };
            outcomes.push(outcome.unwrap_or_else(|e| failed(scenario, "rapport", e)));
            continue;
        }
        for &target in &targets {
            eprintln!("-- {scenario} against {}", target.name());
            let outcome = match *scenario {
                "latency" => scenario::latency::run(target, &programs, &scales.latency).await,
                "fanout" => scenario::fanout::run(target, &programs, &scales.fanout).await,
                "idle" => scenario::idle::run(target, &programs, &scales.idle).await,
                "storm" => scenario::storm::run(target, &programs, &scales.storm).await,
                _ => unreachable!(),
            };
            let mut outcome = outcome.unwrap_or_else(|e| failed(scenario, target.name(), e));
            // Others may share the machine: the load tells whether a figure was disturbed.
            if let Some(load) = procfs::loadavg() {
                outcome.set("machine_loadavg_1m", load);
            }
            eprintln!("{}", report::table(std::slice::from_ref(&outcome)));
            outcomes.push(outcome);
        }
    }

    std::fs::create_dir_all(&args.results)?;
    let results = args.results.canonicalize()?;
    let file = results.join(format!("{}-{started}.json", if args.quick { "quick" } else { "full" }));
    let summary = serde_json::json!({
        "started_unix": started,
        "quick": args.quick,
        "machine": machine(),
        "targets": args.targets,
        "outcomes": outcomes,
    });
    std::fs::write(&file, serde_json::to_string_pretty(&summary)?)?;
    println!("{}", report::table(&outcomes));
    println!("\nJSON summary: {}", file.display());
    let peer = targets.iter().find(|t| !t.is_rapport()).map_or("socketio", |t| t.name());
    println!("\nscenario headline            Rapport vs {peer} (same run; ratio > 1 means Rapport is better)");
    for line in report::closing_lines(&outcomes, peer) {
        println!("{line}");
    }
    Ok(())
}

fn failed(scenario: &str, target: &'static str, err: anyhow::Error) -> ScenarioResult {
    let name: &'static str = ALL.iter().find(|s| **s == scenario).copied().unwrap_or("unknown");
    ScenarioResult::skipped(name, target, format!("failed: {err:#}"))
}

/// The 1-minute load average (2.0 = both cores busy).
fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned()));
    serde_json::json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
    })
}
