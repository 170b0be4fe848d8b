//! `rapport`, the desktop app: a thin Tauri 2 shell around the client engine.
//!
//! Everything a user does is done by `rapport_client::Engine`; this binary only wires it to a
//! window. Layout (one concept per file):
//! - [`commands`]: the Tauri commands, each a one-call delegation to the engine or `reactions`.
//! - [`reactions`]: what the shell does when something happens (an engine opened, an engine
//!   event, settings changed, a tray menu entry, focus) — the one module that ties the others.
//! - [`profile`]: which engine is open (one per hub URL, each with its own profile directory).
//! - [`forward`]: the one forwarder from the engine's event stream to typed UI events.
//! - [`staging`]: files attached in the composer, by id, until their message is queued;
//!   [`opening`]: received files open in the system's app, programs never.
//! - [`tray`], [`native_notifications`], [`settings`], [`focus`], [`updates`], [`window`],
//!   [`idle`], [`wake`], [`links`], [`startup`]: small modules that do what they are handed.
//!
//! Tests only: `bindings` (the UI's TypeScript types), `security_config` (what the web view
//! may do, read from tauri.conf.json and the capabilities).
//!
//! One tokio runtime serves the engine and Tauri: it is built here and handed to Tauri.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[cfg(test)]
mod bindings;
#[cfg(test)]
mod security_config;
mod commands;
mod error;
mod focus;
mod forward;
mod idle;
mod links;
mod native_notifications;
mod opening;
mod profile;
mod reactions;
mod settings;
mod staging;
mod startup;
mod tray;
mod updates;
mod wake;
mod window;

use std::time::Duration;

use tauri::{Manager, RunEvent, WindowEvent};

use crate::focus::WindowFocus;
use crate::profile::ActiveProfile;
use crate::settings::Settings;
use crate::staging::Staging;
use crate::window::MAIN_WINDOW;

fn main() -> anyhow::Result<()> {
    startup::begin();
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
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| window::show(app)))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_autostart::init(tauri_plugin_autostart::MacosLauncher::LaunchAgent, None))
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .invoke_handler(commands::handler())
        .setup(|app| {
            let handle = app.handle().clone();
            app.manage(Settings::load(&handle)?);
            app.manage(ActiveProfile::new(&handle)?);
            app.manage(WindowFocus::default());
            app.manage(Staging::new(handle.path().app_cache_dir()?.join("outgoing")));
            tray::install(&handle, reactions::on_tray)?;
            let hub = handle.state::<Settings>().get().hub_url;
            if let Err(error) = tauri::async_runtime::block_on(reactions::open_profile(&handle, &hub)) {
                tracing::error!(%error, hub, "could not open the profile");
            }
            reactions::on_start(&handle);
            idle::spawn(handle.clone());
            wake::spawn(handle.clone());
            updates::spawn_periodic_check(handle.clone(), reactions::periodic_update_hub);
            Ok(())
        })
        .on_window_event(|window, event| match event {
            WindowEvent::CloseRequested { api, .. }
                if window.label() == MAIN_WINDOW && window.app_handle().state::<Settings>().get().close_to_tray =>
            {
                api.prevent_close();
                let _ = window.hide();
            }
            WindowEvent::Focused(focused) if window.label() == MAIN_WINDOW => reactions::window_focused(window.app_handle(), *focused),
            WindowEvent::DragDrop(drag) if window.label() == MAIN_WINDOW => reactions::drag_drop(window.app_handle(), drag),
            _ => {}
        })
        .build(tauri::generate_context!())?;

    app.run(|app, event| {
        if let RunEvent::Exit = event {
            // Close the gateway cleanly (1000) so that others see us go offline at once.
            let profile = app.state::<ActiveProfile>();
            tauri::async_runtime::block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(3), profile.shutdown()).await;
            });
        }
    });
    drop(runtime);
    Ok(())
}
