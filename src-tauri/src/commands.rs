//! The Tauri commands: each one delegates to the engine (or to one glue module) in one call.
//! Arguments are snake_case on the wire, like every payload the engine produces.

use rapport_client::{
    ChosenStatus, ConnectionState, ConversationSummary, HistoryPage, LocalMessage, Notification, Presence, Role,
    SearchHit, TokenStoreKind, User,
};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};

use crate::error::CommandResult;
use crate::profile::Profiles;
use crate::settings::{Settings, Values};
use crate::updates::UpdateStatus;

/// Demo credentials to show on the sign-in screen (`scripts/run` sets them).
#[derive(Debug, Serialize)]
pub struct Demo {
    email: String,
    password: String,
}

/// What the window needs to draw its first screen.
#[derive(Debug, Serialize)]
pub struct Bootstrap {
    hub_url: String,
    user: Option<User>,
    connection: ConnectionState,
    chosen_presence: ChosenStatus,
    settings: Values,
    demo: Option<Demo>,
    version: String,
    /// Where the login is kept: `keyring`, or `file` (0600, in the profile) without a keyring.
    login_store: Option<&'static str>,
}

#[tauri::command(rename_all = "snake_case")]
pub fn bootstrap(app: AppHandle, profiles: State<'_, Profiles>, settings: State<'_, Settings>) -> Bootstrap {
    let engine = profiles.engine().ok();
    let settings = settings.get();
    let demo = match (std::env::var("RAPPORT_DEMO_EMAIL"), std::env::var("RAPPORT_DEMO_PASSWORD")) {
        (Ok(email), Ok(password)) => Some(Demo { email, password }),
        _ => None,
    };
    Bootstrap {
        hub_url: profiles.hub_url().unwrap_or_else(|| settings.hub_url.clone()),
        user: engine.as_ref().and_then(|e| e.me()),
        connection: engine.as_ref().map_or(ConnectionState::SignedOut, |e| e.connection_state()),
        chosen_presence: engine.as_ref().map(|e| e.chosen_presence()).unwrap_or_default(),
        settings,
        demo,
        version: app.package_info().version.to_string(),
        login_store: profiles.store().map(|s| match s {
            TokenStoreKind::Keyring => "keyring",
            TokenStoreKind::File => "file",
        }),
    }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_in(app: AppHandle, profiles: State<'_, Profiles>, settings: State<'_, Settings>, hub_url: String, email: String, password: String) -> CommandResult<User> {
    let user = profiles.sign_in(&app, &hub_url, &email, &password, None).await?;
    remember_hub(&app, &settings, &profiles);
    Ok(user)
}

/// A new account, as the sign-up form sends it.
#[derive(Debug, Deserialize)]
pub struct NewAccount {
    hub_url: String,
    email: String,
    password: String,
    display_name: String,
    role: Role,
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_up(app: AppHandle, profiles: State<'_, Profiles>, settings: State<'_, Settings>, account: NewAccount) -> CommandResult<User> {
    let NewAccount { hub_url, email, password, display_name, role } = account;
    let user = profiles.sign_in(&app, &hub_url, &email, &password, Some((&display_name, role))).await?;
    remember_hub(&app, &settings, &profiles);
    Ok(user)
}

fn remember_hub(app: &AppHandle, settings: &Settings, profiles: &Profiles) {
    if let Some(hub) = profiles.hub_url() {
        if let Err(error) = settings.update(app, |v| v.hub_url = hub) {
            tracing::warn!(%error, "could not remember the hub");
        }
    }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_out(profiles: State<'_, Profiles>) -> CommandResult<()> {
    Ok(profiles.engine()?.logout().await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn conversations(profiles: State<'_, Profiles>) -> CommandResult<Vec<ConversationSummary>> {
    Ok(profiles.engine()?.conversations().await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn history(profiles: State<'_, Profiles>, conversation_id: String, before_seq: Option<i64>, limit: u32) -> CommandResult<HistoryPage> {
    Ok(profiles.engine()?.history(&conversation_id, before_seq, limit.clamp(1, 200)).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn send(profiles: State<'_, Profiles>, conversation_id: String, body: String) -> CommandResult<LocalMessage> {
    Ok(profiles.engine()?.send(&conversation_id, &body).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn retry(profiles: State<'_, Profiles>, client_msg_id: String) -> CommandResult<()> {
    Ok(profiles.engine()?.retry(&client_msg_id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn discard(profiles: State<'_, Profiles>, client_msg_id: String) -> CommandResult<()> {
    Ok(profiles.engine()?.discard(&client_msg_id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn mark_read(profiles: State<'_, Profiles>, conversation_id: String) -> CommandResult<()> {
    Ok(profiles.engine()?.mark_read(&conversation_id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn typing(profiles: State<'_, Profiles>, conversation_id: String) -> CommandResult<()> {
    profiles.engine()?.typing(&conversation_id).await;
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_presence(app: AppHandle, profiles: State<'_, Profiles>, status: ChosenStatus) -> CommandResult<()> {
    let result = profiles.engine()?.set_presence(status).await;
    crate::tray::refresh_menu(&app);
    Ok(result?)
}

#[tauri::command(rename_all = "snake_case")]
pub fn presence_of(profiles: State<'_, Profiles>, user_ids: Vec<String>) -> CommandResult<Vec<Presence>> {
    let engine = profiles.engine()?;
    Ok(user_ids.iter().filter_map(|id| engine.presence_of(id)).collect())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn search(profiles: State<'_, Profiles>, query: String, limit: u32) -> CommandResult<Vec<SearchHit>> {
    Ok(profiles.engine()?.search(&query, limit.clamp(1, 100)).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn users(profiles: State<'_, Profiles>, query: String) -> CommandResult<Vec<User>> {
    Ok(profiles.engine()?.users(&query).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn start_direct(profiles: State<'_, Profiles>, user_id: String) -> CommandResult<ConversationSummary> {
    Ok(profiles.engine()?.start_direct(&user_id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn start_group(profiles: State<'_, Profiles>, title: String, member_ids: Vec<String>) -> CommandResult<ConversationSummary> {
    Ok(profiles.engine()?.start_group(&title, &member_ids).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn notifications(profiles: State<'_, Profiles>) -> CommandResult<Vec<Notification>> {
    Ok(profiles.engine()?.notifications().await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn mark_notification_read(profiles: State<'_, Profiles>, id: String) -> CommandResult<()> {
    Ok(profiles.engine()?.mark_notification_read(&id).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub fn set_open_conversation(profiles: State<'_, Profiles>, conversation_id: Option<String>) {
    profiles.set_open_conversation(conversation_id);
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_muted(profiles: State<'_, Profiles>, conversation_id: String, muted: bool) -> CommandResult<()> {
    Ok(profiles.engine()?.set_muted(&conversation_id, muted).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub fn reconnect_now(profiles: State<'_, Profiles>) -> CommandResult<()> {
    profiles.engine()?.reconnect_now();
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub fn get_settings(settings: State<'_, Settings>) -> Values {
    settings.get()
}

#[tauri::command(rename_all = "snake_case")]
pub fn set_settings(app: AppHandle, settings: State<'_, Settings>, values: Values) -> CommandResult<Values> {
    settings.set(&app, values).map_err(|e| crate::error::CommandError::new("io", e.to_string()))?;
    Ok(settings.get())
}

#[tauri::command(rename_all = "snake_case")]
pub fn open_link(app: AppHandle, url: String) -> CommandResult<()> {
    crate::links::open(&app, &url)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn check_for_updates(app: AppHandle) -> CommandResult<UpdateStatus> {
    crate::updates::check(&app).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn install_update(app: AppHandle) -> CommandResult<()> {
    crate::updates::install(&app).await
}

/// The web UI has painted its first screen (the conversation list, when signed in). Logged once
/// per run with the time since the process started: start-up time is then visible in every log,
/// and `bench/`'s desktop scenario reads it.
#[tauri::command(rename_all = "snake_case")]
pub fn first_paint() {
    static LOGGED: std::sync::Once = std::sync::Once::new();
    LOGGED.call_once(|| tracing::info!(since_start_ms = crate::STARTED.elapsed().as_millis() as u64, "first paint"));
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
        reconnect_now,
        get_settings,
        set_settings,
        open_link,
        check_for_updates,
        install_update,
        first_paint,
    ]
}
