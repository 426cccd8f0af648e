//! The client's two peer connections (publisher, subscriber) and LiveKit's candidate
//! JSON.

use std::net::IpAddr;
use std::sync::Arc;

use livekit_protocol as proto;
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceGatheringState, RTCIceTransportPolicy,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, Registry, SettingEngineBuilder,
};

use crate::error::{ConnectError, EngineError, Result};
use crate::ice::{self, IcePlan};
use crate::turn_tunnel::TunnelRuntime;
use crate::types::IceTransportPolicy;

/// Which peer connection (same numbering as the protocol's `SignalTarget`).
pub(crate) type Target = proto::SignalTarget;

/// A peer-connection callback, forwarded to the room task.
pub(crate) enum PcEvent {
    /// A local candidate the policy allows to be signalled.
    Candidate(Target, RTCIceCandidateInit),
    /// Candidate gathering finished; `relay` counts the relay candidates gathered.
    Gathered {
        target: Target,
        relay: u32,
    },
    State(Target, RTCPeerConnectionState),
    DataChannel(Arc<dyn DataChannel>),
    Track(Arc<dyn TrackRemote>),
}

struct Handler {
    target: Target,
    policy: IceTransportPolicy,
    relay: std::sync::atomic::AtomicU32,
    tx: mpsc::UnboundedSender<PcEvent>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Ok(init) = event.candidate.to_json() else { return };
        if ice::candidate_type(&init.candidate) == Some("relay") {
            self.relay.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if ice::may_signal(self.policy, &init.candidate) {
            let _ = self.tx.send(PcEvent::Candidate(self.target, init));
        }
    }
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let relay = self.relay.load(std::sync::atomic::Ordering::Relaxed);
            let _ = self.tx.send(PcEvent::Gathered { target: self.target, relay });
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

/// A peer connection bound to `ip` (an unspecified address means every interface;
/// loopback must be named explicitly because the `webrtc` crate skips it otherwise), with
/// UDP and TCP (ICE-TCP, for networks that block UDP) host sockets and the ICE servers
/// and policy of `ice`.
pub(crate) async fn create(
    ip: IpAddr,
    target: Target,
    ice: &IcePlan,
    tx: mpsc::UnboundedSender<PcEvent>,
) -> Result<Arc<dyn PeerConnection>> {
    let mut media = MediaEngine::default();
    media.register_default_codecs().map_err(EngineError::rtc)?;
    if target == Target::Publisher {
        // Our packets carry their loudness, which servers use to find active speakers.
        let level = rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionCapability {
            uri: rtc::sdp::extmap::AUDIO_LEVEL_URI.to_owned(),
        };
        media
            .register_header_extension(level, rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Audio, None)
            .map_err(EngineError::rtc)?;
    }
    let registry = register_default_interceptors(Registry::new(), &mut media).map_err(EngineError::rtc)?;
    // Checks every 20 ms instead of 200: the default interval dominates connect time on
    // fast networks (the count keeps the same ~1.4 s budget per candidate pair).
    let mut settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_ice_connection_attempts(Some(std::time::Duration::from_millis(20)), Some(70))
        // A check that arrives before the trickled candidate it comes from makes a
        // peer-reflexive pair; the stack would wait 1 s before nominating one. Behind a
        // NAT that pair is the real path, and on any network it is a proven one.
        .with_prflx_acceptance_min_wait(Some(std::time::Duration::ZERO));
    if ice.policy == IceTransportPolicy::Relay {
        // The stack waits 2 s for a better pair before nominating a relayed one; with
        // relay-only ICE there is none to wait for.
        settings = settings.with_relay_acceptance_min_wait(Some(std::time::Duration::ZERO));
    }
    let settings = settings.build();
    let policy = match ice.policy {
        IceTransportPolicy::Relay => RTCIceTransportPolicy::Relay,
        IceTransportPolicy::All | IceTransportPolicy::NoHost => RTCIceTransportPolicy::All,
    };
    let config = RTCConfigurationBuilder::new().with_ice_servers(ice.servers.clone()).with_ice_transport_policy(policy);
    let handler = Handler { target, policy: ice.policy, relay: Default::default(), tx };
    let mut builder = PeerConnectionBuilder::new()
        .with_configuration(config.build())
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec![format!("{ip}:0")])
        .with_tcp_addrs(vec![format!("{ip}:0")]);
    if !ice.stream_turn.is_empty() {
        builder = builder.with_runtime(Arc::new(tunnel_runtime(ice)?));
    }
    let pc = builder.build().await.map_err(EngineError::rtc)?;
    Ok(Arc::new(pc))
}

/// The runtime that carries TURN over TCP/TLS for the plan's stream servers.
fn tunnel_runtime(ice: &IcePlan) -> Result<TunnelRuntime> {
    let tls = if ice.stream_turn.iter().any(|s| s.tls) {
        Some(crate::tls::trust().map_err(ConnectError::IceConfig)?.config)
    } else {
        None
    };
    TunnelRuntime::new(ice.stream_turn.clone(), tls)
        .ok_or_else(|| EngineError::rtc("no async runtime available for TURN over TCP/TLS"))
}

/// Opus as LiveKit negotiates it (PT 111, in-band FEC); `channels` is what we send.
pub(crate) fn opus_codec(_channels: u32) -> rtc::rtp_transceiver::rtp_sender::RTCRtpCodec {
    // SDP always says opus/48000/2; stereo is signalled in fmtp and the bitstream.
    rtc::rtp_transceiver::rtp_sender::RTCRtpCodec {
        mime_type: "audio/opus".into(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
        rtcp_feedback: vec![],
    }
}

/// Encoding parameters with a fixed SSRC.
pub(crate) fn encoding(
    codec: rtc::rtp_transceiver::rtp_sender::RTCRtpCodec,
    ssrc: u32,
) -> rtc::rtp_transceiver::rtp_sender::RTCRtpEncodingParameters {
    rtc::rtp_transceiver::rtp_sender::RTCRtpEncodingParameters {
        rtp_coding_parameters: rtc::rtp_transceiver::rtp_sender::RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec,
        ..Default::default()
    }
}

/// Serialises a local candidate the way LiveKit servers and clients expect (real
/// `sdpMid` and `sdpMLineIndex`).
pub(crate) fn candidate_to_json(init: &RTCIceCandidateInit, mid: &str) -> String {
    serde_json::json!({ "candidate": init.candidate, "sdpMid": mid, "sdpMLineIndex": 0 }).to_string()
}

/// Parses a server `candidateInit`.
pub(crate) fn candidate_from_json(json: &str) -> Option<RTCIceCandidateInit> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let candidate = v.get("candidate")?.as_str()?.to_string();
    if candidate.is_empty() {
        return None;
    }
    Some(RTCIceCandidateInit {
        candidate,
        sdp_mid: v.get("sdpMid").and_then(|m| m.as_str()).map(str::to_string),
        sdp_mline_index: v.get("sdpMLineIndex").and_then(|m| m.as_u64()).map(|m| m as u16),
        username_fragment: v.get("usernameFragment").and_then(|u| u.as_str()).map(str::to_string),
        ..Default::default()
    })
}

/// First `a=mid:` value of an SDP.
pub(crate) fn first_mid(sdp: &str) -> String {
    sdp.lines().find_map(|l| l.trim().strip_prefix("a=mid:")).unwrap_or("0").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_json_round_trip() {
        let init =
            RTCIceCandidateInit { candidate: "candidate:1 1 udp 5 127.0.0.1 9 typ host".into(), ..Default::default() };
        let back = candidate_from_json(&candidate_to_json(&init, "0")).unwrap();
        assert_eq!(back.candidate, init.candidate);
        assert_eq!(back.sdp_mid.as_deref(), Some("0"));
        assert!(candidate_from_json(r#"{"candidate":""}"#).is_none());
        assert!(candidate_from_json("garbage").is_none());
    }
}
