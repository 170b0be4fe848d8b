//! `card job`: a role shared as a card, sent (or scheduled) like `send`.

use anyhow::anyhow;
use rapport_client::{Draft, Engine};
use rapport_protocol::{Card, JobCard, Role};

use crate::args::{At, JobFields, SendTarget};
use crate::cmd::send::Outgoing;
use crate::failure::Failure;
use crate::output::Output;

/// Queues (or schedules) a job card with an optional message; the engine refuses a card that
/// breaks the card rules, or any card from a candidate, before anything is queued.
pub async fn job(engine: &Engine, out: &Output, target: SendTarget, fields: JobFields, at: At, timeout: f64, text: &[String]) -> Result<(), Failure> {
    let JobFields { title, company, location, salary, link, description } = fields;
    let card = Card::Job(JobCard { title, company, location, salary, url: link, description });
    // Checked here as well as in the engine: `--to EMAIL` would otherwise create the
    // conversation at the hub before the card is refused.
    rapport_protocol::card::check_card(&card).map_err(|message| Failure::invalid(anyhow!("{message}; nothing was sent")))?;
    if engine.me().is_some_and(|me| me.role != Role::Recruiter) {
        return Err(Failure::invalid(anyhow!("only recruiters send job cards; nothing was sent")));
    }
    let draft = Draft { body: text.join(" "), card: Some(card), ..Draft::default() };
    super::send::run(engine, out, target, timeout, Outgoing { draft, template: None, at: at.at }).await
}
