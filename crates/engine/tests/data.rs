//! RPC, streams, chat, DTMF and transcriptions between two engine rooms on lkrtc-server.

use std::collections::HashMap;
use std::time::Duration;

use lkrtc_engine::rpc::{RpcCall, RpcError};
use lkrtc_engine::streams::{StreamKind, StreamOptions};
use lkrtc_engine::{Room, RoomEvent, TranscriptionSegment};
mod common;

use common::{server, wait_for};
use lkrtc_server::Server;
use tokio::sync::mpsc::UnboundedReceiver;

async fn join(server: &Server, identity: &str) -> (Room, UnboundedReceiver<RoomEvent>) {
    common::join(server, identity, "data").await
}

fn call(dest: &str, method: &str, payload: &str, timeout: Duration) -> RpcCall {
    RpcCall {
        destination_identity: dest.into(),
        method: method.into(),
        payload: payload.into(),
        response_timeout: timeout,
    }
}

#[tokio::test]
async fn rpc_success_error_unknown_method_and_timeout() {
    let server = server().await;
    let (a, _a_ev) = join(&server, "caller").await;
    let (b, mut b_ev) = join(&server, "callee").await;
    let callee = b.local_participant();
    callee.register_rpc_method("echo");
    callee.register_rpc_method("fail");
    callee.register_rpc_method("silent");
    // The callee answers from its event stream, as an app (or the JS binding) would.
    let answering = tokio::spawn(async move {
        while let Some(ev) = b_ev.recv().await {
            if let RoomEvent::RpcInvocation { invocation } = ev {
                match invocation.method.as_str() {
                    "echo" => callee.respond_rpc(
                        &invocation.request_id,
                        Ok(format!("{}:{}", invocation.caller_identity, invocation.payload)),
                    ),
                    "fail" => callee.respond_rpc(&invocation.request_id, Err(RpcError::new(42, "nope", "details"))),
                    _ => {} // "silent" never answers
                }
            }
        }
    });
    let lp = a.local_participant();
    assert_eq!(lp.perform_rpc(call("callee", "echo", "hi", Duration::from_secs(5))).await.unwrap(), "caller:hi");
    let err = lp.perform_rpc(call("callee", "fail", "", Duration::from_secs(5))).await.unwrap_err();
    assert_eq!((err.code, err.message.as_str(), err.data.as_str()), (42, "nope", "details"));
    let err = lp.perform_rpc(call("callee", "missing", "", Duration::from_secs(5))).await.unwrap_err();
    assert_eq!(err.code, 1400);
    let err = lp.perform_rpc(call("callee", "silent", "", Duration::from_secs(1))).await.unwrap_err();
    assert_eq!(err.code, 1502);
    let err = lp.perform_rpc(call("callee", "echo", &"x".repeat(20_000), Duration::from_secs(1))).await.unwrap_err();
    assert_eq!(err.code, 1402);
    a.disconnect().await;
    b.disconnect().await;
    answering.await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn text_and_byte_streams_small_and_large() {
    let server = server().await;
    let (a, _a_ev) = join(&server, "sender").await;
    let (b, mut b_ev) = join(&server, "receiver").await;
    b.register_stream_topic(StreamKind::Text, "chat").unwrap();
    b.register_stream_topic(StreamKind::Bytes, "files").unwrap();
    assert!(b.register_stream_topic(StreamKind::Text, "chat").is_err(), "one handler per topic");

    let lp = a.local_participant();
    let big_text = "héllo wörld 😀 ".repeat(4_000); // ~76 kB, multi-byte characters across chunk edges
    let attrs = HashMap::from([("k".to_string(), "v".to_string())]);
    for text in ["small", big_text.as_str()] {
        let opts = StreamOptions { topic: "chat".into(), attributes: attrs.clone(), ..Default::default() };
        lp.send_text(text, opts).await.unwrap();
        let (reader, from) = wait_for(&mut b_ev, "text stream", |e| match e {
            RoomEvent::StreamOpened { reader, participant_identity } => Some((reader, participant_identity)),
            _ => None,
        })
        .await;
        assert_eq!(from, "sender");
        assert_eq!(reader.info().attributes, attrs);
        assert_eq!(reader.info().total_size, Some(text.len() as u64));
        let mut got = Vec::new();
        while let Some(chunk) = reader.next_chunk().await {
            got.extend(chunk.unwrap());
        }
        assert_eq!(String::from_utf8(got).unwrap(), text);
    }

    let data: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let opts = StreamOptions { topic: "files".into(), name: Some("blob.bin".into()), ..Default::default() };
    lp.send_bytes(&data, opts).await.unwrap();
    let reader = wait_for(&mut b_ev, "byte stream", |e| match e {
        RoomEvent::StreamOpened { reader, .. } => Some(reader),
        _ => None,
    })
    .await;
    assert_eq!(reader.info().name.as_deref(), Some("blob.bin"));
    let mut got = Vec::new();
    while let Some(chunk) = reader.next_chunk().await {
        got.extend(chunk.unwrap());
    }
    assert_eq!(got, data);

    // No handler for the topic: nothing is opened.
    lp.send_text("ignored", StreamOptions { topic: "nobody".into(), ..Default::default() }).await.unwrap();
    // An abandoned stream (writer never closes) ends with an error when the sender leaves.
    let writer = lp.stream_text(StreamOptions { topic: "chat".into(), ..Default::default() }).await.unwrap();
    writer.write("part".as_bytes()).await.unwrap();
    let reader = wait_for(&mut b_ev, "open stream", |e| match e {
        RoomEvent::StreamOpened { reader, .. } => Some(reader),
        _ => None,
    })
    .await;
    assert_eq!(reader.info().topic, "chat", "the unhandled topic never opened");
    assert_eq!(reader.next_chunk().await.unwrap().unwrap(), b"part");
    a.disconnect().await;
    let end = tokio::time::timeout(Duration::from_secs(10), reader.next_chunk()).await.unwrap();
    assert!(matches!(end, Some(Err(_))), "a cut stream must end with an error");
    b.disconnect().await;
    server.shutdown().await;
}

#[tokio::test]
async fn chat_dtmf_and_transcription() {
    let server = server().await;
    let (a, _a_ev) = join(&server, "alice").await;
    let (b, mut b_ev) = join(&server, "bob").await;
    let lp = a.local_participant();
    let sent = lp.send_chat_message("hello", vec![]).await.unwrap();
    let (msg, from) = wait_for(&mut b_ev, "chat", |e| match e {
        RoomEvent::ChatMessage { message, participant } => Some((message, participant)),
        _ => None,
    })
    .await;
    assert_eq!(msg, sent);
    assert_eq!(from.identity(), "alice");

    lp.publish_dtmf(1, "#").await.unwrap();
    let (code, digit) = wait_for(&mut b_ev, "dtmf", |e| match e {
        RoomEvent::DtmfReceived { code, digit, .. } => Some((code, digit)),
        _ => None,
    })
    .await;
    assert_eq!((code, digit.as_str()), (1, "#"));

    let seg = TranscriptionSegment {
        id: "s1".into(),
        text: "hi there".into(),
        start_time: 0,
        end_time: 500,
        is_final: true,
        language: "en".into(),
    };
    assert_eq!(
        lp.publish_transcription("alice", "mic", vec![seg.clone()]).await.unwrap_err().code(),
        "ERR_INVALID_ARG"
    );
    lp.publish_transcription("alice", "TR_abc", vec![seg.clone()]).await.unwrap();
    let (track, segments) = wait_for(&mut b_ev, "transcription", |e| match e {
        RoomEvent::TranscriptionReceived { track_sid, segments, .. } => Some((track_sid, segments)),
        _ => None,
    })
    .await;
    assert_eq!((track.as_str(), segments), ("TR_abc", vec![seg]));
    a.disconnect().await;
    b.disconnect().await;
    server.shutdown().await;
}

/// What was sent before `disconnect()` is delivered: 1 MB of reliable packets, sent
/// without awaiting, right before the sender leaves. (Each call settles Ok, and every packet
/// reaches the other participant, in order, although its sender is gone by then.)
#[tokio::test]
async fn data_sent_before_disconnect_is_delivered() {
    let server = server().await;
    let (a, _a_ev) = join(&server, "sender").await;
    let (b, mut b_ev) = join(&server, "receiver").await;
    let lp = a.local_participant();
    let pending: Vec<_> = (0..20u8)
        .map(|i| {
            let options = lkrtc_engine::DataOptions { reliable: true, topic: Some("n".into()), ..Default::default() };
            lp.publish_data(vec![i; 50_000], options)
        })
        .collect();
    a.disconnect().await;
    let bound = Duration::from_secs(15);
    for p in pending {
        tokio::time::timeout(bound, p).await.expect("a send before disconnect settles").unwrap();
    }
    for i in 0..20u8 {
        let payload = wait_for(&mut b_ev, "packet", |e| match e {
            RoomEvent::DataReceived { payload, .. } => Some(payload),
            _ => None,
        })
        .await;
        assert_eq!((payload.len(), payload[0]), (50_000, i));
    }
    b.disconnect().await;
    server.shutdown().await;
}
