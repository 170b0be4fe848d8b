//! The WhatsApp / SMS bridge through Twilio (1.1, §5), the parts that are not HTTP routes:
//! `signature` checks that a webhook really comes from Twilio.

pub mod signature;
