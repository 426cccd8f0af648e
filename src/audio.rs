//! Audio classes: `NativeAudioSource`, `NativeLocalAudioTrack`, `NativeLocalTrackPublication`,
//! `NativeAudioStream`, `NativeAudioResampler`, and the local publish/unpublish calls.
//! The public API (`AudioSource`, `LocalAudioTrack`, `AudioStream`...) is `js/audio.js`.
//!
//! Handles: an `AudioSource` and an `AudioStream` are counted under their own kinds; a local
//! track under `track` and a local publication under `publication`, like the remote ones.
//! Async calls take their engine objects out of the handles synchronously (on the
//! JavaScript thread) and then run on the addon's runtime, so no JS reference is held
//! across an `await`.

use std::time::Duration;

use lkrtc_engine::audio::{AudioFrame, AudioResampler, AudioSource, AudioStream, LocalAudioTrack, ResamplerQuality};
use lkrtc_engine::media::LocalTrack;
use lkrtc_engine::{LocalTrackPublication, PublishOptions, TrackSource};
use napi::bindgen_prelude::{Int16Array, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use crate::convert::js_id;
use crate::error;
use crate::handles::{Handle, HandleKind};
use crate::participant::NativeLocalParticipant;
use crate::publication::PublicationInfo;
use crate::track::NativeRemoteTrack;

/// A PCM frame crossing to JavaScript (`js/audio.js` wraps it in an `AudioFrame`).
#[napi(object, object_from_js = false)]
pub struct NativeAudioFrame {
    pub data: Int16Array,
    pub sample_rate: u32,
    pub channels: u32,
    pub samples_per_channel: u32,
}

fn to_js(f: AudioFrame) -> NativeAudioFrame {
    NativeAudioFrame {
        sample_rate: f.sample_rate,
        channels: f.channels,
        samples_per_channel: f.samples_per_channel,
        data: Int16Array::new(f.data),
    }
}

fn frame(data: &[i16], sample_rate: u32, channels: u32, samples_per_channel: u32) -> AudioFrame {
    AudioFrame { data: data.to_vec(), sample_rate, channels, samples_per_channel }
}

/// Runs `f` inside the addon's tokio runtime (engine calls that may spawn tasks); fails
/// once the runtime is gone (the process is exiting).
pub(crate) fn rt<T>(f: impl FnOnce() -> T) -> crate::error::Result<T> {
    crate::runtime::enter(f).ok_or_else(crate::runtime::gone)
}

pub(crate) fn source_from(v: u32) -> TrackSource {
    match v {
        1 => TrackSource::Camera,
        2 => TrackSource::Microphone,
        3 => TrackSource::ScreenShare,
        4 => TrackSource::ScreenShareAudio,
        _ => TrackSource::Unknown,
    }
}

// ---------------------------------------------------------------------------------------

/// Native side of `AudioSource`.
#[napi]
pub struct NativeAudioSource {
    handle: Handle<AudioSource>,
}

#[napi]
impl NativeAudioSource {
    /// `queue_ms` must be a finite number ≥ 0 (fractions are rounded down).
    #[napi(constructor, catch_unwind)]
    pub fn new(sample_rate: u32, channels: u32, queue_ms: f64) -> crate::error::Result<Self> {
        if !queue_ms.is_finite() || queue_ms < 0.0 {
            let msg = format!("queueSize must be a finite number of milliseconds >= 0, not {queue_ms}");
            return Err(error::engine(lkrtc_engine::EngineError::InvalidArgument(msg)));
        }
        let queue = queue_ms.min(u32::MAX as f64) as u32;
        let s = rt(|| AudioSource::new(sample_rate, channels, queue))?.map_err(error::engine)?;
        Ok(Self { handle: Handle::new(HandleKind::AudioSource, "AudioSource", s) })
    }

    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    /// Queues one frame; the promise resolves once it is queued (waits while the queue is full).
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn capture_frame<'env>(
        &self,
        env: &'env Env,
        data: Int16Array,
        sample_rate: u32,
        channels: u32,
        samples_per_channel: u32,
    ) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let source = self.handle.get()?;
        let f = frame(&data, sample_rate, channels, samples_per_channel);
        error::promise(env, Ok(async move { source.capture_frame(&f).await.map_err(error::engine) }))
    }

    #[napi(catch_unwind)]
    pub fn clear_queue(&self) -> crate::error::Result<()> {
        self.handle.with(|s| rt(|| s.clear_queue()))?
    }

    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn wait_for_playout<'env>(&self, env: &'env Env) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let source = self.handle.get()?;
        error::promise_done(env, async move { source.wait_for_playout().await })
    }

    /// Milliseconds queued and not yet sent.
    #[napi(getter, catch_unwind)]
    pub fn queued_duration(&self) -> crate::error::Result<f64> {
        self.handle.with(|s| s.queued_duration_ms())
    }

    /// Closes the source and frees it; false if it was already closed.
    #[napi(catch_unwind)]
    pub fn close(&self) -> bool {
        let _ = self.handle.with(|s| rt(|| s.close()));
        self.handle.dispose()
    }
}

// ---------------------------------------------------------------------------------------

/// Native side of `LocalAudioTrack`: an engine `LocalTrack` fed by an audio source (what
/// publishing takes, whatever the kind).
#[napi]
pub struct NativeLocalAudioTrack {
    handle: Handle<LocalTrack>,
}

#[napi]
impl NativeLocalAudioTrack {
    #[napi(constructor, catch_unwind)]
    pub fn new(name: String, source: &NativeAudioSource) -> crate::error::Result<Self> {
        let s = source.handle.get()?;
        let t = rt(|| LocalAudioTrack::new(&name, &s))?.map_err(error::engine)?;
        Ok(Self { handle: Handle::new(HandleKind::Track, "LocalAudioTrack", t.into()) })
    }

    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    #[napi(getter, catch_unwind)]
    pub fn name(&self) -> crate::error::Result<String> {
        self.handle.with(|t| t.name())
    }

    /// The server sid once published.
    #[napi(getter, catch_unwind)]
    pub fn sid(&self) -> crate::error::Result<Option<String>> {
        self.handle.with(|t| t.sid())
    }

    /// Stops feeding the track and frees it; false if already disposed.
    #[napi(catch_unwind)]
    pub fn dispose(&self) -> bool {
        let _ = self.handle.with(|t| rt(|| t.close()));
        self.handle.dispose()
    }
}

// ---------------------------------------------------------------------------------------

/// Native side of `LocalTrackPublication`.
#[napi]
pub struct NativeLocalTrackPublication {
    pub(crate) id: u64,
    pub(crate) handle: Handle<LocalTrackPublication>,
}

#[napi]
impl NativeLocalTrackPublication {
    #[napi(getter, catch_unwind)]
    pub fn id(&self) -> f64 {
        js_id(self.id)
    }

    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    #[napi(catch_unwind)]
    pub fn info(&self) -> crate::error::Result<PublicationInfo> {
        self.handle.with(|p| PublicationInfo::of(&p.info(), p.muted()))
    }

    #[napi(getter, catch_unwind)]
    pub fn muted(&self) -> crate::error::Result<bool> {
        self.handle.with(|p| p.muted())
    }

    #[napi(getter, catch_unwind)]
    pub fn mime_type(&self) -> crate::error::Result<String> {
        self.handle.with(|p| p.mime_type())
    }

    /// Resolves once a first participant subscribed.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn wait_for_subscription<'env>(
        &self,
        env: &'env Env,
        timeout_ms: u32,
    ) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let p = self.handle.get()?;
        error::promise(
            env,
            Ok(async move {
                p.wait_for_subscription(Duration::from_millis(timeout_ms as u64)).await.map_err(error::engine)
            }),
        )
    }

    #[napi(catch_unwind)]
    pub fn dispose(&self) -> bool {
        self.handle.dispose()
    }
}

/// Options of `publishTrack` (the official `TrackPublishOptions`).
#[napi(object)]
pub struct NativePublishOptions {
    /// `TrackSource` value (default microphone for audio, camera for video).
    pub source: Option<u32>,
    pub dtx: Option<bool>,
    /// Accepted (default true) but RED is not negotiated: tracks are sent as plain Opus.
    pub red: Option<bool>,
    pub stream: Option<String>,
    /// `VideoCodec` value (0 VP8, the default; 1 H.264; 2 AV1; 3 VP9).
    pub video_codec: Option<u32>,
    /// `videoEncoding.maxBitrate`, bits per second.
    pub max_bitrate: Option<f64>,
    /// `videoEncoding.maxFramerate`.
    pub max_framerate: Option<f64>,
    pub simulcast: Option<bool>,
}

fn video_codec(v: u32) -> crate::error::Result<lkrtc_engine::VideoCodec> {
    use lkrtc_engine::VideoCodec as C;
    match v {
        0 => Ok(C::Vp8),
        1 => Ok(C::H264),
        2 => Ok(C::Av1),
        3 => Ok(C::Vp9),
        _ => Err(error::engine(lkrtc_engine::EngineError::InvalidArgument(format!("videoCodec {v}")))),
    }
}

fn publish_options(
    o: Option<NativePublishOptions>,
    default_source: TrackSource,
) -> crate::error::Result<PublishOptions> {
    let Some(o) = o else { return Ok(PublishOptions { source: default_source, ..Default::default() }) };
    let max_bitrate = match o.max_bitrate {
        Some(b) if !(b.is_finite() && b >= 0.0) => {
            let msg = format!("videoEncoding.maxBitrate must be a finite number >= 0, not {b}");
            return Err(error::engine(lkrtc_engine::EngineError::InvalidArgument(msg)));
        }
        Some(b) if b > 0.0 => Some(b.min(u32::MAX as f64) as u32),
        _ => None,
    };
    Ok(PublishOptions {
        source: o.source.map(source_from).unwrap_or(default_source),
        dtx: o.dtx.unwrap_or(true),
        red: o.red.unwrap_or(true),
        stream: o.stream.unwrap_or_default(),
        video_codec: o.video_codec.map(video_codec).transpose()?.unwrap_or_default(),
        max_bitrate,
        max_framerate: o.max_framerate.filter(|f| *f != 0.0),
        simulcast: o.simulcast.unwrap_or(false),
    })
}

/// Publishes `track` as `participant`; resolves with the publication once the server accepted it.
pub(crate) fn publish<'env>(
    env: &'env Env,
    participant: &NativeLocalParticipant,
    track: crate::error::Result<LocalTrack>,
    options: Option<NativePublishOptions>,
    default_source: TrackSource,
) -> crate::error::Result<PromiseRaw<'env, NativeLocalTrackPublication>> {
    let opts = publish_options(options, default_source)?;
    let published = participant.engine().and_then(|p| Ok(p.publish_track(&track?, opts)));
    let published = error::replied(published).map(|published| async move {
        let publication = published.await?;
        Ok(NativeLocalTrackPublication {
            id: publication.id(),
            handle: Handle::new(HandleKind::Publication, "LocalTrackPublication", publication),
        })
    });
    error::promise(env, published)
}

/// Publishes the audio `track` as `participant`; resolves with the publication once the
/// server accepted it.
#[napi(catch_unwind, ts_return_type = "Promise<NativeLocalTrackPublication>")]
pub fn publish_local_track<'env>(
    env: &'env Env,
    participant: &NativeLocalParticipant,
    track: &NativeLocalAudioTrack,
    options: Option<NativePublishOptions>,
) -> crate::error::Result<PromiseRaw<'env, NativeLocalTrackPublication>> {
    publish(env, participant, track.handle.get(), options, TrackSource::Microphone)
}

/// Unpublishes the track `sid` of `participant`.
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn unpublish_local_track<'env>(
    env: &'env Env,
    participant: &NativeLocalParticipant,
    sid: String,
) -> crate::error::Result<PromiseRaw<'env, ()>> {
    error::promise(env, error::replied(participant.engine().map(|p| p.unpublish_track(&sid))))
}

/// Mutes or unmutes the published track `sid` of `participant`.
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn set_local_track_muted<'env>(
    env: &'env Env,
    participant: &NativeLocalParticipant,
    sid: String,
    muted: bool,
) -> crate::error::Result<PromiseRaw<'env, ()>> {
    error::promise(env, error::replied(participant.engine().map(|p| p.set_track_muted(&sid, muted))))
}

// ---------------------------------------------------------------------------------------

/// Native side of `AudioStream`.
#[napi]
pub struct NativeAudioStream {
    handle: Handle<std::sync::Arc<AudioStream>>,
}

#[napi]
impl NativeAudioStream {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        track: &NativeRemoteTrack,
        sample_rate: u32,
        channels: u32,
        frame_ms: u32,
    ) -> crate::error::Result<Self> {
        let t = track.engine()?;
        let s = rt(|| t.audio_stream(sample_rate, channels, frame_ms))?.map_err(error::engine)?;
        Ok(Self { handle: Handle::new(HandleKind::AudioStream, "AudioStream", std::sync::Arc::new(s)) })
    }

    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    /// The next frame, or null once the stream ended.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeAudioFrame | null>")]
    pub fn next<'env>(&self, env: &'env Env) -> crate::error::Result<PromiseRaw<'env, Option<NativeAudioFrame>>> {
        let s = self.handle.get()?;
        env.spawn_future_with_callback(async move { Ok(s.next().await) }, |_env, f| Ok(f.map(to_js)))
            .map_err(error::internal)
    }

    /// Ends the stream and frees it; false if already disposed.
    #[napi(catch_unwind)]
    pub fn close(&self) -> bool {
        let _ = self.handle.with(|s| rt(|| s.close()));
        self.handle.dispose()
    }
}

// ---------------------------------------------------------------------------------------

/// Native side of `AudioResampler` (not a handle: it owns no connection state).
#[napi]
pub struct NativeAudioResampler {
    inner: std::sync::Mutex<AudioResampler>,
}

#[napi]
impl NativeAudioResampler {
    /// `quality` is `AudioResamplerQuality` (0 QUICK … 4 VERY_HIGH; default MEDIUM).
    #[napi(constructor, catch_unwind)]
    pub fn new(input_rate: u32, output_rate: u32, channels: u32, quality: Option<u32>) -> crate::error::Result<Self> {
        let q = quality.map(ResamplerQuality::from_index).transpose().map_err(error::engine)?.unwrap_or_default();
        let r = AudioResampler::with_quality(input_rate, channels, output_rate, channels, q).map_err(error::engine)?;
        Ok(Self { inner: std::sync::Mutex::new(r) })
    }

    /// Returns the buffered tail; the resampler then starts afresh.
    #[napi(catch_unwind)]
    pub fn flush(&self) -> Int16Array {
        let mut r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Int16Array::new(r.flush())
    }

    /// Feeds interleaved samples; returns what is ready.
    #[napi(catch_unwind)]
    pub fn push(&self, data: Int16Array) -> Int16Array {
        let mut r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Int16Array::new(r.push(&data))
    }
}
