// Where the bench keeps things. Both directories are git-ignored.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Compiled C counterparts and the benchmark-only mmap-io install. */
export const BENCH_CACHE = process.env.KMMAP_BENCH_CACHE ?? path.join(REPO, '.bench-cache');
/** JSON results of each run. */
export const RESULTS_DIR = path.join(REPO, '.bench-results');
