//! Received files open in the system's app for their type (the opener plugin: `xdg-open` and
//! its kin), never in Rapport and never run by it. Kinds of file that run code when "opened"
//! (programs, scripts, installers, desktop launchers) are not handed to the opener at all: the
//! user can still show them in their folder and decide there.

use std::path::Path;

use rapport_client::Code;
use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt as _;

use crate::error::{CommandError, CommandResult};

/// Extensions of files that run code when opened on some desktop.
const RUNNABLE: &[&str] = &[
    "appimage", "apk", "app", "bat", "bin", "cmd", "com", "cpl", "csh", "deb", "desktop", "dmg", "elf", "exe", "flatpakref", "hta", "jar",
    "js", "jse", "ksh", "lnk", "msc", "msi", "msp", "pif", "pkg", "ps1", "psm1", "py", "pyw", "rb", "reg", "rpm", "run", "scr", "sh",
    "snap", "url", "vb", "vbe", "vbs", "ws", "wsf", "zsh", "bash", "fish", "pl", "command", "action", "workflow",
];

/// Whether a file of this name may be handed to the system's opener.
pub fn may_open(filename: &str) -> bool {
    let Some((stem, extension)) = filename.rsplit_once('.') else {
        // No extension: the desktop would go by the content, which may be a program.
        return false;
    };
    !stem.is_empty() && !RUNNABLE.contains(&extension.to_ascii_lowercase().as_str())
}

/// Opens a file of this device in the system's app for its type.
pub fn open(app: &AppHandle, path: &Path) -> CommandResult<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !may_open(&name) {
        return Err(CommandError::new(
            Code::Unsupported,
            format!("{name} could run a program when opened, so Rapport does not open it. Use “Show in folder”."),
        ));
    }
    app.opener().open_path(path.to_string_lossy(), None::<&str>).map_err(|e| CommandError::new(Code::Io, format!("Could not open {name}: {e}")))
}

/// Shows a file of this device in the file manager.
pub fn reveal(app: &AppHandle, path: &Path) -> CommandResult<()> {
    app.opener().reveal_item_in_dir(path).map_err(|e| CommandError::new(Code::Io, format!("Could not show the file in its folder: {e}")))
}

#[cfg(test)]
mod tests {
    use super::may_open;

    #[test]
    fn documents_and_images_open_programs_do_not() {
        for ok in ["CV.pdf", "job description.docx", "photo.JPG", "notes.txt", "offer.v2.odt"] {
            assert!(may_open(ok), "{ok} opens in its app");
        }
        for bad in ["setup.exe", "install.SH", "launcher.desktop", "tool.AppImage", "run", ".bashrc", "x.tar.gz.ps1", "macro.vbs"] {
            assert!(!may_open(bad), "{bad} must not reach the opener");
        }
    }
}
