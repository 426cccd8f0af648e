// One side of the E2EE benchmark: bench/audio/child.mjs (same argv, same work) with the room
// connected with a shared-key GCM encryption when BENCH_E2EE=1.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const sdk = process.argv[2];
const mod = sdk === 'lkrtc' ? require('../../index.js') : await import('@livekit/rtc-node');
if (process.env.BENCH_E2EE === '1') {
  const connect = mod.Room.prototype.connect;
  const encryption = {
    encryptionType: mod.EncryptionType.GCM,
    keyProviderOptions: { sharedKey: new TextEncoder().encode('bench shared key') },
  };
  mod.Room.prototype.connect = function (url, token, options) {
    return connect.call(this, url, token, { ...options, encryption });
  };
}
await import('../audio/child.mjs');
