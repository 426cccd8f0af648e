// Helpers for the production-connectivity tests (issue 16): a private CA and a
// certificate made with openssl, and a real TURN server (Debian's coturn) on loopback.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from '../helpers/rtc.mjs';
import { freePort } from '../helpers/server.mjs';

/**
 * A private CA and a leaf certificate for `names` (DNS names) signed by it, in a temp
 * folder: { dir, caPath, certPem, keyPem, cleanup }.
 */
export function makeCertificates({ names = ['localhost'] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lkrtc-tls-'));
  const at = (f) => join(dir, f);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=lkrtc test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  openssl('req', ...ec, '-keyout', at('key.pem'), '-out', at('leaf.csr'), '-subj', `/CN=${names[0]}`);
  writeFileSync(
    at('leaf.ext'),
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    at('leaf.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-out',
    at('cert.pem'),
    '-days',
    '2',
    '-extfile',
    at('leaf.ext'),
  );
  const read = (f) => execFileSync('cat', [at(f)]).toString();
  return {
    dir,
    caPath: at('ca.pem'),
    certPath: at('cert.pem'),
    keyPath: at('key.pem'),
    certPem: read('cert.pem'),
    keyPem: read('key.pem'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Starts coturn on 127.0.0.1 with long-term credentials `users` ({ name: password }).
 * Returns { url, tcpUrl, tlsUrl, port, log(), allocations(user), stop() }; `tls`
 * ({ certPath, keyPath }) adds a TLS listener (`tlsUrl`, named localhost).
 * `allocations(user)` counts successful allocations made with that username, read from
 * coturn's own log.
 */
export async function startTurn(users, { tls } = {}) {
  const port = await freePort();
  const tlsPort = tls ? await freePort() : undefined;
  const tlsArgs = tls
    ? [`--tls-listening-port=${tlsPort}`, `--cert=${tls.certPath}`, `--pkey=${tls.keyPath}`]
    : ['--no-tls'];
  const args = [
    '-n',
    '--listening-ip=127.0.0.1',
    `--listening-port=${port}`,
    '--relay-ip=127.0.0.1',
    '--min-port=40000',
    '--max-port=45000',
    '--lt-cred-mech',
    '--realm=lkrtc.test',
    '--fingerprint',
    '--allow-loopback-peers',
    '--no-dtls',
    '--no-cli',
    '--log-file=stdout',
    '--simple-log',
    '--verbose',
    '--no-software-attribute',
    '--stale-nonce=600',
    ...tlsArgs,
    ...Object.entries(users).map(([u, p]) => `--user=${u}:${p}`),
  ];
  const child = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((res) => child.once('exit', res));
  await waitUntil(
    () => /Total (General|UDP|auth)|listener opened on|IPv4\. UDP listener/i.test(out) || child.exitCode !== null,
    {
      timeoutMs: 10_000,
      what: 'coturn to start',
    },
  );
  if (child.exitCode !== null) throw new Error(`coturn exited at start:\n${out}`);
  // Sessions are logged by id; the username appears on the session's first lines.
  const sessionsOf = (user) => {
    const ids = new Set();
    for (const m of out.matchAll(/session (\d+): realm <[^>]*> user <([^>]*)>/g)) if (m[2] === user) ids.add(m[1]);
    for (const m of out.matchAll(/session (\d+): .*username=<([^>]*)>/g)) if (m[2] === user) ids.add(m[1]);
    return ids;
  };
  return {
    port,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    tcpUrl: `turn:127.0.0.1:${port}?transport=tcp`,
    tlsUrl: tls ? `turns:localhost:${tlsPort}?transport=tcp` : undefined,
    log: () => out,
    allocations(user) {
      const ids = sessionsOf(user);
      let n = 0;
      for (const m of out.matchAll(/session (\d+): .*ALLOCATE processed, success/g)) if (ids.has(m[1])) n++;
      return n;
    },
    /** TCP and TLS connections coturn accepted so far. */
    streamConnections: () => [...out.matchAll(/tcp or tls connected to/g)].length,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
