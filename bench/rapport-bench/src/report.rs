//! Results: one [`ScenarioResult`] per scenario and target, the human table, the JSON summary and the
//! closing comparison lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// Which way is better for a headline figure.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Smaller is better (latency, bytes, seconds).
    Lower,
    /// Larger is better (throughput).
    Higher,
}

/// The figure a scenario is judged by, and its goal.
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// Metric key.
    pub key: &'static str,
    /// Shown as.
    pub label: &'static str,
    /// Direction.
    pub better: Better,
    /// The goal for Rapport, in the metric's unit.
    pub goal: Option<f64>,
}

/// One scenario against one target.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// Scenario name.
    pub scenario: &'static str,
    /// Target name.
    pub target: &'static str,
    /// The scale it ran at, in words.
    pub scale: String,
    /// Figures, by key.
    pub metrics: BTreeMap<String, f64>,
    /// Remarks (skips, anomalies).
    pub notes: Vec<String>,
    /// Set when the scenario did not run.
    pub skipped: Option<String>,
}

impl ScenarioResult {
    /// An empty outcome.
    pub fn new(scenario: &'static str, target: &'static str, scale: String) -> ScenarioResult {
        ScenarioResult { scenario, target, scale, metrics: BTreeMap::new(), notes: Vec::new(), skipped: None }
    }

    /// A scenario that did not run, and why.
    pub fn skipped(scenario: &'static str, target: &'static str, why: String) -> ScenarioResult {
        let mut o = ScenarioResult::new(scenario, target, String::new());
        o.skipped = Some(why);
        o
    }

    /// Records a figure.
    pub fn set(&mut self, key: &str, value: f64) {
        self.metrics.insert(key.to_owned(), value);
    }

    /// A figure, if recorded.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).copied()
    }
}

/// The headline of each scenario.
pub fn headline(scenario: &str) -> Option<Headline> {
    let h = |key, label, better, goal| Some(Headline { key, label, better, goal });
    match scenario {
        "latency" => h("latency_p99_ms", "DM p99 ms", Better::Lower, Some(5.0)),
        "fanout" => h("deliveries_per_cpu_s", "deliveries/CPU-s", Better::Higher, Some(1_000_000.0)),
        "idle" => h("rss_per_session_bytes", "RSS B/session", Better::Lower, Some(6144.0)),
        "storm" => h("recovered_s", "storm recover s", Better::Lower, Some(3.0)),
        "client" => h("fts_p95_ms", "FTS p95 ms", Better::Lower, Some(30.0)),
        "desktop" => h("idle_rss_mib", "idle RSS MiB", Better::Lower, None),
        "scaleout" => h("ceiling_msg_per_s", "ceiling msg/s", Better::Higher, None),
        _ => None,
    }
}

fn fmt(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// Every scenario's figures, one column per target.
pub fn table(outcomes: &[ScenarioResult]) -> String {
    let mut out = String::new();
    let mut scenarios: Vec<&str> = outcomes.iter().map(|o| o.scenario).collect();
    scenarios.dedup();
    for scenario in scenarios {
        let runs: Vec<&ScenarioResult> = outcomes.iter().filter(|o| o.scenario == scenario).collect();
        let _ = writeln!(out, "\n== {scenario} ==");
        for run in &runs {
            match &run.skipped {
                Some(why) => {
                    let _ = writeln!(out, "  {}: skipped: {why}", run.target);
                }
                None => {
                    let _ = writeln!(out, "  {} at {}", run.target, run.scale);
                }
            }
            for note in &run.notes {
                let _ = writeln!(out, "  {}: note: {note}", run.target);
            }
        }
        let mut keys: Vec<&String> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
        keys.sort();
        keys.dedup();
        let _ = write!(out, "  {:<32}", "metric");
        for run in &runs {
            let _ = write!(out, "{:>18}", run.target);
        }
        out.push('\n');
        for key in keys {
            let _ = write!(out, "  {key:<32}");
            for run in &runs {
                let cell = run.get(key).map(fmt).unwrap_or_else(|| "-".into());
                let _ = write!(out, "{cell:>18}");
            }
            out.push('\n');
        }
    }
    out
}

/// The ratio "how many times better is Rapport" for a headline: > 1 means Rapport is better.
pub fn ratio(h: &Headline, rapport: f64, peer: f64) -> Option<f64> {
    let r = match h.better {
        Better::Lower => peer / rapport,
        Better::Higher => rapport / peer,
    };
    r.is_finite().then_some(r)
}

/// One closing line per scenario: Rapport's figure, the peer's, the ratio, and the goal.
pub fn closing_lines(outcomes: &[ScenarioResult], peer: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut scenarios: Vec<&str> = outcomes.iter().map(|o| o.scenario).collect();
    scenarios.dedup();
    for scenario in scenarios {
        let Some(h) = headline(scenario) else { continue };
        let find = |t: &str| outcomes.iter().find(|o| o.scenario == scenario && o.target == t);
        let Some(rapport) = find("rapport") else { continue };
        if let Some(why) = &rapport.skipped {
            lines.push(format!("{scenario:<8} skipped: {why}"));
            continue;
        }
        let Some(r) = rapport.get(h.key) else { continue };
        let goal = h.goal.map(|g| {
            let met = match h.better {
                Better::Lower => r <= g,
                Better::Higher => r >= g,
            };
            format!("  goal {} {}: {}", if h.better == Better::Lower { "≤" } else { "≥" }, fmt(g), if met { "met" } else { "MISSED" })
        });
        let peer_part = match find(peer).filter(|p| p.skipped.is_none()).and_then(|p| p.get(h.key)) {
            Some(p) => {
                let ratio = ratio(&h, r, p).map(|x| format!("{x:.1}×")).unwrap_or_else(|| "n/a".into());
                format!("{peer} {:>10}  ratio {ratio:>7}", fmt(p))
            }
            None => format!("{peer} {:>10}  ratio {:>7}", "n/a", "n/a"),
        };
        lines.push(format!("{scenario:<8} {:<18} rapport {:>10}  {peer_part}{}", h.label, fmt(r), goal.unwrap_or_default()));
    }
    lines
}
