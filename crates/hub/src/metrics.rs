//! Prometheus metrics served at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The hub's metrics.
pub struct Metrics {
    registry: Registry,
    /// Open, authenticated gateway sessions.
    pub sessions: Gauge,
    /// Open WebSocket connections, authenticated or not.
    pub connections: Gauge,
    /// Messages stored (resends of the same `client_msg_id` not counted).
    pub messages_stored: Counter,
    /// Events handed to sessions (one per recipient session).
    pub events_dispatched: Counter,
    /// Time from receiving an op to having handed its events to every recipient session.
    pub dispatch_latency: Histogram,
    /// Messages stored per group commit (one transaction).
    pub commit_batch: Histogram,
    /// Time a database call waited for a connection of the bounded pool (PostgreSQL).
    pub db_pool_wait: Histogram,
    /// From publishing an event on one hub to its arrival on another (`--redis`).
    pub redis_pubsub_lag: Histogram,
    /// Times the Redis subscriber connected again after losing its connection.
    pub redis_reconnects: Counter,
    /// Batches of publishes tried again because Redis did not answer.
    pub redis_publish_retries: Counter,
    /// Events read from the database and handed out because this hub may have missed them.
    pub cluster_caught_up: Counter,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("rapport");
        let sessions = Gauge::default();
        registry.register("gateway_sessions", "Open authenticated gateway sessions", sessions.clone());
        let connections = Gauge::default();
        registry.register("gateway_connections", "Open gateway WebSocket connections", connections.clone());
        let messages_stored = Counter::default();
        registry.register("messages_stored", "Messages stored", messages_stored.clone());
        let events_dispatched = Counter::default();
        registry.register("events_dispatched", "Events handed to gateway sessions", events_dispatched.clone());
        // 10 µs … ~5 s.
        let dispatch_latency = Histogram::new(exponential_buckets(0.000_01, 2.5, 15));
        registry.register(
            "dispatch_latency_seconds",
            "From receiving an op to its events being queued for every recipient",
            dispatch_latency.clone(),
        );
        // 1 … 1024.
        let commit_batch = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        registry.register("commit_batch_messages", "Messages stored per group commit", commit_batch.clone());
        // 10 µs … ~9 s: past the default acquire timeout (5 s), so a saturated pool shows.
        let db_pool_wait = Histogram::new(exponential_buckets(0.000_01, 2.5, 16));
        registry.register(
            "db_pool_wait_seconds",
            "Time a database call waited for a pooled connection (PostgreSQL)",
            db_pool_wait.clone(),
        );
        // 100 µs … ~15 s.
        let redis_pubsub_lag = Histogram::new(exponential_buckets(0.000_1, 2.5, 14));
        registry.register(
            "redis_pubsub_lag_seconds",
            "From an event published on one hub to its arrival on another (the two hubs' clocks)",
            redis_pubsub_lag.clone(),
        );
        let redis_reconnects = Counter::default();
        registry.register("redis_reconnects", "Times the Redis subscriber connected again after losing its connection", redis_reconnects.clone());
        let redis_publish_retries = Counter::default();
        registry.register("redis_publish_retries", "Batches of publishes tried again because Redis did not answer", redis_publish_retries.clone());
        let cluster_caught_up = Counter::default();
        registry.register(
            "cluster_caught_up_events",
            "Message events read from the database because this hub may have missed them",
            cluster_caught_up.clone(),
        );
        Metrics {
            registry,
            sessions,
            connections,
            messages_stored,
            events_dispatched,
            dispatch_latency,
            commit_batch,
            db_pool_wait,
            redis_pubsub_lag,
            redis_reconnects,
            redis_publish_retries,
            cluster_caught_up,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
