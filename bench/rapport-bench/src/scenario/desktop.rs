//! `desktop`: the desktop app (`rapport`, built by `tauri build`) as a user starts it: time from
//! launch to the first painted screen, memory of every app process once idle with 50
//! conversations, and the size of the `.deb`.
//!
//! The user is signed in beforehand through the engine (same profile directory, login in the
//! profile's 0600 file), so each launch goes straight to the conversation list. "First paint" is
//! the app's own `first paint` log line: the web UI reports it two animation frames after its
//! first screen, with the conversation list, was rendered. The time is taken here, from the
//! moment the process is spawned, so it includes loading the binary and starting WebKit.
//! Memory is summed over the app and every process it started (WebKit's web and network
//! processes): RSS, and PSS (shared pages split between the processes that map them).
//!
//! Needs an X display: without `DISPLAY` it starts its own `Xvfb`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rapport_client::{Engine, EngineConfig, Role, TokenStoreKind};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::api::Api;
use crate::report::ScenarioResult;
use crate::server::{Programs, Server, Target};

/// How big.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Conversations the signed-in user has.
    pub conversations: usize,
    /// Launches measured (cold start figures are the median).
    pub launches: usize,
    /// Idle time after the first paint before memory is read.
    pub settle: Duration,
}

/// How long a launch may take to paint before the scenario gives up.
const PAINT_DEADLINE: Duration = Duration::from_secs(60);

/// The release app next to this binary (`tauri build` puts it there).
pub fn default_app(target_dir: &Path) -> PathBuf {
    target_dir.join("rapport")
}

/// Runs the scenario, or reports it skipped when the app is not built or no display exists.
pub async fn run(programs: &Programs, app: &Path, scale: &Scale) -> anyhow::Result<ScenarioResult> {
    if !app.exists() {
        let why = format!("desktop app not built ({} absent; `cd ui && npx tauri build --bundles deb`)", app.display());
        println!("skipped: {why}");
        return Ok(ScenarioResult::skipped("desktop", "rapport", why));
    }
    let display = match Display::open().await {
        Ok(display) => display,
        Err(e) => {
            let why = format!("no X display: {e:#}");
            println!("skipped: {why}");
            return Ok(ScenarioResult::skipped("desktop", "rapport", why));
        }
    };
    let mut outcome = ScenarioResult::new(
        "desktop",
        "rapport",
        format!("{} conversations, {} launches, memory after {:?} idle", scale.conversations, scale.launches, scale.settle),
    );
    let server = Server::start(Target::Rapport, programs).await?;
    let home = tempfile::Builder::new().prefix("rapport-bench-desktop-").tempdir()?;
    let profile = home.path().join("profile");
    seed(&server, &profile, scale.conversations).await?;

    let mut paints = Vec::new();
    for launch in 0..scale.launches {
        let mut running = Launch::start(app, &server.base_url(), &profile, home.path(), &display.name).await?;
        let painted = running.wait_first_paint().await;
        let painted = match painted {
            Ok(painted) => painted,
            Err(e) => {
                running.stop().await;
                return Err(e);
            }
        };
        paints.push(painted.as_secs_f64() * 1000.0);
        if launch + 1 == scale.launches {
            tokio::time::sleep(scale.settle).await;
            let pids = running.process_tree();
            let rss: u64 = pids.iter().map(|&p| crate::procfs::rss_kib(p)).sum();
            let pss: u64 = pids.iter().map(|&p| pss_kib(p)).sum();
            outcome.set("processes", pids.len() as f64);
            outcome.set("idle_rss_mib", rss as f64 / 1024.0);
            outcome.set("idle_pss_mib", pss as f64 / 1024.0);
            outcome.set("app_process_rss_mib", crate::procfs::rss_kib(running.pid()) as f64 / 1024.0);
        }
        running.stop().await;
    }
    // The first launch also meets cold caches (WebKit's, the page cache's for a new binary).
    outcome.set("first_paint_ms_first_launch", paints.first().copied().unwrap_or(0.0));
    paints.sort_by(f64::total_cmp);
    outcome.set("first_paint_ms_median", paints[paints.len() / 2]);
    outcome.set("first_paint_ms_max", *paints.last().unwrap_or(&0.0));
    match newest_deb(&app.parent().unwrap_or(Path::new(".")).join("bundle/deb")) {
        Some((path, bytes)) => {
            outcome.set("deb_mib", bytes as f64 / (1024.0 * 1024.0));
            outcome.notes.push(format!("deb: {}", path.display()));
        }
        None => outcome.notes.push("no .deb found next to the app (tauri build --bundles deb)".into()),
    }
    outcome.set("binary_mib", std::fs::metadata(app)?.len() as f64 / (1024.0 * 1024.0));
    server.stop().await;
    Ok(outcome)
}

/// Signs the user in through the engine in `profile` and gives them `conversations`
/// conversations, each with a message, so the app opens on a full list.
async fn seed(server: &Server, profile: &Path, conversations: usize) -> anyhow::Result<()> {
    let api = Api::new(Target::Rapport, server.base_url());
    // Few other people (each registration is an argon2id hash), many conversations with them.
    let others = api.register_many("desktop-contact", 6).await?;
    let config = EngineConfig { hub_url: server.base_url(), profile_dir: profile.to_owned(), token_store: TokenStoreKind::File };
    let engine = Engine::open(config).await?;
    engine.register("recruiter@bench.invalid", "bench-password-1", "Recruiter", Role::Recruiter).await?;
    for (i, other) in others.iter().enumerate() {
        if i < conversations {
            let c = engine.start_direct(&other.user_id).await?;
            engine.send(&c.id, &format!("Hello contact {i}, are you open to a new role?")).await?;
        }
    }
    let ids: Vec<String> = others.iter().map(|o| o.user_id.clone()).collect();
    for i in others.len()..conversations {
        let members = [ids[i % ids.len()].clone(), ids[(i + 1) % ids.len()].clone()];
        let c = engine.start_group(&format!("Hiring loop {i}"), &members).await?;
        engine.send(&c.id, &format!("Interview slots for loop {i} are up")).await?;
    }
    engine.sync(Duration::from_secs(120)).await.context("seeding the desktop profile")?;
    engine.shutdown().await;
    Ok(())
}

/// One running app.
struct Launch {
    child: Child,
    started: Instant,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
}

impl Launch {
    async fn start(app: &Path, hub: &str, profile: &Path, home: &Path, display: &str) -> anyhow::Result<Launch> {
        let mut command = Command::new(app);
        command
            .env("DISPLAY", display)
            .env("RAPPORT_HUB", hub)
            .env("RAPPORT_PROFILE", profile)
            .env("RAPPORT_TOKEN_STORE", "file")
            .env("RAPPORT_LOG", "info")
            .env("NO_COLOR", "1")
            // Settings, window state and WebKit caches in a fresh place, not the user's.
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn().with_context(|| format!("starting {}", app.display()))?;
        let stderr = child.stderr.take().context("app stderr")?;
        Ok(Launch { child, started, lines: BufReader::new(stderr).lines() })
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Time from spawn to the app's `first paint` line.
    async fn wait_first_paint(&mut self) -> anyhow::Result<Duration> {
        let deadline = tokio::time::Instant::now() + PAINT_DEADLINE;
        let mut tail: Vec<String> = Vec::new();
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line()).await;
            match line {
                Ok(Ok(Some(line))) if line.contains("first paint") => return Ok(self.started.elapsed()),
                Ok(Ok(Some(line))) => {
                    tail.push(line);
                    if tail.len() > 20 {
                        tail.remove(0);
                    }
                }
                Ok(Ok(None)) | Ok(Err(_)) => bail!("the app exited before its first paint; its last log lines:\n{}", tail.join("\n")),
                Err(_) => bail!(
                    "no first paint within {PAINT_DEADLINE:?} (a plain `cargo build` binary loads the dev server: build with `tauri build`); last log lines:\n{}",
                    tail.join("\n")
                ),
            }
        }
    }

    /// The app and every process it started, directly or not.
    fn process_tree(&self) -> Vec<u32> {
        let root = self.pid();
        let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| Some((pid, parent_of(pid)?)))
            .collect();
        let mut tree = vec![root];
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i];
            tree.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
            i += 1;
        }
        tree
    }

    async fn stop(mut self) {
        let tree = self.process_tree();
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        // WebKit's helpers normally follow their parent; make sure none is left behind.
        for pid in tree.into_iter().skip(1) {
            let _ = std::process::Command::new("kill").arg("-KILL").arg(pid.to_string()).stderr(Stdio::null()).status();
        }
    }
}

/// The parent pid of `pid` (field 4 of `/proc/PID/stat`).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// Proportional set size in KiB (`/proc/PID/smaps_rollup`), 0 when unreadable.
fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Pss:"))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// The newest `.deb` in `dir` and its size.
fn newest_deb(dir: &Path) -> Option<(PathBuf, u64)> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "deb"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, e.path(), meta.len()))
        })
        .max_by_key(|(modified, _, _)| *modified)
        .map(|(_, path, len)| (path, len))
}

/// The X display the app runs on: the caller's, or an `Xvfb` started for the run.
struct Display {
    name: String,
    xvfb: Option<Child>,
}

impl Display {
    async fn open() -> anyhow::Result<Display> {
        if let Ok(name) = std::env::var("DISPLAY") {
            if !name.is_empty() {
                return Ok(Display { name, xvfb: None });
            }
        }
        let number = (90..160).find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists());
        let number = number.context("no free X display number")?;
        let name = format!(":{number}");
        let xvfb = Command::new("Xvfb")
            .args([name.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("DISPLAY is not set and Xvfb could not be started (apt-get install xvfb)")?;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            if Instant::now() > deadline {
                bail!("Xvfb did not open {name}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Display { name, xvfb: Some(xvfb) })
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        if let Some(xvfb) = self.xvfb.as_mut() {
            let _ = xvfb.start_kill();
        }
    }
}
