//! A long-polled Rapport session (protocol 1.1 §4), as the engine's HTTP fallback carries one:
//! `POST /v1/poll/open`, then always one `POST /v1/poll/{session_id}` waiting at the hub, sent
//! again as soon as it is answered, with the last event seq seen. Idle, it sends no ops: a poll
//! counts as the client being alive, so the held poll is the session's heartbeat.
//!
//! Every session has a kept-alive HTTP/1.1 connection of its own (a held request occupies
//! one); the requests of all sessions go through one `reqwest` pool, which hands each
//! session's next poll the connection its last answer freed. What a session receives is
//! counted in the runner's [`Stats`], frames classified as the WebSocket's are.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context as _;
use rapport_protocol::poll::{PollAnswer, PollOpen, PollOpened, POLL_HOLD_MS};
use rapport_protocol::rest::ChosenStatus;
use tokio::sync::watch;

use crate::runner::{count_message, now_us, Stats, Window};
use crate::server::Target;
use crate::wire::{self, Incoming};

/// Room on top of the hub's hold before a poll counts as lost.
const NETWORK_ROOM: Duration = Duration::from_secs(10);

/// The HTTP client every polled session shares: its pool keeps one connection per session.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        // Longer than a hold, so a connection is never dropped between two polls.
        .pool_idle_timeout(Duration::from_secs(120))
        .build()
        .expect("http client")
}

/// An opened session, not yet polled.
pub struct PolledSession {
    http: reqwest::Client,
    url: String,
    /// How long the hub holds an idle poll.
    hold: Duration,
}

/// Opens one session for `token` on the hub at `base` (`http://127.0.0.1:PORT`).
pub async fn open(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<PolledSession> {
    let request = PollOpen { token: token.into(), presence: ChosenStatus::Online };
    let response = http.post(format!("{base}/v1/poll/open")).json(&request).timeout(wire::OPEN_TIMEOUT).send().await?;
    let status = response.status();
    let body = response.text().await?;
    anyhow::ensure!(status.is_success(), "poll open answered {status}: {body}");
    let opened: PollOpened = serde_json::from_str(&body).context("poll open answer")?;
    Ok(PolledSession {
        http: http.clone(),
        url: format!("{base}/v1/poll/{}", opened.session_id),
        hold: Duration::from_millis(opened.heartbeat_interval_ms.min(POLL_HOLD_MS)),
    })
}

/// Polls until `stop` changes; returns what the session saw. `polls_in_window` counts the
/// answers, `heartbeats_in_window` the empty ones (the hold ran out).
pub async fn run(session: PolledSession, window: Window, measure_latency: bool, mut stop: watch::Receiver<bool>) -> Stats {
    let mut stats = Stats::default();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut last_seq = 0u64;
    loop {
        let request = session
            .http
            .post(&session.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(format!(r#"{{"ops":[],"last_seq":{last_seq}}}"#))
            .timeout(session.hold + NETWORK_ROOM);
        let answer = tokio::select! {
            _ = stop.changed() => break,
            answer = poll(request) => answer,
        };
        let Ok(answer) = answer else {
            stats.dropped = 1;
            break;
        };
        let now = now_us();
        let in_window = window.contains(now);
        if in_window {
            stats.polls_in_window += 1;
            stats.frames_in_window += answer.frames.len() as u64;
            if answer.frames.is_empty() {
                stats.heartbeats_in_window += 1;
            }
        }
        for frame in &answer.frames {
            let text = frame.get();
            if let Some(seq) = wire::event_seq(text) {
                last_seq = last_seq.max(seq);
            }
            match wire::classify(Target::Rapport, text) {
                Incoming::Message(m) => count_message(&mut stats, &mut seen, window, measure_latency, now, m.body),
                Incoming::Error => stats.errors += 1,
                _ => {}
            }
        }
        if answer.closed.is_some() {
            stats.dropped = 1;
            break;
        }
    }
    stats
}

/// One poll's answer; a status other than 200 is a failure.
async fn poll(request: reqwest::RequestBuilder) -> anyhow::Result<PollAnswer> {
    let response = request.send().await?.error_for_status()?;
    Ok(serde_json::from_slice(&response.bytes().await?)?)
}
