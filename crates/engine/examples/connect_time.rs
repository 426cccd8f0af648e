//! Engine connect time against an in-process lkrtc-server on loopback (median of 20).
//! `cargo run -p lkrtc-engine --example connect_time`

use std::time::{Duration, Instant};

use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_engine::{ConnectOptions, Room};
use lkrtc_server::{KeyStore, Server, ServerConfig};

#[tokio::main]
async fn main() {
    let config = ServerConfig { port: 0, keys: KeyStore::parse("devkey:secret").unwrap(), ..ServerConfig::dev() };
    let server = Server::start(config).await.unwrap();
    let mut times = Vec::new();
    for i in 0..20 {
        let token = AccessToken::with_api_key("devkey", "secret")
            .with_identity(&format!("p{i}"))
            .with_grants(VideoGrants { room_join: true, room: format!("r{i}"), ..Default::default() })
            .to_jwt()
            .unwrap();
        let t = Instant::now();
        let (room, _events) = Room::connect(&server.url(), &token, ConnectOptions::default()).await.unwrap();
        times.push(t.elapsed());
        room.disconnect().await;
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "engine connect: median {:.1} ms, p90 {:.1} ms, min {:.1} ms, max {:.1} ms (n=20)",
        ms(times[10]),
        ms(times[18]),
        ms(times[0]),
        ms(times[19])
    );
    server.shutdown().await;
}
