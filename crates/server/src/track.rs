//! Published tracks and RTP forwarding from a publisher to its subscribers.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Instant;

use livekit_protocol as proto;
use tokio::sync::Notify;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
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
}

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

    /// Starts forwarding to `down`. Returns true on the first subscription ever.
    pub fn add_downtrack(&self, down: Arc<DownTrack>) -> bool {
        let mut guard = self.downtracks.lock();
        let mut list: Vec<_> = guard.iter().filter(|d| d.subscriber_sid != down.subscriber_sid).cloned().collect();
        list.push(down);
        *guard = Arc::new(list);
        !self.subscribed_once.swap(true, Ordering::SeqCst)
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
        loop {
            if self.is_closed() {
                break;
            }
            let event = tokio::select! {
                ev = remote.poll() => ev,
                _ = self.stop.notified() => break,
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
                    for down in downs.iter() {
                        let mut p = packet.clone();
                        p.header.ssrc = down.ssrc;
                        // A subscriber whose transport is not up yet just misses packets.
                        let _ = down.local.write_rtp(p).await;
                    }
                }
                Some(TrackRemoteEvent::OnEnded) | None => break,
                Some(_) => {}
            }
        }
        tracing::debug!(track = %self.sid, packets, "forwarding ended");
    }
}
