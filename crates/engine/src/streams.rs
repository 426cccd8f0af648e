//! Text and byte streams (`DataStream` header → chunks → trailer), as the official
//! clients send them to a peer that advertises client protocol 0: chunked, uncompressed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;

use livekit_protocol as proto;
use std::future::Future;

use tokio::sync::{mpsc, Notify};

use crate::command::Command;
use crate::error::{EngineError, Result};
use crate::reply::{self, Reply};

/// Largest chunk payload, in bytes.
pub const CHUNK_SIZE: usize = 15_000;
/// Largest amount of unread data a reader buffers before the stream is failed.
pub const MAX_BUFFERED: usize = 64 << 20;
/// Mime type of text streams.
pub const TEXT_MIME: &str = "text/plain";
/// Default mime type of byte streams.
pub const BYTES_MIME: &str = "application/octet-stream";

/// Text or bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// UTF-8 text.
    Text,
    /// Raw bytes (files).
    Bytes,
}

/// What a stream's header says.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamInfo {
    /// Stream id.
    pub stream_id: String,
    /// Application topic (handlers are registered per topic).
    pub topic: String,
    /// Mime type.
    pub mime_type: String,
    /// Sender's timestamp (ms since the epoch).
    pub timestamp: i64,
    /// Total size in bytes, when the sender knew it.
    pub total_size: Option<u64>,
    /// Application attributes.
    pub attributes: HashMap<String, String>,
    /// File name (byte streams).
    pub name: Option<String>,
    /// Text or bytes.
    pub kind: StreamKind,
}

impl StreamInfo {
    pub(crate) fn from_header(h: &proto::data_stream::Header) -> Option<Self> {
        let (kind, name) = match &h.content_header {
            Some(proto::data_stream::header::ContentHeader::TextHeader(_)) => (StreamKind::Text, None),
            Some(proto::data_stream::header::ContentHeader::ByteHeader(b)) => (StreamKind::Bytes, Some(b.name.clone())),
            None => return None,
        };
        Some(Self {
            stream_id: h.stream_id.clone(),
            topic: h.topic.clone(),
            mime_type: h.mime_type.clone(),
            timestamp: h.timestamp,
            total_size: h.total_length,
            attributes: h.attributes.clone(),
            name,
            kind,
        })
    }

    pub(crate) fn to_header(&self) -> proto::data_stream::Header {
        let content_header = match self.kind {
            StreamKind::Text => {
                proto::data_stream::header::ContentHeader::TextHeader(proto::data_stream::TextHeader::default())
            }
            StreamKind::Bytes => {
                proto::data_stream::header::ContentHeader::ByteHeader(proto::data_stream::ByteHeader {
                    name: self.name.clone().unwrap_or_else(|| "unknown".into()),
                })
            }
        };
        proto::data_stream::Header {
            stream_id: self.stream_id.clone(),
            timestamp: self.timestamp,
            topic: self.topic.clone(),
            mime_type: self.mime_type.clone(),
            total_length: self.total_size,
            attributes: self.attributes.clone(),
            content_header: Some(content_header),
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Receiving

pub(crate) struct ReaderShared {
    pub info: StreamInfo,
    state: Mutex<ReaderState>,
    ready: Notify,
}

struct ReaderState {
    chunks: VecDeque<Vec<u8>>,
    buffered: usize,
    received: u64,
    end: Option<std::result::Result<(), String>>,
    closed_by_reader: bool,
}

/// Why an incoming stream ended abnormally (the sender aborted it, a chunk was missed, it
/// grew over the reader's cap, the room disconnected...): the reason, as text for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct StreamError {
    /// What happened.
    pub reason: String,
}

/// An incoming stream. Read chunks with [`StreamReader::next_chunk`] until `None`.
#[derive(Clone)]
pub struct StreamReader(pub(crate) Arc<ReaderShared>);

impl StreamReader {
    pub(crate) fn new(info: StreamInfo) -> Self {
        Self(Arc::new(ReaderShared {
            info,
            state: Mutex::new(ReaderState {
                chunks: VecDeque::new(),
                buffered: 0,
                received: 0,
                end: None,
                closed_by_reader: false,
            }),
            ready: Notify::new(),
        }))
    }

    /// The header's information.
    pub fn info(&self) -> &StreamInfo {
        &self.0.info
    }

    /// Bytes received so far and the announced total.
    pub fn progress(&self) -> (u64, Option<u64>) {
        (self.0.state.lock().received, self.0.info.total_size)
    }

    /// The next chunk; `None` at a normal end; an error if the stream ended abnormally.
    pub async fn next_chunk(&self) -> Option<std::result::Result<Vec<u8>, StreamError>> {
        loop {
            let notified = self.0.ready.notified();
            {
                let mut st = self.0.state.lock();
                if let Some(c) = st.chunks.pop_front() {
                    st.buffered -= c.len();
                    return Some(Ok(c));
                }
                match &st.end {
                    Some(Ok(())) => return None,
                    Some(Err(reason)) => return Some(Err(StreamError { reason: reason.clone() })),
                    None => {}
                }
            }
            notified.await;
        }
    }

    /// Stops reading: buffered data is dropped and further chunks are ignored.
    pub fn close(&self) {
        let mut st = self.0.state.lock();
        st.closed_by_reader = true;
        st.chunks.clear();
        st.buffered = 0;
        if st.end.is_none() {
            st.end = Some(Ok(()));
        }
        drop(st);
        self.0.ready.notify_one();
    }

    /// Adds a chunk. Returns false when the reader no longer wants data.
    pub(crate) fn push(&self, data: Vec<u8>) -> bool {
        let mut st = self.0.state.lock();
        if st.closed_by_reader || st.end.is_some() {
            return false;
        }
        st.received += data.len() as u64;
        st.buffered += data.len();
        if st.buffered > MAX_BUFFERED {
            st.chunks.clear();
            st.buffered = 0;
            st.end = Some(Err(format!("more than {MAX_BUFFERED} bytes buffered and unread; the stream was dropped")));
            drop(st);
            self.0.ready.notify_one();
            return false;
        }
        if !data.is_empty() {
            st.chunks.push_back(data);
        }
        drop(st);
        self.0.ready.notify_one();
        true
    }

    pub(crate) fn finish(&self, result: std::result::Result<(), String>) {
        let mut st = self.0.state.lock();
        if st.end.is_none() {
            st.end = Some(result);
        }
        drop(st);
        self.0.ready.notify_one();
    }

    /// Ends the stream with `why`, dropping what is buffered and unread (a refused stream
    /// keeps no memory; the next read fails).
    pub(crate) fn reject(&self, why: String) {
        let mut st = self.0.state.lock();
        st.chunks.clear();
        st.buffered = 0;
        if st.end.is_none() {
            st.end = Some(Err(why));
        }
        drop(st);
        self.0.ready.notify_one();
    }

    pub(crate) fn received(&self) -> u64 {
        self.0.state.lock().received
    }
}

/// The room task's record of a stream being received.
pub(crate) struct Incoming {
    pub reader: std::sync::Weak<ReaderShared>,
    pub sender: String,
    pub next_index: u64,
}

// ---------------------------------------------------------------------------------------
// Sending

/// Options for outgoing streams.
#[derive(Clone, Debug, Default)]
pub struct StreamOptions {
    /// Topic (receivers register handlers per topic).
    pub topic: String,
    /// Application attributes.
    pub attributes: HashMap<String, String>,
    /// Limit delivery to these identities (empty: everyone).
    pub destination_identities: Vec<String>,
    /// Stream id (default: a new UUID).
    pub stream_id: Option<String>,
    /// File name (byte streams; default "unknown").
    pub name: Option<String>,
    /// Mime type (byte streams; default application/octet-stream).
    pub mime_type: Option<String>,
    /// Total size if known in advance.
    pub total_size: Option<u64>,
}

/// Splits text into chunks of at most `max` bytes without cutting a character.
pub fn utf8_chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut k = max;
        while !rest.is_char_boundary(k) {
            k -= 1;
        }
        out.push(&rest[..k]);
        rest = &rest[k..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

struct WriterState {
    next_index: u64,
    closed: bool,
}

/// An outgoing stream: `write` sends chunks, `close` sends the trailer. Both queue their
/// packets when called, so writes go out in call order even if not awaited one by one.
pub struct StreamWriter {
    info: StreamInfo,
    destinations: Vec<String>,
    cmd: mpsc::UnboundedSender<Command>,
    state: Mutex<WriterState>,
}

impl StreamWriter {
    pub(crate) fn new(info: StreamInfo, destinations: Vec<String>, cmd: mpsc::UnboundedSender<Command>) -> Self {
        Self { info, destinations, cmd, state: Mutex::new(WriterState { next_index: 0, closed: false }) }
    }

    /// The header's information.
    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    pub(crate) fn send(&self, value: proto::data_packet::Value) -> Reply<()> {
        send_packet(&self.cmd, value, self.destinations.clone())
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, WriterState> {
        self.state.lock()
    }

    /// Sends `data` (split into chunks; text is never split inside a character). The chunks
    /// are queued now; the future resolves once they are all sent.
    pub fn write(&self, data: &[u8]) -> impl Future<Output = Result<()>> + Send + 'static {
        let replies = self.queue_chunks(data);
        async move { reply::all(replies?).await }
    }

    fn queue_chunks(&self, data: &[u8]) -> Result<Vec<Reply<()>>> {
        let mut st = self.lock();
        if st.closed {
            return Err(EngineError::Disposed("the stream writer is closed".into()));
        }
        let pieces: Vec<&[u8]> = match self.info.kind {
            StreamKind::Text => {
                let text = std::str::from_utf8(data)
                    .map_err(|_| EngineError::InvalidArgument("text stream data is not UTF-8".into()))?;
                utf8_chunks(text, CHUNK_SIZE).into_iter().map(str::as_bytes).collect()
            }
            StreamKind::Bytes => data.chunks(CHUNK_SIZE).collect(),
        };
        let mut replies = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let chunk = proto::data_stream::Chunk {
                stream_id: self.info.stream_id.clone(),
                chunk_index: st.next_index,
                content: piece.to_vec(),
                ..Default::default()
            };
            replies.push(self.send(proto::data_packet::Value::StreamChunk(chunk)));
            st.next_index += 1;
        }
        Ok(replies)
    }

    /// Ends the stream; a `reason` marks an abnormal end (receivers see an error). The
    /// trailer is queued now, after every chunk already written.
    pub fn close(&self, reason: Option<String>) -> Reply<()> {
        let mut st = self.lock();
        if st.closed {
            return Reply::ready(Ok(()));
        }
        st.closed = true;
        let trailer = proto::data_stream::Trailer {
            stream_id: self.info.stream_id.clone(),
            reason: reason.unwrap_or_default(),
            attributes: HashMap::new(),
        };
        self.send(proto::data_packet::Value::StreamTrailer(trailer))
    }
}

/// Queues a data packet of any kind (reliable) on the room task now.
pub(crate) fn send_packet(
    cmd: &mpsc::UnboundedSender<Command>,
    value: proto::data_packet::Value,
    destinations: Vec<String>,
) -> Reply<()> {
    Reply::send(cmd, |done| Command::SendPacket { value, destinations, done })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_chunks_never_split_characters() {
        let text = "aé😀".repeat(5_000); // 7 bytes per repeat
        let chunks = utf8_chunks(&text, CHUNK_SIZE);
        assert!(chunks.iter().all(|c| c.len() <= CHUNK_SIZE));
        assert_eq!(chunks.concat(), text);
        assert_eq!(utf8_chunks("", 10), Vec::<&str>::new());
        assert_eq!(utf8_chunks("😀😀", 5), vec!["😀", "😀"]);
    }

    #[test]
    fn reader_buffers_then_ends_and_close_discards() {
        let info = StreamInfo {
            stream_id: "s".into(),
            topic: "t".into(),
            mime_type: TEXT_MIME.into(),
            timestamp: 0,
            total_size: None,
            attributes: HashMap::new(),
            name: None,
            kind: StreamKind::Text,
        };
        let r = StreamReader::new(info.clone());
        assert!(r.push(b"ab".to_vec()));
        r.finish(Ok(()));
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            assert_eq!(r.next_chunk().await.unwrap().unwrap(), b"ab");
            assert!(r.next_chunk().await.is_none());
        });
        let r3 = StreamReader::new(info.clone());
        r3.finish(Err("the sender aborted".into()));
        let ended = rt.block_on(r3.next_chunk()).unwrap().unwrap_err();
        assert_eq!(ended, StreamError { reason: "the sender aborted".into() });
        let r2 = StreamReader::new(info);
        r2.close();
        assert!(!r2.push(b"x".to_vec()), "a closed reader refuses data");
        assert_eq!(StreamInfo::from_header(&r2.info().to_header()).unwrap(), *r2.info());
    }
}
