//! `RoomOptions.encryption` converted for the engine.

use lkrtc_engine::e2ee::{E2eeOptions, EncryptionType, KeyDerivationFunction, KeyProviderOptions};
use napi::bindgen_prelude::Uint8Array;
use napi_derive::napi;

use crate::error::{self, ERR_INVALID_ARG, ERR_UNSUPPORTED};

/// `RoomOptions.encryption`, with rtc-node's defaults already applied by `index.js` where it
/// applies them (absent fields take the engine's, which are the same).
#[napi(object, js_name = "NativeE2eeOptions")]
pub struct NativeE2eeOptions {
    /// `EncryptionType` (0 NONE, 1 GCM, 2 CUSTOM refused).
    pub encryption_type: Option<u32>,
    /// Shared-key mode with this key at index 0.
    pub shared_key: Option<Uint8Array>,
    pub ratchet_salt: Option<Uint8Array>,
    pub ratchet_window_size: Option<i32>,
    pub failure_tolerance: Option<i32>,
    pub key_ring_size: Option<i32>,
    /// `KeyDerivationFunction` (0 PBKDF2, 1 HKDF).
    pub key_derivation_function: Option<u32>,
}

pub(crate) fn invalid(message: String) -> crate::error::Error {
    error::coded(ERR_INVALID_ARG, message)
}

/// The engine's options for `o`; a typed error for values out of range.
pub(crate) fn e2ee_options(o: NativeE2eeOptions) -> crate::error::Result<E2eeOptions> {
    let encryption_type = match o.encryption_type {
        None | Some(1) => EncryptionType::Gcm,
        Some(0) => EncryptionType::None,
        Some(2) => EncryptionType::Custom,
        Some(n) => return Err(invalid(format!("encryption.encryptionType {n} is not an EncryptionType"))),
    };
    let mut key_provider = KeyProviderOptions { shared_key: o.shared_key.is_some(), ..Default::default() };
    if let Some(salt) = o.ratchet_salt {
        key_provider.ratchet_salt = salt.to_vec();
    }
    if let Some(n) = o.ratchet_window_size {
        key_provider.ratchet_window_size =
            u32::try_from(n).map_err(|_| invalid(format!("keyProviderOptions.ratchetWindowSize {n} is negative")))?;
    }
    if let Some(n) = o.failure_tolerance {
        key_provider.failure_tolerance = n;
    }
    if let Some(n) = o.key_ring_size {
        key_provider.key_ring_size = match usize::try_from(n) {
            Ok(n @ 1..=256) => n,
            _ => return Err(invalid(format!("keyProviderOptions.keyRingSize {n} must be between 1 and 256"))),
        };
    }
    key_provider.key_derivation_function = match o.key_derivation_function {
        None | Some(0) => KeyDerivationFunction::Pbkdf2,
        Some(1) => KeyDerivationFunction::Hkdf,
        Some(n) => return Err(invalid(format!("keyProviderOptions.keyDerivationFunction {n} is not PBKDF2 or HKDF"))),
    };
    let options = E2eeOptions { encryption_type, key_provider, shared_key: o.shared_key.map(|k| k.to_vec()) };
    options.validate().map_err(|why| error::coded(ERR_UNSUPPORTED, why))?;
    Ok(options)
}
