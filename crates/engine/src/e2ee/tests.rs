//! Tests of the E2EE core. The `*_SEALED` vectors were made by an independent Python
//! implementation of the official format (`python3 crates/engine/tests/e2ee_vectors.py`, using
//! `hashlib` and `cryptography`): lkrtc must produce the same bytes from the same key and IV
//! (lkrtc → official format) and open them (official format → lkrtc).

use std::sync::Arc;

use livekit_protocol as proto;
use parking_lot::Mutex;

use super::key::{self, KeyDerivationFunction, KeySet, DEFAULT_RATCHET_SALT};
use super::*;
use crate::media::{Direction, EncodedFrame, MediaKind, TrackMeta};

const PASSPHRASE: &[u8] = b"lkrtc-e2ee-passphrase";

// Output of e2ee_vectors.py (frames sealed with the PBKDF2 key of PASSPHRASE).
const OPUS_PLAIN: &str = "fc0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728";
const OPUS_SEALED: &str = "fc1b30bc99d36feb1bf93593c404b6f900736b338d6d20f530a2a9d91c29fc72dc0855463b505b036f21cd7c03ff6555126e156b65e2969b07112233440000bb800000bb790c00";
const VP8_KEY_PLAIN: &str = "1002009d012a8002e001404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f";
const VP8_KEY_SEALED: &str = "1002009d012a8002e0010666dc7b84f3259c76692ad13efddd4a085fcabd5151137191b2a81e3445c8d1fbcd5b9a57628e842ed396c13827c009635113505805fa829458456ec055506f07b995514c26f02df541dd5a8a4c180b0a0b0c0d00015f9000015f8f0c01";
const VP8_DELTA_PLAIN: &str =
    "310500101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
const VP8_DELTA_SEALED: &str = "3105009cfa8f1a2ab27a186247c62396bc9fedecc5feb64e2298b0a4d539ba84d0439aa7a036b2879c8ab0f0ec34080ee0d125bafac25876ac7d4d76ae7294b17171140a0b0c0d00016b4800016b460c01";
const VP9_PLAIN: &str = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
const VP9_SEALED: &str = "f0e741103edabf4e2e301f9deb4a89ddf04db5d1437a2bfed8871cb2d2cd1d5ef6d2ad6c3cba555032d8d8a57c31cd3a8557b21ca0a298f2fda7a681ff025b1f6834f980b3bbbcb36f0596d0624c815d0102030400000bb800000bb80c02";
const H264_PLAIN: &str = "000000016742c01fda014016e80000000168ce3c80000001658884202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
const H264_SEALED: &str = "000000016742c01fda014016e80000000168ce3c8000000165886809d68d47becb3d2ef50d30bac69d09b423534b098f6b3b1a977701bb7cbbc968d333f503f72341a21d90ae032f6ef7b2f16f882ca6915cd9a3e928865c94dda7c563cff56fe040d8e2c13e6841e3763600000300010002bf200002bf1b0c03";
const H265_PLAIN: &str = "0000000140010c010000012601af303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f";
const H265_SEALED: &str = "0000000140010c010000012601e6685b1fd14da5c3527d70b332db392a6d32933e64a836a8ac284d63fe22cb45520593072bab42e25d719c564d37942ed3b06cec2ae5e72ad160e41cc5bc3c29e2c46b6614d917ddde68be9e650e78d4c9000003000100041eb000041ea70c00";
const RATCHETED2_PLAIN: &str = "fc72617463686574656420617564696f206672616d65";
const RATCHETED2_SEALED: &str =
    "fcec29b42fd549eef2a5d2ef3be62e9fa9f81bb59c10b036a8f27522a15c5f5173eeb643522300000005000003c0000003bf0c00";
const DATA_PAYLOAD: &str = "0a07120568656c6c6f";
const DATA_IV: &str = "0102030400000fa000000f99";
const DATA_SEALED: &str = "fd83d75bac0e2a8d53ca5151b5da98aaa9ee6148c1fd70f2fe";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn passphrase_key() -> KeySet {
    KeySet::derive(KeyDerivationFunction::Pbkdf2, PASSPHRASE, DEFAULT_RATCHET_SALT)
}

/// (codec, plain, sealed, ssrc, timestamp, send count, key index) as in e2ee_vectors.py.
fn vectors() -> Vec<(FrameCodec, &'static str, &'static str, u32, u32, u32, u8)> {
    vec![
        (FrameCodec::Audio, OPUS_PLAIN, OPUS_SEALED, 0x1122_3344, 48000, 7, 0),
        (FrameCodec::Vp8, VP8_KEY_PLAIN, VP8_KEY_SEALED, 0x0a0b_0c0d, 90000, 1, 1),
        (FrameCodec::Vp8, VP8_DELTA_PLAIN, VP8_DELTA_SEALED, 0x0a0b_0c0d, 93000, 2, 1),
        (FrameCodec::Vp9, VP9_PLAIN, VP9_SEALED, 0x0102_0304, 3000, 0, 2),
        (FrameCodec::H264, H264_PLAIN, H264_SEALED, 1, 180_000, 5, 3),
        (FrameCodec::H265, H265_PLAIN, H265_SEALED, 1, 270_000, 9, 0),
    ]
}

#[test]
fn e2ee_frames_match_independent_implementation() {
    let key = passphrase_key();
    for (codec, plain, sealed, ssrc, ts, count, index) in vectors() {
        let iv = make_iv(ssrc, ts, count);
        let ours = seal_frame(&key, codec, &unhex(plain), &iv, index).unwrap();
        assert_eq!(ours, unhex(sealed), "{codec:?}: lkrtc seals as the reference does");
        let parsed = SealedFrame::parse(codec, &unhex(sealed)).unwrap();
        assert_eq!((parsed.key_index(), parsed.iv()), (index, &iv));
        assert_eq!(open_frame(&key, codec, &unhex(sealed)).unwrap(), unhex(plain), "{codec:?}: lkrtc opens it");
    }
}

#[test]
fn e2ee_unencrypted_headers_per_codec() {
    let key = passphrase_key();
    let iv = make_iv(9, 9, 0);
    let vp8_key = unhex(VP8_KEY_PLAIN);
    let vp8_delta = unhex(VP8_DELTA_PLAIN);
    let h264 = unhex(H264_PLAIN);
    let cases: [(FrameCodec, &[u8], usize); 5] = [
        (FrameCodec::Audio, b"\xfcabc", 1),
        (FrameCodec::Vp8, &vp8_key, 10),
        (FrameCodec::Vp8, &vp8_delta, 3),
        (FrameCodec::Vp9, b"vp9 frame", 0),
        // SPS and PPS stay clear, and the IDR NAL header plus one byte.
        (FrameCodec::H264, &h264, 26),
    ];
    for (codec, frame, clear) in cases {
        let sealed = seal_frame(&key, codec, frame, &iv, 0).unwrap();
        assert_eq!(sealed[..clear], frame[..clear], "{codec:?}");
        assert_ne!(sealed[clear..clear + 1], frame[clear..clear + 1], "{codec:?}: encrypted from byte {clear}");
    }
    // An H.264 frame without a slice is encrypted whole (the libwebrtc fork; the browser falls
    // back to the VP8 rule).
    let sps_only = unhex("000000016742c01fda014016e8");
    let sealed = seal_frame(&key, FrameCodec::H264, &sps_only, &iv, 0).unwrap();
    assert_ne!(sealed[..4], sps_only[..4]);
    assert_eq!(open_frame(&key, FrameCodec::H264, &sealed).unwrap(), sps_only);
    assert!(matches!(seal_frame(&key, FrameCodec::Av1, b"obu", &iv, 0), Err(E2eeError::UnsupportedCodec(_))));
}

#[test]
fn e2ee_h264_escaping_keeps_start_codes_out() {
    let key = passphrase_key();
    let frame = unhex(H264_PLAIN);
    for ssrc in [0u32, 1, 2, 3, 0x100] {
        for ts in [0u32, 1, 3, 0x300] {
            let sealed = seal_frame(&key, FrameCodec::H264, &frame, &make_iv(ssrc, ts, 0), 2).unwrap();
            let body = &sealed[26..];
            assert!(!body.windows(3).any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 2), "no start code after the header");
            assert_eq!(open_frame(&key, FrameCodec::H264, &sealed).unwrap(), frame);
        }
    }
}

fn hkdf_options() -> KeyProviderOptions {
    KeyProviderOptions { key_derivation_function: KeyDerivationFunction::Hkdf, ..Default::default() }
}

fn shared(options: KeyProviderOptions, key: &[u8]) -> Arc<KeyProvider> {
    Arc::new(KeyProvider::with_shared_key(options, key))
}

fn enabled(provider: &Arc<KeyProvider>, identity: &str) -> FrameCryptor {
    let cryptor = FrameCryptor::new(provider.clone(), identity);
    cryptor.set_enabled(true);
    cryptor
}

fn recorded(cryptor: &FrameCryptor) -> Arc<Mutex<Vec<EncryptionState>>> {
    let states = Arc::new(Mutex::new(Vec::new()));
    let sink = states.clone();
    cryptor.set_observer(Some(Arc::new(move |_: &str, s| sink.lock().push(s))));
    states
}

#[test]
fn e2ee_round_trip_per_codec() {
    let provider = shared(hkdf_options(), b"shared secret");
    let sender = enabled(&provider, "alice");
    let receiver = enabled(&provider, "alice");
    for (codec, plain, ..) in vectors() {
        let plain = unhex(plain);
        for ts in 0..3 {
            let sealed = sender.encrypt(codec, 42, ts * 960, &plain).unwrap();
            assert_ne!(sealed, plain);
            assert_eq!(receiver.decrypt(codec, &sealed).unwrap(), plain, "{codec:?}");
        }
    }
    assert_eq!((sender.state(), receiver.state()), (EncryptionState::Ok, EncryptionState::Ok));
}

#[test]
fn e2ee_iv_layout_and_send_count() {
    let provider = shared(hkdf_options(), b"k");
    let sender = enabled(&provider, "alice");
    let a = sender.encrypt(FrameCodec::Audio, 0xdead_beef, 1000, b"\xfcxyz").unwrap();
    let b = sender.encrypt(FrameCodec::Audio, 0xdead_beef, 1000, b"\xfcxyz").unwrap();
    let (ia, ib) =
        (SealedFrame::parse(FrameCodec::Audio, &a).unwrap(), SealedFrame::parse(FrameCodec::Audio, &b).unwrap());
    assert_eq!(ia.iv()[..8], [0xde, 0xad, 0xbe, 0xef, 0, 0, 0x03, 0xe8]);
    let tail = |iv: &[u8; 12]| u32::from_be_bytes([iv[8], iv[9], iv[10], iv[11]]);
    assert_eq!(tail(ia.iv()).wrapping_sub(tail(ib.iv())), 1, "send count advances per frame");
    assert_ne!(a, b, "same frame and timestamp, different IV");
}

#[test]
fn e2ee_disabled_and_empty_frames_pass() {
    let provider = shared(hkdf_options(), b"k");
    let cryptor = FrameCryptor::new(provider, "alice");
    assert!(!cryptor.enabled());
    assert_eq!(cryptor.encrypt(FrameCodec::Audio, 1, 1, b"\xfcplain").unwrap(), b"\xfcplain");
    assert_eq!(cryptor.decrypt(FrameCodec::Audio, b"\xfcplain").unwrap(), b"\xfcplain");
    cryptor.set_enabled(true);
    assert_eq!(cryptor.encrypt(FrameCodec::Audio, 1, 1, b"").unwrap(), b"");
    assert_eq!(cryptor.state(), EncryptionState::New);
}

#[test]
fn e2ee_wrong_key_is_an_error_state_and_no_plaintext() {
    let options = KeyProviderOptions { failure_tolerance: 0, ratchet_window_size: 2, ..hkdf_options() };
    let sender = enabled(&shared(options.clone(), b"right"), "alice");
    let receiver_keys = shared(options, b"wrong");
    let receiver = enabled(&receiver_keys, "alice");
    let states = recorded(&receiver);
    let plain = unhex(OPUS_PLAIN);
    for ts in 0..5 {
        let sealed = sender.encrypt(FrameCodec::Audio, 7, ts, &plain).unwrap();
        assert_eq!(receiver.decrypt(FrameCodec::Audio, &sealed), None, "dropped, never passed through");
    }
    assert_eq!(receiver.state(), EncryptionState::DecryptionFailed);
    assert_eq!(*states.lock(), [EncryptionState::DecryptionFailed]);
    assert_eq!(receiver_keys.export_shared_key(0).unwrap(), b"wrong", "failed ratchets put the key back");
    // The right key arrives: the receiver recovers.
    receiver_keys.set_shared_key(b"right", 0);
    let sealed = sender.encrypt(FrameCodec::Audio, 7, 99, &plain).unwrap();
    assert_eq!(receiver.decrypt(FrameCodec::Audio, &sealed).unwrap(), plain);
    assert_eq!(*states.lock(), [EncryptionState::DecryptionFailed, EncryptionState::Ok]);
}

#[test]
fn e2ee_default_tolerance_drops_without_error_state() {
    // failure_tolerance -1 (rtc-node's default): the key is never marked invalid, so the
    // libwebrtc fork reports no DecryptionFailed; frames are dropped all the same.
    let options = KeyProviderOptions { ratchet_window_size: 1, ..hkdf_options() };
    let sender = enabled(&shared(options.clone(), b"right"), "alice");
    let receiver = enabled(&shared(options, b"wrong"), "alice");
    let sealed = sender.encrypt(FrameCodec::Audio, 7, 0, b"\xfcsecret").unwrap();
    assert_eq!(receiver.decrypt(FrameCodec::Audio, &sealed), None);
    assert_eq!(receiver.state(), EncryptionState::New);
}

#[test]
fn e2ee_missing_key() {
    let provider = Arc::new(KeyProvider::new(hkdf_options()));
    let sender = enabled(&provider, "alice");
    assert_eq!(sender.encrypt(FrameCodec::Audio, 1, 1, b"\xfcsecret"), None);
    assert_eq!(sender.state(), EncryptionState::MissingKey);
    provider.set_key("alice", b"alice key", 0);
    let sealed = sender.encrypt(FrameCodec::Audio, 1, 1, b"\xfcsecret").unwrap();
    assert_eq!(sender.state(), EncryptionState::Ok);
    // A receiver with no key for alice, and one asked for an index outside its ring.
    let other = Arc::new(KeyProvider::new(hkdf_options()));
    let receiver = enabled(&other, "alice");
    assert_eq!(receiver.decrypt(FrameCodec::Audio, &sealed), None);
    assert_eq!(receiver.state(), EncryptionState::MissingKey);
    sender.set_key_index(200);
    assert_eq!(sender.encrypt(FrameCodec::Audio, 1, 2, b"\xfcsecret"), None, "no key at 200");
    let mut forged = sealed.clone();
    *forged.last_mut().unwrap() = 200;
    let receiver = enabled(&provider, "alice");
    assert_eq!(receiver.decrypt(FrameCodec::Audio, &forged), None);
    assert_eq!(receiver.state(), EncryptionState::MissingKey);
}

#[test]
fn e2ee_per_participant_keys() {
    let provider = Arc::new(KeyProvider::new(hkdf_options()));
    provider.set_key("alice", b"alice key", 0);
    provider.set_key("bob", b"bob key", 0);
    let alice = enabled(&provider, "alice");
    let sealed = alice.encrypt(FrameCodec::Audio, 1, 1, b"\xfchi").unwrap();
    assert_eq!(enabled(&provider, "alice").decrypt(FrameCodec::Audio, &sealed).unwrap(), b"\xfchi");
    let as_bob = KeyProviderOptions { ratchet_window_size: 0, ..hkdf_options() };
    let bob_only = Arc::new(KeyProvider::new(as_bob));
    bob_only.set_key("alice", b"bob key", 0);
    assert_eq!(enabled(&bob_only, "alice").decrypt(FrameCodec::Audio, &sealed), None);
}

#[test]
fn e2ee_receiver_ratchets_to_official_sender() {
    // The reference sender ratcheted its PBKDF2 key twice; a receiver holding the passphrase
    // ratchets within its window, keeps the ratcheted key and reports KeyRatcheted.
    let provider = shared(KeyProviderOptions::default(), PASSPHRASE);
    let receiver = enabled(&provider, "alice");
    let states = recorded(&receiver);
    let sealed = unhex(RATCHETED2_SEALED);
    assert_eq!(receiver.decrypt(FrameCodec::Audio, &sealed).unwrap(), unhex(RATCHETED2_PLAIN));
    assert_eq!(*states.lock(), [EncryptionState::KeyRatcheted, EncryptionState::Ok]);
    let twice = key::ratchet(KeyDerivationFunction::Pbkdf2, PASSPHRASE, DEFAULT_RATCHET_SALT);
    let twice = key::ratchet(KeyDerivationFunction::Pbkdf2, &twice, DEFAULT_RATCHET_SALT);
    assert_eq!(provider.handler("alice").unwrap().key_set(0).unwrap().material(), twice.as_slice());
    assert_eq!(provider.export_shared_key(0).unwrap(), PASSPHRASE, "the shared ring is not moved");
    // Next frame opens directly.
    assert_eq!(receiver.decrypt(FrameCodec::Audio, &sealed).unwrap(), unhex(RATCHETED2_PLAIN));
}

#[test]
fn e2ee_ratchet_recovers_a_sender_that_ratcheted() {
    let sender_keys = shared(hkdf_options(), b"start");
    let receiver_keys = shared(hkdf_options(), b"start");
    let sender = enabled(&sender_keys, "alice");
    let receiver = enabled(&receiver_keys, "alice");
    let before = sender.encrypt(FrameCodec::Audio, 3, 0, b"\xfcone").unwrap();
    assert_eq!(receiver.decrypt(FrameCodec::Audio, &before).unwrap(), b"\xfcone");
    let new = sender_keys.ratchet_shared_key(0).unwrap();
    assert_eq!(sender_keys.export_shared_key(0).unwrap(), new);
    let after = sender.encrypt(FrameCodec::Audio, 3, 960, b"\xfctwo").unwrap();
    assert_eq!(receiver.decrypt(FrameCodec::Audio, &after).unwrap(), b"\xfctwo");
    assert_eq!(receiver_keys.handler("alice").unwrap().key_set(0).unwrap().material(), new.as_slice());
    // Beyond the window nothing opens.
    let small = KeyProviderOptions { ratchet_window_size: 2, ..hkdf_options() };
    let far_keys = shared(small.clone(), b"start");
    for _ in 0..3 {
        far_keys.ratchet_shared_key(0);
    }
    let far = enabled(&far_keys, "alice").encrypt(FrameCodec::Audio, 3, 0, b"\xfcfar").unwrap();
    assert_eq!(enabled(&shared(small, b"start"), "alice").decrypt(FrameCodec::Audio, &far), None);
}

#[test]
fn e2ee_key_ring_rotation() {
    let sender_keys = shared(hkdf_options(), b"key 0");
    let receiver_keys = shared(hkdf_options(), b"key 0");
    let sender = enabled(&sender_keys, "alice");
    let receiver = enabled(&receiver_keys, "alice");
    let old = sender.encrypt(FrameCodec::Vp8, 5, 0, &unhex(VP8_DELTA_PLAIN)).unwrap();
    sender_keys.set_shared_key(b"key 1", 1);
    receiver_keys.set_shared_key(b"key 1", 1);
    sender.set_key_index(1);
    let new = sender.encrypt(FrameCodec::Vp8, 5, 3000, &unhex(VP8_DELTA_PLAIN)).unwrap();
    assert_eq!((old.last(), new.last()), (Some(&0), Some(&1)), "key index in the trailer");
    // Frames in flight with the old index still open, as do the new ones.
    assert_eq!(receiver.decrypt(FrameCodec::Vp8, &new).unwrap(), unhex(VP8_DELTA_PLAIN));
    assert_eq!(receiver.decrypt(FrameCodec::Vp8, &old).unwrap(), unhex(VP8_DELTA_PLAIN));
    // A ring of 16 wraps: index 17 lands in slot 1.
    receiver_keys.set_shared_key(b"key 17", 17);
    assert_eq!(receiver_keys.export_shared_key(1).unwrap(), b"key 17");
}

#[test]
fn e2ee_server_injected_frames() {
    let provider = shared(hkdf_options(), b"k");
    provider.set_sif_trailer(b"LKSIF");
    let receiver = enabled(&provider, "alice");
    let mut silence = vec![0xf8, 0xff, 0xfe];
    silence.resize(80, 0);
    let mut injected = silence.clone();
    injected.extend_from_slice(b"LKSIF");
    assert_eq!(receiver.decrypt(FrameCodec::Audio, &injected).unwrap(), silence);
    let mut other = b"\xfcnot a blank frame".to_vec();
    other.extend_from_slice(b"LKSIF");
    assert_eq!(receiver.decrypt(FrameCodec::Audio, &other), None, "only known blank frames skip decryption");
}

#[test]
fn e2ee_malformed_frames_never_panic_or_leak() {
    let provider = shared(KeyProviderOptions { ratchet_window_size: 0, ..hkdf_options() }, b"k");
    let receiver = enabled(&provider, "alice");
    let codecs =
        [FrameCodec::Audio, FrameCodec::Vp8, FrameCodec::Vp9, FrameCodec::H264, FrameCodec::H265, FrameCodec::Av1];
    let mut inputs: Vec<Vec<u8>> = (0..40).map(|n| (0..n).map(|i| (i * 37 % 7) as u8).collect()).collect();
    inputs.extend((0..200).map(|n| (0..n).map(|_| rand::random::<u8>()).collect()));
    inputs.push(vec![0, 0, 1, 0x65]);
    inputs.push(vec![0, 0, 1, 0x65, 0, 12, 0]);
    for codec in codecs {
        for input in &inputs {
            if let Some(out) = receiver.decrypt(codec, input) {
                assert!(input.is_empty() && out.is_empty(), "{codec:?} {input:?}");
            }
        }
    }
    assert!(matches!(open_frame(&passphrase_key(), FrameCodec::Vp8, &[0x10, 1, 2]), Err(E2eeError::Malformed(_))));
}

#[test]
fn e2ee_frame_cryptor_is_a_frame_transform() {
    let provider = shared(hkdf_options(), b"k");
    let send = TrackMeta::new(Direction::Send, MediaKind::Video, "video/H264", None, "alice");
    let recv = TrackMeta::new(Direction::Receive, MediaKind::Video, "video/H264", None, "alice");
    send.set_transform(Some(Arc::new(enabled(&provider, "alice"))));
    recv.set_transform(Some(Arc::new(enabled(&provider, "alice"))));
    let plain = unhex(H264_PLAIN);
    let frame = EncodedFrame { data: plain.clone().into(), timestamp: 90_000 };
    let sealed = send.apply(frame, 1234).unwrap();
    assert_eq!(sealed.timestamp, 90_000);
    assert_eq!(sealed.data[..26], plain[..26]);
    let iv = SealedFrame::parse(FrameCodec::H264, &sealed.data).unwrap();
    assert_eq!(iv.iv()[..8], [0, 0, 0x04, 0xd2, 0, 0x01, 0x5f, 0x90], "SSRC and RTP timestamp from the track");
    let opened = recv.apply(sealed.clone(), 1234).unwrap();
    assert_eq!(opened.data.as_ref(), plain.as_slice());
    // Audio tracks keep one clear byte.
    let audio = TrackMeta::new(Direction::Send, MediaKind::Audio, "audio/opus", None, "alice");
    audio.set_transform(Some(Arc::new(enabled(&provider, "alice"))));
    let out = audio.apply(EncodedFrame { data: vec![0xfc, 1, 2, 3].into(), timestamp: 0 }, 1).unwrap();
    assert_eq!((out.data[0], out.data.len()), (0xfc, 4 + 16 + 12 + 2));
}

#[test]
fn e2ee_data_packet_matches_independent_implementation() {
    let payload = proto::EncryptedPacketPayload {
        value: Some(proto::encrypted_packet_payload::Value::User(proto::UserPacket {
            payload: b"hello".to_vec(),
            ..Default::default()
        })),
    };
    assert_eq!(prost::Message::encode_to_vec(&payload), unhex(DATA_PAYLOAD));
    let iv: [u8; 12] = unhex(DATA_IV).try_into().unwrap();
    assert_eq!(seal_data(&passphrase_key(), &iv, &unhex(DATA_PAYLOAD)).unwrap(), unhex(DATA_SEALED));
    let provider = shared(KeyProviderOptions::default(), PASSPHRASE);
    let packet = proto::EncryptedPacket {
        encryption_type: proto::encryption::Type::Gcm.into(),
        iv: unhex(DATA_IV),
        key_index: 0,
        encrypted_value: unhex(DATA_SEALED),
    };
    assert_eq!(DataCryptor::new(provider).decrypt("bob", &packet).unwrap(), payload);
}

#[test]
fn e2ee_data_packets_round_trip_and_fail_typed() {
    let provider = shared(KeyProviderOptions { ratchet_window_size: 1, ..hkdf_options() }, b"k");
    let cryptor = DataCryptor::new(provider.clone());
    let value = proto::data_packet::Value::RpcRequest(proto::RpcRequest {
        id: "r1".into(),
        method: "greet".into(),
        payload: "hi".into(),
        ..Default::default()
    });
    let payload = proto::EncryptedPacketPayload { value: encryptable_value(&value) };
    let packet = cryptor.encrypt("alice", 0, &payload, 1_700_000_000_123).unwrap();
    assert_eq!(packet.encryption_type, proto::encryption::Type::Gcm as i32);
    assert_eq!(packet.iv.len(), 12);
    assert_eq!(packet.iv[4..8], (1_700_000_000_123u64 as u32).to_be_bytes());
    let opened = cryptor.decrypt("alice", &packet).unwrap();
    assert_eq!(opened.value.map(packet_value), Some(value));
    // Ratcheted sender.
    let next = provider.ratchet_shared_key(0).unwrap();
    let ratcheted = shared(KeyProviderOptions { ratchet_window_size: 1, ..hkdf_options() }, &next);
    let later = DataCryptor::new(ratcheted).encrypt("alice", 0, &payload, 5).unwrap();
    let receiver = DataCryptor::new(shared(KeyProviderOptions { ratchet_window_size: 1, ..hkdf_options() }, b"k"));
    assert!(receiver.decrypt("alice", &later).is_ok());
    // Errors.
    let wrong = DataCryptor::new(shared(KeyProviderOptions { ratchet_window_size: 1, ..hkdf_options() }, b"x"));
    assert_eq!(wrong.decrypt("alice", &packet), Err(E2eeError::InvalidKey));
    let none = DataCryptor::new(Arc::new(KeyProvider::new(hkdf_options())));
    assert!(matches!(none.decrypt("alice", &packet), Err(E2eeError::MissingKey { .. })));
    assert!(matches!(none.encrypt("alice", 0, &payload, 0), Err(E2eeError::MissingKey { .. })));
    let bad_iv = proto::EncryptedPacket { iv: vec![1, 2, 3], ..packet.clone() };
    assert!(matches!(cryptor.decrypt("alice", &bad_iv), Err(E2eeError::Malformed(_))));
    let short = proto::EncryptedPacket { encrypted_value: vec![0; 15], ..packet.clone() };
    assert!(matches!(cryptor.decrypt("alice", &short), Err(E2eeError::Malformed(_))));
    let other = proto::EncryptedPacket { key_index: 3, ..packet };
    assert!(matches!(cryptor.decrypt("alice", &other), Err(E2eeError::MissingKey { key_index: 3, .. })));
    // Values that travel in clear.
    assert!(encryptable_value(&proto::data_packet::Value::SipDtmf(Default::default())).is_none());
    assert!(encryptable_value(&proto::data_packet::Value::Transcription(Default::default())).is_none());
}

/// The CPU cost of encrypting and decrypting one audio track: 50 frames a second of a
/// 100-byte Opus frame (32 kbps), sealed by one cryptor and opened by another.
/// `cargo test -p lkrtc-engine --lib e2ee_cost_per_audio_track -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check"]
fn e2ee_cost_per_audio_track() {
    let provider = shared(KeyProviderOptions::default(), b"bench key");
    let sender = enabled(&provider, "alice");
    let receiver = enabled(&shared(KeyProviderOptions::default(), b"bench key"), "alice");
    let frame: Vec<u8> = (0..100u8).collect();
    let n = 50_000u32;
    let start = std::time::Instant::now();
    let sealed: Vec<Vec<u8>> = (0..n).map(|i| sender.encrypt(FrameCodec::Audio, 1, i * 960, &frame).unwrap()).collect();
    let sealing = start.elapsed();
    let start = std::time::Instant::now();
    for s in &sealed {
        assert_eq!(receiver.decrypt(FrameCodec::Audio, s).unwrap(), frame);
    }
    let opening = start.elapsed();
    let per_frame = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(n);
    println!(
        "seal {:.2} µs/frame, open {:.2} µs/frame: {:.3} ms CPU per second of a 50-frame/s track (send + receive)",
        per_frame(sealing),
        per_frame(opening),
        (per_frame(sealing) + per_frame(opening)) * 50.0 / 1000.0
    );
}
