// One measurement of bench/client.mjs in a fresh process, for one SDK.
//
//   node bench/client-worker.mjs <task> <lkrtc|official> '<json config>'
//
// Tasks: load | connect | events | churn. The last stdout line starting with "RESULT "
// carries the figures as JSON. The SDK under test is the only SDK loaded in this process;
// peers (bench/client-peer.mjs) run in child processes of their own.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../__test__/helpers/paths.mjs';

const [task, sdkName, cfgJson] = process.argv.slice(2);
const cfg = JSON.parse(cfgJson ?? '{}');
const require = createRequire(import.meta.url);
const PEER = fileURLToPath(new URL('./client-peer.mjs', import.meta.url));
const OPTS = { autoSubscribe: true, dynacast: false };

const result = (obj) => process.stdout.write(`RESULT ${JSON.stringify(obj)}\n`);
const delay = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
async function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, t]);
  } finally {
    clearTimeout(timer);
  }
}
const loadSdk = () => (sdkName === 'lkrtc' ? require(resolve(REPO_ROOT, 'index.js')) : require('@livekit/rtc-node'));

let tokenSeq = 0;
async function token(identity, room) {
  const { AccessToken } = await import('livekit-server-sdk');
  const at = new AccessToken(cfg.apiKey, cfg.apiSecret, { identity, name: identity, ttl: '1h' });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
  tokenSeq++;
  return await at.toJwt();
}

/** A forked peer process with request/response by id. */
async function startPeer(role) {
  const child = fork(PEER, [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = new Map();
  let any = null;
  const exited = new Promise((r) => child.once('exit', r));
  child.on('message', (m) => {
    if (m.type === 'error') {
      const err = new Error(`peer (${role}): ${m.message}`);
      const w = m.id != null ? waiters.get(m.id) : any;
      if (w) return w.rej(err);
      console.error(err.message);
      return;
    }
    const key = m.id != null ? `${m.id}:${m.type}` : m.type;
    const w = waiters.get(key) ?? (any && any.type === m.type ? any : null);
    if (w) {
      waiters.delete(key);
      if (w === any) any = null;
      w.res(m);
    }
  });
  const wait = (type, id) =>
    new Promise((res, rej) => {
      const w = { type, res, rej };
      if (id != null) {
        waiters.set(`${id}:${type}`, w);
        waiters.set(id, w);
      } else {
        waiters.set(type, w);
        any = w;
      }
    });
  await withTimeout(wait('started'), 20_000, `peer ${role} to start`);
  return {
    request(msg, replyType, ms = 30_000) {
      const p = wait(replyType, msg.id);
      child.send(msg);
      return withTimeout(p, ms, `peer ${role}: ${replyType}${msg.id != null ? ` (${msg.id})` : ''}`).finally(() => {
        if (msg.id != null) waiters.delete(msg.id);
      });
    },
    async exit() {
      child.send({ type: 'exit' });
      await withTimeout(exited, 15_000, `peer ${role} to exit`).catch(() => child.kill('SIGKILL'));
    },
  };
}

async function finish(sdk) {
  if (sdkName === 'official') await sdk.dispose();
}

// ---------------------------------------------------------------------------------------

async function load() {
  // Baseline: node plus this script, nothing of either SDK loaded.
  await delay(200);
  const rssBase = process.memoryUsage().rss;
  const t0 = performance.now();
  const sdk = loadSdk();
  const loadMs = performance.now() - t0;
  const rssLoaded = process.memoryUsage().rss;
  const room = new sdk.Room();
  const t1 = performance.now();
  await withTimeout(room.connect(cfg.url, cfg.token, OPTS), 20_000, 'connect');
  const connectMs = performance.now() - t1;
  await delay(1_000); // let the connection settle (ICE, DTLS, data channels, first pings)
  const rssConnected = process.memoryUsage().rss;
  await room.disconnect();
  await finish(sdk);
  result({ rssBase, rssLoaded, rssConnected, loadMs, firstConnectMs: connectMs });
}

async function connect() {
  const sdk = loadSdk();
  const times = [];
  const prefix = `connect-${sdkName}-${process.pid}`;
  // One warm-up join (library initialisation, first TLS-less socket, ...), not counted.
  for (let i = -1; i < cfg.joins; i++) {
    const jwt = await token(`joiner-${i}`, `${prefix}-${i}`);
    const room = new sdk.Room();
    const t0 = performance.now();
    await withTimeout(room.connect(cfg.url, jwt, OPTS), 20_000, `connect ${i}`);
    const ms = performance.now() - t0;
    if (i >= 0) times.push(ms);
    await room.disconnect();
  }
  await finish(sdk);
  result({
    median: median(times),
    mean: times.reduce((a, b) => a + b, 0) / times.length,
    p90: quantile(times, 0.9),
    min: Math.min(...times),
    max: Math.max(...times),
    n: times.length,
    times,
  });
}

async function events() {
  const sdk = loadSdk();
  const n = cfg.rooms;
  const prefix = `events-${sdkName}-${process.pid}`;
  const rooms = [];
  let received = 0;
  let bytes = 0;
  let onAll = null;
  const expected = n * cfg.packets;
  for (let i = 0; i < n; i++) {
    const room = new sdk.Room();
    room.on('dataReceived', (payload) => {
      received++;
      bytes += payload.length;
      if (received === expected && onAll) onAll();
    });
    rooms.push(room);
  }
  // Join in small batches (the official client's join is heavy on 2 cores).
  for (let i = 0; i < n; i += 5) {
    await Promise.all(
      rooms.slice(i, i + 5).map(async (room, j) => {
        const jwt = await token('rx', `${prefix}-${i + j}`);
        await withTimeout(room.connect(cfg.url, jwt, OPTS), 30_000, `receiver connect ${i + j}`);
      }),
    );
  }
  const peer = await startPeer('sender');
  const senderRooms = [];
  for (let i = 0; i < n; i++) senderRooms.push({ url: cfg.url, token: await token('tx', `${prefix}-${i}`) });
  await peer.request({ type: 'join', rooms: senderRooms }, 'ready', 60_000);
  // Wait until every room sees the sender, then let things settle.
  const deadline = Date.now() + 20_000;
  while (!rooms.every((r) => r.remoteParticipants.get('tx'))) {
    if (Date.now() > deadline) throw new Error('not every receiver room sees the sender');
    await delay(50);
  }
  await delay(2_000);

  // Idle cost of 50 connected rooms (keepalives, timers), over the same kind of window.
  const idleSec = 3;
  const ic0 = process.cpuUsage();
  await delay(idleSec * 1000);
  const ic1 = process.cpuUsage(ic0);
  const idleCpuPerSec = (ic1.user + ic1.system) / idleSec; // µs of CPU per second

  const all = new Promise((r) => {
    onAll = r;
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const sent = peer.request({ type: 'send', packets: cfg.packets, bytes: cfg.bytes }, 'sent', 300_000);
  await withTimeout(all, 300_000, `${expected} data events (got ${received})`);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const sentMs = (await sent).ms;
  const cpuUs = c.user + c.system;
  const idleUs = (idleCpuPerSec * wallMs) / 1000;
  await peer.exit();
  await Promise.all(rooms.map((r) => r.disconnect()));
  await finish(sdk);
  result({
    rooms: n,
    events: received,
    bytes,
    wallMs,
    sentMs,
    cpuUs,
    cpuPerEventUs: cpuUs / received,
    cpuPerEventNetUs: Math.max(0, cpuUs - idleUs) / received,
    idleCpuPct: idleCpuPerSec / 1e4,
    eventsPerSec: received / (wallMs / 1000),
  });
}

async function churn() {
  const sdk = loadSdk();
  const peer = await startPeer('churn');
  const prefix = `churn-${sdkName}-${process.pid}`;
  const cycles = cfg.cycles;
  const lanes = cfg.lanes;
  const warmup = Math.max(1, Math.min(30, Math.floor(cycles / 10)));
  const once = (emitter, event, filter, what, ms = 20_000) => {
    let handler;
    const p = new Promise((res) => {
      handler = (...args) => {
        if (filter(...args)) res(args);
      };
      emitter.on(event, handler);
    });
    return withTimeout(p, ms, what).finally(() => emitter.off(event, handler));
  };

  async function cycle(i) {
    const roomName = `${prefix}-${i}`;
    const watcher = new sdk.Room();
    try {
      await withTimeout(
        watcher.connect(cfg.url, await token('watcher', roomName), OPTS),
        20_000,
        `watcher connect ${i}`,
      );
      const subscribed = once(watcher, 'trackSubscribed', () => true, `cycle ${i}: trackSubscribed`);
      const data = once(
        watcher,
        'dataReceived',
        (_p, _who, _k, topic) => topic === 'churn',
        `cycle ${i}: dataReceived`,
      );
      await peer.request({ type: 'join', id: i, url: cfg.url, token: await token('peer', roomName) }, 'published');
      await Promise.all([subscribed, data]);
      const unpublished = once(watcher, 'trackUnpublished', () => true, `cycle ${i}: trackUnpublished`);
      const left = once(
        watcher,
        'participantDisconnected',
        (p) => p.identity === 'peer',
        `cycle ${i}: participantDisconnected`,
      );
      await peer.request({ type: 'leave', id: i }, 'left');
      await Promise.all([unpublished, left]);
    } finally {
      await watcher.disconnect();
    }
  }

  const rssStart = process.memoryUsage().rss;
  let rssWarm = 0;
  const t0 = performance.now();
  for (let i = 0; i < cycles; i += lanes) {
    const batch = [];
    for (let l = 0; l < lanes && i + l < cycles; l++) batch.push(cycle(i + l));
    await Promise.all(batch);
    if (!rssWarm && i + batch.length >= warmup) rssWarm = process.memoryUsage().rss;
  }
  const seconds = (performance.now() - t0) / 1000;
  await delay(1_000);
  globalThis.gc?.();
  await delay(500);
  const rssEnd = process.memoryUsage().rss;
  const handles = sdkName === 'lkrtc' ? sdk.liveHandles() : null;
  await peer.exit();
  await finish(sdk);
  result({
    cycles,
    lanes,
    warmup,
    seconds,
    rssStart,
    rssWarm,
    rssEnd,
    growth: rssEnd - rssWarm,
    growthFromStart: rssEnd - rssStart,
    handles,
  });
}

const tasks = { load, connect, events, churn };
if (!tasks[task] || !['lkrtc', 'official'].includes(sdkName)) {
  console.error('usage: node bench/client-worker.mjs <load|connect|events|churn> <lkrtc|official> <json>');
  process.exit(2);
}
try {
  await tasks[task]();
  process.exit(0);
} catch (e) {
  console.error(`client-worker ${task} ${sdkName}: ${e?.stack ?? e}`);
  process.exit(1);
}
