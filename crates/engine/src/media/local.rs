//! `LocalTrack`: a named track of any kind, fed by a [`MediaSource`], publishable to a room.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use livekit_protocol as proto;
use parking_lot::Mutex;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;

use super::codec::Packetizer;
use super::send::{StreamWire, TrackOutput};
use super::transform::{Direction, FrameTransform, TrackMeta};
use super::MediaKind;
use crate::error::Result;
use crate::types::PublishOptions;

/// What feeds local tracks of one kind: it captures and encodes, and writes to the
/// [`TrackOutput`]s attached to it. Audio's is `AudioSource`; video adds its own.
pub trait MediaSource: Send + Sync + 'static {
    /// Audio or video.
    fn kind(&self) -> MediaKind;
    /// The codec the tracks are sent with (what the SDP offers).
    fn codec(&self) -> rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
    /// RTP payload type of that codec.
    fn payload_type(&self) -> u8;
    /// A packetiser for that codec.
    fn packetizer(&self) -> Box<dyn Packetizer>;
    /// The RIDs of the simulcast layers tracks are sent as, from the lowest (empty: one
    /// stream, no simulcast).
    fn rids(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// Whether the source was closed (a closed source cannot be published).
    fn is_closed(&self) -> bool;
    /// Starts feeding `output`.
    fn attach(&self, output: Arc<TrackOutput>);
    /// Stops feeding `output`.
    fn detach(&self, output: &Arc<TrackOutput>);
    /// A track it feeds was published: start sending.
    fn start(&self);
    /// Fills the kind-specific fields of the `AddTrackRequest` (stereo, dimensions...).
    fn describe(&self, request: &mut proto::AddTrackRequest);
    /// Takes the publish options that concern the kind (video: codec, bitrate, frame
    /// rate) before a track is published; an option the kind cannot honour is an error.
    fn configure(&self, _options: &PublishOptions) -> Result<()> {
        Ok(())
    }
    /// Receiver feedback about the stream `ssrc` of a track it feeds (keyframe requests,
    /// bandwidth estimates). Ignored unless the kind acts on it (video does).
    fn on_feedback(&self, _ssrc: u32, _feedback: Feedback) {}
}

/// Receiver feedback about a sent stream that its source acts on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Feedback {
    /// A receiver lost the picture (PLI) or asked for an intra frame (FIR).
    KeyframeRequest,
    /// The receiver's bandwidth estimate for the stream (REMB), in bits per second.
    Estimate(u64),
}

impl Feedback {
    /// What an RTCP packet asks of the sender, and about which streams; `None` for packets
    /// a source does not act on.
    pub fn from_rtcp(packet: &dyn rtc::rtcp::Packet) -> Option<(Self, Vec<u32>)> {
        use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
        use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
        use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
        let any = packet.as_any();
        if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
            Some((Self::KeyframeRequest, vec![pli.media_ssrc]))
        } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
            Some((Self::KeyframeRequest, fir.fir.iter().map(|e| e.ssrc).chain([fir.media_ssrc]).collect()))
        } else {
            let remb = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>()?;
            let bitrate = if remb.bitrate.is_finite() { remb.bitrate.max(0.0) as u64 } else { return None };
            Some((Self::Estimate(bitrate), remb.ssrcs.clone()))
        }
    }
}

pub(crate) struct LocalTrackInner {
    name: String,
    source: Arc<dyn MediaSource>,
    /// What the track is on the wire: its client id (msid) and its RTP output. Renewed when
    /// a track is published again, so the server sees a new track (a peer connection does
    /// not announce a track id it has seen before).
    wire: Mutex<Wire>,
    /// Set once published: the next publish renews `wire`.
    used: AtomicBool,
    /// Sid, publisher identity and frame transform (shared with every output).
    meta: Arc<TrackMeta>,
    /// Server sid once published (the same cell as `meta`'s).
    pub(crate) sid: Arc<Mutex<Option<String>>>,
    /// The publication's `dtx` option (told to the server; the encoder does not use DTX).
    dtx: AtomicBool,
}

struct Wire {
    cid: String,
    output: Arc<TrackOutput>,
    /// The codec's mime type and the layers' RIDs when the wire was made.
    codec: String,
    rids: Vec<&'static str>,
}

/// A track this client can publish, of any kind.
#[derive(Clone)]
pub struct LocalTrack(pub(crate) Arc<LocalTrackInner>);

/// A fresh client id and RTP output for `name` (one stream per simulcast layer), fed by
/// nothing yet.
fn new_wire(name: &str, source: &dyn MediaSource, meta: &Arc<TrackMeta>) -> Wire {
    let ssrc = || loop {
        let s = rand_u32();
        if s != 0 {
            break s;
        }
    };
    let rids = source.rids();
    let streams: Vec<StreamWire> = if rids.is_empty() {
        vec![StreamWire { rid: None, ssrc: ssrc(), first_seq: rand_u32() as u16 }]
    } else {
        rids.iter().map(|&rid| StreamWire { rid: Some(rid), ssrc: ssrc(), first_seq: rand_u32() as u16 }).collect()
    };
    let cid = format!("LK_{:016x}", ((rand_u32() as u64) << 32) | streams[0].ssrc as u64);
    let output = TrackOutput::with_streams(&cid, name, source, &streams, meta.clone());
    let codec = source.codec().mime_type;
    meta.set_codec(&codec);
    Wire { cid, output, codec, rids }
}

impl LocalTrack {
    /// A track named `name` carrying `source`'s media.
    pub fn new(name: &str, source: Arc<dyn MediaSource>) -> Self {
        let meta = Arc::new(TrackMeta::new(Direction::Send, source.kind(), &source.codec().mime_type, None, ""));
        let wire = new_wire(name, source.as_ref(), &meta);
        source.attach(wire.output.clone());
        Self(Arc::new(LocalTrackInner {
            name: name.into(),
            wire: Mutex::new(wire),
            used: AtomicBool::new(false),
            sid: meta.sid.clone(),
            meta,
            source,
            dtx: AtomicBool::new(true),
        }))
    }

    fn output(&self) -> Arc<TrackOutput> {
        self.0.wire.lock().output.clone()
    }

    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.0.source.kind()
    }
    /// Client id (the msid track id in SDP).
    pub fn cid(&self) -> String {
        self.0.wire.lock().cid.clone()
    }
    /// Track name.
    pub fn name(&self) -> String {
        self.0.name.clone()
    }
    /// Server sid once published.
    pub fn sid(&self) -> Option<String> {
        self.0.sid.lock().clone()
    }
    /// The source feeding it.
    pub fn source(&self) -> &Arc<dyn MediaSource> {
        &self.0.source
    }
    /// Whether it is muted locally (nothing sent).
    pub fn muted(&self) -> bool {
        self.output().muted.load(Ordering::Relaxed)
    }
    /// Installs (or with `None` removes) the transform every encoded frame goes through
    /// before it is packetised (end-to-end encryption).
    pub fn set_frame_transform(&self, transform: Option<Arc<dyn FrameTransform>>) {
        self.0.meta.set_transform(transform);
    }
    pub(crate) fn set_muted_flag(&self, muted: bool) {
        self.output().muted.store(muted, Ordering::Relaxed);
    }
    /// Whether silence goes discontinuous once published (set before publishing).
    pub(crate) fn set_dtx(&self, dtx: bool) {
        self.0.dtx.store(dtx, Ordering::Relaxed);
    }
    /// The `AddTrackRequest` fields that depend on the kind and the source.
    pub(crate) fn describe(&self, request: &mut proto::AddTrackRequest) {
        request.r#type = match self.kind() {
            MediaKind::Audio => proto::TrackType::Audio,
            MediaKind::Video => proto::TrackType::Video,
        } as i32;
        self.0.source.describe(request);
    }
    /// The identity the track is published as (frame transforms see it).
    pub(crate) fn set_publisher(&self, identity: &str) {
        self.0.meta.set_identity(identity);
    }
    /// Before a publish: a track published before, or whose source now codes with another
    /// codec or other simulcast layers, gets a new client id and RTP output (same source,
    /// same mute state), so it reaches the server as a new track.
    pub(crate) fn prepare_publish(&self) {
        let used = self.0.used.swap(true, Ordering::AcqRel);
        let same = {
            let wire = self.0.wire.lock();
            wire.codec == self.0.source.codec().mime_type && wire.rids == self.0.source.rids()
        };
        if !used && same {
            return;
        }
        let fresh = new_wire(&self.0.name, self.0.source.as_ref(), &self.0.meta);
        let mut wire = self.0.wire.lock();
        fresh.output.muted.store(wire.output.muted.load(Ordering::Relaxed), Ordering::Relaxed);
        self.0.source.detach(&wire.output);
        self.0.source.attach(fresh.output.clone());
        *wire = fresh;
    }
    /// The server accepted the track: record its sid and start sending.
    pub(crate) fn set_published(&self, sid: String) {
        *self.0.sid.lock() = Some(sid);
        self.0.source.start();
    }
    /// Stops feeding this track from its source.
    pub fn close(&self) {
        self.0.source.detach(&self.output());
    }
    pub(crate) fn rtp(&self) -> Arc<TrackLocalStaticRTP> {
        self.output().rtp.clone()
    }
    /// The transceiver that sends the current wire was added.
    pub(crate) fn set_transceiver(&self, transceiver: Arc<dyn webrtc::rtp_transceiver::RtpTransceiver>) {
        self.output().set_transceiver(transceiver);
    }
    /// Reads the receiver feedback about the track's current wire (what the publisher peer
    /// connection delivers: PLI, FIR, REMB) and hands it to the source, until the wire is
    /// unbound from its peer connection. Holds the source only weakly.
    pub(crate) fn serve_feedback(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
        let rtp = self.rtp();
        let source = Arc::downgrade(&self.0.source);
        async move {
            while let Some(TrackLocalEvent::OnRtcpPacket(packets)) = rtp.poll().await {
                let Some(source) = source.upgrade() else { return };
                for packet in packets {
                    let Some((feedback, ssrcs)) = Feedback::from_rtcp(packet.as_ref()) else { continue };
                    for ssrc in ssrcs {
                        source.on_feedback(ssrc, feedback);
                    }
                }
            }
        }
    }
}

pub(crate) fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() as u32
}
