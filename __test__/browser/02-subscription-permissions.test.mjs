// Subscription permissions (issue 10), as livekit-server enforces them: an official
// publisher (@livekit/rtc-node) restricts who may subscribe to its track; livekit-client
// in Chromium (default options, so it auto-subscribes) is refused, granted, revoked and
// granted again while an lkrtc participant allowed throughout stays subscribed. The
// browser sees each change as livekit-server's `SubscriptionPermissionUpdate` makes it
// see them (TrackSubscriptionPermissionChanged) and gets, loses and regains the track.
import { describe, expect, it } from 'vitest';
import { joinFromBrowser, pageEvents, useBrowser } from '../helpers/browser.mjs';
import { Scope, delay, publishSine, uniqueRoomName, waitForEvent, waitUntil } from '../helpers/rtc.mjs';
import { connectLk, lk } from '../client/lk.mjs';

/**
 * `setTrackSubscriptionPermissions` of the official client's FFI (rtc-node 1.1 does not
 * wrap it yet; its FfiClient singleton sends the request as the wrapper would).
 */
function setPermissions(room, allParticipantsAllowed, permissions = []) {
  globalThis._ffiClientInstance.request({
    message: {
      case: 'setTrackSubscriptionPermissions',
      value: { localParticipantHandle: room.localParticipant.ffi_handle.handle, allParticipantsAllowed, permissions },
    },
  });
}

describe('subscription permissions', () => {
  const env = useBrowser();

  it('are enforced, granted and revoked live', async () => {
    const { server, browser } = env;
    const scope = new Scope();
    try {
      const roomName = uniqueRoomName('perm');
      const publisher = await scope.connect(server, 'pub', roomName);
      setPermissions(publisher, false, [{ participantIdentity: 'node', allowAll: true }]);
      const { publication } = await publishSine(publisher, { scope });
      const sid = publication.sid;

      const node = await connectLk(scope, server, 'node', roomName);
      await waitForEvent(node, lk.RoomEvent.TrackSubscribed, {
        timeoutMs: 15_000,
        what: 'the allowed lkrtc participant to subscribe',
        filter: (_t, pub) => pub.sid === sid,
      }).catch((e) => {
        // It may have subscribed before the listener was attached.
        if (![...node.remoteParticipants.values()].some((p) => p.trackPublications.get(sid)?.track)) throw e;
      });

      const tab = await browser.open();
      await joinFromBrowser(tab, server, 'browser', roomName);
      const log = () => pageEvents(tab);
      /** Runs `change`, then waits for `line` among the browser's events that follow. */
      const after = async (change, line, what) => {
        const seen = (await log()).length;
        change();
        await waitUntil(async () => (await log()).slice(seen).includes(line), {
          timeoutMs: 15_000,
          what: `${what}: "${line}"`,
        }).catch(async (e) => {
          throw new Error(`${e.message} in the browser's events ${JSON.stringify(await log())}`);
        });
      };

      // Refused: told so, and no track arrives. (The first permission update can arrive
      // while room.connect() is still running, when livekit-client applies it without
      // emitting events, as it would with livekit-server: read the publication's state.)
      const state = () =>
        tab.page.evaluate((sid) => {
          const pub = globalThis.room.remoteParticipants.get('pub')?.trackPublications.get(sid);
          return pub && `${pub.permissionStatus} ${pub.isSubscribed ? 'subscribed' : 'unsubscribed'}`;
        }, sid);
      await waitUntil(async () => (await state()) === 'not_allowed unsubscribed', {
        timeoutMs: 15_000,
        what: 'the browser to be told it is not allowed',
      });
      await delay(1_500);
      expect(await state()).toBe('not_allowed unsubscribed');
      expect(await log()).not.toContain(`subscribed ${sid}`);

      // Granted this very track: subscribed.
      await after(
        () =>
          setPermissions(publisher, false, [
            { participantIdentity: 'node', allowAll: true },
            { participantIdentity: 'browser', allowedTrackSids: [sid] },
          ]),
        `subscribed ${sid}`,
        'the browser to subscribe once allowed',
      );
      expect(await log()).toContain(`allowed ${sid}`);
      expect(await state()).toBe('allowed subscribed');

      // Revoked: told so, and the track goes away.
      await after(
        () => setPermissions(publisher, false, [{ participantIdentity: 'node', allowAll: true }]),
        `unsubscribed ${sid}`,
        'the browser to lose the track when revoked',
      );
      expect((await log()).slice(-2)).toContain(`not_allowed ${sid}`);
      expect(await state()).toBe('not_allowed unsubscribed');

      // Everyone allowed again: subscribed again.
      await after(
        () => setPermissions(publisher, true),
        `subscribed ${sid}`,
        'the browser to subscribe again when everyone is allowed',
      );
      expect(await state()).toBe('allowed subscribed');

      // The allowed lkrtc participant kept its subscription all along.
      const held = [...node.remoteParticipants.values()].find((p) => p.identity === 'pub');
      expect(held?.trackPublications.get(sid)?.track, 'lkrtc still subscribed').toBeTruthy();
      await tab.page.evaluate(() => globalThis.room.disconnect());
      await tab.page.close();
    } finally {
      await scope.close();
    }
  });
});
