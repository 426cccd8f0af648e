//! LiveKit's trickle candidate JSON (`TrickleRequest.candidateInit`).
//!
//! LiveKit sends candidates as the JSON of a browser `RTCIceCandidateInit`. Outgoing
//! candidates always carry `sdpMid` and `sdpMLineIndex` (the Rust client unwraps both),
//! pointing at the first bundled media section.
//!
//! **End of candidates.** A candidate whose `candidate` string is empty is the
//! end-of-candidates marker browsers send; [`from_json`] reports it as `Ok(None)`, so
//! callers can tell it from malformed input (an error) and simply skip it.

use webrtc::peer_connection::RTCIceCandidateInit;

/// Why a `candidateInit` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    /// The text is not JSON.
    #[error("candidate is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    /// The JSON has no `candidate` string.
    #[error("candidate has no `candidate` string")]
    NoCandidate,
}

/// Serialises a local candidate, attached to the media section `mid` (index 0).
pub fn to_json(init: &RTCIceCandidateInit, mid: &str) -> String {
    serde_json::json!({ "candidate": init.candidate, "sdpMid": mid, "sdpMLineIndex": 0 }).to_string()
}

/// Parses a remote `candidateInit`: `Ok(Some(c))` a candidate, `Ok(None)` the
/// end-of-candidates marker (empty `candidate`).
pub fn from_json(json: &str) -> Result<Option<RTCIceCandidateInit>, CandidateError> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    let candidate = v.get("candidate").and_then(|c| c.as_str()).ok_or(CandidateError::NoCandidate)?;
    if candidate.is_empty() {
        return Ok(None);
    }
    let text = |key: &str| v.get(key).and_then(|m| m.as_str()).map(str::to_owned);
    Ok(Some(RTCIceCandidateInit {
        candidate: candidate.to_owned(),
        sdp_mid: text("sdpMid"),
        sdp_mline_index: v.get("sdpMLineIndex").and_then(|m| m.as_u64()).and_then(|m| u16::try_from(m).ok()),
        username_fragment: text("usernameFragment"),
        ..Default::default()
    }))
}

/// The `typ` of a candidate line (`host`, `srflx`, `prflx`, `relay`).
pub fn candidate_type(candidate: &str) -> Option<&str> {
    let mut fields = candidate.split_whitespace();
    fields.by_ref().find(|f| *f == "typ")?;
    fields.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host";

    #[test]
    fn round_trip() {
        let init = RTCIceCandidateInit { candidate: LINE.into(), ..Default::default() };
        let json = to_json(&init, "3");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["sdpMid"], "3");
        assert_eq!(v["sdpMLineIndex"], 0);
        let back = from_json(&json).unwrap().unwrap();
        assert_eq!(back.candidate, LINE);
        assert_eq!(back.sdp_mid.as_deref(), Some("3"));
        assert_eq!(back.sdp_mline_index, Some(0));
    }

    #[test]
    fn reads_browser_fields() {
        let json = format!(r#"{{"candidate":"{LINE}","sdpMid":"0","sdpMLineIndex":1,"usernameFragment":"abcd"}}"#);
        let c = from_json(&json).unwrap().unwrap();
        assert_eq!(c.sdp_mline_index, Some(1));
        assert_eq!(c.username_fragment.as_deref(), Some("abcd"));
        // An index out of range is dropped, not wrapped.
        let c = from_json(&format!(r#"{{"candidate":"{LINE}","sdpMLineIndex":70000}}"#)).unwrap().unwrap();
        assert_eq!(c.sdp_mline_index, None);
    }

    #[test]
    fn empty_candidate_is_end_of_candidates() {
        assert!(from_json(r#"{"candidate":""}"#).unwrap().is_none());
        assert!(from_json(r#"{"candidate":"","sdpMid":"0"}"#).unwrap().is_none());
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(matches!(from_json("garbage"), Err(CandidateError::NotJson(_))));
        assert!(matches!(from_json("{}"), Err(CandidateError::NoCandidate)));
        assert!(matches!(from_json(r#"{"candidate":5}"#), Err(CandidateError::NoCandidate)));
        assert!(matches!(from_json("[]"), Err(CandidateError::NoCandidate)));
    }

    #[test]
    fn reads_candidate_types() {
        assert_eq!(candidate_type(LINE), Some("host"));
        assert_eq!(candidate_type("candidate:2 1 udp 5 1.2.3.4 9 typ relay raddr 0.0.0.0 rport 0"), Some("relay"));
        assert_eq!(candidate_type("candidate:2 1 udp 5 1.2.3.4 9"), None);
    }
}
