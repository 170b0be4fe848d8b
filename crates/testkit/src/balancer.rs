//! nginx in front of several hubs, run with the repository's own `deploy/nginx/rapport.conf`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::free_addr;

/// The configuration that operators are given, filled in for a test.
const CONFIG: &str = include_str!("../../../deploy/nginx/rapport.conf");

/// An nginx process balancing over hubs.
pub struct LoadBalancer {
    /// Where clients connect.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    _child: Child,
}

impl LoadBalancer {
    /// Whether nginx can be run here; when not, says on stderr that `test` is skipped.
    pub fn available_or_skip(test: &str) -> bool {
        let found = std::process::Command::new("nginx").arg("-v").output().is_ok_and(|o| o.status.success());
        if !found {
            eprintln!("SKIPPED {test}: it needs nginx (Debian's nginx package)");
        }
        found
    }

    /// Starts nginx on a free loopback port, balancing over `hubs`.
    pub async fn start(hubs: &[SocketAddr]) -> LoadBalancer {
        let dir = tempfile::tempdir().expect("temp dir");
        let addr = free_addr();
        let servers: Vec<String> = hubs.iter().map(|hub| format!("        server {hub} max_fails=1 fail_timeout=2s;")).collect();
        let config = CONFIG
            .replace("@DIR@", &dir.path().display().to_string())
            .replace("@LISTEN@", &addr.to_string())
            .replace("@HUBS@", &servers.join("\n"));
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, config).expect("writing nginx.conf");
        // Workers run as `nobody` when nginx starts as root: they must reach the directory.
        open_to_workers(dir.path());
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&file)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting nginx");
        let balancer = LoadBalancer { addr, dir, _child: child };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "nginx did not listen on {addr}; log:\n{}", balancer.log_text());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        balancer
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://ADDR/v1/gateway`.
    pub fn gateway_url(&self) -> String {
        format!("ws://{}/v1/gateway", self.addr)
    }

    /// nginx's error log.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

#[cfg(unix)]
fn open_to_workers(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777));
}

#[cfg(not(unix))]
fn open_to_workers(_dir: &Path) {}
