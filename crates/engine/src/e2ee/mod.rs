//! End-to-end encryption compatible with the official LiveKit SDKs: the sans-IO crypto core.
//!
//! - [`key`]: key derivation (PBKDF2 or HKDF over SHA-256) and ratcheting.
//! - [`KeyProvider`]: shared-key or per-participant key rings.
//! - [`FrameCryptor`]: the per-track GCM frame cryptor, a frame transform of the media pipeline (`media::transform`).
//! - [`DataCryptor`]: encryption of data packets into `EncryptedPacket`.
//! - [`E2eeManager`]: a room's provider, track cryptors and data encryption.
//!
//! The wire format and where each rule comes from are described in `docs/E2EE.md`. Where the
//! browser SDK and livekit's libwebrtc fork (used by `@livekit/rtc-node`) differ, this module
//! follows the libwebrtc fork.

mod data;
mod frame;
pub mod key;
mod manager;
mod provider;
#[cfg(test)]
mod tests;

pub use data::{encryptable_value, packet_value, seal_data, DataCryptor};
pub(crate) use frame::Outcome;
pub use frame::{make_iv, open_frame, seal_frame, FrameCodec, FrameCryptor, SealedFrame, IV_LENGTH};
pub use key::{KeyDerivationFunction, KeySet};
pub use manager::{E2eeManager, E2eeOptions, StateObserver, TrackCryptor};
pub use provider::{KeyProvider, KeyProviderOptions, ParticipantKeyHandler};

/// How a track or data packet is encrypted (`Encryption.Type` of the LiveKit protocol).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EncryptionType {
    /// Not encrypted.
    #[default]
    None = 0,
    /// AES-GCM frame encryption (the official SDKs' built-in cryptor).
    Gcm = 1,
    /// An application-defined cryptor.
    Custom = 2,
}

impl From<EncryptionType> for livekit_protocol::encryption::Type {
    fn from(value: EncryptionType) -> Self {
        match value {
            EncryptionType::None => Self::None,
            EncryptionType::Gcm => Self::Gcm,
            EncryptionType::Custom => Self::Custom,
        }
    }
}

impl From<livekit_protocol::encryption::Type> for EncryptionType {
    fn from(value: livekit_protocol::encryption::Type) -> Self {
        match value {
            livekit_protocol::encryption::Type::None => Self::None,
            livekit_protocol::encryption::Type::Gcm => Self::Gcm,
            livekit_protocol::encryption::Type::Custom => Self::Custom,
        }
    }
}

/// State of a frame cryptor, with the names and values of the official `EncryptionState`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EncryptionState {
    /// No frame processed yet.
    #[default]
    New = 0,
    /// The last frame was encrypted or decrypted.
    Ok = 1,
    /// Encrypting a frame failed.
    EncryptionFailed = 2,
    /// Decrypting failed more often than the failure tolerance allows.
    DecryptionFailed = 3,
    /// No key at the index a frame asks for.
    MissingKey = 4,
    /// A frame decrypted only after ratcheting the key; the ratcheted key is now in use.
    KeyRatcheted = 5,
    /// The cryptor cannot work (internal problem).
    InternalError = 6,
}

/// Why an encryption operation failed (defined with the engine's other errors).
pub use crate::error::E2eeError;
