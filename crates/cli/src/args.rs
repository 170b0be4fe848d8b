//! The command line of `cli-v1`.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use rapport_client::{ChosenStatus, Role};

/// The headless Rapport client.
#[derive(Debug, Parser)]
#[command(name = "rapport-cli", version, about = "The headless Rapport client: the desktop app's engine behind a command line")]
pub struct Args {
    /// The hub's URL.
    #[arg(long, env = "RAPPORT_HUB", default_value = "http://127.0.0.1:7878", global = true)]
    pub hub: String,
    /// Profile directory (local cache and login); two profiles are two devices.
    #[arg(long, env = "RAPPORT_PROFILE", global = true)]
    pub profile: Option<PathBuf>,
    /// One JSON object per line instead of human text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Account roles.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Finds and talks to candidates.
    Recruiter,
    /// Looks for a job.
    Candidate,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Recruiter => Role::Recruiter,
            RoleArg::Candidate => Role::Candidate,
        }
    }
}

/// Presence a user can choose.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    /// Shown as online.
    Online,
    /// Shown as away.
    Away,
    /// Shown as busy.
    Busy,
    /// Shown to others as offline.
    Invisible,
}

impl From<StatusArg> for ChosenStatus {
    fn from(status: StatusArg) -> ChosenStatus {
        match status {
            StatusArg::Online => ChosenStatus::Online,
            StatusArg::Away => ChosenStatus::Away,
            StatusArg::Busy => ChosenStatus::Busy,
            StatusArg::Invisible => ChosenStatus::Invisible,
        }
    }
}

/// Where a message goes (or whose history to show): exactly one of the two.
#[derive(Debug, Clone, ClapArgs)]
#[group(required = true, multiple = false)]
pub struct SendTarget {
    /// The direct conversation with the user who has this email.
    #[arg(long = "to", value_name = "EMAIL")]
    pub to: Option<String>,
    /// A conversation id.
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,
}

/// Whose history to show: exactly one of the two.
#[derive(Debug, Clone, ClapArgs)]
#[group(required = true, multiple = false)]
pub struct HistoryTarget {
    /// The direct conversation with the user who has this email.
    #[arg(long = "with", value_name = "EMAIL")]
    pub with: Option<String>,
    /// A conversation id.
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,
}

/// When the hub should send a message instead of now.
#[derive(Debug, Clone, ClapArgs)]
pub struct At {
    /// Have the hub send it at TIME (1 minute to 90 days ahead), also while this device is off:
    /// RFC 3339 (`2026-12-04T09:00:00+01:00`), a local date and time (`2026-12-04 09:00`),
    /// `today 17:30`, `tomorrow 09:00`, a weekday (`monday 09:00`: the next one), or from now
    /// (`+2h`, `+1d 3h`, `+90m`). Local times are in the system's time zone (`TZ`).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

/// The fields of a job card.
#[derive(Debug, Clone, ClapArgs)]
pub struct JobFields {
    /// Job title.
    #[arg(long)]
    pub title: String,
    /// Hiring company.
    #[arg(long)]
    pub company: String,
    /// Where the job is.
    #[arg(long)]
    pub location: Option<String>,
    /// Pay, as you would write it (`€90–110k`).
    #[arg(long)]
    pub salary: Option<String>,
    /// Link to the posting (http or https).
    #[arg(long, value_name = "URL")]
    pub link: Option<String>,
    /// A short description.
    #[arg(long)]
    pub description: Option<String>,
}

/// Kinds of card.
#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Share a role: queued and sent like `send` (exit 3 if the hub cannot be reached in time),
    /// or sent later with --at.
    Job {
        #[command(flatten)]
        target: SendTarget,
        #[command(flatten)]
        job: JobFields,
        #[command(flatten)]
        at: At,
        /// Seconds to wait for the hub's acknowledgement.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// A message to go with the card (optional).
        #[arg(num_args = 0..)]
        text: Vec<String>,
    },
}

/// `templates …`.
#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// List your templates, by name.
    List,
    /// Save a template; TEXT may use {{first_name}}, {{display_name}}, {{job_title}} and
    /// {{my_name}}, filled from the conversation when it is sent (send --template NAME).
    Add {
        /// What you call it (unique among your templates).
        name: String,
        /// The text.
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Remove a template (by name or id).
    Rm {
        /// The template's name or id.
        template: String,
    },
}

/// `scheduled …`.
#[derive(Debug, Subcommand)]
pub enum ScheduledCommand {
    /// List your messages waiting for their time, soonest first.
    List,
    /// Cancel one before it is sent.
    Cancel {
        /// The id `send --at` or `scheduled list` printed.
        id: String,
    },
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account and log this profile in.
    Register {
        /// Login email.
        #[arg(long)]
        email: String,
        /// At least 8 characters.
        #[arg(long)]
        password: String,
        /// Name shown to others.
        #[arg(long)]
        name: String,
        /// recruiter or candidate.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Log this profile in.
    Login {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Password.
        #[arg(long)]
        password: String,
    },
    /// Log out and forget this profile's login and cache.
    Logout,
    /// Show who this profile is logged in as.
    Whoami,
    /// List cached conversations with unread counts.
    Conversations,
    /// Queue a message, then connect and send it (exit 3 if the hub cannot be reached in time);
    /// with --at, have the hub send it later instead.
    Send {
        #[command(flatten)]
        target: SendTarget,
        /// The id of the message this one answers.
        #[arg(long, value_name = "ID", conflicts_with = "at")]
        reply_to: Option<String>,
        /// A file to attach (repeat for more, at most 10, each at most 25 MiB).
        #[arg(long = "attach", value_name = "FILE", conflicts_with = "at")]
        attach: Vec<PathBuf>,
        /// Send one of your templates (by name or id), its {{variables}} filled from the
        /// conversation, instead of TEXT.
        #[arg(long, value_name = "NAME", conflicts_with = "text")]
        template: Option<String>,
        #[command(flatten)]
        at: At,
        /// Seconds to wait for the hub's acknowledgement (files are uploaded first).
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// The message text (may be left out when files are attached or with --template).
        #[arg(required_unless_present_any = ["attach", "template"], num_args = 0..)]
        text: Vec<String>,
    },
    /// Share a structured card (recruiters only).
    Card {
        #[command(subcommand)]
        card: CardCommand,
    },
    /// Your saved replies, kept on the hub.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
    /// Your messages the hub will send later (send --at).
    Scheduled {
        #[command(subcommand)]
        command: ScheduledCommand,
    },
    /// Change the text of one of your messages (exit 3 if queued but not yet applied).
    Edit {
        /// The message's id (or, while it is still queued, the id `send` printed).
        id: String,
        /// Seconds to wait for the hub.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// The new text.
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Delete one of your messages; everyone sees "message deleted" (exit 3 if queued).
    Delete {
        /// The message's id (or, while it is still queued, the id `send` printed).
        id: String,
        /// Seconds to wait for the hub.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
    },
    /// React to a message with an emoji or a :shortcode:, or take the reaction back (exit 3 if
    /// queued).
    React {
        /// The message's id.
        id: String,
        /// One emoji (👍) or a :shortcode:.
        emoji: String,
        /// Take the reaction back.
        #[arg(long)]
        off: bool,
        /// Seconds to wait for the hub.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
    },
    /// Save an attachment (by its id), or every file of a message (by the message's id).
    Download {
        /// An attachment id or a message id.
        id: String,
        /// Where to save: a file, or a directory to save in (default: the current directory,
        /// under the file's own name, never over an existing file).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Seconds to wait for a sync when the id is not cached yet.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
    },
    /// Connect, flush the outbox and catch every conversation up (exit 3 if unreachable).
    Sync {
        /// Seconds to wait.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
    },
    /// Print cached messages, oldest first.
    History {
        #[command(flatten)]
        target: HistoryTarget,
        /// Only the newest N messages.
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Full-text search over the local cache.
    Search {
        /// Words to find.
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// Most results.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Set your presence.
    Presence {
        /// online, away, busy or invisible.
        #[arg(value_enum)]
        status: StatusArg,
        /// Seconds to wait for the hub.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
    },
    /// Stay connected and print every event until SIGINT/SIGTERM.
    Tail,
    /// Demo bot: answers messages like a candidate (typing first, then a reply).
    Bot {
        /// Base delay before a reply, in milliseconds (a random part is added).
        #[arg(long, default_value_t = 1500)]
        reply_delay_ms: u64,
    },
}

/// Seconds from the command line as a duration (negative or NaN counts as zero).
pub fn seconds(s: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(s).unwrap_or_default()
}
