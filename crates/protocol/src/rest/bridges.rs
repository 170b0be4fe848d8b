//! The WhatsApp / SMS bridge through Twilio (1.1, §5): the numbers recruiters receive on, and
//! how a conversation with someone who writes from a phone is marked.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Which network an outside contact writes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BridgeChannel {
    /// WhatsApp (Twilio's `whatsapp:+…` addresses).
    Whatsapp,
    /// Plain SMS.
    Sms,
}

impl BridgeChannel {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BridgeChannel::Whatsapp => "whatsapp",
            BridgeChannel::Sms => "sms",
        }
    }

    /// The channel of a wire name.
    pub fn parse(name: &str) -> Option<BridgeChannel> {
        match name {
            "whatsapp" => Some(BridgeChannel::Whatsapp),
            "sms" => Some(BridgeChannel::Sms),
            _ => None,
        }
    }
}

/// `Conversation.bridge`: the conversation's other member is an outside contact who writes
/// from a phone, not an account of this hub. Absent for every other conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Bridge {
    /// WhatsApp or SMS.
    pub channel: BridgeChannel,
    /// The contact's phone number, E.164 (`+4915…`).
    pub number: String,
    /// The recruiter's Twilio number the contact wrote to, E.164: replies go out from it.
    pub via: String,
}

/// A Twilio number a recruiter receives WhatsApp and SMS messages on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TwilioNumber {
    /// E.164: `+` and 8 to 15 digits.
    pub number: String,
    /// RFC 3339.
    pub created_at: String,
}

/// `POST /v1/bridges/twilio/numbers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AddTwilioNumber {
    /// E.164: `+` and 8 to 15 digits.
    pub number: String,
}

/// `GET /v1/bridges/twilio/numbers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TwilioNumberList {
    /// The caller's numbers, in the order they were added.
    pub numbers: Vec<TwilioNumber>,
}

/// Whether `number` is an E.164 phone number: `+` and 8 to 15 digits, the first not 0.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else { return false };
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_is_a_plus_and_8_to_15_digits() {
        for good in ["+4915112345678", "+12345678", "+123456789012345"] {
            assert!(is_e164(good), "{good}");
        }
        for bad in ["4915112345678", "+1234567", "+1234567890123456", "+49 151 1234", "+0123456789", "+", "", "+49151a2345678", "whatsapp:+4915112345678"] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}
