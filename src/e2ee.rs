//! End-to-end encryption on the native room: the calls behind `E2EEManager`, `KeyProvider`
//! and `FrameCryptor` of `index.js` (`RoomOptions.encryption` is converted in `e2ee_options`).
//! As in rtc-node those JavaScript objects address the room (cryptors by participant
//! identity), so JavaScript holds no native cryptor: the engine's cryptors live and die with
//! their tracks.

use std::sync::Arc;

use lkrtc_engine::e2ee::E2eeManager;
use napi::bindgen_prelude::{Buffer, Uint8Array};
use napi_derive::napi;

use crate::e2ee_options::invalid;
use crate::error::{self, ERR_INVALID_STATE};
use crate::room::NativeRoom;

/// One frame cryptor (`FrameCryptor` of rtc-node, plus its track and state).
#[napi(object, object_from_js = false)]
pub struct NativeFrameCryptor {
    pub participant_identity: String,
    pub track_sid: String,
    pub key_index: u32,
    pub enabled: bool,
    /// `EncryptionState` value.
    pub state: u32,
}

fn key_index(index: i32) -> crate::error::Result<u32> {
    u32::try_from(index).map_err(|_| invalid(format!("keyIndex {index} is negative")))
}

impl NativeRoom {
    fn e2ee(&self) -> crate::error::Result<Arc<E2eeManager>> {
        self.connected()?
            .e2ee_manager()
            .ok_or_else(|| error::coded(ERR_INVALID_STATE, "the room was not connected with encryption"))
    }
}

#[napi]
impl NativeRoom {
    /// Whether the room encrypts (`E2EEManager.enabled`).
    #[napi(catch_unwind, js_name = "e2eeEnabled")]
    pub fn e2ee_enabled(&self) -> crate::error::Result<bool> {
        Ok(self.e2ee()?.enabled())
    }

    /// `E2EEManager.setEnabled`.
    #[napi(catch_unwind, js_name = "e2eeSetEnabled")]
    pub fn e2ee_set_enabled(&self, enabled: bool) -> crate::error::Result<()> {
        self.e2ee()?.set_enabled(enabled);
        Ok(())
    }

    /// `E2EEManager.frameCryptors()`: the cryptors of the tracks that exist now.
    #[napi(catch_unwind, js_name = "e2eeFrameCryptors")]
    pub fn e2ee_frame_cryptors(&self) -> crate::error::Result<Vec<NativeFrameCryptor>> {
        Ok(self
            .e2ee()?
            .frame_cryptors()
            .into_iter()
            .map(|c| NativeFrameCryptor {
                participant_identity: c.cryptor.participant_identity().to_owned(),
                track_sid: c.track_sid,
                key_index: c.cryptor.key_index(),
                enabled: c.cryptor.enabled(),
                state: c.cryptor.state() as u32,
            })
            .collect())
    }

    /// `FrameCryptor.setEnabled`: every cryptor of `identity`'s tracks.
    #[napi(catch_unwind, js_name = "e2eeCryptorSetEnabled")]
    pub fn e2ee_cryptor_set_enabled(&self, identity: String, enabled: bool) -> crate::error::Result<()> {
        self.e2ee()?.set_cryptor_enabled(&identity, enabled);
        Ok(())
    }

    /// `FrameCryptor.setKeyIndex`: the index `identity`'s tracks encrypt with.
    #[napi(catch_unwind, js_name = "e2eeCryptorSetKeyIndex")]
    pub fn e2ee_cryptor_set_key_index(&self, identity: String, index: i32) -> crate::error::Result<()> {
        self.e2ee()?.set_cryptor_key_index(&identity, key_index(index)?);
        Ok(())
    }

    /// `KeyProvider.setSharedKey`.
    #[napi(catch_unwind, js_name = "e2eeSetSharedKey")]
    pub fn e2ee_set_shared_key(&self, key: Uint8Array, index: i32) -> crate::error::Result<()> {
        let index = key_index(index)?;
        if !self.e2ee()?.key_provider().set_shared_key(&key, index) {
            return Err(error::coded(
                ERR_INVALID_STATE,
                "setSharedKey: the key provider is in per-participant mode (connect with keyProviderOptions.sharedKey)",
            ));
        }
        Ok(())
    }

    /// `KeyProvider.exportSharedKey` (empty when no key is set at `index`).
    #[napi(catch_unwind, js_name = "e2eeExportSharedKey")]
    pub fn e2ee_export_shared_key(&self, index: i32) -> crate::error::Result<Buffer> {
        let key = self.e2ee()?.key_provider().export_shared_key(key_index(index)?);
        Ok(key.unwrap_or_default().into())
    }

    /// `KeyProvider.ratchetSharedKey`: the new key material (empty when no key is set).
    #[napi(catch_unwind, js_name = "e2eeRatchetSharedKey")]
    pub fn e2ee_ratchet_shared_key(&self, index: i32) -> crate::error::Result<Buffer> {
        let key = self.e2ee()?.key_provider().ratchet_shared_key(key_index(index)?);
        Ok(key.unwrap_or_default().into())
    }

    /// `KeyProvider.setKey`: `identity`'s key at `index`.
    #[napi(catch_unwind, js_name = "e2eeSetKey")]
    pub fn e2ee_set_key(&self, identity: String, key: Uint8Array, index: i32) -> crate::error::Result<()> {
        let index = key_index(index)?;
        self.e2ee()?.key_provider().set_key(&identity, &key, index);
        Ok(())
    }

    /// `KeyProvider.exportKey` (empty when no key is set).
    #[napi(catch_unwind, js_name = "e2eeExportKey")]
    pub fn e2ee_export_key(&self, identity: String, index: i32) -> crate::error::Result<Buffer> {
        let key = self.e2ee()?.key_provider().export_key(&identity, key_index(index)?);
        Ok(key.unwrap_or_default().into())
    }

    /// `KeyProvider.ratchetKey`: the new key material (empty when no key is set).
    #[napi(catch_unwind, js_name = "e2eeRatchetKey")]
    pub fn e2ee_ratchet_key(&self, identity: String, index: i32) -> crate::error::Result<Buffer> {
        let key = self.e2ee()?.key_provider().ratchet_key(&identity, key_index(index)?);
        Ok(key.unwrap_or_default().into())
    }
}
