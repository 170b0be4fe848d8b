//! The scenarios. Each one starts its own server, sets up users and conversations over REST,
//! runs, and returns an [`ScenarioResult`](crate::report::ScenarioResult).

pub mod client;
pub mod desktop;
pub mod fanout;
pub mod idle;
pub mod latency;
pub mod poll;
pub mod scaleout;
pub mod storm;

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::report::ScenarioResult;

/// Records p50, p99, p99.9 and max (ms) of a µs histogram under `prefix`.
pub fn record_latency(outcome: &mut ScenarioResult, prefix: &str, h: Option<&Histogram<u64>>) {
    let Some(h) = h else { return };
    let ms = |us: u64| us as f64 / 1000.0;
    outcome.set(&format!("{prefix}_p50_ms"), ms(h.value_at_quantile(0.50)));
    outcome.set(&format!("{prefix}_p99_ms"), ms(h.value_at_quantile(0.99)));
    outcome.set(&format!("{prefix}_p999_ms"), ms(h.value_at_quantile(0.999)));
    outcome.set(&format!("{prefix}_max_ms"), ms(h.max()));
}

/// Sessions of `tokens`, spread round-robin: session `i` belongs to user `i % tokens.len()`.
pub fn spread(tokens: &[String], sessions: usize) -> Vec<String> {
    (0..sessions).map(|i| tokens[i % tokens.len()].clone()).collect()
}

/// Whole seconds for the scale text.
pub fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}
