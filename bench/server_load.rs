//! Server RSS and open FDs before, during and after: 500 idle (pre-upgrade) connections,
//! 200 joined participants, 200 join/leave cycles. Loopback only.
//! `cargo run --release -p lkrtc-server --example server_load`

use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_server::{KeyStore, Server, ServerConfig};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn usage() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("VmRSS: ?")
        .split_whitespace()
        .nth(1)
        .unwrap_or("?")
        .to_string();
    let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    format!("RSS {rss} kB, FDs {fds}")
}

async fn join(
    server: &Server,
    id: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let jwt = AccessToken::with_api_key("devkey", "secret")
        .with_identity(id)
        .with_grants(VideoGrants { room_join: true, room: "load".into(), ..Default::default() })
        .to_jwt()
        .unwrap();
    let mut req = format!("{}/rtc?protocol=17", server.url()).into_client_request().unwrap();
    req.headers_mut().insert("Authorization", format!("Bearer {jwt}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn settle(server: &Server) {
    for _ in 0..250 {
        if server.stats().participants == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::main]
async fn main() {
    let config = ServerConfig { port: 0, keys: KeyStore::parse("devkey:secret").unwrap(), ..ServerConfig::dev() };
    let server = Server::start(config).await.unwrap();
    println!("baseline: {} (client sockets are in the same process)", usage());
    let mut idle = Vec::new();
    for _ in 0..500 {
        let mut tcp = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
        tcp.write_all(b"GET /rtc HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        idle.push(tcp);
    }
    println!("500 idle connections: {}", usage());
    drop(idle);
    settle(&server).await;
    println!("after idle: {}", usage());
    let mut joined = Vec::new();
    for i in 0..200 {
        joined.push(join(&server, &format!("p{i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("200 joined: {} ({:?})", usage(), server.stats().participants);
    drop(joined);
    settle(&server).await;
    println!("after joined: {}", usage());
    for i in 0..200 {
        let ws = join(&server, &format!("c{i}")).await;
        drop(ws);
    }
    println!("200 join/leave cycles done: {}", usage());
    settle(&server).await;
    println!(
        "after cycles: {} (rooms {}, participants {})",
        usage(),
        server.stats().rooms,
        server.stats().participants
    );
    server.shutdown().await;
}
