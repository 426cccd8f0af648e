// Conformance (issue 8): the seed scenario lkrtc was born from. An observer sees a
// publisher's track; the publisher disconnects; the observer gets trackUnsubscribed →
// trackUnpublished → participantDisconnected, in that order, and its view of the
// publisher's trackPublications is empty afterwards. Then four publishers leave at once.
// Written once, run with @livekit/rtc-node and with lkrtc (see compat.mjs).
import { describe, expect, it } from 'vitest';
import {
  SDKS,
  publishSignal,
  recordLifecycle,
  sine,
  uniqueRoomName,
  useCompat,
  waitUntil,
  withTimeout,
} from './compat.mjs';

describe.each(SDKS)('publisher leaves (%s)', (name, sdk) => {
  const env = useCompat(name, sdk);

  /**
   * Connects `identities` as publishers (each publishing a tone, fed unless `feed` is
   * false) to a room with an observer; waits until the observer is subscribed to every track.
   */
  async function setup(identities, { feed = true } = {}) {
    const { scope } = env;
    const roomName = uniqueRoomName('c-leave');
    const observer = await scope.connect('observer', roomName);
    const logs = new Map(identities.map((id) => [id, recordLifecycle(observer, id)]));
    const publishers = new Map();
    await Promise.all(
      identities.map(async (id, i) => {
        const room = await scope.connect(id, roomName);
        const pub = await publishSignal(sdk, room, {
          signal: sine(300 + 100 * i, 0.3),
          name: `tone-${id}`,
          scope,
          start: feed,
        });
        publishers.set(id, { room, sid: pub.publication.sid });
      }),
    );
    await waitUntil(
      () => identities.every((id) => logs.get(id).includes(`trackSubscribed ${publishers.get(id).sid}`)),
      {
        timeoutMs: 20_000,
        what: () =>
          `the observer to subscribe to every publisher's track (logs: ${JSON.stringify(Object.fromEntries(logs))})`,
      },
    );
    const remotes = new Map(identities.map((id) => [id, observer.remoteParticipants.get(id)]));
    for (const id of identities) {
      const remote = remotes.get(id);
      expect(remote, `observer.remoteParticipants has ${id}`).toBeTruthy();
      expect([...remote.trackPublications.keys()], `observer's view of ${id}'s publications`).toEqual([
        publishers.get(id).sid,
      ]);
    }
    return { observer, logs, publishers, remotes };
  }

  /** Checks what the observer saw of `id` leaving. */
  function expectLeft({ observer, logs, publishers, remotes }, id) {
    const sid = publishers.get(id).sid;
    expect(logs.get(id), `events the observer got about ${id}`).toEqual([
      `trackSubscribed ${sid}`,
      `trackUnsubscribed ${sid}`,
      `trackUnpublished ${sid}`,
      'participantDisconnected',
    ]);
    expect(
      [...remotes.get(id).trackPublications.keys()],
      `observer's view of ${id}'s trackPublications after it left`,
    ).toEqual([]);
    expect(observer.remoteParticipants.has(id), `observer.remoteParticipants still has ${id}`).toBe(false);
  }

  it.each([
    ['fed with a tone', true],
    ['never fed a frame', false],
  ])(
    'the publisher of a track %s disconnects: trackUnsubscribed → trackUnpublished → participantDisconnected, publications empty',
    async (_what, feed) => {
      const s = await setup(['publisher'], { feed });
      await withTimeout(s.publishers.get('publisher').room.disconnect(), 10_000, "the publisher's disconnect()");
      await waitUntil(() => s.logs.get('publisher').includes('participantDisconnected'), {
        timeoutMs: 15_000,
        what: () => `the observer's participantDisconnected (log: ${JSON.stringify(s.logs.get('publisher'))})`,
      });
      expectLeft(s, 'publisher');
    },
  );

  it('four publishers disconnect at once: each one in order, every view empty', async () => {
    const ids = ['pub-a', 'pub-b', 'pub-c', 'pub-d'];
    const s = await setup(ids);
    await withTimeout(
      Promise.all(ids.map((id) => s.publishers.get(id).room.disconnect())),
      15_000,
      "the four publishers' disconnect()",
    );
    await waitUntil(() => ids.every((id) => s.logs.get(id).includes('participantDisconnected')), {
      timeoutMs: 20_000,
      what: () => `participantDisconnected for all four (logs: ${JSON.stringify(Object.fromEntries(s.logs))})`,
    });
    for (const id of ids) expectLeft(s, id);
    expect(s.observer.remoteParticipants.size, 'observer.remoteParticipants after everyone left').toBe(0);
  });
});
