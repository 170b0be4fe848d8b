//! Files in the profile directory: the staged copies of files being sent (`outgoing/`) and the
//! kept copies of attachments (`files/`), names that are safe to save as, media types, hashing.
//!
//! Paths kept in the cache are relative to the profile, so a profile can be moved.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::error::{Code, EngineError};

/// Where staged copies of files being sent live.
const OUTGOING: &str = "outgoing";
/// Where kept copies of attachments live.
const FILES: &str = "files";
/// Bytes read or written at a time.
pub(crate) const CHUNK: usize = 64 * 1024;
/// Longest file name kept, in bytes (what common file systems allow).
const MAX_NAME_BYTES: usize = 255;

/// The profile's file layout.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    profile: PathBuf,
}

impl Layout {
    pub(crate) fn new(profile: &Path) -> Layout {
        Layout { profile: profile.to_path_buf() }
    }

    /// An absolute path from one kept in the cache.
    pub(crate) fn absolute(&self, relative: &str) -> PathBuf {
        self.profile.join(relative)
    }

    /// Where the `index`th file of a queued send is staged (relative).
    pub(crate) fn staged(&self, client_msg_id: &str, index: usize) -> Result<String, EngineError> {
        Ok(format!("{OUTGOING}/{}/{index}", checked_id(client_msg_id)?))
    }

    /// The directory of an attachment's kept copies (relative).
    pub(crate) fn attachment_dir(&self, attachment_id: &str) -> Result<String, EngineError> {
        Ok(format!("{FILES}/{}", checked_id(attachment_id)?))
    }

    /// Removes a file or directory the cache pointed to (and its directory when it was the last
    /// thing in it). Missing is fine.
    pub(crate) async fn remove(&self, relative: &str) {
        let path = self.absolute(relative);
        let removed = match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_dir() => tokio::fs::remove_dir_all(&path).await,
            Ok(_) => tokio::fs::remove_file(&path).await,
            Err(_) => Ok(()), // gone already (moved into the kept files, say)
        };
        if let Err(e) = removed {
            tracing::warn!(error = %e, "could not remove a file of the profile");
        }
        if let Some(parent) = path.parent() {
            if parent != self.profile {
                // Only succeeds when empty, which is the point.
                let _ = tokio::fs::remove_dir(parent).await;
            }
        }
    }

    /// Removes staged copies that no queued send refers to any more (a crash between an ack and
    /// the clean-up, or between staging and queueing).
    pub(crate) async fn sweep_outgoing(&self, referenced: &[String]) {
        let Ok(mut dirs) = tokio::fs::read_dir(self.profile.join(OUTGOING)).await else { return };
        while let Ok(Some(dir)) = dirs.next_entry().await {
            let name = dir.file_name().to_string_lossy().into_owned();
            let prefix = format!("{OUTGOING}/{name}/");
            if !referenced.iter().any(|r| r.starts_with(&prefix)) {
                self.remove(&format!("{OUTGOING}/{name}")).await;
            }
        }
    }

    /// Removes every staged and kept file (logout, or another user on this profile).
    pub(crate) async fn wipe(&self) {
        for dir in [OUTGOING, FILES] {
            self.remove(dir).await;
        }
    }
}

/// Ids from the hub become directory names: only plain ones.
fn checked_id(id: &str) -> Result<&str, EngineError> {
    if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(id)
    } else {
        Err(EngineError::Invalid { reason: Code::InvalidPayload, message: "not an id".into() })
    }
}

/// A name that is safe to save a file as on any common system: the last path component, no
/// control or bidirectional-override characters, none of `<>:"/\|?*`, no leading dots, no
/// trailing dots or spaces, not a Windows device name, at most 255 bytes with the extension kept;
/// `file` when nothing is left. The hub does the same; this does not trust that it did.
pub(crate) fn safe_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !rapport_protocol::is_display_control(*c))
        .map(|c| if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') { '_' } else { c })
        .collect();
    let mut name = cleaned.trim_start_matches(['.', ' ']).trim_end_matches(['.', ' ']).to_owned();
    if name.is_empty() {
        return "file".into();
    }
    let stem = name.split('.').next().unwrap_or("").to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4 && (stem.starts_with("COM") || stem.starts_with("LPT")) && stem.as_bytes()[3].is_ascii_digit());
    if device {
        name.insert(0, '_');
    }
    if name.len() > MAX_NAME_BYTES {
        let extension = name.rfind('.').map(|i| name[i..].to_owned()).filter(|e| e.len() <= 16).unwrap_or_default();
        let mut cut = MAX_NAME_BYTES - extension.len();
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}{extension}", &name[..cut]);
    }
    name
}

/// The media type of a file to send, from its extension (the hub stores what it is told).
pub(crate) fn content_type(path: &Path) -> &'static str {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "json" => "application/json",
        "rtf" => "application/rtf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// Incremental SHA-256 as lower-case hex.
#[derive(Default)]
pub(crate) struct Hasher(Sha256);

impl Hasher {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(crate) fn hex(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// Copies `from` to `to` (creating its directory), hashing on the way; `(bytes, sha256)`.
/// At most `limit` bytes: a larger file is refused (and not copied).
pub(crate) async fn copy_hashing(from: &Path, to: &Path, limit: u64) -> Result<(u64, String), EngineError> {
    let mut source = tokio::fs::File::open(from).await.map_err(|e| EngineError::Invalid { reason: Code::InvalidPayload, message: format!("cannot read {}: {e}", from.display()) })?;
    let meta = source.metadata().await?;
    if !meta.is_file() {
        return Err(EngineError::Invalid { reason: Code::InvalidPayload, message: format!("{} is not a file", from.display()) });
    }
    if meta.len() > limit {
        return Err(EngineError::Invalid { reason: Code::TooLarge, message: format!("{} is larger than {} MiB", from.display(), limit >> 20) });
    }
    if let Some(dir) = to.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut target = tokio::fs::File::create(to).await?;
    let mut hasher = Hasher::default();
    let mut buffer = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = source.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > limit {
            drop(target);
            let _ = tokio::fs::remove_file(to).await;
            return Err(EngineError::Invalid { reason: Code::TooLarge, message: format!("{} is larger than {} MiB", from.display(), limit >> 20) });
        }
        hasher.update(&buffer[..n]);
        target.write_all(&buffer[..n]).await?;
    }
    target.sync_all().await?;
    Ok((size, hasher.hex()))
}

/// Milliseconds since the Unix epoch (for `uploaded_at` and `last_used`).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_to_save_as() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\Users\\x\\cv.pdf"), "cv.pdf");
        assert_eq!(safe_filename("a\u{1b}[31mb\u{202e}fdp.exe"), "a[31mbfdp.exe");
        assert_eq!(safe_filename("...hidden"), "hidden");
        assert_eq!(safe_filename("what?.txt"), "what_.txt");
        assert_eq!(safe_filename("NUL.txt"), "_NUL.txt");
        assert_eq!(safe_filename("com1"), "_com1");
        assert_eq!(safe_filename(" . "), "file");
        let long = format!("{}.pdf", "é".repeat(300));
        let cut = safe_filename(&long);
        assert!(cut.len() <= 255 && cut.ends_with(".pdf"), "cut on a character boundary, extension kept: {}", cut.len());
    }

    #[test]
    fn ids_must_be_plain_to_become_directories() {
        assert!(checked_id("0193a6c1-7a1e-7c3b-8e5f-2b1c9d0e4f6a").is_ok());
        for bad in ["", "..", "a/b", "a\\b", "x y"] {
            assert!(checked_id(bad).is_err(), "{bad:?}");
        }
    }
}
