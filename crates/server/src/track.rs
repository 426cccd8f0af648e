//! Published tracks and RTP forwarding from a publisher to its subscribers.

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Instant;

use livekit_protocol as proto;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use tokio::sync::Notify;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

/// RTP packets received from publishers, process-wide.
pub static PACKETS_IN: AtomicU64 = AtomicU64::new(0);
/// RTP packets written to subscribers, process-wide.
pub static PACKETS_OUT: AtomicU64 = AtomicU64::new(0);

/// One subscriber's copy of a published track.
pub struct DownTrack {
    /// Subscriber participant sid.
    pub subscriber_sid: String,
    /// The local track added to the subscriber's peer connection.
    pub local: Arc<TrackLocalStaticRTP>,
    /// SSRC announced for this copy; packets are rewritten to it.
    pub ssrc: u32,
    /// The subscriber PC's sender of this copy (its negotiated payload types).
    pub sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    /// The payload type the subscriber negotiated for the video codec ([`UNRESOLVED`] until
    /// its answer is applied): payload types are per leg, the publisher's may differ.
    pub payload_type: AtomicU16,
    /// Packets sent (for NACKs) and the subscriber's bandwidth estimate.
    pub feedback: crate::feedback::DownFeedback,
}

/// [`DownTrack::payload_type`] not known yet.
pub const UNRESOLVED: u16 = u16::MAX;

impl DownTrack {
    /// The subscriber's payload type for `codec` (same mime type, the same fmtp preferred),
    /// once negotiated.
    async fn payload_type(&self, codec: &RTCRtpCodec) -> Option<u8> {
        let known = self.payload_type.load(Ordering::Relaxed);
        if known != UNRESOLVED {
            return Some(known as u8);
        }
        let params = self.sender.get_parameters().await.ok()?;
        let same = |c: &&rtc::rtp_transceiver::rtp_sender::RTCRtpCodecParameters| {
            c.rtp_codec.mime_type.eq_ignore_ascii_case(&codec.mime_type)
        };
        let codecs = &params.rtp_parameters.codecs;
        let found = codecs
            .iter()
            .filter(same)
            .find(|c| c.rtp_codec.sdp_fmtp_line == codec.sdp_fmtp_line)
            .or_else(|| codecs.iter().find(same))?;
        self.payload_type.store(found.payload_type as u16, Ordering::Relaxed);
        Some(found.payload_type)
    }
}

/// A track a participant published (after `add_track` and once media arrived).
pub struct PublishedTrack {
    /// `TR_` sid.
    pub sid: String,
    /// Publisher's `PA_` sid.
    pub publisher_sid: String,
    /// The client's id for the track (its msid track id in the publisher SDP).
    pub cid: String,
    info: Mutex<proto::TrackInfo>,
    downtracks: Mutex<Arc<Vec<Arc<DownTrack>>>>,
    subscribed_once: AtomicBool,
    closed: AtomicBool,
    stop: Notify,
    /// Header extension id carrying the audio level on the publisher leg (0: none).
    pub level_ext: AtomicU8,
    level: Mutex<Level>,
    /// The publisher's codec (the subscribers get the same).
    codec: Mutex<Option<RTCRtpCodec>>,
    /// Keyframes are requested from the publisher until then (video, after a subscription).
    keyframes_until: Mutex<Option<Instant>>,
    /// Feedback to the publisher (keyframe requests, NACKs, bandwidth estimates).
    pub feedback: crate::feedback::TrackFeedback,
}

/// How long keyframes are requested after a new subscription, and how often: the new
/// subscriber's transport may connect a little after it was added.
const KEYFRAME_WINDOW: std::time::Duration = std::time::Duration::from_secs(3);
const KEYFRAME_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Loudness seen on a track (from the ssrc-audio-level extension, in -dBov).
struct Level {
    smoothed: f32,
    updated: Option<Instant>,
}

/// Loudness above which (quieter than 50 dB below overload) a track counts as speaking.
const SPEAKING_DBOV: f32 = 50.0;

impl PublishedTrack {
    /// A track described by `info` (sid set), published by `publisher_sid`.
    pub fn new(publisher_sid: &str, cid: &str, info: proto::TrackInfo) -> Arc<Self> {
        Arc::new(Self {
            sid: info.sid.clone(),
            publisher_sid: publisher_sid.to_string(),
            cid: cid.to_string(),
            info: Mutex::new(info),
            downtracks: Mutex::new(Arc::new(Vec::new())),
            subscribed_once: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            stop: Notify::new(),
            level_ext: AtomicU8::new(0),
            level: Mutex::new(Level { smoothed: 127.0, updated: None }),
            codec: Mutex::new(None),
            keyframes_until: Mutex::new(None),
            feedback: Default::default(),
        })
    }

    /// Snapshot of the track info.
    pub fn info(&self) -> proto::TrackInfo {
        self.info.lock().clone()
    }

    /// Changes the track info in place.
    pub fn update_info(&self, f: impl FnOnce(&mut proto::TrackInfo)) {
        f(&mut self.info.lock());
    }

    /// Kind of media.
    pub fn kind(&self) -> proto::TrackType {
        proto::TrackType::try_from(self.info.lock().r#type).unwrap_or(proto::TrackType::Audio)
    }

    /// The publisher's codec, once its media arrived.
    pub fn codec(&self) -> Option<RTCRtpCodec> {
        self.codec.lock().clone()
    }

    /// Records the publisher's codec (and its mime type in the track info).
    pub fn set_codec(&self, codec: RTCRtpCodec) {
        self.update_info(|i| i.mime_type = codec.mime_type.clone());
        *self.codec.lock() = Some(codec);
    }

    /// Starts forwarding to `down`. Returns true on the first subscription ever.
    pub fn add_downtrack(&self, down: Arc<DownTrack>) -> bool {
        if self.kind() == proto::TrackType::Video {
            *self.keyframes_until.lock() = Some(Instant::now() + KEYFRAME_WINDOW);
        }
        let mut guard = self.downtracks.lock();
        let mut list: Vec<_> = guard.iter().filter(|d| d.subscriber_sid != down.subscriber_sid).cloned().collect();
        list.push(down);
        *guard = Arc::new(list);
        !self.subscribed_once.swap(true, Ordering::SeqCst)
    }

    /// The current down tracks.
    pub fn downtracks(&self) -> Arc<Vec<Arc<DownTrack>>> {
        self.downtracks.lock().clone()
    }

    /// Asks the publisher for a keyframe of the layer `subscriber_sid` receives (one layer
    /// today), throttled per track.
    pub async fn request_keyframe(&self, subscriber_sid: &str) {
        if !self.feedback.send_pli(false).await {
            tracing::trace!(track = %self.sid, subscriber = subscriber_sid, "keyframe request throttled");
        }
    }

    /// Stops forwarding to `subscriber_sid`.
    pub fn remove_downtrack(&self, subscriber_sid: &str) {
        let mut guard = self.downtracks.lock();
        let list: Vec<_> = guard.iter().filter(|d| d.subscriber_sid != subscriber_sid).cloned().collect();
        *guard = Arc::new(list);
    }

    /// Whether the track has been unpublished.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Ends forwarding (unpublish or publisher gone).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        *self.downtracks.lock() = Arc::new(Vec::new());
        self.stop.notify_waiters();
        self.stop.notify_one();
    }

    /// Speaking level in 0..1 if the track is speaking now (recent loud packets).
    pub fn speaking_level(&self, now: Instant) -> Option<f32> {
        let l = self.level.lock();
        let fresh = l.updated.is_some_and(|t| now.duration_since(t).as_millis() < 1_000);
        (fresh && l.smoothed < SPEAKING_DBOV).then(|| 10f32.powf(-l.smoothed / 20.0).min(1.0))
    }

    fn record_level(&self, dbov: u8) {
        let mut l = self.level.lock();
        // Attack fast, release slowly, so words do not flicker between packets.
        let v = dbov as f32;
        l.smoothed = if v < l.smoothed { v * 0.6 + l.smoothed * 0.4 } else { v * 0.1 + l.smoothed * 0.9 };
        l.updated = Some(Instant::now());
    }

    /// Reads RTP from the publisher's remote track and writes it to every downtrack,
    /// until the remote track ends or the track is closed.
    pub async fn forward_from(self: Arc<Self>, remote: Arc<dyn TrackRemote>) {
        let mut packets: u64 = 0;
        self.feedback.set_remote(Some(remote.clone()));
        let mut tick = tokio::time::interval(KEYFRAME_EVERY);
        loop {
            if self.is_closed() {
                break;
            }
            let event = tokio::select! {
                ev = remote.poll() => ev,
                _ = self.stop.notified() => break,
                _ = tick.tick() => {
                    self.maybe_request_keyframe().await;
                    continue;
                }
            };
            match event {
                Some(TrackRemoteEvent::OnRtpPacket(packet)) => {
                    packets += 1;
                    let mut packet = packet;
                    let ext = self.level_ext.load(Ordering::Relaxed);
                    if ext != 0 {
                        if let Some(b) = packet.header.get_extension(ext).and_then(|b| b.first().copied()) {
                            self.record_level(b & 0x7f);
                        }
                    }
                    // Extension ids are per-leg; the publisher's are not negotiated downstream.
                    packet.header.extensions.clear();
                    packet.header.extension = false;
                    packet.header.extension_profile = 0;
                    let downs = self.downtracks.lock().clone();
                    PACKETS_IN.fetch_add(1, Ordering::Relaxed);
                    PACKETS_OUT.fetch_add(downs.len() as u64, Ordering::Relaxed);
                    let video_codec = self.codec();
                    if video_codec.is_some() {
                        crate::feedback::count_video_in();
                    }
                    let upstream_seq = packet.header.sequence_number;
                    for down in downs.iter() {
                        let mut p = packet.clone();
                        p.header.ssrc = down.ssrc;
                        if let Some(codec) = &video_codec {
                            match down.payload_type(codec).await {
                                Some(pt) => p.header.payload_type = pt,
                                // Not negotiated yet: the subscriber could not take it anyway.
                                None => continue,
                            }
                        }
                        down.write(p, upstream_seq).await;
                    }
                }
                Some(TrackRemoteEvent::OnEnded) | None => break,
                Some(_) => {}
            }
        }
        self.feedback.set_remote(None);
        tracing::debug!(track = %self.sid, packets, "forwarding ended");
    }

    /// Sends the publisher a PLI while a new subscriber may still lack a keyframe.
    async fn maybe_request_keyframe(&self) {
        let due = self.keyframes_until.lock().is_some_and(|until| Instant::now() < until);
        if due {
            self.feedback.send_pli(true).await;
        }
    }
}
