//! The one call the hub makes to Twilio's REST API: create a message
//! (`POST {api}/2010-04-01/Accounts/{sid}/Messages.json`, HTTP basic auth with the account SID
//! and the auth token, form fields `To`, `From`, `Body`, `StatusCallback`), and what its answer
//! means for the outbox: taken, try again later, or never.

use std::time::Duration;

use crate::config::TwilioConfig;

/// How long one call may take: a call still open then is tried again later (Twilio may have
/// taken it meanwhile; see the outbox for what that means).
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Why Twilio did not take a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Not now (429, 5xx, no answer): try again, not before `after` when Twilio said so.
    Retry {
        /// `Retry-After`, when Twilio sent one.
        after: Option<Duration>,
        /// For the log.
        why: String,
    },
    /// Never (any other 4xx: a bad number, outside WhatsApp's window, …), in Twilio's words.
    Refused(String),
}

/// Twilio's Messages API for one account.
pub struct TwilioApi {
    http: reqwest::Client,
    messages_url: String,
    account_sid: String,
    auth_token: String,
    status_callback: String,
}

impl TwilioApi {
    /// The API of the configured account; `None` without an account SID (inbound only).
    pub fn new(config: &TwilioConfig) -> Option<TwilioApi> {
        let account_sid = config.account_sid.clone()?;
        let http = reqwest::Client::builder().timeout(CALL_TIMEOUT).build().ok()?;
        Some(TwilioApi {
            http,
            messages_url: format!("{}/2010-04-01/Accounts/{account_sid}/Messages.json", config.api_url),
            account_sid,
            auth_token: config.auth_token.clone(),
            status_callback: format!("{}/v1/bridges/twilio/status", config.public_url),
        })
    }

    /// Asks Twilio to send `body` from `from` to `to` (Twilio addresses: `whatsapp:+…` or
    /// `+…`); Twilio's `MessageSid` when it took it.
    pub async fn send(&self, to: &str, from: &str, body: &str) -> Result<String, SendFailure> {
        let form = [("To", to), ("From", from), ("Body", body), ("StatusCallback", self.status_callback.as_str())];
        let response = self
            .http
            .post(&self.messages_url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|err| SendFailure::Retry { after: None, why: format!("Twilio did not answer: {err}") })?;
        let status = response.status();
        let after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        if status.is_success() {
            return match answer["sid"].as_str() {
                Some(sid) if !sid.is_empty() => Ok(sid.to_owned()),
                // Taken, but with no sid to follow it by: do not send it again.
                _ => Ok(String::new()),
            };
        }
        let why = match (answer["code"].as_u64(), answer["message"].as_str()) {
            (Some(code), Some(message)) => format!("Twilio refused it ({status}, error {code}): {message}"),
            _ => format!("Twilio answered {status}"),
        };
        if status.as_u16() == 429 || status.is_server_error() {
            Err(SendFailure::Retry { after, why })
        } else {
            Err(SendFailure::Refused(why))
        }
    }
}
