//! CPU time and resident memory of a process, read from `/proc`.

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

/// User plus system CPU time the process has used so far, all threads included.
pub fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // The command name (field 2) may hold spaces; fields are counted after its closing paren.
    let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else { return Duration::ZERO };
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the paren: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum();
    Duration::from_secs_f64(ticks as f64 / ticks_per_second())
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
    cpu: Duration,
    at: std::time::Instant,
}

impl CpuMark {
    /// Marks now.
    pub fn now(pid: u32) -> CpuMark {
        CpuMark { pid, cpu: cpu_time(pid), at: std::time::Instant::now() }
    }

    /// CPU seconds used since the mark, and wall seconds elapsed.
    pub fn since(&self) -> (f64, f64) {
        let cpu = cpu_time(self.pid).saturating_sub(self.cpu).as_secs_f64();
        (cpu, self.at.elapsed().as_secs_f64())
    }
}
