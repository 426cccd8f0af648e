//! Offer/answer bookkeeping of one peer connection (stand-in until `lkrtc-transport`
//! provides the shared `Negotiation`; same API).

/// Whether an answer belongs to the outstanding offer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AnswerCheck {
    Apply,
    Stale,
}

/// What applying an answer released.
pub(crate) struct Applied<C> {
    pub candidates: Vec<C>,
    pub reoffer: bool,
}

/// Remote candidates beyond the bound before the remote description.
#[derive(Debug)]
pub(crate) struct TooManyCandidates;

pub(crate) struct Negotiation<C> {
    max_pending: usize,
    pending: Vec<C>,
    remote_set: bool,
    outstanding: bool,
    dirty: bool,
    offer_id: u32,
    mid: String,
}

impl<C> Negotiation<C> {
    pub(crate) fn new(max_pending_candidates: usize) -> Self {
        Self {
            max_pending: max_pending_candidates,
            pending: Vec::new(),
            remote_set: false,
            outstanding: false,
            dirty: false,
            offer_id: 0,
            mid: "0".into(),
        }
    }
    pub(crate) fn want_offer(&mut self) -> bool {
        if self.outstanding {
            self.dirty = true;
            return false;
        }
        self.dirty = false;
        self.outstanding = true;
        true
    }
    pub(crate) fn offer_created(&mut self, local_sdp: &str) -> u32 {
        self.mid = first_mid(local_sdp);
        self.offer_id += 1;
        self.offer_id
    }
    pub(crate) fn check_answer(&mut self, id: u32) -> AnswerCheck {
        if self.outstanding && (id == 0 || id == self.offer_id) {
            AnswerCheck::Apply
        } else {
            AnswerCheck::Stale
        }
    }
    pub(crate) fn answer_applied(&mut self) -> Applied<C> {
        self.remote_set = true;
        self.outstanding = false;
        let reoffer = std::mem::take(&mut self.dirty);
        Applied { candidates: std::mem::take(&mut self.pending), reoffer }
    }
    pub(crate) fn answer_created(&mut self, local_sdp: &str) -> Vec<C> {
        self.mid = first_mid(local_sdp);
        self.remote_set = true;
        std::mem::take(&mut self.pending)
    }
    pub(crate) fn remote_candidate(&mut self, c: C) -> Result<Option<C>, TooManyCandidates> {
        if self.remote_set {
            return Ok(Some(c));
        }
        if self.pending.len() >= self.max_pending {
            return Err(TooManyCandidates);
        }
        self.pending.push(c);
        Ok(None)
    }
    pub(crate) fn remote_set(&self) -> bool {
        self.remote_set
    }
    pub(crate) fn first_mid(&self) -> &str {
        &self.mid
    }
}

fn first_mid(sdp: &str) -> String {
    sdp.lines().find_map(|l| l.trim().strip_prefix("a=mid:")).unwrap_or("0").to_string()
}
