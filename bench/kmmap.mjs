// The library under test, as users get it: the compiled dist/ (npm ci and
// npm run build produce it).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** kmmap's public API, from dist/index.js. @type {typeof import('../dist/index.js')} */
export const kmmap = require('../dist/index.js');
