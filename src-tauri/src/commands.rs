//! The Tauri commands: each one delegates to the engine (or to one glue module) in one call.
//! Arguments are snake_case on the wire, like every payload the engine produces.

use rapport_client::{
    Card, ChosenStatus, Code, ConnectionState, ConversationSummary, Draft, EngineError, HistoryPage, LocalMessage, Notification,
    Pause, Presence, QuietStatus, Role, ScheduledMessage, SearchHit, Template, TokenStoreKind, User,
};
use serde::{Deserialize, Serialize};
use tauri::ipc::{InvokeBody, Request, Response};
use tauri::{AppHandle, State};

use crate::error::{CommandError, CommandResult};
use crate::profile::ActiveProfile;
use crate::reactions;
use crate::settings::{Settings, Values};
use crate::staging::{StagedFile, Staging};
use crate::updates::UpdateStatus;

/// Demo credentials to show on the sign-in screen (`scripts/run` sets them).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Demo {
    email: String,
    password: String,
}

/// What the window needs to draw its first screen.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Bootstrap {
    hub_url: String,
    user: Option<User>,
    connection: ConnectionState,
    chosen_presence: ChosenStatus,
    settings: Values,
    demo: Option<Demo>,
    version: String,
    /// Where the login is kept: `keyring`, or `file` (0600, in the profile) without a keyring;
    /// null before a profile is open.
    login_store: Option<TokenStoreKind>,
    /// Whether notifications are quiet now; null before a profile is open.
    quiet: Option<QuietStatus>,
    /// The system's IANA time zone (what an empty quiet-hours time zone means); null if unknown.
    system_time_zone: Option<String>,
}

#[tauri::command(rename_all = "snake_case")]
pub fn bootstrap(app: AppHandle, profile: State<'_, ActiveProfile>, settings: State<'_, Settings>) -> Bootstrap {
    let engine = profile.engine().ok();
    let settings = settings.get();
    let demo = match (std::env::var("RAPPORT_DEMO_EMAIL"), std::env::var("RAPPORT_DEMO_PASSWORD")) {
        (Ok(email), Ok(password)) => Some(Demo { email, password }),
        _ => None,
    };
    Bootstrap {
        hub_url: profile.hub_url().unwrap_or_else(|| settings.hub_url.clone()),
        user: engine.as_ref().and_then(|e| e.me()),
        connection: engine.as_ref().map_or(ConnectionState::SignedOut, |e| e.connection_state()),
        chosen_presence: engine.as_ref().map(|e| e.chosen_presence()).unwrap_or_default(),
        settings,
        demo,
        version: app.package_info().version.to_string(),
        login_store: profile.token_store(),
        quiet: engine.as_ref().map(|e| e.quiet_status()),
        system_time_zone: rapport_client::system_time_zone(),
    }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_in(app: AppHandle, hub_url: String, email: String, password: String) -> CommandResult<User> {
    reactions::sign_in(&app, &hub_url, &email, &password, None).await
}

/// A new account, as the sign-up form sends it.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct NewAccount {
    hub_url: String,
    email: String,
    password: String,
    display_name: String,
    role: Role,
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_up(app: AppHandle, account: NewAccount) -> CommandResult<User> {
    let NewAccount { hub_url, email, password, display_name, role } = account;
    reactions::sign_in(&app, &hub_url, &email, &password, Some((&display_name, role))).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_out(profile: State<'_, ActiveProfile>) -> CommandResult<()> {
    Ok(profile.engine()?.logout().await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn conversations(profile: State<'_, ActiveProfile>) -> CommandResult<Vec<ConversationSummary>> {
    Ok(profile.engine()?.conversations().await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn history(profile: State<'_, ActiveProfile>, conversation_id: String, before_seq: Option<i64>, limit: u32) -> CommandResult<HistoryPage> {
    Ok(profile.engine()?.history(&conversation_id, before_seq, limit.clamp(1, 200)).await?)
}

/// Queues a message: its text, the message it answers and the staged files it carries (ids
/// from [`stage_file`] or a drop; they are let go once the engine has its own copies).
#[tauri::command(rename_all = "snake_case")]
pub async fn send(
    profile: State<'_, ActiveProfile>,
    staging: State<'_, Staging>,
    conversation_id: String,
    body: String,
    reply_to: Option<String>,
    files: Option<Vec<String>>,
) -> CommandResult<LocalMessage> {
    let files = files.unwrap_or_default();
    let draft = Draft { body, reply_to, files: staging.paths(&files)?, ..Draft::default() };
    let sent = profile.engine()?.send_draft(&conversation_id, &draft).await?;
    staging.release(&files).await;
    Ok(sent)
}

/// (1.1, §3) Shares a card (a recruiter's job card) with an optional line of text.
#[tauri::command(rename_all = "snake_case")]
pub async fn send_card(profile: State<'_, ActiveProfile>, conversation_id: String, body: String, card: Card) -> CommandResult<LocalMessage> {
    Ok(profile.engine()?.send_card(&conversation_id, &body, card).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn templates(profile: State<'_, ActiveProfile>) -> CommandResult<Vec<Template>> {
    Ok(profile.engine()?.templates().await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_template(profile: State<'_, ActiveProfile>, name: String, body: String) -> CommandResult<Template> {
    Ok(profile.engine()?.add_template(&name, &body).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn update_template(profile: State<'_, ActiveProfile>, id: String, name: String, body: String) -> CommandResult<Template> {
    Ok(profile.engine()?.update_template(&id, &name, &body).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn remove_template(profile: State<'_, ActiveProfile>, id: String) -> CommandResult<()> {
    Ok(profile.engine()?.remove_template(&id).await?)
}

/// A template's text filled in for one conversation (an unknown variable is `invalid`).
#[tauri::command(rename_all = "snake_case")]
pub async fn fill_template(profile: State<'_, ActiveProfile>, conversation_id: String, body: String) -> CommandResult<String> {
    Ok(profile.engine()?.fill_template(&conversation_id, &body).await?)
}

/// (1.1, §3) Has the hub send a text at `send_at` (RFC 3339).
#[tauri::command(rename_all = "snake_case")]
pub async fn schedule(profile: State<'_, ActiveProfile>, conversation_id: String, body: String, send_at: String) -> CommandResult<ScheduledMessage> {
    let draft = Draft { body, ..Draft::default() };
    Ok(profile.engine()?.schedule(&conversation_id, &draft, &send_at).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn scheduled(profile: State<'_, ActiveProfile>) -> CommandResult<Vec<ScheduledMessage>> {
    Ok(profile.engine()?.scheduled().await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn cancel_scheduled(profile: State<'_, ActiveProfile>, id: String) -> CommandResult<()> {
    Ok(profile.engine()?.cancel_scheduled(&id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn edit(profile: State<'_, ActiveProfile>, message: String, body: String) -> CommandResult<LocalMessage> {
    Ok(profile.engine()?.edit(&message, &body).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn delete(profile: State<'_, ActiveProfile>, message: String) -> CommandResult<Option<LocalMessage>> {
    Ok(profile.engine()?.delete(&message).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn react(profile: State<'_, ActiveProfile>, message_id: String, emoji: String, on: bool) -> CommandResult<LocalMessage> {
    Ok(profile.engine()?.react(&message_id, &emoji, on).await?)
}

/// A file chosen with the paperclip: its bytes are the request body, its name the
/// percent-encoded `x-filename` header (the web view has no path to hand over).
#[tauri::command(rename_all = "snake_case")]
pub async fn stage_file(staging: State<'_, Staging>, request: Request<'_>) -> CommandResult<StagedFile> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(CommandError::from(EngineError::Invalid { reason: Code::InvalidPayload, message: "the file's bytes are missing".into() }));
    };
    let raw = request.headers().get("x-filename").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let name = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    staging.write(&name, bytes).await
}

/// Takes staged files out of the composer.
#[tauri::command(rename_all = "snake_case")]
pub async fn unstage(staging: State<'_, Staging>, ids: Vec<String>) -> CommandResult<()> {
    staging.release(&ids).await;
    Ok(())
}

/// The hub's preview of an image attachment (fetched once, then kept by the engine), as bytes:
/// the web view never talks to the hub itself.
#[tauri::command(rename_all = "snake_case")]
pub async fn thumbnail(profile: State<'_, ActiveProfile>, attachment_id: String) -> CommandResult<Response> {
    let path = profile.engine()?.thumbnail(&attachment_id).await?;
    Ok(Response::new(tokio::fs::read(&path).await.map_err(EngineError::from)?))
}

/// Opens an attachment in the system's app for its type (downloading it first if needed).
#[tauri::command(rename_all = "snake_case")]
pub async fn open_attachment(app: AppHandle, profile: State<'_, ActiveProfile>, attachment_id: String) -> CommandResult<()> {
    crate::opening::open(&app, &profile.engine()?.download(&attachment_id).await?)
}

/// Shows an attachment in the file manager (downloading it first if needed).
#[tauri::command(rename_all = "snake_case")]
pub async fn reveal_attachment(app: AppHandle, profile: State<'_, ActiveProfile>, attachment_id: String) -> CommandResult<()> {
    crate::opening::reveal(&app, &profile.engine()?.download(&attachment_id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn retry(profile: State<'_, ActiveProfile>, client_msg_id: String) -> CommandResult<()> {
    Ok(profile.engine()?.retry(&client_msg_id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn discard(profile: State<'_, ActiveProfile>, client_msg_id: String) -> CommandResult<()> {
    Ok(profile.engine()?.discard(&client_msg_id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn mark_read(profile: State<'_, ActiveProfile>, conversation_id: String) -> CommandResult<()> {
    Ok(profile.engine()?.mark_read(&conversation_id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn typing(profile: State<'_, ActiveProfile>, conversation_id: String) -> CommandResult<()> {
    profile.engine()?.typing(&conversation_id).await;
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_presence(profile: State<'_, ActiveProfile>, status: ChosenStatus) -> CommandResult<()> {
    Ok(profile.engine()?.set_presence(status).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub fn presence_of(profile: State<'_, ActiveProfile>, user_ids: Vec<String>) -> CommandResult<Vec<Presence>> {
    let engine = profile.engine()?;
    Ok(user_ids.iter().filter_map(|id| engine.presence_of(id)).collect())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn search(profile: State<'_, ActiveProfile>, query: String, limit: u32) -> CommandResult<Vec<SearchHit>> {
    Ok(profile.engine()?.search(&query, limit.clamp(1, 100)).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn users(profile: State<'_, ActiveProfile>, query: String) -> CommandResult<Vec<User>> {
    Ok(profile.engine()?.users(&query).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn start_direct(profile: State<'_, ActiveProfile>, user_id: String) -> CommandResult<ConversationSummary> {
    Ok(profile.engine()?.start_direct(&user_id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn start_group(profile: State<'_, ActiveProfile>, title: String, member_ids: Vec<String>) -> CommandResult<ConversationSummary> {
    Ok(profile.engine()?.start_group(&title, &member_ids).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn notifications(profile: State<'_, ActiveProfile>) -> CommandResult<Vec<Notification>> {
    Ok(profile.engine()?.notifications().await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn mark_notification_read(profile: State<'_, ActiveProfile>, id: String) -> CommandResult<()> {
    Ok(profile.engine()?.mark_notification_read(&id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub fn set_open_conversation(app: AppHandle, conversation_id: Option<String>) {
    reactions::conversation_opened(&app, conversation_id);
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_muted(profile: State<'_, ActiveProfile>, conversation_id: String, muted: bool) -> CommandResult<()> {
    Ok(profile.engine()?.set_muted(&conversation_id, muted).await?)
}

/// Pauses notifications (the settings pane and the tray offer 1 hour and until tomorrow).
#[tauri::command(rename_all = "snake_case")]
pub async fn pause_notifications(profile: State<'_, ActiveProfile>, pause: Pause) -> CommandResult<QuietStatus> {
    Ok(profile.engine()?.pause_notifications(pause).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn resume_notifications(profile: State<'_, ActiveProfile>) -> CommandResult<QuietStatus> {
    Ok(profile.engine()?.resume_notifications().await?)
}

#[tauri::command(rename_all = "snake_case")]
pub fn reconnect_now(profile: State<'_, ActiveProfile>) -> CommandResult<()> {
    profile.engine()?.reconnect_now();
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub fn get_settings(settings: State<'_, Settings>) -> Values {
    settings.get()
}

#[tauri::command(rename_all = "snake_case")]
pub fn set_settings(app: AppHandle, values: Values) -> CommandResult<Values> {
    reactions::change_settings(&app, |v| *v = values)
}

#[tauri::command(rename_all = "snake_case")]
pub fn open_link(app: AppHandle, url: String) -> CommandResult<()> {
    crate::links::open(&app, &url)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn check_for_updates(app: AppHandle) -> CommandResult<UpdateStatus> {
    crate::updates::check(&app, &reactions::update_hub(&app)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn install_update(app: AppHandle) -> CommandResult<()> {
    crate::updates::install(&app, &reactions::update_hub(&app)).await
}

/// The web UI has painted its first screen (the conversation list, when signed in).
#[tauri::command(rename_all = "snake_case")]
pub fn first_paint() {
    crate::startup::first_paint();
}

pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        bootstrap,
        sign_in,
        sign_up,
        sign_out,
        conversations,
        history,
        send,
        edit,
        delete,
        react,
        stage_file,
        unstage,
        thumbnail,
        open_attachment,
        reveal_attachment,
        retry,
        discard,
        mark_read,
        typing,
        set_presence,
        presence_of,
        search,
        users,
        start_direct,
        start_group,
        notifications,
        mark_notification_read,
        set_open_conversation,
        set_muted,
        pause_notifications,
        resume_notifications,
        reconnect_now,
        get_settings,
        set_settings,
        open_link,
        check_for_updates,
        install_update,
        first_paint,
        send_card,
        templates,
        add_template,
        update_template,
        remove_template,
        fill_template,
        schedule,
        scheduled,
        cancel_scheduled,
    ]
}

#[cfg(test)]
mod tests {
    /// The commands registered in [`super::handler`], read from this file's source.
    fn handled() -> Vec<String> {
        let source = include_str!("commands.rs");
        let start = source.find("generate_handler![").expect("the handler list") + "generate_handler![".len();
        let end = start + source[start..].find(']').expect("the end of the handler list");
        source[start..end].split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
    }

    #[test]
    fn every_command_is_permitted_to_the_window() {
        // Tauri refuses a command at run time ("not allowed. Command not found") unless build.rs
        // declares it and the window's capability grants it; a new command must do all three.
        let build = include_str!("../build.rs");
        let capability = include_str!("../capabilities/main.json");
        let commands = handled();
        assert!(commands.len() > 20, "the handler list was read: {commands:?}");
        for command in commands {
            assert!(build.contains(&format!("\"{command}\"")), "{command} is missing from COMMANDS in src-tauri/build.rs");
            let permission = format!("\"allow-{}\"", command.replace('_', "-"));
            assert!(capability.contains(&permission), "{permission} is missing from src-tauri/capabilities/main.json");
        }
    }
}
