//! Running the binary with a profile.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_rapport-cli");
pub const PASSWORD: &str = "correct horse battery";

/// One profile (one device) of the CLI.
pub struct Profile {
    pub dir: tempfile::TempDir,
    pub hub: String,
}

/// What one run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Every stdout line as JSON.
    pub fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("--json lines must be JSON ({e}): {l:?}")))
            .collect()
    }

    /// The one JSON line.
    pub fn json(&self) -> Value {
        let lines = self.lines();
        assert_eq!(lines.len(), 1, "expected one JSON line: {self:?}");
        lines.into_iter().next().unwrap()
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Profile {
    pub fn new(hub: &str) -> Profile {
        Profile { dir: tempfile::tempdir().expect("profile dir"), hub: hub.to_owned() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The command with `RAPPORT_HUB` and `RAPPORT_PROFILE` set (the env vars of the contract).
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.args(args)
            .env("RAPPORT_HUB", &self.hub)
            .env("RAPPORT_PROFILE", self.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs to completion (at most 60 s).
    pub async fn run(&self, args: &[&str]) -> Run {
        let out = tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("rapport-cli {args:?} did not finish within 60 s"))
            .expect("run rapport-cli");
        out.into()
    }

    /// Runs and requires exit 0.
    pub async fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args).await;
        assert_eq!(run.code, 0, "rapport-cli {args:?} must succeed: {run:?}");
        run
    }

    /// Registers a fresh account (recruiter unless told) and returns its email and id.
    pub async fn register(&self, name: &str, role: &str) -> (String, String) {
        let email = unique_email(name);
        let run = self.ok(&["--json", "register", "--email", &email, "--password", PASSWORD, "--name", name, "--role", role]).await;
        let user = run.json();
        assert_eq!(user["email"], email.as_str(), "register prints the user");
        (email, user["id"].as_str().expect("id").to_owned())
    }
}

pub fn unique_email(name: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}-{}@example.test", name.to_lowercase().replace(char::is_whitespace, "-"), std::process::id())
}
