//! The 256-bit HMAC-SHA256 key that authenticates every frame, and how it is handed to a worker
//! outside argv (an environment variable the worker removes on startup, or any reader such as an
//! inherited pipe).

use std::fmt;
use std::io::Read;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::KeyError;

/// Environment variable carrying the hex-encoded key to a worker.
pub const KEY_ENV: &str = "PYREPL3_KEY";

/// Length of the key in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// Length of an HMAC-SHA256 tag in bytes.
pub const TAG_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// A 256-bit secret key. Its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; KEY_LEN]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    /// A fresh key from the operating system's secure random source.
    pub fn generate() -> Key {
        let mut bytes = [0u8; KEY_LEN];
        rand::fill(&mut bytes);
        Key(bytes)
    }

    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Key {
        Key(bytes)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key as 64 lowercase hex digits, for handing it over in an environment variable or pipe.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits (surrounding whitespace is ignored).
    pub fn from_hex(text: &str) -> Result<Key, KeyError> {
        let text = text.trim();
        if text.len() != 2 * KEY_LEN {
            return Err(KeyError::BadLength {
                found: text.len(),
                expected: 2 * KEY_LEN,
            });
        }
        let bytes = hex::decode(text).map_err(|_| KeyError::NotHex)?;
        let mut key = [0u8; KEY_LEN];
        key.copy_from_slice(&bytes);
        Ok(Key(key))
    }

    /// Reads a hex key from `reader` until end of input (e.g. the read end of a pipe inherited by the
    /// worker). At most 1 KiB is read.
    pub fn read_from(reader: impl Read) -> Result<Key, KeyError> {
        let mut text = String::new();
        reader
            .take(1024)
            .read_to_string(&mut text)
            .map_err(|e| KeyError::Io(e.to_string()))?;
        Key::from_hex(&text)
    }

    /// Reads the key from [`KEY_ENV`] and removes the variable from this process's environment, so
    /// that user code and the worker's own children cannot read it.
    ///
    /// # Safety
    /// Removing an environment variable is only sound while no other thread reads or writes the
    /// environment. Call this at the very start of the worker's `main`, before any thread is spawned.
    pub unsafe fn take_from_env() -> Result<Key, KeyError> {
        let value = std::env::var(KEY_ENV).map_err(|_| KeyError::Missing(KEY_ENV))?;
        // SAFETY: the caller guarantees that no other thread touches the environment now.
        unsafe { std::env::remove_var(KEY_ENV) };
        Key::from_hex(&value)
    }

    /// Passes this key to a child process in [`KEY_ENV`] (never in argv, where `ps` shows it).
    pub fn pass_to(&self, command: &mut std::process::Command) {
        command.env(KEY_ENV, self.to_hex());
    }

    /// The HMAC-SHA256 tag of `data` under this key.
    pub fn sign(&self, data: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.mac();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the HMAC-SHA256 tag of `data` under this key (compared in constant time).
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.mac();
        mac.update(data);
        mac.verify_slice(tag).is_ok()
    }

    fn mac(&self) -> HmacSha256 {
        <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC accepts keys of any length")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let key = Key::generate();
        assert_eq!(Key::from_hex(&key.to_hex()).unwrap(), key);
        assert_eq!(Key::from_hex(&format!(" {}\n", key.to_hex())).unwrap(), key);
        assert!(matches!(
            Key::from_hex("abcd"),
            Err(KeyError::BadLength { found: 4, .. })
        ));
        assert!(matches!(
            Key::from_hex(&"zz".repeat(32)),
            Err(KeyError::NotHex)
        ));
        assert_ne!(Key::generate(), Key::generate());
        assert_eq!(format!("{key:?}"), "Key(<redacted>)");
    }

    #[test]
    fn sign_and_verify_rfc4231_case_2() {
        // RFC 4231 test case 2 uses a short key; check our HMAC against it through a padded-key-free
        // path: compute with the hmac crate directly and compare to the published tag.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let tag: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let key = Key::from_bytes([7; 32]);
        let t = key.sign(b"payload");
        assert!(key.verify(b"payload", &t));
        assert!(!key.verify(b"payload!", &t));
        assert!(!Key::from_bytes([8; 32]).verify(b"payload", &t));
        assert!(!key.verify(b"payload", &t[..31]));
    }

    #[test]
    fn read_from_pipe_like_reader() {
        let key = Key::generate();
        let text = format!("{}\n", key.to_hex());
        assert_eq!(Key::read_from(text.as_bytes()).unwrap(), key);
        assert!(Key::read_from(&b""[..]).is_err());
    }
}
