/** Event names, identical to @livekit/rtc-node's `RoomEvent` (listener signatures: `RoomCallbacks`). */
export enum RoomEvent {
  ParticipantConnected = 'participantConnected',
  ParticipantDisconnected = 'participantDisconnected',
  LocalTrackPublished = 'localTrackPublished',
  LocalTrackUnpublished = 'localTrackUnpublished',
  LocalTrackRepublished = 'localTrackRepublished',
  LocalTrackSubscribed = 'localTrackSubscribed',
  TrackPublished = 'trackPublished',
  TrackUnpublished = 'trackUnpublished',
  TrackSubscribed = 'trackSubscribed',
  TrackUnsubscribed = 'trackUnsubscribed',
  TrackSubscriptionFailed = 'trackSubscriptionFailed',
  TrackMuted = 'trackMuted',
  TrackUnmuted = 'trackUnmuted',
  ActiveSpeakersChanged = 'activeSpeakersChanged',
  RoomMetadataChanged = 'roomMetadataChanged',
  RoomSidChanged = 'roomSidChanged',
  ParticipantMetadataChanged = 'participantMetadataChanged',
  ParticipantNameChanged = 'participantNameChanged',
  ParticipantAttributesChanged = 'participantAttributesChanged',
  ParticipantEncryptionStatusChanged = 'participantEncryptionStatusChanged',
  ConnectionQualityChanged = 'connectionQualityChanged',
  DataReceived = 'dataReceived',
  ChatMessage = 'chatMessage',
  DtmfReceived = 'dtmfReceived',
  EncryptionError = 'encryptionError',
  ConnectionStateChanged = 'connectionStateChanged',
  Connected = 'connected',
  Disconnected = 'disconnected',
  Reconnecting = 'reconnecting',
  Reconnected = 'reconnected',
  RoomUpdated = 'roomUpdated',
  Moved = 'moved',
  TokenRefreshed = 'tokenRefreshed',
  /**
   * lkrtc addition: a track's frame cryptor changed `EncryptionState` (listener:
   * `(state, participantIdentity, trackSid)`; `trackSid` empty for a data packet that did not
   * decrypt). Failure states also emit `encryptionError`.
   */
  EncryptionStateChanged = 'encryptionStateChanged',
  /** lkrtc addition (older @livekit/rtc-node versions had it): transcription segments. */
  TranscriptionReceived = 'transcriptionReceived',
}
