// The shape of the results every case returns, which the table, the JSON
// file, the chart and the smoke tests all read.
import { summarize } from './stats.mjs';

/**
 * @typedef {import('./stats.mjs').Summary} Summary
 *
 * @typedef {object} Row one contender in one variant of a case
 * @property {string} label e.g. "kmmap Buffer.copy"
 * @property {string} unit of median/min/max/q1/q3: "ms" or "cycles/s"
 * @property {boolean} higherIsBetter
 * @property {number[]} samplesNs each repetition's duration, in run order
 * @property {string} [unavailable] why this contender has no numbers
 *
 * @typedef {Row & Partial<Summary>} Measurement
 *
 * @typedef {object} Goal
 * @property {'>=' | '<=' | '>'} op
 * @property {number} value
 *
 * @typedef {object} Ratio
 * @property {string} label what is divided by what, in words
 * @property {number | null} value of the medians; null when a side is unavailable
 * @property {number | null} [ofMinimums] of the shortest repetitions
 * @property {Goal} [goal]
 * @property {boolean | null} [met] null when there is no value
 *
 * @typedef {object} CaseResult
 * @property {string} id stable key: copy, map-cycle, pagemap, zero-copy, ...
 * @property {string} title
 * @property {'host' | 'kernel'} where
 * @property {string} setup how it was measured, for the reader
 * @property {Measurement[]} rows
 * @property {Ratio[]} ratios
 */

/**
 * A row of durations shown as milliseconds per repetition.
 * @param {string} label
 * @param {number[]} samplesNs
 * @returns {Measurement}
 */
export function timeRow(label, samplesNs) {
  return { label, unit: 'ms', higherIsBetter: false, samplesNs, ...summarize(samplesNs.map((ns) => ns / 1e6)) };
}

/**
 * A row of durations of `count` operations each, shown as operations per second.
 * @param {string} label
 * @param {number[]} samplesNs
 * @param {number} count operations per repetition
 * @param {string} unit e.g. "cycles/s"
 * @returns {Measurement}
 */
export function rateRow(label, samplesNs, count, unit) {
  return { label, unit, higherIsBetter: true, samplesNs, count, ...summarize(samplesNs.map((ns) => (count * 1e9) / ns)) };
}

/**
 * A row for a contender that could not run.
 * @param {string} label
 * @param {string} unit
 * @param {string} reason
 * @returns {Measurement}
 */
export function unavailableRow(label, unit, reason) {
  return { label, unit, higherIsBetter: unit !== 'ms', samplesNs: [], unavailable: reason };
}

/** Median duration of a row's repetitions, in ns (null if it has none). */
export function medianNs(row) {
  return row.samplesNs.length > 0 ? summarize(row.samplesNs).median : null;
}

/** Shortest duration of a row's repetitions, in ns (null if it has none). */
export function minimumNs(row) {
  return row.samplesNs.length > 0 ? Math.min(...row.samplesNs) : null;
}

/**
 * A ratio of two rows' median durations, `numerator / denominator`, checked
 * against a goal. Also the ratio of their shortest durations: on a shared
 * machine, interference only ever adds time, and when it comes and goes
 * (times that jump between two levels) a median can land on either level
 * while the minimums still compare the work itself.
 * @param {string} label
 * @param {Measurement} numerator
 * @param {Measurement} denominator
 * @param {Goal} [goal] judged on the ratio of medians
 * @returns {Ratio}
 */
export function timeRatio(label, numerator, denominator, goal) {
  const divide = (top, bottom) => (top === null || bottom === null ? null : top / bottom);
  const value = divide(medianNs(numerator), medianNs(denominator));
  const ofMinimums = divide(minimumNs(numerator), minimumNs(denominator));
  return { label, value, ofMinimums, ...(goal ? { goal, met: value === null ? null : meets(value, goal) } : {}) };
}

/**
 * Whether a ratio meets its goal.
 * @param {number} value
 * @param {Goal} goal
 */
export function meets(value, goal) {
  switch (goal.op) {
    case '>=':
      return value >= goal.value;
    case '<=':
      return value <= goal.value;
    case '>':
      return value > goal.value;
    default:
      throw new Error(`unknown goal operator ${goal.op}`);
  }
}
