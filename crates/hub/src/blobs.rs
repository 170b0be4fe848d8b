//! The blob directory: the bytes of uploads, outside the database (protocol 1.1, §2).
//!
//! An upload is written to `incoming/<random>.part` while it arrives, hashed on the way,
//! synced, and only then renamed to `<id>` (a rename within one directory tree is atomic), so a
//! file under its id is always complete. An [`Incoming`] that is dropped before
//! [`Blobs::keep`] — the client went away, the upload was too large, the hub failed — removes
//! its part file. Thumbnails are cached beside their file as `<id>.thumb`. Files without a row
//! (a crash between rename and insert, or between a deletion's commit and its unlink) are
//! found by [`Blobs::names`] and removed by the housekeeping task.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

/// Suffix of cached thumbnails.
const THUMBNAIL_SUFFIX: &str = ".thumb";

/// The directory of uploaded files.
pub struct Blobs {
    dir: PathBuf,
    incoming: PathBuf,
}

/// Only names the hub made itself reach the filesystem (hex ids, no separators, no dots).
fn is_blob_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Blobs {
    /// Opens (creating when missing) the blob directory.
    pub fn open(dir: &Path) -> io::Result<Blobs> {
        let incoming = dir.join("incoming");
        std::fs::create_dir_all(&incoming)?;
        Ok(Blobs { dir: dir.to_path_buf(), incoming })
    }

    /// Where the file of upload `id` is; `None` for a name the hub never makes.
    pub fn path(&self, id: &str) -> Option<PathBuf> {
        is_blob_name(id).then(|| self.dir.join(id))
    }

    /// Where the cached thumbnail of upload `id` is.
    pub fn thumbnail_path(&self, id: &str) -> Option<PathBuf> {
        is_blob_name(id).then(|| self.dir.join(format!("{id}{THUMBNAIL_SUFFIX}")))
    }

    /// A new part file for an upload that is arriving.
    pub async fn incoming(&self) -> io::Result<Incoming> {
        let path = self.incoming.join(format!("{}.part", uuid::Uuid::new_v4().simple()));
        let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
        Ok(Incoming { file: Some(tokio::io::BufWriter::with_capacity(64 * 1024, file)), path, hasher: Sha256::new(), size: 0, kept: false })
    }

    /// Makes a complete upload the file of `id`: flushed and synced first, so that a crash
    /// leaves either nothing or the whole file under that name.
    pub async fn keep(&self, mut incoming: Incoming, id: &str) -> io::Result<PathBuf> {
        let target = self.path(id).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a blob id"))?;
        let mut file = incoming.file.take().expect("an incoming file is kept once");
        file.flush().await?;
        let file = file.into_inner();
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&incoming.path, &target).await?;
        incoming.kept = true;
        Ok(target)
    }

    /// Removes the files (and thumbnails) of these uploads; a file already gone is fine.
    pub async fn remove(&self, ids: &[String]) {
        for id in ids {
            for path in [self.path(id), self.thumbnail_path(id)].into_iter().flatten() {
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => {}
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => tracing::warn!(error = %err, attachment_id = %id, "could not remove an attachment's file"),
                }
            }
        }
    }

    /// The ids of the files in the directory last changed more than `age` ago (thumbnails and
    /// part files not included).
    pub async fn names(&self, age: Duration) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let Ok(name) = entry.file_name().into_string() else { continue };
            let is_file = entry.file_type().await.is_ok_and(|t| t.is_file());
            if is_file && is_blob_name(&name) && older_than(&entry.path(), age).await {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// Removes part files left by a hub that stopped in the middle of an upload, and thumbnails
    /// whose file is gone.
    pub async fn sweep(&self, age: Duration) -> io::Result<()> {
        let mut entries = tokio::fs::read_dir(&self.incoming).await?;
        while let Some(entry) = entries.next_entry().await? {
            if older_than(&entry.path(), age).await {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let Ok(name) = entry.file_name().into_string() else { continue };
            if let Some(id) = name.strip_suffix(THUMBNAIL_SUFFIX) {
                if is_blob_name(id) && !self.dir.join(id).exists() {
                    let _ = tokio::fs::remove_file(entry.path()).await;
                }
            }
        }
        Ok(())
    }
}

async fn older_than(path: &Path, age: Duration) -> bool {
    let modified = tokio::fs::metadata(path).await.and_then(|m| m.modified());
    modified.is_ok_and(|at| SystemTime::now().duration_since(at).is_ok_and(|elapsed| elapsed > age))
}

/// An upload being written: its part file, its running SHA-256 and size.
pub struct Incoming {
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    kept: bool,
}

impl Incoming {
    /// Appends a chunk and hashes it.
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        self.file.as_mut().expect("written before it is kept").write_all(chunk).await
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Lower-case hex SHA-256 of everything written.
    pub fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// The part file, for reading what arrived (e.g. an image's dimensions) before it is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes out what is buffered, so [`Incoming::path`] holds every byte.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("flushed before it is kept").flush().await
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.kept {
            // Synchronous on purpose: a drop cannot await, and unlinking is quick. The file
            // handle is closed first (dropped with `self.file` right after; unlinking an open
            // file is fine on Unix).
            if let Err(err) = std::fs::remove_file(&self.path) {
                if err.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(error = %err, "could not remove an unfinished upload");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_upload_is_there_under_its_id_only_once_kept_and_a_dropped_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let mut upload = blobs.incoming().await.unwrap();
        upload.write(b"hello ").await.unwrap();
        upload.write(b"world").await.unwrap();
        assert_eq!(upload.size(), 11);
        assert_eq!(upload.sha256(), hex::encode(Sha256::digest(b"hello world")), "hashed while written");
        let kept = blobs.keep(upload, "abc123").await.unwrap();
        assert_eq!(std::fs::read(kept).unwrap(), b"hello world");

        let mut cut_off = blobs.incoming().await.unwrap();
        cut_off.write(b"partial").await.unwrap();
        let part = cut_off.path().to_path_buf();
        drop(cut_off);
        assert!(!part.exists(), "an upload that is not kept leaves no file");
        assert_eq!(std::fs::read_dir(dir.path().join("incoming")).unwrap().count(), 0);

        assert_eq!(blobs.names(Duration::ZERO).await.unwrap(), vec!["abc123".to_owned()], "the incoming dir is not a blob");
        assert!(blobs.path("../hub.db").is_none() && blobs.path("a.thumb").is_none(), "only the hub's own names");
        blobs.remove(&["abc123".to_owned(), "missing".to_owned()]).await;
        assert!(blobs.names(Duration::ZERO).await.unwrap().is_empty());
    }
}
