// Conformance (issue 8): the Room object.
//  4. Room fields after connect (the official Room's getters: name, metadata, getSid(),
//     numParticipants, numPublishers, creationTime, isRecording, departureTimeout,
//     emptyTimeout), as the join response and a RoomUpdate (metadata change) set them.
//  8. disconnect() emits `disconnected`, then removes every listener (the official calls
//     removeAllListeners()).
// Written once, run with @livekit/rtc-node and with lkrtc (see compat.mjs).
import { RoomServiceClient } from 'livekit-server-sdk';
import { describe, expect, it } from 'vitest';
import {
  SDKS,
  publishSignal,
  sine,
  uniqueRoomName,
  useCompat,
  waitForEvent,
  waitUntil,
  withTimeout,
} from './compat.mjs';

describe.each(SDKS)('room (%s)', (name, sdk) => {
  const env = useCompat(name, sdk);
  const { RoomEvent } = sdk;

  it('room fields after connect: name, sid, creationTime, metadata, numParticipants, numPublishers, isRecording', async () => {
    const { scope, server } = env;
    const roomName = uniqueRoomName('c-fields');
    const before = Date.now();
    const first = await scope.connect('first', roomName);
    const after = Date.now();

    expect.soft(first.name).toBe(roomName);
    const sid = await withTimeout(first.getSid(), 10_000, 'room.getSid()');
    expect.soft(sid, 'room sid').toMatch(/^RM_\w+$/);
    expect.soft(first.creationTime, 'creationTime is a Date').toBeInstanceOf(Date);
    const created = first.creationTime?.getTime?.();
    // The server stamps the room when the first participant joins (whole seconds on the wire).
    expect
      .soft(created, `creationTime ${first.creationTime} within the connect (${new Date(before).toISOString()}…)`)
      .toBeGreaterThanOrEqual(before - 1_500);
    expect.soft(created).toBeLessThanOrEqual(after + 1_000);
    expect.soft(first.metadata, 'metadata of a room nobody set metadata on').toBe('');
    expect.soft(first.isRecording, 'isRecording').toBe(false);
    // Field checks are soft: one run reports every field that differs.
    // numParticipants / numPublishers are the server's RoomInfo as last received (the join
    // response, then RoomUpdates), not a local count. lkrtc-server's join response counts
    // the joiner too, as livekit-server's does, and both SDKs report exactly that.
    expect
      .soft(first.numParticipants, "numParticipants seen by the first participant (server's join response)")
      .toBe(1);
    expect.soft(first.numPublishers, 'numPublishers before anyone published').toBe(0);
    expect.soft(typeof first.departureTimeout, 'departureTimeout is a number').toBe('number');
    expect.soft(typeof first.emptyTimeout, 'emptyTimeout is a number').toBe('number');

    // A publisher, then a second participant: its join response counts the publisher. The
    // server counts a publisher once its media flows, and tells the room (RoomUpdate).
    await publishSignal(sdk, first, { signal: sine(440, 0.3), scope, name: 'fields-tone' });
    await waitUntil(() => first.numPublishers === 1, {
      timeoutMs: 10_000,
      what: 'the RoomUpdate counting the publisher',
    });
    const second = await scope.connect('second', roomName);
    expect.soft(second.name).toBe(roomName);
    expect.soft(await withTimeout(second.getSid(), 10_000, "the second room's getSid()")).toBe(sid);
    expect.soft(second.creationTime?.getTime?.(), 'both see the same creationTime').toBe(created);
    expect
      .soft(second.numParticipants, "numParticipants seen by the second participant (server's join response)")
      .toBe(2);
    expect.soft(second.numPublishers, 'numPublishers seen by the second participant').toBe(1);
    expect.soft(second.isRecording, 'isRecording at the second participant').toBe(false);

    // Room metadata set through the server API reaches both (RoomUpdate).
    const roomService = new RoomServiceClient(server.url.replace(/^ws/, 'http'), server.apiKey, server.apiSecret);
    const changed = [first, second].map((room, i) =>
      waitForEvent(room, RoomEvent.RoomMetadataChanged, {
        timeoutMs: 10_000,
        what: `roomMetadataChanged at participant ${i + 1}`,
      }),
    );
    await withTimeout(
      roomService.updateRoomMetadata(roomName, 'compat-metadata'),
      10_000,
      'RoomService.UpdateRoomMetadata',
    );
    for (const [i, room] of [first, second].entries()) {
      const [metadata] = await changed[i];
      expect.soft(metadata, `roomMetadataChanged argument at participant ${i + 1}`).toBe('compat-metadata');
      expect.soft(room.metadata, `room.metadata at participant ${i + 1}`).toBe('compat-metadata');
    }
    for (const [i, room] of [first, second].entries()) {
      expect.soft(room.numParticipants, `numParticipants at participant ${i + 1} after the RoomUpdate`).toBe(2);
      expect.soft(room.numPublishers, `numPublishers at participant ${i + 1} after the RoomUpdate`).toBe(1);
    }
  });

  it('disconnect() emits disconnected (CLIENT_INITIATED), then leaves no listener on the room', async () => {
    const { scope } = env;
    const room = await scope.connect('leaver', uniqueRoomName('c-listeners'));
    const noop = () => {};
    const events = [
      RoomEvent.ParticipantConnected,
      RoomEvent.ParticipantDisconnected,
      RoomEvent.TrackSubscribed,
      RoomEvent.DataReceived,
      RoomEvent.ConnectionStateChanged,
    ];
    for (const e of events) room.on(e, noop);
    room.once(RoomEvent.RoomMetadataChanged, noop);
    const reasons = [];
    room.on(RoomEvent.Disconnected, (reason) => reasons.push(reason));
    expect(room.listenerCount(RoomEvent.ParticipantConnected)).toBeGreaterThanOrEqual(1);

    await withTimeout(room.disconnect(), 10_000, 'room.disconnect()');
    expect(reasons, 'disconnected emitted once, CLIENT_INITIATED').toEqual([sdk.DisconnectReason.CLIENT_INITIATED]);
    expect(room.isConnected).toBe(false);
    const left = Object.fromEntries(
      [...events, RoomEvent.RoomMetadataChanged, RoomEvent.Disconnected]
        .map((e) => [e, room.listenerCount(e)])
        .filter(([, n]) => n > 0),
    );
    expect(left, 'listener counts after disconnect()').toEqual({});
    expect(room.eventNames(), 'room.eventNames() after disconnect()').toEqual([]);
  });
});
