//! `desktop`: cold start to first paint, idle RSS of all app processes with 50 conversations,
//! `.deb` size. Runs only when the desktop app (`rapport-desktop`) has been built.

use std::path::Path;

use crate::report::Outcome;

/// Where the desktop app's release binary would be.
pub fn binary(target_dir: &Path) -> std::path::PathBuf {
    target_dir.join("rapport-desktop")
}

/// Runs the scenario, or reports it skipped when the app is not built.
pub async fn run(target_dir: &Path) -> anyhow::Result<Outcome> {
    let app = binary(target_dir);
    if !app.exists() {
        println!("skipped: desktop app not built");
        return Ok(Outcome::skipped("desktop", "rapport", "desktop app not built".into()));
    }
    Ok(Outcome::skipped("desktop", "rapport", format!("desktop measurement not implemented yet for {}", app.display())))
}
