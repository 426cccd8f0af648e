// A strict TypeScript app written against @livekit/rtc-node's public API. It must compile
// with 0 errors against both SDKs (tsconfig.official.json / tsconfig.lkrtc.json map the
// module name `livekit-sdk` to one or the other); __test__/types.test.mjs runs tsc on it.
// It is type-checked only, never run.
import {
  AudioFrame,
  AudioMixer,
  AudioResampler,
  AudioResamplerQuality,
  AudioSource,
  AudioStream,
  ByteStreamReader,
  ConnectError,
  ConnectionQuality,
  ConnectionState,
  ContinualGatheringPolicy,
  DataPacketKind,
  DisconnectReason,
  E2EEManager,
  type E2EEOptions,
  EncryptionState,
  EncryptionType,
  FrameCryptor,
  FrameProcessor,
  IceTransportType,
  KeyProvider,
  LocalAudioTrack,
  LocalParticipant,
  ParticipantKind,
  ParticipantKindDetail,
  RemoteAudioTrack,
  RemoteParticipant,
  RemoteTrackPublication,
  Room,
  RoomEvent,
  RpcError,
  SimulateScenarioKind,
  StreamState,
  TextStreamReader,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  combineAudioFrames,
  dispose,
  isFrameProcessor,
  type AudioTrack,
  type ChatMessage,
  type LocalTrack,
  type LocalTrackPublication,
  type Participant,
  type RemoteTrack,
  type RoomOptions,
  type RpcInvocationData,
  type Track,
  type TrackPublication,
} from 'livekit-sdk';

class Gain extends FrameProcessor<AudioFrame> {
  #on = true;
  isEnabled(): boolean {
    return this.#on;
  }
  setEnabled(enabled: boolean): void {
    this.#on = enabled;
  }
  process(frame: AudioFrame): AudioFrame {
    const out = new Int16Array(frame.data.length);
    for (let i = 0; i < out.length; i++) out[i] = (frame.data[i] ?? 0) >> 1;
    return new AudioFrame(out, frame.sampleRate, frame.channels, frame.samplesPerChannel);
  }
  close(): void {}
}

function describe(p: Participant): string {
  const kinds: ParticipantKindDetail[] = p.kindDetails;
  const reason: DisconnectReason | undefined = p.disconnectReason;
  const pubs: TrackPublication[] = [...p.trackPublications.values()];
  return `${p.identity} ${p.sid ?? ''} ${p.name ?? ''} ${p.metadata} ${p.kind === ParticipantKind.AGENT} ${kinds.length} ${reason} ${pubs.length} ${JSON.stringify(p.attributes)}`;
}

function trackInfo(t: Track): string {
  const k: TrackKind | undefined = t.kind;
  const s: StreamState | undefined = t.stream_state;
  return `${t.sid} ${t.name} ${k} ${t.muted} ${s}`;
}

export async function main(url: string, token: string): Promise<void> {
  const room = new Room();
  const options: RoomOptions = {
    autoSubscribe: true,
    dynacast: false,
    rtcConfig: {
      iceTransportType: IceTransportType.TRANSPORT_ALL,
      continualGatheringPolicy: ContinualGatheringPolicy.GATHER_ONCE,
      iceServers: [],
    },
    dataStream: { maxPayloadByteLength: 1024 },
  };
  room
    .on(RoomEvent.ParticipantConnected, (p: RemoteParticipant) => console.log(describe(p)))
    .on(RoomEvent.ParticipantDisconnected, (p: RemoteParticipant) => console.log(p.trackPublications.size))
    .on(RoomEvent.LocalTrackPublished, (pub: LocalTrackPublication, p: LocalParticipant) =>
      console.log(pub.sid, p.identity),
    )
    .on(RoomEvent.LocalTrackUnpublished, (pub: LocalTrackPublication, p: LocalParticipant) =>
      console.log(pub.name, p.sid),
    )
    .on(RoomEvent.LocalTrackRepublished, (pub: LocalTrackPublication, previousSid: string, p: LocalParticipant) =>
      console.log(pub.sid, previousSid, p.identity),
    )
    .on(RoomEvent.LocalTrackSubscribed, (track: LocalTrack) => console.log(track.sid))
    .on(RoomEvent.TrackPublished, (pub: RemoteTrackPublication, p: RemoteParticipant) =>
      pub.setSubscribed(p.identity !== ''),
    )
    .on(RoomEvent.TrackUnpublished, (pub: RemoteTrackPublication, p: RemoteParticipant) =>
      console.log(pub.kind, p.identity),
    )
    .on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
      if (track instanceof RemoteAudioTrack) {
        const stream = new AudioStream(track, { sampleRate: 16000, numChannels: 1, noiseCancellation: new Gain() });
        void (async () => {
          for await (const frame of stream) console.log(frame.samplesPerChannel, pub.mimeType, p.identity);
        })();
      }
      console.log(trackInfo(track), pub.subscribed, pub.source === TrackSource.SOURCE_MICROPHONE);
    })
    .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) =>
      console.log(track.sid, pub.sid, p.identity),
    )
    .on(RoomEvent.TrackSubscriptionFailed, (trackSid: string, p: RemoteParticipant, reason?: string) =>
      console.log(trackSid, p.identity, reason),
    )
    .on(RoomEvent.TrackMuted, (pub: TrackPublication, p: Participant) => console.log(pub.muted, p.identity))
    .on(RoomEvent.TrackUnmuted, (pub: TrackPublication, p: Participant) => console.log(pub.muted, p.identity))
    .on(RoomEvent.ActiveSpeakersChanged, (speakers: Participant[]) => console.log(speakers.length))
    .on(RoomEvent.RoomMetadataChanged, (metadata: string) => console.log(metadata))
    .on(RoomEvent.RoomSidChanged, (sid: string) => console.log(sid))
    .on(RoomEvent.ParticipantMetadataChanged, (metadata: string | undefined, p: Participant) =>
      console.log(metadata, p.identity),
    )
    .on(RoomEvent.ParticipantNameChanged, (name: string, p: Participant) => console.log(name, p.identity))
    .on(RoomEvent.ParticipantAttributesChanged, (changed: Record<string, string>, p: Participant) =>
      console.log(changed, p.identity),
    )
    .on(RoomEvent.ParticipantEncryptionStatusChanged, (isEncrypted: boolean, p: Participant) =>
      console.log(isEncrypted, p.identity),
    )
    .on(RoomEvent.ConnectionQualityChanged, (q: ConnectionQuality, p: Participant) =>
      console.log(q === ConnectionQuality.QUALITY_POOR, p.identity),
    )
    .on(
      RoomEvent.DataReceived,
      (payload: Uint8Array, p?: RemoteParticipant, kind?: DataPacketKind, topic?: string, enc?: EncryptionType) =>
        console.log(
          payload.length,
          p?.identity,
          kind === DataPacketKind.KIND_RELIABLE,
          topic,
          enc === EncryptionType.NONE,
        ),
    )
    .on(RoomEvent.ChatMessage, (message: ChatMessage, p?: Participant) => console.log(message.message, p?.identity))
    .on(RoomEvent.DtmfReceived, (code: number, digit: string, p: RemoteParticipant) =>
      console.log(code, digit, p.identity),
    )
    .on(RoomEvent.EncryptionError, (error: Error) => console.log(error.message, EncryptionState.OK))
    .on(RoomEvent.ConnectionStateChanged, (state: ConnectionState) =>
      console.log(state === ConnectionState.CONN_CONNECTED),
    )
    .on(RoomEvent.Connected, () => console.log('connected'))
    .on(RoomEvent.Disconnected, (reason: DisconnectReason) => console.log(reason === DisconnectReason.CLIENT_INITIATED))
    .on(RoomEvent.Reconnecting, () => console.log('reconnecting'))
    .on(RoomEvent.Reconnected, () => console.log('reconnected'))
    .on(RoomEvent.RoomUpdated, () => console.log(room.numParticipants, room.numPublishers))
    .on(RoomEvent.Moved, () => console.log(room.name))
    .on(RoomEvent.TokenRefreshed, () => console.log('token'));

  try {
    await room.connect(url, token, options);
  } catch (e) {
    if (e instanceof ConnectError) console.log(e.message);
    throw e;
  }
  const created: Date = room.creationTime;
  console.log(
    created.getTime(),
    room.isRecording,
    room.departureTimeout,
    room.emptyTimeout,
    await room.getSid(),
    room.metadata,
  );
  console.log(
    room.isConnected,
    room.connectionState,
    room.remoteParticipants.size,
    SimulateScenarioKind.SIMULATE_SIGNAL_RECONNECT,
  );

  const lp = room.localParticipant!;
  const source = new AudioSource(48000, 1);
  const track = LocalAudioTrack.createAudioTrack('mic', source);
  const audioTrack: AudioTrack = track;
  const pub = await lp.publishTrack(
    track,
    new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE, dtx: false, red: true }),
  );
  const frame = AudioFrame.create(48000, 1, 480);
  await source.captureFrame(frame);
  const combined: AudioFrame = combineAudioFrames([frame, frame]);
  const resampler = new AudioResampler(48000, 16000, 1, AudioResamplerQuality.HIGH);
  const out: AudioFrame[] = [...resampler.push(combined), ...resampler.flush()];
  console.log(out.length, audioTrack.kind, pub.track?.sid, isFrameProcessor(new Gain()));

  const mixer = new AudioMixer(48000, 1, { blocksize: 480 });
  mixer.addStream(
    (async function* () {
      yield frame;
    })(),
  );
  mixer.endInput();
  for await (const mixed of mixer) console.log(mixed.samplesPerChannel);
  await mixer.aclose();

  await lp.publishData(new TextEncoder().encode('hi'), { reliable: true, destination_identities: ['bob'], topic: 't' });
  await lp.updateMetadata('m');
  await lp.updateName('n');
  await lp.setAttributes({ a: 'b' });
  const msg: ChatMessage = await lp.sendChatMessage('hello', ['bob']);
  await lp.publishDtmf(1, '1');
  console.log(msg.id);

  lp.registerRpcMethod(
    'greet',
    async (data: RpcInvocationData) => `hello ${data.callerIdentity} ${data.payload} ${data.responseTimeout}`,
  );
  try {
    const answer: string = await lp.performRpc({
      destinationIdentity: 'bob',
      method: 'greet',
      payload: 'x',
      responseTimeout: 5000,
    });
    console.log(answer);
  } catch (e) {
    if (e instanceof RpcError) console.log(e.code === RpcError.ErrorCode.RESPONSE_TIMEOUT, e.data);
  }
  lp.unregisterRpcMethod('greet');

  room.registerTextStreamHandler('chat', (reader: TextStreamReader, info: { identity: string }) => {
    reader.onProgress = (progress?: number) => console.log(progress);
    void reader.readAll().then((text: string) => console.log(text, reader.info.topic, info.identity));
  });
  room.registerByteStreamHandler('files', (reader: ByteStreamReader) => {
    void reader.readAll().then((chunks: Uint8Array[]) => console.log(chunks.length, reader.info.name));
  });
  const writer = await lp.streamText({ topic: 'chat' });
  await writer.write('partial');
  await writer.close();
  const info = await lp.sendText('whole', { topic: 'chat' });
  const bytes = await lp.streamBytes({ topic: 'files', name: 'a.bin' });
  await bytes.write(new Uint8Array([1, 2, 3]));
  await bytes.close();
  console.log(info.streamId, writer.info.streamId);
  room.unregisterTextStreamHandler('chat');
  room.unregisterByteStreamHandler('files');

  // End-to-end encryption (rtc-node's shapes; `keyProvider` is private in rtc-node's types).
  const encrypted = new Room();
  const e2eeOptions: E2EEOptions = {
    keyProviderOptions: { sharedKey: new Uint8Array([1, 2, 3]), ratchetWindowSize: 16, failureTolerance: -1 },
    encryptionType: EncryptionType.GCM,
  };
  await encrypted.connect(url, token, { ...options, encryption: e2eeOptions });
  const manager: E2EEManager | undefined = encrypted.e2eeManager;
  if (manager) {
    manager.setEnabled(true);
    const cryptors: FrameCryptor[] = manager.frameCryptors();
    for (const c of cryptors) {
      c.setEnabled(c.enabled);
      c.setKeyIndex(c.keyIndex + 1);
      console.log(c.participantIdentity);
    }
  }
  const enc: EncryptionType | undefined = pub.encryptionType;
  console.log(enc === EncryptionType.GCM, EncryptionState.KEY_RATCHETED, manager?.enabled);
  const kp = (provider: KeyProvider): Uint8Array => provider.ratchetSharedKey(0);
  console.log(kp);
  await encrypted.disconnect();

  await lp.unpublishTrack(pub.sid!, false);
  await track.close();
  await source.close();
  await room.disconnect();
  await dispose();
}
