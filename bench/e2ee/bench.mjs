// E2EE benchmark: the CPU end-to-end encryption adds per audio track, lkrtc and
// @livekit/rtc-node in one run on the same lkrtc-server.
//   sh scripts/netns.sh node bench/e2ee/bench.mjs [--tracks 10] [--seconds 4]
// For each SDK, with and without a shared-key GCM encryption: one publisher process
// publishes N 48 kHz mono tracks (bench/audio/child.mjs, paced in real time), one
// subscriber process reads them all. Figures: CPU ms per second per track of each process
// (utime+stime from /proc), the cost of encryption (encrypted − clear) and the ratios.
// Release builds give fair figures (see bench/audio/bench.mjs for the environment).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../__test__/helpers/server.mjs';
import { delay, uniqueRoomName } from '../../__test__/helpers/rtc.mjs';
import { cpuSeconds, forkChild, reap } from '../child-process.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const option = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const N = Number(option('tracks', 10));
const SECONDS = Number(option('seconds', 4));

/** CPU ms per second per track of the publisher and the subscriber. */
async function measure(server, sdk, encrypted) {
  process.env.BENCH_E2EE = encrypted ? '1' : '0';
  const room = uniqueRoomName(`bench-e2ee-${sdk}`);
  const spawn = async (role, identity) =>
    forkChild(
      resolve(HERE, 'child.mjs'),
      [sdk, role, server.url, await server.token(identity, room), String(N)],
      sdk,
      `${sdk} ${role}${encrypted ? ' (e2ee)' : ''}`,
    );
  const sub = await spawn('sub', 'sub');
  await sub.wait((m) => m.ready, 'ready');
  const pub = await spawn('pub', 'pub');
  try {
    await pub.wait((m) => m.published, 'published');
    await sub.wait((m) => m.subscribed && m.n >= N, `${N} subscriptions`, 30_000);
    await delay(1_000);
    const before = [cpuSeconds(pub.proc.pid), cpuSeconds(sub.proc.pid)];
    const t0 = performance.now();
    await delay(SECONDS * 1_000);
    const elapsed = (performance.now() - t0) / 1_000;
    const [pubCpu, subCpu] = [pub, sub].map((c, i) => ((cpuSeconds(c.proc.pid) - before[i]) * 1_000) / elapsed / N);
    for (const c of [pub, sub]) c.proc.send({ stop: true });
    await sub.wait((m) => m.done, 'done');
    await pub.wait((m) => m.done, 'done');
    return { pubCpu, subCpu };
  } finally {
    await reap(pub);
    await reap(sub);
  }
}

const server = await startServer({ name: 'bench-e2ee' });
const figures = {};
try {
  for (const sdk of ['lkrtc', 'official']) {
    for (const encrypted of [false, true]) {
      const f = await measure(server, sdk, encrypted);
      figures[`${sdk}/${encrypted}`] = f;
      console.log(
        `${sdk.padEnd(8)} ${encrypted ? 'e2ee ' : 'clear'} N=${N}  publisher ${f.pubCpu.toFixed(2)} ms CPU/s/track  ` +
          `subscriber ${f.subCpu.toFixed(2)} ms CPU/s/track`,
      );
    }
  }
} finally {
  await server.kill();
}
console.log('\ncost of encryption per audio track (encrypted − clear, ms CPU/s) and encrypted / clear:');
const cost = {};
for (const sdk of ['lkrtc', 'official']) {
  const [clear, e2ee] = [figures[`${sdk}/false`], figures[`${sdk}/true`]];
  cost[sdk] = { pub: e2ee.pubCpu - clear.pubCpu, sub: e2ee.subCpu - clear.subCpu };
  console.log(
    `${sdk.padEnd(8)} publisher +${cost[sdk].pub.toFixed(2)} (×${(e2ee.pubCpu / clear.pubCpu).toFixed(2)})  ` +
      `subscriber +${cost[sdk].sub.toFixed(2)} (×${(e2ee.subCpu / clear.subCpu).toFixed(2)})`,
  );
}
const ratio = (k) => (figures[`lkrtc/true`][k] / figures[`official/true`][k]).toFixed(2);
console.log(`\nlkrtc / official with e2ee: publisher CPU ${ratio('pubCpu')}  subscriber CPU ${ratio('subCpu')}`);
process.exit(0);
