//! VP8 payload descriptor ids (RFC 7741: picture id, TL0PICIDX, key index) made continuous
//! across layer switches, as livekit-server's VP8 munger does: each simulcast layer numbers
//! its pictures independently, and libwebrtc's receiver (Chromium, rtc-node) uses these ids
//! to find each frame's references. The `rtc` crate's depacketizer reads descriptors but
//! cannot write them back, so the few fields are located here.

/// The ids a VP8 packet's payload descriptor carries (absent ones are `None`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// Picture id and whether it is the 15-bit form.
    pub picture_id: Option<(u16, bool)>,
    /// Temporal level zero index.
    pub tl0: Option<u8>,
    /// Temporal key frame index (5 bits).
    pub keyidx: Option<u8>,
}

/// Byte offsets of the descriptor's fields.
struct Layout {
    picture_id: Option<(usize, bool)>,
    tl0: Option<usize>,
    keyidx: Option<usize>,
}

fn layout(payload: &[u8]) -> Option<Layout> {
    let first = *payload.first()?;
    let mut at = 1;
    let mut out = Layout { picture_id: None, tl0: None, keyidx: None };
    if first & 0x80 == 0 {
        return Some(out);
    }
    let x = *payload.get(at)?;
    at += 1;
    if x & 0x80 != 0 {
        let long = *payload.get(at)? & 0x80 != 0;
        out.picture_id = Some((at, long));
        at += if long { 2 } else { 1 };
    }
    if x & 0x40 != 0 {
        out.tl0 = Some(at);
        at += 1;
    }
    // T and K share one byte.
    if x & 0x30 != 0 {
        if x & 0x10 != 0 {
            out.keyidx = Some(at);
        }
        at += 1;
    }
    // The fields must be followed by the VP8 payload itself.
    (payload.len() > at).then_some(out)
}

/// Reads the ids of a VP8 payload descriptor; `None` if it is truncated.
pub fn parse(payload: &[u8]) -> Option<Descriptor> {
    let l = layout(payload)?;
    let picture_id = match l.picture_id {
        Some((at, true)) => Some((u16::from_be_bytes([payload[at], *payload.get(at + 1)?]) & 0x7fff, true)),
        Some((at, false)) => Some((u16::from(payload[at] & 0x7f), false)),
        None => None,
    };
    Some(Descriptor { picture_id, tl0: l.tl0.map(|at| payload[at]), keyidx: l.keyidx.map(|at| payload[at] & 0x1f) })
}

/// Writes `ids` into the fields `payload`'s descriptor has (in their own widths).
pub fn write(payload: &mut [u8], ids: Ids) {
    let Some(l) = layout(payload) else { return };
    match l.picture_id {
        Some((at, true)) if at + 1 < payload.len() => {
            let [hi, lo] = (ids.picture_id & 0x7fff).to_be_bytes();
            payload[at] = 0x80 | hi;
            payload[at + 1] = lo;
        }
        Some((at, false)) => payload[at] = (ids.picture_id & 0x7f) as u8,
        _ => {}
    }
    if let Some(at) = l.tl0 {
        payload[at] = ids.tl0;
    }
    if let Some(at) = l.keyidx {
        payload[at] = (payload[at] & 0xe0) | (ids.keyidx & 0x1f);
    }
}

/// Descriptor ids as written to the subscriber.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    /// Picture id (15-bit space).
    pub picture_id: u16,
    /// Temporal level zero index.
    pub tl0: u8,
    /// Key index (5 bits).
    pub keyidx: u8,
}

/// Keeps one subscriber's VP8 ids continuous across layer switches.
#[derive(Debug, Default)]
pub struct Vp8Munger {
    /// The newest ids written, once any was.
    last: Option<Ids>,
    /// Subtracted from incoming ids (wrapping).
    offset: Ids,
}

impl Vp8Munger {
    /// A new layer starts with the packet described by `d`: its ids follow the last ones
    /// written. The first layer keeps its own.
    pub fn switch(&mut self, d: &Descriptor) {
        let incoming = ids_of(d);
        let Some(last) = self.last else { return };
        // Only the fields this layer carries (the others are never written).
        if d.picture_id.is_some() {
            self.offset.picture_id = incoming.picture_id.wrapping_sub(last.picture_id.wrapping_add(1)) & 0x7fff;
        }
        if d.tl0.is_some() {
            self.offset.tl0 = incoming.tl0.wrapping_sub(last.tl0.wrapping_add(1));
        }
        if d.keyidx.is_some() {
            self.offset.keyidx = incoming.keyidx.wrapping_sub(last.keyidx.wrapping_add(1)) & 0x1f;
        }
    }

    /// The subscriber's ids for a packet of the current layer described by `d`.
    pub fn rewrite(&mut self, d: &Descriptor) -> Ids {
        let incoming = ids_of(d);
        let out = Ids {
            picture_id: incoming.picture_id.wrapping_sub(self.offset.picture_id) & 0x7fff,
            tl0: incoming.tl0.wrapping_sub(self.offset.tl0),
            keyidx: incoming.keyidx.wrapping_sub(self.offset.keyidx) & 0x1f,
        };
        // The newest picture (15-bit wraparound) sets what the next layer continues from.
        let newer = self.last.is_none_or(|last| {
            let ahead = out.picture_id.wrapping_sub(last.picture_id) & 0x7fff;
            ahead < 0x4000
        });
        if newer {
            let last = self.last.get_or_insert(out);
            last.picture_id = out.picture_id;
            if d.tl0.is_some() {
                last.tl0 = out.tl0;
            }
            if d.keyidx.is_some() {
                last.keyidx = out.keyidx;
            }
        }
        out
    }
}

fn ids_of(d: &Descriptor) -> Ids {
    Ids { picture_id: d.picture_id.map_or(0, |(id, _)| id), tl0: d.tl0.unwrap_or(0), keyidx: d.keyidx.unwrap_or(0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// X, S, PID 0; I (15-bit picture id), L, K; then one payload byte.
    fn packet(picture_id: u16, tl0: u8, keyidx: u8) -> Vec<u8> {
        let [hi, lo] = picture_id.to_be_bytes();
        vec![0x90, 0xd0, 0x80 | hi, lo, tl0, keyidx, 0x9d]
    }

    #[test]
    fn parses_and_writes_in_place() {
        let mut p = packet(0x1234, 7, 3);
        let d = parse(&p).unwrap();
        assert_eq!(d, Descriptor { picture_id: Some((0x1234, true)), tl0: Some(7), keyidx: Some(3) });
        write(&mut p, Ids { picture_id: 0x7fff, tl0: 255, keyidx: 31 });
        assert_eq!(p, vec![0x90, 0xd0, 0xff, 0xff, 255, 31, 0x9d]);
        // 7-bit picture id only.
        let mut short = vec![0x90, 0x80, 0x05, 0x9d];
        assert_eq!(parse(&short).unwrap().picture_id, Some((5, false)));
        write(&mut short, Ids { picture_id: 0x1ff, tl0: 0, keyidx: 0 });
        assert_eq!(short, vec![0x90, 0x80, 0x7f, 0x9d]);
        // No extension: nothing to parse or write.
        assert_eq!(parse(&[0x10, 0x9d]).unwrap(), Descriptor::default());
    }

    #[test]
    fn truncated_descriptors() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[0x90]), None);
        assert_eq!(parse(&[0x90, 0x80, 0x80]), None);
        assert_eq!(parse(&[0x90, 0xd0, 0x80, 0x01, 0x02, 0x03]), None);
        let mut p = vec![0x90, 0x80, 0x81];
        write(&mut p, Ids { picture_id: 9, tl0: 9, keyidx: 9 });
        assert_eq!(p, vec![0x90, 0x80, 0x81]);
    }

    #[test]
    fn switch_continues_the_ids() {
        let mut m = Vp8Munger::default();
        let d = |pid, tl0, k| parse(&packet(pid, tl0, k)).unwrap();
        m.switch(&d(100, 10, 1));
        assert_eq!(m.rewrite(&d(100, 10, 1)), Ids { picture_id: 100, tl0: 10, keyidx: 1 });
        assert_eq!(m.rewrite(&d(101, 11, 1)), Ids { picture_id: 101, tl0: 11, keyidx: 1 });
        // Another layer, numbered on its own, near the wrap of every field.
        m.switch(&d(0x7ffe, 255, 31));
        assert_eq!(m.rewrite(&d(0x7ffe, 255, 31)), Ids { picture_id: 102, tl0: 12, keyidx: 2 });
        assert_eq!(m.rewrite(&d(0x7fff, 0, 0)), Ids { picture_id: 103, tl0: 13, keyidx: 3 });
        assert_eq!(m.rewrite(&d(0, 1, 0)), Ids { picture_id: 104, tl0: 14, keyidx: 3 });
        // A reordered older packet is rewritten but does not move the continuation point.
        assert_eq!(m.rewrite(&d(0x7fff, 0, 0)).picture_id, 103);
        m.switch(&d(5000, 77, 9));
        assert_eq!(m.rewrite(&d(5000, 77, 9)), Ids { picture_id: 105, tl0: 15, keyidx: 4 });
    }
}
