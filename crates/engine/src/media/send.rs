//! Sending: `Encoder → [FrameTransform] → Packetizer → RTP out`. A source encodes each
//! frame once ([`SendPipeline`]) and hands it to every track it feeds ([`TrackOutput`]):
//! each track has its own transform, packetiser, sequence numbers and SSRC.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rtc::rtp;
use tokio::sync::mpsc;
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
            pacer: Mutex::new(None),
        })
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

    /// Queues `frame` to be sent spread out at `rate_bps` (libwebrtc's pacer does the
    /// same): a video frame is many packets, and a keyframe sent in one burst overflows
    /// socket buffers on the way (the losses come back as NACKs and retransmission bursts).
    /// Waits only while [`PACED_FRAMES`] frames are already queued, so encoding the next
    /// frame overlaps with sending this one.
    pub async fn send_paced(&self, frame: EncodedFrame, rate_bps: u32) {
        let packets = self.packets(frame);
        if packets.is_empty() {
            return;
        }
        let queue = self.pacer.lock().get_or_insert_with(|| spawn_pacer(self.rtp.clone())).clone();
        let _ = queue.send(Paced { packets, rate_bps }).await;
    }
}

/// Frames queued for pacing before `send_paced` waits.
pub const PACED_FRAMES: usize = 8;

/// How early a paced packet may leave (timers are not finer than a millisecond).
const PACE_SLACK: Duration = Duration::from_millis(2);

/// Bytes a packet costs on the wire besides its payload: RTP, UDP and IPv4 headers, SRTP tag.
const PACKET_OVERHEAD: u64 = 12 + 8 + 20 + 10;

/// A frame's packets and the rate to send them at.
struct Paced {
    packets: Vec<rtp::Packet>,
    rate_bps: u32,
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
        while let Some(Paced { packets, rate_bps }) = rx.recv().await {
            for packet in packets {
                let due = clock.due(tokio::time::Instant::now(), packet.payload.len(), rate_bps);
                if due > tokio::time::Instant::now() + PACE_SLACK {
                    tokio::time::sleep_until(due).await;
                }
                let _ = rtp.write_rtp_with_extensions(packet, &[]).await;
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
