//! Engine connect time against an in-process lkrtc-server on loopback (median, p90 and
//! slowest of 40, and how many joins took over 500 ms).
//! `cargo run -p lkrtc-engine --example connect_time` (`LKRTC_JOINS=n` for another count,
//! `LKRTC_ICE_LITE=1` for a server running ICE-lite as livekit-server does)
//!
//! With `LKRTC_TURN=turn:host:port,username,credential` it connects relay-only through
//! that TURN server as well, and prints both. `LKRTC_LOG` (a tracing filter) logs.

use std::time::{Duration, Instant};

use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_engine::{ConnectOptions, IceServer, IceTransportPolicy, Room};
use lkrtc_server::{KeyStore, Server, ServerConfig};

async fn measure(server: &Server, label: &str, options: ConnectOptions) {
    let joins = std::env::var("LKRTC_JOINS").ok().and_then(|n| n.parse().ok()).unwrap_or(40usize).max(1);
    let mut times = Vec::new();
    for i in 0..joins {
        let token = AccessToken::with_api_key("devkey", "secret")
            .with_identity(&format!("p{i}"))
            .with_grants(VideoGrants { room_join: true, room: format!("r{i}"), ..Default::default() })
            .to_jwt()
            .unwrap();
        let t = Instant::now();
        let (room, _events) = Room::connect(&server.url(), &token, options.clone()).await.unwrap();
        times.push(t.elapsed());
        room.disconnect().await;
    }
    let slow = times.iter().filter(|t| **t > Duration::from_millis(500)).count();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "engine connect ({label}): median {:.1} ms, p90 {:.1} ms, min {:.1} ms, slowest {:.1} ms, {slow} over 500 ms \
         (n={joins})",
        ms(times[joins / 2]),
        ms(times[(joins * 9 / 10).saturating_sub(1)]),
        ms(times[0]),
        ms(times[joins - 1])
    );
}

#[tokio::main]
async fn main() {
    if let Ok(filter) = std::env::var("LKRTC_LOG") {
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter)).init();
    }
    let mut config = ServerConfig { port: 0, keys: KeyStore::parse("devkey:secret").unwrap(), ..ServerConfig::dev() };
    config.ice.lite = std::env::var("LKRTC_ICE_LITE").is_ok_and(|v| v == "1");
    let server = Server::start(config).await.unwrap();
    measure(&server, "direct", ConnectOptions::default()).await;
    if let Ok(spec) = std::env::var("LKRTC_TURN") {
        let mut parts = spec.splitn(3, ',').map(str::to_string);
        let (url, username, credential) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let options = ConnectOptions {
            ice_servers: vec![IceServer { urls: vec![url], username, credential }],
            ice_transport_policy: IceTransportPolicy::Relay,
            ..ConnectOptions::default()
        };
        measure(&server, "relay-only through TURN", options).await;
    }
    server.shutdown().await;
}
