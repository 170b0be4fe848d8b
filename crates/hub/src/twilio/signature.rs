//! `X-Twilio-Signature`, as Twilio documents it ("Validating requests"): the base64 of the
//! HMAC-SHA1, keyed by the account's auth token, of the full URL Twilio called (scheme, host,
//! path and query) followed by every POST parameter's name and value, sorted by name, with
//! nothing between them.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;

/// The signature Twilio sends for a POST of `params` to `url` (the hub only checks them).
#[cfg(test)]
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `signature` (the header's value) is Twilio's for this request; compared in constant
/// time, so that a forger learns nothing from how long a wrong guess took.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(presented) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else { return false };
    mac(auth_token, url, params).verify_slice(&presented).is_ok()
}

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // By name; a name given twice keeps its values in a fixed order too.
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    /// The worked example of Twilio's "Validating requests" page.
    #[test]
    fn twilios_documented_example_signs_and_verifies() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        // Out of order on purpose: the signature sorts them.
        let params = pairs(&[("To", "+18005551212"), ("CallSid", "CA1234567890ABCDE"), ("Digits", "1234"), ("From", "+12349013030"), ("Caller", "+12349013030")]);
        assert_eq!(sign("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify("12345", url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));

        let mut tampered = params.clone();
        tampered[2].1 = "9999".into();
        assert!(!verify("12345", url, &tampered, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="), "a changed parameter");
        assert!(!verify("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="), "another URL");
        assert!(!verify("54321", url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="), "another token");
        assert!(!verify("12345", url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDg"), "a truncated signature");
        assert!(!verify("12345", url, &params, "not base64!"), "garbage");
        assert!(!verify("12345", url, &params, ""), "nothing");
    }
}
