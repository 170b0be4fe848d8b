//! The photos and files of a WhatsApp or SMS message (1.1, §5). Twilio keeps them at the
//! webhook's `MediaUrl0…`; the hub fetches each into an upload of the contact, so that the
//! message carries them as attachments like any message sent in Rapport (an image gets its
//! thumbnail). Twilio asks for the account's credentials when the account enforces it, so they
//! are sent when the hub has an account SID, and only to Twilio's API (`--twilio-api-url`); the
//! redirect to Twilio's CDN is followed without them (the HTTP client drops them when the host
//! changes).
//!
//! Each file is bounded: at most `--max-upload-mb`, [`FETCH_TIMEOUT`] and [`MAX_REDIRECTS`]. The
//! files are fetched at once, so a message waits for its slowest file, not for their sum. A file
//! that cannot be fetched (gone, too large, too slow, refused) is linked in the body instead,
//! with a warning in the log: the message itself is never lost.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::header;
use futures_util::future::join_all;
use rapport_protocol::{BridgeChannel, MAX_ATTACHMENTS};

use crate::config::TwilioConfig;
use crate::http::attachments::{self, names};
use crate::Hub;

/// How long one file may take, from connecting to its last byte.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// Redirects followed per file: Twilio sends one, to its CDN.
const MAX_REDIRECTS: usize = 3;

/// What became of a message's media.
#[derive(Debug, Default)]
pub(super) struct Media {
    /// Uploads of the contact, in the message's order, for `attachment_ids`.
    pub attachment_ids: Vec<String>,
    /// The web links that could not be fetched, for the body.
    pub links: Vec<String>,
}

/// The media links of the webhook (`NumMedia`, `MediaUrlK`, `MediaContentTypeK`): web links
/// only, at most [`MAX_ATTACHMENTS`]; each with Twilio's content type when it gave one.
pub(super) fn links(form: &HashMap<String, String>) -> Vec<(String, Option<String>)> {
    let count = form.get("NumMedia").and_then(|n| n.trim().parse::<usize>().ok()).unwrap_or(0).min(MAX_ATTACHMENTS);
    (0..count)
        .filter_map(|i| {
            let url = form.get(&format!("MediaUrl{i}")).map(|u| u.trim()).filter(|u| !u.is_empty())?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                tracing::warn!(url, "a Twilio media link that is not a web link was left out");
                return None;
            }
            Some((url.to_owned(), form.get(&format!("MediaContentType{i}")).cloned()))
        })
        .collect()
}

/// Fetches every link into an upload of `contact_id`; those that fail are given back as links.
pub(super) async fn fetch(hub: &Hub, twilio: &TwilioConfig, contact_id: &str, channel: BridgeChannel, links: Vec<(String, Option<String>)>) -> Media {
    if links.is_empty() {
        return Media::default();
    }
    let client = reqwest::Client::builder().timeout(FETCH_TIMEOUT).redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS)).build();
    let client = match client {
        Ok(client) => client,
        Err(err) => {
            tracing::warn!(error = %err, "no HTTP client for Twilio's media; linking them");
            return Media { attachment_ids: Vec::new(), links: links.into_iter().map(|(url, _)| url).collect() };
        }
    };
    let fetches = links.iter().enumerate().map(|(i, (url, content_type))| fetch_one(hub, twilio, &client, contact_id, channel, i + 1, url, content_type.as_deref()));
    let mut media = Media::default();
    for ((url, _), fetched) in links.iter().zip(join_all(fetches).await) {
        match fetched {
            Ok(id) => media.attachment_ids.push(id),
            Err(why) => {
                tracing::warn!(url, why, "a photo or file of a Twilio message could not be fetched; it is linked in the message instead");
                media.links.push(url.clone());
            }
        }
    }
    media
}

/// One file, streamed to disk and kept as an upload; its id, or why not.
#[allow(clippy::too_many_arguments)] // one file's whole context; grouping it would only rename it
async fn fetch_one(
    hub: &Hub,
    twilio: &TwilioConfig,
    client: &reqwest::Client,
    contact_id: &str,
    channel: BridgeChannel,
    number: usize,
    url: &str,
    twilio_type: Option<&str>,
) -> Result<String, String> {
    let mut request = client.get(url);
    if let Some(account_sid) = twilio.account_sid.as_ref().filter(|_| is_twilios(twilio, url)) {
        request = request.basic_auth(account_sid, Some(&twilio.auth_token));
    }
    let mut response = request.send().await.map_err(|err| format!("no answer: {err}"))?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    let max = hub.config.max_upload_bytes;
    if response.content_length().is_some_and(|length| length > max) {
        return Err(format!("larger than {max} bytes"));
    }
    let served_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = names::content_type(twilio_type.or(served_type.as_deref()));
    let mut incoming = hub.blobs.incoming().await.map_err(|err| format!("no part file: {err}"))?;
    // A file cut off or too large ends here; `incoming` is dropped with its part file.
    while let Some(chunk) = response.chunk().await.map_err(|err| format!("cut off: {err}"))? {
        if incoming.size() + chunk.len() as u64 > max {
            return Err(format!("larger than {max} bytes"));
        }
        incoming.write(&chunk).await.map_err(|err| format!("not written: {err}"))?;
    }
    if incoming.size() == 0 {
        return Err("empty".to_owned());
    }
    let filename = filename(channel, number, &content_type);
    let attachment = attachments::keep(hub, incoming, contact_id, &filename, &content_type).await.map_err(|err| format!("not stored: {}", err.message))?;
    Ok(attachment.id)
}

/// Whether `url` is on Twilio's API, the one place the account's credentials go.
fn is_twilios(twilio: &TwilioConfig, url: &str) -> bool {
    url.strip_prefix(twilio.api_url.as_str()).is_some_and(|rest| rest.starts_with('/'))
}

/// A name for a file that came without one: the channel, what it is and its place in the
/// message (`whatsapp-image-1.jpg`, `sms-file-2.pdf`).
fn filename(channel: BridgeChannel, number: usize, content_type: &str) -> String {
    let (kind, subtype) = content_type.split_once('/').unwrap_or(("application", "octet-stream"));
    let what = match kind {
        "image" | "video" | "audio" => kind,
        _ => "file",
    };
    let extension = match subtype {
        "jpeg" | "pjpeg" => "jpg",
        "mpeg" if kind == "audio" => "mp3",
        "plain" => "txt",
        "vcard" | "x-vcard" => "vcf",
        "quicktime" => "mov",
        "vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "msword" => "doc",
        other if !other.is_empty() && other.len() <= 5 && other.bytes().all(|b| b.is_ascii_alphanumeric()) => other,
        _ => "bin",
    };
    names::safe_filename(&format!("{}-{what}-{number}.{extension}", channel.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetched_file_is_named_by_its_channel_kind_and_place() {
        assert_eq!(filename(BridgeChannel::Whatsapp, 1, "image/jpeg"), "whatsapp-image-1.jpg");
        assert_eq!(filename(BridgeChannel::Sms, 2, "application/pdf"), "sms-file-2.pdf");
        assert_eq!(filename(BridgeChannel::Whatsapp, 3, "audio/ogg"), "whatsapp-audio-3.ogg");
        assert_eq!(filename(BridgeChannel::Whatsapp, 4, "text/vcard"), "whatsapp-file-4.vcf");
        assert_eq!(filename(BridgeChannel::Whatsapp, 5, "application/octet-stream"), "whatsapp-file-5.bin", "no made-up extension");
    }

    #[test]
    fn the_credentials_go_to_twilios_api_only() {
        let twilio = TwilioConfig::new("token", "https://hub.example.test");
        assert!(is_twilios(&twilio, "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"));
        assert!(!is_twilios(&twilio, "https://api.twilio.com.evil.test/media"), "a look-alike host");
        assert!(!is_twilios(&twilio, "https://media.example.test/ME1"));
    }

    #[test]
    fn only_web_links_are_taken_and_at_most_ten() {
        let mut form: HashMap<String, String> = [("NumMedia", "12"), ("MediaUrl0", "javascript:alert(1)"), ("MediaContentType1", "image/png")]
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        for i in 1..12 {
            form.insert(format!("MediaUrl{i}"), format!("https://api.twilio.com/m/{i}"));
        }
        let links = links(&form);
        assert_eq!(links.len(), 9, "ten looked at, the first not a web link: {links:?}");
        assert_eq!(links[0], ("https://api.twilio.com/m/1".to_owned(), Some("image/png".to_owned())));
    }
}
