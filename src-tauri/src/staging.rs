//! Files attached in the composer before their message is sent.
//!
//! The web view never names a path on disk: it gets an id for each file the user chose, and the
//! shell alone maps ids to paths when the message is queued (the engine then copies the files
//! into the profile). A file comes from one of two places:
//! - the paperclip: the web view reads the chosen file (it has no path) and hands its bytes over;
//!   they are written here, under the app's cache directory, and removed once queued or dropped;
//! - a drop onto the window: the OS hands the shell the paths themselves, which are only
//!   remembered (never removed: they are the user's files).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use rapport_client::{Code, EngineError};
use rapport_protocol::{DEFAULT_MAX_UPLOAD_MB, MAX_ATTACHMENTS};
use serde::Serialize;

use crate::error::{CommandError, CommandResult};

/// The largest file a message can carry.
const MAX_FILE_BYTES: u64 = DEFAULT_MAX_UPLOAD_MB << 20;
/// Staged files waiting in composers at most: a message carries ten, a few drafts more.
const MAX_STAGED: usize = 4 * MAX_ATTACHMENTS;

/// A file waiting in the composer, as the web view sees it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StagedFile {
    /// What the composer hands back to send it or take it out.
    id: String,
    /// Its name, as it will be sent.
    name: String,
    /// Bytes.
    #[cfg_attr(test, ts(type = "number"))]
    size: u64,
}

/// Files dropped onto the window: the ones now staged, and why others were not.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DroppedFiles {
    files: Vec<StagedFile>,
    /// One sentence per file that was not taken (a folder, empty, too large).
    refused: Vec<String>,
}

struct Entry {
    path: PathBuf,
    /// Written by the shell (removed when done with), or the user's own dropped file.
    owned: bool,
}

/// The staged files of this run.
pub struct Staging {
    dir: PathBuf,
    files: Mutex<HashMap<String, Entry>>,
}

fn invalid(reason: Code, message: impl Into<String>) -> CommandError {
    CommandError::from(EngineError::Invalid { reason, message: message.into() })
}

/// A name safe to write in a directory of its own: no path, no control characters, not empty.
pub fn safe_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    let mut name: String = if trimmed.is_empty() { "file".to_owned() } else { trimmed.to_owned() };
    while name.len() > 200 {
        name.pop();
    }
    name
}

fn check_size(name: &str, size: u64) -> Result<(), String> {
    if size == 0 {
        return Err(format!("{name} is empty"));
    }
    if size > MAX_FILE_BYTES {
        return Err(format!("{name} is larger than {DEFAULT_MAX_UPLOAD_MB} MB"));
    }
    Ok(())
}

impl Staging {
    /// Staging under `dir`, emptied first (what an earlier run left is of no use).
    pub fn new(dir: PathBuf) -> Staging {
        let _ = std::fs::remove_dir_all(&dir);
        Staging { dir, files: Mutex::new(HashMap::new()) }
    }

    fn remember(&self, path: PathBuf, owned: bool, name: String, size: u64) -> CommandResult<StagedFile> {
        let mut files = self.files.lock().expect("staging lock");
        if files.len() >= MAX_STAGED {
            return Err(invalid(Code::InvalidPayload, "Too many files are waiting to be sent; send or remove some first"));
        }
        let id = uuid::Uuid::new_v4().to_string();
        files.insert(id.clone(), Entry { path, owned });
        Ok(StagedFile { id, name, size })
    }

    /// Writes a chosen file's bytes and stages them under `name`.
    pub async fn write(&self, name: &str, bytes: &[u8]) -> CommandResult<StagedFile> {
        let name = safe_name(name);
        check_size(&name, bytes.len() as u64).map_err(|m| invalid(Code::TooLarge, m))?;
        let dir = self.dir.join(uuid::Uuid::new_v4().to_string());
        tokio::fs::create_dir_all(&dir).await.map_err(EngineError::from)?;
        let path = dir.join(&name);
        tokio::fs::write(&path, bytes).await.map_err(EngineError::from)?;
        let staged = self.remember(path, true, name, bytes.len() as u64);
        if staged.is_err() {
            let _ = tokio::fs::remove_dir_all(&dir).await;
        }
        staged
    }

    /// Stages files dropped onto the window (regular files only, each within the size limit).
    pub fn dropped(&self, paths: &[PathBuf]) -> DroppedFiles {
        let mut out = DroppedFiles { files: Vec::new(), refused: Vec::new() };
        for path in paths {
            let name = safe_name(&path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            let checked = match std::fs::metadata(path) {
                Ok(m) if m.is_file() => check_size(&name, m.len()).map(|()| m.len()),
                Ok(_) => Err(format!("{name} is a folder; only files can be attached")),
                Err(e) => Err(format!("{name} cannot be read: {e}")),
            };
            match checked.and_then(|size| self.remember(path.clone(), false, name, size).map_err(|e| e.to_string())) {
                Ok(file) => out.files.push(file),
                Err(reason) => out.refused.push(reason),
            }
        }
        out
    }

    /// The paths of these staged files, in order; `not_found` for an unknown id.
    pub fn paths(&self, ids: &[String]) -> CommandResult<Vec<PathBuf>> {
        let files = self.files.lock().expect("staging lock");
        ids.iter()
            .map(|id| {
                files.get(id).map(|e| e.path.clone()).ok_or_else(|| CommandError::new(Code::NotFound, "An attached file is no longer there; attach it again"))
            })
            .collect()
    }

    /// Forgets these staged files (queued, or taken out of the composer); written ones go.
    pub async fn release(&self, ids: &[String]) {
        let gone: Vec<Entry> = {
            let mut files = self.files.lock().expect("staging lock");
            ids.iter().filter_map(|id| files.remove(id)).collect()
        };
        for entry in gone.into_iter().filter(|e| e.owned) {
            if let Some(dir) = entry.path.parent().filter(|d| d.starts_with(&self.dir) && *d != self.dir.as_path()) {
                let _ = tokio::fs::remove_dir_all(dir).await;
            }
        }
    }

    /// Where written files go.
    #[cfg(test)]
    fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

/// Removes the staged files left at exit.
impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\Users\\ana\\CV.pdf"), "CV.pdf");
        assert_eq!(safe_name("evil\u{7}\nname.txt"), "evilname.txt");
        assert_eq!(safe_name("..."), "file", "nothing but dots is no name");
        assert_eq!(safe_name(".bashrc"), "bashrc", "no hidden files in the staging directory");
        assert_eq!(safe_name(""), "file");
        assert!(safe_name(&"é".repeat(300)).len() <= 200, "long names are cut on a character boundary");
    }

    #[tokio::test]
    async fn written_files_are_staged_sent_by_path_and_removed_when_released() {
        let tmp = tempfile::tempdir().unwrap();
        let staging = Staging::new(tmp.path().join("staging"));
        let staged = staging.write("../CV.pdf", b"%PDF-1.7 resume").await.unwrap();
        assert_eq!((staged.name.as_str(), staged.size), ("CV.pdf", 15));
        let paths = staging.paths(std::slice::from_ref(&staged.id)).unwrap();
        assert!(paths[0].starts_with(staging.dir()), "written under the staging directory: {paths:?}");
        assert_eq!(std::fs::read(&paths[0]).unwrap(), b"%PDF-1.7 resume");
        staging.release(std::slice::from_ref(&staged.id)).await;
        assert!(!paths[0].exists(), "a released file is removed");
        let err = staging.paths(&[staged.id]).unwrap_err();
        assert!(err.to_string().starts_with("not_found"), "{err}");
    }

    #[tokio::test]
    async fn empty_files_and_folders_are_refused_and_dropped_files_are_never_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let staging = Staging::new(tmp.path().join("staging"));
        assert!(staging.write("empty.txt", b"").await.unwrap_err().to_string().contains("empty"));
        let mine = tmp.path().join("offer.txt");
        std::fs::write(&mine, "an offer").unwrap();
        let dropped = staging.dropped(&[mine.clone(), tmp.path().to_path_buf(), tmp.path().join("missing.txt")]);
        assert_eq!(dropped.files.len(), 1, "only the regular file: {:?}", dropped.refused);
        assert_eq!(dropped.refused.len(), 2, "the folder and the missing file are refused: {:?}", dropped.refused);
        assert_eq!(staging.paths(&[dropped.files[0].id.clone()]).unwrap(), vec![mine.clone()], "a dropped file is sent from where it is");
        staging.release(&[dropped.files[0].id.clone()]).await;
        assert!(mine.exists(), "the user's own file stays");
    }
}
