//! The process start: what must happen before anything else, and how long until the first screen.

use std::sync::LazyLock;
use std::time::Instant;

/// When this process started (forced first thing in `main`).
static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);

/// First thing in `main`, while no other thread exists: starts the clock and sets the renderer.
pub fn begin() {
    LazyLock::force(&STARTED);
    prefer_webkit_shared_memory_renderer();
}

/// WebKitGTK's DMA-BUF renderer paints the first screen seconds late where there is no GPU
/// (virtual machines, Xvfb: ~1.0 s with it off against 3–5 s on, measured by `bench/`'s desktop
/// scenario) and leaves the window blank on some NVIDIA and Wayland stacks. Off unless the user
/// set the variable themselves.
fn prefer_webkit_shared_memory_renderer() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        // Called before any other thread exists, so nothing can read the environment meanwhile.
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
}

/// The web UI has painted its first screen. Logged once per run with the time since the process
/// started: start-up time is then visible in every log, and `bench/`'s desktop scenario reads it.
pub fn first_paint() {
    static LOGGED: std::sync::Once = std::sync::Once::new();
    LOGGED.call_once(|| tracing::info!(since_start_ms = STARTED.elapsed().as_millis() as u64, "first paint"));
}
