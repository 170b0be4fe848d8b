//! The UI's TypeScript types, generated from the Rust types it receives: `ui/src/lib/bindings.ts`.
//!
//! ts-rs derives a declaration per type (`#[derive(TS)]`, behind the `ts` feature of the engine
//! and the protocol crate and only in this crate's tests), and this test writes them into one
//! file. ts-rs rather than tauri-specta: it is a stable release that only describes data, so the
//! engine and protocol crates can derive it without knowing Tauri (the engine is driven by the
//! CLI and tests too), and the one adapter module (`ui/src/lib/backend.ts`) keeps its small
//! table of commands typed by these declarations. tauri-specta would also generate the command
//! table, but is a release candidate that makes every command and type depend on specta.
//!
//! `cargo test -p rapport-desktop bindings` fails when the checked-in file is stale;
//! `RAPPORT_WRITE_BINDINGS=1 cargo test -p rapport-desktop bindings` rewrites it.

use std::collections::BTreeSet;
use std::path::Path;

use rapport_client::{
    ChangeKind, ChosenStatus, Code, ConnectionState, ConversationKind, ConversationSummary, DownloadVariant, Draft, EngineEvent,
    HistoryPage, LocalAttachment, LocalMessage, LocalReaction, Member, MessageKind, MessageState, Notification, NotificationKind,
    NotificationToShow, Pause, PendingChange, Presence, PresenceStatus, QuietHours, QuietReason, QuietSpan, QuietStatus,
    ReceiptKind, ReplyPreview, Role, ScheduledMessage, SearchHit, Template, SnippetPart, TokenStoreKind, TransferProgress, Transport, User, Weekday,
};
use rapport_protocol::{Application, ApplicationStatus, ApplicationStatusCard, Bridge, BridgeChannel, Card, JobCard};
use ts_rs::{Config, TS};

use crate::commands::{Bootstrap, Demo, NewAccount};
use crate::error::CommandError;
use crate::native_notifications::OpenTarget;
use crate::settings::Values;
use crate::staging::{DroppedFiles, StagedFile};
use crate::updates::UpdateStatus;

const FILE: &str = "ui/src/lib/bindings.ts";

/// One declaration: its TypeScript name, its text, and the names it refers to.
struct Declaration {
    name: String,
    text: String,
    uses: Vec<String>,
}

fn declaration<T: TS + 'static + ?Sized>(cfg: &Config) -> Declaration {
    Declaration { name: T::ident(cfg), text: format!("export {}", T::decl(cfg)), uses: T::dependencies(cfg).into_iter().map(|d| d.ts_name).collect() }
}

/// Every type the UI receives or sends, in the order the file lists them.
fn declarations(cfg: &Config) -> Vec<Declaration> {
    vec![
        // Codes and states.
        declaration::<Code>(cfg),
        declaration::<CommandError>(cfg),
        declaration::<Role>(cfg),
        declaration::<ChosenStatus>(cfg),
        declaration::<PresenceStatus>(cfg),
        declaration::<MessageState>(cfg),
        declaration::<ConnectionState>(cfg),
        declaration::<Transport>(cfg),
        declaration::<TokenStoreKind>(cfg),
        declaration::<ReceiptKind>(cfg),
        declaration::<ConversationKind>(cfg),
        declaration::<NotificationKind>(cfg),
        declaration::<MessageKind>(cfg),
        declaration::<ChangeKind>(cfg),
        declaration::<DownloadVariant>(cfg),
        // What the engine hands out.
        declaration::<User>(cfg),
        declaration::<Member>(cfg),
        declaration::<Presence>(cfg),
        declaration::<LocalAttachment>(cfg),
        declaration::<LocalReaction>(cfg),
        declaration::<ReplyPreview>(cfg),
        declaration::<PendingChange>(cfg),
        declaration::<TransferProgress>(cfg),
        declaration::<LocalMessage>(cfg),
        declaration::<HistoryPage>(cfg),
        declaration::<ApplicationStatus>(cfg),
        declaration::<Application>(cfg),
        declaration::<BridgeChannel>(cfg),
        declaration::<Bridge>(cfg),
        declaration::<JobCard>(cfg),
        declaration::<ApplicationStatusCard>(cfg),
        declaration::<Card>(cfg),
        declaration::<ConversationSummary>(cfg),
        declaration::<Template>(cfg),
        declaration::<ScheduledMessage>(cfg),
        declaration::<SnippetPart>(cfg),
        declaration::<SearchHit>(cfg),
        declaration::<Notification>(cfg),
        declaration::<NotificationToShow>(cfg),
        declaration::<QuietReason>(cfg),
        declaration::<QuietStatus>(cfg),
        declaration::<EngineEvent>(cfg),
        // What the UI hands the engine.
        declaration::<Draft>(cfg),
        declaration::<Pause>(cfg),
        declaration::<Weekday>(cfg),
        declaration::<QuietSpan>(cfg),
        declaration::<QuietHours>(cfg),
        // The shell's own.
        declaration::<Values>(cfg),
        declaration::<Demo>(cfg),
        declaration::<Bootstrap>(cfg),
        declaration::<UpdateStatus>(cfg),
        declaration::<OpenTarget>(cfg),
        declaration::<NewAccount>(cfg),
        declaration::<StagedFile>(cfg),
        declaration::<DroppedFiles>(cfg),
    ]
}

fn render() -> String {
    // Counts and seqs fit a JavaScript number; `bigint` would not come out of JSON.parse anyway.
    let cfg = Config::new().with_large_int("number");
    let all = declarations(&cfg);
    let declared: BTreeSet<&str> = all.iter().map(|d| d.name.as_str()).collect();
    for d in &all {
        for used in &d.uses {
            assert!(declared.contains(used.as_str()), "{} refers to {used}, which bindings.rs does not declare: add it", d.name);
        }
    }
    let mut out = String::from(
        "// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs); do not edit.\n\
         // RAPPORT_WRITE_BINDINGS=1 cargo test -p rapport-desktop bindings rewrites it.\n",
    );
    for d in all {
        out.push('\n');
        out.push_str(&d.text);
        out.push('\n');
    }
    out
}

#[test]
fn bindings_are_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE);
    let fresh = render();
    if std::env::var_os("RAPPORT_WRITE_BINDINGS").is_some() {
        std::fs::write(&path, &fresh).expect("write the bindings");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "{FILE} is stale: a type the UI receives changed. Run `RAPPORT_WRITE_BINDINGS=1 cargo test -p rapport-desktop bindings` and commit the file."
    );
}
