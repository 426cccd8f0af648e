// Reconnection benchmark, lkrtc and the official @livekit/rtc-node side by side on one
// lkrtc-server (a child process on a fixed port, so that it can be killed and restarted):
//   1. resume: `simulateScenario(SIGNAL_RECONNECT)`, time from the call to `reconnected`;
//   2. full reconnect: `simulateScenario(FULL_RECONNECT)`, the same;
//   3. server restart: the server is SIGKILLed and started again on its port; time from the
//      kill to `reconnected` (the server's own start-up, ~0.1-0.3 s, is included).
// Each participant is its own process (bench/reconnect/child.mjs). Run inside the test
// namespace (the official client must not touch real interfaces):
//   sh scripts/netns.sh node bench/reconnect/run.mjs [--n 10] [--restarts 5]
// Prints median and worst per SDK and the lkrtc/official ratio of the medians.
import { fork } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startServerOn } from '../../__test__/helpers/server.mjs';
import { uniqueRoomName, withTimeout } from '../../__test__/helpers/rtc.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('n', 10);
const RESTARTS = arg('restarts', 5);
const CHILD = resolve(fileURLToPath(import.meta.url), '../child.mjs');
const SIGNAL_RECONNECT = 0;
const FULL_RECONNECT = 7;

function spawnChild(sdk) {
  const child = fork(CHILD, [sdk], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = [];
  child.on('message', (m) => {
    if (m.type === 'error') console.error(`${sdk}: ${m.message}`);
    const i = waiting.findIndex((w) => w.type === m.type || m.type === 'error');
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
  });
  const next = (type, ms = 120_000) =>
    withTimeout(new Promise((res) => waiting.push({ type, resolve: res })), ms, `${sdk} child: ${type}`);
  return { child, next, send: (m) => child.send(m) };
}

function summary(ms) {
  const ok = ms.filter((x) => x !== null).sort((a, b) => a - b);
  if (!ok.length) return { median: null, worst: null, failed: ms.length };
  return { median: ok[Math.floor(ok.length / 2)], worst: ok[ok.length - 1], failed: ms.length - ok.length };
}

async function measure(sdk) {
  const port = await freePort();
  let server = await startServerOn(port, `bench-reconnect-${sdk}`);
  const peer = spawnChild(sdk);
  const out = {};
  try {
    await peer.next('ready');
    peer.send({ type: 'join', url: server.url, token: await server.token('bench', uniqueRoomName('reconnect')) });
    await peer.next('joined');
    for (const [label, scenario] of [
      ['resume', SIGNAL_RECONNECT],
      ['full reconnect', FULL_RECONNECT],
    ]) {
      peer.send({ type: 'simulate', scenario, n: N });
      out[label] = summary((await peer.next('simulated')).ms);
    }
    const restarts = [];
    for (let i = 0; i < RESTARTS; i++) {
      peer.send({ type: 'watch' });
      await peer.next('watching');
      const killedAt = Date.now();
      await server.kill('SIGKILL');
      server = await startServerOn(port, `bench-reconnect-${sdk}-${i}`);
      const { at } = await peer.next('reconnected');
      restarts.push(at === null ? null : at - killedAt);
      await new Promise((r) => setTimeout(r, 500));
    }
    out['server restart'] = summary(restarts);
  } finally {
    peer.send({ type: 'exit' });
    await new Promise((r) => peer.child.once('exit', r));
    await server.kill('SIGKILL');
  }
  return out;
}

const results = { lkrtc: await measure('lkrtc'), official: await measure('official') };
const fmt = (x) => (x === null ? 'n/a' : `${x.toFixed(0)} ms`);
console.log(`\nreconnection, ${N} simulated each, ${RESTARTS} server restarts (median / worst, failures)`);
for (const label of ['resume', 'full reconnect', 'server restart']) {
  const [l, o] = [results.lkrtc[label], results.official[label]];
  const ratio = l.median !== null && o.median ? (l.median / o.median).toFixed(2) : 'n/a';
  console.log(
    `${label.padEnd(15)} lkrtc ${fmt(l.median)} / ${fmt(l.worst)} (${l.failed} failed)   ` +
      `official ${fmt(o.median)} / ${fmt(o.worst)} (${o.failed} failed)   ratio ${ratio}`,
  );
}
process.exit(0);
