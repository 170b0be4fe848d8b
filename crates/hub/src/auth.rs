//! Passwords, access tokens and refresh tokens.
//!
//! - Passwords: argon2id with OWASP's parameters (19 MiB, t=2, p=1), hashed on the bounded
//!   pool of [`crate::passwords`], so a login never stalls the async workers and a flood of
//!   them cannot take the hub's memory.
//! - Access tokens: JWT signed with HS256; decoding pins the algorithm and requires `exp`.
//!   `sid` names the login (refresh-token family) so revoking a login also ends its tokens.
//! - Refresh tokens: 32 random bytes, handed out once, stored only as their SHA-256.

use std::io::Write as _;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::config::Config;
use crate::passwords::{self, Busy, PasswordPool};

const ISSUER: &str = "rapport-hub";

/// Who a valid access token speaks for.
#[derive(Debug, Clone)]
pub struct Claims {
    /// User id.
    pub user_id: String,
    /// Login (refresh-token family) id.
    pub login_id: String,
}

#[derive(Serialize, Deserialize)]
struct Jwt {
    sub: String,
    sid: String,
    iss: String,
    iat: u64,
    exp: u64,
}

/// Token signing and password hashing.
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl_secs: u64,
    api_key: Option<Vec<u8>>,
    /// A real hash of a random password, verified when the email is unknown so that both
    /// failures take the same time.
    dummy_hash: String,
    passwords: PasswordPool,
}

impl Auth {
    /// Loads (or creates) the signing secret.
    pub fn new(config: &Config) -> anyhow::Result<Auth> {
        let secret = match &config.jwt_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => load_or_create_secret(&config.data_dir.join("jwt-secret"))?,
        };
        if secret.len() < 32 {
            anyhow::bail!("RAPPORT_JWT_SECRET must be at least 32 bytes");
        }
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        let mut random = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut random);
        Ok(Auth {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            access_ttl_secs: config.access_ttl.as_secs(),
            api_key: config.api_key.as_ref().map(|k| k.as_bytes().to_vec()),
            dummy_hash: passwords::hash_with(&mut Vec::new(), &URL_SAFE_NO_PAD.encode(random))?,
            passwords: PasswordPool::new()?,
        })
    }

    /// Lifetime of the access tokens issued, in seconds.
    pub fn access_ttl_secs(&self) -> u64 {
        self.access_ttl_secs
    }

    /// Signs an access token for this user and login.
    pub fn issue_access(&self, user_id: &str, login_id: &str) -> String {
        let now = unix_now();
        let claims = Jwt {
            sub: user_id.to_owned(),
            sid: login_id.to_owned(),
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now + self.access_ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(jsonwebtoken::Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// Checks signature, algorithm, issuer and expiry.
    pub fn verify_access(&self, token: &str) -> Option<Claims> {
        let data = jsonwebtoken::decode::<Jwt>(token, &self.decoding, &self.validation).ok()?;
        Some(Claims { user_id: data.claims.sub, login_id: data.claims.sid })
    }

    /// Compares the integration key in constant time.
    pub fn api_key_matches(&self, presented: Option<&[u8]>) -> bool {
        use subtle::ConstantTimeEq as _;
        match (&self.api_key, presented) {
            (Some(expected), Some(presented)) => {
                // Hash both so the comparison does not leak the key's length either.
                let a = Sha256::digest(expected);
                let b = Sha256::digest(presented);
                a.ct_eq(&b).into()
            }
            _ => false,
        }
    }

    /// Hashes a password with argon2id on the hashing pool; [`Busy`] when its queue is full.
    pub async fn hash_password(&self, password: String) -> Result<anyhow::Result<String>, Busy> {
        self.passwords.hash(password).await
    }

    /// Verifies a password against a stored hash (or, with `None`, against a dummy hash so the
    /// time taken does not tell whether the account exists); [`Busy`] when the pool is full.
    pub async fn verify_password(&self, password: String, hash: Option<String>) -> Result<bool, Busy> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        Ok(self.passwords.verify(password, hash).await? && known)
    }
}

/// A new opaque refresh token and the hash under which it is stored.
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads the secret file, or creates it with 64 random bytes readable by the owner only.
fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read(path) {
        return Ok(existing);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut secret = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut secret);
    let encoded = hex::encode(secret);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(encoded.as_bytes())?;
            file.sync_all()?;
            Ok(encoded.into_bytes())
        }
        // Another hub process created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(std::fs::read(path)?),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(dir: &Path) -> Auth {
        let mut config = Config::new(dir);
        config.api_key = Some("key-123".into());
        Auth::new(&config).unwrap()
    }

    #[test]
    fn secret_file_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let a = auth(dir.path());
        let token = a.issue_access("u1", "l1");
        let b = auth(dir.path());
        assert!(b.verify_access(&token).is_some(), "a restarted hub must accept its own tokens");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("jwt-secret")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn rejects_other_algorithms_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let a = auth(dir.path());
        let good = a.issue_access("u1", "l1");
        // Same claims, "alg": "none".
        let payload = good.split('.').nth(1).unwrap();
        let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#));
        assert!(a.verify_access(&none).is_none(), "alg=none must be refused");
        assert!(a.verify_access("not.a.jwt").is_none());
        let mut tampered = good.clone();
        tampered.push('x');
        assert!(a.verify_access(&tampered).is_none());
    }

    #[test]
    fn api_key_comparison() {
        let dir = tempfile::tempdir().unwrap();
        let a = auth(dir.path());
        assert!(a.api_key_matches(Some(b"key-123")));
        assert!(!a.api_key_matches(Some(b"key-124")));
        assert!(!a.api_key_matches(None));
    }
}
