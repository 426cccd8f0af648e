//! Offer/answer bookkeeping for one peer connection, without IO.
//!
//! The caller drives the peer connection and tells [`Negotiation`] what happened; it
//! answers what to do next. One type serves both roles:
//!
//! - **Offering side** (the client's publisher PC, the server's subscriber PC): ask
//!   [`Negotiation::want_offer`] before creating an offer. Only one offer is outstanding
//!   at a time; a request made meanwhile is remembered and reported as
//!   [`Applied::reoffer`] once the answer is applied. Offers are numbered 1, 2, …
//!   ([`Negotiation::offer_created`]) and an answer is checked against the number
//!   ([`Negotiation::check_answer`]) before it is applied.
//! - **Answering side** (the client's subscriber PC, the server's publisher PC): call
//!   [`Negotiation::answer_created`] once the remote offer is set and the answer made.
//!
//! Remote candidates that arrive before the remote description is set are queued (up
//! to a bound) and handed back, in order, when it is.

/// What to do with a received answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerCheck {
    /// It answers the outstanding offer: set it as the remote description, then call
    /// [`Negotiation::answer_applied`].
    Apply,
    /// No offer is outstanding, or it answers another one: ignore it.
    Stale,
}

/// The outcome of applying an answer ([`Negotiation::answer_applied`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Applied<C> {
    /// Remote candidates queued before the answer, in arrival order: add them now.
    pub candidates: Vec<C>,
    /// An offer was requested while this one was outstanding: offer again.
    pub reoffer: bool,
}

/// More remote candidates arrived before the remote description than the bound allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("more than {limit} ICE candidates before the remote description")]
pub struct TooManyCandidates {
    /// The bound that was exceeded.
    pub limit: usize,
}

/// Negotiation state of one peer connection, generic over the candidate type.
#[derive(Debug)]
pub struct Negotiation<C> {
    max_pending: usize,
    pending: Vec<C>,
    remote_set: bool,
    first_mid: String,
    /// The last offer id handed out (0: none yet).
    offer_id: u32,
    outstanding: bool,
    /// An offer was requested while one was outstanding.
    dirty: bool,
}

impl<C> Negotiation<C> {
    /// A peer connection with no descriptions yet, queueing at most
    /// `max_pending_candidates` remote candidates until its remote description is set.
    pub fn new(max_pending_candidates: usize) -> Self {
        Self {
            max_pending: max_pending_candidates,
            pending: Vec::new(),
            remote_set: false,
            first_mid: crate::sdp::DEFAULT_MID.to_owned(),
            offer_id: 0,
            outstanding: false,
            dirty: false,
        }
    }

    /// Offering side: whether to create an offer now. `false` when one is outstanding;
    /// the request is then remembered and reported by [`Self::answer_applied`].
    pub fn want_offer(&mut self) -> bool {
        if self.outstanding {
            self.dirty = true;
            return false;
        }
        self.dirty = false;
        true
    }

    /// Offering side: an offer with `local_sdp` was set as the local description.
    /// Returns the id to send it with (1, 2, …).
    pub fn offer_created(&mut self, local_sdp: &str) -> u32 {
        self.record_mid(local_sdp);
        self.offer_id = self.offer_id.wrapping_add(1).max(1);
        self.outstanding = true;
        self.offer_id
    }

    /// Offering side: whether an answer carrying `id` answers the outstanding offer.
    /// `0` means the peer does not echo ids and is taken to answer the outstanding one.
    pub fn check_answer(&mut self, id: u32) -> AnswerCheck {
        if self.outstanding && (id == 0 || id == self.offer_id) {
            AnswerCheck::Apply
        } else {
            AnswerCheck::Stale
        }
    }

    /// Offering side: the answer was set as the remote description.
    pub fn answer_applied(&mut self) -> Applied<C> {
        self.remote_set = true;
        self.outstanding = false;
        let reoffer = std::mem::take(&mut self.dirty);
        Applied { candidates: std::mem::take(&mut self.pending), reoffer }
    }

    /// Answering side: the remote offer was set and an answer with `local_sdp` made.
    /// Returns the queued remote candidates, in arrival order, to add now.
    pub fn answer_created(&mut self, local_sdp: &str) -> Vec<C> {
        self.record_mid(local_sdp);
        self.remote_set = true;
        std::mem::take(&mut self.pending)
    }

    /// A remote candidate arrived. `Some(c)`: add it now; `None`: it is queued until the
    /// remote description is set. Errors once the queue holds the bound.
    pub fn remote_candidate(&mut self, c: C) -> Result<Option<C>, TooManyCandidates> {
        if self.remote_set {
            return Ok(Some(c));
        }
        if self.pending.len() >= self.max_pending {
            return Err(TooManyCandidates { limit: self.max_pending });
        }
        self.pending.push(c);
        Ok(None)
    }

    /// Whether a remote description is set.
    pub fn remote_set(&self) -> bool {
        self.remote_set
    }

    /// The first `a=mid:` of the last local SDP (`"0"` until one was seen, or when it
    /// had none): the media section LiveKit's candidate JSON points at.
    pub fn first_mid(&self) -> &str {
        &self.first_mid
    }

    /// Whether an offer is waiting for its answer.
    pub fn outstanding(&self) -> bool {
        self.outstanding
    }

    /// For an ICE restart or reconnect: back to "no remote description", the queue and
    /// any outstanding or remembered offer dropped. Offer ids keep counting, so an
    /// answer to an offer from before the reset is stale.
    pub fn reset(&mut self) {
        self.remote_set = false;
        self.pending.clear();
        self.outstanding = false;
        self.dirty = false;
    }

    fn record_mid(&mut self, local_sdp: &str) {
        self.first_mid = crate::sdp::first_mid(local_sdp).unwrap_or(crate::sdp::DEFAULT_MID).to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:3\r\nm=application 9 x\r\na=mid:4\r\n";

    fn offering() -> Negotiation<&'static str> {
        Negotiation::new(4)
    }

    #[test]
    fn offers_are_numbered_and_answered_by_id() {
        let mut n = offering();
        assert!(!n.outstanding());
        assert!(n.want_offer());
        assert_eq!(n.offer_created(SDP), 1);
        assert!(n.outstanding());
        assert_eq!(n.first_mid(), "3");
        assert_eq!(n.check_answer(1), AnswerCheck::Apply);
        assert_eq!(n.answer_applied(), Applied { candidates: vec![], reoffer: false });
        assert!(!n.outstanding());
        assert!(n.remote_set());
        assert!(n.want_offer());
        assert_eq!(n.offer_created(SDP), 2);
        assert_eq!(n.check_answer(2), AnswerCheck::Apply);
    }

    #[test]
    fn stale_answers_are_refused() {
        let mut n = offering();
        // Nothing outstanding: any id, even 0, is stale.
        assert_eq!(n.check_answer(0), AnswerCheck::Stale);
        assert_eq!(n.check_answer(1), AnswerCheck::Stale);
        n.want_offer();
        n.offer_created(SDP);
        n.answer_applied();
        n.want_offer();
        assert_eq!(n.offer_created(SDP), 2);
        // An answer to offer 1 arriving late.
        assert_eq!(n.check_answer(1), AnswerCheck::Stale);
        assert_eq!(n.check_answer(3), AnswerCheck::Stale);
        assert!(n.outstanding(), "a stale answer leaves the offer outstanding");
        // A client that does not echo ids answers the outstanding offer.
        assert_eq!(n.check_answer(0), AnswerCheck::Apply);
    }

    #[test]
    fn an_offer_requested_meanwhile_is_made_after_the_answer() {
        let mut n = offering();
        assert!(n.want_offer());
        n.offer_created(SDP);
        assert!(!n.want_offer(), "one offer at a time");
        assert!(!n.want_offer());
        assert_eq!(n.check_answer(1), AnswerCheck::Apply);
        assert!(n.answer_applied().reoffer);
        assert!(n.want_offer());
        assert_eq!(n.offer_created(SDP), 2);
        assert_eq!(n.check_answer(2), AnswerCheck::Apply);
        assert!(!n.answer_applied().reoffer, "the remembered request was served");
    }

    #[test]
    fn candidates_wait_for_the_answer_in_order() {
        let mut n = offering();
        n.want_offer();
        n.offer_created(SDP);
        assert_eq!(n.remote_candidate("a"), Ok(None));
        assert_eq!(n.remote_candidate("b"), Ok(None));
        let applied = n.answer_applied();
        assert_eq!(applied.candidates, vec!["a", "b"]);
        assert_eq!(n.remote_candidate("c"), Ok(Some("c")));
        // Renegotiation does not unset the remote description.
        n.want_offer();
        n.offer_created(SDP);
        assert_eq!(n.remote_candidate("d"), Ok(Some("d")));
    }

    #[test]
    fn the_candidate_queue_is_bounded() {
        let mut n = offering();
        for c in ["a", "b", "c", "d"] {
            assert_eq!(n.remote_candidate(c), Ok(None));
        }
        assert_eq!(n.remote_candidate("e"), Err(TooManyCandidates { limit: 4 }));
        assert_eq!(n.answer_created(SDP), vec!["a", "b", "c", "d"]);
        let mut none: Negotiation<&str> = Negotiation::new(0);
        assert_eq!(none.remote_candidate("a"), Err(TooManyCandidates { limit: 0 }));
    }

    #[test]
    fn answering_side_drains_on_answer() {
        let mut n: Negotiation<String> = Negotiation::new(8);
        assert_eq!(n.first_mid(), "0");
        assert_eq!(n.remote_candidate("x".into()), Ok(None));
        assert!(!n.remote_set());
        assert_eq!(n.answer_created(SDP), vec!["x".to_string()]);
        assert!(n.remote_set());
        assert_eq!(n.first_mid(), "3");
        assert_eq!(n.remote_candidate("y".into()), Ok(Some("y".into())));
        assert!(n.answer_created(SDP).is_empty());
    }

    #[test]
    fn first_mid_falls_back_to_zero() {
        let mut n = offering();
        n.want_offer();
        n.offer_created(SDP);
        assert_eq!(n.first_mid(), "3");
        n.answer_applied();
        n.want_offer();
        n.offer_created("v=0\r\n");
        assert_eq!(n.first_mid(), "0");
    }

    #[test]
    fn reset_forgets_the_remote_side_but_keeps_counting() {
        let mut n = offering();
        n.want_offer();
        assert_eq!(n.offer_created(SDP), 1);
        n.remote_candidate("old").unwrap();
        assert!(!n.want_offer());
        n.reset();
        assert!(!n.outstanding());
        assert!(!n.remote_set());
        assert_eq!(n.check_answer(1), AnswerCheck::Stale, "no offer outstanding after a reset");
        assert!(n.want_offer());
        assert_eq!(n.offer_created(SDP), 2);
        assert_eq!(n.check_answer(1), AnswerCheck::Stale, "an answer to the pre-reset offer");
        n.remote_candidate("new").unwrap();
        let applied = n.answer_applied();
        assert_eq!(applied, Applied { candidates: vec!["new"], reoffer: false });
        // After a reset, candidates queue again until the new remote description.
        n.reset();
        assert_eq!(n.remote_candidate("z"), Ok(None));
    }
}
