//! The pacer of an `AudioSource` (the capture stage of the send pipeline): every 20 ms it
//! takes one frame from the queue (silence when the app fed nothing, as libwebrtc does for
//! an idle source, so that a track published before its first frame is seen by the server
//! and its subscribers) and runs it through the `SendPipeline` (encoded once, then
//! transformed, packetised and written per published track). It stops when the source is closed or
//! dropped, or when the queue is empty and no track is published; feeding or publishing
//! starts it again.
//!
//! Discontinuous transmission is off in the encoder whatever the publication's `dtx` option
//! says (the option is passed to the server as `disable_dtx`): ropus's SILK DTX mistakes a
//! steady tone for silence after about a second (−24 dB at the receiver), and dropping
//! silent frames at the packetiser instead makes decoders mis-decode speech that follows a
//! gap (frames near 0 dBFS for a −20 dBFS input, measured with ropus and libopus
//! decoders). Digital silence costs about 20–30 bytes a frame.

use std::sync::Weak;
use std::time::Duration;

use rtc::rtp;

use super::codec::OpusEncoder;
use super::source::{dbov, SourceInner, FRAME_48K, FRAME_MS};
use crate::media::SendPipeline;

/// The next frame: queued audio (a short tail padded with silence), silence while a
/// published track waits, or `None` to stop (source closed, or idle with nothing published).
fn next_frame(src: &SourceInner) -> Option<Vec<i16>> {
    let n = FRAME_48K * src.enc_channels as usize;
    let mut st = src.state.lock();
    if !st.closed && st.queue.is_empty() && src.sinks.lock().iter().any(|s| s.is_published()) {
        return Some(vec![0; n]);
    }
    if st.closed || st.queue.is_empty() {
        st.pacer_started = false;
        return None;
    }
    let take = n.min(st.queue.len());
    let mut pcm: Vec<i16> = st.queue.drain(..take).collect();
    pcm.resize(n, 0);
    Some(pcm)
}

/// Encodes `pcm` once if any track wants it (published, not muted) and sends it to each,
/// with its level in the audio-level header extension.
async fn send(pipeline: &mut SendPipeline<OpusEncoder>, src: &SourceInner, pcm: &[i16], timestamp: u32) {
    let mut targets = src.sinks.lock().clone();
    targets.retain(|s| s.wants());
    if targets.is_empty() {
        return;
    }
    let level =
        [rtp::extension::HeaderExtension::AudioLevel(rtp::extension::audio_level_extension::AudioLevelExtension {
            level: dbov(pcm),
            voice: true,
        })];
    match pipeline.send(pcm, timestamp, &targets, &level).await {
        Ok(()) => {
            src.sent_frames.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Err(e) => tracing::warn!(error = %e, "Opus encode failed"),
    }
}

/// Index of the next 20 ms frame: one after the last, unless the clock ran ahead (the task
/// was late or had stopped), then where the clock is.
fn next_index(last: Option<u64>, elapsed: Duration) -> u64 {
    let wall = elapsed.as_millis() as u64 / FRAME_MS as u64;
    match last {
        Some(last) if wall <= last + 2 => last + 1,
        _ => wall,
    }
}

/// The pacer task. Ends when the source is closed or dropped, or idle with no published track.
pub(super) async fn pace(source: Weak<SourceInner>) {
    let Some(channels) = source.upgrade().map(|s| s.enc_channels) else { return };
    let encoder = match OpusEncoder::new(channels) {
        Ok(e) => e,
        Err(e) => return tracing::error!(error = %e, "cannot create Opus encoder"),
    };
    let mut pipeline = SendPipeline::new(encoder);
    let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut frame: Option<u64> = None;
    loop {
        tick.tick().await;
        let Some(src) = source.upgrade() else { break };
        let Some(pcm) = next_frame(&src) else { break };
        src.changed.notify_waiters();
        let index = next_index(frame, src.epoch.elapsed());
        frame = Some(index);
        let timestamp = src.ts_base.wrapping_add((index * FRAME_48K as u64) as u32);
        send(&mut pipeline, &src, &pcm, timestamp).await;
    }
    if let Some(src) = source.upgrade() {
        src.changed.notify_waiters();
    }
}

#[cfg(test)]
#[path = "pacer_tests.rs"]
mod tests;
