//! Subscriptions of one participant: what it asked for (`UpdateSubscription`), what
//! publishers allow (`SubscriptionPermission`, checked live), and the forwarding legs.

use super::*;

impl Session {
    pub(super) fn on_subscription(&mut self, s: proto::UpdateSubscription) {
        let mut sids = s.track_sids.clone();
        sids.extend(s.participant_tracks.iter().flat_map(|pt| pt.track_sids.iter().cloned()));
        for sid in sids {
            if !s.subscribe {
                self.p.command(Cmd::Unsubscribe(sid));
                continue;
            }
            let track = self.room.others(&self.p.sid).iter().find_map(|o| o.track(&sid));
            match track {
                Some(t) if self.p.grant.can_subscribe => self.p.command(Cmd::Subscribe(t)),
                Some(_) => self.p.send(Resp::SubscriptionResponse(proto::SubscriptionResponse {
                    track_sid: sid,
                    err: proto::SubscriptionError::SeUnknown as i32,
                })),
                None => self.p.send(Resp::SubscriptionResponse(proto::SubscriptionResponse {
                    track_sid: sid,
                    err: proto::SubscriptionError::SeTrackNotfound as i32,
                })),
            }
        }
    }

    /// `UpdateTrackSettings`: the layer (or nothing) this participant receives of each
    /// named track, applied at once if subscribed and kept for when it is.
    pub(super) fn on_track_settings(&mut self, s: proto::UpdateTrackSettings) {
        for sid in &s.track_sids {
            let track = match self.subs.get(sid) {
                Some(sub) => Some(sub.track.clone()),
                None => self.room.others(&self.p.sid).iter().find_map(|o| o.track(sid)),
            };
            match track {
                Some(track) => track.update_settings(&self.p.sid, &s),
                None => tracing::debug!(track = %clip(sid), "settings for an unknown track ignored"),
            }
        }
    }

    /// Who may subscribe to this participant's tracks, parsed as livekit-server parses it
    /// (`UpTrackManager`): `all_participants` allows everyone; otherwise each entry names
    /// a subscriber by identity (or by sid, resolved in the room; unknown sids are
    /// skipped). An entry naming neither is an error and keeps the previous permissions.
    /// Then every other participant re-checks its subscriptions to these tracks.
    pub(super) fn on_subscription_permission(&mut self, sp: proto::SubscriptionPermission) {
        let permissions = if sp.all_participants {
            None
        } else {
            let mut by_identity = HashMap::new();
            for tp in sp.track_permissions {
                let identity = if !tp.participant_identity.is_empty() {
                    tp.participant_identity.clone()
                } else if tp.participant_sid.is_empty() {
                    tracing::warn!(identity = %self.p.identity(), "subscription permission names no subscriber: ignored");
                    return;
                } else if let Some(o) = self.room.others(&self.p.sid).into_iter().find(|o| o.sid == tp.participant_sid)
                {
                    o.identity().to_string()
                } else {
                    tracing::debug!(sid = %clip(&tp.participant_sid), "subscription permission for an unknown participant skipped");
                    continue;
                };
                by_identity.insert(identity, tp);
            }
            Some(by_identity)
        };
        self.p.set_permissions(permissions);
        for other in self.room.others(&self.p.sid) {
            other.command(Cmd::PermissionsChanged(self.p.sid.clone()));
        }
    }

    pub(super) fn permitted(&mut self, track: &PublishedTrack) -> bool {
        let publisher = self.room.participants().into_iter().find(|o| o.sid == track.publisher_sid);
        let allowed = publisher.is_some_and(|p| p.allows(&track.sid, self.p.identity()));
        if self.sub_connected {
            self.tell(track, allowed);
        }
        allowed
    }

    pub(super) fn tell(&mut self, track: &PublishedTrack, allowed: bool) {
        if self.told.insert(track.sid.clone(), allowed) != Some(allowed) {
            self.p.send(Resp::SubscriptionPermissionUpdate(proto::SubscriptionPermissionUpdate {
                participant_sid: track.publisher_sid.clone(),
                track_sid: track.sid.clone(),
                allowed,
            }));
        }
    }

    /// The subscriber PC connected for the first time: tells the permissions decided so far.
    pub(super) fn on_subscriber_connected(&mut self) {
        if std::mem::replace(&mut self.sub_connected, true) {
            return;
        }
        let subs: Vec<_> = self.subs.values().map(|s| (s.track.clone(), true)).collect();
        let refused: Vec<_> = self.refused.values().map(|t| (t.clone(), false)).collect();
        for (track, allowed) in subs.into_iter().chain(refused) {
            self.tell(&track, allowed);
        }
    }

    /// After `publisher` changed its permissions: revokes what is no longer allowed (the
    /// track stays wanted) and subscribes to what was refused and now is allowed.
    pub(super) async fn recheck_permissions(&mut self, publisher: &str) {
        let mut tracks: Vec<_> = self.subs.values().map(|s| s.track.clone()).collect();
        tracks.extend(self.refused.values().cloned());
        tracks.retain(|t| t.publisher_sid == publisher);
        for track in tracks {
            if self.subs.contains_key(&track.sid) {
                if !self.permitted(&track) {
                    tracing::info!(identity = %self.p.identity(), track = %track.sid, "subscription revoked by the publisher");
                    self.drop_subscription(&track.sid).await;
                    self.refused.insert(track.sid.clone(), track);
                }
            } else {
                self.subscribe(track).await;
            }
        }
    }

    pub(super) async fn subscribe(&mut self, track: Arc<PublishedTrack>) {
        if self.subs.contains_key(&track.sid) || track.is_closed() {
            return;
        }
        if !self.permitted(&track) {
            tracing::debug!(identity = %self.p.identity(), track = %track.sid, "subscription not allowed by the publisher");
            self.refused.insert(track.sid.clone(), track);
            return;
        }
        self.refused.remove(&track.sid);
        let kind = rtc::codec_kind(track.kind());
        let codec = match (track.kind(), track.codec()) {
            (proto::TrackType::Video, Some(codec)) => codec,
            (proto::TrackType::Video, None) => {
                tracing::warn!(track = %track.sid, "video track with no known codec: not forwarded");
                return;
            }
            _ => lkrtc_transport::codec::opus(),
        };
        let ssrc = rand::random::<u32>();
        let stream_id = format!("{}|{}", track.publisher_sid, track.sid);
        // Clients take the track sid from the stream id; a resubscription gets a fresh
        // msid track id so that receivers see a new track rather than the ended one.
        let round = self.sub_rounds.entry(track.sid.clone()).or_insert(0);
        *round += 1;
        let track_id = if *round == 1 { track.sid.clone() } else { format!("{}~{}", track.sid, round) };
        let local = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            stream_id,
            track_id,
            track.sid.clone(),
            kind,
            vec![lkrtc_transport::codec::encoding(codec, ssrc)],
        )));
        let attached =
            self.slots.attach(self.subscriber.as_ref(), local.clone(), kind, self.p.reuse_transceivers).await;
        let (sender, transceiver) = match attached {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(track = %track.sid, error = %e, "cannot add track to subscriber");
                return;
            }
        };
        let down = track.new_downtrack(&self.p.sid, local, ssrc, sender.clone());
        tokio::spawn(crate::feedback_task::serve(Arc::downgrade(&track), down.clone()));
        if track.add_downtrack(down) {
            if let Some(publisher) = self.room.participants().into_iter().find(|o| o.sid == track.publisher_sid) {
                publisher.send(Resp::TrackSubscribed(proto::TrackSubscribed { track_sid: track.sid.clone() }));
            }
        }
        self.subs.insert(track.sid.clone(), Subscription { track, sender, transceiver });
        self.negotiate().await;
    }

    /// The client, the room or the publisher's leaving ends the subscription (wanted or not).
    pub(super) async fn unsubscribe(&mut self, sid: &str) {
        self.refused.remove(sid);
        self.told.remove(sid);
        self.drop_subscription(sid).await;
    }

    /// Stops forwarding `sid` and removes it from the subscriber PC.
    pub(super) async fn drop_subscription(&mut self, sid: &str) {
        let Some(sub) = self.subs.remove(sid) else { return };
        sub.track.remove_downtrack(&self.p.sid);
        match self.subscriber.remove_track(&sub.sender).await {
            Ok(()) => self.slots.release(sub.transceiver, rtc::codec_kind(sub.track.kind())),
            Err(e) => tracing::debug!(track = %sid, error = %e, "remove_track failed"),
        }
        self.negotiate().await;
    }
}
