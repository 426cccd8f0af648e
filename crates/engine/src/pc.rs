//! The client's policy over `lkrtc-transport` for its two peer connections (publisher,
//! subscriber): the ICE plan (servers, policy, relay wait), the TURN-over-TCP/TLS
//! tunnel runtime and which local candidates may be signalled. Also the names the room
//! task uses for LiveKit's candidate JSON, first mid and codecs.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use lkrtc_transport::{CandidateFilter, PcOptions, RtcpFeedback};
use tokio::sync::mpsc;
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCIceTransportPolicy};

use crate::error::{ConnectError, EngineError, Result};
use crate::ice::{self, IcePlan};
use crate::turn_tunnel::TunnelRuntime;
use crate::types::IceTransportPolicy;

pub(crate) use lkrtc_transport::candidate::to_json as candidate_to_json;
pub(crate) use lkrtc_transport::codec::encoding;
pub(crate) use lkrtc_transport::{PcEvent, Target};

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
    let policy = ice.policy;
    let candidate_filter: Option<CandidateFilter> =
        (policy != IceTransportPolicy::All).then(|| Arc::new(move |c: &str| ice::may_signal(policy, c)) as _);
    let runtime: Option<Arc<dyn webrtc::runtime::Runtime>> =
        if ice.stream_turn.is_empty() { None } else { Some(Arc::new(tunnel_runtime(ice)?)) };
    let options = PcOptions {
        ice_servers: ice.servers.clone(),
        ice_policy: match policy {
            IceTransportPolicy::Relay => RTCIceTransportPolicy::Relay,
            IceTransportPolicy::All | IceTransportPolicy::NoHost => RTCIceTransportPolicy::All,
        },
        // The stack waits 2 s for a better pair before nominating a relayed one; with
        // relay-only ICE there is none to wait for.
        relay_acceptance_min_wait: (policy == IceTransportPolicy::Relay).then_some(Duration::ZERO),
        runtime,
        // Our packets carry their loudness, which servers use to find active speakers.
        audio_level: target == Target::Publisher,
        candidate_filter,
        // The encoders act on keyframe requests and estimates about what we publish; the
        // stack keeps answering NACKs.
        rtcp_feedback: if target == Target::Publisher { RtcpFeedback::Publisher } else { RtcpFeedback::Stack },
        ..PcOptions::new(target, ip)
    };
    lkrtc_transport::build(options, tx).await.map_err(EngineError::rtc)
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

/// Opus as LiveKit negotiates it (PT 111, in-band FEC); `channels` is what we send
/// (SDP always says opus/48000/2; stereo is signalled in fmtp and the bitstream).
pub(crate) fn opus_codec(_channels: u32) -> rtc::rtp_transceiver::rtp_sender::RTCRtpCodec {
    lkrtc_transport::codec::opus()
}

/// Parses a server `candidateInit`; `None` for the end-of-candidates marker and for
/// malformed input (logged).
pub(crate) fn candidate_from_json(json: &str) -> Option<RTCIceCandidateInit> {
    lkrtc_transport::candidate::from_json(json)
        .inspect_err(|e| tracing::debug!(error = %e, "server candidate ignored"))
        .ok()
        .flatten()
}
