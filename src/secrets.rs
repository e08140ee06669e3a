//! Passwords at rest: sealed with ChaCha20-Poly1305 under a 32-byte key kept in a file outside
//! the data directory (every node of a cluster needs the same key file).

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("a stored password cannot be decrypted with this key file (was it replaced?)")]
    Decrypt,
}

pub struct Keyring {
    cipher: ChaCha20Poly1305,
    /// SHA-256 of the key: what [`Keyring::derive`] builds on, never the key itself.
    digest: [u8; 32],
}

const NONCE_LEN: usize = 12;

impl Keyring {
    /// Reads the key file, creating it (mode 0600) with a random key the first time.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretError> {
        let err = |reason: String| SecretError::KeyFile { path: path.display().to_string(), reason };
        let key = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = vec![0u8; 32];
                rand::thread_rng().fill_bytes(&mut key);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                }
                write_private(path, &key).map_err(|e| err(e.to_string()))?;
                tracing::info!(path = %path.display(), "created a new key file for stored passwords");
                key
            }
            Err(e) => return Err(err(e.to_string())),
        };
        if key.len() != 32 {
            return Err(err(format!("holds {} bytes, a key is 32", key.len())));
        }
        Ok(Self { cipher: ChaCha20Poly1305::new(Key::from_slice(&key)), digest: Sha256::digest(&key).into() })
    }

    /// A secret for `purpose`, derived from the key (the cluster secret nodes authenticate
    /// each other with): the same key file gives the same secret on every node.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"ferry/");
        h.update(purpose.as_bytes());
        h.update(self.digest);
        h.finalize().into()
    }

    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("encryption of an in-memory buffer does not fail");
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, SecretError> {
        if sealed.len() < NONCE_LEN {
            return Err(SecretError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), body).map_err(|_| SecretError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| SecretError::Decrypt)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_a_key_file_is_reused() {
        let dir = std::env::temp_dir().join(format!("ferry-secrets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("master.key");
        let ring = Keyring::load_or_create(&path).unwrap();
        let sealed = ring.seal("s3cret");
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"), "plaintext must not appear");
        let again = Keyring::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "s3cret");
        assert_eq!(again.derive("cluster"), ring.derive("cluster"));
        assert_ne!(again.derive("cluster"), again.derive("other"));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(again.open(&tampered), Err(SecretError::Decrypt)));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
