//! The server behind TLS (`ServerConfig.tls`): `wss://` joins with a certificate from a
//! private CA made here, slow handshakes do not hold up other clients, bad PEM is refused.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_server::proto::{self, signal_response::Message as Resp};
use lkrtc_server::{KeyStore, Server, ServerConfig, TlsConfig};
use prost::Message as _;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&leaf_key, &ca).unwrap();
    Pki { ca_pem: ca.pem(), cert_pem: leaf.pem(), key_pem: leaf_key.serialize_pem() }
}

fn client_config(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(ca_pem.as_bytes()).unwrap();
    roots.add(der).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

async fn tls_server(p: &Pki) -> Server {
    let config = ServerConfig {
        port: 0,
        keys: KeyStore::parse("devkey:secret").unwrap(),
        tls: Some(TlsConfig { cert_pem: p.cert_pem.clone().into_bytes(), key_pem: p.key_pem.clone().into_bytes() }),
        ..ServerConfig::dev()
    };
    Server::start(config).await.unwrap()
}

fn token(identity: &str) -> String {
    AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_grants(VideoGrants { room_join: true, room: "tls".into(), ..Default::default() })
        .to_jwt()
        .unwrap()
}

/// Joins over wss://localhost and returns the join response.
async fn join(server: &Server, ca_pem: &str, identity: &str) -> proto::JoinResponse {
    let url = format!(
        "wss://localhost:{}/rtc?protocol=17&sdk=rust&access_token={}",
        server.local_addr().port(),
        token(identity)
    );
    let connector = tokio_tungstenite::Connector::Rustls(client_config(ca_pem));
    let req = url.into_client_request().unwrap();
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async_tls_with_config(req, None, false, Some(connector)),
    )
    .await
    .expect("TLS join timed out")
    .expect("TLS join failed");
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
        if let Message::Binary(b) = frame {
            if let Some(Resp::Join(j)) = proto::SignalResponse::decode(b).unwrap().message {
                return j;
            }
        }
    }
}

#[tokio::test]
async fn joins_over_wss_with_a_private_ca() {
    let p = pki();
    let server = tls_server(&p).await;
    assert!(server.url().starts_with("wss://"), "{}", server.url());
    let j = join(&server, &p.ca_pem, "alice").await;
    assert_eq!(j.participant.unwrap().identity, "alice");
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_client_does_not_hold_up_others() {
    let p = pki();
    let server = tls_server(&p).await;
    // Connections that never start their handshake...
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(tokio::net::TcpStream::connect(server.local_addr()).await.unwrap());
    }
    // ...and one that sends half a ClientHello.
    let mut partial = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
    partial.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await.unwrap();
    let j = join(&server, &p.ca_pem, "bob").await;
    assert_eq!(j.participant.unwrap().identity, "bob");
    drop(silent);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_pem_is_refused_at_start() {
    let p = pki();
    for (cert, key) in [("not pem", p.key_pem.as_str()), (p.cert_pem.as_str(), "not a key"), ("", "")] {
        let config = ServerConfig {
            port: 0,
            tls: Some(TlsConfig { cert_pem: cert.as_bytes().to_vec(), key_pem: key.as_bytes().to_vec() }),
            ..ServerConfig::dev()
        };
        let err = Server::start(config).await.err().expect("bad PEM must be refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    }
}
