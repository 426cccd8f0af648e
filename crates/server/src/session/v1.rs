//! Single-peer-connection signalling (`/rtc/v1`), as livekit-server and current clients
//! (livekit-client 2.x) speak it.
//!
//! The client opens the WebSocket with a `join_request` query parameter: a base64
//! `WrappedJoinRequest` holding a `JoinRequest`, gzipped or not, that may carry the
//! client's first offer. One peer connection carries everything and **the client always
//! offers**; the server only answers:
//!
//! - the client's tracks arrive on its sendonly m-sections, as on a v0 publisher PC;
//! - the server sends a subscribed track on a sendonly transceiver of its own, which the
//!   next client offer pairs with one of the client's recvonly m-sections. When no free
//!   section is left the server asks for more (`MediaSectionsRequirement`), and the client
//!   adds them and offers again; the same message with zero counts asks for an offer after
//!   a track was removed. Offers never cross, so there is no glare;
//! - data: the client opens `_reliable` and `_lossy` on that PC; the server reads them
//!   and delivers the room's packets on them too;
//! - ICE candidates travel with target `PUBLISHER` both ways.

use std::io::Read;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::{alphabet, Engine};
use webrtc::data_channel::DataChannel;

use super::*;
use crate::participant::DataKind;
use tokio::sync::watch;

/// Why the `join_request` query parameter was refused (HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum JoinRequestError {
    /// The parameter is missing: `/rtc/v1` needs it.
    #[error("missing join_request parameter")]
    Missing,
    /// Not base64 (URL-safe or standard alphabet, padding optional).
    #[error("join_request is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The `WrappedJoinRequest` or the `JoinRequest` inside it is not valid protobuf.
    #[error("join_request does not decode: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// The compression named is not one the server knows.
    #[error("join_request uses an unknown compression ({0})")]
    Compression(i32),
    /// The gzip stream is corrupt.
    #[error("join_request does not gunzip: {0}")]
    Gzip(#[source] std::io::Error),
    /// Uncompressed, it is larger than a signal message may be.
    #[error("join_request is larger than {} bytes uncompressed", limits::MAX_SIGNAL_MESSAGE)]
    TooLarge,
}

const PADDING_OPTIONAL: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, PADDING_OPTIONAL);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, PADDING_OPTIONAL);

/// Decodes the `join_request` query parameter. livekit-client sends URL-safe base64 of a
/// `WrappedJoinRequest`, gzipped where the browser can; the standard alphabet is taken too.
pub fn decode_join_request(param: &str) -> Result<proto::JoinRequest, JoinRequestError> {
    let param = param.trim();
    let wrapped = URL_SAFE.decode(param).or_else(|e| STANDARD.decode(param).map_err(|_| e))?;
    if wrapped.len() > limits::MAX_SIGNAL_MESSAGE {
        return Err(JoinRequestError::TooLarge);
    }
    let wrapped = proto::WrappedJoinRequest::decode(wrapped.as_slice())?;
    use proto::wrapped_join_request::Compression;
    let bytes = match Compression::try_from(wrapped.compression) {
        Ok(Compression::None) => wrapped.join_request,
        Ok(Compression::Gzip) => {
            let cap = limits::MAX_SIGNAL_MESSAGE as u64;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(wrapped.join_request.as_slice())
                .take(cap + 1)
                .read_to_end(&mut out)
                .map_err(JoinRequestError::Gzip)?;
            if out.len() as u64 > cap {
                return Err(JoinRequestError::TooLarge);
            }
            out
        }
        Err(_) => return Err(JoinRequestError::Compression(wrapped.compression)),
    };
    Ok(proto::JoinRequest::decode(bytes.as_slice())?)
}

/// What a v1 session keeps beyond a v0 one.
pub(super) struct Single {
    /// Audio and video m-sections asked for (`MediaSectionsRequirement`) and not yet seen
    /// in an offer.
    asked: [u32; 2],
    /// Audio and video m-sections in the last offer.
    sections: [u32; 2],
    /// The first offer was answered: from then on the server asks for offers.
    answered: bool,
    /// An offer was asked for and none arrived since.
    requested: bool,
    /// Hand the client's `_reliable` and `_lossy` channels to the data delivery.
    reliable: watch::Sender<Option<Arc<dyn DataChannel>>>,
    lossy: watch::Sender<Option<Arc<dyn DataChannel>>>,
}

impl Single {
    /// The state of a new v1 session, and where its data delivery waits for the client's
    /// channels.
    pub(super) fn new() -> (Self, (data::Outlet, data::Outlet)) {
        let (reliable, reliable_out) = data::Outlet::pending();
        let (lossy, lossy_out) = data::Outlet::pending();
        let st = Self { asked: [0; 2], sections: [0; 2], answered: false, requested: false, reliable, lossy };
        (st, (reliable_out, lossy_out))
    }
}

/// Counts the audio and video m-sections of an SDP.
fn sections(sdp: &str) -> [u32; 2] {
    let mut n = [0, 0];
    for line in sdp.lines() {
        if line.starts_with("m=audio ") {
            n[0] += 1;
        } else if line.starts_with("m=video ") {
            n[1] += 1;
        }
    }
    n
}

impl Session {
    /// Whether this session speaks v1 (one peer connection).
    pub(super) fn single(&self) -> bool {
        self.single.is_some()
    }

    /// Starts a v1 session after the join response: the subscriptions made on joining get
    /// their transceivers first, so that the first offer pairs them, then that offer is
    /// answered if the join request carried it.
    pub(super) async fn v1_start(
        &mut self,
        cmd: &mut mpsc::UnboundedReceiver<Cmd>,
        offer: Option<proto::SessionDescription>,
    ) -> Option<Reason> {
        while let Ok(c) = cmd.try_recv() {
            if let Some(reason) = self.handle_cmd(c).await {
                return Some(reason);
            }
        }
        self.on_publisher_offer(offer?).await
    }

    /// A client offer arrived (v1): the new m-sections it brings count against those asked for.
    pub(super) fn v1_offer_seen(&mut self, sdp: &str) {
        let Some(st) = self.single.as_mut() else { return };
        let now = sections(sdp);
        for ((asked, before), now) in st.asked.iter_mut().zip(st.sections).zip(now) {
            *asked = asked.saturating_sub(now.saturating_sub(before));
        }
        st.sections = now;
        st.requested = false;
    }

    /// The server changed what it sends (v1): asks the client for an offer, with as many
    /// new recvonly m-sections as subscribed tracks wait for. `after_answer`: called right
    /// after answering, when only missing sections are worth an offer.
    pub(super) async fn v1_request_offer(&mut self, after_answer: bool) {
        let Some(st) = self.single.as_ref() else { return };
        if !st.answered {
            // The first offer is on its way and will pair what is waiting.
            return;
        }
        let mut waiting = [0u32; 2];
        for sub in self.subs.values() {
            if matches!(sub.transceiver.mid().await, Ok(None)) {
                waiting[usize::from(sub.track.kind() == proto::TrackType::Video)] += 1;
            }
        }
        let Some(st) = self.single.as_mut() else { return };
        let need = [waiting[0].saturating_sub(st.asked[0]), waiting[1].saturating_sub(st.asked[1])];
        if need == [0, 0] && (after_answer || st.requested) {
            return;
        }
        st.asked[0] += need[0];
        st.asked[1] += need[1];
        st.requested = true;
        tracing::debug!(identity = %self.p.identity(), audios = need[0], videos = need[1], "asking the client for an offer");
        self.p.send(Resp::MediaSectionsRequirement(proto::MediaSectionsRequirement {
            num_audios: need[0],
            num_videos: need[1],
        }));
    }

    /// An answer is going out (v1): the m-sections of subscribed tracks mapped to their
    /// sids (`mid_to_track_id`); from now on changes ask the client for offers.
    pub(super) async fn v1_answered(&mut self) -> HashMap<String, String> {
        let mut mid_to_track = HashMap::new();
        if !self.single() {
            return mid_to_track;
        }
        for (sid, sub) in &self.subs {
            if let Ok(Some(mid)) = sub.transceiver.mid().await {
                mid_to_track.insert(mid, sid.clone());
            }
        }
        if let Some(st) = self.single.as_mut() {
            st.answered = true;
        }
        // The answer tells the client of every free transceiver's inactive m-section.
        self.slots.announced();
        mid_to_track
    }

    /// A data channel the client opened (v1): the room's packets for this participant go
    /// out on its `_reliable` and `_lossy` (it is read like any publisher channel).
    pub(super) async fn v1_data_channel(&mut self, dc: &Arc<dyn DataChannel>) {
        let Some(st) = self.single.as_ref() else { return };
        let outlet = match DataKind::from_label(&dc.label().await.unwrap_or_default()) {
            Some(DataKind::Reliable) => &st.reliable,
            Some(DataKind::Lossy) => &st.lossy,
            None => return,
        };
        outlet.send_replace(Some(dc.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;
    use std::io::Write;

    fn wrap(req: &proto::JoinRequest, gzip: bool) -> proto::WrappedJoinRequest {
        let raw = req.encode_to_vec();
        let (compression, join_request) = if gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&raw).unwrap();
            (proto::wrapped_join_request::Compression::Gzip, enc.finish().unwrap())
        } else {
            (proto::wrapped_join_request::Compression::None, raw)
        };
        proto::WrappedJoinRequest { compression: compression as i32, join_request }
    }

    fn request() -> proto::JoinRequest {
        proto::JoinRequest {
            connection_settings: Some(proto::ConnectionSettings { auto_subscribe: false, ..Default::default() }),
            publisher_offer: Some(proto::SessionDescription {
                r#type: "offer".into(),
                sdp: "v=0\r\n".into(),
                id: 1,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn decodes_plain_and_gzipped_in_both_alphabets() {
        for gzip in [false, true] {
            let bytes = wrap(&request(), gzip).encode_to_vec();
            for encoded in [URL_SAFE.encode(&bytes), general_purpose::STANDARD_NO_PAD.encode(&bytes)] {
                assert_eq!(decode_join_request(&encoded).unwrap(), request(), "gzip {gzip}: {encoded}");
            }
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(decode_join_request("***"), Err(JoinRequestError::Base64(_))));
        assert!(matches!(decode_join_request(&URL_SAFE.encode([0xff, 0xff])), Err(JoinRequestError::Protobuf(_))));
        let bad = proto::WrappedJoinRequest { compression: 7, join_request: vec![] }.encode_to_vec();
        assert!(matches!(decode_join_request(&URL_SAFE.encode(bad)), Err(JoinRequestError::Compression(7))));
        let bad = proto::WrappedJoinRequest { compression: 1, join_request: b"not gzip".to_vec() }.encode_to_vec();
        assert!(matches!(decode_join_request(&URL_SAFE.encode(bad)), Err(JoinRequestError::Gzip(_))));
    }

    #[test]
    fn a_gzip_bomb_is_refused() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; limits::MAX_SIGNAL_MESSAGE + 10]).unwrap();
        let bomb = proto::WrappedJoinRequest { compression: 1, join_request: enc.finish().unwrap() }.encode_to_vec();
        assert!(matches!(decode_join_request(&URL_SAFE.encode(bomb)), Err(JoinRequestError::TooLarge)));
    }

    #[test]
    fn counts_sections() {
        let sdp = "v=0\r\nm=audio 9 x\r\nm=video 9 x\r\nm=video 9 x\r\nm=application 9 x\r\n";
        assert_eq!(sections(sdp), [1, 2]);
    }
}
