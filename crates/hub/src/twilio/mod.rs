//! The WhatsApp / SMS bridge through Twilio (1.1, §5), the parts that are not HTTP routes:
//! `signature` checks that a webhook really comes from Twilio, `api` is the one call the hub
//! makes to Twilio, `outbox` sends what recruiters write into bridged conversations (durably,
//! once, with retries), and `window` is WhatsApp's 24-hour rule.

pub mod api;
pub mod outbox;
pub mod signature;
pub mod window;
