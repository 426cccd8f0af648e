//! Building a peer connection bound to one address.
//!
//! The mechanism is shared; what differs between the client and the server is passed
//! in [`PcOptions`]. Always set: mDNS off (it needs multicast sockets, absent in test
//! namespaces, and hides the address), 20 ms between connectivity checks, peer-reflexive
//! pairs nominated at once, the default codecs and interceptors.

use std::net::IpAddr;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Duration;

use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpHeaderExtensionCapability, RtpCodecKind};
use tokio::sync::mpsc;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder,
    RTCIceServer, RTCIceTransportPolicy, Registry, SettingEngineBuilder,
};
use webrtc::runtime::Runtime;

use rtc::interceptor::{NackGeneratorBuilder, Slot};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};

use crate::events::{CandidateFilter, Handler, PcEvent, Target};
use crate::feedback::FeedbackInterceptor;

/// How one peer connection is built. [`PcOptions::new`] gives the defaults; each side
/// sets its policy on top.
#[derive(Clone)]
pub struct PcOptions {
    /// Which peer connection (tags its events).
    pub target: Target,
    /// Address the host sockets bind (unspecified: every interface; the stack skips
    /// loopback then, so loopback must be named).
    pub ip: IpAddr,
    /// STUN/TURN servers (none by default).
    pub ice_servers: Vec<RTCIceServer>,
    /// Candidate policy (`Unspecified`, the stack's default, by default).
    pub ice_policy: RTCIceTransportPolicy,
    /// ICE-lite: answer checks, never start them (default off).
    pub lite: bool,
    /// Gather UDP host candidates (default on).
    pub udp: bool,
    /// Gather TCP host candidates, ICE-TCP (default on).
    pub tcp: bool,
    /// Gather loopback candidates (default off).
    pub include_loopback: bool,
    /// How long a relayed pair waits for a better one before it is nominated (`None`:
    /// the stack's 2 s).
    pub relay_acceptance_min_wait: Option<Duration>,
    /// A `webrtc` runtime of the caller's (the client's TURN-over-TCP/TLS tunnel);
    /// `None`: tokio.
    pub runtime: Option<Arc<dyn Runtime>>,
    /// Register the audio-level header extension (default off): packets carry their
    /// loudness, which is how servers find active speakers.
    pub audio_level: bool,
    /// Which gathered local candidates are reported (`None`: all).
    pub candidate_filter: Option<CandidateFilter>,
    /// Which receiver feedback about sent tracks reaches the application (default
    /// [`RtcpFeedback::Stack`]: none).
    pub rtcp_feedback: RtcpFeedback,
}

/// Who acts on the receiver feedback (PLI, FIR, NACK, REMB) about what a peer connection
/// sends. Delivered feedback arrives as `TrackLocalEvent::OnRtcpPacket` on the sent track it
/// is about (see [`FeedbackInterceptor`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RtcpFeedback {
    /// The stack answers NACKs and keeps everything else.
    #[default]
    Stack,
    /// A publisher: the stack answers NACKs (it keeps what it sent); keyframe requests
    /// (PLI, FIR) and bandwidth estimates (REMB) go to the application, whose encoder acts
    /// on them.
    Publisher,
    /// A forwarding server: PLI, FIR, NACK and REMB all go to the application, which
    /// answers NACKs itself; the stack's NACK responder is not registered.
    Relay,
}

impl PcOptions {
    /// Defaults for the peer connection `target` bound to `ip`.
    pub fn new(target: Target, ip: IpAddr) -> Self {
        Self {
            target,
            ip,
            ice_servers: Vec::new(),
            ice_policy: RTCIceTransportPolicy::Unspecified,
            lite: false,
            udp: true,
            tcp: true,
            include_loopback: false,
            relay_acceptance_min_wait: None,
            runtime: None,
            audio_level: false,
            candidate_filter: None,
            rtcp_feedback: RtcpFeedback::Stack,
        }
    }
}

/// Where [`FeedbackInterceptor`] sits: application-most, after every interceptor that reads
/// RTCP (the terminus the stack appends still comes after it).
const FEEDBACK_SLOT: usize = 14_000;

/// The default interceptors with the NACK responder left out (the application answers NACKs)
/// and [`FeedbackInterceptor`] added.
fn feedback_interceptors(media: &mut MediaEngine) -> webrtc::error::Result<Registry> {
    // What `register_default_interceptors` registers, minus the responder: the NACK feedback
    // (negotiated, generated for what this side receives), simulcast header extensions,
    // transport-wide feedback for what it receives, sender and receiver reports.
    for parameter in ["", "pli"] {
        let nack = RTCPFeedback { typ: "nack".to_owned(), parameter: parameter.to_owned() };
        media.register_feedback(nack, RtpCodecKind::Video);
    }
    let registry = Registry::new().with(Slot::NackGenerator, NackGeneratorBuilder::new().build());
    configure_simulcast_extension_headers(media)?;
    let registry = configure_twcc_receiver_only(registry, media)?;
    Ok(configure_rtcp_reports(registry).with(Slot::from(FEEDBACK_SLOT), FeedbackInterceptor::default()))
}

/// Builds a peer connection whose events go to `tx`, tagged with `options.target`.
pub async fn build(
    options: PcOptions,
    tx: mpsc::UnboundedSender<PcEvent>,
) -> webrtc::error::Result<Arc<dyn PeerConnection>> {
    let mut media = MediaEngine::default();
    media.register_default_codecs()?;
    if options.audio_level {
        let level = RTCRtpHeaderExtensionCapability { uri: rtc::sdp::extmap::AUDIO_LEVEL_URI.to_owned() };
        media.register_header_extension(level, RtpCodecKind::Audio, None)?;
    }
    let registry = match options.rtcp_feedback {
        RtcpFeedback::Relay => feedback_interceptors(&mut media)?,
        RtcpFeedback::Publisher => register_default_interceptors(Registry::new(), &mut media)?
            .with(Slot::from(FEEDBACK_SLOT), FeedbackInterceptor::without_nacks()),
        RtcpFeedback::Stack => register_default_interceptors(Registry::new(), &mut media)?,
    };
    let settings = SettingEngineBuilder::new()
        .with_include_loopback_candidate(options.include_loopback)
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        // Checks every 20 ms instead of 200: the default interval dominates connect time
        // on fast networks (the count keeps the same ~1.4 s budget per candidate pair).
        .with_ice_connection_attempts(Some(Duration::from_millis(20)), Some(70))
        // A check that arrives before the trickled candidate it comes from makes a
        // peer-reflexive pair; the stack would wait 1 s before nominating one. Behind a
        // NAT that pair is the real path, and on any network it is a proven one.
        .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
        .with_relay_acceptance_min_wait(options.relay_acceptance_min_wait)
        .with_lite(options.lite)
        .build();
    let config = RTCConfigurationBuilder::new()
        .with_ice_servers(options.ice_servers)
        .with_ice_transport_policy(options.ice_policy)
        .build();
    let handler = Handler { target: options.target, filter: options.candidate_filter, relay: AtomicU32::new(0), tx };
    let addr = vec![format!("{}:0", options.ip)];
    let mut builder = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(handler))
        .with_udp_addrs(if options.udp { addr.clone() } else { vec![] })
        .with_tcp_addrs(if options.tcp { addr } else { vec![] });
    if let Some(runtime) = options.runtime {
        builder = builder.with_runtime(runtime);
    }
    Ok(Arc::new(builder.build().await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_chain_leaves_nacks_to_the_application() {
        let mut media = MediaEngine::default();
        media.register_default_codecs().unwrap();
        let slots = feedback_interceptors(&mut media).unwrap().slots();
        let names: Vec<&str> = slots.iter().map(|(_, name)| name.as_str()).collect();
        assert!(!slots.iter().any(|(slot, _)| *slot == Slot::NackResponder), "{names:?}");
        for wanted in [Slot::NackGenerator, Slot::TwccReceiver, Slot::ReceiverReport, Slot::SenderReport] {
            assert!(slots.iter().any(|(slot, _)| *slot == wanted), "{wanted:?} missing from {names:?}");
        }
        assert_eq!(slots.last().map(|(slot, _)| *slot), Some(Slot::from(FEEDBACK_SLOT)), "{names:?}");
    }

    #[test]
    fn publisher_chain_keeps_the_nack_responder() {
        let mut media = MediaEngine::default();
        media.register_default_codecs().unwrap();
        let registry = register_default_interceptors(Registry::new(), &mut media)
            .unwrap()
            .with(Slot::from(FEEDBACK_SLOT), FeedbackInterceptor::without_nacks());
        let slots = registry.slots();
        assert!(slots.iter().any(|(slot, _)| *slot == Slot::NackResponder));
        assert_eq!(slots.last().map(|(slot, _)| *slot), Some(Slot::from(FEEDBACK_SLOT)));
    }
}
