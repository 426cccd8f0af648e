'use strict';
// Which platform package serves this machine. lkrtc ships its native parts (the addon
// `lkrtc.<platform>.node` and the `lkrtc-server` program) in one package per platform, in
// the napi-rs layout: `lkrtc-<platform>` (e.g. lkrtc-linux-x64-gnu, lkrtc-darwin-arm64),
// listed in lkrtc's optionalDependencies so that npm installs only the matching one.
// Used by loader.js (the addon) and bin/lkrtc-server.js (the server program).
const { dirname, join } = require('node:path');
const { existsSync } = require('node:fs');
const { version } = require('./package.json');

/** True on a Linux whose C library is musl (Alpine), read from Node's own report. */
function isMusl() {
  if (process.platform !== 'linux') return false;
  const header = process.report?.getReport?.().header;
  return !header?.glibcVersionRuntime;
}

/** The napi-rs platform name of this machine, e.g. `linux-x64-gnu`, `darwin-arm64`. */
function platformName() {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const libc = isMusl() ? 'musl' : 'gnu';
    return arch === 'arm' ? `${platform}-${arch}-${libc}eabihf` : `${platform}-${arch}-${libc}`;
  }
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** The platform package this machine needs, e.g. `lkrtc-linux-x64-gnu`. */
function platformPackage() {
  return `lkrtc-${platformName()}`;
}

/** An Error with a stable `code`, saying which platform package to install. */
function missingPackageError(what, cause) {
  const pkg = platformPackage();
  const err = new Error(
    `lkrtc: ${what} was not found: the platform package ${pkg}@${version} is not installed. ` +
      `lkrtc's native parts come in one package per platform, installed through optionalDependencies; ` +
      `npm skips them with --omit=optional / --no-optional, or when package-lock.json was made on another ` +
      `platform. Install it with \`npm install ${pkg}@${version}\`. If no such package exists, ` +
      `lkrtc has no prebuilt binary for ${process.platform}-${process.arch} yet: build from source ` +
      '(a Rust toolchain, then `npm run build` in a clone of the repository).',
    cause ? { cause } : undefined,
  );
  err.code = 'ERR_LKRTC_BINDING_MISSING';
  return err;
}

/** The path of the prebuilt lkrtc-server program for this machine; throws if absent. */
function serverBinary() {
  const pkg = platformPackage();
  let dir;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch (e) {
    throw missingPackageError('the lkrtc-server program', e);
  }
  const file = join(dir, process.platform === 'win32' ? 'lkrtc-server.exe' : 'lkrtc-server');
  if (!existsSync(file)) throw missingPackageError(`${file}`);
  return file;
}

module.exports = { isMusl, missingPackageError, platformName, platformPackage, serverBinary };
