//! The tray icon: unread count (badge on the icon, tooltip and window title), a menu with Open,
//! Status ▸, Do not disturb, Check for updates… and Quit; clicking the icon opens the window.
//! Closing the window hides it here (see `main.rs`), so Rapport keeps receiving.

use std::sync::Mutex;

use rapport_client::ChosenStatus;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Emitter as _, Manager, Wry};

use crate::settings::Settings;
use crate::MAIN_WINDOW;

const ICON: &[u8] = include_bytes!("../../icons/32x32.png");
const STATUSES: [(ChosenStatus, &str, &str); 4] = [
    (ChosenStatus::Online, "status:online", "Online"),
    (ChosenStatus::Away, "status:away", "Away"),
    (ChosenStatus::Busy, "status:busy", "Busy"),
    (ChosenStatus::Invisible, "status:invisible", "Invisible"),
];
/// Tells the UI that the tray changed the user's own status or settings.
pub const STATUS_EVENT: &str = "app:status";
pub const SETTINGS_EVENT: &str = "app:settings";

struct Tray {
    icon: TrayIcon,
    statuses: Vec<(ChosenStatus, CheckMenuItem<Wry>)>,
    dnd: CheckMenuItem<Wry>,
    unread: Mutex<i64>,
}

/// Shows, unminimises and focuses the window.
pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let statuses: Vec<(ChosenStatus, CheckMenuItem<Wry>)> = STATUSES
        .iter()
        .map(|(status, id, label)| Ok((*status, CheckMenuItem::with_id(app, *id, *label, true, *status == ChosenStatus::Online, None::<&str>)?)))
        .collect::<tauri::Result<_>>()?;
    let status_refs: Vec<&dyn tauri::menu::IsMenuItem<Wry>> = statuses.iter().map(|(_, item)| item as _).collect();
    let status_menu = Submenu::with_id_and_items(app, "status", "Status", true, &status_refs)?;
    let dnd = CheckMenuItem::with_id(app, "dnd", "Do not disturb", true, false, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &MenuItem::with_id(app, "open", "Open Rapport", true, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &status_menu,
            &dnd,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "updates", "Check for updates…", true, None::<&str>)?,
            &MenuItem::with_id(app, "quit", "Quit Rapport", true, None::<&str>)?,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("main")
        .icon(Image::from_bytes(ICON)?)
        .tooltip("Rapport")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(on_menu)
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
                show_window(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(Tray { icon, statuses, dnd, unread: Mutex::new(0) });
    Ok(())
}

fn on_menu(app: &AppHandle, event: MenuEvent) {
    let id = event.id().as_ref();
    match id {
        "open" => show_window(app),
        "dnd" => {
            let settings = app.state::<Settings>();
            match settings.update(app, |v| v.do_not_disturb = !v.do_not_disturb) {
                Ok(values) => {
                    let _ = app.emit_to(MAIN_WINDOW, SETTINGS_EVENT, values);
                }
                Err(error) => tracing::warn!(%error, "could not save do-not-disturb"),
            }
        }
        "updates" => {
            show_window(app);
            crate::updates::check_and_report(app.clone());
        }
        "quit" => app.exit(0),
        _ => {
            if let Some((status, _, _)) = STATUSES.iter().find(|(_, sid, _)| *sid == id) {
                let (app, status) = (app.clone(), *status);
                tauri::async_runtime::spawn(async move {
                    if let Ok(engine) = app.state::<crate::profile::Profiles>().engine() {
                        if let Err(error) = engine.set_presence(status).await {
                            tracing::warn!(%error, "could not set presence from the tray");
                        }
                    }
                    refresh_menu(&app);
                    let _ = app.emit_to(MAIN_WINDOW, STATUS_EVENT, status);
                });
            }
        }
    }
}

/// Makes the check marks follow the engine and the settings.
pub fn refresh_menu(app: &AppHandle) {
    let Some(tray) = app.try_state::<Tray>() else { return };
    let chosen = app.state::<crate::profile::Profiles>().engine().map(|e| e.chosen_presence()).unwrap_or_default();
    for (status, item) in &tray.statuses {
        let _ = item.set_checked(*status == chosen);
    }
    let _ = tray.dnd.set_checked(app.state::<Settings>().get().do_not_disturb);
}

/// The base icon with a red dot in its top-right corner.
fn badged(base: &Image<'_>) -> Image<'static> {
    let (w, h) = (base.width() as i64, base.height() as i64);
    let mut rgba = base.rgba().to_vec();
    let r = (w.min(h) as f64) * 0.26;
    let (cx, cy) = (w as f64 - r - 0.5, r + 0.5);
    for y in 0..h {
        for x in 0..w {
            let d = ((x as f64 + 0.5 - cx).powi(2) + (y as f64 + 0.5 - cy).powi(2)).sqrt();
            let i = ((y * w + x) * 4) as usize;
            if d <= r {
                rgba[i..i + 4].copy_from_slice(&[0xef, 0x44, 0x44, 0xff]);
            } else if d <= r + 1.5 {
                rgba[i..i + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
            }
        }
    }
    Image::new_owned(rgba, w as u32, h as u32)
}

/// Shows the total unread count everywhere the platform allows.
pub fn set_unread(app: &AppHandle, total: i64) {
    let Some(tray) = app.try_state::<Tray>() else { return };
    {
        let mut unread = tray.unread.lock().expect("tray lock");
        if *unread == total {
            return;
        }
        *unread = total;
    }
    let tooltip = match total {
        0 => "Rapport".to_owned(),
        1 => "Rapport — 1 unread message".to_owned(),
        n => format!("Rapport — {n} unread messages"),
    };
    let _ = tray.icon.set_tooltip(Some(&tooltip));
    if let Ok(base) = Image::from_bytes(ICON) {
        let _ = tray.icon.set_icon(Some(if total > 0 { badged(&base) } else { base.to_owned() }));
    }
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.set_title(&if total > 0 { format!("Rapport ({total})") } else { "Rapport".to_owned() });
        let _ = window.set_badge_count((total > 0).then_some(total));
    }
}
