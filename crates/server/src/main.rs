//! `lkrtc-server`: the dev SFU as a command-line program.

use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use lkrtc_server::{proto, KeyStore, Server, ServerConfig, TlsConfig};

const USAGE: &str = "usage: lkrtc-server [--port 7880] [--bind 127.0.0.1] [--keys key:secret,...] [--dev] [options]

  --port N              TCP port for HTTP/WebSocket (0 picks a free one; default 7880)
  --bind IP             address for signalling and WebRTC (default 127.0.0.1)
  --keys SPEC           accepted API keys, key:secret pairs separated by commas
                        (default: $LIVEKIT_KEYS, else devkey:secret)
  --dev                 development defaults (devkey:secret); accepted for livekit-server parity
  --tls-cert FILE       serve wss:// and https:// with this PEM certificate chain
  --tls-key FILE        ... and this PEM private key (both or neither)
  --ice-server URL      STUN/TURN server sent to clients (repeatable)
  --ice-username NAME   TURN username for the --ice-server URLs
  --ice-credential PW   TURN credential for the --ice-server URLs
  --force-relay         tell clients to use TURN relay candidates only
  --ice-lite            run ICE-lite, as livekit-server does
  --ice-tcp             also offer ICE-TCP candidates (clients whose UDP is blocked)
  --no-ice-udp          offer no UDP candidates (with --ice-tcp: TCP only)
  --token-refresh SECS  send participants a fresh token every SECS seconds
  --ping-interval SECS  ask clients to ping every SECS seconds (default 5)
  --ping-timeout SECS   a client silent for SECS seconds has lost its signal (default 15)
  --resume-window SECS  keep a participant whose signal was lost SECS seconds for a resume
                        (default 10; 0: it leaves at once)
Logging: LKRTC_LOG (e.g. info, debug, lkrtc_server=trace).";

fn parse(args: &[String]) -> Result<ServerConfig, String> {
    let mut config = ServerConfig::dev();
    let mut keys = std::env::var("LIVEKIT_KEYS").ok().filter(|k| !k.trim().is_empty());
    let (mut cert, mut key) = (None::<String>, None::<String>);
    let (mut ice_urls, mut ice_user, mut ice_pass) = (Vec::new(), String::new(), String::new());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned()).ok_or(format!("{name} needs a value"));
        match name {
            "--port" => config.port = value()?.parse().map_err(|_| "--port must be a number 0-65535".to_string())?,
            "--bind" => config.bind = value()?.parse::<IpAddr>().map_err(|e| format!("--bind: {e}"))?,
            "--keys" => keys = Some(value()?),
            "--dev" => {}
            "--tls-cert" => cert = Some(value()?),
            "--tls-key" => key = Some(value()?),
            "--ice-server" => ice_urls.push(value()?),
            "--ice-username" => ice_user = value()?,
            "--ice-credential" => ice_pass = value()?,
            "--force-relay" => config.ice.force_relay = true,
            "--ice-lite" => config.ice.lite = true,
            "--ice-tcp" => config.ice.tcp = true,
            "--no-ice-udp" => config.ice.udp = false,
            "--token-refresh" => {
                let secs: u64 = value()?.parse().map_err(|_| "--token-refresh takes whole seconds".to_string())?;
                if secs == 0 {
                    return Err("--token-refresh must be at least 1 second".into());
                }
                config.token_refresh = Some(Duration::from_secs(secs));
            }
            "--ping-interval" => config.timing.ping_interval = secs(name, &value()?, 1)?,
            "--ping-timeout" => config.timing.ping_timeout = secs(name, &value()?, 2)?,
            "--resume-window" => config.timing.resume_window = Duration::from_secs(secs(name, &value()?, 0)?.into()),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(spec) = keys {
        config.keys = KeyStore::parse(&spec).map_err(|e| format!("keys: {e}"))?;
    }
    config.tls = match (cert, key) {
        (Some(c), Some(k)) => Some(TlsConfig::from_files(Path::new(&c), Path::new(&k)).map_err(|e| e.to_string())?),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    if config.timing.ping_timeout <= config.timing.ping_interval {
        return Err("--ping-timeout must be longer than --ping-interval".into());
    }
    if !config.ice.udp && !config.ice.tcp {
        return Err("--no-ice-udp needs --ice-tcp".into());
    }
    if !ice_urls.is_empty() {
        config.ice.servers = vec![proto::IceServer { urls: ice_urls, username: ice_user, credential: ice_pass }];
    } else if !ice_user.is_empty() || !ice_pass.is_empty() {
        return Err("--ice-username/--ice-credential need --ice-server".into());
    }
    Ok(config)
}

/// Whole seconds, at least `min`, at most a day.
fn secs(name: &str, value: &str, min: u32) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if n >= min && n <= 86_400 => Ok(n),
        _ => Err(format!("{name} takes whole seconds from {min} to 86400")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LKRTC_LOG")
                .unwrap_or_else(|_| "error,lkrtc_server=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args) {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lkrtc-server: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lkrtc-server: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Test harnesses wait for this exact line.
    println!("lkrtc-server listening on {}", server.url());
    wait_for_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl-C everywhere; SIGTERM too on Unix (what process managers and test harnesses send).
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            Err(e) => {
                tracing::warn!(error = %e, "no SIGTERM handler; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_flags() {
        let c = parse(&args("--port 0 --bind 10.250.0.1 --keys a:b,c:d --dev")).unwrap();
        assert_eq!(c.port, 0);
        assert_eq!(c.bind.to_string(), "10.250.0.1");
        assert_eq!(c.keys.secret("c"), Some("d"));
        assert_eq!(parse(&args("--port=9000")).unwrap().port, 9000);
    }

    #[test]
    fn rejects_bad_flags() {
        assert!(parse(&args("--port nope")).is_err());
        assert!(parse(&args("--bind")).is_err());
        assert!(parse(&args("--keys novalue")).is_err());
        assert!(parse(&args("--frobnicate")).is_err());
        assert!(parse(&args("--tls-cert only.pem")).is_err());
        assert!(parse(&args("--no-ice-udp")).is_err());
        assert!(parse(&args("--token-refresh 0")).is_err());
        assert!(parse(&args("--ice-username u")).is_err());
        assert!(parse(&args("--ping-interval 0")).is_err());
        assert!(parse(&args("--ping-timeout 5")).is_err()); // not longer than the interval
        assert!(parse(&args("--resume-window -1")).is_err());
    }

    #[test]
    fn parses_timing_flags() {
        let c = parse(&args("--ping-interval 1 --ping-timeout 3 --resume-window 0")).unwrap();
        assert_eq!((c.timing.ping_interval, c.timing.ping_timeout), (1, 3));
        assert_eq!(c.timing.resume_window, Duration::ZERO);
        assert_eq!(parse(&args("")).unwrap().timing, lkrtc_server::Timing::default());
    }

    #[test]
    fn parses_ice_flags() {
        let c = parse(&args(
            "--ice-server turn:127.0.0.1:3478 --ice-username u --ice-credential p --force-relay --ice-lite --ice-tcp \
             --no-ice-udp --token-refresh 5",
        ))
        .unwrap();
        assert_eq!(c.ice.servers[0].urls, vec!["turn:127.0.0.1:3478"]);
        assert_eq!((c.ice.servers[0].username.as_str(), c.ice.servers[0].credential.as_str()), ("u", "p"));
        assert!(c.ice.force_relay && c.ice.lite && c.ice.tcp && !c.ice.udp);
        assert_eq!(c.token_refresh, Some(Duration::from_secs(5)));
    }
}
