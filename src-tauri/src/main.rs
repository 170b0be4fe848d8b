//! `rapport`, the desktop app: a thin Tauri 2 shell around the client engine.
//!
//! Everything a user does is done by `rapport_client::Engine`; this binary only wires it to a
//! window. Layout (one concept per file):
//! - [`profile`]: which engine is open (one per hub URL, each with its own profile directory)
//!   and where its login is kept (OS keyring, or a 0600 file when no keyring answers).
//! - [`commands`]: the Tauri commands, each a one-call delegation to the engine.
//! - [`forward`]: the one forwarder from the engine's event stream to typed UI events, plus the
//!   shell's reactions to them (tray badge, native notifications).
//! - [`tray`], [`notifications`], [`settings`], [`idle`], [`wake`], [`updates`], [`links`]:
//!   small glue modules.
//!
//! One tokio runtime serves the engine and Tauri: it is built here and handed to Tauri.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod error;
mod forward;
mod idle;
mod links;
mod notifications;
mod profile;
mod settings;
mod tray;
mod updates;
mod wake;

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use tauri::{Manager, RunEvent, WindowEvent};

use crate::profile::Profiles;
use crate::settings::Settings;

/// The label of the one window.
pub const MAIN_WINDOW: &str = "main";

/// When this process started (forced first thing in `main`), for the start-up time in the log.
pub static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);

/// WebKitGTK's DMA-BUF renderer paints the first screen seconds late where there is no GPU
/// (virtual machines, Xvfb: ~1.0 s with it off against 3–5 s on, measured by `bench/`'s desktop
/// scenario) and leaves the window blank on some NVIDIA and Wayland stacks. Off unless the user
/// set the variable themselves.
fn prefer_webkit_shared_memory_renderer() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        // First thing in `main`: no other thread exists yet that could read the environment.
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
}

fn main() -> anyhow::Result<()> {
    LazyLock::force(&STARTED);
    prefer_webkit_shared_memory_renderer();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RAPPORT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rapport=info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("rapport").build()?;
    tauri::async_runtime::set(runtime.handle().clone());

    let app = tauri::Builder::default()
        // First, so that a second launch is answered before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| tray::show_window(app)))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_autostart::init(tauri_plugin_autostart::MacosLauncher::LaunchAgent, None))
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .invoke_handler(commands::handler())
        .setup(|app| {
            let handle = app.handle().clone();
            let settings = Settings::load(&handle)?;
            let profiles = Profiles::new(&handle)?;
            app.manage(settings);
            app.manage(profiles);
            tray::install(&handle)?;
            let opened = handle.clone();
            tauri::async_runtime::block_on(async move {
                let hub = opened.state::<Settings>().get().hub_url;
                if let Err(error) = opened.state::<Profiles>().open(&opened, &hub).await {
                    tracing::error!(%error, hub, "could not open the profile");
                }
            });
            settings::apply_on_start(&handle);
            idle::spawn(handle.clone());
            wake::spawn(handle.clone());
            updates::spawn_periodic_check(handle.clone());
            Ok(())
        })
        .on_window_event(|window, event| match event {
            WindowEvent::CloseRequested { api, .. }
                if window.label() == MAIN_WINDOW && window.app_handle().state::<Settings>().get().close_to_tray =>
            {
                api.prevent_close();
                let _ = window.hide();
            }
            WindowEvent::Focused(focused) if window.label() == MAIN_WINDOW => {
                window.app_handle().state::<Profiles>().set_window_focused(*focused);
            }
            _ => {}
        })
        .build(tauri::generate_context!())?;

    app.run(|app, event| {
        if let RunEvent::Exit = event {
            // Close the gateway cleanly (1000) so that others see us go offline at once.
            let profiles = app.state::<Profiles>();
            tauri::async_runtime::block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(3), profiles.shutdown()).await;
            });
        }
    });
    drop(runtime);
    Ok(())
}
