//! `NativeDevServer`: lkrtc-server running in-process on the addon's tokio runtime.

use std::net::IpAddr;
use std::sync::Mutex;

use lkrtc_server::{proto, KeyStore, Server, ServerConfig, TlsConfig};
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;

use crate::error::{self, ERR_INVALID_ARG, ERR_SERVER};

/// One API key and its secret.
#[napi(object)]
pub struct ApiKeyPair {
    pub key: String,
    pub secret: String,
}

/// Options of `startDevServer`.
#[napi(object)]
#[derive(Default)]
pub struct NativeDevServerOptions {
    /// TCP port; 0 (default) picks a free one.
    pub port: Option<u32>,
    /// Address to bind (default 127.0.0.1).
    pub bind: Option<String>,
    /// Accepted keys (default devkey/secret).
    pub keys: Option<Vec<ApiKeyPair>>,
    /// PEM certificate chain: serve `wss://` (with `tls_key`).
    pub tls_cert: Option<String>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<String>,
    /// STUN/TURN servers sent to clients in the join response.
    pub ice_servers: Option<Vec<crate::room::NativeIceServer>>,
    /// Tell clients to use TURN relay candidates only.
    pub force_relay: Option<bool>,
    /// Run ICE-lite, as livekit-server does.
    pub ice_lite: Option<bool>,
    /// Offer ICE-TCP candidates too.
    pub ice_tcp: Option<bool>,
    /// Offer UDP candidates (default true).
    pub ice_udp: Option<bool>,
    /// Send participants a fresh token this often (milliseconds, at least 1000).
    pub token_refresh_ms: Option<u32>,
    /// Seconds between the pings clients are asked to send (default 5).
    pub ping_interval: Option<u32>,
    /// Seconds of silence after which a client's signal counts as lost (default 15).
    pub ping_timeout: Option<u32>,
    /// How long a participant whose signal was lost is kept for a resume (ms, default 10000).
    pub resume_window_ms: Option<u32>,
}

/// The server configuration the options describe.
fn server_config(options: NativeDevServerOptions) -> crate::error::Result<(ServerConfig, String)> {
    let bind_text = options.bind.unwrap_or_else(|| "127.0.0.1".to_string());
    let bind: IpAddr =
        bind_text.parse().map_err(|e| error::coded(ERR_INVALID_ARG, format!("bind address {bind_text:?}: {e}")))?;
    let port = options.port.unwrap_or(0);
    let port =
        u16::try_from(port).map_err(|_| error::coded(ERR_INVALID_ARG, format!("port {port} is out of range")))?;
    let pairs = match options.keys {
        Some(keys) if !keys.is_empty() => {
            if let Some(bad) = keys.iter().find(|k| k.key.is_empty() || k.secret.is_empty()) {
                return Err(error::coded(ERR_INVALID_ARG, format!("key {:?} has an empty key or secret", bad.key)));
            }
            keys.into_iter().map(|k| (k.key, k.secret)).collect()
        }
        Some(_) => return Err(error::coded(ERR_INVALID_ARG, "keys is empty")),
        None => vec![("devkey".to_string(), "secret".to_string())],
    };
    let mut config = ServerConfig::dev();
    config.bind = bind;
    config.port = port;
    config.keys = KeyStore::new(pairs);
    config.tls = match (options.tls_cert, options.tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig { cert_pem: cert.into_bytes(), key_pem: key.into_bytes() }),
        (None, None) => None,
        _ => return Err(error::coded(ERR_INVALID_ARG, "tls needs both cert and key (PEM text)")),
    };
    config.ice.servers = options
        .ice_servers
        .unwrap_or_default()
        .into_iter()
        .map(|s| proto::IceServer {
            urls: s.urls,
            username: s.username.unwrap_or_default(),
            credential: s.password.unwrap_or_default(),
        })
        .collect();
    config.ice.force_relay = options.force_relay.unwrap_or(false);
    config.ice.lite = options.ice_lite.unwrap_or(false);
    config.ice.tcp = options.ice_tcp.unwrap_or(false);
    config.ice.udp = options.ice_udp.unwrap_or(true);
    if !config.ice.udp && !config.ice.tcp {
        return Err(error::coded(ERR_INVALID_ARG, "iceUdp: false needs iceTcp: true"));
    }
    config.token_refresh = match options.token_refresh_ms {
        None => None,
        Some(ms) if ms >= 1000 => Some(std::time::Duration::from_millis(ms.into())),
        Some(ms) => return Err(error::coded(ERR_INVALID_ARG, format!("tokenRefreshMs {ms} is below 1000"))),
    };
    config.timing.ping_interval = options.ping_interval.unwrap_or(config.timing.ping_interval);
    config.timing.ping_timeout = options.ping_timeout.unwrap_or(config.timing.ping_timeout);
    if config.timing.ping_interval == 0 || config.timing.ping_timeout <= config.timing.ping_interval {
        return Err(error::coded(ERR_INVALID_ARG, "pingInterval must be at least 1 and pingTimeout longer than it"));
    }
    if let Some(ms) = options.resume_window_ms {
        config.timing.resume_window = std::time::Duration::from_millis(ms.into());
    }
    Ok((config, format!("{bind_text}:{port}")))
}

/// A running in-process server.
#[napi]
pub struct NativeDevServer {
    url: String,
    port: u32,
    server: Mutex<Option<Server>>,
}

/// Starts lkrtc-server in this process.
#[napi(ts_return_type = "Promise<NativeDevServer>")]
pub fn start_dev_server(
    env: &Env,
    options: Option<NativeDevServerOptions>,
) -> crate::error::Result<PromiseRaw<'_, NativeDevServer>> {
    let prepared = server_config(options.unwrap_or_default());
    error::promise(
        env,
        prepared.map(|(config, where_)| async move {
            let server = Server::start(config)
                .await
                .map_err(|e| error::coded(ERR_SERVER, format!("cannot start on {where_}: {e}")))?;
            Ok(NativeDevServer {
                url: server.url(),
                port: server.local_addr().port().into(),
                server: Mutex::new(Some(server)),
            })
        }),
    )
}

impl NativeDevServer {
    fn take(&self) -> Option<Server> {
        self.server.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

#[napi]
impl NativeDevServer {
    /// `ws://host:port`.
    #[napi(getter, catch_unwind)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The bound port.
    #[napi(getter, catch_unwind)]
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Rooms currently open, by name.
    #[napi(catch_unwind)]
    pub fn room_names(&self) -> Vec<String> {
        let guard = self.server.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(|s| s.rooms().into_iter().map(|r| r.name).collect()).unwrap_or_default()
    }

    /// Tells every participant the server is leaving, then stops. Idempotent.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let server = self.take();
        error::promise_done(env, async move {
            if let Some(server) = server {
                server.shutdown().await;
            }
        })
    }
}

impl Drop for NativeDevServer {
    fn drop(&mut self) {
        // Garbage-collected without close(): stop it in the background.
        // At process exit no runtime is left: the server goes with the process.
        let mut server = self.take();
        let _ = crate::runtime::enter(|| {
            if let Some(server) = server.take() {
                tokio::spawn(async move { server.shutdown().await });
            }
        });
        std::mem::forget(server);
    }
}
