'use strict';
// Loads the native addon through the napi-rs generated loader (native.js: the local
// `lkrtc.<platform>.node` of a source build, else the `lkrtc-<platform>` package) and
// checks it before anything uses it:
//   - absent: an Error with code ERR_LKRTC_BINDING_MISSING naming the platform package;
//   - a binary of another version than this package: ERR_LKRTC_BINDING_MISMATCH (a
//     platform package left over from another install, or a stale source build).
const { missingPackageError, platformPackage } = require('./platform.js');
const { version: expected } = require('./package.json');

function check() {
  let binding;
  try {
    binding = require('./native.js');
  } catch (e) {
    throw missingPackageError('the native addon', e);
  }
  const actual = binding.version();
  if (actual !== expected) {
    const err = new Error(
      `lkrtc: the native addon is version ${actual} but the lkrtc package is ${expected}; ` +
        `install the matching platform package (\`npm install ${platformPackage()}@${expected}\`), ` +
        'or rebuild the addon (`npm run build`) in a source checkout.',
    );
    err.code = 'ERR_LKRTC_BINDING_MISMATCH';
    throw err;
  }
}

check();
module.exports = require('./native.js');
