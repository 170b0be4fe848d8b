//! What the cached cards of a conversation say (1.1, §3): where the candidate's application
//! stands, and the role last shared — read from the cache, which holds every message of every
//! conversation (catch-up fills it gap-free), so they are right offline too.

use rapport_protocol::{Application, Card};

use super::Cache;
use crate::EngineError;

impl Cache {
    /// The newest card of `kind` in the conversation that was not deleted, with its time.
    async fn newest_card(&self, conversation_id: &str, kind: &str) -> Result<Option<(Card, String)>, EngineError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT card, created_at FROM messages
              WHERE conversation_id = ? AND kind = ? AND card IS NOT NULL AND deleted_at IS NULL
              ORDER BY seq DESC LIMIT 1",
        )
        .bind(conversation_id)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(json, created_at)| Some((serde_json::from_str(&json).ok()?, created_at))))
    }

    /// `Conversation.application`: the newest status card's job title and stage.
    pub(crate) async fn application(&self, conversation_id: &str) -> Result<Option<Application>, EngineError> {
        Ok(match self.newest_card(conversation_id, "application_status").await? {
            Some((Card::ApplicationStatus(card), updated_at)) => Some(Application { job_title: card.job_title, status: card.status, updated_at }),
            _ => None,
        })
    }

    /// The title of the newest job card (what `{{job_title}}` fills in).
    pub(crate) async fn latest_job_title(&self, conversation_id: &str) -> Result<Option<String>, EngineError> {
        Ok(match self.newest_card(conversation_id, "job").await? {
            Some((Card::Job(job), _)) => Some(job.title),
            _ => None,
        })
    }
}
