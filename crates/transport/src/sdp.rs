//! The few SDP facts LiveKit signalling needs, read from the text.

/// The mid candidates point at when an SDP has none.
pub const DEFAULT_MID: &str = "0";

/// The first `a=mid:` of an SDP: the bundle tag LiveKit's candidate JSON points at.
pub fn first_mid(sdp: &str) -> Option<&str> {
    sdp.lines().find_map(|l| l.trim().strip_prefix("a=mid:")).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_first_mid() {
        assert_eq!(first_mid("v=0\r\nm=audio 9\r\na=mid:0\r\na=mid:1\r\n"), Some("0"));
        assert_eq!(first_mid("v=0\r\na=mid:audio\r\n"), Some("audio"));
        assert_eq!(first_mid("v=0\r\n"), None);
    }
}
