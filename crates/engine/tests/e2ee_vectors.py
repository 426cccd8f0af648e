#!/usr/bin/env python3
"""Independent implementation of the official LiveKit E2EE wire format, used to make the
known-answer vectors of crates/engine/src/e2ee/tests.rs.

Written from the algorithm as livekit's libwebrtc fork (api/crypto/frame_crypto_transformer.cc)
and the browser SDK (src/e2ee/worker/FrameCryptor.ts, src/e2ee/utils.ts) describe it, with
Python's hashlib and the `cryptography` package (pip install cryptography), sharing no code
with the Rust side.

    python3 crates/engine/tests/e2ee_vectors.py            # print the vectors (Rust constants)
    python3 crates/engine/tests/e2ee_vectors.py open CODEC HEX [PASSPHRASE]
                                                            # decrypt a frame lkrtc made
"""

import hashlib
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SALT = b"LKFrameEncryptionKey"
PASSPHRASE = b"lkrtc-e2ee-passphrase"


def kdf(name, material, length_bytes):
    if name == "pbkdf2":
        return hashlib.pbkdf2_hmac("sha256", material, SALT, 100000, length_bytes)
    return HKDF(algorithm=hashes.SHA256(), length=length_bytes, salt=SALT, info=bytes(128)).derive(material)


def encryption_key(name, material):
    return kdf(name, material, 16)


def ratchet(name, material):
    return kdf(name, material, 32)


def iv_of(ssrc, timestamp, send_count):
    return struct.pack(">III", ssrc, timestamp, (timestamp - send_count % 0xFFFF) & 0xFFFFFFFF)


def first_slice_header_len(data, slice_types, nal_type):
    # NAL payloads start after each 00 00 01 (none in the last three bytes).
    for i in range(0, max(len(data) - 3, 0)):
        if data[i] == 0 and data[i + 1] == 0 and data[i + 2] == 1:
            start = i + 3
            if nal_type(data[start]) in slice_types:
                return start + 2
    return 0


def header_len(codec, data):
    if codec == "opus":
        return 1
    if codec == "vp8":
        return 10 if data[0] & 1 == 0 else 3
    if codec == "h264":
        return first_slice_header_len(data, {1, 5}, lambda b: b & 0x1F)
    if codec == "h265":
        return first_slice_header_len(data, set(range(0, 10)) | set(range(16, 22)), lambda b: (b >> 1) & 0x3F)
    return 0  # vp9


def escape(data):
    out = bytearray()
    zeros = 0
    for b in data:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def unescape(data):
    if not any(data[i : i + 3] == b"\x00\x00\x03" for i in range(0, max(len(data) - 3, 0))):
        return data
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i : i + 3] == b"\x00\x00\x03":
            out += b"\x00\x00"
            i += 3
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def seal(codec, key, frame, iv, key_index):
    n = header_len(codec, frame)
    header, rest = frame[:n], frame[n:]
    body = AESGCM(key).encrypt(iv, rest, header) + iv + bytes([len(iv), key_index])
    return header + (escape(body) if codec in ("h264", "h265") else body)


def open_frame(codec, key, data):
    n = header_len(codec, data)
    header, body = data[:n], data[n:]
    if codec in ("h264", "h265"):
        body = unescape(body)
    iv_len, key_index = body[-2], body[-1]
    iv = body[-2 - iv_len : -2]
    return header + AESGCM(key).decrypt(iv, body[: -2 - iv_len], header), key_index


def frames():
    h264 = (
        b"\x00\x00\x00\x01\x67\x42\xc0\x1f\xda\x01\x40\x16\xe8"  # SPS
        + b"\x00\x00\x00\x01\x68\xce\x3c\x80"  # PPS
        + b"\x00\x00\x01\x65\x88\x84" + bytes(range(0x20, 0x60))  # IDR slice
    )
    h265 = b"\x00\x00\x00\x01\x40\x01\x0c\x01" + b"\x00\x00\x01\x26\x01\xaf" + bytes(range(0x30, 0x70))
    return [
        # name, codec, frame, ssrc, timestamp, send_count, key_index
        ("OPUS", "opus", b"\xfc" + bytes(range(1, 41)), 0x11223344, 48000, 7, 0),
        ("VP8_KEY", "vp8", b"\x10\x02\x00\x9d\x01\x2a\x80\x02\xe0\x01" + bytes(range(0x40, 0x80)), 0x0A0B0C0D, 90000, 1, 1),
        ("VP8_DELTA", "vp8", b"\x31\x05\x00" + bytes(range(0x10, 0x40)), 0x0A0B0C0D, 93000, 2, 1),
        ("VP9", "vp9", bytes(range(0x80, 0xC0)), 0x01020304, 3000, 0, 2),
        # SSRC 1: the IV starts 00 00 00 01, which must be escaped.
        ("H264", "h264", h264, 1, 180000, 5, 3),
        ("H265", "h265", h265, 1, 270000, 9, 0),
    ]


def rust_bytes(name, data):
    return "const %s: &str = \"%s\";" % (name, data.hex())


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "open":
        material = sys.argv[4].encode() if len(sys.argv) > 4 else PASSPHRASE
        plain, key_index = open_frame(sys.argv[2], encryption_key("pbkdf2", material), bytes.fromhex(sys.argv[3]))
        print("key index", key_index, "plaintext", plain.hex())
        return

    print("// derivation of %r with salt %r" % (PASSPHRASE, SALT))
    for name in ("pbkdf2", "hkdf"):
        print(rust_bytes(name.upper() + "_KEY", encryption_key(name, PASSPHRASE)))
        print(rust_bytes(name.upper() + "_RATCHET", ratchet(name, PASSPHRASE)))

    key = encryption_key("pbkdf2", PASSPHRASE)
    print("// frames sealed with the PBKDF2 key of the passphrase")
    for name, codec, frame, ssrc, ts, count, key_index in frames():
        iv = iv_of(ssrc, ts, count)
        sealed = seal(codec, key, frame, iv, key_index)
        assert open_frame(codec, key, sealed) == (frame, key_index)
        print(rust_bytes(name + "_PLAIN", frame))
        print(rust_bytes(name + "_SEALED", sealed))

    # A sender that ratcheted twice: the receiver holding the passphrase must ratchet to open it.
    twice = ratchet("pbkdf2", ratchet("pbkdf2", PASSPHRASE))
    frame = b"\xfc" + b"ratcheted audio frame"
    sealed = seal("opus", encryption_key("pbkdf2", twice), frame, iv_of(5, 960, 1), 0)
    print(rust_bytes("RATCHETED2_PLAIN", frame))
    print(rust_bytes("RATCHETED2_SEALED", sealed))

    # Data packet: EncryptedPacketPayload { user: UserPacket { payload: "hello" } }, no AAD.
    payload = bytes([0x0A, 0x07, 0x12, 0x05]) + b"hello"
    iv = bytes.fromhex("0102030400000fa000000f99")
    print(rust_bytes("DATA_PAYLOAD", payload))
    print(rust_bytes("DATA_IV", iv))
    print(rust_bytes("DATA_SEALED", AESGCM(key).encrypt(iv, payload, None)))


if __name__ == "__main__":
    main()
