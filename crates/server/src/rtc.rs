//! The server's transport policy over `lkrtc-transport`: peer connections bound to the
//! server's address (ICE-lite, loopback candidates, short relay wait), and the SDP facts
//! only the server reads.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use lkrtc_transport::PcOptions;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::sdp::extmap::AUDIO_LEVEL_URI;
use tokio::sync::mpsc;
use webrtc::peer_connection::PeerConnection;

pub use lkrtc_transport::{PcEvent, Target};

/// Media kind as the `webrtc` crate names it.
pub type Kind = RtpCodecKind;

/// Media kind of a LiveKit track type.
pub fn codec_kind(t: proto::TrackType) -> RtpCodecKind {
    match t {
        proto::TrackType::Video => RtpCodecKind::Video,
        _ => RtpCodecKind::Audio,
    }
}

/// Builds peer connections that gather only on the server's address.
#[derive(Clone)]
pub struct PcFactory {
    ip: IpAddr,
    ice: crate::IceConfig,
}

impl PcFactory {
    /// Peer connections will bind UDP on `ip` (loopback by default: the `webrtc` crate
    /// skips loopback when bound to 0.0.0.0, so the address is always explicit).
    pub fn new(ip: IpAddr, ice: crate::IceConfig) -> Self {
        let ip = if ip.is_unspecified() { IpAddr::from([127, 0, 0, 1]) } else { ip };
        Self { ip, ice }
    }

    /// A new peer connection whose events go to `tx`, tagged with `target`.
    pub async fn create(
        &self,
        target: Target,
        tx: mpsc::UnboundedSender<PcEvent>,
    ) -> webrtc::error::Result<Arc<dyn PeerConnection>> {
        let options = PcOptions {
            // Publishers tag packets with their audio level: that is how speakers are found.
            audio_level: target == Target::Publisher,
            include_loopback: self.ip.is_loopback(),
            // A relayed client (TURN) would wait 2 s by default; 100 ms still lets a
            // direct pair checked in parallel win.
            relay_acceptance_min_wait: Some(Duration::from_millis(100)),
            // ICE-lite, as livekit-server runs by default: answer checks, never start them.
            lite: self.ice.lite,
            udp: self.ice.udp,
            tcp: self.ice.tcp,
            ..PcOptions::new(target, self.ip)
        };
        lkrtc_transport::build(options, tx).await
    }
}

/// Turns every transceiver that would send into an inactive one (publisher PCs); with
/// `keep_tracks`, only those with nothing to send (the v1 PC, which also sends the
/// participant's subscriptions).
pub async fn no_sending(pc: &dyn PeerConnection, keep_tracks: bool) {
    use webrtc::rtp_transceiver::RTCRtpTransceiverDirection as Dir;
    for t in pc.get_transceivers().await {
        if keep_tracks && matches!(t.sender().await, Ok(Some(_))) {
            continue;
        }
        if matches!(t.direction().await, Ok(Dir::Sendonly) | Ok(Dir::Sendrecv)) {
            let to = if t.direction().await.ok() == Some(Dir::Sendrecv) { Dir::Recvonly } else { Dir::Inactive };
            let _ = t.set_direction(to).await;
        }
    }
}

/// The id negotiated for the audio-level header extension in an SDP, if any.
pub fn audio_level_id(sdp: &str) -> Option<u8> {
    sdp.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("a=extmap:")?;
        let (id, uri) = rest.split_once(' ')?;
        (uri.trim() == AUDIO_LEVEL_URI).then(|| id.split('/').next()?.parse().ok()).flatten()
    })
}

/// The msid track ids of the m-sections that send media to us (sendonly/sendrecv).
pub fn sending_track_ids(sdp: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for section in sdp.split("\nm=").skip(1) {
        let sending = section.lines().any(|l| matches!(l.trim(), "a=sendonly" | "a=sendrecv"));
        let port_zero = section.split_whitespace().nth(1) == Some("0");
        if !sending || port_zero {
            continue;
        }
        for line in section.lines() {
            if let Some(rest) = line.trim().strip_prefix("a=msid:") {
                if let Some(track) = rest.split_whitespace().nth(1) {
                    ids.push(track.to_string());
                }
            }
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sending_tracks() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=msid:- TRACK_A\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=inactive\r\n\
                   m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\na=sendonly\r\na=msid:- TRACK_C\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:3\r\n";
        assert_eq!(sending_track_ids(sdp), vec!["TRACK_A".to_string()]);
    }

    #[test]
    fn finds_audio_level_extension() {
        let sdp = "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=extmap:3/sendonly urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n";
        assert_eq!(audio_level_id(sdp), Some(3));
        assert_eq!(audio_level_id("a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid"), None);
    }
}
