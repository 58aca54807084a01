// Summary statistics of repeated timings, and the interleaved sampler that
// produces them. The machine this runs on is shared and noisy, so every
// contender of a case runs once per round (A, B, C, A, B, C, ...): a slow
// stretch of the machine then hits every contender alike instead of one.

/**
 * Quantile of sorted numbers by linear interpolation between closest ranks.
 * @param {number[]} sorted ascending
 * @param {number} q 0 to 1
 */
function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

/**
 * @typedef {object} Summary
 * @property {number} n samples
 * @property {number} median
 * @property {number} min
 * @property {number} max
 * @property {number} q1 first quartile
 * @property {number} q3 third quartile
 */

/**
 * Median, quartiles and extremes of samples.
 * @param {number[]} samples
 * @returns {Summary}
 */
export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
  };
}

/**
 * @typedef {object} Contender
 * @property {string} name
 * @property {() => number | Promise<number>} run one timed repetition; returns its duration in ns
 * @property {number} [perRound] repetitions per round (default 1): a
 *   contender a hundred times faster than another can take more samples in
 *   the same time, still interleaved with the others
 */

/**
 * Runs each contender `warmup` times (unrecorded: JIT, page cache, CPU
 * frequency), then `rounds` rounds in which each contender runs in turn,
 * `perRound` times each, starting with a different one each round so that
 * none always goes first. Returns each contender's durations in ns, in run
 * order.
 * @param {Contender[]} contenders
 * @param {{ rounds: number, warmup: number }} plan
 * @returns {Promise<Map<string, number[]>>}
 */
export async function interleave(contenders, { rounds, warmup }) {
  for (let i = 0; i < warmup; i++) {
    for (const contender of contenders) await contender.run();
  }
  const samples = new Map(contenders.map((c) => [c.name, []]));
  const turns = Math.max(...contenders.map((c) => c.perRound ?? 1));
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < turns; turn++) {
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(round + i) % contenders.length];
        if (turn < (contender.perRound ?? 1)) samples.get(contender.name).push(await contender.run());
      }
    }
  }
  return samples;
}

/**
 * Nanoseconds taken by `fn`, measured with the monotonic high-resolution clock.
 * @param {() => void} fn
 */
export function timeNs(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start);
}
