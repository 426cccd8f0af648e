//! LiveKit's two data channels and the helpers both sides use to read and watch them.
//!
//! Each side opens `_reliable` (ordered, retransmitted) and `_lossy` (unordered, no
//! retransmits) on the peer connection it sends data on: the client on its publisher
//! PC, the server on the subscriber PC.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::sync::watch;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};

/// Label of the reliable channel.
pub const RELIABLE: &str = "_reliable";
/// Label of the lossy channel.
pub const LOSSY: &str = "_lossy";

/// Which of LiveKit's data channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// `_reliable`: ordered, retransmitted.
    Reliable,
    /// `_lossy`: unordered, never retransmitted.
    Lossy,
}

impl Channel {
    /// The channel a label names (`None` for channels LiveKit does not route, such as
    /// `_data_track`).
    pub fn from_label(label: &str) -> Option<Self> {
        match label {
            RELIABLE => Some(Self::Reliable),
            LOSSY => Some(Self::Lossy),
            _ => None,
        }
    }

    /// The label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Reliable => RELIABLE,
            Self::Lossy => LOSSY,
        }
    }

    /// The options LiveKit opens this channel with.
    pub fn init(self) -> RTCDataChannelInit {
        let reliable = self == Self::Reliable;
        RTCDataChannelInit {
            ordered: reliable,
            max_packet_life_time: None,
            max_retransmits: if reliable { None } else { Some(0) },
            protocol: String::new(),
            negotiated: None,
        }
    }
}

/// Opens the `_reliable` and `_lossy` channels on `pc`, in that order.
pub async fn open(
    pc: &dyn webrtc::peer_connection::PeerConnection,
) -> webrtc::error::Result<(Arc<dyn DataChannel>, Arc<dyn DataChannel>)> {
    let reliable = pc.create_data_channel(RELIABLE, Some(Channel::Reliable.init())).await?;
    let lossy = pc.create_data_channel(LOSSY, Some(Channel::Lossy.init())).await?;
    Ok((reliable, lossy))
}

/// The next message on `dc`; `None` once it closes.
pub async fn next_message(dc: &Arc<dyn DataChannel>) -> Option<BytesMut> {
    loop {
        match dc.poll().await? {
            DataChannelEvent::OnMessage(m) => return Some(m.data),
            DataChannelEvent::OnClose => return None,
            _ => {}
        }
    }
}

/// Drains the events of a channel this side only sends on, reporting whether it is
/// open (`false` again once it closes). Spawns a task on the current tokio runtime.
pub fn watch_open(dc: Arc<dyn DataChannel>) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        while let Some(ev) = dc.poll().await {
            match ev {
                DataChannelEvent::OnOpen => {
                    let _ = tx.send(true);
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
        let _ = tx.send(false);
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_options() {
        for c in [Channel::Reliable, Channel::Lossy] {
            assert_eq!(Channel::from_label(c.label()), Some(c));
        }
        assert_eq!(Channel::from_label("_data_track"), None);
        let reliable = Channel::Reliable.init();
        assert!(reliable.ordered);
        assert_eq!(reliable.max_retransmits, None);
        let lossy = Channel::Lossy.init();
        assert!(!lossy.ordered);
        assert_eq!(lossy.max_retransmits, Some(0));
    }
}
