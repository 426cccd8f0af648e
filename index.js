'use strict';
// The package's CommonJS build (dist/cjs, compiled from ts/src by `npm run build:ts`),
// for code that requires the repository root directly (tests, benches, examples).
// Applications use the package name: its `exports` map serves dist/esm to `import` and
// dist/cjs to `require`.
module.exports = require('./dist/cjs/index.js');
