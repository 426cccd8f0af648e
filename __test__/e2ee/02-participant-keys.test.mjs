// Per-participant keys (no shared key): each publisher encrypts with its own key, set on every
// receiver with setKey(identity, key, index). A receiver without the publisher's key reports
// MISSING_KEY and hears nothing until it gets it. lkrtc only: rtc-node 1.1's setKey takes no
// key (setKey(identity, keyIndex)), so it cannot join a per-participant-key room.
import { describe, expect, it } from 'vitest';
import { lk } from '../client/lk.mjs';
import { publishSignal, readSeconds, sine, uniqueRoomName, waitForEvent } from '../compat/compat.mjs';
import { detectFrequency } from '../helpers/rtc.mjs';
import { e2ee, enc, peakOver, useE2ee } from './e2ee.mjs';

const ALICE = enc('alice key');
const HKDF = 1;

describe('per-participant keys', () => {
  const env = useE2ee();

  it('a receiver with the publisher key hears it; one without gets MISSING_KEY and silence', async () => {
    const room = uniqueRoomName('e2ee-keys');
    const options = e2ee(lk, null, { keyDerivationFunction: HKDF });
    const bob = await env.connect(lk, 'bob', room, options);
    const carol = await env.connect(lk, 'carol', room, options);
    const errors = [];
    carol.on('encryptionError', (e) => errors.push(e));
    bob.e2eeManager.keyProvider.setKey('alice', ALICE, 0);
    expect([...bob.e2eeManager.keyProvider.exportKey('alice', 0)]).toEqual([...ALICE]);
    expect(() => bob.e2eeManager.keyProvider.setKey('alice', 0)).toThrow(/pass the key/);
    expect(() => bob.e2eeManager.keyProvider.setSharedKey(ALICE, 0)).toThrow(/per-participant/);

    const bobTrack = waitForEvent(bob, 'trackSubscribed', { timeoutMs: 20_000 });
    const carolTrack = waitForEvent(carol, 'trackSubscribed', { timeoutMs: 20_000 });
    const alice = await env.connect(lk, 'alice', room, options);
    alice.e2eeManager.keyProvider.setKey('alice', ALICE, 0);
    await publishSignal(lk, alice, { signal: sine(440, 0.3), scope: env.scope });
    const [tb] = await bobTrack;
    const { channels } = await readSeconds(lk, tb, { seconds: 1, what: 'bob hears alice' });
    expect(Math.abs(detectFrequency(channels[0], 48_000) - 440)).toBeLessThan(15);
    const cryptors = alice.e2eeManager.frameCryptors();
    expect(cryptors.map((c) => [c.participantIdentity, c.enabled, c.state])).toEqual([
      ['alice', true, lk.EncryptionState.OK],
    ]);

    const [tc] = await carolTrack;
    expect((await peakOver(lk, tc, 1_500)).max, 'carol: no key, no audio').toBe(0);
    expect(errors.map((e) => e.state)).toContain(lk.EncryptionState.MISSING_KEY);
    carol.e2eeManager.keyProvider.setKey('alice', ALICE, 0);
    const late = await readSeconds(lk, tc, { seconds: 1, what: 'carol hears alice with the key' });
    expect(Math.abs(detectFrequency(late.channels[0], 48_000) - 440)).toBeLessThan(15);

    // A ratchet on both sides keeps them in step; the ratcheted keys are equal.
    const next = alice.e2eeManager.keyProvider.ratchetKey('alice', 0);
    expect([...bob.e2eeManager.keyProvider.ratchetKey('alice', 0)]).toEqual([...next]);
    const after = await readSeconds(lk, tb, { seconds: 1, what: 'bob after the ratchet' });
    expect(Math.abs(detectFrequency(after.channels[0], 48_000) - 440)).toBeLessThan(15);
  });
});
