// Runs once before the `namespace` project's suites (those that drive the official client).
// 1. Refuse to run outside the private network namespace (NETWORK.md): the
//    official client would otherwise gather candidates on the machine's
//    external address. This is a loud failure, never a skip.
// 2. Refuse to run without the server binary, with a message saying how to build it.
import { networkInterfaces } from 'node:os';
import { requireServerBinary } from './global-setup-local.mjs';

export default function setup() {
  const names = Object.keys(networkInterfaces()).sort();
  const allowed = new Set(['lo', 'v0', 'v1']);
  const foreign = names.filter((n) => !allowed.has(n));
  if (process.env.LKRTC_NETNS !== '1' || foreign.length > 0) {
    throw new Error(
      '\n\n####################################################################\n' +
        '## REFUSING TO RUN: not inside the test network namespace.\n' +
        `## Interfaces visible: ${names.join(', ')}\n` +
        '## Run them with `npm test` or `scripts/netns.sh npx vitest run --project namespace`\n' +
        '## (needs root on Linux). See NETWORK.md.\n' +
        '####################################################################\n',
    );
  }
  requireServerBinary();
}
