//! `Conversation.application` (1.1, §3): where a candidate stands, read off the conversation's
//! newest status card the same way for every database.

use rapport_protocol::{Application, Card};

use crate::clock::rfc3339;

/// The application a stored status card (its JSON and the time of its message) tells of;
/// `None` when the JSON is not a status card.
pub fn application(card_json: &str, created_at: i64) -> Option<Application> {
    match serde_json::from_str::<Card>(card_json).ok()? {
        Card::ApplicationStatus(card) => Some(Application { job_title: card.job_title, status: card.status, updated_at: rfc3339(created_at) }),
        Card::Job(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_protocol::ApplicationStatus;

    #[test]
    fn only_a_status_card_tells_where_an_application_stands() {
        let status = application(r#"{"job_title":"Rust engineer","status":"offer"}"#, 0).unwrap();
        assert_eq!((status.job_title.as_str(), status.status, status.updated_at.as_str()), ("Rust engineer", ApplicationStatus::Offer, "1970-01-01T00:00:00Z"));
        assert_eq!(application(r#"{"title":"t","company":"c"}"#, 0), None);
        assert_eq!(application("not json", 0), None);
    }
}
