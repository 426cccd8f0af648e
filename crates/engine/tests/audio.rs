//! Audio end to end through an in-process lkrtc-server: a source publishes a tone, the
//! other room hears it at the asked rate, and unpublishing ends the stream; frame
//! transforms on both ends carry it through.

use std::sync::Arc;
use std::time::Duration;

use lkrtc_engine::audio::{AudioFrame, AudioSource, LocalAudioTrack};
use lkrtc_engine::media::{EncodedFrame, FrameInfo, FrameTransform};
use lkrtc_engine::{PublishOptions, RoomEvent};
mod common;

use common::{join, next_event, server};

/// Feeds a tone in real time until the returned handle is aborted.
fn feed_tone(source: AudioSource, freq: f32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (rate, ch) = (source.sample_rate(), source.channels());
        let n = rate / 100;
        let mut t = 0u64;
        loop {
            let mut data = Vec::with_capacity((n * ch) as usize);
            for _ in 0..n {
                let v = ((t as f32 / rate as f32 * freq * std::f32::consts::TAU).sin() * 12_000.0) as i16;
                t += 1;
                for _ in 0..ch {
                    data.push(v);
                }
            }
            let frame = AudioFrame { data, sample_rate: rate, channels: ch, samples_per_channel: n };
            if source.capture_frame(&frame).await.is_err() {
                break;
            }
        }
    })
}

/// A 48 kHz mono source (200 ms queue) and a track `name` on it.
fn mono_track(name: &str) -> (AudioSource, LocalAudioTrack) {
    let source = AudioSource::new(48_000, 1, 200).unwrap();
    let track = LocalAudioTrack::new(name, &source).unwrap();
    (source, track)
}

/// Frequency by autocorrelation peak.
fn detect(samples: &[i16], rate: u32) -> f32 {
    let x: Vec<f32> = samples.iter().map(|&s| s as f32).collect();
    let (min_lag, max_lag) = ((rate / 2000) as usize, (rate / 60) as usize);
    let mut best = (0, f32::MIN);
    for lag in min_lag..max_lag {
        let c: f32 = x.iter().zip(&x[lag..]).map(|(a, b)| a * b).sum();
        if c > best.1 {
            best = (lag, c);
        }
    }
    rate as f32 / best.0 as f32
}

#[tokio::test]
async fn tone_crosses_the_room_at_every_rate_and_unpublish_ends_the_stream() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let server = server().await;
    let (a, _a_ev) = join(&server, "speaker", "audio").await;
    let (b, mut b_ev) = join(&server, "listener", "audio").await;

    let source = AudioSource::new(48_000, 1, 200).unwrap();
    let feeder = feed_tone(source.clone(), 440.0);
    let track = LocalAudioTrack::new("tone", &source).unwrap();
    let publication = a.local_participant().publish_track(&track, PublishOptions::default()).await.unwrap();
    assert!(publication.sid().starts_with("TR_"));

    let track_b = loop {
        if let RoomEvent::TrackSubscribed { track, .. } = next_event(&mut b_ev).await {
            break track;
        }
    };
    publication.wait_for_subscription(Duration::from_secs(5)).await.unwrap();
    // The server hears the level we attach to each packet: the speaker is announced.
    let speakers = loop {
        if let RoomEvent::ActiveSpeakersChanged { speakers } = next_event(&mut b_ev).await {
            if !speakers.is_empty() {
                break speakers;
            }
        }
    };
    assert!(matches!(&speakers[0], lkrtc_engine::Participant::Remote(p) if p.identity() == "speaker"));
    for (rate, ch) in [(48_000, 1), (48_000, 2), (24_000, 1), (16_000, 1)] {
        let stream = track_b.audio_stream(rate, ch, 10).unwrap();
        let mut samples = Vec::new();
        let mut frames = 0;
        while frames < 150 {
            let f = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap().unwrap();
            assert_eq!((f.sample_rate, f.channels, f.samples_per_channel), (rate, ch, rate / 100));
            frames += 1;
            if frames > 50 {
                samples.extend(f.data.iter().step_by(ch as usize));
            }
        }
        let freq = detect(&samples[..rate as usize / 4], rate);
        assert!((freq - 440.0).abs() < 10.0, "{rate}/{ch}: detected {freq} Hz");
        let silent = samples.chunks(rate as usize / 100).filter(|c| c.iter().all(|s| s.abs() < 500)).count();
        assert!(silent * 10 < samples.len() / (rate as usize / 100), "{rate}/{ch}: {silent} silent frames");
    }

    // Unsubscribe and subscribe again: the track comes back.
    let remote_pub = b.remote_participants()[0].track_publications()[0].clone();
    remote_pub.set_subscribed(false).await.unwrap();
    assert!(matches!(next_event(&mut b_ev).await, RoomEvent::TrackUnsubscribed { .. }));
    remote_pub.set_subscribed(true).await.unwrap();
    let track_b = loop {
        if let RoomEvent::TrackSubscribed { track, .. } = next_event(&mut b_ev).await {
            break track;
        }
    };
    let stream = track_b.audio_stream(48_000, 1, 20).unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap().is_some());
    a.local_participant().unpublish_track(&publication.sid()).await.unwrap();
    let mut order = Vec::new();
    while order.len() < 2 {
        match next_event(&mut b_ev).await {
            RoomEvent::TrackUnsubscribed { .. } => order.push("unsubscribed"),
            RoomEvent::TrackUnpublished { .. } => order.push("unpublished"),
            _ => {}
        }
    }
    assert_eq!(order, ["unsubscribed", "unpublished"]);
    let ended = tokio::time::timeout(Duration::from_secs(5), async { while stream.next().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the stream must end after unpublish");
    assert!(a.local_participant().track_publications().is_empty());

    // Bad frames are typed errors; a closed source refuses frames.
    let wrong_rate = AudioFrame::silence(16_000, 1, 160);
    assert_eq!(source.capture_frame(&wrong_rate).await.unwrap_err().code(), "ERR_INVALID_ARG");
    let mut short = AudioFrame::silence(48_000, 1, 480);
    short.data.truncate(100);
    assert_eq!(source.capture_frame(&short).await.unwrap_err().code(), "ERR_INVALID_ARG");
    source.close();
    feeder.await.unwrap();
    assert_eq!(source.capture_frame(&AudioFrame::silence(48_000, 1, 480)).await.unwrap_err().code(), "ERR_DISPOSED");

    a.disconnect().await;
    b.disconnect().await;
    server.shutdown().await;
}

#[tokio::test]
async fn capture_applies_backpressure_instead_of_growing() {
    let source = AudioSource::new(48_000, 1, 100).unwrap();
    let frame = AudioFrame::silence(48_000, 1, 480);
    // 300 ms of audio into a 100 ms queue drained in real time: the producer has to
    // wait for roughly 200 ms, and the queue never holds more than its size.
    let started = std::time::Instant::now();
    for _ in 0..30 {
        source.capture_frame(&frame).await.unwrap();
        assert!(source.queued_duration_ms() <= 100.0 + 1e-6);
    }
    assert!(started.elapsed() >= Duration::from_millis(150), "only {:?}", started.elapsed());
    source.clear_queue();
    assert_eq!(source.queued_duration_ms(), 0.0);
    tokio::time::timeout(Duration::from_secs(1), source.wait_for_playout()).await.unwrap();
    source.close();
}

#[tokio::test]
async fn a_track_published_before_its_first_frame_reaches_subscribers_and_stops_on_unpublish() {
    let server = server().await;
    let (a, _a_ev) = join(&server, "early", "audio-early").await;
    let (_b, mut b_ev) = join(&server, "observer", "audio-early").await;
    let (source, track) = mono_track("idle");
    assert!(!source.is_pacing(), "nothing is sent before publishing");
    let publication = a.local_participant().publish_track(&track, PublishOptions::default()).await.unwrap();
    // No frame was ever captured: the pacer's silence makes the track visible.
    let remote = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let RoomEvent::TrackSubscribed { track, .. } = next_event(&mut b_ev).await {
                break track;
            }
        }
    })
    .await
    .expect("the observer must see a track published before its first frame");
    assert!(source.sent_frames() > 0 && source.is_pacing());
    // Then the app starts feeding: the tone arrives.
    let stream = remote.audio_stream(48_000, 1, 10).unwrap();
    let feeder = feed_tone(source.clone(), 440.0);
    let mut samples = Vec::new();
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(f) = stream.next().await {
            samples.extend(f.data);
            if samples.len() >= 48_000 && detect(&samples[samples.len() - 12_000..], 48_000) > 400.0 {
                break;
            }
        }
    })
    .await;
    assert!(heard.is_ok(), "the tone fed after subscription never arrived");
    feeder.abort();
    let _ = feeder.await;
    // Unpublished and idle: the pacer stops, nothing is sent any more.
    a.local_participant().unpublish_track(&publication.sid()).await.unwrap();
    source.clear_queue();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!source.is_pacing(), "an idle source with nothing published must stop its pacer");
    let sent = source.sent_frames();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(source.sent_frames(), sent);
    a.disconnect().await;
    server.shutdown().await;
}

/// XORs every byte of each frame (its own inverse) and remembers who it saw.
struct Xor(parking_lot::Mutex<Option<String>>);

impl FrameTransform for Xor {
    fn transform(&self, frame: EncodedFrame, info: &FrameInfo<'_>) -> Option<EncodedFrame> {
        *self.0.lock() =
            Some(format!("{:?} {} {} {}", info.direction, info.codec, info.track_sid, info.participant_identity));
        let data: Vec<u8> = frame.data.iter().map(|b| b ^ 0x5a).collect();
        Some(EncodedFrame { data: data.into(), timestamp: frame.timestamp })
    }
}

#[tokio::test]
async fn frame_transforms_on_both_ends_carry_the_tone_through_the_server() {
    // The transform is installed before the track is ever published.
    let (source, track) = mono_track("sealed");
    let send = Arc::new(Xor(Default::default()));
    track.set_frame_transform(Some(send.clone()));
    let server = server().await;
    let (a, _a_ev) = join(&server, "speaker", "audio-transform").await;
    let (b, mut b_ev) = join(&server, "listener", "audio-transform").await;
    let publication = a.local_participant().publish_track(&track, PublishOptions::default()).await.unwrap();
    let remote = loop {
        if let RoomEvent::TrackSubscribed { track, .. } = next_event(&mut b_ev).await {
            break track;
        }
    };
    let receive = Arc::new(Xor(Default::default()));
    remote.set_frame_transform(Some(receive.clone()));
    let stream = remote.audio_stream(48_000, 1, 10).unwrap();
    let feeder = feed_tone(source.clone(), 440.0);
    let mut samples = Vec::new();
    while samples.len() < 48_000 {
        samples.extend(tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap().unwrap().data);
    }
    let freq = detect(&samples[24_000..36_000], 48_000);
    assert!((freq - 440.0).abs() < 10.0, "detected {freq} Hz through the transforms");
    let sid = publication.sid();
    assert_eq!(send.0.lock().as_deref(), Some(format!("Send audio/opus {sid} speaker").as_str()));
    assert_eq!(receive.0.lock().as_deref(), Some(format!("Receive audio/opus {sid} speaker").as_str()));
    feeder.abort();
    a.disconnect().await;
    b.disconnect().await;
    server.shutdown().await;
}
