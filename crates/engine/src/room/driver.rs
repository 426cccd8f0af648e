//! The session driver: the async shell around the sans-IO [`Session`]. It owns the signal
//! socket (a reader here, a writer task), both peer connections, one sender task per
//! publisher data channel and the clock; it feeds the session what happens and carries
//! out what the session decides. Nothing in its loop waits on the network: signal writes
//! and data sends are queued to their tasks, and peer-connection calls are local.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use livekit_protocol as proto;
use lkrtc_transport::data::{next_message, watch_open, Channel};
use proto::signal_request::Message as Req;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};

use super::connect::{Attempted, Rejoin};
use super::core::{Action, Attempt, Input, Output, Rejoined, Sent, Session, Stop, TransportEvent};
use super::Command;
use crate::error::{bounded, cause, EngineError, Result, SendError};
use crate::events::RoomEvent;
use crate::pc::{PcEvent, Target};
use crate::signal::{self, Ws};
use crate::types::DataKind;

/// How long sending data waits for the publisher data channel to open.
const DC_OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a local disconnect waits for data already sent to be delivered.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The connections a session runs on.
pub(super) struct Links {
    pub ws: Ws,
    pub publisher: Arc<dyn PeerConnection>,
    pub subscriber: Arc<dyn PeerConnection>,
    pub reliable: Arc<dyn DataChannel>,
    pub lossy: Arc<dyn DataChannel>,
}

/// The channels the driver reads.
pub(super) struct Inbox {
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub transport: mpsc::UnboundedReceiver<PcEvent>,
}

/// The queue of one data channel's sender task.
type DataQueue = mpsc::UnboundedSender<(Vec<u8>, Sent)>;

/// What the writer task sends.
enum Outgoing {
    Message(Box<Req>),
    /// Send `leave` if any, close the socket, then reply.
    Close {
        leave: Option<proto::LeaveRequest>,
        done: oneshot::Sender<()>,
    },
}

pub(super) struct Driver {
    session: Session,
    events: mpsc::UnboundedSender<RoomEvent>,
    publisher: Arc<dyn PeerConnection>,
    subscriber: Arc<dyn PeerConnection>,
    /// The signal socket's read half (none while a reconnect attempt runs).
    reader: Option<SplitStream<Ws>>,
    writer: mpsc::UnboundedSender<Outgoing>,
    /// Sender tasks of the reliable and lossy channels (emptied to flush them), and the
    /// channel each sends on.
    data: Vec<DataQueue>,
    current: [watch::Sender<Option<Arc<dyn DataChannel>>>; 2],
    data_tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The publisher's channels, to see what SCTP has not yet delivered.
    data_channels: [Arc<dyn DataChannel>; 2],
    /// Results that come back from the sender tasks.
    feedback: mpsc::UnboundedSender<Input>,
    feedback_rx: mpsc::UnboundedReceiver<Input>,
    /// Messages from the subscriber's data channels.
    dc_in: mpsc::Sender<(DataKind, BytesMut)>,
    dc_in_rx: mpsc::Receiver<(DataKind, BytesMut)>,
    /// Publisher transceivers of unpublished tracks, reused by the next publish of the kind.
    slots: lkrtc_transport::slots::Slots,
    /// How to reconnect, and the attempt under way (at most one).
    rejoin: Arc<Rejoin>,
    attempt: Option<tokio::task::JoinHandle<Attempted>>,
}

impl Driver {
    pub(super) fn new(
        session: Session,
        links: Links,
        events: mpsc::UnboundedSender<RoomEvent>,
        rejoin: Arc<Rejoin>,
    ) -> Self {
        let (sink, reader) = links.ws.split();
        let (writer, writer_rx) = mpsc::unbounded_channel();
        tokio::spawn(write_signal(sink, writer_rx));
        let (feedback, feedback_rx) = mpsc::unbounded_channel();
        let data_channels = [links.reliable, links.lossy];
        let current = data_channels.clone().map(|dc| watch::channel(Some(dc)).0);
        let (data, data_tasks) = spawn_senders(&current, &feedback);
        let (dc_in, dc_in_rx) = mpsc::channel(1024);
        Driver {
            session,
            events,
            publisher: links.publisher,
            subscriber: links.subscriber,
            reader: Some(reader),
            writer,
            data,
            current,
            data_tasks,
            data_channels,
            feedback,
            feedback_rx,
            dc_in,
            dc_in_rx,
            slots: Default::default(),
            rejoin,
            attempt: None,
        }
    }

    /// Starts a reconnect attempt: the signal socket is dropped now (a resume reopens it);
    /// the attempt runs on a task of its own.
    fn start_attempt(&mut self, attempt: Attempt) {
        if attempt.full {
            // Packets not yet taken by the old channels wait for the new ones.
            for c in &self.current {
                c.send_replace(None);
            }
        }
        self.reader = None;
        self.writer = mpsc::unbounded_channel().0; // the writer task ends and closes the socket
        if let Some(old) = self.attempt.take() {
            old.abort();
        }
        let token = self.session.token();
        let sid = self.session.local_sid();
        self.attempt = Some(tokio::spawn(super::connect::attempt(self.rejoin.clone(), token, sid, attempt)));
    }

    /// Takes the attempt's connections into use; returns what the session learns.
    fn adopt(&mut self, attempted: Attempted, transport: &mut mpsc::UnboundedReceiver<PcEvent>) -> Input {
        match attempted {
            Attempted::Resumed(ws, response) => {
                self.use_socket(ws);
                Input::Reconnected(Rejoined::Resumed(response))
            }
            Attempted::Joined(links, join, pc_rx, ice) => {
                self.use_socket(links.ws);
                let (publisher, subscriber) = (self.publisher.clone(), self.subscriber.clone());
                tokio::spawn(async move {
                    let _ = publisher.close().await;
                    let _ = subscriber.close().await;
                });
                self.publisher = links.publisher;
                self.subscriber = links.subscriber;
                self.data_channels = [links.reliable, links.lossy];
                for (c, dc) in self.current.iter().zip(&self.data_channels) {
                    c.send_replace(Some(dc.clone()));
                }
                self.slots = Default::default();
                *transport = pc_rx;
                Input::Reconnected(Rejoined::Joined(join, ice))
            }
            Attempted::Failed { error, refused } => Input::ReconnectFailed { error, refused },
        }
    }

    fn use_socket(&mut self, ws: Ws) {
        let (sink, reader) = ws.split();
        let (writer, writer_rx) = mpsc::unbounded_channel();
        tokio::spawn(write_signal(sink, writer_rx));
        self.reader = Some(reader);
        self.writer = writer;
    }

    pub(super) async fn run(mut self, mut inbox: Inbox) {
        self.session.start();
        let stop = loop {
            if let Some(stop) = self.drain().await {
                break stop;
            }
            let wake = self.session.poll_timeout().map(Instant::from_std);
            let input = tokio::select! {
                msg = recv_signal(&mut self.reader) => match msg {
                    Ok(Some(m)) => Input::Signal(Box::new(m)),
                    Ok(None) | Err(_) => {
                        self.reader = None;
                        Input::SignalLost
                    }
                },
                attempted = finished(&mut self.attempt) => {
                    self.attempt = None;
                    self.adopt(attempted, &mut inbox.transport)
                }
                Some(cmd) = inbox.commands.recv() => Input::Command(cmd),
                Some(ev) = inbox.transport.recv() => match self.transport_input(ev).await {
                    Some(input) => input,
                    None => continue,
                },
                Some((kind, bytes)) = self.dc_in_rx.recv() => Input::Data(kind, bytes),
                Some(input) = self.feedback_rx.recv() => input,
                _ = sleep_until(wake) => {
                    self.session.handle_timeout(std::time::Instant::now());
                    continue;
                }
            };
            self.session.handle_input(std::time::Instant::now(), input);
        };
        self.finish(stop).await;
    }

    /// Carries out every pending output; returns the stop, if the session ended.
    async fn drain(&mut self) -> Option<Stop> {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Signal(msg) => {
                    let _ = self.writer.send(Outgoing::Message(msg));
                }
                Output::Transport(action) => {
                    if let Some(ev) = self.perform(action).await {
                        self.session.handle_input(std::time::Instant::now(), Input::Transport(ev));
                    }
                }
                Output::Data { kind, bytes, sent } => {
                    let queue = self.data.get(if kind == DataKind::Reliable { 0 } else { 1 });
                    let refused = match queue {
                        Some(queue) => queue.send((bytes, sent)).err().map(|e| (e.0).1),
                        None => Some(sent),
                    };
                    if let Some(sent) = refused {
                        report(sent, Err(EngineError::Disconnected), &self.feedback);
                    }
                }
                Output::Event(ev) => {
                    let _ = self.events.send(ev);
                }
                Output::Stats(done) => {
                    let (publisher, subscriber) = (self.publisher.clone(), self.subscriber.clone());
                    tokio::spawn(async move {
                        let _ = done.send(crate::stats::gather(publisher, subscriber).await);
                    });
                }
                Output::Reconnect(attempt) => self.start_attempt(attempt),
                Output::Stop(stop) => return Some(stop),
            }
        }
        None
    }

    async fn transport_input(&mut self, ev: PcEvent) -> Option<Input> {
        let ev = match ev {
            PcEvent::Candidate(target, init) => TransportEvent::Candidate(target, init),
            PcEvent::Gathered { target, relay } => TransportEvent::Gathered { target, relay },
            PcEvent::State(target, state) => TransportEvent::State(target, state),
            PcEvent::Track(_, rtp) => TransportEvent::Track { stream_id: rtp.stream_id().await, rtp },
            PcEvent::DataChannel(_, dc) => {
                tokio::spawn(read_dc(dc, self.dc_in.clone()));
                return None;
            }
        };
        Some(Input::Transport(ev))
    }

    /// Runs a peer-connection action; some report a result back to the session.
    async fn perform(&mut self, action: Action) -> Option<TransportEvent> {
        match action {
            Action::CreateOffer { ice_restart } => {
                let offer = create_offer(&*self.publisher, ice_restart).await;
                self.slots.announced();
                Some(TransportEvent::OfferReady(offer))
            }
            Action::ApplyAnswer(sdp) => {
                let applied = match RTCSessionDescription::answer(sdp) {
                    Ok(answer) => self.publisher.set_remote_description(answer).await.map_err(EngineError::rtc),
                    Err(e) => Err(EngineError::rtc(e)),
                };
                Some(TransportEvent::AnswerApplied(applied))
            }
            Action::AnswerOffer { sdp, id } => {
                Some(TransportEvent::SubscriberAnswer { id, sdp: answer(&*self.subscriber, sdp).await })
            }
            Action::AddCandidate(target, c) => {
                let pc = if target == Target::Subscriber { &self.subscriber } else { &self.publisher };
                if let Err(e) = pc.add_ice_candidate(c).await {
                    tracing::debug!(?target, error = %e, "remote candidate refused");
                }
                None
            }
            Action::AddTransceiver { cid, track } => {
                // On the transceiver of an unpublished track when one is free; a simulcast
                // track (one coding per RID) always on a new one, whose offer carries its RIDs.
                let rtp = track.rtp();
                let (kind, codings) = {
                    let t = rtp.track().await;
                    (t.kind(), t.codings().len())
                };
                let feedback = track.serve_feedback();
                let added = self.slots.attach(&*self.publisher, rtp, kind, codings <= 1).await;
                let sender = added.map(|(sender, transceiver)| {
                    track.set_transceiver(transceiver);
                    sender
                });
                if sender.is_ok() {
                    // Bound now: keyframe requests and estimates reach the source until the
                    // track is removed or the peer connection closes.
                    tokio::spawn(feedback);
                }
                Some(TransportEvent::TransceiverAdded { cid, sender: sender.map_err(EngineError::rtc) })
            }
            Action::RemoveSender(sender) => {
                if let Err(e) = self.publisher.remove_track(&sender).await {
                    tracing::warn!(error = %e, "removing an unpublished track's sender failed");
                } else {
                    self.slots.release_sender(&*self.publisher, &sender).await;
                }
                None
            }
        }
    }

    /// Leaves (when the app asked), closes everything, then lets the session emit its
    /// last events. When the app's `disconnect()` returns, `Disconnected` was emitted and
    /// the event stream has ended.
    async fn finish(mut self, stop: Stop) {
        let (reason, leave, done) = match stop {
            Stop::Local(done) => {
                let leave = proto::LeaveRequest {
                    reason: proto::DisconnectReason::ClientInitiated as i32,
                    action: proto::leave_request::Action::Disconnect as i32,
                    ..Default::default()
                };
                (proto::DisconnectReason::ClientInitiated, Some(leave), Some(done))
            }
            Stop::Remote(r) => (r, None, None),
        };
        // Leaving during a reconnect: nothing can be flushed; leave at once.
        let reconnecting = self.reader.is_none();
        if let Some(attempt) = self.attempt.take() {
            attempt.abort();
        }
        if done.is_some() && !reconnecting {
            self.flush_data().await;
        }
        let (closed, closed_rx) = oneshot::channel();
        if self.writer.send(Outgoing::Close { leave, done: closed }).is_ok() {
            let _ = bounded("socket close", Duration::from_secs(2), closed_rx).await;
        }
        let _ = self.publisher.close().await;
        let _ = self.subscriber.close().await;
        // Whatever is still queued cannot go out any more: its callers learn at once
        // (`Disconnected`) instead of waiting on a channel that is gone.
        self.data.clear();
        for task in self.data_tasks.drain(..) {
            task.abort();
        }
        self.session.finish(reason);
        while let Some(output) = self.session.poll_output() {
            if let Output::Event(ev) = output {
                let _ = self.events.send(ev);
            }
        }
        drop(self.events);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }
}

impl Driver {
    /// Before leaving on the app's request: what the app sent before `disconnect()` is
    /// delivered — the sender tasks finish their queues, then SCTP gets the data
    /// acknowledged — within `FLUSH_TIMEOUT` in all.
    async fn flush_data(&mut self) {
        let until = Instant::now() + FLUSH_TIMEOUT;
        self.data.clear(); // the sender tasks end once their queues are empty
        for task in self.data_tasks.drain(..) {
            let _ = tokio::time::timeout_at(until, task).await;
        }
        for dc in &self.data_channels {
            while dc.outstanding_bytes().await.unwrap_or(0) > 0 && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// The next signal message, or never while there is no socket.
async fn recv_signal(reader: &mut Option<SplitStream<Ws>>) -> Result<Option<proto::signal_response::Message>> {
    match reader {
        Some(reader) => signal::recv(reader).await,
        None => std::future::pending().await,
    }
}

/// The outcome of the reconnect attempt, or never while there is none.
async fn finished(attempt: &mut Option<tokio::task::JoinHandle<Attempted>>) -> Attempted {
    match attempt {
        Some(task) => task.await.unwrap_or_else(|e| Attempted::Failed {
            error: EngineError::rtc(format!("the reconnect attempt ended: {e}")),
            refused: false,
        }),
        None => std::future::pending().await,
    }
}

/// One sender task per kind of data (reliable, lossy), each on its current channel.
fn spawn_senders(
    channels: &[watch::Sender<Option<Arc<dyn DataChannel>>>; 2],
    feedback: &mpsc::UnboundedSender<Input>,
) -> (Vec<DataQueue>, Vec<tokio::task::JoinHandle<()>>) {
    let (mut data, mut tasks) = (Vec::new(), Vec::new());
    for current in channels {
        let (tx, rx) = mpsc::unbounded_channel();
        tasks.push(tokio::spawn(send_data(current.subscribe(), rx, feedback.clone())));
        data.push(tx);
    }
    (data, tasks)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn create_offer(pc: &dyn PeerConnection, ice_restart: bool) -> Result<String> {
    let options = ice_restart.then_some(rtc::peer_connection::configuration::RTCOfferOptions { ice_restart: true });
    let offer = pc.create_offer(options).await.map_err(EngineError::rtc)?;
    pc.set_local_description(offer).await.map_err(EngineError::rtc)?;
    Ok(pc.local_description().await.ok_or_else(|| EngineError::rtc("no local offer"))?.sdp)
}

async fn answer(pc: &dyn PeerConnection, sdp: String) -> Result<String> {
    let offer = RTCSessionDescription::offer(sdp.clone()).map_err(EngineError::rtc)?;
    pc.set_remote_description(offer).await.map_err(EngineError::rtc)?;
    lkrtc_transport::sdp::settle_directions(pc, &sdp).await;
    let answer = pc.create_answer(None).await.map_err(EngineError::rtc)?;
    pc.set_local_description(answer).await.map_err(EngineError::rtc)?;
    Ok(pc.local_description().await.ok_or_else(|| EngineError::rtc("no local answer"))?.sdp)
}

/// Writes signal messages in order; on `Close`, sends the leave and closes (each bounded).
async fn write_signal(
    mut sink: SplitSink<Ws, tokio_tungstenite::tungstenite::Message>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    while let Some(out) = rx.recv().await {
        match out {
            Outgoing::Message(msg) => {
                if let Err(e) = signal::send(&mut sink, *msg).await {
                    tracing::debug!(error = %e, "signal write failed");
                }
            }
            Outgoing::Close { leave, done } => {
                if let Some(leave) = leave {
                    let _ = bounded("leave", Duration::from_secs(1), signal::send(&mut sink, Req::Leave(leave))).await;
                }
                let _ = bounded("socket close", Duration::from_secs(1), sink.close()).await;
                let _ = done.send(());
                return;
            }
        }
    }
}

/// The publisher data channel a sender task sends on: `None` while a rejoin builds the
/// next one (packets wait for it, and a packet the old channel refused goes out on it).
type CurrentChannel = watch::Receiver<Option<Arc<dyn DataChannel>>>;

/// Sends one kind's packets in order, each waiting (bounded) for the channel to open, and
/// tells whoever waits how it went. A packet the channel refuses because a rejoin replaced
/// it is sent on the new channel.
async fn send_data(
    mut current: CurrentChannel,
    mut rx: mpsc::UnboundedReceiver<(Vec<u8>, Sent)>,
    feedback: mpsc::UnboundedSender<Input>,
) {
    let mut open: Option<(Arc<dyn DataChannel>, watch::Receiver<bool>)> = None;
    while let Some((bytes, sent)) = rx.recv().await {
        let result = loop {
            let dc = match current.wait_for(Option::is_some).await {
                Ok(dc) => dc.clone(),
                Err(_) => break Err(EngineError::Disconnected),
            };
            let Some(dc) = dc else { continue };
            if !open.as_ref().is_some_and(|(d, _)| Arc::ptr_eq(d, &dc)) {
                open = Some((dc.clone(), watch_open(dc.clone())));
            }
            let Some((_, opened)) = open.as_mut() else { continue };
            let result = send_one(&dc, opened, &bytes).await;
            let replaced = !matches!(&*current.borrow(), Some(now) if Arc::ptr_eq(now, &dc));
            if result.is_err() && replaced {
                continue;
            }
            break result;
        };
        report(sent, result, &feedback);
    }
}

/// One packet on `dc`, once it is open (each step bounded).
async fn send_one(dc: &Arc<dyn DataChannel>, open: &mut watch::Receiver<bool>, bytes: &[u8]) -> Result<()> {
    match bounded("the data channel to open", DC_OPEN_TIMEOUT, open.wait_for(|o| *o)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => return Err(EngineError::Disconnected),
        Err(e) => return Err(e),
    }
    match bounded("the data channel to take the packet", DC_OPEN_TIMEOUT, dc.send(BytesMut::from(bytes))).await {
        Ok(sent) => sent.map_err(|e| SendError::ChannelClosed(cause(e)).into()),
        Err(e) => Err(e),
    }
}

fn report(sent: Sent, result: Result<()>, feedback: &mpsc::UnboundedSender<Input>) {
    match sent {
        Sent::Nobody => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "data packet not sent");
            }
        }
        Sent::Reply(done) => {
            let _ = done.send(result);
        }
        Sent::Rpc { id, sent } => match result {
            Ok(()) => {
                let _ = sent.send(Ok(()));
            }
            Err(e) => {
                let why = e.to_string();
                let _ =
                    sent.send(Err(crate::rpc::RpcError::built_in(crate::rpc::RpcErrorCode::SendFailed, Some(&why))));
                let _ = feedback.send(Input::RpcNotSent(id));
            }
        },
    }
}

/// Reads a subscriber data channel, forwarding each message to the driver.
async fn read_dc(dc: Arc<dyn DataChannel>, tx: mpsc::Sender<(DataKind, BytesMut)>) {
    let kind = match dc.label().await.ok().and_then(|l| Channel::from_label(&l)) {
        Some(Channel::Reliable) => DataKind::Reliable,
        Some(Channel::Lossy) => DataKind::Lossy,
        None => return,
    };
    while let Some(data) = next_message(&dc).await {
        if tx.send((kind, data)).await.is_err() {
            break;
        }
    }
}
