//! What the shell does when something happens: an engine is opened, the engine reports an event
//! (tray badge, native notifications, tray check marks), the settings change, the user picks a
//! tray menu entry, the window's focus moves. The other modules only do what they are told with
//! the values they are handed; the decisions that tie them together are all here.

use rapport_client::{Engine, EngineEvent, Role, User};
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, DragDropEvent, Emitter as _, Manager};
use tauri_plugin_autostart::ManagerExt as _;

use crate::error::{CommandError, CommandResult};
use crate::focus::WindowFocus;
use crate::profile::ActiveProfile;
use crate::settings::{Settings, Values};
use crate::staging::Staging;
use crate::tray::TrayAction;
use crate::window::{self, MAIN_WINDOW};
use crate::{forward, native_notifications, tray, updates};

/// The settings changed outside the settings panel (the tray): the UI shows the new values.
pub const SETTINGS_EVENT: &str = "app:settings";
/// Files are dragged over the window (`true`) or no longer (`false`).
pub const DRAG_EVENT: &str = "app:drag";
/// Files were dropped onto the window and are staged: [`crate::staging::DroppedFiles`].
pub const DROPPED_EVENT: &str = "app:dropped";

/// Opens the profile of `hub_url` (see [`ActiveProfile::open`]).
pub async fn open_profile(app: &AppHandle, hub_url: &str) -> CommandResult<Engine> {
    app.state::<ActiveProfile>().open(hub_url, |engine| engine_opened(app, engine)).await
}

/// Signs in or up at `hub_url` and remembers that hub for the next start.
pub async fn sign_in(app: &AppHandle, hub_url: &str, email: &str, password: &str, sign_up: Option<(&str, Role)>) -> CommandResult<User> {
    let profile = app.state::<ActiveProfile>();
    let user = profile.sign_in(hub_url, email, password, sign_up, |engine| engine_opened(app, engine)).await?;
    if let Some(hub) = profile.hub_url() {
        if let Err(error) = change_settings(app, |v| v.hub_url = hub) {
            tracing::warn!(error = %error, "could not remember the hub");
        }
    }
    Ok(user)
}

/// A new engine: it gets the settings and the focus, and its events reach the window.
fn engine_opened(app: &AppHandle, engine: &Engine) -> JoinHandle<()> {
    let settings = app.state::<Settings>().get();
    engine.set_do_not_disturb(settings.do_not_disturb);
    engine.set_away_after(settings.away_after());
    if let Err(error) = engine.set_quiet_hours(settings.quiet_hours()) {
        tracing::warn!(%error, "the stored quiet hours do not apply");
    }
    app.state::<WindowFocus>().apply(engine);
    tray::show_choices(app, engine.chosen_presence(), settings.do_not_disturb);
    tray::show_quiet(app, &engine.quiet_status());
    forward::spawn(app.clone(), engine.subscribe(), on_engine_event)
}

/// The shell's part of an engine event (the window gets every event anyway).
fn on_engine_event(app: &AppHandle, event: &EngineEvent) {
    match event {
        EngineEvent::Unread { total } => tray::set_unread(app, *total),
        EngineEvent::SignedOut => tray::set_unread(app, 0),
        EngineEvent::Notify(show) => native_notifications::show(app, show.clone()),
        EngineEvent::ChosenPresence(status) => tray::show_choices(app, *status, app.state::<Settings>().get().do_not_disturb),
        EngineEvent::Quiet(status) => tray::show_quiet(app, status),
        _ => {}
    }
}

/// Applies the stored settings at start (the engine got them when it was opened).
pub fn on_start(app: &AppHandle) {
    let values = app.state::<Settings>().get();
    settings_changed(app, None, &values);
}

/// Stores changed settings and applies what changed; the new values. Quiet hours the engine
/// would refuse are refused here, before anything is stored.
pub fn change_settings(app: &AppHandle, change: impl FnOnce(&mut Values)) -> CommandResult<Values> {
    let mut values = app.state::<Settings>().get();
    change(&mut values);
    values.quiet_hours().check()?;
    let (old, new) = app.state::<Settings>().update(app, |v| *v = values).map_err(|e| CommandError::new(rapport_client::Code::Io, e.to_string()))?;
    settings_changed(app, Some(&old), &new);
    Ok(new)
}

fn settings_changed(app: &AppHandle, old: Option<&Values>, new: &Values) {
    let changed = |f: fn(&Values) -> bool| old.is_none_or(|o| f(o) != f(new));
    if changed(|v| v.launch_at_login) {
        let autolaunch = app.autolaunch();
        let result = if new.launch_at_login { autolaunch.enable() } else { autolaunch.disable() };
        if let Err(error) = result {
            tracing::warn!(%error, "could not change launch at login");
        }
    }
    let engine = app.state::<ActiveProfile>().engine().ok();
    if let Some(engine) = &engine {
        engine.set_do_not_disturb(new.do_not_disturb);
        engine.set_away_after(new.away_after());
        if old.is_none_or(|o| o.quiet_hours != new.quiet_hours) {
            if let Err(error) = engine.set_quiet_hours(new.quiet_hours()) {
                tracing::warn!(%error, "quiet hours not applied");
            }
        }
    }
    tray::show_choices(app, engine.map(|e| e.chosen_presence()).unwrap_or_default(), new.do_not_disturb);
}

/// Does what the user chose in the tray menu.
pub fn on_tray(app: &AppHandle, action: TrayAction) {
    match action {
        TrayAction::Open => window::show(app),
        TrayAction::ToggleDoNotDisturb => match change_settings(app, |v| v.do_not_disturb = !v.do_not_disturb) {
            Ok(values) => {
                let _ = app.emit_to(MAIN_WINDOW, SETTINGS_EVENT, values);
            }
            Err(error) => tracing::warn!(%error, "could not save do-not-disturb"),
        },
        TrayAction::CheckForUpdates => {
            window::show(app);
            updates::check_and_report(app.clone(), update_hub(app));
        }
        TrayAction::Quit => app.exit(0),
        TrayAction::Pause(pause) => {
            let Ok(engine) = app.state::<ActiveProfile>().engine() else { return };
            // The engine announces the quiet status (`quiet`) to the window and the tray.
            tauri::async_runtime::spawn(async move {
                if let Err(error) = engine.pause_notifications(pause).await {
                    tracing::warn!(%error, "could not pause notifications from the tray");
                }
            });
        }
        TrayAction::Resume => {
            let Ok(engine) = app.state::<ActiveProfile>().engine() else { return };
            tauri::async_runtime::spawn(async move {
                if let Err(error) = engine.resume_notifications().await {
                    tracing::warn!(%error, "could not resume notifications from the tray");
                }
            });
        }
        TrayAction::SetStatus(status) => {
            let Ok(engine) = app.state::<ActiveProfile>().engine() else { return };
            // The engine announces the new status (`chosen_presence`) to the window and the tray.
            tauri::async_runtime::spawn(async move {
                if let Err(error) = engine.set_presence(status).await {
                    tracing::warn!(%error, "could not set presence from the tray");
                }
            });
        }
    }
}

/// The hub whose update manifest counts: the open one, else the one last signed in to.
pub fn update_hub(app: &AppHandle) -> String {
    app.state::<ActiveProfile>().hub_url().unwrap_or_else(|| app.state::<Settings>().get().hub_url)
}

/// The hub to check for updates now, unless the user turned periodic checks off.
pub fn periodic_update_hub(app: &AppHandle) -> Option<String> {
    app.state::<Settings>().get().check_for_updates.then(|| update_hub(app))
}

/// The window gained or lost focus.
pub fn window_focused(app: &AppHandle, focused: bool) {
    let focus = app.state::<WindowFocus>();
    focus.set_window_focused(focused);
    if let Ok(engine) = app.state::<ActiveProfile>().engine() {
        focus.apply(&engine);
    }
}

/// The conversation shown in the window changed.
pub fn conversation_opened(app: &AppHandle, conversation_id: Option<String>) {
    let focus = app.state::<WindowFocus>();
    focus.set_open_conversation(conversation_id);
    if let Ok(engine) = app.state::<ActiveProfile>().engine() {
        focus.apply(&engine);
    }
}

/// Files dragged over the window: the UI shows where to drop them; dropped ones are staged
/// (by path: they are the user's own files) and handed to the composer by id.
pub fn drag_drop(app: &AppHandle, event: &DragDropEvent) {
    let emitted = match event {
        DragDropEvent::Enter { .. } => app.emit_to(MAIN_WINDOW, DRAG_EVENT, true),
        DragDropEvent::Leave => app.emit_to(MAIN_WINDOW, DRAG_EVENT, false),
        DragDropEvent::Drop { paths, .. } => {
            let dropped = app.state::<Staging>().dropped(paths);
            app.emit_to(MAIN_WINDOW, DRAG_EVENT, false).and_then(|()| app.emit_to(MAIN_WINDOW, DROPPED_EVENT, dropped))
        }
        _ => Ok(()),
    };
    if let Err(error) = emitted {
        tracing::warn!(%error, "could not tell the window about dragged files");
    }
}
