//! Twilio's side of the WhatsApp / SMS bridge (protocol 1.1, §5): the webhooks Twilio sends,
//! signed as Twilio signs them.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;

/// The auth token the bridge tests run the hub with.
pub const TWILIO_AUTH_TOKEN: &str = "test-twilio-auth-token";
/// The public URL the bridge tests give the hub: what Twilio would call, and sign.
pub const TWILIO_PUBLIC_URL: &str = "https://hub.example.test";

/// `X-Twilio-Signature` for a POST of `params` to `url`, written from Twilio's description
/// ("Validating requests"), apart from the hub's own code: the full URL, then each parameter's
/// name and value sorted by name, HMAC-SHA1 keyed by the auth token, in base64.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut signed = url.to_owned();
    for (name, value) in sorted {
        signed.push_str(name);
        signed.push_str(value);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("any key length");
    mac.update(signed.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A form body of these parameters (`application/x-www-form-urlencoded`).
pub fn form_body(params: &[(&str, &str)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish().into_bytes()
}
