// Video helpers for tests that drive the official client (@livekit/rtc-node).
import * as official from '@livekit/rtc-node';
import { waitForEvent, withTimeout } from './rtc.mjs';

/**
 * `pub` publishes `source` as a single-layer camera track and `sub` subscribes (auto).
 * Resolves with the subscriber's { remote, publication } and the publisher's `track`.
 */
export async function publishCamera(pub, sub, source) {
  const track = official.LocalVideoTrack.createVideoTrack('cam', source);
  const options = new official.TrackPublishOptions();
  options.source = official.TrackSource.SOURCE_CAMERA;
  options.simulcast = false;
  const subscribed = waitForEvent(sub, official.RoomEvent.TrackSubscribed, {
    timeoutMs: 20_000,
    what: `${sub.localParticipant?.identity ?? 'the subscriber'} to subscribe to the camera`,
  });
  await withTimeout(pub.localParticipant.publishTrack(track, options), 20_000, 'publishTrack(video)');
  const [remote, publication] = await subscribed;
  return { track, remote, publication };
}
