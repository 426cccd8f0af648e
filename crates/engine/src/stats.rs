//! `getRtcStats()`: the W3C statistics of both peer connections, as JSON objects (the
//! `webrtc` crate's report entries, serialized with their W3C member names: `type`, `id`,
//! `timestamp`, `bytesSent`...).

use std::sync::Arc;
use std::time::Instant;

use rtc::statistics::report::{RTCStatsReport, RTCStatsReportEntry};
use webrtc::peer_connection::{PeerConnection, StatsSelector};

/// Statistics of the two peer connections, one JSON object per W3C stats entry.
#[derive(Clone, Debug, Default)]
pub struct RtcStats {
    /// The publisher connection (what this client sends).
    pub publisher: Vec<serde_json::Value>,
    /// The subscriber connection (what this client receives).
    pub subscriber: Vec<serde_json::Value>,
}

/// Gathers both reports now.
pub(crate) async fn gather(publisher: Arc<dyn PeerConnection>, subscriber: Arc<dyn PeerConnection>) -> RtcStats {
    let now = Instant::now();
    let publisher = publisher.get_stats(now, StatsSelector::None).await;
    let subscriber = subscriber.get_stats(now, StatsSelector::None).await;
    RtcStats { publisher: entries(&publisher), subscriber: entries(&subscriber) }
}

fn entries(report: &RTCStatsReport) -> Vec<serde_json::Value> {
    report.iter().filter_map(entry).collect()
}

fn entry(e: &RTCStatsReportEntry) -> Option<serde_json::Value> {
    use RTCStatsReportEntry as E;
    let value = match e {
        E::PeerConnection(s) => serde_json::to_value(s),
        E::Transport(s) => serde_json::to_value(s),
        E::IceCandidatePair(s) => serde_json::to_value(s),
        E::LocalCandidate(s) | E::RemoteCandidate(s) => serde_json::to_value(s),
        E::Certificate(s) => serde_json::to_value(s),
        E::Codec(s) => serde_json::to_value(s),
        E::DataChannel(s) => serde_json::to_value(s),
        E::InboundRtp(s) => serde_json::to_value(s),
        E::OutboundRtp(s) => serde_json::to_value(s),
        E::RemoteInboundRtp(s) => serde_json::to_value(s),
        E::RemoteOutboundRtp(s) => serde_json::to_value(s),
        E::AudioSource(s) => serde_json::to_value(s),
        E::VideoSource(s) => serde_json::to_value(s),
        E::AudioPlayout(s) => serde_json::to_value(s),
        _ => return None, // a kind newer than this conversion
    };
    value.ok()
}
