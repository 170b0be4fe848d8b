//! `client`: the client engine (`rapport-client`) with a large cache: insert throughput while
//! it catches up a large history, open-conversation page time, full-text search p50/p95, and
//! catch-up time of messages missed while it was offline.
//!
//! The hub's history is seeded directly in its SQLite file while it is stopped (sending a
//! million messages through the gateway would take the hub's per-session rate limit times a
//! million); the engine then fetches all of it through the hub's REST pages, exactly as after
//! a long time offline, and writes it into its cache (SQLite + FTS5). The missed messages at the
//! end are sent through the gateway by another user while the engine is stopped.
//!
//! Bodies are sentences of synthetic words whose frequencies follow a Zipf-like law, so a
//! search hits anything from a few to tens of thousands of messages.

use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use rapport_client::{Engine, EngineConfig, Role, TokenStoreKind};
use sqlx::{Connection as _, SqliteConnection};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::api::Api;
use crate::report::ScenarioResult;
use crate::runner::histogram;
use crate::server::{Programs, Server, Target};
use crate::wire::{self, Incoming};

/// How big.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Messages in the cache.
    pub messages: usize,
    /// Conversations they are spread over.
    pub conversations: usize,
    /// Messages missed while offline, caught up at once.
    pub missed: usize,
}

const VOCABULARY: usize = 20_000;
const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "gu", "de", "fi", "ho", "ju", "be", "ca", "do", "el", "in",
    "or", "um", "ya", "xe",
];

/// The `rank`-th word of the synthetic language.
fn word(rank: usize) -> String {
    let mut n = rank + 1;
    let mut w = String::new();
    while n > 0 {
        w.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
    }
    w
}

/// A small deterministic generator (xorshift), so every run has the same history.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A rank drawn with probability about 1/rank.
    fn rank(&mut self) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((VOCABULARY as f64).powf(u) as usize).saturating_sub(1).min(VOCABULARY - 1)
    }

    fn sentence(&mut self) -> String {
        let len = 4 + (self.next() % 12) as usize;
        (0..len).map(|_| word(self.rank())).collect::<Vec<_>>().join(" ")
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Runs the scenario (Rapport only: the Socket.IO stack has no client cache to compare).
pub async fn run(programs: &Programs, scale: &Scale) -> anyhow::Result<ScenarioResult> {
    let text = format!(
        "{} messages in {} conversations, {} missed",
        scale.messages, scale.conversations, scale.missed
    );
    let mut outcome = ScenarioResult::new("client", "rapport", text);
    let mut server = Server::start(Target::Rapport, programs).await?;
    let api = Api::new(Target::Rapport, server.base_url());
    let profile = tempfile::Builder::new().prefix("rapport-bench-profile-").tempdir()?;
    let config = EngineConfig { hub_url: server.base_url(), profile_dir: profile.path().to_owned(), token_store: TokenStoreKind::File };
    let engine = Engine::open(config.clone()).await?;
    let me = engine.register("reader@bench.invalid", "bench-password-1", "Reader", Role::Candidate).await?;
    let other = api.register("writer").await?;
    let mut conversations = Vec::new();
    for i in 0..scale.conversations {
        conversations.push(engine.start_group(&format!("history {i}"), std::slice::from_ref(&other.user_id)).await?.id);
    }

    // Seed the hub's history while it is stopped.
    server.kill().await?;
    let seeded = Instant::now();
    seed(&server.data_dir().join("hub.db"), &conversations, &other.user_id, scale.messages).await?;
    outcome.set("seed_s", seeded.elapsed().as_secs_f64());
    server.respawn()?;
    server.wait_ready(Duration::from_secs(30)).await?;

    // The engine catches all of it up: REST pages from the hub into its cache.
    let started = Instant::now();
    let engine_cpu = crate::procfs::CpuMark::now(std::process::id());
    engine.sync(Duration::from_secs(1800)).await?;
    let took = started.elapsed().as_secs_f64();
    let (cpu, _) = engine_cpu.since();
    outcome.set("catch_up_all_s", took);
    outcome.set("insert_per_s", scale.messages as f64 / took);
    outcome.set("engine_cpu_s", cpu);
    let held: usize = {
        let mut n = 0;
        for c in &conversations {
            n += engine.cached_seqs(c).await?.len();
        }
        n
    };
    outcome.set("cached_messages", held as f64);

    // Opening a conversation: its newest page, and one page further back.
    let mut page = histogram();
    for round in 0..50 {
        let c = &conversations[round % conversations.len()];
        let t = Instant::now();
        let newest = engine.history(c, None, 50).await?;
        let _ = page.record(t.elapsed().as_micros() as u64);
        let before = newest.messages.first().and_then(|m| m.seq);
        let t = Instant::now();
        let _ = engine.history(c, before, 50).await?;
        let _ = page.record(t.elapsed().as_micros() as u64);
    }
    outcome.set("page_p50_ms", ms(&page, 0.5));
    outcome.set("page_p95_ms", ms(&page, 0.95));
    outcome.set("page_max_ms", page.max() as f64 / 1000.0);

    // Search: single words from frequent to rare, and two-word queries.
    let mut search = histogram();
    let mut hits = 0usize;
    let mut words = Words(0x5eed_1234);
    for i in 0..200 {
        let query = if i % 4 == 3 {
            format!("{} {}", word(words.rank()), word(words.rank()))
        } else {
            word((i * 97) % 2000)
        };
        let t = Instant::now();
        hits += engine.search(&query, 20).await?.len();
        let _ = search.record(t.elapsed().as_micros() as u64);
    }
    outcome.set("fts_p50_ms", ms(&search, 0.5));
    outcome.set("fts_p95_ms", ms(&search, 0.95));
    outcome.set("fts_max_ms", search.max() as f64 / 1000.0);
    outcome.set("fts_hits_per_query", hits as f64 / 200.0);

    // Offline while `missed` messages arrive; then one sync.
    engine.shutdown().await;
    send_missed(&server, &other.token, &conversations[0], scale.missed).await?;
    let started = Instant::now();
    engine.sync(Duration::from_secs(600)).await?;
    outcome.set("catch_up_missed_s", started.elapsed().as_secs_f64());
    let expected = scale.messages / scale.conversations + scale.missed;
    let got = engine.cached_seqs(&conversations[0]).await?.len();
    outcome.set("missed_lost", expected.saturating_sub(got) as f64);
    let _ = me;
    engine.shutdown().await;
    server.stop().await;
    Ok(outcome)
}

/// Writes `total` messages from `sender` into the stopped hub's database, spread evenly.
async fn seed(db: &std::path::Path, conversations: &[String], sender: &str, total: usize) -> anyhow::Result<()> {
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display())).await?;
    let per = total / conversations.len();
    let mut words = Words(0x1234_5678_9abc);
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    for (c, conversation_id) in conversations.iter().enumerate() {
        let mut seq = 0i64;
        while (seq as usize) < per {
            let mut tx = conn.begin().await?;
            for _ in 0..5000.min(per - seq as usize) {
                seq += 1;
                sqlx::query(
                    "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(format!("seed-{c}-{seq}"))
                .bind(conversation_id)
                .bind(seq)
                .bind(sender)
                .bind(format!("seed-{c}-{seq}"))
                .bind(words.sentence())
                .bind(now_ms - per as i64 + seq)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        sqlx::query("UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ?")
            .bind(seq)
            .bind(now_ms)
            .bind(conversation_id)
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

/// Sends `count` messages into `conversation_id` over the gateway, 200 per session (the
/// protocol's burst), all sessions at once; returns when every one is acknowledged.
async fn send_missed(server: &Server, token: &str, conversation_id: &str, count: usize) -> anyhow::Result<()> {
    let per_session = 200;
    let sessions = count.div_ceil(per_session);
    let mut tasks = Vec::new();
    for s in 0..sessions {
        let n = per_session.min(count - s * per_session);
        let opened = wire::open(Target::Rapport, server.addr, token, None, &mut |_| {}).await?;
        let conversation_id = conversation_id.to_owned();
        tasks.push(tokio::spawn(async move {
            let (mut sink, mut stream) = opened.ws.split();
            for i in 0..n {
                let body = format!("missed {s} {i}");
                let frame = wire::send_frame(Target::Rapport, i as u64, &conversation_id, &format!("missed-{s}-{i}"), &body);
                sink.send(WsMessage::text(frame)).await?;
            }
            let mut acked = 0;
            while acked < n {
                let Some(Ok(WsMessage::Text(text))) = stream.next().await else { anyhow::bail!("closed") };
                match wire::classify(Target::Rapport, &text) {
                    Incoming::Ack { .. } => acked += 1,
                    Incoming::Error => anyhow::bail!("send refused: {text}"),
                    _ => {}
                }
            }
            let _ = sink.close().await;
            Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}
