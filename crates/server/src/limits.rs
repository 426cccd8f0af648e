//! Every limit the server enforces against hostile or faulty peers, in one place.
//!
//! Values follow livekit-server's defaults (`pkg/config/config.go` `DefaultConfig.Limit`,
//! `pkg/rtc/participant.go`) where it has one; the README's lkrtc-server section lists
//! each limit, its value and what happens when a peer exceeds it.

use std::fmt;
use std::time::Duration;

use livekit_protocol as proto;
use prost::Message as _;

/// A client must send a complete HTTP request head within this time of connecting (or of
/// its previous request); otherwise the connection is closed. livekit-server (Go
/// `http.Server`) sets none; this bounds slowloris connections.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections still waiting for their first request head. When one more arrives, the
/// oldest of them is closed, so that file descriptors stay bounded and a new client always
/// gets in.
pub const MAX_PENDING_CONNECTIONS: usize = 1024;

/// Largest signal message accepted from a client (WebSocket message and frame); a larger
/// one closes the socket with 1009 (message too big).
pub const MAX_SIGNAL_MESSAGE: usize = 1 << 20;

/// Largest signal message the server sends. Bigger participant lists are split over
/// several messages. livekit-server batches participant updates to 128 KiB
/// (`UpdateBatchTargetSize`); its clients accept 16 MiB or more.
pub const MAX_SIGNAL_RESPONSE: usize = 1 << 20;

/// Bytes of signal messages queued for one participant's WebSocket. A participant whose
/// queue exceeds this (it does not read) is dropped: its session ends and the others see
/// it leave.
pub const MAX_SIGNAL_QUEUE_BYTES: usize = 8 << 20;

/// Participant and room metadata, in bytes (livekit `limit.max_metadata_size`, 512 KiB).
pub const MAX_METADATA_SIZE: usize = 512 * 1024;

/// Total bytes of a participant's attributes, keys plus values (livekit
/// `limit.max_attributes_size`, 64 KiB). Checked on the merged result too, so that
/// attributes cannot accumulate across updates.
pub const MAX_ATTRIBUTES_SIZE: usize = 64 * 1024;

/// Participant name, in bytes (livekit `limit.max_participant_name_length`).
pub const MAX_PARTICIPANT_NAME_LENGTH: usize = 256;

/// Participant identity, in bytes (livekit `limit.max_participant_identity_length`).
pub const MAX_PARTICIPANT_IDENTITY_LENGTH: usize = 256;

/// Room name, in bytes (livekit `limit.max_room_name_length`).
pub const MAX_ROOM_NAME_LENGTH: usize = 256;

/// `add_track` requests waiting for media, per participant (livekit `cMaxPendingTracks`).
/// More are refused with `RequestResponse{LIMIT_EXCEEDED}`.
pub const MAX_PENDING_TRACKS: usize = 20;

/// ICE candidates buffered per peer connection before its remote description is set.
/// One more closes the session with 1008 (policy violation).
pub const MAX_PENDING_CANDIDATES: usize = 64;

/// Size of one trickled candidate (`candidate_init` JSON). A larger one closes the session
/// with 1009.
pub const MAX_CANDIDATE_SIZE: usize = 4096;

/// Characters of network-supplied text (SDP, candidates, error texts that quote client
/// input) written to the log at any level; the rest is replaced by "… (N bytes)".
pub const MAX_LOGGED_TEXT: usize = 200;

/// Text from the network, clipped for logging (see [`MAX_LOGGED_TEXT`]).
pub struct Clipped<'a>(pub &'a str);

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        match s.char_indices().nth(MAX_LOGGED_TEXT) {
            None => f.write_str(s),
            Some((end, _)) => write!(f, "{}… ({} bytes)", &s[..end], s.len()),
        }
    }
}

/// Clips network-supplied text for a log line.
pub fn clip(s: &str) -> Clipped<'_> {
    Clipped(s)
}

/// Which participant-info limit a value exceeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoLimit {
    /// [`MAX_PARTICIPANT_NAME_LENGTH`].
    Name,
    /// [`MAX_METADATA_SIZE`].
    Metadata,
    /// [`MAX_ATTRIBUTES_SIZE`].
    Attributes,
}

impl InfoLimit {
    /// livekit-server's `RequestResponse` message for it.
    pub fn message(self) -> &'static str {
        match self {
            InfoLimit::Name => "exceeds name length limit",
            InfoLimit::Metadata => "exceeds metadata size limit",
            InfoLimit::Attributes => "exceeds attributes size limit",
        }
    }
}

impl fmt::Display for InfoLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InfoLimit::Name => write!(f, "name length exceeds limits ({MAX_PARTICIPANT_NAME_LENGTH} bytes)"),
            InfoLimit::Metadata => write!(f, "metadata size exceeds limits ({MAX_METADATA_SIZE} bytes)"),
            InfoLimit::Attributes => write!(f, "attributes size exceeds limits ({MAX_ATTRIBUTES_SIZE} bytes)"),
        }
    }
}

impl std::error::Error for InfoLimit {}

/// Why a join request is over livekit-server's limits (HTTP 400, with this text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinLimit {
    /// [`MAX_PARTICIPANT_IDENTITY_LENGTH`].
    #[error("participant identity length exceeds limits ({MAX_PARTICIPANT_IDENTITY_LENGTH} bytes)")]
    Identity,
    /// [`MAX_ROOM_NAME_LENGTH`].
    #[error("room name length exceeds limits ({MAX_ROOM_NAME_LENGTH} bytes)")]
    RoomName,
    /// The token's name, metadata or attributes.
    #[error(transparent)]
    Info(#[from] InfoLimit),
}

/// Total size of attributes as livekit counts it (keys plus values).
pub fn attributes_size<'a>(attrs: impl IntoIterator<Item = (&'a String, &'a String)>) -> usize {
    attrs.into_iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// Checks a name, metadata and attributes against the limits.
pub fn check_info<'a>(
    name: &str,
    metadata: &str,
    attributes: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<(), InfoLimit> {
    if name.len() > MAX_PARTICIPANT_NAME_LENGTH {
        return Err(InfoLimit::Name);
    }
    if metadata.len() > MAX_METADATA_SIZE {
        return Err(InfoLimit::Metadata);
    }
    if attributes_size(attributes) > MAX_ATTRIBUTES_SIZE {
        return Err(InfoLimit::Attributes);
    }
    Ok(())
}

/// Applies an attribute update (an empty value removes the key) to `current` and checks
/// the result, without changing `current` when it is over the limit.
pub fn merge_attributes(
    current: &std::collections::HashMap<String, String>,
    update: &std::collections::HashMap<String, String>,
) -> Result<std::collections::HashMap<String, String>, InfoLimit> {
    let mut merged = current.clone();
    for (k, v) in update {
        if v.is_empty() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    if attributes_size(&merged) > MAX_ATTRIBUTES_SIZE {
        return Err(InfoLimit::Attributes);
    }
    Ok(merged)
}

/// Checks a joining participant's token claims: identity, room name, name, metadata and
/// attributes (livekit-server checks identity and room name in `ValidateConnectRequest`,
/// metadata and attributes in `StartSession`; lkrtc also checks the name). The error is
/// the text of the HTTP 400 answer.
pub fn check_join(grant: &crate::auth::JoinGrant) -> Result<(), JoinLimit> {
    if grant.identity.len() > MAX_PARTICIPANT_IDENTITY_LENGTH {
        return Err(JoinLimit::Identity);
    }
    if grant.room.len() > MAX_ROOM_NAME_LENGTH {
        return Err(JoinLimit::RoomName);
    }
    Ok(check_info(&grant.name, &grant.metadata, &grant.attributes)?)
}

/// Splits a signal message the server built so that each part encodes to at most
/// [`MAX_SIGNAL_RESPONSE`] bytes: a join response keeps the other participants that fit
/// and the rest follow as participant updates; a participant update is split into
/// several. Other messages are returned as they are (none can grow past the cap: every
/// field that clients control is bounded above).
pub fn split(msg: proto::signal_response::Message) -> Vec<proto::signal_response::Message> {
    use proto::signal_response::Message as Resp;
    // Room for the SignalResponse wrapper and field tags.
    const SLACK: usize = 64;
    let fits = |m: &Resp| proto::SignalResponse { message: Some(m.clone()) }.encoded_len() <= MAX_SIGNAL_RESPONSE;
    if fits(&msg) {
        return vec![msg];
    }
    let (first, rest) = match msg {
        Resp::Join(mut join) => {
            let others = std::mem::take(&mut join.other_participants);
            let mut size = prost::Message::encoded_len(&join) + SLACK;
            let mut rest = Vec::new();
            for p in others {
                let len = prost::Message::encoded_len(&p) + SLACK;
                if rest.is_empty() && size + len <= MAX_SIGNAL_RESPONSE {
                    size += len;
                    join.other_participants.push(p);
                } else {
                    rest.push(p);
                }
            }
            (Some(Resp::Join(join)), rest)
        }
        Resp::Update(update) => (None, update.participants),
        other => return vec![other],
    };
    let mut out: Vec<Resp> = first.into_iter().collect();
    let mut batch = Vec::new();
    let mut size = 0;
    for p in rest {
        let len = prost::Message::encoded_len(&p) + SLACK;
        if !batch.is_empty() && size + len > MAX_SIGNAL_RESPONSE {
            out.push(Resp::Update(proto::ParticipantUpdate { participants: std::mem::take(&mut batch) }));
            size = 0;
        }
        size += len;
        batch.push(p);
    }
    if !batch.is_empty() {
        out.push(Resp::Update(proto::ParticipantUpdate { participants: batch }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_long_text_on_a_char_boundary() {
        assert_eq!(clip("short").to_string(), "short");
        let long = "é".repeat(1000);
        let out = clip(&long).to_string();
        assert!(out.starts_with(&"é".repeat(MAX_LOGGED_TEXT)));
        assert!(out.ends_with("… (2000 bytes)"), "{out}");
    }

    #[test]
    fn attributes_cannot_accumulate() {
        let half = |k: &str| std::collections::HashMap::from([(k.to_string(), "x".repeat(MAX_ATTRIBUTES_SIZE / 2))]);
        let a = merge_attributes(&Default::default(), &half("a")).unwrap();
        assert_eq!(merge_attributes(&a, &half("b")), Err(InfoLimit::Attributes));
        let removed = merge_attributes(&a, &std::collections::HashMap::from([("a".into(), String::new())])).unwrap();
        assert!(removed.is_empty());
    }

    #[test]
    fn big_updates_are_split_under_the_cap() {
        let p = |i: usize| proto::ParticipantInfo {
            identity: format!("p{i}"),
            metadata: "m".repeat(MAX_METADATA_SIZE),
            ..Default::default()
        };
        let join = proto::JoinResponse { other_participants: (0..5).map(p).collect(), ..Default::default() };
        let parts = split(proto::signal_response::Message::Join(join));
        assert!(parts.len() >= 3);
        assert!(matches!(parts[0], proto::signal_response::Message::Join(_)));
        let mut seen = 0;
        for m in &parts {
            assert!(proto::SignalResponse { message: Some(m.clone()) }.encoded_len() <= MAX_SIGNAL_RESPONSE);
            seen += match m {
                proto::signal_response::Message::Join(j) => j.other_participants.len(),
                proto::signal_response::Message::Update(u) => u.participants.len(),
                _ => 0,
            };
        }
        assert_eq!(seen, 5);
    }
}
