//! The tray icon: unread count (badge on the icon, tooltip and window title), a menu with Open,
//! Status ▸, Do not disturb, the quiet state ("Notifications paused until 10:00") with Pause for
//! 1 hour / Pause until tomorrow / Resume, Check for updates… and Quit; clicking the icon opens
//! the window.
//! Closing the window hides it here (see `main.rs`), so Rapport keeps receiving. What the menu
//! entries do is decided in `reactions`; this module only draws.

use std::sync::Mutex;

use rapport_client::{ChosenStatus, Pause, QuietReason, QuietStatus};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::window::MAIN_WINDOW;

const ICON: &[u8] = include_bytes!("../../icons/32x32.png");
const STATUSES: [(ChosenStatus, &str, &str); 4] = [
    (ChosenStatus::Online, "status:online", "Online"),
    (ChosenStatus::Away, "status:away", "Away"),
    (ChosenStatus::Busy, "status:busy", "Busy"),
    (ChosenStatus::Invisible, "status:invisible", "Invisible"),
];

/// What the user chose in the tray (a click on the icon opens the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    Open,
    SetStatus(ChosenStatus),
    ToggleDoNotDisturb,
    Pause(Pause),
    Resume,
    CheckForUpdates,
    Quit,
}

impl TrayAction {
    fn from_menu_id(id: &str) -> Option<TrayAction> {
        match id {
            "open" => Some(TrayAction::Open),
            "dnd" => Some(TrayAction::ToggleDoNotDisturb),
            "pause:hour" => Some(TrayAction::Pause(Pause::For { seconds: 3600 })),
            "pause:tomorrow" => Some(TrayAction::Pause(Pause::UntilTomorrow)),
            "resume" => Some(TrayAction::Resume),
            "updates" => Some(TrayAction::CheckForUpdates),
            "quit" => Some(TrayAction::Quit),
            _ => STATUSES.iter().find(|(_, sid, _)| *sid == id).map(|(status, _, _)| TrayAction::SetStatus(*status)),
        }
    }
}

struct Tray {
    icon: TrayIcon,
    statuses: Vec<(ChosenStatus, CheckMenuItem<Wry>)>,
    dnd: CheckMenuItem<Wry>,
    quiet: MenuItem<Wry>,
    resume: MenuItem<Wry>,
    shown: Mutex<Shown>,
}

/// What the tooltip says besides the name.
#[derive(Default)]
struct Shown {
    unread: i64,
    quiet: Option<String>,
}

/// "Notifications paused until 10:00", "Quiet hours until 07:00", or none.
fn quiet_label(status: &QuietStatus) -> Option<String> {
    let until = status.until_local.as_deref().map(|t| format!(" until {t}")).unwrap_or_default();
    match status.reason? {
        QuietReason::Paused => Some(format!("Notifications paused{until}")),
        QuietReason::Schedule => Some(format!("Quiet hours{until}")),
    }
}

/// Puts the icon and its menu in the tray; `on_action` does what the user chose.
pub fn install(app: &AppHandle, on_action: fn(&AppHandle, TrayAction)) -> tauri::Result<()> {
    let statuses: Vec<(ChosenStatus, CheckMenuItem<Wry>)> = STATUSES
        .iter()
        .map(|(status, id, label)| Ok((*status, CheckMenuItem::with_id(app, *id, *label, true, *status == ChosenStatus::Online, None::<&str>)?)))
        .collect::<tauri::Result<_>>()?;
    let status_refs: Vec<&dyn tauri::menu::IsMenuItem<Wry>> = statuses.iter().map(|(_, item)| item as _).collect();
    let status_menu = Submenu::with_id_and_items(app, "status", "Status", true, &status_refs)?;
    let dnd = CheckMenuItem::with_id(app, "dnd", "Do not disturb", true, false, None::<&str>)?;
    let quiet = MenuItem::with_id(app, "quiet", "Notifications on", false, None::<&str>)?;
    let resume = MenuItem::with_id(app, "resume", "Resume notifications", false, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &MenuItem::with_id(app, "open", "Open Rapport", true, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &status_menu,
            &dnd,
            &PredefinedMenuItem::separator(app)?,
            &quiet,
            &MenuItem::with_id(app, "pause:hour", "Pause notifications for 1 hour", true, None::<&str>)?,
            &MenuItem::with_id(app, "pause:tomorrow", "Pause until tomorrow", true, None::<&str>)?,
            &resume,
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
        .on_menu_event(move |app, event| {
            if let Some(action) = TrayAction::from_menu_id(event.id().as_ref()) {
                on_action(app, action);
            }
        })
        .on_tray_icon_event(move |tray, event| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
                on_action(tray.app_handle(), TrayAction::Open);
            }
        })
        .build(app)?;
    app.manage(Tray { icon, statuses, dnd, quiet, resume, shown: Mutex::new(Shown::default()) });
    Ok(())
}

/// Puts the check marks on the chosen status and on do-not-disturb.
pub fn show_choices(app: &AppHandle, chosen: ChosenStatus, do_not_disturb: bool) {
    let Some(tray) = app.try_state::<Tray>() else { return };
    for (status, item) in &tray.statuses {
        let _ = item.set_checked(*status == chosen);
    }
    let _ = tray.dnd.set_checked(do_not_disturb);
}

/// Shows whether notifications are quiet (in the menu and the tooltip); Resume is offered while
/// paused.
pub fn show_quiet(app: &AppHandle, status: &QuietStatus) {
    let Some(tray) = app.try_state::<Tray>() else { return };
    let label = quiet_label(status);
    let _ = tray.quiet.set_text(label.as_deref().unwrap_or("Notifications on"));
    let _ = tray.resume.set_enabled(status.paused_until.is_some());
    let shown = {
        let mut shown = tray.shown.lock().expect("tray lock");
        shown.quiet = label;
        tooltip(&shown)
    };
    let _ = tray.icon.set_tooltip(Some(&shown));
}

fn tooltip(shown: &Shown) -> String {
    let mut text = match shown.unread {
        0 => "Rapport".to_owned(),
        1 => "Rapport — 1 unread message".to_owned(),
        n => format!("Rapport — {n} unread messages"),
    };
    if let Some(quiet) = &shown.quiet {
        text.push_str(&format!("\n{quiet}"));
    }
    text
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
    let tooltip = {
        let mut shown = tray.shown.lock().expect("tray lock");
        if shown.unread == total {
            return;
        }
        shown.unread = total;
        tooltip(&shown)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_menu_entry_is_an_action() {
        for (status, id, _) in STATUSES {
            assert_eq!(TrayAction::from_menu_id(id), Some(TrayAction::SetStatus(status)), "{id} sets {status:?}");
        }
        for (id, action) in [
            ("open", TrayAction::Open),
            ("dnd", TrayAction::ToggleDoNotDisturb),
            ("pause:hour", TrayAction::Pause(Pause::For { seconds: 3600 })),
            ("pause:tomorrow", TrayAction::Pause(Pause::UntilTomorrow)),
            ("resume", TrayAction::Resume),
            ("updates", TrayAction::CheckForUpdates),
            ("quit", TrayAction::Quit),
        ] {
            assert_eq!(TrayAction::from_menu_id(id), Some(action), "the menu item {id} must do something");
        }
        assert_eq!(TrayAction::from_menu_id("status"), None, "the submenu itself is no action");
        assert_eq!(TrayAction::from_menu_id("quiet"), None, "the quiet state is only shown");
    }

    #[test]
    fn the_tray_says_why_and_until_when_it_is_quiet() {
        let status = |reason: Option<QuietReason>, until: Option<&str>| QuietStatus {
            quiet: reason.is_some(),
            reason,
            until: None,
            until_local: until.map(str::to_owned),
            paused_until: None,
        };
        assert_eq!(quiet_label(&status(Some(QuietReason::Paused), Some("10:00"))).as_deref(), Some("Notifications paused until 10:00"));
        assert_eq!(quiet_label(&status(Some(QuietReason::Schedule), Some("Sat 07:00"))).as_deref(), Some("Quiet hours until Sat 07:00"));
        assert_eq!(quiet_label(&status(None, None)), None);
        let shown = Shown { unread: 3, quiet: Some("Quiet hours until 07:00".into()) };
        assert_eq!(tooltip(&shown), "Rapport — 3 unread messages\nQuiet hours until 07:00");
    }
}
