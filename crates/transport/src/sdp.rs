//! The few SDP facts LiveKit signalling needs, read from the text, and one workaround for
//! how the `webrtc` crate answers.

use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::RTCRtpTransceiverDirection as Dir;

/// The mid candidates point at when an SDP has none.
pub const DEFAULT_MID: &str = "0";

/// The first `a=mid:` of an SDP: the bundle tag LiveKit's candidate JSON points at.
pub fn first_mid(sdp: &str) -> Option<&str> {
    sdp.lines().find_map(|l| l.trim().strip_prefix("a=mid:")).map(str::trim)
}

/// Before answering `offer`: every transceiver whose m-section the offer does not send on
/// stops receiving (recvonly becomes inactive, sendrecv sendonly), as JSEP answers it.
///
/// The `webrtc` crate (0.21) does that by stopping the transceiver when an offer makes its
/// m-section inactive, but `stop()` does nothing on a transceiver stopped before, and the
/// crate reactivates a stopped transceiver (recvonly) when the peer sends on its m-section
/// again. So the second inactive offer for a reused m-section (a server reusing the
/// section of an ended subscription, a client the section of an unpublished track) was
/// answered recvonly, and the offerer never saw the section free again.
pub async fn settle_directions(pc: &dyn PeerConnection, offer: &str) {
    let silent = mids_not_sending(offer);
    if silent.is_empty() {
        return;
    }
    for t in pc.get_transceivers().await {
        let Ok(Some(mid)) = t.mid().await else { continue };
        if !silent.contains(&mid) {
            continue;
        }
        let to = match t.direction().await {
            Ok(Dir::Recvonly) => Dir::Inactive,
            Ok(Dir::Sendrecv) => Dir::Sendonly,
            _ => continue,
        };
        // Fails only on a closed connection, whose answer no longer matters.
        let _ = t.set_direction(to).await;
    }
}

/// The mids of an SDP's audio and video m-sections that do not send (inactive or
/// recvonly); an SDP that does not parse has none.
pub fn mids_not_sending(sdp: &str) -> Vec<String> {
    use rtc::sdp::description::session::SessionDescription;
    let Ok(parsed) = SessionDescription::unmarshal(&mut std::io::Cursor::new(sdp.as_bytes())) else {
        return vec![];
    };
    parsed
        .media_descriptions
        .iter()
        .filter(|m| m.media_name.media == "audio" || m.media_name.media == "video")
        .filter(|m| m.attributes.iter().any(|a| a.key == "inactive" || a.key == "recvonly"))
        .filter_map(|m| m.attributes.iter().find(|a| a.key == "mid").and_then(|a| a.value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sections_that_do_not_send() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=inactive\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=recvonly\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:3\r\n";
        assert_eq!(mids_not_sending(sdp), vec!["1".to_string(), "2".to_string()]);
        assert!(mids_not_sending("not sdp").is_empty());
    }

    #[test]
    fn finds_first_mid() {
        assert_eq!(first_mid("v=0\r\nm=audio 9\r\na=mid:0\r\na=mid:1\r\n"), Some("0"));
        assert_eq!(first_mid("v=0\r\na=mid:audio\r\n"), Some("audio"));
        assert_eq!(first_mid("v=0\r\n"), None);
    }
}
