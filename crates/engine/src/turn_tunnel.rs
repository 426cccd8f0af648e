//! TURN over TCP and over TLS, which the `webrtc` crate (0.21) does not speak: its TURN
//! client sends its messages as UDP datagrams only.
//!
//! The peer connection is given a [`TunnelRuntime`]: the tokio runtime, except that the
//! UDP sockets it wraps send datagrams addressed to a stream TURN server through a TCP
//! (or TLS) connection to it instead, and hand what arrives on that connection back as
//! datagrams from the server. The crate's TURN client is unchanged and unaware; on the
//! wire it is TURN over TCP/TLS as RFC 8656 frames it (STUN messages and ChannelData
//! back to back, ChannelData padded to four bytes). The runtime learns which addresses are
//! tunnelled when the TURN client resolves the servers' host names through it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use webrtc::runtime::{
    AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, RecvMeta, Runtime, Transmit,
};

/// How long connecting (and the TLS handshake) to a TURN server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Datagrams queued towards one server before new ones are dropped (UDP semantics).
const OUTBOUND_QUEUE: usize = 512;
/// Datagrams received and not yet read before the oldest are dropped.
const INBOUND_QUEUE: usize = 1024;
/// Largest TURN message accepted from a server (STUN and ChannelData lengths are 16-bit).
const MAX_FRAME: usize = 4 + 65_535 + 3;

/// A TURN server reached over a byte stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StreamTurn {
    /// Host name as in the URL (the TLS server name).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS (`turns:`) rather than plain TCP.
    pub tls: bool,
}

type Tunnelled = Arc<Mutex<HashMap<SocketAddr, StreamTurn>>>;

/// The tokio runtime with stream TURN servers tunnelled (see the module docs).
pub(crate) struct TunnelRuntime {
    inner: Arc<dyn Runtime>,
    servers: Vec<StreamTurn>,
    tunnelled: Tunnelled,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for TunnelRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunnelRuntime").field("servers", &self.servers).finish()
    }
}

impl TunnelRuntime {
    /// `tls` is the client configuration for `turns:` servers (required if any is).
    pub(crate) fn new(servers: Vec<StreamTurn>, tls: Option<Arc<rustls::ClientConfig>>) -> Option<Self> {
        let inner = webrtc::runtime::default_runtime()?;
        Some(Self { inner, servers, tunnelled: Arc::default(), tls })
    }
}

impl Runtime for TunnelRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        self.inner.spawn(future)
    }
    fn spawn_reactor(&self, size: usize, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        self.inner.spawn_reactor(size, future)
    }
    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        let base = self.inner.wrap_udp_socket(socket)?;
        Ok(Arc::new(TunnelSocket {
            base,
            tunnelled: self.tunnelled.clone(),
            tls: self.tls.clone(),
            inbound: Arc::default(),
            tunnels: Mutex::default(),
        }))
    }
    fn wrap_tcp_listener(&self, listener: std::net::TcpListener) -> io::Result<Arc<dyn AsyncTcpListener>> {
        self.inner.wrap_tcp_listener(listener)
    }
    fn connect_tcp<'a>(
        &'a self,
        remote: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = io::Result<Arc<dyn AsyncTcpStream>>> + Send + 'a>> {
        self.inner.connect_tcp(remote)
    }
    fn resolve_host<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        Box::pin(async move {
            let addrs = self.inner.resolve_host(host).await?;
            if let Some(server) = self.servers.iter().find(|s| same_host_port(host, s)) {
                let mut map = self.tunnelled.lock();
                for addr in &addrs {
                    map.insert(*addr, server.clone());
                }
            }
            Ok(addrs)
        })
    }
    fn now(&self) -> std::time::Instant {
        self.inner.now()
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.inner.sleep(duration)
    }
    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        self.inner.interval(period)
    }
    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        self.inner.block_on(future)
    }
    fn yield_now(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.inner.yield_now()
    }
    fn name(&self) -> &'static str {
        "lkrtc-turn-tunnel"
    }
}

/// `host:port` as the TURN client formats it (IPv6 literals without brackets).
fn same_host_port(host_port: &str, s: &StreamTurn) -> bool {
    let Some((host, port)) = host_port.rsplit_once(':') else { return false };
    port.parse() == Ok(s.port) && host.trim_start_matches('[').trim_end_matches(']').eq_ignore_ascii_case(&s.host)
}

/// Datagrams that arrived through tunnels, waiting for the socket's reader.
#[derive(Default)]
struct Inbound {
    queue: Mutex<VecDeque<(SocketAddr, Vec<u8>)>>,
    waker: Mutex<Option<Waker>>,
}

impl Inbound {
    fn push(&self, from: SocketAddr, datagram: Vec<u8>) {
        {
            let mut q = self.queue.lock();
            if q.len() >= INBOUND_QUEUE {
                q.pop_front();
            }
            q.push_back((from, datagram));
        }
        if let Some(w) = self.waker.lock().take() {
            w.wake();
        }
    }
}

struct Tunnel {
    tx: mpsc::Sender<Vec<u8>>,
    task: tokio::task::JoinHandle<()>,
}

/// A UDP socket whose datagrams to stream TURN servers go through tunnels.
struct TunnelSocket {
    base: Arc<dyn AsyncUdpSocket>,
    tunnelled: Tunnelled,
    tls: Option<Arc<rustls::ClientConfig>>,
    inbound: Arc<Inbound>,
    tunnels: Mutex<HashMap<SocketAddr, Tunnel>>,
}

impl fmt::Debug for TunnelSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunnelSocket").field("base", &self.base).finish()
    }
}

impl Drop for TunnelSocket {
    fn drop(&mut self) {
        for (_, t) in self.tunnels.lock().drain() {
            t.task.abort();
        }
    }
}

impl TunnelSocket {
    fn server_for(&self, addr: &SocketAddr) -> Option<StreamTurn> {
        self.tunnelled.lock().get(addr).cloned()
    }

    /// Queues `datagram` for the tunnel to `to`, opening the tunnel on first use.
    fn send_through(&self, to: SocketAddr, server: StreamTurn, datagram: &[u8]) {
        let mut tunnels = self.tunnels.lock();
        if tunnels.get(&to).is_some_and(|t| t.tx.is_closed()) {
            tunnels.remove(&to); // the connection ended: the next datagram opens a new one
        }
        let tunnel = match tunnels.entry(to) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let Ok(handle) = tokio::runtime::Handle::try_current() else {
                    tracing::warn!("no tokio runtime to open a TURN tunnel on");
                    return;
                };
                let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
                let task = handle.spawn(run_tunnel(to, server, self.tls.clone(), rx, self.inbound.clone()));
                e.insert(Tunnel { tx, task })
            }
        };
        if tunnel.tx.try_send(frame(datagram)).is_err() {
            tracing::debug!(%to, "TURN tunnel queue full; datagram dropped");
        }
    }
}

impl AsyncUdpSocket for TunnelSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.base.local_addr()
    }

    fn poll_send(&self, cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        let Some(server) = self.server_for(&transmit.destination) else { return self.base.poll_send(cx, transmit) };
        let step = transmit.segment_size.unwrap_or(transmit.contents.len()).max(1);
        for datagram in transmit.contents.chunks(step) {
            self.send_through(transmit.destination, server.clone(), datagram);
        }
        Poll::Ready(Ok(transmit.contents.len()))
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        // Register before looking, so a datagram pushed in between still wakes us. Probes
        // with a no-op waker must not replace the driver's real one.
        if !cx.waker().will_wake(Waker::noop()) {
            *self.inbound.waker.lock() = Some(cx.waker().clone());
        }
        let next = self.inbound.queue.lock().pop_front();
        if let (Some((from, datagram)), Some(buf), Some(m)) = (next, bufs.first_mut(), meta.first_mut()) {
            let n = datagram.len().min(buf.len());
            buf[..n].copy_from_slice(&datagram[..n]);
            let mut filled = RecvMeta::default();
            filled.addr = from;
            filled.len = n;
            filled.stride = n.max(1);
            *m = filled;
            return Poll::Ready(Ok(1));
        }
        self.base.poll_recv(cx, bufs, meta)
    }

    fn max_gso_segments(&self) -> usize {
        self.base.max_gso_segments()
    }

    fn max_gro_segments(&self) -> usize {
        self.base.max_gro_segments()
    }
}

/// A datagram as it travels over a stream: ChannelData padded to a multiple of four
/// bytes (STUN messages always are).
fn frame(datagram: &[u8]) -> Vec<u8> {
    let mut out = datagram.to_vec();
    if is_channel_data(datagram) {
        out.resize(datagram.len().next_multiple_of(4), 0);
    }
    out
}

fn is_channel_data(b: &[u8]) -> bool {
    b.first().is_some_and(|first| first >> 6 == 0b01)
}

/// Splits complete TURN messages off the front of `buf`: `Ok(Some(datagram))` per
/// message (ChannelData without its padding), `Ok(None)` when more bytes are needed.
fn next_message(buf: &mut Vec<u8>) -> io::Result<Option<Vec<u8>>> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let length = u16::from_be_bytes([buf[2], buf[3]]) as usize;
    let (datagram_len, framed_len) = match buf[0] >> 6 {
        0b00 => (20 + length, 20 + length),
        0b01 => (4 + length, (4 + length).next_multiple_of(4)),
        _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "not a STUN or ChannelData message")),
    };
    if buf.len() < framed_len {
        return Ok(None);
    }
    let datagram = buf[..datagram_len].to_vec();
    buf.drain(..framed_len);
    Ok(Some(datagram))
}

async fn run_tunnel(
    to: SocketAddr,
    server: StreamTurn,
    tls: Option<Arc<rustls::ClientConfig>>,
    rx: mpsc::Receiver<Vec<u8>>,
    inbound: Arc<Inbound>,
) {
    let result = async {
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(to))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        tcp.set_nodelay(true)?;
        if !server.tls {
            return pump(tcp, to, rx, &inbound).await;
        }
        let config = tls.ok_or_else(|| io::Error::other("no TLS configuration"))?;
        let name = rustls::pki_types::ServerName::try_from(server.host.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let handshake = tokio_rustls::TlsConnector::from(config).connect(name, tcp);
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        pump(stream, to, rx, &inbound).await
    }
    .await;
    match result {
        Ok(()) => tracing::debug!(%to, "TURN tunnel closed"),
        Err(e) => tracing::warn!(%to, host = %server.host, tls = server.tls, error = %e, "TURN tunnel failed"),
    }
}

async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    from: SocketAddr,
    mut rx: mpsc::Receiver<Vec<u8>>,
    inbound: &Inbound,
) -> io::Result<()> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(bytes) => writer.write_all(&bytes).await?,
                None => return Ok(()),
            },
            n = reader.read(&mut chunk) => {
                let n = n?;
                if n == 0 {
                    return Ok(());
                }
                buf.extend_from_slice(&chunk[..n]);
                while let Some(datagram) = next_message(&mut buf)? {
                    inbound.push(from, datagram);
                }
                if buf.len() > MAX_FRAME {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "oversized TURN message"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_data_is_padded_and_unpadded() {
        let cd = [0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5];
        let framed = frame(&cd);
        assert_eq!(framed.len(), 12);
        let stun = [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(frame(&stun), stun.to_vec());
        let mut stream: Vec<u8> = framed.iter().chain(stun.iter()).copied().collect();
        stream.extend_from_slice(&[0x40, 0x00]); // the start of a third message
        assert_eq!(next_message(&mut stream).unwrap().unwrap(), cd.to_vec());
        assert_eq!(next_message(&mut stream).unwrap().unwrap(), stun.to_vec());
        assert!(next_message(&mut stream).unwrap().is_none());
        assert_eq!(stream.len(), 2);
        let mut garbage = vec![0xff, 0, 0, 0];
        assert!(next_message(&mut garbage).is_err());
    }

    #[test]
    fn host_port_matching() {
        let s = StreamTurn { host: "Turn.Example".into(), port: 443, tls: true };
        assert!(same_host_port("turn.example:443", &s));
        assert!(!same_host_port("turn.example:3478", &s));
        let v6 = StreamTurn { host: "::1".into(), port: 3478, tls: false };
        assert!(same_host_port("::1:3478", &v6));
    }
}
