// Issue 8, item 10: connectTimeout bounds the whole connect. A listener that accepts and
// never answers the upgrade, one that upgrades late and never sends the join, and an
// unreachable address all reject within the bound (plus scheduling slack), and leave no
// native handle behind.
import net from 'node:net';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { expectHandles, lk } from './lk.mjs';

const BOUND_MS = 1500;
const SLACK_MS = 500;

const servers = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((res) => s.close(() => res()));
});

/**
 * A TCP listener that accepts and stays silent, or (with `upgradeAfterMs`) completes the
 * WebSocket upgrade that late and then stays silent; resolves with its ws:// URL.
 */
async function silentListener(upgradeAfterMs) {
  const sockets = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    if (upgradeAfterMs === undefined) return;
    let head = '';
    socket.on('data', (d) => {
      head += d.toString('latin1');
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1];
      if (!head.includes('\r\n\r\n') || !key) return;
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      setTimeout(() => {
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
      }, upgradeAfterMs);
    });
  });
  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const s of sockets) s.destroy();
    close(cb);
  };
  servers.push(server);
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  return `ws://127.0.0.1:${server.address().port}`;
}

async function connectRejects(url) {
  const room = new lk.Room();
  const started = Date.now();
  const err = await room.connect(url, 'some-token', { connectTimeout: BOUND_MS }).then(
    () => null,
    (e) => e,
  );
  const elapsed = Date.now() - started;
  await room.disconnect().catch(() => {});
  return { err, elapsed };
}

describe('connectTimeout bounds the whole connect', () => {
  it('a listener that never answers the upgrade', async () => {
    const { err, elapsed } = await connectRejects(await silentListener());
    expect(err, 'connect must fail').toBeInstanceOf(lk.LkError);
    expect(err.code).toBe('ERR_TIMEOUT');
    expect(elapsed).toBeLessThan(BOUND_MS + SLACK_MS);
  });

  it('a slow upgrade and then no join: both steps share the bound', async () => {
    const { err, elapsed } = await connectRejects(await silentListener(BOUND_MS * 0.6));
    expect(err?.code).toBe('ERR_TIMEOUT');
    expect(elapsed).toBeLessThan(BOUND_MS + SLACK_MS);
  });

  it('an unreachable address', async () => {
    const { err, elapsed } = await connectRejects('ws://192.0.2.1:7880');
    expect(['ERR_TIMEOUT', 'ERR_CONNECT']).toContain(err?.code);
    expect(elapsed).toBeLessThan(BOUND_MS + SLACK_MS);
    expectHandles({});
  });
});
