//! Sending: `Encoder → [FrameTransform] → Packetizer → RTP out`. A source encodes each
//! frame once ([`SendPipeline`]) and hands it to every track it feeds ([`TrackOutput`]):
//! each track has its own transform, packetiser, sequence numbers and SSRC.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rtc::rtp;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::MediaStreamTrack;

use super::codec::{EncodedFrame, Encoder, Packetizer};
use super::local::MediaSource;
use super::transform::TrackMeta;
use super::MediaKind;
use crate::error::Result;

/// One local track's RTP output.
pub struct TrackOutput {
    pub(crate) rtp: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload_type: u8,
    packetizer: Mutex<Box<dyn Packetizer>>,
    /// Sid, identity and frame transform of the track (shared by its outputs).
    pub(crate) meta: Arc<TrackMeta>,
    /// Muted locally: nothing is sent.
    pub(crate) muted: AtomicBool,
    /// Audio: the marker bit flags the first packet after a gap (a talkspurt starts).
    talkspurts: bool,
    /// Nothing was sent for the last frame.
    gap: AtomicBool,
    seq: AtomicU16,
}

impl TrackOutput {
    /// The output of a new wire track `cid` named `name`, of `source`'s kind and codec,
    /// sent as `ssrc` with sequence numbers from `first_seq`. Audio outputs set the marker
    /// on the first packet after a gap (a talkspurt starts).
    pub fn for_source(
        cid: &str,
        name: &str,
        source: &dyn MediaSource,
        ssrc: u32,
        meta: Arc<TrackMeta>,
        first_seq: u16,
    ) -> Arc<Self> {
        let kind = match source.kind() {
            MediaKind::Audio => rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Audio,
            MediaKind::Video => rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Video,
        };
        let encoding = crate::pc::encoding(source.codec(), ssrc);
        let track = MediaStreamTrack::new(cid.into(), cid.into(), name.into(), kind, vec![encoding]);
        Arc::new(Self {
            rtp: Arc::new(TrackLocalStaticRTP::new(track)),
            ssrc,
            payload_type: source.payload_type(),
            packetizer: Mutex::new(source.packetizer()),
            meta,
            muted: AtomicBool::new(false),
            talkspurts: source.kind() == MediaKind::Audio,
            gap: AtomicBool::new(true),
            seq: AtomicU16::new(first_seq),
        })
    }

    /// The SSRC it sends as.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Published (has a sid).
    pub(crate) fn is_published(&self) -> bool {
        self.meta.sid.lock().is_some()
    }

    /// Whether it takes the current frame (published and not muted); if not, the next
    /// frame it takes starts a talkspurt.
    pub(crate) fn wants(&self) -> bool {
        let wants = !self.muted.load(Ordering::Relaxed) && self.is_published();
        if !wants {
            self.gap.store(true, Ordering::Relaxed);
        }
        wants
    }

    /// `frame` transformed and packetised: the RTP packets to send (none if the transform
    /// dropped it).
    pub fn packets(&self, frame: EncodedFrame) -> Vec<rtp::Packet> {
        let Some(frame) = self.meta.apply(frame, self.ssrc) else { return Vec::new() };
        let payloads = match self.packetizer.lock().packetize(&frame) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "frame not packetised");
                return Vec::new();
            }
        };
        let talkspurt = self.talkspurts && self.gap.swap(false, Ordering::Relaxed);
        payloads
            .into_iter()
            .enumerate()
            .map(|(i, p)| rtp::Packet {
                header: rtp::header::Header {
                    version: 2,
                    marker: p.marker || (i == 0 && talkspurt),
                    payload_type: self.payload_type,
                    sequence_number: self.seq.fetch_add(1, Ordering::Relaxed),
                    timestamp: frame.timestamp,
                    ssrc: self.ssrc,
                    ..Default::default()
                },
                payload: p.data,
            })
            .collect()
    }

    /// Sends `frame` with the header `extensions` on each packet. Before negotiation the
    /// packets are simply not sent.
    pub async fn send(&self, frame: EncodedFrame, extensions: &[rtp::extension::HeaderExtension]) {
        for packet in self.packets(frame) {
            let _ = self.rtp.write_rtp_with_extensions(packet, extensions).await;
        }
    }
}

/// A source's encoder: encodes each captured frame once for all the tracks it feeds.
pub struct SendPipeline<E: Encoder> {
    encoder: E,
}

impl<E: Encoder> SendPipeline<E> {
    /// A pipeline encoding with `encoder`.
    pub fn new(encoder: E) -> Self {
        Self { encoder }
    }

    /// Encodes `input` (captured at RTP time `timestamp`) once and sends it to every
    /// output in `outputs`.
    pub async fn send(
        &mut self,
        input: &E::Input,
        timestamp: u32,
        outputs: &[Arc<TrackOutput>],
        extensions: &[rtp::extension::HeaderExtension],
    ) -> Result<()> {
        let frame = self.encoder.encode_frame(input, timestamp)?;
        for output in outputs {
            output.send(frame.clone(), extensions).await;
        }
        Ok(())
    }
}
