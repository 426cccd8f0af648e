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
            // Subscribers' PLI, FIR, NACK and REMB reach the down tracks (feedback.rs), which
            // answer NACKs themselves. Harmless on a publisher PC (it sends nothing).
            rtcp_feedback: lkrtc_transport::RtcpFeedback::Relay,
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

/// An answer SDP the offerer can apply: in each media section, only the payload types
/// that section of the offer lists, each once, with their `rtpmap`/`fmtp`/`rtcp-fb` lines.
///
/// The `webrtc` stack answers with the payload types of its media engine, which after an
/// earlier offer can include types a later section was never offered, or one type twice
/// (two VP9 profiles mapped to one); Chromium refuses such an answer ("Failed to set
/// remote video description send parameters"). livekit-client's v1 offers (recvonly
/// sections first, a camera later) hit it. An SDP that does not parse is returned as it is.
pub fn answer_within_offer(offer: &str, answer: &str) -> String {
    use std::collections::HashSet;
    use std::io::Cursor;

    use rtc::sdp::description::session::SessionDescription;
    let parse = |sdp: &str| SessionDescription::unmarshal(&mut Cursor::new(sdp.as_bytes())).ok();
    let (Some(offer_sd), Some(mut answer_sd)) = (parse(offer), parse(answer)) else {
        return answer.to_string();
    };
    for (offered, answered) in offer_sd.media_descriptions.iter().zip(answer_sd.media_descriptions.iter_mut()) {
        if answered.media_name.media != offered.media_name.media || answered.media_name.media == "application" {
            continue;
        }
        let allowed: HashSet<&str> = offered.media_name.formats.iter().map(String::as_str).collect();
        let mut kept = HashSet::new();
        answered.media_name.formats.retain(|pt| allowed.contains(pt.as_str()) && kept.insert(pt.clone()));
        if answered.media_name.formats.is_empty() {
            // Nothing in common: leave the section as the stack made it.
            continue;
        }
        let mut seen = HashSet::new();
        answered.attributes.retain(|a| {
            let per_pt = matches!(a.key.as_str(), "rtpmap" | "fmtp" | "rtcp-fb");
            let Some(pt) = a.value.as_deref().and_then(|v| v.split_whitespace().next()).filter(|_| per_pt) else {
                return true;
            };
            // rtcp-fb may repeat per payload type; rtpmap and fmtp appear once.
            (pt == "*" || kept.contains(pt)) && (a.key == "rtcp-fb" || seen.insert((a.key.clone(), pt.to_string())))
        });
    }
    answer_sd.marshal()
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
    fn answer_keeps_offered_payload_types_once() {
        let offer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
                     m=video 9 UDP/TLS/RTP/SAVPF 96 98 100 99\r\nc=IN IP4 0.0.0.0\r\na=mid:8\r\n\
                     a=rtpmap:96 VP8/90000\r\na=rtpmap:98 VP9/90000\r\na=rtpmap:100 VP9/90000\r\n\
                     a=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\na=sendonly\r\n";
        let answer = "v=0\r\no=- 2 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
                      m=video 9 UDP/TLS/RTP/SAVPF 96 98 98 99 36\r\nc=IN IP4 0.0.0.0\r\n\
                      a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n\
                      a=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=0\r\n\
                      a=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=2\r\n\
                      a=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\na=rtpmap:36 rtx/90000\r\na=fmtp:36 apt=35\r\n\
                      a=mid:8\r\na=recvonly\r\n";
        let fixed = answer_within_offer(offer, answer);
        assert!(fixed.contains("m=video 9 UDP/TLS/RTP/SAVPF 96 98 99\r\n"), "{fixed}");
        assert_eq!(fixed.matches("a=rtpmap:98 ").count(), 1, "{fixed}");
        assert!(fixed.contains("a=fmtp:98 profile-id=0") && !fixed.contains("profile-id=2"), "{fixed}");
        assert!(!fixed.contains(":36 "), "{fixed}");
        assert_eq!(fixed.matches("a=rtcp-fb:96 ").count(), 2, "{fixed}");
        assert!(fixed.contains("a=mid:8") && fixed.contains("a=recvonly"), "{fixed}");
        assert_eq!(answer_within_offer("not sdp", "also not"), "also not");
    }

    #[test]
    fn finds_audio_level_extension() {
        let sdp = "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=extmap:3/sendonly urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n";
        assert_eq!(audio_level_id(sdp), Some(3));
        assert_eq!(audio_level_id("a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid"), None);
    }
}
