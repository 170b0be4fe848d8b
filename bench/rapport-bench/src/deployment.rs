//! The three ways to run Rapport that the `scaleout` scenario compares, each as child processes
//! of this run: one hub on SQLite; one hub on PostgreSQL; two hubs on one PostgreSQL and one
//! Redis behind nginx (the repository's `deploy/nginx/rapport.conf`).
//!
//! PostgreSQL is not started here: `RAPPORT_BENCH_POSTGRES` names a server and a role that may
//! create databases (`bench/run` starts a cluster of its own when it can); each deployment gets
//! a fresh database, dropped at the end. Redis and nginx are started here, on free ports.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use sqlx::{Connection as _, Executor as _, PgConnection};
use tokio::process::{Child, Command};

use crate::server::Programs;

/// Names the PostgreSQL server of the PostgreSQL deployments.
pub const POSTGRES_ENV: &str = "RAPPORT_BENCH_POSTGRES";

/// The nginx configuration operators are given.
const NGINX_CONF: &str = include_str!("../../../deploy/nginx/rapport.conf");

/// Which way of running Rapport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One hub, embedded SQLite.
    Sqlite,
    /// One hub on PostgreSQL.
    Postgres,
    /// Two hubs on one PostgreSQL and one Redis, behind nginx.
    PostgresPair,
}

impl Topology {
    /// The column name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Topology::Sqlite => "1 hub sqlite",
            Topology::Postgres => "1 hub postgres",
            Topology::PostgresPair => "2 hubs pg+redis",
        }
    }
}

/// A running deployment.
pub struct Deployment {
    /// Where clients connect (the hub, or nginx).
    pub addr: SocketAddr,
    hubs: Vec<Child>,
    helpers: Vec<Child>,
    database: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

impl Deployment {
    /// Starts `topology`; returns once every hub is ready (and nginx listens).
    pub async fn start(topology: Topology, programs: &Programs) -> anyhow::Result<Deployment> {
        let dir = tempfile::Builder::new().prefix("rapport-bench-deploy-").tempdir()?;
        let mut deployment = Deployment { addr: free_addr()?, hubs: Vec::new(), helpers: Vec::new(), database: None, _dir: dir };
        let root = deployment._dir.path().to_path_buf();
        let database_url = match topology {
            Topology::Sqlite => format!("sqlite://{}", root.join("hub.db").display()),
            Topology::Postgres | Topology::PostgresPair => {
                let admin = std::env::var(POSTGRES_ENV)
                    .ok()
                    .filter(|u| !u.is_empty())
                    .with_context(|| format!("{POSTGRES_ENV} names no PostgreSQL server"))?;
                let name = format!("rapport_bench_{}_{}", std::process::id(), rand::random::<u32>());
                let mut conn = PgConnection::connect(&admin).await.context("connecting to PostgreSQL")?;
                conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str()).await?;
                let _ = conn.close().await;
                let mut url = reqwest::Url::parse(&admin)?;
                url.set_path(&format!("/{name}"));
                deployment.database = Some((admin, name));
                url.to_string()
            }
        };
        let redis = match topology {
            Topology::PostgresPair => {
                let addr = free_addr()?;
                let child = Command::new("redis-server")
                    .args(["--bind", "127.0.0.1", "--port", &addr.port().to_string(), "--save", "", "--appendonly", "no"])
                    .arg("--dir")
                    .arg(&root)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .context("starting redis-server")?;
                deployment.helpers.push(child);
                wait_listening(addr, "redis-server").await?;
                Some(format!("redis://{addr}"))
            }
            _ => None,
        };
        let hub_count = if topology == Topology::PostgresPair { 2 } else { 1 };
        let secret = format!("bench-secret-{:032x}", rand::random::<u128>());
        let mut hub_addrs = Vec::new();
        for n in 0..hub_count {
            let addr = if hub_count == 1 { deployment.addr } else { free_addr()? };
            let data = root.join(format!("hub{n}"));
            std::fs::create_dir_all(&data)?;
            let mut command = Command::new(&programs.hub);
            command
                .arg("--listen")
                .arg(addr.to_string())
                .arg("--data-dir")
                .arg(&data)
                // Uploads would have to be one shared directory; the scenario sends text only.
                .arg("--database")
                .arg(&database_url)
                .env("RAPPORT_JWT_SECRET", &secret)
                .env("RUST_LOG", "warn");
            if let Some(redis) = &redis {
                command.arg("--redis").arg(redis).arg("--client-address-header").arg("X-Forwarded-For");
            }
            let log = std::fs::File::create(data.join("hub.log"))?;
            let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).kill_on_drop(true).spawn()?;
            deployment.hubs.push(child);
            wait_ready(addr).await.with_context(|| format!("hub {n}; see {}", data.join("hub.log").display()))?;
            hub_addrs.push(addr);
        }
        if hub_count > 1 {
            let servers: Vec<String> = hub_addrs.iter().map(|a| format!("        server {a} max_fails=1 fail_timeout=2s;")).collect();
            let nginx_dir = root.join("nginx");
            std::fs::create_dir_all(&nginx_dir)?;
            let config = NGINX_CONF
                .replace("@DIR@", &nginx_dir.display().to_string())
                .replace("@LISTEN@", &deployment.addr.to_string())
                .replace("@HUBS@", &servers.join("\n"));
            let file = nginx_dir.join("nginx.conf");
            std::fs::write(&file, config)?;
            open_to_workers(&nginx_dir);
            let child = Command::new("nginx")
                .arg("-p")
                .arg(&nginx_dir)
                .arg("-e")
                .arg(nginx_dir.join("error.log"))
                .arg("-c")
                .arg(&file)
                .args(["-g", "daemon off;"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .context("starting nginx")?;
            deployment.helpers.push(child);
            wait_listening(deployment.addr, "nginx").await?;
        }
        Ok(deployment)
    }

    /// The hub processes (for their CPU time).
    pub fn hub_pids(&self) -> Vec<u32> {
        self.hubs.iter().filter_map(Child::id).collect()
    }

    /// Redis and nginx, when there are.
    pub fn helper_pids(&self) -> Vec<u32> {
        self.helpers.iter().filter_map(Child::id).collect()
    }

    /// Stops everything and drops the database.
    pub async fn stop(mut self) {
        for child in self.hubs.iter_mut().chain(self.helpers.iter_mut()) {
            let _ = child.kill().await;
        }
        if let Some((admin, name)) = self.database.take() {
            if let Ok(mut conn) = PgConnection::connect(&admin).await {
                let _ = conn.execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str()).await;
                let _ = conn.close().await;
            }
        }
    }
}

async fn wait_ready(addr: SocketAddr) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("http://{addr}/readyz");
    loop {
        if matches!(reqwest::get(&url).await, Ok(r) if r.status().is_success()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("not ready within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_listening(addr: SocketAddr, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if Instant::now() > deadline {
            bail!("{what} did not listen on {addr}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// nginx's workers run as `nobody` when it starts as root: they must reach its directory.
fn open_to_workers(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777));
}
