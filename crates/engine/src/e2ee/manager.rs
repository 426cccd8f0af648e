//! The room's end-to-end encryption: one [`KeyProvider`], a [`FrameCryptor`] per published
//! and per subscribed encrypted track, and the [`DataCryptor`] of data packets. The room
//! session asks it for a cryptor when a track is published or subscribed and passes data
//! packets through it; the cryptors report their state changes through the observer given at
//! creation (the room turns them into events).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use livekit_protocol as proto;
use parking_lot::Mutex;
use proto::data_packet::Value;

use super::{
    encryptable_value, packet_value, DataCryptor, E2eeError, EncryptionState, EncryptionType, FrameCryptor,
    KeyProvider, KeyProviderOptions,
};

/// `RoomOptions.encryption`: how the room encrypts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct E2eeOptions {
    /// GCM (the official built-in cryptor); `None` connects without encryption.
    pub encryption_type: EncryptionType,
    /// Key provider options (shared-key mode, salt, ratchet window...).
    pub key_provider: KeyProviderOptions,
    /// The shared key set at index 0 on connect (turns shared-key mode on).
    pub shared_key: Option<Vec<u8>>,
}

impl E2eeOptions {
    /// Checks what lkrtc can do: GCM or NONE (a custom cryptor is an app-provided one,
    /// which neither rtc-node nor lkrtc lets an app install).
    pub fn validate(&self) -> Result<(), String> {
        match self.encryption_type {
            EncryptionType::Custom => Err("encryptionType CUSTOM is not supported: rtc-node and lkrtc have no way to \
                 install an application cryptor; use EncryptionType.GCM"
                .into()),
            _ => Ok(()),
        }
    }
}

/// Called with `(participant identity, track sid, state)` when a track's cryptor changes state.
pub type StateObserver = Arc<dyn Fn(&str, &str, EncryptionState) + Send + Sync>;

/// One frame cryptor of the room, with the track it sits on.
#[derive(Clone)]
pub struct TrackCryptor {
    /// Sid of the track (empty until a local track is published).
    pub track_sid: String,
    /// The cryptor.
    pub cryptor: Arc<FrameCryptor>,
}

/// The end-to-end encryption of one room.
pub struct E2eeManager {
    provider: Arc<KeyProvider>,
    data: DataCryptor,
    enabled: AtomicBool,
    cryptors: Mutex<Vec<(String, Weak<FrameCryptor>)>>,
    observer: Mutex<Option<StateObserver>>,
}

impl E2eeManager {
    /// The manager of a room connected with `options` (GCM); `None` for `EncryptionType::None`.
    pub fn new(options: &E2eeOptions) -> Option<Arc<Self>> {
        if options.encryption_type == EncryptionType::None {
            return None;
        }
        let provider = Arc::new(match &options.shared_key {
            Some(key) => KeyProvider::with_shared_key(options.key_provider.clone(), key),
            None => KeyProvider::new(options.key_provider.clone()),
        });
        Some(Arc::new(Self {
            data: DataCryptor::new(provider.clone()),
            provider,
            enabled: AtomicBool::new(true),
            cryptors: Mutex::new(Vec::new()),
            observer: Mutex::new(None),
        }))
    }

    /// The room's keys.
    pub fn key_provider(&self) -> &Arc<KeyProvider> {
        &self.provider
    }

    /// Whether frames and data are encrypted/decrypted.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Turns encryption on or off for every cryptor (and the data packets).
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Release);
        for c in self.frame_cryptors() {
            c.cryptor.set_enabled(enabled);
        }
    }

    /// Where cryptor state changes go (the room's event queue).
    pub(crate) fn set_observer(&self, observer: StateObserver) {
        *self.observer.lock() = Some(observer);
    }

    /// A new cryptor for a track of `identity` (the local participant's when publishing, the
    /// publisher's when subscribing), enabled as the manager is.
    pub(crate) fn cryptor(&self, identity: &str, track_sid: &str) -> Arc<FrameCryptor> {
        let cryptor = Arc::new(FrameCryptor::new(self.provider.clone(), identity));
        cryptor.set_enabled(self.enabled());
        let observer = self.observer.lock().clone();
        if let Some(observer) = observer {
            let sid = track_sid.to_owned();
            cryptor.set_observer(Some(Arc::new(move |identity: &str, state| observer(identity, &sid, state))));
        }
        let mut list = self.cryptors.lock();
        list.retain(|(_, c)| c.strong_count() > 0);
        list.push((track_sid.to_owned(), Arc::downgrade(&cryptor)));
        cryptor
    }

    /// The cryptors of the tracks that still exist.
    pub fn frame_cryptors(&self) -> Vec<TrackCryptor> {
        let list = self.cryptors.lock();
        list.iter()
            .filter_map(|(sid, c)| Some(TrackCryptor { track_sid: sid.clone(), cryptor: c.upgrade()? }))
            .collect()
    }

    /// Enables or disables the cryptors of `identity`'s tracks.
    pub fn set_cryptor_enabled(&self, identity: &str, enabled: bool) {
        for c in self.frame_cryptors().iter().filter(|c| c.cryptor.participant_identity() == identity) {
            c.cryptor.set_enabled(enabled);
        }
    }

    /// Sets the key index the cryptors of `identity`'s tracks encrypt with.
    pub fn set_cryptor_key_index(&self, identity: &str, index: u32) {
        for c in self.frame_cryptors().iter().filter(|c| c.cryptor.participant_identity() == identity) {
            c.cryptor.set_key_index(index);
        }
    }

    /// The value to send for `value` from `identity`: encrypted when it is an encryptable
    /// kind and encryption is on, else unchanged.
    pub(crate) fn seal_packet(&self, identity: &str, value: Value, now_ms: u64) -> Result<Value, E2eeError> {
        if !self.enabled() {
            return Ok(value);
        }
        let Some(inner) = encryptable_value(&value) else { return Ok(value) };
        let key_index = self.provider.handler(identity).map_or(0, |h| h.current_key_index());
        let payload = proto::EncryptedPacketPayload { value: Some(inner) };
        Ok(Value::EncryptedPacket(self.data.encrypt(identity, key_index, &payload, now_ms)?))
    }

    /// The clear value of an encrypted packet from `identity`.
    pub(crate) fn open_packet(&self, identity: &str, packet: &proto::EncryptedPacket) -> Result<Value, E2eeError> {
        if packet.encryption_type != proto::encryption::Type::Gcm as i32 {
            return Err(E2eeError::Malformed("not a GCM packet"));
        }
        let payload = self.data.decrypt(identity, packet)?;
        payload.value.map(packet_value).ok_or(E2eeError::Decode)
    }
}
