//! Generates the Tauri context (config, capabilities, icons) for `src-tauri/src/main.rs`, and one
//! `allow-<command>` permission per app command so that `capabilities/main.json` grants the
//! window exactly the commands it uses.

const COMMANDS: &[&str] = &[
    "bootstrap",
    "sign_in",
    "sign_up",
    "sign_out",
    "conversations",
    "history",
    "send",
    "edit",
    "delete",
    "react",
    "stage_file",
    "unstage",
    "thumbnail",
    "open_attachment",
    "reveal_attachment",
    "retry",
    "discard",
    "mark_read",
    "typing",
    "set_presence",
    "presence_of",
    "search",
    "users",
    "start_direct",
    "start_group",
    "notifications",
    "mark_notification_read",
    "set_open_conversation",
    "set_muted",
    "pause_notifications",
    "resume_notifications",
    "reconnect_now",
    "get_settings",
    "set_settings",
    "open_link",
    "check_for_updates",
    "install_update",
    "first_paint",
    "send_card",
    "templates",
    "add_template",
    "update_template",
    "remove_template",
    "fill_template",
    "schedule",
    "scheduled",
    "cancel_scheduled",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build script failed: {error:#}");
    }
}
