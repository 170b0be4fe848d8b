//! What makes a card acceptable (1.1, §3), checked the same way by the hub before it stores one
//! and by clients before they send one.

use crate::rest::{ApplicationStatusCard, Card, JobCard};
use crate::is_display_control;

/// Longest one-line card field (title, company, location, salary, job title), in characters.
pub const MAX_CARD_LINE_CHARS: usize = 200;
/// Longest job description or status note, in characters.
pub const MAX_CARD_TEXT_CHARS: usize = 2000;
/// Longest job link, in bytes.
pub const MAX_CARD_URL_BYTES: usize = 2048;

/// Why a card is not acceptable, worded for the person who wrote it; `Ok` when it is.
pub fn check_card(card: &Card) -> Result<(), String> {
    match card {
        Card::Job(job) => check_job(job),
        Card::ApplicationStatus(status) => check_status(status),
    }
}

fn check_job(job: &JobCard) -> Result<(), String> {
    line("title", &job.title, true)?;
    line("company", &job.company, true)?;
    if let Some(location) = &job.location {
        line("location", location, false)?;
    }
    if let Some(salary) = &job.salary {
        line("salary", salary, false)?;
    }
    if let Some(url) = &job.url {
        check_url(url)?;
    }
    if let Some(description) = &job.description {
        text("description", description)?;
    }
    Ok(())
}

fn check_status(status: &ApplicationStatusCard) -> Result<(), String> {
    line("job_title", &status.job_title, true)?;
    if let Some(note) = &status.note {
        text("note", note)?;
    }
    Ok(())
}

/// One line of plain text: no control characters or direction overrides, at most
/// [`MAX_CARD_LINE_CHARS`]; `required` ones not blank.
fn line(field: &str, value: &str, required: bool) -> Result<(), String> {
    if required && value.trim().is_empty() {
        return Err(format!("the card's {field} must not be empty"));
    }
    if value.chars().count() > MAX_CARD_LINE_CHARS {
        return Err(format!("the card's {field} must be at most {MAX_CARD_LINE_CHARS} characters"));
    }
    if value.chars().any(is_display_control) {
        return Err(format!("the card's {field} must be one line of plain text"));
    }
    Ok(())
}

/// Free text: line breaks and tabs are fine, other control characters are not.
fn text(field: &str, value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_CARD_TEXT_CHARS {
        return Err(format!("the card's {field} must be at most {MAX_CARD_TEXT_CHARS} characters"));
    }
    if value.chars().any(|c| is_display_control(c) && !matches!(c, '\n' | '\t')) {
        return Err(format!("the card's {field} holds control characters"));
    }
    Ok(())
}

/// An absolute `http` or `https` link without spaces or control characters.
fn check_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !host_ok || url.len() > MAX_CARD_URL_BYTES || url.chars().any(|c| c.is_whitespace() || is_display_control(c)) {
        return Err(format!("the card's url must be an http(s) link of at most {MAX_CARD_URL_BYTES} bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::ApplicationStatus;

    fn job(title: &str) -> Card {
        Card::Job(JobCard { title: title.into(), company: "Acme".into(), ..JobCard::default() })
    }

    #[test]
    fn a_job_card_needs_a_title_and_a_company_and_a_real_link() {
        assert_eq!(check_card(&job("Rust engineer")), Ok(()));
        assert!(check_card(&job("  ")).unwrap_err().contains("title"));
        assert!(check_card(&job("a\u{202e}b")).is_err(), "direction overrides are refused");
        assert!(check_card(&job(&"x".repeat(MAX_CARD_LINE_CHARS + 1))).is_err());
        let with_url = |url: &str| Card::Job(JobCard { url: Some(url.into()), ..JobCard { title: "t".into(), company: "c".into(), ..JobCard::default() } });
        assert_eq!(check_card(&with_url("https://jobs.example.com/1")), Ok(()));
        for bad in ["javascript:alert(1)", "https://", "ftp://x", "https://a b", "https:///path"] {
            assert!(check_card(&with_url(bad)).is_err(), "{bad:?} is no job link");
        }
    }

    #[test]
    fn a_status_card_needs_a_job_title_and_its_note_may_span_lines() {
        let status = |job_title: &str, note: &str| {
            Card::ApplicationStatus(ApplicationStatusCard { job_title: job_title.into(), status: ApplicationStatus::Offer, note: Some(note.into()) })
        };
        assert_eq!(check_card(&status("Rust engineer", "Congratulations!\nDetails follow.")), Ok(()));
        assert!(check_card(&status("", "x")).is_err());
        assert!(check_card(&status("t", "\u{1b}[2J")).is_err(), "terminal escapes are refused");
    }
}
