//! Single-peer-connection signalling (`/rtc/v1`) against an in-process server: the
//! `join_request` parameter (plain and gzipped), the same auth, limits and answers as
//! `/rtc`, `/rtc/v1/validate`, and a real single peer connection (the `webrtc` crate)
//! that offers with the join, is answered, and connects.

use std::time::Duration;

use base64::Engine;
use futures_util::StreamExt;
use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_server::proto::{self, signal_request::Message as Req, signal_response::Message as Resp};
use lkrtc_server::Server;
use lkrtc_transport::{PcEvent, PcOptions, Target};
use prost::Message as _;
use tokio_tungstenite::tungstenite::Message;
use webrtc::peer_connection::{RTCPeerConnectionState, RTCSessionDescription};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

mod common;

use common::{join_request, open_v1, raw_http, send, server, token, Reply, Ws};

fn settings(auto_subscribe: bool) -> proto::JoinRequest {
    proto::JoinRequest {
        connection_settings: Some(proto::ConnectionSettings { auto_subscribe, ..Default::default() }),
        client_info: Some(proto::ClientInfo { protocol: 16, ..Default::default() }),
        ..Default::default()
    }
}

async fn get(server: &Server, path: &str, upgrade: bool) -> Reply {
    let upgrade = if upgrade {
        "Connection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    } else {
        "Connection: close\r\n"
    };
    raw_http(server, &format!("GET {path} HTTP/1.1\r\nHost: lkrtc\r\n{upgrade}\r\n")).await
}

async fn next(ws: &mut Ws) -> Resp {
    common::next_where(ws, Duration::from_secs(5), |_| false, None).await
}

#[tokio::test]
async fn validate_answers_as_v0() {
    let server = server().await;
    let jwt = token("alice", VideoGrants::default());
    let join = join_request(&settings(true), true);
    for (path, status) in [
        ("/rtc/v1/validate".to_string(), 401),
        ("/rtc/v1/validate?access_token=not.a.jwt".to_string(), 401),
        (format!("/rtc/v1/validate?access_token={jwt}"), 200),
        (format!("/rtc/v1/validate?access_token={jwt}&join_request={join}"), 200),
        (format!("/rtc/v1/validate?access_token={jwt}&join_request=%2A%2A"), 400),
    ] {
        let v1 = get(&server, &path, false).await;
        assert_eq!(v1.status, status, "{path}: {}", v1.body);
        if !path.contains("join_request") {
            // The same status and message as /rtc/validate.
            let v0 = get(&server, &path.replace("/rtc/v1/", "/rtc/"), false).await;
            assert_eq!((v1.status, &v1.body), (v0.status, &v0.body), "{path}");
        }
    }
    let long = token(&"x".repeat(300), VideoGrants::default());
    let v1 = get(&server, &format!("/rtc/v1/validate?access_token={long}"), false).await;
    let v0 = get(&server, &format!("/rtc/validate?access_token={long}"), false).await;
    assert_eq!((v1.status, &v1.body), (400, &v0.body), "identity over the limit");
    server.shutdown().await;
}

#[tokio::test]
async fn upgrade_refusals_match_v0() {
    let server = server().await;
    let jwt = token("alice", VideoGrants::default());
    let join = join_request(&settings(true), false);
    // A plain GET is not an upgrade: 404, as /rtc.
    assert_eq!(get(&server, &format!("/rtc/v1?access_token={jwt}&join_request={join}"), false).await.status, 404);
    // Bad tokens: the same answer as /rtc.
    let no_join = AccessToken::with_api_key("devkey", "secret")
        .with_identity("alice")
        .with_grants(VideoGrants { room: "r1".into(), ..Default::default() })
        .to_jwt()
        .unwrap();
    let wrong_key = AccessToken::with_api_key("devkey", "wrong")
        .with_identity("alice")
        .with_grants(VideoGrants { room_join: true, room: "r1".into(), ..Default::default() })
        .to_jwt()
        .unwrap();
    for query in [
        String::new(),
        "access_token=not.a.jwt".into(),
        format!("access_token={no_join}"),
        format!("access_token={wrong_key}"),
    ] {
        let v1 = get(&server, &format!("/rtc/v1?{query}&join_request={join}"), true).await;
        let v0 = get(&server, &format!("/rtc?{query}"), true).await;
        assert!(v1.status >= 400, "{query}: {}", v1.status);
        assert_eq!((v1.status, &v1.body), (v0.status, &v0.body), "{query}");
    }
    // A join request that is missing or does not decode: 400 with the reason.
    let missing = get(&server, &format!("/rtc/v1?access_token={jwt}"), true).await;
    assert_eq!((missing.status, missing.body.as_str()), (400, "missing join_request parameter"));
    let garbage = base64::engine::general_purpose::URL_SAFE.encode([0x0a, 0xff, 0xff]);
    let bad = get(&server, &format!("/rtc/v1?access_token={jwt}&join_request={garbage}"), true).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("does not decode"), "{}", bad.body);
    let unzipped = proto::WrappedJoinRequest { compression: 1, join_request: b"nope".to_vec() }.encode_to_vec();
    let unzipped = base64::engine::general_purpose::URL_SAFE.encode(unzipped);
    let bad = get(&server, &format!("/rtc/v1?access_token={jwt}&join_request={unzipped}"), true).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("gunzip"), "{}", bad.body);
    // The server kept serving.
    let mut ws = open_v1(&server, &jwt, &join).await;
    assert!(matches!(next(&mut ws).await, Resp::Join(_)));
    server.shutdown().await;
}

#[tokio::test]
async fn join_tells_single_pc_and_applies_settings() {
    let server = server().await;
    for gzip in [false, true] {
        let identity = format!("p{gzip}");
        let mut ws =
            open_v1(&server, &token(&identity, VideoGrants::default()), &join_request(&settings(false), gzip)).await;
        let Resp::Join(join) = next(&mut ws).await else { panic!("first frame is not join") };
        assert!(!join.subscriber_primary, "v1: the client's one PC is primary");
        let me = join.participant.unwrap();
        assert_eq!(me.identity, identity);
        assert_eq!(me.client_protocol, 16, "client_info.protocol of the join request");
    }
    // A resume over v1 is told to rejoin, as over v0.
    let resume = proto::JoinRequest { reconnect: true, ..settings(true) };
    let mut ws = open_v1(&server, &token("again", VideoGrants::default()), &join_request(&resume, true)).await;
    let Resp::Leave(leave) = next(&mut ws).await else { panic!("a resume gets a leave") };
    assert_eq!(leave.action, proto::leave_request::Action::Reconnect as i32);
    server.shutdown().await;
}

/// A single `webrtc` peer connection offers with the join (a data channel and a recvonly
/// audio section, as livekit-client does), gets the answer to that offer, and connects
/// with candidates trickled on the publisher target.
#[tokio::test]
async fn one_peer_connection_offers_with_the_join_and_connects() {
    let server = server().await;
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let options = PcOptions { include_loopback: true, ..PcOptions::new(Target::Publisher, [127, 0, 0, 1].into()) };
    let pc = lkrtc_transport::build(options, tx).await.unwrap();
    let _dc = pc.create_data_channel("_reliable", None).await.unwrap();
    let init = RTCRtpTransceiverInit {
        direction: RTCRtpTransceiverDirection::Recvonly,
        streams: vec![],
        send_encodings: vec![],
    };
    pc.add_transceiver_from_kind(rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Audio, Some(init)).await.unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer).await.unwrap();
    let sdp = pc.local_description().await.unwrap().sdp;
    let request = proto::JoinRequest {
        publisher_offer: Some(proto::SessionDescription { r#type: "offer".into(), sdp, id: 7, ..Default::default() }),
        ..settings(true)
    };
    let mut ws = open_v1(&server, &token("solo", VideoGrants::default()), &join_request(&request, true)).await;
    let mut answered = false;
    let connected = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            tokio::select! {
                frame = ws.next() => {
                    let Some(Ok(Message::Binary(b))) = frame else { panic!("socket ended") };
                    match proto::SignalResponse::decode(b).unwrap().message.unwrap() {
                        Resp::Answer(sd) => {
                            assert_eq!(sd.id, 7, "the answer carries the offer's id");
                            pc.set_remote_description(RTCSessionDescription::answer(sd.sdp).unwrap()).await.unwrap();
                            answered = true;
                        }
                        Resp::Trickle(t) => {
                            assert_eq!(t.target, proto::SignalTarget::Publisher as i32, "one PC: publisher target");
                            if let Some(c) = lkrtc_transport::candidate::from_json(&t.candidate_init).unwrap() {
                                pc.add_ice_candidate(c).await.unwrap();
                            }
                        }
                        Resp::Offer(_) => panic!("the server never offers over v1"),
                        _ => {}
                    }
                }
                Some(ev) = events.recv() => match ev {
                    PcEvent::Candidate(_, c) => {
                        let candidate_init = lkrtc_transport::candidate::to_json(&c, "0");
                        send(&mut ws, Req::Trickle(proto::TrickleRequest { candidate_init, target: 0, r#final: false })).await;
                    }
                    PcEvent::State(_, RTCPeerConnectionState::Connected) => break,
                    _ => {}
                },
            }
        }
    })
    .await;
    assert!(answered, "the join's offer was answered");
    assert!(connected.is_ok(), "the single peer connection connects");
    let _ = pc.close().await;
    server.shutdown().await;
}
