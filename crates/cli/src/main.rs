//! `rapport-cli`: the headless Rapport client (`cli-v1`), on the same engine as the desktop app.
//!
//! `args` declares the command line, `cmd/` holds one file per command, `output` prints human
//! text or one JSON object per line, `when` reads `--at TIME`, `failure` maps failures to the exit codes of the contract:
//! 0 done, 1 error, 2 usage (clap), 3 queued but not yet sent.

mod args;
mod cmd;
mod failure;
mod output;
mod when;

use std::process::ExitCode;

use clap::Parser as _;
use rapport_client::{Draft, Engine, EngineConfig, TokenStoreKind};

use crate::args::{Args, CardCommand, Command, ScheduledCommand, TemplatesCommand};
use crate::cmd::send::Outgoing;
use crate::failure::Failure;
use crate::output::Output;

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let out = Output::new(args.json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return out.fail(&Failure::error(anyhow::anyhow!("starting the runtime: {e}"))),
    };
    match runtime.block_on(run(args, &out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => out.fail(&failure),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAPPORT_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

async fn run(args: Args, out: &Output) -> Result<(), Failure> {
    let profile_dir = match args.profile {
        Some(dir) => dir,
        None => directories::ProjectDirs::from("dev", "Rapport", "rapport-cli")
            .map(|d| d.data_dir().join("default"))
            .ok_or_else(|| Failure::error(anyhow::anyhow!("no platform data dir; pass --profile")))?,
    };
    let config = EngineConfig { hub_url: args.hub, profile_dir, token_store: TokenStoreKind::File };
    let engine = Engine::open(config).await.map_err(Failure::engine)?;
    let result = match args.command {
        Command::Register { email, password, name, role } => cmd::account::register(&engine, out, &email, &password, &name, role.into()).await,
        Command::Login { email, password } => cmd::account::login(&engine, out, &email, &password).await,
        Command::Logout => cmd::account::logout(&engine, out).await,
        Command::Whoami => cmd::account::whoami(&engine, out),
        Command::Conversations => cmd::conversations::run(&engine, out).await,
        Command::Send { target, reply_to, attach, template, at, timeout, text } => {
            let draft = Draft { body: text.join(" "), reply_to, files: attach, ..Draft::default() };
            cmd::send::run(&engine, out, target, timeout, Outgoing { draft, template, at: at.at }).await
        }
        Command::Card { card: CardCommand::Job { target, job, at, timeout, text } } => cmd::card::job(&engine, out, target, job, at, timeout, &text).await,
        Command::Templates { command: TemplatesCommand::List } => cmd::templates::list(&engine, out).await,
        Command::Templates { command: TemplatesCommand::Add { name, text } } => cmd::templates::add(&engine, out, &name, &text.join(" ")).await,
        Command::Templates { command: TemplatesCommand::Rm { template } } => cmd::templates::rm(&engine, out, &template).await,
        Command::Scheduled { command: ScheduledCommand::List } => cmd::scheduled::list(&engine, out).await,
        Command::Scheduled { command: ScheduledCommand::Cancel { id } } => cmd::scheduled::cancel(&engine, out, &id).await,
        Command::Edit { id, timeout, text } => cmd::edit::run(&engine, out, &id, &text.join(" "), timeout).await,
        Command::Delete { id, timeout } => cmd::delete::run(&engine, out, &id, timeout).await,
        Command::React { id, emoji, off, timeout } => cmd::react::run(&engine, out, &id, &emoji, !off, timeout).await,
        Command::Download { id, out: path, timeout } => cmd::download::run(&engine, out, &id, path.as_deref(), timeout).await,
        Command::Sync { timeout } => cmd::sync::run(&engine, out, timeout).await,
        Command::History { target, limit } => cmd::history::run(&engine, out, target, limit).await,
        Command::Search { query, limit } => cmd::search::run(&engine, out, &query.join(" "), limit).await,
        Command::Presence { status, timeout } => cmd::presence::run(&engine, out, status.into(), timeout).await,
        Command::Tail => cmd::tail::run(&engine, out).await,
        Command::Bot { reply_delay_ms } => cmd::bot::run(&engine, out, reply_delay_ms).await,
    };
    engine.shutdown().await;
    result
}
