//! The hub's command line and the configuration it runs with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// `rapport-hub` command-line flags; each one can also come from its environment variable.
#[derive(Debug, Clone, Parser)]
#[command(name = "rapport-hub", version, about = "The Rapport hub (protocol v1)")]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "RAPPORT_LISTEN", default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,
    /// `sqlite://PATH` (default: hub.db in the data dir) or `postgres://...`.
    #[arg(long, env = "RAPPORT_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    /// Most PostgreSQL connections this hub opens at once.
    #[arg(long, env = "RAPPORT_DATABASE_POOL", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub database_pool: u32,
    /// Seconds a database call waits for a PostgreSQL connection before it fails with
    /// `unavailable` (it rides out a restart shorter than this).
    #[arg(long, env = "RAPPORT_DATABASE_TIMEOUT", default_value_t = 5.0)]
    pub database_timeout: f64,
    /// Redis URL (`redis://[:PASSWORD@]HOST:PORT[/DB]`): several hubs sharing one PostgreSQL
    /// and one Redis act as one.
    #[arg(long, env = "RAPPORT_REDIS_URL", hide_env_values = true)]
    pub redis: Option<String>,
    /// Prefix of every Redis channel and key of this deployment, so that several can share a
    /// Redis; the hubs of one deployment must agree on it.
    #[arg(long, env = "RAPPORT_REDIS_PREFIX", default_value = "rapport")]
    pub redis_prefix: String,
    /// Enables `POST /v1/notifications` and `POST /v1/integrations/application-status` for callers
    /// presenting this key in `X-Api-Key`.
    #[arg(long, env = "RAPPORT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "RAPPORT_ACCESS_TTL", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub access_ttl: u64,
    /// Seconds a user stays shown online after their last session closed.
    #[arg(long, env = "RAPPORT_PRESENCE_GRACE", default_value_t = 5.0)]
    pub presence_grace: f64,
    /// Heartbeat interval announced in `hello`, in milliseconds.
    #[arg(long, env = "RAPPORT_HEARTBEAT_MS", default_value_t = 25_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub heartbeat_ms: u64,
    /// Where the default database and the generated token secret live
    /// (default: the platform data dir).
    #[arg(long, env = "RAPPORT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Most gateway connections served at once; more are refused with 503.
    #[arg(long, env = "RAPPORT_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,
    /// Most HTTP connections open at once that are not WebSockets; at the cap a new one
    /// replaces the one idle the longest, or is answered 503 when none is idle. As many as
    /// WebSockets by default: after a restart every client reconnects at once, and each
    /// connection is plain HTTP until its upgrade.
    #[arg(long, env = "RAPPORT_MAX_HTTP_CONNECTIONS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_http_connections: u64,
    /// Seconds a connection has to send a complete request head (from its first byte, or from
    /// being accepted).
    #[arg(long, env = "RAPPORT_HTTP_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_header_timeout: u64,
    /// Seconds a keep-alive connection may stay silent between requests.
    #[arg(long, env = "RAPPORT_HTTP_IDLE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_idle_timeout: u64,
    /// Seconds a request (body included) may take before it is answered 503, plus 1 s for
    /// every 8 KiB of body received (a large upload over a slow link); silence this long
    /// inside a request ends it regardless.
    #[arg(long, env = "RAPPORT_HTTP_REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_request_timeout: u64,
    /// Header naming the client's address, set by a reverse proxy in front of the hub (e.g.
    /// `X-Forwarded-For`; its last address is used). Without it, the peer address is the
    /// client's, and such headers are ignored.
    #[arg(long, env = "RAPPORT_CLIENT_ADDRESS_HEADER")]
    pub client_address_header: Option<String>,
    /// Serves desktop-app update manifests and bundles from this directory at
    /// `GET /v1/updates/{file}`.
    #[arg(long, env = "RAPPORT_UPDATES_DIR")]
    pub updates_dir: Option<PathBuf>,
    /// Where uploaded files are kept (default: `blobs` in the data dir).
    #[arg(long, env = "RAPPORT_BLOBS_DIR")]
    pub blobs_dir: Option<PathBuf>,
    /// Largest upload accepted, in MiB; larger ones are answered 413 before they are read.
    #[arg(long, env = "RAPPORT_MAX_UPLOAD_MB", default_value_t = rapport_protocol::DEFAULT_MAX_UPLOAD_MB,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_upload_mb: u64,
    /// Shortest time ahead, in milliseconds, that a message may be scheduled: the protocol's
    /// one minute. Hidden: only tests shorten it, so that they need not wait a minute.
    #[arg(long, env = "RAPPORT_SCHEDULE_MIN_LEAD_MS", hide = true, default_value_t = rapport_protocol::MIN_SCHEDULE_AHEAD_SECS as u64 * 1000)]
    pub schedule_min_lead_ms: u64,
    /// Turns on the WhatsApp / SMS bridge (protocol 1.1, §5): the Twilio auth token that signs
    /// Twilio's webhooks (`X-Twilio-Signature`) and, with the account SID, authenticates the
    /// hub's calls to Twilio's REST API. Needs `--public-url`.
    #[arg(long, env = "RAPPORT_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<String>,
    /// The Twilio account SID (`AC…`) the hub sends WhatsApp and SMS messages as.
    #[arg(long, env = "RAPPORT_TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    /// Base URL of Twilio's REST API (tests point it at a local fake).
    #[arg(long, env = "RAPPORT_TWILIO_API_URL", default_value = DEFAULT_TWILIO_API_URL)]
    pub twilio_api_url: String,
    /// The URL at which Twilio reaches this hub (`https://hub.example.com`, no trailing `/v1`):
    /// Twilio signs the full URL it calls, so the hub must know it even behind a proxy.
    #[arg(long, env = "RAPPORT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The first wait, in milliseconds, before a message Twilio could not take now is tried
    /// again (it doubles with each try). Hidden: only tests shorten it.
    #[arg(long, env = "RAPPORT_TWILIO_RETRY_BASE_MS", hide = true, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub twilio_retry_base_ms: u64,
    /// Log format: `pretty` for people, `json` for machines.
    #[arg(long, env = "RAPPORT_LOG_FORMAT", default_value = "pretty")]
    pub log_format: LogFormat,
}

/// Twilio's REST API.
pub const DEFAULT_TWILIO_API_URL: &str = "https://api.twilio.com";

/// The WhatsApp / SMS bridge's settings (1.1, §5), when it is on.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// Signs Twilio's webhooks; with `account_sid`, the password of the hub's API calls.
    pub auth_token: String,
    /// The account the hub sends as; `None`: inbound only, nothing is sent.
    pub account_sid: Option<String>,
    /// Base URL of Twilio's REST API, without a trailing `/`.
    pub api_url: String,
    /// The URL Twilio calls this hub at, without a trailing `/`.
    pub public_url: String,
    /// The first wait before a send Twilio could not take now is tried again; it doubles with
    /// each try, with jitter. Not a command-line flag but a hidden one (tests shorten it).
    pub retry_base: Duration,
}

impl TwilioConfig {
    /// The bridge with this token and public URL, inbound only (no account SID), against
    /// Twilio's own API.
    pub fn new(auth_token: impl Into<String>, public_url: impl Into<String>) -> TwilioConfig {
        TwilioConfig {
            auth_token: auth_token.into(),
            account_sid: None,
            api_url: DEFAULT_TWILIO_API_URL.to_owned(),
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            retry_base: Duration::from_secs(1),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// What the hub runs with. Built from [`Args`] by the binary, or directly by tests.
#[derive(Debug, Clone)]
pub struct Config {
    /// Database URL (`sqlite://PATH` or `postgres://...`).
    pub database_url: String,
    /// Most connections of the PostgreSQL pool.
    pub database_pool: u32,
    /// How long a call waits for a PostgreSQL connection (and keeps trying to connect) before
    /// it fails with `unavailable`.
    pub database_timeout: Duration,
    /// Redis URL, when several hubs share the load.
    pub redis_url: Option<String>,
    /// Prefix of this deployment's Redis channels and keys.
    pub redis_prefix: String,
    /// Key for the integration route; `None` disables it.
    pub api_key: Option<String>,
    /// Access-token lifetime.
    pub access_ttl: Duration,
    /// Refresh-token lifetime.
    pub refresh_ttl: Duration,
    /// Presence grace period after the last session closes.
    pub presence_grace: Duration,
    /// Heartbeat interval announced in `hello`; silence for twice this closes a session.
    pub heartbeat: Duration,
    /// Deadline for `identify`/`resume` after `hello`.
    pub identify_timeout: Duration,
    /// How long a disconnected session stays resumable.
    pub resume_window: Duration,
    /// A gateway write that cannot complete in this long means the client stopped reading; the
    /// connection is dropped. Not a command-line flag (tests that stall a reader lengthen it).
    pub write_timeout: Duration,
    /// Most gateway connections at once.
    pub max_connections: usize,
    /// Most open HTTP connections that are not WebSockets.
    pub max_http_connections: usize,
    /// Time to send a complete request head, from its first byte or from being accepted.
    pub http_header_timeout: Duration,
    /// Silence allowed on a keep-alive connection between requests.
    pub http_idle_timeout: Duration,
    /// Time within which a request (its body included) is answered; then 503.
    pub http_request_timeout: Duration,
    /// Header a trusted reverse proxy sets to the client's address (lower-case); `None`: the
    /// peer address is the client's.
    pub client_address_header: Option<axum::http::HeaderName>,
    /// Where the token secret is kept when `RAPPORT_JWT_SECRET` is not set.
    pub data_dir: PathBuf,
    /// Token-signing secret; when `None` it is read from (or created in) `data_dir`.
    pub jwt_secret: Option<String>,
    /// Directory of update manifests and bundles served at `/v1/updates/{file}`.
    pub updates_dir: Option<PathBuf>,
    /// Where uploaded files are kept.
    pub blobs_dir: PathBuf,
    /// Largest upload, in bytes.
    pub max_upload_bytes: u64,
    /// How long an upload that no message carries is kept.
    pub unsent_upload_ttl: Duration,
    /// How often expired uploads and stray files are looked for. Not a command-line flag
    /// (tests shorten it).
    pub housekeeping_interval: Duration,
    /// Shortest time ahead a message may be scheduled (the protocol's minute; tests shorten it).
    pub schedule_min_lead: Duration,
    /// The WhatsApp / SMS bridge; `None`: off, its routes answer 404.
    pub twilio: Option<TwilioConfig>,
}

impl Config {
    /// A configuration with the protocol's defaults, keeping its files in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        let data_dir = data_dir.into();
        Config {
            database_url: format!("sqlite://{}", data_dir.join("hub.db").display()),
            database_pool: 10,
            database_timeout: Duration::from_secs(5),
            redis_url: None,
            redis_prefix: "rapport".to_owned(),
            api_key: None,
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            presence_grace: Duration::from_secs(5),
            heartbeat: Duration::from_millis(25_000),
            identify_timeout: Duration::from_secs(10),
            resume_window: Duration::from_secs(90),
            write_timeout: Duration::from_secs(10),
            max_connections: 20_000,
            max_http_connections: 20_000,
            http_header_timeout: Duration::from_secs(10),
            http_idle_timeout: Duration::from_secs(60),
            http_request_timeout: Duration::from_secs(30),
            client_address_header: None,
            blobs_dir: data_dir.join("blobs"),
            max_upload_bytes: rapport_protocol::DEFAULT_MAX_UPLOAD_MB * 1024 * 1024,
            unsent_upload_ttl: Duration::from_secs(24 * 3600),
            housekeeping_interval: Duration::from_secs(60),
            schedule_min_lead: Duration::from_secs(rapport_protocol::MIN_SCHEDULE_AHEAD_SECS as u64),
            twilio: None,
            data_dir,
            jwt_secret: None,
            updates_dir: None,
        }
    }

    /// Applies the command line (and environment) on top of the defaults.
    pub fn from_args(args: &Args) -> anyhow::Result<Config> {
        let data_dir = match &args.data_dir {
            Some(dir) => dir.clone(),
            None => directories::ProjectDirs::from("dev", "Rapport", "rapport-hub")
                .map(|dirs| dirs.data_dir().to_path_buf())
                .ok_or_else(|| anyhow::anyhow!("no platform data dir; pass --data-dir"))?,
        };
        if !(args.presence_grace.is_finite() && args.presence_grace >= 0.0) {
            anyhow::bail!("--presence-grace must be a number of seconds ≥ 0");
        }
        if !(args.database_timeout > 0.0 && args.database_timeout <= 3600.0) {
            anyhow::bail!("--database-timeout must be a number of seconds in (0, 3600]");
        }
        let mut config = Config::new(data_dir);
        if let Some(url) = &args.database {
            config.database_url = url.clone();
        }
        config.database_pool = args.database_pool;
        config.database_timeout = Duration::from_secs_f64(args.database_timeout);
        config.redis_url = args.redis.clone().filter(|url| !url.is_empty());
        if config.redis_url.is_some() && !is_postgres(&config.database_url) {
            anyhow::bail!("--redis needs --database postgres://…: hubs act as one only on a database they share, and a SQLite file belongs to one hub");
        }
        let prefix = args.redis_prefix.trim();
        if prefix.is_empty() || prefix.contains(char::is_whitespace) {
            anyhow::bail!("--redis-prefix must be a word without spaces");
        }
        config.redis_prefix = prefix.to_owned();
        config.api_key = args.api_key.clone().filter(|k| !k.is_empty());
        config.access_ttl = Duration::from_secs(args.access_ttl);
        config.presence_grace = Duration::from_secs_f64(args.presence_grace);
        config.heartbeat = Duration::from_millis(args.heartbeat_ms);
        config.max_connections = args.max_connections;
        config.max_http_connections = usize::try_from(args.max_http_connections).unwrap_or(usize::MAX);
        config.http_header_timeout = Duration::from_secs(args.http_header_timeout);
        config.http_idle_timeout = Duration::from_secs(args.http_idle_timeout);
        config.http_request_timeout = Duration::from_secs(args.http_request_timeout);
        config.schedule_min_lead = Duration::from_millis(args.schedule_min_lead_ms);
        config.client_address_header = match args.client_address_header.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(
                axum::http::HeaderName::try_from(name.to_ascii_lowercase())
                    .map_err(|_| anyhow::anyhow!("--client-address-header: {name:?} is not a header name"))?,
            ),
        };
        config.updates_dir = args.updates_dir.clone();
        if let Some(dir) = &args.blobs_dir {
            config.blobs_dir = dir.clone();
        }
        config.max_upload_bytes = args.max_upload_mb * 1024 * 1024;
        config.jwt_secret = std::env::var("RAPPORT_JWT_SECRET").ok().filter(|s| !s.is_empty());
        config.twilio = twilio_config(args)?;
        Ok(config)
    }
}

/// The bridge's settings from the flags: on with a token, which then needs a public URL.
fn twilio_config(args: &Args) -> anyhow::Result<Option<TwilioConfig>> {
    let Some(auth_token) = args.twilio_auth_token.clone().filter(|t| !t.is_empty()) else { return Ok(None) };
    let public_url = match args.public_url.as_deref().map(str::trim) {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => url.trim_end_matches('/').to_owned(),
        _ => anyhow::bail!("--twilio-auth-token needs --public-url https://…: Twilio signs the URL it calls, and the hub checks that signature"),
    };
    let api_url = args.twilio_api_url.trim().trim_end_matches('/').to_owned();
    if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
        anyhow::bail!("--twilio-api-url must be an http(s) URL");
    }
    let account_sid = args.twilio_account_sid.clone().filter(|s| !s.is_empty());
    if account_sid.is_none() {
        tracing::warn!("--twilio-auth-token without --twilio-account-sid: WhatsApp and SMS messages are received but none is sent");
    }
    let retry_base = Duration::from_millis(args.twilio_retry_base_ms);
    Ok(Some(TwilioConfig { auth_token, account_sid, api_url, public_url, retry_base }))
}

/// Whether the database URL names a PostgreSQL database (else it is SQLite's or unsupported).
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}
