//! WebRTC plumbing: building peer connections bound to one address, turning their
//! callbacks into events for the session task, and LiveKit's trickle JSON.

use std::net::IpAddr;
use std::sync::Arc;

use livekit_protocol as proto;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sdp::extmap::AUDIO_LEVEL_URI;
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCPeerConnectionState, Registry,
    SettingEngineBuilder,
};

/// Which of the client's two peer connections something belongs to.
pub type Target = proto::SignalTarget;

/// Something a peer connection reported, tagged with the PC it came from.
pub enum PcEvent {
    /// A local ICE candidate to trickle to the client.
    Candidate(Target, RTCIceCandidateInit),
    /// Connection state changed.
    State(Target, RTCPeerConnectionState),
    /// The client opened a data channel (publisher PC).
    DataChannel(Arc<dyn DataChannel>),
    /// Media arrived from the client (publisher PC).
    Track(Arc<dyn TrackRemote>),
    /// Internal: (re)offer the subscriber PC.
    Negotiate,
}

/// Media kind as the `webrtc` crate names it.
pub type Kind = RtpCodecKind;

/// The Opus codec as negotiated with LiveKit clients (PT 111, in-band FEC).
pub fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "audio/opus".to_owned(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Encoding parameters for a forwarded track with a fresh SSRC.
pub fn encoding(codec: RTCRtpCodec, ssrc: u32) -> RTCRtpEncodingParameters {
    RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
        codec,
        ..Default::default()
    }
}

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

struct Handler {
    target: Target,
    tx: mpsc::UnboundedSender<PcEvent>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.tx.send(PcEvent::Candidate(self.target, init));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.tx.send(PcEvent::State(self.target, state));
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let _ = self.tx.send(PcEvent::DataChannel(dc));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tx.send(PcEvent::Track(track));
    }
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
        let mut media = MediaEngine::default();
        media.register_default_codecs()?;
        if target == Target::Publisher {
            // Publishers tag packets with their audio level: that is how speakers are found.
            let level = RTCRtpHeaderExtensionCapability { uri: AUDIO_LEVEL_URI.to_owned() };
            media.register_header_extension(level, RtpCodecKind::Audio, None)?;
        }
        let registry = register_default_interceptors(Registry::new(), &mut media)?;
        // No mDNS: it needs multicast sockets (absent in test namespaces) and hides the address.
        let settings = SettingEngineBuilder::new()
            .with_include_loopback_candidate(self.ip.is_loopback())
            .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
            // 20 ms between checks instead of 200 (same ~1.4 s budget per pair): joins are
            // not held up by the check timer.
            .with_ice_connection_attempts(Some(std::time::Duration::from_millis(20)), Some(70))
            // Clients behind NATs (and any client whose check beats its trickled candidate)
            // appear as peer-reflexive; nominate such a proven pair at once instead of
            // after the stack's default 1 s.
            .with_prflx_acceptance_min_wait(Some(std::time::Duration::ZERO))
            // A relayed client (TURN) would wait 2 s by default; 100 ms still lets a direct
            // pair checked in parallel win.
            .with_relay_acceptance_min_wait(Some(std::time::Duration::from_millis(100)))
            // ICE-lite, as livekit-server runs by default: answer checks, never start them.
            .with_lite(self.ice.lite)
            .build();
        let addr = vec![format!("{}:0", self.ip)];
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Handler { target, tx }))
            .with_udp_addrs(if self.ice.udp { addr.clone() } else { vec![] })
            .with_tcp_addrs(if self.ice.tcp { addr } else { vec![] })
            .build()
            .await?;
        Ok(Arc::new(pc))
    }
}

/// The candidate as LiveKit clients parse it: `sdpMid` and `sdpMLineIndex` always set
/// (the Rust client unwraps both), pointing at the first bundled m-line.
pub fn candidate_json(init: &RTCIceCandidateInit, first_mid: &str) -> String {
    serde_json::json!({
        "candidate": init.candidate,
        "sdpMid": first_mid,
        "sdpMLineIndex": 0,
    })
    .to_string()
}

/// Parses a client's `candidateInit` JSON.
pub fn parse_candidate(json: &str) -> Result<RTCIceCandidateInit, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("candidate is not JSON: {e}"))?;
    let candidate = v.get("candidate").and_then(|c| c.as_str()).ok_or("candidate has no `candidate` string")?;
    Ok(RTCIceCandidateInit {
        candidate: candidate.to_string(),
        sdp_mid: v.get("sdpMid").and_then(|m| m.as_str()).map(str::to_string),
        sdp_mline_index: v.get("sdpMLineIndex").and_then(|m| m.as_u64()).map(|m| m as u16),
        username_fragment: v.get("usernameFragment").and_then(|u| u.as_str()).map(str::to_string),
        ..Default::default()
    })
}

/// The first `a=mid:` of an SDP (the bundle tag candidates are attached to).
pub fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines().find_map(|l| l.trim().strip_prefix("a=mid:")).map(str::to_string)
}

/// Turns every transceiver that would send into an inactive one (publisher PCs).
pub async fn no_sending(pc: &dyn PeerConnection) {
    use webrtc::rtp_transceiver::RTCRtpTransceiverDirection as Dir;
    for t in pc.get_transceivers().await {
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
    fn candidate_round_trip() {
        let init = RTCIceCandidateInit {
            candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
            ..Default::default()
        };
        let json = candidate_json(&init, "0");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["sdpMid"], "0");
        assert_eq!(v["sdpMLineIndex"], 0);
        let back = parse_candidate(&json).unwrap();
        assert_eq!(back.candidate, init.candidate);
        assert!(parse_candidate("{}").is_err());
        assert!(parse_candidate("nope").is_err());
    }

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

    #[test]
    fn finds_first_mid() {
        assert_eq!(first_mid("v=0\r\nm=audio 9\r\na=mid:0\r\na=mid:1\r\n").as_deref(), Some("0"));
        assert_eq!(first_mid("v=0\r\n"), None);
    }
}
