//! Data packet encryption: the value of a `DataPacket` becomes an `EncryptedPacketPayload`,
//! whose protobuf encoding is sealed with AES-GCM (no additional data) into an
//! `EncryptedPacket { encryption_type: GCM, iv, key_index, encrypted_value }`.
//! (libwebrtc fork `DataPacketCryptor` in `api/crypto/frame_crypto_transformer.cc`, rust-sdks
//! `livekit/src/rtc_engine/rtc_session.rs`, browser SDK `src/e2ee/worker/DataCryptor.ts` and
//! `asEncryptablePacket` in `src/e2ee/utils.ts`.)

use std::sync::Arc;

use livekit_protocol as proto;
use parking_lot::Mutex;
use prost::Message;
use proto::data_packet::Value as PacketValue;
use proto::encrypted_packet_payload::Value as PayloadValue;

use super::frame::IV_LENGTH;
use super::key::KeySet;
use super::provider::KeyProvider;
use super::E2eeError;

const TAG_LEN: usize = 16;

/// The encryptable part of a data packet value (user data, chat, RPC, data streams); `None`
/// for values that travel in clear (DTMF, transcription, metrics, speakers, ...).
pub fn encryptable_value(value: &PacketValue) -> Option<PayloadValue> {
    Some(match value {
        PacketValue::User(v) => PayloadValue::User(v.clone()),
        PacketValue::ChatMessage(v) => PayloadValue::ChatMessage(v.clone()),
        PacketValue::RpcRequest(v) => PayloadValue::RpcRequest(v.clone()),
        PacketValue::RpcAck(v) => PayloadValue::RpcAck(v.clone()),
        PacketValue::RpcResponse(v) => PayloadValue::RpcResponse(v.clone()),
        PacketValue::StreamHeader(v) => PayloadValue::StreamHeader(v.clone()),
        PacketValue::StreamChunk(v) => PayloadValue::StreamChunk(v.clone()),
        PacketValue::StreamTrailer(v) => PayloadValue::StreamTrailer(v.clone()),
        _ => return None,
    })
}

/// The data packet value a decrypted payload stands for.
pub fn packet_value(value: PayloadValue) -> PacketValue {
    match value {
        PayloadValue::User(v) => PacketValue::User(v),
        PayloadValue::ChatMessage(v) => PacketValue::ChatMessage(v),
        PayloadValue::RpcRequest(v) => PacketValue::RpcRequest(v),
        PayloadValue::RpcAck(v) => PacketValue::RpcAck(v),
        PayloadValue::RpcResponse(v) => PacketValue::RpcResponse(v),
        PayloadValue::StreamHeader(v) => PacketValue::StreamHeader(v),
        PayloadValue::StreamChunk(v) => PacketValue::StreamChunk(v),
        PayloadValue::StreamTrailer(v) => PacketValue::StreamTrailer(v),
    }
}

/// Seals `plaintext` with `key` and `iv` (no additional data).
pub fn seal_data(key: &KeySet, iv: &[u8; IV_LENGTH], plaintext: &[u8]) -> Option<Vec<u8>> {
    key.seal(iv, &[], plaintext)
}

/// Encrypts and decrypts data packets with the keys of a [`KeyProvider`].
pub struct DataCryptor {
    provider: Arc<KeyProvider>,
    send_count: Mutex<u32>,
}

impl DataCryptor {
    /// A data cryptor keyed by `provider`.
    pub fn new(provider: Arc<KeyProvider>) -> Self {
        Self { provider, send_count: Mutex::new(0) }
    }

    /// Encrypts `payload` as participant `identity` with its key at `key_index`; `now_ms` is
    /// the current time in milliseconds (part of the IV).
    pub fn encrypt(
        &self,
        identity: &str,
        key_index: u32,
        payload: &proto::EncryptedPacketPayload,
        now_ms: u64,
    ) -> Result<proto::EncryptedPacket, E2eeError> {
        let missing = || E2eeError::MissingKey { identity: identity.to_owned(), key_index };
        let key = self.provider.handler(identity).and_then(|h| h.key_set(key_index)).ok_or_else(missing)?;
        let iv = self.next_iv(now_ms as u32);
        let encrypted_value = seal_data(&key, &iv, &payload.encode_to_vec()).ok_or(E2eeError::InvalidKey)?;
        Ok(proto::EncryptedPacket {
            encryption_type: proto::encryption::Type::Gcm.into(),
            iv: iv.to_vec(),
            key_index,
            encrypted_value,
        })
    }

    /// `random ‖ time ‖ time − (send count mod 0xffff)`, big-endian, the send count starting at
    /// a random value.
    fn next_iv(&self, time: u32) -> [u8; IV_LENGTH] {
        let mut count = self.send_count.lock();
        if *count == 0 {
            *count = rand::random::<u32>() % 0xffff + 1;
        }
        let sent = *count;
        *count = count.wrapping_add(1);
        let mut iv = [0; IV_LENGTH];
        iv[..4].copy_from_slice(&rand::random::<u32>().to_be_bytes());
        iv[4..8].copy_from_slice(&time.to_be_bytes());
        iv[8..].copy_from_slice(&time.wrapping_sub(sent % 0xffff).to_be_bytes());
        iv
    }

    /// Decrypts a packet sent by `identity`, ratcheting its key within the ratchet window when
    /// the packet does not authenticate.
    pub fn decrypt(
        &self,
        identity: &str,
        packet: &proto::EncryptedPacket,
    ) -> Result<proto::EncryptedPacketPayload, E2eeError> {
        let iv: &[u8; IV_LENGTH] =
            packet.iv.as_slice().try_into().map_err(|_| E2eeError::Malformed("IV is not 12 bytes"))?;
        if packet.encrypted_value.len() < TAG_LEN {
            return Err(E2eeError::Malformed("encrypted value shorter than the GCM tag"));
        }
        let key_index = packet.key_index;
        let missing = || E2eeError::MissingKey { identity: identity.to_owned(), key_index };
        let handler = self.provider.handler(identity).ok_or_else(missing)?;
        let key = handler.key_set(key_index).ok_or_else(missing)?;
        let plain = match key.open(iv, &[], &packet.encrypted_value) {
            Some(plain) => plain,
            None => handler
                .open_ratcheted(key_index, &key, |k| k.open(iv, &[], &packet.encrypted_value))
                .ok_or(E2eeError::InvalidKey)?,
        };
        proto::EncryptedPacketPayload::decode(plain.as_slice()).map_err(|_| E2eeError::Decode)
    }
}
