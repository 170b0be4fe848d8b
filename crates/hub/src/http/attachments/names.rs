//! What an uploader says about a file, made safe: the `X-Filename` header (percent-encoded
//! UTF-8) becomes a name that can be shown and saved anywhere, and `Content-Type` a plain
//! media type.

use percent_encoding::percent_decode_str;

/// Longest stored file name, in bytes (what common file systems allow).
pub const MAX_FILENAME_BYTES: usize = 255;
/// An extension longer than this is not kept apart when a long name is shortened.
const MAX_EXTENSION_BYTES: usize = 16;
/// The name of a file whose name had nothing left.
const FALLBACK: &str = "file";

/// Decodes `X-Filename` and makes the name safe; `None` when it is not percent-encoded UTF-8.
pub fn filename(header: &str) -> Option<String> {
    let decoded = percent_decode_str(header).decode_utf8().ok()?;
    Some(safe_filename(&decoded))
}

/// Characters that change how text around them is shown (`cv`, U+202E, `fdp.exe` reads as
/// `cvexe.pdf`): never kept.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Only the last path component, without control or direction characters, without characters
/// Windows refuses, without leading dots (no hidden files) or trailing dots and spaces, never a
/// device name, and at most [`MAX_FILENAME_BYTES`] bytes with its extension kept.
pub fn safe_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .map(|c| if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim_end_matches(['.', ' ']).trim();
    let mut name = if trimmed.is_empty() { FALLBACK.to_owned() } else { trimmed.to_owned() };
    let stem = name.split('.').next().unwrap_or_default().to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4 && (stem.starts_with("COM") || stem.starts_with("LPT")) && stem.as_bytes()[3].is_ascii_digit());
    if device {
        name.insert(0, '_');
    }
    shorten(name)
}

/// Cuts a name to [`MAX_FILENAME_BYTES`] on a character boundary, keeping a short extension.
fn shorten(name: String) -> String {
    if name.len() <= MAX_FILENAME_BYTES {
        return name;
    }
    let extension = name.rfind('.').map(|dot| &name[dot..]).filter(|ext| ext.len() <= MAX_EXTENSION_BYTES).unwrap_or("");
    let mut cut = MAX_FILENAME_BYTES - extension.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{extension}", &name[..cut])
}

/// The media type of `Content-Type` without parameters, lower-cased; `application/octet-stream`
/// when it is missing or not `type/subtype` made of token characters.
pub fn content_type(header: Option<&str>) -> String {
    let essence = header.and_then(|h| h.split(';').next()).map(|h| h.trim().to_ascii_lowercase()).unwrap_or_default();
    let token = |s: &str| !s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    match essence.split_once('/') {
        Some((kind, subtype)) if token(kind) && token(subtype) => essence,
        _ => "application/octet-stream".to_owned(),
    }
}

/// `Content-Disposition` for a download: always `attachment` (never shown inline by a
/// browser), an ASCII `filename` for old clients and the exact name in `filename*` (RFC 6266).
pub fn disposition(filename: &str) -> String {
    let ascii: String = filename.chars().map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' }).collect();
    let encoded = percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_plain_file_names() {
        assert_eq!(filename("CV%20Ada%20Lovelace.pdf").as_deref(), Some("CV Ada Lovelace.pdf"));
        assert_eq!(filename("%E2%82%AC-Gehalt.txt").as_deref(), Some("€-Gehalt.txt"), "UTF-8, percent-encoded");
        assert_eq!(filename("%FF%FE"), None, "not UTF-8");
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(safe_filename(".."), FALLBACK);
        assert_eq!(safe_filename(".bashrc"), "bashrc", "no hidden files");
        assert_eq!(safe_filename("a\u{0}b\nc\u{7f}.txt"), "abc.txt", "control characters go");
        assert_eq!(safe_filename("cv\u{202E}fdp.exe"), "cvfdp.exe", "no direction overrides");
        assert_eq!(safe_filename("what?<now>.doc "), "what__now_.doc");
        assert_eq!(safe_filename("NUL.txt"), "_NUL.txt");
        assert_eq!(safe_filename("com1"), "_com1");
        assert_eq!(safe_filename("   "), FALLBACK);
        let long = format!("{}.pdf", "é".repeat(250));
        let short = safe_filename(&long);
        assert!(short.len() <= MAX_FILENAME_BYTES && short.ends_with(".pdf"), "{} bytes", short.len());
        assert!(short.starts_with('é'));
    }

    #[test]
    fn content_types_are_plain_media_types() {
        assert_eq!(content_type(Some("Image/PNG; charset=x")), "image/png");
        assert_eq!(content_type(None), "application/octet-stream");
        assert_eq!(content_type(Some("text/html\r\nX-Evil: 1")), "application/octet-stream");
        assert_eq!(content_type(Some("nonsense")), "application/octet-stream");
    }

    #[test]
    fn a_disposition_is_always_an_attachment_with_the_exact_name_encoded() {
        assert_eq!(disposition("CV Ada.pdf"), "attachment; filename=\"CV Ada.pdf\"; filename*=UTF-8''CV%20Ada%2Epdf");
        assert!(disposition("€\".txt").starts_with("attachment; filename=\"__.txt\"; filename*=UTF-8''%E2%82%AC%22%2Etxt"));
    }
}
