//! `lkrtc-server`: the dev SFU as a command-line program.

use std::net::IpAddr;
use std::process::ExitCode;

use lkrtc_server::{KeyStore, Server, ServerConfig};

const USAGE: &str = "usage: lkrtc-server [--port 7880] [--bind 127.0.0.1] [--keys key:secret,...] [--dev]

  --port N       TCP port for HTTP/WebSocket (0 picks a free one; default 7880)
  --bind IP      address for signalling and WebRTC (default 127.0.0.1)
  --keys SPEC    accepted API keys, key:secret pairs separated by commas
                 (default: $LIVEKIT_KEYS, else devkey:secret)
  --dev          development defaults (devkey:secret); accepted for livekit-server parity
Logging: LKRTC_LOG (e.g. info, debug, lkrtc_server=trace).";

fn parse(args: &[String]) -> Result<ServerConfig, String> {
    let mut config = ServerConfig::dev();
    let mut keys = std::env::var("LIVEKIT_KEYS").ok().filter(|k| !k.trim().is_empty());
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
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(spec) = keys {
        config.keys = KeyStore::parse(&spec).map_err(|e| format!("keys: {e}"))?;
    }
    Ok(config)
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

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
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
    }
}
