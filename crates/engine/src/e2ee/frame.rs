//! The GCM frame cryptor (livekit's libwebrtc fork `api/crypto/frame_crypto_transformer.cc`,
//! browser SDK `src/e2ee/worker/FrameCryptor.ts`).
//!
//! An encrypted frame is `header ‖ AES-GCM(rest, aad = header) ‖ iv (12) ‖ 12 ‖ key index`,
//! where `header` is the codec's unencrypted prefix. For H.264/H.265 everything after the
//! header is escaped with emulation-prevention bytes so that it cannot contain a start code.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use super::key::KeySet;
use super::provider::{KeyProvider, ParticipantKeyHandler};
use super::{E2eeError, EncryptionState};

/// Length of the IV carried in every frame.
pub const IV_LENGTH: usize = 12;
const TRAILER_LEN: usize = 2;
const TAG_LEN: usize = 16;

/// How a codec's frames are laid out for encryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameCodec {
    /// Any audio codec: the first byte (Opus TOC) stays clear.
    Audio,
    /// VP8: 10 clear bytes on keyframes, 3 on delta frames (RFC 6386 §9.1).
    Vp8,
    /// VP9: nothing stays clear.
    Vp9,
    /// H.264: clear up to the first byte after the first slice's NAL header; escaped.
    H264,
    /// H.265: clear up to the end of the first slice's NAL header; escaped.
    H265,
    /// AV1: the official fork wraps it in an OBU envelope that lkrtc does not produce yet.
    Av1,
    /// Another video codec: nothing stays clear.
    Other,
}

impl FrameCodec {
    /// The layout of frames coded with `mime` (`video/H264`, `audio/opus`, ...); every
    /// audio codec keeps one byte clear.
    pub fn of(audio: bool, mime: &str) -> Self {
        if audio {
            return Self::Audio;
        }
        let name = mime.rsplit('/').next().unwrap_or(mime);
        match name.to_ascii_lowercase().as_str() {
            "vp8" => Self::Vp8,
            "vp9" => Self::Vp9,
            "h264" => Self::H264,
            "h265" | "hevc" => Self::H265,
            "av1" => Self::Av1,
            _ => Self::Other,
        }
    }

    fn escaped(self) -> bool {
        matches!(self, Self::H264 | Self::H265)
    }
}

/// Offsets of NAL unit payloads (just after each `00 00 01`), scanned as libwebrtc's
/// `FindNaluIndices` does (a start code in the last three bytes is not one).
fn nalu_starts(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (0..data.len().saturating_sub(3))
        .filter(move |&i| data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1)
        .map(|i| i + 3)
}

fn is_h264_slice(byte: u8) -> bool {
    matches!(byte & 0x1f, 1 | 5)
}

fn is_h265_slice(byte: u8) -> bool {
    matches!((byte >> 1) & 0x3f, 0..=9 | 16..=21)
}

/// How many leading bytes of `data` stay unencrypted.
fn unencrypted_len(codec: FrameCodec, data: &[u8]) -> Result<usize, E2eeError> {
    Ok(match codec {
        FrameCodec::Audio => 1,
        // The P bit of the VP8 frame tag is 0 on keyframes.
        FrameCodec::Vp8 => match data.first() {
            Some(b) if b & 1 == 0 => 10,
            _ => 3,
        },
        FrameCodec::H264 => nalu_starts(data).find(|&i| is_h264_slice(data[i])).map_or(0, |i| i + 2),
        FrameCodec::H265 => nalu_starts(data).find(|&i| is_h265_slice(data[i])).map_or(0, |i| i + 2),
        FrameCodec::Vp9 | FrameCodec::Other => 0,
        FrameCodec::Av1 => return Err(E2eeError::UnsupportedCodec("av1".into())),
    })
}

/// Inserts emulation-prevention bytes (`00 00 0x` with x ≤ 3 becomes `00 00 03 0x`).
fn write_rbsp(data: &[u8], out: &mut Vec<u8>) {
    let mut zeros = 0;
    for &b in data {
        if b <= 3 && zeros >= 2 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
}

/// Whether `data` has an `00 00 03` (checked as the official does: not in the last 3 bytes).
fn needs_unescaping(data: &[u8]) -> bool {
    (0..data.len().saturating_sub(3)).any(|i| data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 3)
}

/// Removes emulation-prevention bytes.
fn parse_rbsp(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data.len() - i >= 3 && data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 3 {
            out.extend_from_slice(&[0, 0]);
            i += 3;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// Encrypts one frame with `key` and an explicit `iv` (the sans-IO core of the cryptor).
pub fn seal_frame(
    key: &KeySet,
    codec: FrameCodec,
    data: &[u8],
    iv: &[u8; IV_LENGTH],
    key_index: u8,
) -> Result<Vec<u8>, E2eeError> {
    let clear = unencrypted_len(codec, data)?;
    if clear > data.len() {
        return Err(E2eeError::Malformed("frame shorter than its unencrypted header"));
    }
    let (header, rest) = data.split_at(clear);
    let mut body = key.seal(iv, header, rest).ok_or(E2eeError::InvalidKey)?;
    body.extend_from_slice(iv);
    body.extend_from_slice(&[IV_LENGTH as u8, key_index]);
    let mut out = Vec::with_capacity(clear + body.len() + body.len() / 64);
    out.extend_from_slice(header);
    if codec.escaped() {
        write_rbsp(&body, &mut out);
    } else {
        out.extend_from_slice(&body);
    }
    Ok(out)
}

/// An encrypted frame taken apart (trailer read, emulation prevention removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedFrame {
    header: Vec<u8>,
    ciphertext: Vec<u8>,
    iv: [u8; IV_LENGTH],
    key_index: u8,
}

impl SealedFrame {
    /// Parses an encrypted frame of `codec`.
    pub fn parse(codec: FrameCodec, data: &[u8]) -> Result<Self, E2eeError> {
        let clear = unencrypted_len(codec, data)?;
        if clear > data.len() {
            return Err(E2eeError::Malformed("frame shorter than its unencrypted header"));
        }
        let (header, rest) = data.split_at(clear);
        let body = if codec.escaped() && needs_unescaping(rest) { parse_rbsp(rest) } else { rest.to_vec() };
        let [.., iv_len, key_index] = body[..] else { return Err(E2eeError::Malformed("no frame trailer")) };
        if iv_len as usize != IV_LENGTH || body.len() < TRAILER_LEN + IV_LENGTH + TAG_LEN {
            return Err(E2eeError::Malformed("bad IV length or frame too short"));
        }
        let ct_len = body.len() - TRAILER_LEN - IV_LENGTH;
        let mut iv = [0; IV_LENGTH];
        iv.copy_from_slice(&body[ct_len..ct_len + IV_LENGTH]);
        let mut ciphertext = body;
        ciphertext.truncate(ct_len);
        Ok(Self { header: header.to_vec(), ciphertext, iv, key_index })
    }

    /// Key index the sender used.
    pub fn key_index(&self) -> u8 {
        self.key_index
    }

    /// The IV the sender used.
    pub fn iv(&self) -> &[u8; IV_LENGTH] {
        &self.iv
    }

    /// The clear frame (`header ‖ plaintext`), or `None` if `key` does not authenticate it.
    pub fn open(&self, key: &KeySet) -> Option<Vec<u8>> {
        let plain = key.open(&self.iv, &self.header, &self.ciphertext)?;
        let mut out = Vec::with_capacity(self.header.len() + plain.len());
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&plain);
        Some(out)
    }
}

/// Decrypts one frame with `key` alone (no key ring, no ratcheting).
pub fn open_frame(key: &KeySet, codec: FrameCodec, data: &[u8]) -> Result<Vec<u8>, E2eeError> {
    SealedFrame::parse(codec, data)?.open(key).ok_or(E2eeError::InvalidKey)
}

/// SHA-256 of the blank frames the LiveKit SFU injects (server-injected frames, "SIF"): a VP8
/// 8x8 keyframe, the SPS, PPS and IDR of a 2x2 H.264 keyframe, an Opus silence frame. Only
/// these may skip decryption (browser SDK `src/e2ee/worker/sifPayload.ts`).
const SIF_PAYLOAD_SHA256: [&str; 5] = [
    "ef0161653d8b2b23aad46624b420af1d03ce48950e9fc85718028f91b50f9219",
    "f0a0e09647d891d6d50aa898bce7108090375d0d55e50a2bb21147afee558e44",
    "61d9665eed71b6d424ae9539330a3bdd5cb386d4d781c808219a6e36750493a7",
    "faffc26b68a2fc09096fa20f3351e706398b6f838a7500c8063472c2e476e90d",
    "aad8d31fc56b2802ca500e58c2fb9d0b29ad71bb7cb52cd6530251eade188988",
];

fn is_known_sif_payload(data: &[u8]) -> bool {
    let digest = Sha256::digest(data);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    SIF_PAYLOAD_SHA256.contains(&hex.as_str())
}

type Observer = Arc<dyn Fn(&str, EncryptionState) + Send + Sync>;

struct CryptorState {
    enabled: bool,
    key_index: u32,
    send_counts: HashMap<u32, u32>,
    state: EncryptionState,
    observer: Option<Observer>,
}

/// What to do with a frame.
pub(crate) enum Outcome {
    /// Pass it on unchanged.
    Pass,
    /// Pass these bytes on instead.
    Replace(Vec<u8>),
    /// Drop it (it did not decrypt, or could not be encrypted).
    Drop,
}

/// The frame cryptor of one track: encrypts a local track's frames with its participant's key,
/// or decrypts a remote track's frames with the key of the participant who sent them. Like the
/// official one it starts disabled (frames pass untouched) and at key index 0.
pub struct FrameCryptor {
    identity: String,
    provider: Arc<KeyProvider>,
    inner: Mutex<CryptorState>,
}

impl FrameCryptor {
    /// A cryptor for the tracks of participant `identity`, keyed by `provider`.
    pub fn new(provider: Arc<KeyProvider>, identity: &str) -> Self {
        let inner = CryptorState {
            enabled: false,
            key_index: 0,
            send_counts: HashMap::new(),
            state: EncryptionState::New,
            observer: None,
        };
        Self { identity: identity.to_owned(), provider, inner: Mutex::new(inner) }
    }

    /// Identity of the participant whose keys the cryptor uses.
    pub fn participant_identity(&self) -> &str {
        &self.identity
    }

    /// Turns encryption (send) or decryption (receive) on or off.
    pub fn set_enabled(&self, enabled: bool) {
        self.inner.lock().enabled = enabled;
    }

    /// Whether the cryptor encrypts/decrypts.
    pub fn enabled(&self) -> bool {
        self.inner.lock().enabled
    }

    /// Key index the sender encrypts with.
    pub fn set_key_index(&self, index: u32) {
        self.inner.lock().key_index = index;
    }

    /// Key index the sender encrypts with.
    pub fn key_index(&self) -> u32 {
        self.inner.lock().key_index
    }

    /// The last state reported.
    pub fn state(&self) -> EncryptionState {
        self.inner.lock().state
    }

    /// Called with `(identity, state)` each time the state changes.
    pub fn set_observer(&self, observer: Option<Observer>) {
        self.inner.lock().observer = observer;
    }

    fn report(&self, state: EncryptionState) {
        let observer = {
            let mut inner = self.inner.lock();
            if inner.state == state {
                return;
            }
            inner.state = state;
            inner.observer.clone()
        };
        if let Some(observer) = observer {
            observer(&self.identity, state);
        }
    }

    fn handler(&self) -> Option<Arc<ParticipantKeyHandler>> {
        self.provider.handler(&self.identity)
    }

    /// Encrypts one frame of a stream `ssrc`; `None` drops it (no key, unsupported codec).
    pub fn encrypt(&self, codec: FrameCodec, ssrc: u32, timestamp: u32, data: &[u8]) -> Option<Vec<u8>> {
        match self.encrypt_outcome(codec, ssrc, timestamp, data) {
            Outcome::Pass => Some(data.to_vec()),
            Outcome::Replace(out) => Some(out),
            Outcome::Drop => None,
        }
    }

    /// Decrypts one frame; `None` drops it (no key, wrong key, malformed). Never returns the
    /// encrypted bytes, and never plaintext that did not authenticate.
    pub fn decrypt(&self, codec: FrameCodec, data: &[u8]) -> Option<Vec<u8>> {
        match self.decrypt_outcome(codec, data) {
            Outcome::Pass => Some(data.to_vec()),
            Outcome::Replace(out) => Some(out),
            Outcome::Drop => None,
        }
    }

    /// What becomes of a frame sent (encrypted) or received (decrypted) with this cryptor.
    pub(crate) fn outcome(&self, send: bool, codec: FrameCodec, ssrc: u32, timestamp: u32, data: &[u8]) -> Outcome {
        if send {
            self.encrypt_outcome(codec, ssrc, timestamp, data)
        } else {
            self.decrypt_outcome(codec, data)
        }
    }

    fn encrypt_outcome(&self, codec: FrameCodec, ssrc: u32, timestamp: u32, data: &[u8]) -> Outcome {
        let key_index = {
            let inner = self.inner.lock();
            if data.is_empty() || !inner.enabled {
                return Outcome::Pass;
            }
            inner.key_index
        };
        let Some(key) = self.handler().and_then(|h| h.key_set(key_index)) else {
            self.report(EncryptionState::MissingKey);
            return Outcome::Drop;
        };
        let iv = self.next_iv(ssrc, timestamp);
        // The official writes the index into one byte.
        match seal_frame(&key, codec, data, &iv, key_index as u8) {
            Ok(out) => {
                self.report(EncryptionState::Ok);
                Outcome::Replace(out)
            }
            Err(_) => {
                self.report(EncryptionState::EncryptionFailed);
                Outcome::Drop
            }
        }
    }

    /// `ssrc ‖ timestamp ‖ timestamp − (send count mod 0xffff)`, all big-endian; the send
    /// count of an SSRC starts at a random value.
    fn next_iv(&self, ssrc: u32, timestamp: u32) -> [u8; IV_LENGTH] {
        let mut inner = self.inner.lock();
        let count = inner.send_counts.entry(ssrc).or_insert_with(|| rand::random::<u32>() % 0xffff);
        let sent = *count;
        *count = count.wrapping_add(1);
        make_iv(ssrc, timestamp, sent)
    }

    fn decrypt_outcome(&self, codec: FrameCodec, data: &[u8]) -> Outcome {
        if data.is_empty() || !self.inner.lock().enabled {
            return Outcome::Pass;
        }
        if let Some(clear) = self.strip_sif_trailer(data) {
            return match is_known_sif_payload(clear) {
                true => Outcome::Replace(clear.to_vec()),
                false => Outcome::Drop,
            };
        }
        let frame = match SealedFrame::parse(codec, data) {
            Ok(frame) => frame,
            Err(_) => {
                self.report(EncryptionState::DecryptionFailed);
                return Outcome::Drop;
            }
        };
        let index = u32::from(frame.key_index);
        let handler = self.handler();
        let Some((handler, key)) = handler.and_then(|h| h.key_set(index).map(|k| (h, k))) else {
            self.report(EncryptionState::MissingKey);
            return Outcome::Drop;
        };
        if self.state() == EncryptionState::DecryptionFailed && !handler.has_valid_key() {
            // Wait for a new key rather than spend a ratchet window on every frame.
            return Outcome::Drop;
        }
        if let Some(out) = frame.open(&key) {
            self.report(EncryptionState::Ok);
            return Outcome::Replace(out);
        }
        if let Some(out) = handler.open_ratcheted(index, &key, |k| frame.open(k)) {
            self.report(EncryptionState::KeyRatcheted);
            self.report(EncryptionState::Ok);
            return Outcome::Replace(out);
        }
        if handler.decryption_failure() {
            self.report(EncryptionState::DecryptionFailed);
        }
        Outcome::Drop
    }

    fn strip_sif_trailer<'a>(&self, data: &'a [u8]) -> Option<&'a [u8]> {
        let trailer = self.provider.sif_trailer();
        if trailer.is_empty() || data.len() < trailer.len() {
            return None;
        }
        data.strip_suffix(trailer.as_slice())
    }
}

/// The IV of a frame: `ssrc ‖ timestamp ‖ timestamp − (send_count mod 0xffff)`, big-endian.
pub fn make_iv(ssrc: u32, timestamp: u32, send_count: u32) -> [u8; IV_LENGTH] {
    let mut iv = [0; IV_LENGTH];
    iv[..4].copy_from_slice(&ssrc.to_be_bytes());
    iv[4..8].copy_from_slice(&timestamp.to_be_bytes());
    iv[8..].copy_from_slice(&timestamp.wrapping_sub(send_count % 0xffff).to_be_bytes());
    iv
}
