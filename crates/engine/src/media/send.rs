//! Sending: `Encoder → [FrameTransform] → Packetizer → RTP out`. A source encodes each
//! frame once ([`SendPipeline`]) and hands it to every track it feeds ([`TrackOutput`]):
//! each track has its own transform, packetiser, sequence numbers and SSRC. A simulcast
//! track has one RTP stream per layer (its own SSRC, RID, packetiser and sequence numbers);
//! their packets carry the RID and the transceiver's mid, which is how the receiver tells
//! the layers apart.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use rtc::rtp;
use rtc::rtp::extension::HeaderExtension;
use rtc::shared::marshal::{Marshal, MarshalSize};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::rtp_transceiver::RtpTransceiver;

use super::codec::{EncodedFrame, Encoder, Packetizer};
use super::local::MediaSource;
use super::transform::TrackMeta;
use super::MediaKind;
use crate::error::Result;

/// One RTP stream of a track: the only one, or a simulcast layer.
struct Stream {
    /// RTP stream id (simulcast layers only).
    rid: Option<Bytes>,
    ssrc: u32,
    packetizer: Mutex<Box<dyn Packetizer>>,
    seq: AtomicU16,
}

/// What a new [`TrackOutput`] stream is: its RID (simulcast), SSRC and first sequence number.
#[derive(Clone, Debug)]
pub struct StreamWire {
    /// RTP stream id (`None`: the track's only stream).
    pub rid: Option<&'static str>,
    /// SSRC it is sent as.
    pub ssrc: u32,
    /// Sequence number of its first packet.
    pub first_seq: u16,
}

/// One local track's RTP output.
pub struct TrackOutput {
    pub(crate) rtp: Arc<TrackLocalStaticRTP>,
    /// Its streams: one, or the simulcast layers from the lowest.
    streams: Vec<Stream>,
    payload_type: u8,
    /// Sid, identity and frame transform of the track (shared by its outputs).
    pub(crate) meta: Arc<TrackMeta>,
    /// Muted locally: nothing is sent.
    pub(crate) muted: AtomicBool,
    /// Audio: the marker bit flags the first packet after a gap (a talkspurt starts).
    talkspurts: bool,
    /// Nothing was sent for the last frame.
    gap: AtomicBool,
    /// The transceiver sending it (set once added), and its mid once negotiated.
    transceiver: Mutex<Option<Arc<dyn RtpTransceiver>>>,
    mid: Mutex<Option<Bytes>>,
    /// The paced sender of video frames (started by the first `send_paced`).
    pacer: Mutex<Option<mpsc::Sender<Paced>>>,
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
        Self::with_streams(cid, name, source, &[StreamWire { rid: None, ssrc, first_seq }], meta)
    }

    /// The output of a new wire track of one stream per entry of `streams` (simulcast
    /// layers from the lowest, each with its RID).
    pub fn with_streams(
        cid: &str,
        name: &str,
        source: &dyn MediaSource,
        streams: &[StreamWire],
        meta: Arc<TrackMeta>,
    ) -> Arc<Self> {
        let kind = match source.kind() {
            MediaKind::Audio => rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Audio,
            MediaKind::Video => rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Video,
        };
        let encodings = streams
            .iter()
            .map(|s| {
                let mut encoding = crate::pc::encoding(source.codec(), s.ssrc);
                encoding.rtp_coding_parameters.rid = s.rid.unwrap_or_default().to_owned();
                encoding
            })
            .collect();
        let track = MediaStreamTrack::new(cid.into(), cid.into(), name.into(), kind, encodings);
        let streams = streams
            .iter()
            .map(|s| Stream {
                rid: s.rid.map(|r| Bytes::from_static(r.as_bytes())),
                ssrc: s.ssrc,
                packetizer: Mutex::new(source.packetizer()),
                seq: AtomicU16::new(s.first_seq),
            })
            .collect();
        Arc::new(Self {
            rtp: Arc::new(TrackLocalStaticRTP::new(track)),
            streams,
            payload_type: source.payload_type(),
            meta,
            muted: AtomicBool::new(false),
            talkspurts: source.kind() == MediaKind::Audio,
            gap: AtomicBool::new(true),
            transceiver: Mutex::new(None),
            mid: Mutex::new(None),
            pacer: Mutex::new(None),
        })
    }

    /// The index of the stream sent as `ssrc` (the simulcast layer), if it is one of ours.
    pub fn stream_of(&self, ssrc: u32) -> Option<usize> {
        self.streams.iter().position(|s| s.ssrc == ssrc)
    }

    /// How many streams it sends (simulcast layers).
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// The transceiver that sends it (simulcast packets carry its mid).
    pub(crate) fn set_transceiver(&self, transceiver: Arc<dyn RtpTransceiver>) {
        *self.transceiver.lock() = Some(transceiver);
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
        self.stream_packets(0, frame)
    }

    /// [`packets`](Self::packets) for stream (layer) `index`.
    fn stream_packets(&self, index: usize, frame: EncodedFrame) -> Vec<rtp::Packet> {
        let Some(stream) = self.streams.get(index) else { return Vec::new() };
        let Some(frame) = self.meta.apply(frame, stream.ssrc) else { return Vec::new() };
        let payloads = match stream.packetizer.lock().packetize(&frame) {
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
                    sequence_number: stream.seq.fetch_add(1, Ordering::Relaxed),
                    timestamp: frame.timestamp,
                    ssrc: stream.ssrc,
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

    /// Queues `frame` to be sent on stream (simulcast layer) `index`, spread out at
    /// `rate_bps` (libwebrtc's pacer does the same): a video frame is many packets, and a
    /// keyframe sent in one burst overflows socket buffers on the way (the losses come back
    /// as NACKs and retransmission bursts). Waits only while [`PACED_FRAMES`] frames are
    /// already queued, so encoding the next frame overlaps with sending this one. A layer's
    /// packets carry its RID and the transceiver's mid (once negotiated: until then nothing
    /// is sent anyway).
    pub async fn send_paced(&self, index: usize, frame: EncodedFrame, rate_bps: u32) {
        let Some(rid) = self.streams.get(index).map(|s| s.rid.clone()) else { return };
        let packets = self.stream_packets(index, frame);
        if packets.is_empty() {
            return;
        }
        let mid = if rid.is_some() { self.mid().await } else { None };
        let queue = self.pacer.lock().get_or_insert_with(|| spawn_pacer(self.rtp.clone())).clone();
        let _ = queue.send(Paced { packets, rate_bps, rid, mid }).await;
    }

    /// The transceiver's mid, once it has one.
    async fn mid(&self) -> Option<Bytes> {
        if let Some(mid) = self.mid.lock().clone() {
            return Some(mid);
        }
        let transceiver = self.transceiver.lock().clone()?;
        let mid = Bytes::from(transceiver.mid().await.ok()??);
        *self.mid.lock() = Some(mid.clone());
        Some(mid)
    }
}

/// An SDES header extension (RID, mid): the bytes of a short string.
struct SdesItem(Bytes);

impl MarshalSize for SdesItem {
    fn marshal_size(&self) -> usize {
        self.0.len()
    }
}

impl Marshal for SdesItem {
    fn marshal_to(&self, buf: &mut [u8]) -> rtc::shared::error::Result<usize> {
        let n = self.0.len();
        buf.get_mut(..n).ok_or(rtc::shared::error::Error::ErrShortBuffer)?.copy_from_slice(&self.0);
        Ok(n)
    }
}

fn sdes(uri: &'static str, value: Bytes) -> HeaderExtension {
    HeaderExtension::Custom { uri: Cow::Borrowed(uri), extension: Box::new(SdesItem(value)) }
}

/// Frames queued for pacing before `send_paced` waits.
pub const PACED_FRAMES: usize = 8;

/// How early a paced packet may leave (timers are not finer than a millisecond).
const PACE_SLACK: Duration = Duration::from_millis(2);

/// Bytes a packet costs on the wire besides its payload: RTP, UDP and IPv4 headers, SRTP tag.
const PACKET_OVERHEAD: u64 = 12 + 8 + 20 + 10;

/// A frame's packets, the rate to send them at, and the RID and mid they carry (simulcast).
struct Paced {
    packets: Vec<rtp::Packet>,
    rate_bps: u32,
    rid: Option<Bytes>,
    mid: Option<Bytes>,
}

impl Paced {
    /// The header extensions of its packets.
    fn extensions(&self) -> Vec<HeaderExtension> {
        let rid = self.rid.clone().map(|rid| sdes(rtc::sdp::extmap::SDES_RTP_STREAM_ID_URI, rid));
        let mid = self.mid.clone().map(|mid| sdes(rtc::sdp::extmap::SDES_MID_URI, mid));
        rid.into_iter().chain(mid).collect()
    }
}

/// When packets may leave to keep to a rate: each packet's departure pushes the next one
/// back by its size at the rate; idle time is not saved up for a burst later.
#[derive(Default)]
pub(crate) struct PaceClock {
    next: Option<tokio::time::Instant>,
}

impl PaceClock {
    /// When a packet of `size` payload bytes handed over at `now` may leave at `rate_bps`.
    pub(crate) fn due(&mut self, now: tokio::time::Instant, size: usize, rate_bps: u32) -> tokio::time::Instant {
        let at = self.next.map_or(now, |n| n.max(now));
        let bits = (size as u64 + PACKET_OVERHEAD) * 8;
        self.next = Some(at + Duration::from_micros(bits * 1_000_000 / u64::from(rate_bps.max(1))));
        at
    }
}

/// The task sending one output's paced frames, in order, until the output is dropped.
fn spawn_pacer(rtp: Arc<TrackLocalStaticRTP>) -> mpsc::Sender<Paced> {
    let (tx, mut rx) = mpsc::channel::<Paced>(PACED_FRAMES);
    tokio::spawn(async move {
        let mut clock = PaceClock::default();
        while let Some(mut paced) = rx.recv().await {
            for packet in std::mem::take(&mut paced.packets) {
                let due = clock.due(tokio::time::Instant::now(), packet.payload.len(), paced.rate_bps);
                if due > tokio::time::Instant::now() + PACE_SLACK {
                    tokio::time::sleep_until(due).await;
                }
                let _ = rtp.write_rtp_with_extensions(packet, &paced.extensions()).await;
            }
        }
    });
    tx
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

#[cfg(test)]
mod pace_tests {
    use super::*;

    #[test]
    fn packets_leave_at_the_pacing_rate_and_idle_time_is_not_saved_up() {
        let t0 = tokio::time::Instant::now();
        let mut clock = PaceClock::default();
        // Packets of 1150 bytes (1200 on the wire) at 9.6 Mb/s: one per millisecond.
        let at: Vec<_> = (0..100).map(|_| clock.due(t0, 1150, 9_600_000) - t0).collect();
        assert_eq!((at[0], at[1], at[99]), (Duration::ZERO, Duration::from_millis(1), Duration::from_millis(99)));
        // Handed over after a pause: leaves at once, and the next one a millisecond later.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(clock.due(later, 1150, 9_600_000), later);
        assert_eq!(clock.due(later, 1150, 9_600_000), later + Duration::from_millis(1));
        // A zero rate counts as 1 b/s rather than dividing by zero.
        assert_eq!(PaceClock::default().due(t0, 10, 0), t0);
    }
}
