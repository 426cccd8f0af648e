//! Reliable means in call order: packets, stream chunks and RPC requests issued without
//! awaiting each (their futures run concurrently on a multi-threaded runtime, as the napi
//! binding runs them) arrive in the order of the calls.

use std::collections::VecDeque;
use std::time::Duration;

use lkrtc_engine::rpc::RpcCall;
use lkrtc_engine::streams::{StreamKind, StreamOptions};
use lkrtc_engine::{DataOptions, RoomEvent};
use tokio::task::JoinHandle;
mod common;

use common::{join, server, wait_for};

const PACKETS: u32 = 10_000;
const IN_FLIGHT: usize = 500;

/// Spawns each future as soon as it is created, keeping at most `IN_FLIGHT` running.
struct Pipeline<T>(VecDeque<JoinHandle<T>>);

impl<T: Send + 'static> Pipeline<T> {
    async fn push(&mut self, fut: impl std::future::Future<Output = T> + Send + 'static) {
        if self.0.len() >= IN_FLIGHT {
            self.0.pop_front().unwrap().await.unwrap();
        }
        self.0.push_back(tokio::spawn(fut));
    }

    async fn drain(mut self) -> Vec<T> {
        let mut out = Vec::new();
        while let Some(h) = self.0.pop_front() {
            out.push(h.await.unwrap());
        }
        out
    }
}

/// How many items arrived before one with a smaller index (0 when in order).
fn out_of_order(seen: &[u32]) -> usize {
    seen.windows(2).filter(|w| w[1] < w[0]).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelined_reliable_packets_arrive_in_call_order() {
    let server = server().await;
    let (a, _a_ev) = join(&server, "sender", "order").await;
    let (b, mut b_ev) = join(&server, "receiver", "order").await;
    let lp = a.local_participant();
    let mut pipeline = Pipeline(VecDeque::new());
    for i in 0..PACKETS {
        let options = DataOptions { reliable: true, ..Default::default() };
        pipeline.push(lp.publish_data(i.to_be_bytes().to_vec(), options)).await;
    }
    for sent in pipeline.drain().await {
        sent.unwrap();
    }
    let mut seen = Vec::with_capacity(PACKETS as usize);
    while seen.len() < PACKETS as usize {
        let payload = wait_for(&mut b_ev, "data", |e| match e {
            RoomEvent::DataReceived { payload, .. } => Some(payload),
            _ => None,
        })
        .await;
        seen.push(u32::from_be_bytes(payload.try_into().unwrap()));
    }
    let disorder = out_of_order(&seen);
    println!("{PACKETS} pipelined reliable packets: {disorder} arrived out of order");
    assert_eq!(disorder, 0, "reliable packets must arrive in call order");
    assert_eq!(seen, (0..PACKETS).collect::<Vec<_>>());
    a.disconnect().await;
    b.disconnect().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelined_stream_writes_and_rpc_requests_keep_call_order() {
    let server = server().await;
    let (a, _a_ev) = join(&server, "writer", "order-streams").await;
    let (b, mut b_ev) = join(&server, "reader", "order-streams").await;
    b.register_stream_topic(StreamKind::Text, "seq").unwrap();
    b.local_participant().register_rpc_method("seq");
    let lp = a.local_participant();

    // Stream chunks: 2,000 writes, not awaited one by one, then the trailer.
    let writer =
        std::sync::Arc::new(lp.stream_text(StreamOptions { topic: "seq".into(), ..Default::default() }).await.unwrap());
    let mut pipeline = Pipeline(VecDeque::new());
    let expected: String = (0..2_000).map(|i| format!("{i},")).collect();
    for i in 0..2_000 {
        pipeline.push(writer.write(format!("{i},").as_bytes())).await;
    }
    pipeline.push(writer.close(None)).await;
    for r in pipeline.drain().await {
        r.unwrap();
    }
    let reader = wait_for(&mut b_ev, "stream", |e| match e {
        RoomEvent::StreamOpened { reader, .. } => Some(reader),
        _ => None,
    })
    .await;
    let mut got = Vec::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), reader.next_chunk()).await.unwrap() {
        got.extend(chunk.expect("the stream must end normally: chunks in order"));
    }
    assert_eq!(String::from_utf8(got).unwrap(), expected);

    // RPC requests: 300 calls issued at once arrive in call order.
    let mut calls = Pipeline(VecDeque::new());
    for i in 0..300u32 {
        let call = RpcCall {
            destination_identity: "reader".into(),
            method: "seq".into(),
            payload: i.to_string(),
            response_timeout: Duration::from_secs(10),
        };
        calls.push(lp.perform_rpc(call)).await;
    }
    let callee = b.local_participant();
    let mut order = Vec::new();
    while order.len() < 300 {
        let invocation = wait_for(&mut b_ev, "rpc", |e| match e {
            RoomEvent::RpcInvocation { invocation } => Some(invocation),
            _ => None,
        })
        .await;
        order.push(invocation.payload.parse::<u32>().unwrap());
        callee.respond_rpc(&invocation.request_id, Ok(String::new()));
    }
    for r in calls.drain().await {
        r.unwrap();
    }
    assert_eq!(out_of_order(&order), 0, "RPC requests must arrive in call order");
    a.disconnect().await;
    b.disconnect().await;
    server.shutdown().await;
}
