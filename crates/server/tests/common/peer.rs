//! A raw WebRTC participant for media tests: one signalling socket and the two peer
//! connections of the v0 protocol, on the same `webrtc` stack the server uses (built with
//! `rtcp_feedback`, so feedback about what it sends is visible to the test). A task answers
//! the server's subscriber offers, applies its answers and trickles candidates both ways.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lkrtc_server::proto::{self, signal_request::Message as Req, signal_response::Message as Resp};
use lkrtc_server::Server;
use lkrtc_transport::{PcEvent, PcOptions, Target};
use prost::Message as _;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};

use super::{connect_with, Ws};

/// One participant: its peer connections, signal requests out, responses and tracks in.
pub struct Peer {
    pub publisher: Arc<dyn PeerConnection>,
    pub subscriber: Arc<dyn PeerConnection>,
    requests: mpsc::UnboundedSender<Req>,
    /// Signal responses other than negotiation.
    pub responses: mpsc::UnboundedReceiver<Resp>,
    /// Tracks received on the subscriber PC.
    pub tracks: mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
}

async fn pc(target: Target, tx: mpsc::UnboundedSender<PcEvent>) -> Arc<dyn PeerConnection> {
    let options = PcOptions {
        include_loopback: true,
        tcp: false,
        rtcp_feedback: lkrtc_transport::RtcpFeedback::Relay,
        ..PcOptions::new(target, [127, 0, 0, 1].into())
    };
    lkrtc_transport::build(options, tx).await.unwrap()
}

/// Joins with `jwt` and runs the negotiation task.
pub async fn join(server: &Server, jwt: &str) -> Peer {
    let ws = connect_with(server, jwt, "", None).await.unwrap();
    let (pc_tx, pc_rx) = mpsc::unbounded_channel();
    let publisher = pc(Target::Publisher, pc_tx.clone()).await;
    let subscriber = pc(Target::Subscriber, pc_tx).await;
    let (requests, req_rx) = mpsc::unbounded_channel();
    let (resp_tx, responses) = mpsc::unbounded_channel();
    let (track_tx, tracks) = mpsc::unbounded_channel();
    let pcs = (publisher.clone(), subscriber.clone());
    tokio::spawn(negotiate(ws, pcs, req_rx, pc_rx, resp_tx, track_tx));
    Peer { publisher, subscriber, requests, responses, tracks }
}

impl Peer {
    /// Sends a signal request.
    pub fn send(&self, req: Req) {
        self.requests.send(req).unwrap();
    }

    /// The next response `pick` returns something for, within 10 s.
    pub async fn wait_for<T>(&mut self, mut pick: impl FnMut(Resp) -> Option<T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(v) = pick(self.responses.recv().await.expect("signalling ended")) {
                    return v;
                }
            }
        })
        .await
        .expect("timed out waiting for a signal response")
    }

    /// The next track received, within 10 s.
    pub async fn next_track(&mut self) -> Arc<dyn TrackRemote> {
        tokio::time::timeout(Duration::from_secs(10), self.tracks.recv()).await.expect("no track").unwrap()
    }

    /// Publishes a video track (`cid`) sending `codec`: AddTrack, then an offer with it.
    pub async fn publish_video(&mut self, cid: &str, codec: RTCRtpCodec, ssrc: u32) -> Arc<TrackLocalStaticRTP> {
        let local = Arc::new(TrackLocalStaticRTP::new(rtc::media_stream::MediaStreamTrack::new(
            format!("stream-{cid}"),
            cid.to_string(),
            cid.to_string(),
            rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Video,
            vec![lkrtc_transport::codec::encoding(codec, ssrc)],
        )));
        let init = webrtc::rtp_transceiver::RTCRtpTransceiverInit {
            direction: webrtc::rtp_transceiver::RTCRtpTransceiverDirection::Sendonly,
            streams: vec![],
            send_encodings: vec![],
        };
        self.publisher.add_transceiver_from_track(local.clone(), Some(init)).await.unwrap();
        self.send(Req::AddTrack(proto::AddTrackRequest {
            cid: cid.to_string(),
            name: cid.to_string(),
            r#type: proto::TrackType::Video as i32,
            source: proto::TrackSource::Camera as i32,
            width: 320,
            height: 240,
            ..Default::default()
        }));
        self.wait_for(|r| matches!(r, Resp::TrackPublished(_)).then_some(())).await;
        let offer = self.publisher.create_offer(None).await.unwrap();
        self.publisher.set_local_description(offer).await.unwrap();
        let sdp = self.publisher.local_description().await.unwrap().sdp;
        self.send(Req::Offer(proto::SessionDescription { r#type: "offer".into(), sdp, id: 1, ..Default::default() }));
        local
    }
}

/// A one-packet VP8 frame (payload type 96) numbered `seq`: a keyframe, or (`keyframe`
/// false) a delta frame.
pub fn vp8_packet(ssrc: u32, seq: u16, keyframe: bool) -> rtc::rtp::Packet {
    let mut p = rtc::rtp::Packet::default();
    p.header.version = 2;
    p.header.payload_type = 96;
    p.header.ssrc = ssrc;
    p.header.sequence_number = seq;
    p.header.timestamp = seq as u32 * 3_000;
    // VP8 descriptor (start of partition), then the payload header: its P bit (inverse key
    // frame) clear on keyframes.
    p.payload = bytes::Bytes::from(vec![0x10, u8::from(!keyframe), 0, seq as u8]);
    p
}

async fn negotiate(
    mut ws: Ws,
    (publisher, subscriber): (Arc<dyn PeerConnection>, Arc<dyn PeerConnection>),
    mut requests: mpsc::UnboundedReceiver<Req>,
    mut pc_events: mpsc::UnboundedReceiver<PcEvent>,
    responses: mpsc::UnboundedSender<Resp>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
) {
    let mut out: Vec<Req> = Vec::new();
    loop {
        tokio::select! {
            req = requests.recv() => match req {
                Some(req) => out.push(req),
                None => break,
            },
            ev = pc_events.recv() => match ev {
                Some(PcEvent::Candidate(target, init)) => out.push(Req::Trickle(proto::TrickleRequest {
                    candidate_init: lkrtc_transport::candidate::to_json(&init, "0"),
                    target: target as i32,
                    r#final: false,
                })),
                Some(PcEvent::Track(_, track)) => {
                    let _ = tracks.send(track);
                }
                Some(_) => {}
                None => break,
            },
            frame = ws.next() => {
                let Some(Ok(frame)) = frame else { break };
                let Message::Binary(b) = frame else { continue };
                let Some(msg) = proto::SignalResponse::decode(b).ok().and_then(|r| r.message) else { continue };
                match msg {
                    Resp::Offer(sd) => {
                        subscriber.set_remote_description(RTCSessionDescription::offer(sd.sdp.clone()).unwrap()).await.unwrap();
                        // As lkrtc answers: sections the server stopped sending on answer inactive.
                        lkrtc_transport::sdp::settle_directions(subscriber.as_ref(), &sd.sdp).await;
                        let answer = subscriber.create_answer(None).await.unwrap();
                        subscriber.set_local_description(answer).await.unwrap();
                        let sdp = subscriber.local_description().await.unwrap().sdp;
                        out.push(Req::Answer(proto::SessionDescription { r#type: "answer".into(), sdp, id: sd.id, ..Default::default() }));
                    }
                    Resp::Answer(sd) => {
                        publisher.set_remote_description(RTCSessionDescription::answer(sd.sdp).unwrap()).await.unwrap();
                    }
                    Resp::Trickle(t) => {
                        let pc = if t.target == Target::Subscriber as i32 { &subscriber } else { &publisher };
                        if let Ok(Some(init)) = lkrtc_transport::candidate::from_json(&t.candidate_init) {
                            let _ = pc.add_ice_candidate(init).await;
                        }
                    }
                    other => {
                        let _ = responses.send(other);
                    }
                }
            }
        }
        for req in out.drain(..) {
            let bytes = proto::SignalRequest { message: Some(req) }.encode_to_vec();
            if ws.send(Message::Binary(bytes.into())).await.is_err() {
                return;
            }
        }
    }
    let _ = publisher.close().await;
    let _ = subscriber.close().await;
}
