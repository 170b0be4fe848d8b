//! Wake-from-sleep and network-up both mean "the connection may be dead or may work again now":
//! either one calls `reconnect_now()` instead of waiting out a backoff or a heartbeat timeout.
//!
//! Sleep is seen as a jump of the wall clock between two ticks; the network coming up as a
//! default route appearing (Linux `/proc/net/route`). Both are cheap polls that need no session
//! bus, so they also work on minimal desktops.

use std::time::{Duration, SystemTime};

use tauri::{AppHandle, Manager};

const TICK: Duration = Duration::from_secs(5);
/// A tick that took this much longer than planned means the machine was asleep.
const SLEEP_GAP: Duration = Duration::from_secs(20);

/// Whether some default route exists (always true where it cannot be told).
fn has_default_route() -> bool {
    #[cfg(target_os = "linux")]
    {
        match std::fs::read_to_string("/proc/net/route") {
            // Columns: Iface Destination Gateway …; a default route has destination 00000000.
            Ok(table) => table.lines().skip(1).any(|line| line.split_whitespace().nth(1) == Some("00000000")),
            Err(_) => true,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// Whether the wall clock moved much further than the monotonic tick (a suspend).
fn woke_up(before: SystemTime, now: SystemTime, planned: Duration) -> bool {
    now.duration_since(before).is_ok_and(|elapsed| elapsed > planned + SLEEP_GAP)
}

pub fn spawn(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let mut last = SystemTime::now();
        let mut route = has_default_route();
        loop {
            tokio::time::sleep(TICK).await;
            let now = SystemTime::now();
            let route_now = has_default_route();
            let woke = woke_up(last, now, TICK);
            let network_up = route_now && !route;
            if woke || network_up {
                tracing::info!(woke, network_up, "reconnecting now");
                if let Ok(engine) = app.state::<crate::profile::ActiveProfile>().engine() {
                    engine.reconnect_now();
                }
            }
            last = now;
            route = route_now;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_jump_is_a_wake_up() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert!(!woke_up(t, t + TICK, TICK), "an on-time tick is no wake-up");
        assert!(!woke_up(t, t + TICK + Duration::from_secs(3), TICK), "a slow tick is no wake-up");
        assert!(woke_up(t, t + Duration::from_secs(600), TICK), "ten minutes asleep");
        assert!(!woke_up(t, t - Duration::from_secs(600), TICK), "a clock set back is no wake-up");
    }
}
