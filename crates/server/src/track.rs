//! Published tracks and RTP forwarding from a publisher to its subscribers.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Instant;

use crate::forward::keyframe::VideoCodec;
use crate::forward::selector::{Incoming, Selector};
use crate::forward::{KeyframeLimiter, Layers, MAX_LAYERS};

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
    /// Which publisher layer this subscriber gets, and its renumbering.
    selector: Mutex<Selector>,
    /// Keyframes are requested for this subscriber until then: its transport may connect a
    /// little after it was added, and miss the first one.
    fresh_until: Instant,
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
    /// The publisher's layers (one unless simulcast), as media arrives.
    layers: Mutex<Layers>,
    /// Layers the publisher announced (`TrackInfo.layers`, 1 to 3).
    layer_count: usize,
    /// The highest layer each subscriber asked for (`UpdateTrackSettings`; absent: the top).
    wants: Mutex<HashMap<String, Option<usize>>>,
    /// Feedback to the publisher (its track once media arrived: keyframe requests, NACKs,
    /// bandwidth estimates).
    pub feedback: crate::feedback::TrackFeedback,
    /// Keyframe requests per layer, bounded in rate.
    plis: Mutex<KeyframeLimiter>,
    /// Wakes the forwarding task to request keyframes now (a subscriber negotiated or
    /// changed layer), rather than at its next check.
    kick: Notify,
}

/// How long keyframes are requested after a new subscription: the new subscriber's
/// transport may connect a little after it was added.
const KEYFRAME_WINDOW: std::time::Duration = std::time::Duration::from_secs(3);
/// At most one keyframe request per layer this often (a publisher that never sends a
/// keyframe is asked at this rate, no faster).
const KEYFRAME_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// How often pending keyframe requests are looked at.
const KEYFRAME_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

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
        let layer_count = info.layers.len().clamp(1, MAX_LAYERS);
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
            layers: Mutex::new(Layers::default()),
            layer_count,
            wants: Mutex::new(HashMap::new()),
            feedback: Default::default(),
            plis: Mutex::new(KeyframeLimiter::default()),
            kick: Notify::new(),
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

    /// A subscriber's copy of this track, sending on `local` with `ssrc` through `sender`;
    /// it gets the layer the subscriber asked for (the top one by default).
    pub fn new_downtrack(
        &self,
        subscriber_sid: &str,
        local: Arc<TrackLocalStaticRTP>,
        ssrc: u32,
        sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    ) -> Arc<DownTrack> {
        let max = self.wants.lock().get(subscriber_sid).copied().unwrap_or(Some(self.layer_count - 1));
        let clock_rate = if self.kind() == proto::TrackType::Video { 90_000 } else { 48_000 };
        Arc::new(DownTrack {
            subscriber_sid: subscriber_sid.to_string(),
            local,
            ssrc,
            sender,
            payload_type: AtomicU16::new(UNRESOLVED),
            selector: Mutex::new(Selector::new(max, clock_rate)),
            fresh_until: Instant::now() + KEYFRAME_WINDOW,
            feedback: crate::feedback::DownFeedback::new(self.kind() == proto::TrackType::Video),
        })
    }

    /// Applies a subscriber's `UpdateTrackSettings` (quality, dimensions, disabled): the
    /// layer it gets from now on (switching on the next keyframe), kept for a later
    /// subscription too.
    pub fn update_settings(&self, subscriber_sid: &str, settings: &proto::UpdateTrackSettings) {
        let max = crate::forward::wanted_layer(&self.info.lock().layers, settings);
        tracing::debug!(track = %self.sid, subscriber = %subscriber_sid, ?max, quality = settings.quality, width = settings.width, height = settings.height, disabled = settings.disabled, "track settings");
        self.wants.lock().insert(subscriber_sid.to_string(), max);
        if let Some(down) = self.downtrack(subscriber_sid) {
            down.selector.lock().set_max(max);
            self.kick.notify_one();
        }
    }

    fn downtrack(&self, subscriber_sid: &str) -> Option<Arc<DownTrack>> {
        self.downtracks.lock().iter().find(|d| d.subscriber_sid == subscriber_sid).cloned()
    }

    /// Starts forwarding to `down`. Returns true on the first subscription ever.
    pub fn add_downtrack(&self, down: Arc<DownTrack>) -> bool {
        let mut guard = self.downtracks.lock();
        let mut list: Vec<_> = guard.iter().filter(|d| d.subscriber_sid != down.subscriber_sid).cloned().collect();
        list.push(down);
        *guard = Arc::new(list);
        !self.subscribed_once.swap(true, Ordering::SeqCst)
    }

    /// Whether the publisher sends several layers.
    pub fn is_simulcast(&self) -> bool {
        self.layer_count > 1
    }

    /// The current down tracks.
    pub fn downtracks(&self) -> Arc<Vec<Arc<DownTrack>>> {
        self.downtracks.lock().clone()
    }

    /// Stops forwarding to `subscriber_sid`.
    pub fn remove_downtrack(&self, subscriber_sid: &str) {
        self.wants.lock().remove(subscriber_sid);
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

    /// Reads RTP from the publisher's remote track (every simulcast layer: one track, one
    /// SSRC per RID) and writes it to every downtrack, each getting its own layer, until
    /// the remote track ends or the track is closed.
    pub async fn forward_from(self: Arc<Self>, remote: Arc<dyn TrackRemote>) {
        self.feedback.set_remote(Some(remote.clone()));
        let mut rx = Receive { packets: 0, layer_of: HashMap::new() };
        let mut tick = tokio::time::interval(KEYFRAME_CHECK);
        loop {
            if self.is_closed() {
                break;
            }
            let event = tokio::select! {
                ev = remote.poll() => ev,
                _ = self.stop.notified() => break,
                _ = tick.tick() => {
                    self.request_keyframes().await;
                    continue;
                }
                _ = self.kick.notified() => {
                    self.request_keyframes().await;
                    continue;
                }
            };
            match event {
                Some(TrackRemoteEvent::OnRtpPacket(packet)) => self.on_packet(&mut rx, remote.as_ref(), packet).await,
                Some(TrackRemoteEvent::OnEnded) | None => break,
                Some(_) => {}
            }
        }
        self.feedback.set_remote(None);
        tracing::debug!(track = %self.sid, packets = rx.packets, "forwarding ended");
    }

    /// The layer of packets on `ssrc`: from its RID for simulcast, the only one otherwise.
    /// `None` (remembered) for a RID the publisher did not announce.
    async fn layer_of(&self, rx: &mut Receive, remote: &dyn TrackRemote, ssrc: u32) -> Option<usize> {
        if let Some(layer) = rx.layer_of.get(&ssrc) {
            return *layer;
        }
        let repair = remote.codec(ssrc).await.is_some_and(|c| {
            let name = c.mime_type.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
            matches!(name.as_str(), "rtx" | "red" | "ulpfec" | "flexfec-03")
        });
        let layer = match remote.rid(ssrc).await {
            // Repair flows (RTX, FEC) are the publisher leg's business, not media.
            _ if repair => None,
            Some(rid) => {
                let layer = crate::forward::rid_layer(&rid, self.layer_count);
                if layer.is_none() {
                    tracing::debug!(track = %self.sid, %rid, ssrc, "media on an unknown RID ignored");
                }
                layer
            }
            None if self.layer_count == 1 => Some(0),
            // No RID (yet): a single stream, the top layer; asked again on the next packet.
            None => return Some(self.layer_count - 1),
        };
        // Bounded: a hostile publisher cannot grow this past a few entries per RID.
        if rx.layer_of.len() < 16 {
            rx.layer_of.insert(ssrc, layer);
        }
        if let Some(layer) = layer {
            self.update_info(|i| {
                if let Some(l) = i.layers.get_mut(layer) {
                    l.ssrc = ssrc;
                }
            });
        }
        layer
    }

    /// Forwards one publisher packet to every subscriber that takes its layer now.
    async fn on_packet(&self, rx: &mut Receive, remote: &dyn TrackRemote, mut packet: rtc::rtp::Packet) {
        let arrived = Instant::now();
        rx.packets += 1;
        PACKETS_IN.fetch_add(1, Ordering::Relaxed);
        let Some(layer) = self.layer_of(rx, remote, packet.header.ssrc).await else { return };
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
        let now = Instant::now();
        let (live, late) = {
            let mut layers = self.layers.lock();
            let late = layers.mark(layer, packet.header.ssrc, packet.header.sequence_number, now);
            (layers.live(now), late)
        };
        let codec = self.codec();
        if codec.is_some() {
            crate::feedback::count_video_in();
        }
        let video = codec.as_ref().and_then(|c| VideoCodec::from_mime(&c.mime_type));
        // Audio (and a video codec the server cannot read) switches anywhere; a keyframe
        // whose start came late does not (its rest went by unforwarded).
        let keyframe = !late && video.is_none_or(|c| c.is_keyframe(&packet.payload));
        let vp8 = (video == Some(VideoCodec::Vp8)).then(|| crate::forward::vp8::parse(&packet.payload)).flatten();
        let incoming =
            Incoming { layer, keyframe, seq: packet.header.sequence_number, ts: packet.header.timestamp, vp8 };
        let downs = self.downtracks.lock().clone();
        for down in downs.iter() {
            // Not negotiated yet: the subscriber could not take the packet, and must not
            // count as having started on a keyframe it never got.
            let payload_type = match &codec {
                Some(codec) => {
                    let before = down.payload_type.load(Ordering::Relaxed);
                    let Some(pt) = down.payload_type(codec).await else { continue };
                    if before == UNRESOLVED {
                        // Just negotiated: its first keyframe is wanted now.
                        self.kick.notify_one();
                    }
                    Some(pt)
                }
                None => None,
            };
            let Some(out) = down.selector.lock().on_packet(incoming, live, now) else { continue };
            let mut p = packet.clone();
            p.header.ssrc = down.ssrc;
            p.header.sequence_number = out.seq;
            p.header.timestamp = out.ts;
            if let Some(pt) = payload_type {
                p.header.payload_type = pt;
            }
            if let Some(ids) = out.vp8 {
                let mut payload = bytes::BytesMut::from(&p.payload[..]);
                crate::forward::vp8::write(&mut payload, ids);
                p.payload = payload.freeze();
            }
            PACKETS_OUT.fetch_add(1, Ordering::Relaxed);
            down.write(p, packet.header.sequence_number).await;
        }
        if codec.is_some() {
            crate::feedback::count_forward_time(arrived.elapsed());
        }
    }

    /// Asks the publisher for the keyframes subscribers wait for: of the layer a
    /// subscriber is switching to, and (for a few seconds after it subscribed) of the one
    /// it receives.
    async fn request_keyframes(&self) {
        if self.kind() != proto::TrackType::Video {
            return;
        }
        let now = Instant::now();
        let live = self.layers.lock().live(now);
        let mut wanted = HashSet::new();
        for down in self.downtracks.lock().iter() {
            // A keyframe before the subscriber negotiated would be lost on it.
            if down.payload_type.load(Ordering::Relaxed) == UNRESOLVED {
                continue;
            }
            let selector = down.selector.lock();
            let layer =
                if now < down.fresh_until { selector.keyframe_layer(live) } else { selector.keyframe_wanted(live) };
            wanted.extend(layer);
        }
        for layer in wanted {
            self.send_pli(layer, now).await;
        }
    }

    /// Forces a keyframe request for the layer `subscriber_sid` receives (or is switching
    /// to), within the per-layer rate limit. For keyframe requests from subscribers.
    pub async fn request_keyframe(&self, subscriber_sid: &str) {
        let Some(down) = self.downtrack(subscriber_sid) else { return };
        let now = Instant::now();
        let live = self.layers.lock().live(now);
        let layer = down.selector.lock().keyframe_layer(live);
        if let Some(layer) = layer {
            self.send_pli(layer, now).await;
        }
    }

    /// Sends a PLI for `layer` unless one went less than [`KEYFRAME_EVERY`] ago.
    async fn send_pli(&self, layer: usize, now: Instant) {
        let Some(media_ssrc) = self.layers.lock().ssrc(layer) else { return };
        if !self.plis.lock().allow(layer, now, KEYFRAME_EVERY) {
            return;
        }
        let Some(remote) = self.feedback.remote() else { return };
        let pli =
            rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication { sender_ssrc: 0, media_ssrc };
        tracing::debug!(track = %self.sid, layer, media_ssrc, "keyframe requested");
        match remote.write_rtcp(vec![Box::new(pli)]).await {
            Ok(()) => crate::feedback::count_keyframe_request_sent(),
            Err(e) => tracing::debug!(track = %self.sid, error = %e, "keyframe request failed"),
        }
    }

    /// Asks the publisher to resend `upstream` (its sequence numbers), on the layer
    /// `subscriber_sid` receives: packets a subscriber lost that the server never had.
    pub async fn relay_nack(&self, subscriber_sid: &str, upstream: &[u16]) {
        let Some(down) = self.downtrack(subscriber_sid) else { return };
        let live = self.layers.lock().live(Instant::now());
        let layer = down.selector.lock().keyframe_layer(live);
        let Some(media_ssrc) = layer.and_then(|l| self.layers.lock().ssrc(l)) else { return };
        self.feedback.relay_nack(media_ssrc, upstream).await;
    }
}

/// The forwarding loop's own state.
struct Receive {
    packets: u64,
    /// Layer of each SSRC seen (`None`: an unknown RID, ignored).
    layer_of: HashMap<u32, Option<usize>>,
}
