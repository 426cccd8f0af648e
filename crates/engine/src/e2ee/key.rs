//! Key derivation and ratcheting as the official SDKs do it.
//!
//! A key set holds the key *material* (the bytes the application set, or a ratchet of them)
//! and the AES-GCM key derived from it: `KDF(material, salt = ratchet salt, 128 bits)`.
//! Ratcheting replaces the material with `KDF(material, salt = ratchet salt, 256 bits)`.
//! The KDF is PBKDF2-HMAC-SHA256 with 100 000 iterations, or HKDF-SHA256 with 128 zero bytes
//! of "info" (libwebrtc fork `api/crypto/frame_crypto_transformer.cc`, browser SDK
//! `src/e2ee/utils.ts`).

use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, Nonce};
use sha2::Sha256;

/// Salt of both derivations unless the key provider options name another one.
pub const DEFAULT_RATCHET_SALT: &[u8] = b"LKFrameEncryptionKey";
/// PBKDF2 iteration count.
pub const PBKDF2_ITERATIONS: u32 = 100_000;
/// Length of the "info" input of HKDF (all zero bytes).
pub const HKDF_INFO_LEN: usize = 128;
/// Bits of the AES-GCM key derived from key material.
pub const ENCRYPTION_KEY_BITS: usize = 128;
/// Bits of the new material a ratchet derives.
pub const RATCHET_BITS: usize = 256;

/// Which function derives keys from key material (`KeyDerivationFunction` of rtc-node).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyDerivationFunction {
    /// PBKDF2-HMAC-SHA256, 100 000 iterations (the default).
    #[default]
    Pbkdf2 = 0,
    /// HKDF-SHA256 with 128 zero bytes of info.
    Hkdf = 1,
}

/// `bits` (128 or 256) of key derived from `material` with `salt`.
fn derive_bits(kdf: KeyDerivationFunction, material: &[u8], salt: &[u8], bits: usize) -> Vec<u8> {
    let mut out = vec![0; bits / 8];
    match kdf {
        KeyDerivationFunction::Pbkdf2 => {
            pbkdf2::pbkdf2_hmac::<Sha256>(material, salt, PBKDF2_ITERATIONS, &mut out);
        }
        KeyDerivationFunction::Hkdf => {
            let info = [0u8; HKDF_INFO_LEN];
            // Output lengths used here (16 and 32 bytes) are far below HKDF-SHA256's limit.
            hkdf::Hkdf::<Sha256>::new(Some(salt), material)
                .expand(&info, &mut out)
                .unwrap_or_else(|_| unreachable!("HKDF output length within limits"));
        }
    }
    out
}

/// The next key material after `material` (one ratchet step).
pub fn ratchet(kdf: KeyDerivationFunction, material: &[u8], salt: &[u8]) -> Vec<u8> {
    derive_bits(kdf, material, salt, RATCHET_BITS)
}

#[derive(Clone)]
enum Cipher {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
}

/// Key material and the AES-GCM key derived from it.
#[derive(Clone)]
pub struct KeySet {
    material: Vec<u8>,
    key: Vec<u8>,
    cipher: Option<Cipher>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet").field("key_bits", &(self.key.len() * 8)).finish_non_exhaustive()
    }
}

impl KeySet {
    /// Derives the encryption key from `material` (the official `DeriveKeys`).
    pub fn derive(kdf: KeyDerivationFunction, material: &[u8], salt: &[u8]) -> Self {
        let key = derive_bits(kdf, material, salt, ENCRYPTION_KEY_BITS);
        Self::from_parts(material.to_vec(), key)
    }

    /// A key set with an AES key given directly (16 bytes: AES-128-GCM, 32: AES-256-GCM;
    /// any other length is rejected, as the official cryptor rejects it).
    pub fn from_parts(material: Vec<u8>, key: Vec<u8>) -> Self {
        let cipher = match key.len() {
            16 => Aes128Gcm::new_from_slice(&key).ok().map(|c| Cipher::Aes128(Box::new(c))),
            32 => Aes256Gcm::new_from_slice(&key).ok().map(|c| Cipher::Aes256(Box::new(c))),
            _ => None,
        };
        Self { material, key, cipher }
    }

    /// The key material (what `exportKey` returns).
    pub fn material(&self) -> &[u8] {
        &self.material
    }

    /// The derived AES key.
    pub fn encryption_key(&self) -> &[u8] {
        &self.key
    }

    /// AES-GCM (128-bit tag) of `plaintext` with `aad`; `None` for an unusable key.
    pub fn seal(&self, iv: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
        self.gcm(true, iv, aad, plaintext)
    }

    /// Opens `ciphertext` (with its tag); `None` if it does not authenticate.
    pub fn open(&self, iv: &[u8; 12], aad: &[u8], ciphertext: &[u8]) -> Option<Vec<u8>> {
        self.gcm(false, iv, aad, ciphertext)
    }

    fn gcm(&self, seal: bool, iv: &[u8; 12], aad: &[u8], msg: &[u8]) -> Option<Vec<u8>> {
        let payload = Payload { msg, aad };
        let nonce = Nonce::from_slice(iv);
        match (self.cipher.as_ref()?, seal) {
            (Cipher::Aes128(c), true) => c.encrypt(nonce, payload),
            (Cipher::Aes128(c), false) => c.decrypt(nonce, payload),
            (Cipher::Aes256(c), true) => c.encrypt(nonce, payload),
            (Cipher::Aes256(c), false) => c.decrypt(nonce, payload),
        }
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    // Expected values computed independently with Python's `hashlib`/`cryptography`
    // (`python3 crates/engine/tests/e2ee_vectors.py`, first lines of its output), from the
    // algorithm as the official sources describe it.
    #[test]
    fn e2ee_derivation_known_answers() {
        let cases = [
            (KeyDerivationFunction::Pbkdf2, PBKDF2_KEY, PBKDF2_RATCHET),
            (KeyDerivationFunction::Hkdf, HKDF_KEY, HKDF_RATCHET),
        ];
        for (kdf, key, next) in cases {
            let ks = KeySet::derive(kdf, b"lkrtc-e2ee-passphrase", DEFAULT_RATCHET_SALT);
            assert_eq!(hex(ks.encryption_key()), key, "{kdf:?}");
            assert_eq!(ks.material(), b"lkrtc-e2ee-passphrase");
            assert_eq!(hex(&ratchet(kdf, b"lkrtc-e2ee-passphrase", DEFAULT_RATCHET_SALT)), next, "{kdf:?}");
        }
    }

    #[test]
    fn e2ee_aes_key_sizes() {
        let iv = [7u8; 12];
        for len in [16, 32] {
            let ks = KeySet::from_parts(vec![], vec![0x42; len]);
            let sealed = ks.seal(&iv, b"aad", b"secret").unwrap();
            assert_eq!(sealed.len(), 6 + 16);
            assert_eq!(ks.open(&iv, b"aad", &sealed).unwrap(), b"secret");
            assert_eq!(ks.open(&iv, b"other aad", &sealed), None);
        }
        let odd = KeySet::from_parts(vec![], vec![0x42; 20]);
        assert_eq!(odd.seal(&iv, b"", b"secret"), None, "only AES-128 and AES-256 keys");
        assert_eq!(odd.open(&iv, b"", &[0; 32]), None);
    }

    const PBKDF2_KEY: &str = "f016a40ab7df23af87d17bc553366cb8";
    const PBKDF2_RATCHET: &str = "f016a40ab7df23af87d17bc553366cb828373849c1b79c2a47094b32d3385d03";
    const HKDF_KEY: &str = "81aec13798bf657303e22c41f53d8ac3";
    const HKDF_RATCHET: &str = "81aec13798bf657303e22c41f53d8ac3f5279d661a44325d7fb25182839bba98";
}
