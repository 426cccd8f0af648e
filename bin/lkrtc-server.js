#!/usr/bin/env node
'use strict';
// `npx lkrtc-server [flags]`: runs the prebuilt lkrtc-server of this platform (shipped in
// the lkrtc-<platform> package next to the addon) with the same arguments, forwards the
// signals a terminal or a CI runner sends, and exits with its exit code (or dies of its
// signal). No Rust toolchain involved.
const { spawn } = require('node:child_process');
const { serverBinary } = require('../platform.js');

let file;
try {
  file = serverBinary();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}

const child = spawn(file, process.argv.slice(2), { stdio: 'inherit' });
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
const forward = (signal) => child.kill(signal);
for (const signal of FORWARDED) process.on(signal, forward);

child.on('error', (e) => {
  console.error(`lkrtc-server: cannot run ${file}: ${e.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  for (const s of FORWARDED) process.off(s, forward);
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
