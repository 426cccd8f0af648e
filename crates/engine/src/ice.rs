//! ICE configuration: which STUN/TURN servers and which candidate policy the two peer
//! connections use, from the app's `rtcConfig` and the server's join response.
//!
//! As in the official SDKs, servers the app names win; otherwise the server's list is
//! used. The server can force relay-only through its client configuration. App input is
//! checked strictly (a bad URL is an error the app can fix); a bad entry from the server
//! is skipped with a warning.
//!
//! What the WebRTC stack (`webrtc` 0.21) can use: STUN over UDP, TURN over UDP
//! (`turn:host:port` / `?transport=udp`), ICE over TCP to a server's passive TCP
//! candidates. TURN over TCP (`turn:…?transport=tcp`) and over TLS (`turns:`) are not in
//! the stack: lkrtc carries them itself ([`crate::turn_tunnel`]), handing the stack a UDP
//! URL for the same server and tunnelling what it sends there. When a server is listed
//! both ways, UDP is used. STUN over TLS and TURN over DTLS are not supported.

use livekit_protocol as proto;
use rtc::ice::url::{ProtoType, SchemeType, Url};
use webrtc::peer_connection::RTCIceServer;

use crate::error::{ConnectError, Result};
use crate::turn_tunnel::StreamTurn;
use crate::types::{IceServer, IceTransportPolicy};

/// The candidate type of an `a=candidate` / `candidate:` line (`host`, `srflx`, `relay`...).
pub(crate) use lkrtc_transport::candidate::candidate_type;

/// What the peer connections are built with.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IcePlan {
    /// Servers handed to the WebRTC stack (already checked; tunnelled ones as UDP URLs).
    pub servers: Vec<RTCIceServer>,
    /// Candidate policy.
    pub policy: IceTransportPolicy,
    /// URLs that cannot be used (STUN over TLS, TURN over DTLS), for diagnostics.
    pub unusable_turn: Vec<String>,
    /// TURN servers reached over TCP or TLS (tunnelled, see [`crate::turn_tunnel`]).
    pub stream_turn: Vec<StreamTurn>,
    /// The TURN URLs relay candidates can come from, as the app or server wrote them.
    pub turn_urls: Vec<String>,
}

impl IcePlan {
    /// Relay URLs the stack can allocate on (as given).
    pub fn usable_turn_urls(&self) -> Vec<String> {
        self.turn_urls.clone()
    }
}

/// How a checked URL is used.
#[derive(Debug, PartialEq)]
enum UrlUse {
    Stun,
    Turn,
    /// TURN over TCP or TLS: tunnelled; the stack gets `turn:host:port` (UDP).
    TurnStream(StreamTurn),
    /// Valid, but not supported (STUN over TLS, TURN over DTLS).
    Unsupported(&'static str),
}

fn check_url(raw: &str) -> std::result::Result<UrlUse, String> {
    // `stun:` URLs in the wild often carry `?transport=udp`; the stack strips it too.
    let scheme = raw.split(':').next().unwrap_or_default().to_ascii_lowercase();
    let parseable = if scheme == "stun" || scheme == "stuns" { raw.split('?').next().unwrap_or(raw) } else { raw };
    let url = Url::parse_url(parseable).map_err(|e| e.to_string())?;
    let stream = |tls| UrlUse::TurnStream(StreamTurn { host: url.host.clone(), port: url.port, tls });
    Ok(match (url.scheme, url.proto) {
        (SchemeType::Stun, _) => UrlUse::Stun,
        (SchemeType::Turn, ProtoType::Udp) => UrlUse::Turn,
        (SchemeType::Turn, _) => stream(false),
        (SchemeType::Turns, ProtoType::Tcp) => stream(true),
        (SchemeType::Turns, _) => UrlUse::Unsupported("TURN over DTLS"),
        (SchemeType::Stuns, _) => UrlUse::Unsupported("STUN over TLS"),
        _ => return Err("the scheme is not stun:, stuns:, turn: or turns:".into()),
    })
}

/// The UDP URL the stack is given for a tunnelled server.
fn udp_url(s: &StreamTurn) -> String {
    let host = if s.host.contains(':') { format!("[{}]", s.host) } else { s.host.clone() };
    format!("turn:{host}:{}?transport=udp", s.port)
}

/// Checked servers, before the policy is applied.
#[derive(Default)]
struct Checked {
    servers: Vec<RTCIceServer>,
    unusable: Vec<String>,
    /// Tunnelled servers with the URL as written.
    stream: Vec<(StreamTurn, String)>,
    /// UDP TURN URLs as written.
    udp_turn: Vec<String>,
}

/// Checks every URL: app input strictly (an error names the entry), the server's leniently.
fn check_servers(list: &[IceServer], from_app: bool) -> Result<Checked> {
    let mut out = Checked::default();
    for (i, server) in list.iter().enumerate() {
        let mut urls = Vec::new();
        for (j, raw) in server.urls.iter().enumerate() {
            let what = || format!("iceServers[{i}].urls[{j}] {raw:?}");
            let problem = match check_url(raw) {
                Ok(UrlUse::Turn | UrlUse::TurnStream(_))
                    if server.username.is_empty() || server.credential.is_empty() =>
                {
                    format!("{} is a TURN server and needs a username and a credential", what())
                }
                Ok(UrlUse::Stun) => {
                    urls.push(raw.split('?').next().unwrap_or(raw).to_string());
                    continue;
                }
                Ok(UrlUse::Turn) => {
                    urls.push(raw.clone());
                    out.udp_turn.push(raw.clone());
                    continue;
                }
                Ok(UrlUse::TurnStream(s)) => {
                    urls.push(udp_url(&s));
                    out.stream.push((s, raw.clone()));
                    continue;
                }
                Ok(UrlUse::Unsupported(kind)) => {
                    tracing::warn!(url = %raw, "{kind} is not supported; this ICE server is skipped");
                    out.unusable.push(raw.clone());
                    continue;
                }
                Err(reason) => format!("{} is not a STUN/TURN URL: {reason}", what()),
            };
            if from_app {
                return Err(ConnectError::IceConfig(problem).into());
            }
            tracing::warn!("server-sent ICE server skipped: {problem}");
        }
        if !urls.is_empty() {
            out.servers.push(RTCIceServer {
                urls,
                username: server.username.clone(),
                credential: server.credential.clone(),
            });
        }
    }
    Ok(out)
}

/// Decides the ICE configuration for one connection.
pub(crate) fn plan(
    app_servers: &[IceServer],
    app_policy: IceTransportPolicy,
    join: &proto::JoinResponse,
) -> Result<IcePlan> {
    let from_app = !app_servers.is_empty();
    let server_sent: Vec<IceServer> = join
        .ice_servers
        .iter()
        .map(|s| IceServer { urls: s.urls.clone(), username: s.username.clone(), credential: s.credential.clone() })
        .collect();
    let mut c = check_servers(if from_app { app_servers } else { &server_sent }, from_app)?;
    // A server reachable over UDP is not tunnelled too (the stack would see one URL twice).
    let udp: std::collections::HashSet<String> = c.udp_turn.iter().map(|u| canonical(u)).collect();
    let mut stream_turn = Vec::new();
    let mut turn_urls = c.udp_turn.clone();
    for (s, raw) in std::mem::take(&mut c.stream) {
        let as_udp = udp_url(&s);
        if udp.contains(&canonical(&as_udp)) || stream_turn.contains(&s) {
            if let Some(server) = c.servers.iter_mut().find(|sv| sv.urls.contains(&as_udp)) {
                if let Some(pos) = server.urls.iter().rposition(|u| *u == as_udp) {
                    server.urls.remove(pos);
                }
            }
            continue;
        }
        turn_urls.push(raw);
        stream_turn.push(s);
    }
    c.servers.retain(|s| !s.urls.is_empty());
    let forced =
        join.client_configuration.as_ref().is_some_and(|c| c.force_relay == proto::ClientConfigSetting::Enabled as i32);
    let policy = if forced { IceTransportPolicy::Relay } else { app_policy };
    let plan = IcePlan { servers: c.servers, policy, unusable_turn: c.unusable, stream_turn, turn_urls };
    if plan.policy == IceTransportPolicy::Relay && plan.turn_urls.is_empty() {
        let source = if from_app { "rtcConfig.iceServers" } else { "the server's ICE servers" };
        let why = if forced { " (the server forces relay-only)" } else { "" };
        let detail = if plan.unusable_turn.is_empty() {
            format!("{source} name no TURN server")
        } else {
            format!("{source} name only {}, which lkrtc does not support", plan.unusable_turn.join(", "))
        };
        return Err(ConnectError::IceConfig(format!(
            "relay-only ICE{why} needs a TURN server (turn: over UDP or TCP, turns: over TLS), but {detail}"
        ))
        .into());
    }
    Ok(plan)
}

/// A TURN URL in a comparable form (`?transport=udp` is the default).
fn canonical(url: &str) -> String {
    url.to_ascii_lowercase().trim_end_matches("?transport=udp").to_string()
}

/// Whether a local candidate may be signalled under `policy`.
pub(crate) fn may_signal(policy: IceTransportPolicy, candidate: &str) -> bool {
    match policy {
        IceTransportPolicy::All => true,
        IceTransportPolicy::NoHost => candidate_type(candidate) != Some("host"),
        IceTransportPolicy::Relay => candidate_type(candidate) == Some("relay"),
    }
}

/// Drops the `a=candidate` lines of an SDP that `policy` does not allow to be signalled.
pub(crate) fn filter_sdp(policy: IceTransportPolicy, sdp: &str) -> String {
    if policy == IceTransportPolicy::All {
        return sdp.to_string();
    }
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let keep = match line.trim_end().strip_prefix("a=") {
            Some(attr) if attr.starts_with("candidate:") => may_signal(policy, attr),
            _ => true,
        };
        if keep {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(urls: &[&str]) -> IceServer {
        IceServer { urls: urls.iter().map(|u| u.to_string()).collect(), username: "u".into(), credential: "p".into() }
    }

    fn join_with(servers: Vec<proto::IceServer>, force_relay: bool) -> proto::JoinResponse {
        proto::JoinResponse {
            ice_servers: servers,
            client_configuration: Some(proto::ClientConfiguration {
                force_relay: if force_relay {
                    proto::ClientConfigSetting::Enabled as i32
                } else {
                    proto::ClientConfigSetting::Unset as i32
                },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn app_servers_win_over_the_servers_list() {
        let join = join_with(
            vec![proto::IceServer { urls: vec!["stun:server.test:3478".into()], ..Default::default() }],
            false,
        );
        let p = plan(&[turn(&["turn:127.0.0.1:3478?transport=udp"])], IceTransportPolicy::Relay, &join).unwrap();
        assert_eq!(p.servers.len(), 1);
        assert_eq!(p.servers[0].urls, vec!["turn:127.0.0.1:3478?transport=udp"]);
        let p = plan(&[], IceTransportPolicy::All, &join).unwrap();
        assert_eq!(p.servers[0].urls, vec!["stun:server.test:3478"]);
    }

    #[test]
    fn bad_app_urls_are_errors_bad_server_urls_are_skipped() {
        let join = join_with(vec![], false);
        for bad in ["http://x", "turn:", "nonsense", "turn:host:3478?transport=sctp"] {
            let e = plan(&[turn(&[bad])], IceTransportPolicy::All, &join).unwrap_err();
            assert_eq!(e.code(), "ERR_ICE_CONFIG", "{bad}: {e}");
            assert!(e.to_string().contains("iceServers[0].urls[0]"), "{e}");
        }
        let no_creds = IceServer { urls: vec!["turn:127.0.0.1:3478".into()], ..Default::default() };
        let e = plan(&[no_creds], IceTransportPolicy::All, &join).unwrap_err();
        assert!(e.to_string().contains("needs a username and a credential"), "{e}");
        let join = join_with(
            vec![proto::IceServer {
                urls: vec!["garbage".into(), "stun:ok.test:3478?transport=udp".into()],
                ..Default::default()
            }],
            false,
        );
        let p = plan(&[], IceTransportPolicy::All, &join).unwrap();
        assert_eq!(p.servers[0].urls, vec!["stun:ok.test:3478"]);
    }

    #[test]
    fn relay_needs_a_turn_server() {
        let join = join_with(vec![], false);
        let e = plan(&[], IceTransportPolicy::Relay, &join).unwrap_err();
        assert!(e.to_string().contains("name no TURN server"), "{e}");
        let only_unsupported = [turn(&["turns:turn.test:443?transport=udp", "stuns:turn.test:443"])];
        let e = plan(&only_unsupported, IceTransportPolicy::Relay, &join).unwrap_err();
        assert!(e.to_string().contains("does not support"), "{e}");
    }

    #[test]
    fn tcp_and_tls_turn_are_tunnelled_as_udp_urls() {
        let join = join_with(vec![], false);
        let both = [turn(&["turns:turn.test:443", "turn:other.test:3478?transport=tcp"])];
        let p = plan(&both, IceTransportPolicy::Relay, &join).unwrap();
        assert_eq!(p.usable_turn_urls(), vec!["turns:turn.test:443", "turn:other.test:3478?transport=tcp"]);
        assert_eq!(p.servers[0].urls, vec!["turn:turn.test:443?transport=udp", "turn:other.test:3478?transport=udp"]);
        assert_eq!(p.stream_turn.len(), 2);
        assert!(p.stream_turn[0].tls && !p.stream_turn[1].tls);
        // A server listed over UDP and TCP is used over UDP only.
        let twice = [turn(&["turn:t.test:3478", "turn:t.test:3478?transport=tcp"])];
        let p = plan(&twice, IceTransportPolicy::Relay, &join).unwrap();
        assert_eq!(p.servers[0].urls, vec!["turn:t.test:3478"]);
        assert!(p.stream_turn.is_empty());
    }

    #[test]
    fn the_server_can_force_relay() {
        let join = join_with(
            vec![proto::IceServer {
                urls: vec!["turn:127.0.0.1:3478".into()],
                username: "u".into(),
                credential: "p".into(),
            }],
            true,
        );
        assert_eq!(plan(&[], IceTransportPolicy::All, &join).unwrap().policy, IceTransportPolicy::Relay);
    }

    #[test]
    fn candidate_policies() {
        let host = "candidate:1 1 udp 2130706431 10.0.0.2 5000 typ host";
        let srflx = "candidate:2 1 udp 1694498815 1.2.3.4 5000 typ srflx raddr 10.0.0.2 rport 5000";
        let relay = "candidate:3 1 udp 16777215 5.6.7.8 6000 typ relay raddr 1.2.3.4 rport 5000";
        assert_eq!(candidate_type(host), Some("host"));
        assert!(may_signal(IceTransportPolicy::All, host));
        assert!(!may_signal(IceTransportPolicy::NoHost, host) && may_signal(IceTransportPolicy::NoHost, srflx));
        assert!(!may_signal(IceTransportPolicy::Relay, srflx) && may_signal(IceTransportPolicy::Relay, relay));
        let sdp = format!("v=0\r\na={host}\r\na={relay}\r\na=mid:0\r\n");
        let filtered = filter_sdp(IceTransportPolicy::NoHost, &sdp);
        assert!(!filtered.contains("typ host") && filtered.contains("typ relay") && filtered.contains("a=mid:0"));
    }
}
