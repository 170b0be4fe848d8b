//! Where the login is kept between runs: the OS keyring for the desktop, a 0600 file for
//! headless profiles. Stores are synchronous (the keyring APIs are); the engine calls them on
//! a blocking thread.
//!
//! The keyring kind falls back to the file where no keyring answers (a headless machine, a
//! minimal window manager without a Secret Service): [`KeyringOrFile`] decides that on the
//! keyring's own errors, once per engine and with a log line, instead of every caller matching
//! error codes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rapport_protocol::{Session, User};
use serde::{Deserialize, Serialize};

use crate::{EngineError, TokenStoreKind};

/// A login: the user and the tokens to act as them.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredLogin {
    /// Who is logged in.
    pub user: User,
    /// Bearer token for REST and the gateway.
    pub access_token: String,
    /// Single-use token for the next login; rotated by every refresh.
    pub refresh_token: String,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at: i64,
    /// Its lifetime when issued, in seconds (to refresh a fraction of it early).
    pub lifetime: u64,
}

impl std::fmt::Debug for StoredLogin {
    // Tokens never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredLogin").field("user", &self.user.id).field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

impl StoredLogin {
    /// The login a hub `Session` stands for, received now.
    pub fn from_session(session: Session) -> StoredLogin {
        StoredLogin {
            expires_at: now_unix() + session.expires_in as i64,
            lifetime: session.expires_in,
            user: session.user,
            access_token: session.access_token,
            refresh_token: session.refresh_token,
        }
    }

    /// Seconds until the access token should be refreshed: a fifth of its lifetime (at most
    /// a minute) before it expires.
    pub fn refresh_in(&self) -> i64 {
        let margin = (self.lifetime / 5).clamp(0, 60) as i64;
        self.expires_at - margin - now_unix()
    }
}

pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The store of a profile for a [`TokenStoreKind`].
pub(crate) fn open(kind: TokenStoreKind, profile_dir: &Path) -> Arc<KeyringOrFile> {
    Arc::new(KeyringOrFile {
        keyring: (kind == TokenStoreKind::Keyring).then(|| Box::new(KeyringTokenStore::new(profile_dir)) as Box<dyn TokenStore>),
        file: FileTokenStore::new(profile_dir),
        using_file: AtomicBool::new(kind == TokenStoreKind::File),
    })
}

/// Keeps at most one login.
pub trait TokenStore: Send + Sync {
    /// The stored login, if any.
    fn load(&self) -> Result<Option<StoredLogin>, EngineError>;
    /// Replaces the stored login.
    fn save(&self, login: &StoredLogin) -> Result<(), EngineError>;
    /// Forgets it.
    fn clear(&self) -> Result<(), EngineError>;
}

/// `login.json` in the profile directory, readable by its owner only.
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// The store of the profile at `profile_dir`.
    pub fn new(profile_dir: &Path) -> FileTokenStore {
        FileTokenStore { path: profile_dir.join("login.json") }
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> Result<Option<StoredLogin>, EngineError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| EngineError::Io(format!("{} is damaged: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn save(&self, login: &StoredLogin) -> Result<(), EngineError> {
        use std::io::Write as _;
        let tmp = self.path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(&serde_json::to_vec(login).map_err(|e| EngineError::Io(e.to_string()))?)?;
        file.sync_all()?;
        // Rename is atomic: a crash leaves the old login or the new one, never half of one.
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    fn clear(&self) -> Result<(), EngineError> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// The OS keyring; one entry per profile directory.
pub(crate) struct KeyringTokenStore {
    account: String,
}

const KEYRING_SERVICE: &str = "dev.rapport.desktop";

impl KeyringTokenStore {
    pub(crate) fn new(profile_dir: &Path) -> KeyringTokenStore {
        KeyringTokenStore { account: format!("login:{}", profile_dir.display()) }
    }

    fn entry(&self) -> Result<keyring::Entry, EngineError> {
        keyring::Entry::new(KEYRING_SERVICE, &self.account).map_err(|e| EngineError::Io(format!("OS keyring: {e}")))
    }
}

impl TokenStore for KeyringTokenStore {
    fn load(&self) -> Result<Option<StoredLogin>, EngineError> {
        match self.entry()?.get_password() {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| EngineError::Io(format!("keyring entry is damaged: {e}"))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(EngineError::Io(format!("OS keyring: {e}"))),
        }
    }

    fn save(&self, login: &StoredLogin) -> Result<(), EngineError> {
        let text = serde_json::to_string(login).map_err(|e| EngineError::Io(e.to_string()))?;
        self.entry()?.set_password(&text).map_err(|e| EngineError::Io(format!("OS keyring: {e}")))
    }

    fn clear(&self) -> Result<(), EngineError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(EngineError::Io(format!("OS keyring: {e}"))),
        }
    }
}

/// The OS keyring, or `login.json` once the keyring failed (or where the login already is).
///
/// Loading asks the keyring first; a login found in the file (kept there by an earlier fallback)
/// is used from there. A keyring that fails to load or to save switches this store to the file
/// for good, so that a login the keyring refuses is still kept — without a second login at the
/// hub.
pub(crate) struct KeyringOrFile {
    /// `None` for [`TokenStoreKind::File`].
    keyring: Option<Box<dyn TokenStore>>,
    file: FileTokenStore,
    using_file: AtomicBool,
}

impl KeyringOrFile {
    /// Where the login is kept now.
    pub(crate) fn kind(&self) -> TokenStoreKind {
        if self.using_file.load(Ordering::Relaxed) { TokenStoreKind::File } else { TokenStoreKind::Keyring }
    }

    /// The keyring, while it is the one in use.
    fn keyring(&self) -> Option<&dyn TokenStore> {
        self.keyring.as_deref().filter(|_| !self.using_file.load(Ordering::Relaxed))
    }

    fn fall_back(&self, error: &EngineError) {
        // The desktop's end-to-end tests look for these words in the log.
        tracing::warn!(%error, "no OS keyring answers; keeping the login in a 0600 file in the profile instead");
        self.using_file.store(true, Ordering::Relaxed);
    }
}

impl TokenStore for KeyringOrFile {
    fn load(&self) -> Result<Option<StoredLogin>, EngineError> {
        if let Some(keyring) = self.keyring() {
            match keyring.load() {
                Ok(Some(login)) => return Ok(Some(login)),
                Ok(None) => {
                    let in_file = self.file.load()?;
                    if in_file.is_some() {
                        self.using_file.store(true, Ordering::Relaxed);
                    }
                    return Ok(in_file);
                }
                Err(error) => self.fall_back(&error),
            }
        }
        self.file.load()
    }

    fn save(&self, login: &StoredLogin) -> Result<(), EngineError> {
        if let Some(keyring) = self.keyring() {
            match keyring.save(login) {
                Ok(()) => return Ok(()),
                Err(error) => self.fall_back(&error),
            }
        }
        self.file.save(login)
    }

    fn clear(&self) -> Result<(), EngineError> {
        // Both: a login may be left in the file from a fallback in an earlier run.
        let file = self.file.clear();
        match self.keyring() {
            Some(keyring) => keyring.clear().and(file),
            None => file,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_protocol::Role;

    fn login() -> StoredLogin {
        StoredLogin {
            user: User { id: "u".into(), display_name: "U".into(), role: Role::Candidate, email: "u@x".into() },
            access_token: "secret-access".into(),
            refresh_token: "r".into(),
            expires_at: now_unix() + 900,
            lifetime: 900,
        }
    }

    #[test]
    fn file_store_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path());
        assert!(store.load().unwrap().is_none(), "a new profile has no login");
        store.save(&login()).unwrap();
        assert_eq!(store.load().unwrap().unwrap().refresh_token, "r");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("login.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "tokens must be readable by the owner only");
        }
        store.clear().unwrap();
        assert!(store.load().unwrap().is_none(), "logout forgets the tokens");
        store.clear().unwrap();
    }

    #[test]
    fn refresh_is_scheduled_before_expiry() {
        let l = login();
        let r = l.refresh_in();
        assert!((838..=840).contains(&r), "15-minute token refreshes a minute early, got {r}");
        let short = StoredLogin { lifetime: 2, expires_at: now_unix() + 2, ..login() };
        assert!(short.refresh_in() <= 2, "short tokens still refresh before expiry");
        assert!(!format!("{l:?}").contains("secret-access"), "tokens never appear in Debug output");
    }

    /// A keyring that answers reads but refuses writes, or refuses everything.
    struct BrokenKeyring {
        reads: bool,
    }

    impl TokenStore for BrokenKeyring {
        fn load(&self) -> Result<Option<StoredLogin>, EngineError> {
            if self.reads { Ok(None) } else { Err(EngineError::Io("OS keyring: no secret service".into())) }
        }
        fn save(&self, _: &StoredLogin) -> Result<(), EngineError> {
            Err(EngineError::Io("OS keyring: refused".into()))
        }
        fn clear(&self) -> Result<(), EngineError> {
            Ok(())
        }
    }

    fn keyring_or_file(dir: &Path, keyring: BrokenKeyring) -> KeyringOrFile {
        KeyringOrFile { keyring: Some(Box::new(keyring)), file: FileTokenStore::new(dir), using_file: AtomicBool::new(false) }
    }

    #[test]
    fn a_keyring_that_cannot_be_read_falls_back_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = keyring_or_file(dir.path(), BrokenKeyring { reads: false });
        assert_eq!(store.kind(), TokenStoreKind::Keyring, "the keyring is tried first");
        assert!(store.load().unwrap().is_none(), "a failing keyring is no error: the file answers");
        assert_eq!(store.kind(), TokenStoreKind::File);
        store.save(&login()).unwrap();
        assert!(dir.path().join("login.json").exists(), "the login went to the file");
    }

    #[test]
    fn a_keyring_that_refuses_the_login_keeps_it_in_the_file_and_finds_it_there_next_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = keyring_or_file(dir.path(), BrokenKeyring { reads: true });
        assert!(store.load().unwrap().is_none());
        assert_eq!(store.kind(), TokenStoreKind::Keyring, "a keyring that reads stays in use");
        store.save(&login()).expect("a refused save is kept in the file, not lost");
        assert_eq!(store.kind(), TokenStoreKind::File);
        let next_run = keyring_or_file(dir.path(), BrokenKeyring { reads: true });
        assert_eq!(next_run.load().unwrap().map(|l| l.refresh_token), Some("r".into()), "the next run finds it in the file");
        assert_eq!(next_run.kind(), TokenStoreKind::File, "and keeps using the file");
        next_run.clear().unwrap();
        assert!(next_run.load().unwrap().is_none(), "logout clears it");
    }

    #[test]
    fn the_file_kind_never_asks_the_keyring() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(TokenStoreKind::File, dir.path());
        assert!(store.keyring.is_none(), "headless profiles must not touch the keyring");
        assert_eq!(store.kind(), TokenStoreKind::File);
    }
}
