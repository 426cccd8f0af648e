//! Key rings: a key provider holds one key handler per participant (or the shared key and
//! per-participant copies of it), each a ring of `key_ring_size` key sets. Semantics follow
//! `DefaultKeyProviderImpl` and `ParticipantKeyHandler` of livekit's libwebrtc fork
//! (`api/crypto/frame_crypto_transformer.h`); defaults follow `@livekit/rtc-node`'s `e2ee.ts`.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::key::{self, KeyDerivationFunction, KeySet, DEFAULT_RATCHET_SALT};

/// Key ring size when none (or a non-positive one) is given.
pub const DEFAULT_KEY_RING_SIZE: usize = 16;
/// Largest key ring (the key index travels in one byte).
pub const MAX_KEY_RING_SIZE: usize = 256;

/// Options of a [`KeyProvider`], with the defaults of `@livekit/rtc-node`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProviderOptions {
    /// One key for every participant (`setSharedKey`) instead of a key per participant.
    pub shared_key: bool,
    /// Salt of key derivation and ratcheting (default `LKFrameEncryptionKey`).
    pub ratchet_salt: Vec<u8>,
    /// How many ratchet steps a receiver tries when a frame does not decrypt (default 16; 0
    /// disables ratcheting on failure).
    pub ratchet_window_size: u32,
    /// Failed decryptions tolerated before the key counts as invalid and the cryptor reports
    /// `DecryptionFailed`; negative: never (default -1).
    pub failure_tolerance: i32,
    /// Key sets per participant (default 16, at most 256).
    pub key_ring_size: usize,
    /// PBKDF2 (default) or HKDF.
    pub key_derivation_function: KeyDerivationFunction,
}

impl Default for KeyProviderOptions {
    fn default() -> Self {
        Self {
            shared_key: false,
            ratchet_salt: DEFAULT_RATCHET_SALT.to_vec(),
            ratchet_window_size: 16,
            failure_tolerance: -1,
            key_ring_size: DEFAULT_KEY_RING_SIZE,
            key_derivation_function: KeyDerivationFunction::Pbkdf2,
        }
    }
}

impl KeyProviderOptions {
    fn ring_size(&self) -> usize {
        match self.key_ring_size {
            0 => DEFAULT_KEY_RING_SIZE,
            n => n.min(MAX_KEY_RING_SIZE),
        }
    }

    pub(crate) fn derive(&self, material: &[u8]) -> KeySet {
        KeySet::derive(self.key_derivation_function, material, &self.ratchet_salt)
    }

    pub(crate) fn ratchet(&self, material: &[u8]) -> Vec<u8> {
        key::ratchet(self.key_derivation_function, material, &self.ratchet_salt)
    }
}

#[derive(Clone)]
struct Ring {
    keys: Vec<Option<Arc<KeySet>>>,
    current: usize,
    has_valid_key: bool,
    failures: i32,
}

/// The key ring of one participant (or of the shared key).
pub struct ParticipantKeyHandler {
    options: Arc<KeyProviderOptions>,
    ring: Mutex<Ring>,
}

impl ParticipantKeyHandler {
    fn new(options: Arc<KeyProviderOptions>) -> Self {
        let ring = Ring { keys: vec![None; options.ring_size()], current: 0, has_valid_key: false, failures: 0 };
        Self { options, ring: Mutex::new(ring) }
    }

    fn duplicate(&self) -> Self {
        Self { options: self.options.clone(), ring: Mutex::new(self.ring.lock().clone()) }
    }

    /// The key set at `index` (`None` if empty or outside the ring).
    pub fn key_set(&self, index: u32) -> Option<Arc<KeySet>> {
        self.ring.lock().keys.get(index as usize).cloned().flatten()
    }

    /// Index of the key set last set or ratcheted.
    pub fn current_key_index(&self) -> u32 {
        self.ring.lock().current as u32
    }

    /// Derives a key set from `material` and stores it at `index` (modulo the ring size),
    /// which becomes the current index (the official `SetKeyFromMaterial`).
    pub fn set_key_from_material(&self, material: &[u8], index: u32) {
        self.put(index, Arc::new(self.options.derive(material)));
    }

    /// Tries `open` with up to `ratchet_window_size` successive ratchets of `key` (the key set
    /// at `index`). On success the ratcheted key replaces it and counts as valid; otherwise
    /// `key` is put back at `index` (both as the official does, current index included).
    pub(crate) fn open_ratcheted<T>(
        &self,
        index: u32,
        key: &Arc<KeySet>,
        mut open: impl FnMut(&KeySet) -> Option<T>,
    ) -> Option<T> {
        if self.options.ratchet_window_size == 0 {
            return None;
        }
        let mut material = key.material().to_vec();
        for _ in 0..self.options.ratchet_window_size {
            material = self.options.ratchet(&material);
            if let Some(out) = open(&self.options.derive(&material)) {
                self.set_key_from_material(&material, index);
                self.set_has_valid_key();
                return Some(out);
            }
        }
        self.put(index, key.clone());
        None
    }

    /// Stores a key set at `index` (modulo the ring size), making it current.
    fn put(&self, index: u32, set: Arc<KeySet>) {
        let mut ring = self.ring.lock();
        let slot = index as usize % ring.keys.len();
        ring.current = slot;
        ring.keys[slot] = Some(set);
    }

    /// Sets `key` at `index` and marks the key valid again.
    pub fn set_key(&self, key: &[u8], index: u32) {
        self.set_key_set(Arc::new(self.options.derive(key)), index);
    }

    /// Stores an already derived key set at `index` and marks the key valid again.
    fn set_key_set(&self, set: Arc<KeySet>, index: u32) {
        self.put(index, set);
        self.set_has_valid_key();
    }

    /// Ratchets the key at `index` in place; the new material, or `None` without a key there.
    pub fn ratchet_key(&self, index: u32) -> Option<Vec<u8>> {
        let current = self.key_set(index)?;
        let next = self.options.ratchet(current.material());
        self.set_key_from_material(&next, index);
        self.set_has_valid_key();
        Some(next)
    }

    /// Whether the key has not been marked invalid by too many failed decryptions.
    pub fn has_valid_key(&self) -> bool {
        self.ring.lock().has_valid_key
    }

    pub(crate) fn set_has_valid_key(&self) {
        let mut ring = self.ring.lock();
        ring.failures = 0;
        ring.has_valid_key = true;
    }

    /// Counts a failed decryption; true when the failure tolerance is now exceeded.
    pub(crate) fn decryption_failure(&self) -> bool {
        let tolerance = self.options.failure_tolerance;
        if tolerance < 0 {
            return false;
        }
        let mut ring = self.ring.lock();
        ring.failures = ring.failures.saturating_add(1);
        if ring.failures > tolerance {
            ring.has_valid_key = false;
            return true;
        }
        false
    }
}

/// Keys of a room: the shared key or one key ring per participant identity.
pub struct KeyProvider {
    options: Arc<KeyProviderOptions>,
    inner: Mutex<Handlers>,
    sif_trailer: Mutex<Arc<Vec<u8>>>,
}

#[derive(Default)]
struct Handlers {
    shared: Option<Arc<ParticipantKeyHandler>>,
    participants: HashMap<String, Arc<ParticipantKeyHandler>>,
}

impl KeyProvider {
    /// A provider with no keys yet.
    pub fn new(options: KeyProviderOptions) -> Self {
        Self {
            options: Arc::new(options),
            inner: Mutex::new(Handlers::default()),
            sif_trailer: Mutex::new(Arc::new(Vec::new())),
        }
    }

    /// A provider in shared-key mode with `key` at index 0.
    pub fn with_shared_key(mut options: KeyProviderOptions, key: &[u8]) -> Self {
        options.shared_key = true;
        let provider = Self::new(options);
        provider.set_shared_key(key, 0);
        provider
    }

    /// The options the provider was made with.
    pub fn options(&self) -> &KeyProviderOptions {
        &self.options
    }

    /// Sets the shared key at `index` (for every participant); false outside shared-key mode.
    pub fn set_shared_key(&self, key: &[u8], index: u32) -> bool {
        if !self.options.shared_key {
            return false;
        }
        // Derived once, outside the lock, for the shared ring and every participant's copy.
        let set = Arc::new(self.options.derive(key));
        let (shared, others) = {
            let mut inner = self.inner.lock();
            let shared =
                inner.shared.get_or_insert_with(|| Arc::new(ParticipantKeyHandler::new(self.options.clone()))).clone();
            (shared, inner.participants.values().cloned().collect::<Vec<_>>())
        };
        for handler in std::iter::once(&shared).chain(&others) {
            handler.set_key_set(set.clone(), index);
        }
        true
    }

    /// Ratchets the shared key at `index` for every participant; the new key material.
    pub fn ratchet_shared_key(&self, index: u32) -> Option<Vec<u8>> {
        let (shared, others) = {
            let inner = self.inner.lock();
            (inner.shared.clone()?, inner.participants.values().cloned().collect::<Vec<_>>())
        };
        let next = shared.ratchet_key(index)?;
        let set = shared.key_set(index)?;
        for handler in &others {
            handler.set_key_set(set.clone(), index);
        }
        Some(next)
    }

    /// The shared key material at `index`.
    pub fn export_shared_key(&self, index: u32) -> Option<Vec<u8>> {
        let inner = self.inner.lock();
        Some(inner.shared.as_ref()?.key_set(index)?.material().to_vec())
    }

    /// Sets the key of participant `identity` at `index`.
    pub fn set_key(&self, identity: &str, key: &[u8], index: u32) {
        let handler = self
            .inner
            .lock()
            .participants
            .entry(identity.to_owned())
            .or_insert_with(|| Arc::new(ParticipantKeyHandler::new(self.options.clone())))
            .clone();
        handler.set_key(key, index);
    }

    /// Ratchets the key of `identity` at `index`; the new key material.
    pub fn ratchet_key(&self, identity: &str, index: u32) -> Option<Vec<u8>> {
        self.participant(identity)?.ratchet_key(index)
    }

    /// The key material of `identity` at `index`.
    pub fn export_key(&self, identity: &str, index: u32) -> Option<Vec<u8>> {
        Some(self.participant(identity)?.key_set(index)?.material().to_vec())
    }

    /// The trailer that marks frames the server injected unencrypted (sent by the server in
    /// the join response as `sif_trailer`).
    pub fn set_sif_trailer(&self, trailer: &[u8]) {
        *self.sif_trailer.lock() = Arc::new(trailer.to_vec());
    }

    pub(crate) fn sif_trailer(&self) -> Arc<Vec<u8>> {
        self.sif_trailer.lock().clone()
    }

    fn participant(&self, identity: &str) -> Option<Arc<ParticipantKeyHandler>> {
        self.inner.lock().participants.get(identity).cloned()
    }

    /// The key handler that encrypts or decrypts the frames of `identity`: in shared-key mode a
    /// copy of the shared ring made for that participant on first use (so that one sender's
    /// ratchet does not move the others), else the participant's own ring.
    pub fn handler(&self, identity: &str) -> Option<Arc<ParticipantKeyHandler>> {
        if !self.options.shared_key {
            return self.participant(identity);
        }
        let mut inner = self.inner.lock();
        let shared = inner.shared.clone()?;
        Some(inner.participants.entry(identity.to_owned()).or_insert_with(|| Arc::new(shared.duplicate())).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> KeyProviderOptions {
        KeyProviderOptions { key_derivation_function: KeyDerivationFunction::Hkdf, ..Default::default() }
    }

    #[test]
    fn e2ee_defaults_as_rtc_node() {
        let o = KeyProviderOptions::default();
        assert_eq!(o.ratchet_salt, b"LKFrameEncryptionKey");
        assert_eq!((o.ratchet_window_size, o.failure_tolerance, o.key_ring_size), (16, -1, 16));
        assert_eq!(o.key_derivation_function, KeyDerivationFunction::Pbkdf2);
        assert!(!o.shared_key);
    }

    #[test]
    fn e2ee_shared_key_reaches_every_participant() {
        let p = KeyProvider::with_shared_key(fast(), b"one");
        let alice = p.handler("alice").unwrap();
        assert_eq!(alice.key_set(0).unwrap().material(), b"one");
        assert!(p.set_shared_key(b"two", 3));
        assert_eq!(alice.key_set(3).unwrap().material(), b"two");
        assert_eq!(alice.current_key_index(), 3);
        let bob = p.handler("bob").unwrap();
        assert_eq!(bob.key_set(3).unwrap().material(), b"two");
        assert_eq!(p.export_shared_key(3).unwrap(), b"two");
        let next = p.ratchet_shared_key(3).unwrap();
        assert_eq!(next, key::ratchet(KeyDerivationFunction::Hkdf, b"two", DEFAULT_RATCHET_SALT));
        assert_eq!(alice.key_set(3).unwrap().material(), next.as_slice());
        assert_eq!(p.export_shared_key(3).unwrap(), next);
        assert!(p.ratchet_shared_key(7).is_none(), "no key at 7");
    }

    #[test]
    fn e2ee_per_participant_keys_and_ring() {
        let p = KeyProvider::new(KeyProviderOptions { key_ring_size: 4, ..fast() });
        assert!(!p.set_shared_key(b"x", 0), "not in shared-key mode");
        assert!(p.handler("alice").is_none());
        p.set_key("alice", b"a0", 0);
        p.set_key("alice", b"a5", 5); // slot 5 % 4 = 1
        let alice = p.handler("alice").unwrap();
        assert_eq!(alice.current_key_index(), 1);
        assert_eq!(p.export_key("alice", 1).unwrap(), b"a5");
        assert_eq!(p.export_key("alice", 0).unwrap(), b"a0");
        assert!(alice.key_set(4).is_none(), "outside the ring");
        assert!(p.export_key("bob", 0).is_none());
        let next = p.ratchet_key("alice", 0).unwrap();
        assert_eq!(p.export_key("alice", 0).unwrap(), next);
        assert!(p.ratchet_key("bob", 0).is_none());
        let big = KeyProvider::new(KeyProviderOptions { key_ring_size: 1000, ..fast() });
        big.set_key("a", b"k", 255);
        assert!(big.export_key("a", 255).is_some());
        assert!(big.handler("a").unwrap().key_set(256).is_none());
    }

    #[test]
    fn e2ee_failure_tolerance() {
        let p = KeyProvider::new(KeyProviderOptions { failure_tolerance: 2, ..fast() });
        p.set_key("a", b"k", 0);
        let h = p.handler("a").unwrap();
        assert!(h.has_valid_key());
        assert!(!h.decryption_failure());
        assert!(!h.decryption_failure());
        assert!(h.decryption_failure());
        assert!(!h.has_valid_key());
        p.set_key("a", b"k2", 1);
        assert!(h.has_valid_key());
        let never = KeyProvider::new(fast());
        never.set_key("a", b"k", 0);
        let h = never.handler("a").unwrap();
        assert!((0..100).all(|_| !h.decryption_failure()));
        assert!(h.has_valid_key());
    }
}
