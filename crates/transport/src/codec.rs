//! Codec and encoding parameters as LiveKit negotiates them.

use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters};

/// Opus as LiveKit negotiates it (PT 111, in-band FEC). SDP always says opus/48000/2;
/// stereo is signalled in fmtp and the bitstream.
pub fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "audio/opus".to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Encoding parameters for `codec` with a fixed SSRC.
pub fn encoding(codec: RTCRtpCodec, ssrc: u32) -> RTCRtpEncodingParameters {
    RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
        codec,
        ..Default::default()
    }
}
