//! CPU time and resident memory of a process, and the machine's load, read from `/proc`.

use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`; 100 on every Linux we know).
fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// User and system (kernel) CPU time the process has used so far, all threads included.
pub fn cpu_times(pid: u32) -> (Duration, Duration) {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return (Duration::ZERO, Duration::ZERO);
    };
    // The command name (field 2) may hold spaces; fields are counted after its closing paren.
    let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else { return (Duration::ZERO, Duration::ZERO) };
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the paren: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    let secs = |t: u64| Duration::from_secs_f64(t as f64 / ticks_per_second());
    (secs(ticks(11)), secs(ticks(12)))
}

/// Resident set size in KiB (`VmRSS`), or 0 when the process is gone.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time and wall time between two moments, for "CPU seconds per wall second".
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    pid: u32,
    user: Duration,
    system: Duration,
    at: std::time::Instant,
}

impl CpuMark {
    /// Marks now.
    pub fn now(pid: u32) -> CpuMark {
        let (user, system) = cpu_times(pid);
        CpuMark { pid, user, system, at: std::time::Instant::now() }
    }

    /// CPU seconds used since the mark, and wall seconds elapsed.
    pub fn since(&self) -> (f64, f64) {
        let (user, system) = self.split_since();
        (user + system, self.at.elapsed().as_secs_f64())
    }

    /// User and system CPU seconds used since the mark (kernel time is mostly the socket
    /// syscalls, user time the process's own work).
    pub fn split_since(&self) -> (f64, f64) {
        let (user, system) = cpu_times(self.pid);
        (user.saturating_sub(self.user).as_secs_f64(), system.saturating_sub(self.system).as_secs_f64())
    }
}

/// The machine's 1-minute load average: how busy the cores were that a run shared.
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}
