//! Many sessions at once (WebSocket or long-polled): open them with bounded concurrency, run
//! them through a warm-up, a measured window and a drain, stop them, add up.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt as _, TryStreamExt as _};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::polled;
use crate::procfs::CpuMark;
use crate::runner::{self, now_us, SendPlan, Stats, Window};
use crate::server::{self, Target};
use crate::wire::{self, Opened};

/// Handshakes in flight at once: enough to keep both processes busy, few enough to stay under
/// the listen backlog (a SYN dropped there costs a 1 s retransmission).
pub const OPEN_CONCURRENCY: usize = 128;

/// Opens one session per token, in order.
pub async fn open_all(target: Target, addr: SocketAddr, tokens: &[String]) -> anyhow::Result<Vec<Opened>> {
    stream::iter(tokens.iter())
        .map(|token| async move { wire::open(target, addr, token, None, &mut |_| {}).await })
        .buffered(OPEN_CONCURRENCY)
        .try_collect()
        .await
}

/// What one running session does.
pub struct Role {
    /// Messages it sends, if any.
    pub plan: Option<SendPlan>,
    /// Whether it records latency.
    pub measure: bool,
}

/// Running sessions.
pub struct Fleet {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Stats>>,
}

impl Fleet {
    /// Starts a runner task for every opened session.
    pub fn start(target: Target, sessions: Vec<(Opened, Role)>, window: Window) -> Fleet {
        let (stop, stop_rx) = watch::channel(false);
        let tasks = sessions
            .into_iter()
            .map(|(opened, role)| tokio::spawn(runner::run(target, opened, role.plan, window, role.measure, stop_rx.clone())))
            .collect();
        Fleet { stop, tasks }
    }

    /// Opens a long-polled session per token, in order, spread evenly over `over`, and starts
    /// polling each as soon as it is open: their polls are then held and answered at evenly
    /// spread moments, as the runner spreads WebSocket pings. `measure`: whether they record
    /// latency.
    pub async fn open_polled(http: &reqwest::Client, base: &str, tokens: &[String], over: Duration, window: Window, measure: bool) -> anyhow::Result<Fleet> {
        let (stop, stop_rx) = watch::channel(false);
        let start = tokio::time::Instant::now();
        let step = over / tokens.len().max(1) as u32;
        // On an error the sessions already polling end too: `stop` is dropped.
        let tasks = stream::iter(tokens.iter().enumerate())
            .map(|(i, token)| {
                let stop = stop_rx.clone();
                async move {
                    tokio::time::sleep_until(start + step * i as u32).await;
                    let session = polled::open(http, base, token).await?;
                    Ok::<_, anyhow::Error>(tokio::spawn(polled::run(session, window, measure, stop)))
                }
            })
            .buffered(OPEN_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(Fleet { stop, tasks })
    }

    /// Stops every session and adds up what they saw.
    pub async fn stop(self) -> Stats {
        let _ = self.stop.send(true);
        let mut totals = Stats::default();
        for task in self.tasks {
            if let Ok(stats) = task.await {
                totals.add(stats);
            }
        }
        totals
    }

    /// Waits out the warm-up, measures the CPU of `hubs` and `helpers` (and of this process)
    /// over the measured window, waits for the last deliveries, then stops every session.
    /// `RAPPORT_BENCH_ON_MEASURE`/`…_END` run for each hub at the window's edges.
    pub async fn measure(self, phases: Phases, hubs: &[u32], helpers: &[u32]) -> Measured {
        tokio::time::sleep(phases.warmup).await;
        hubs.iter().for_each(|&pid| server::hook("RAPPORT_BENCH_ON_MEASURE", pid));
        let marks = |pids: &[u32]| pids.iter().map(|&pid| CpuMark::now(pid)).collect::<Vec<_>>();
        let (hub_marks, helper_marks, own_mark) = (marks(hubs), marks(helpers), CpuMark::now(std::process::id()));
        let window_start = Instant::now();
        tokio::time::sleep(phases.measure).await;
        let (hubs_cpu, helpers_cpu) = (CpuUse::since(&hub_marks), CpuUse::since(&helper_marks));
        let generator = CpuUse::since(std::slice::from_ref(&own_mark));
        let wall_s = window_start.elapsed().as_secs_f64().max(f64::EPSILON);
        hubs.iter().for_each(|&pid| server::hook("RAPPORT_BENCH_ON_MEASURE_END", pid));
        tokio::time::sleep(phases.drain).await;
        Measured { totals: self.stop().await, hubs: hubs_cpu, helpers: helpers_cpu, generator, wall_s }
    }
}

/// The phases of a measured run: a warm-up that is not counted, the measured window, and a
/// drain for the deliveries still on their way when the senders stop.
#[derive(Debug, Clone, Copy)]
pub struct Phases {
    /// Not measured.
    pub warmup: Duration,
    /// Measured.
    pub measure: Duration,
    /// Wait for the last deliveries after the senders stop.
    pub drain: Duration,
}

impl Phases {
    /// The measured window on the runner's clock if the run starts now, and when senders stop
    /// (the window's end).
    pub fn start_now(&self) -> (Window, Instant) {
        let start = now_us();
        let window = Window {
            from_us: start + self.warmup.as_micros() as u64,
            to_us: start + (self.warmup + self.measure).as_micros() as u64,
        };
        (window, Instant::now() + self.warmup + self.measure)
    }
}

/// CPU seconds used during the measured window, by user code and in the kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// User time.
    pub user_s: f64,
    /// System (kernel) time: mostly the socket syscalls.
    pub system_s: f64,
}

impl CpuUse {
    fn since(marks: &[CpuMark]) -> CpuUse {
        marks.iter().map(CpuMark::split_since).fold(CpuUse::default(), |sum, (user_s, system_s)| CpuUse {
            user_s: sum.user_s + user_s,
            system_s: sum.system_s + system_s,
        })
    }

    /// User and system time together.
    pub fn total_s(&self) -> f64 {
        self.user_s + self.system_s
    }
}

/// What a measured run found.
pub struct Measured {
    /// Every session's statistics added up.
    pub totals: Stats,
    /// CPU of the hub processes in the window.
    pub hubs: CpuUse,
    /// CPU of the helper processes (Redis, nginx) in the window.
    pub helpers: CpuUse,
    /// CPU of this process (the load generator) in the window.
    pub generator: CpuUse,
    /// Wall seconds of the window.
    pub wall_s: f64,
}

impl Measured {
    /// Percent of one core that `cpu` used in the window.
    pub fn pct(&self, cpu: f64) -> f64 {
        100.0 * cpu / self.wall_s
    }

    /// Records the server's and the generator's CPU use (percent of one core).
    pub fn record_cpu(&self, outcome: &mut crate::report::ScenarioResult) {
        outcome.set("server_cpu_pct", self.pct(self.hubs.total_s()));
        outcome.set("server_user_cpu_pct", self.pct(self.hubs.user_s));
        outcome.set("server_system_cpu_pct", self.pct(self.hubs.system_s));
        outcome.set("generator_cpu_pct", self.pct(self.generator.total_s()));
    }
}
