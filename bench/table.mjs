// Renders results as the plain-text table `npm run bench` prints, or as the
// Markdown table docs/performance.md shows:
//   node bench/table.mjs [results.json]    (default .bench-results/latest.json)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR } from './paths.mjs';

/** Three significant digits, grouped thousands: 0.123, 12.3, 4,560, 312,000. */
export function formatNumber(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en');
  if (abs === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(abs)));
  return value.toFixed(Math.min(digits, 6));
}

/** "12.3 ms", or "n/a" with no numbers. */
function cell(row, field) {
  return row.unavailable ? 'n/a' : formatNumber(row[field]);
}

/** "met", "MISSED" or "n/a" for a ratio with a goal, "" without one. */
export function verdict(ratio) {
  if (!ratio.goal) return '';
  if (ratio.met === null || ratio.met === undefined) return 'n/a';
  return ratio.met ? 'met' : 'MISSED';
}

/** "goal >= 0.95". */
export function goalText(ratio) {
  return ratio.goal ? `${ratio.goal.op} ${ratio.goal.value}` : '';
}

function pad(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((text, i) => (i === 0 ? text.padEnd(widths[i]) : text.padStart(widths[i]))).join('  ').trimEnd());
}

/**
 * The table printed at the end of a run.
 * @param {{ cases: import('./result.mjs').CaseResult[], skipped?: { id: string, reason: string }[] }} results
 */
export function formatText(results) {
  const out = [];
  results.cases.forEach((c, index) => {
    out.push(`${index + 1}. ${c.title} [${c.where}]`);
    const rows = [['  contender', 'median', 'q1', 'q3', 'min', 'max', 'n', 'unit']];
    for (const row of c.rows) {
      rows.push([`  ${row.label}`, cell(row, 'median'), cell(row, 'q1'), cell(row, 'q3'), cell(row, 'min'), cell(row, 'max'), row.unavailable ? '0' : String(row.n), row.unit]);
    }
    out.push(...pad(rows));
    // Each reason once, however many rows it empties.
    const reasons = new Map();
    for (const row of c.rows) if (row.unavailable) reasons.set(row.unavailable, [...(reasons.get(row.unavailable) ?? []), row.label]);
    for (const [reason, labels] of reasons) out.push(`  n/a: ${labels.join('; ')}: ${reason.replace(/\n/g, '\n       ')}`);
    const ratios = c.ratios.map((r) => [
      `  ratio: ${r.label}`,
      formatNumber(r.value),
      r.ofMinimums === undefined ? '' : `(minimums: ${formatNumber(r.ofMinimums)})`,
      r.goal ? `goal ${goalText(r)}` : '',
      verdict(r),
    ]);
    if (ratios.length > 0) out.push(...pad(ratios));
    out.push('');
  });
  for (const skipped of results.skipped ?? []) out.push(`not run: ${skipped.id}: ${skipped.reason}`);
  return out.join('\n');
}

/**
 * The same results as Markdown tables, one per case, for docs/performance.md.
 * @param {{ cases: import('./result.mjs').CaseResult[], skipped?: { id: string, reason: string }[] }} results
 */
export function formatMarkdown(results) {
  const out = [];
  results.cases.forEach((c, index) => {
    out.push(`**${index + 1}. ${c.title}** (${c.where})`, '');
    out.push('| contender | median | IQR | min – max | n |', '|---|---:|---:|---:|---:|');
    for (const row of c.rows) {
      if (row.unavailable) {
        out.push(`| ${row.label} | n/a | | | 0 |`);
        continue;
      }
      const iqr = `${formatNumber(row.q1)} – ${formatNumber(row.q3)}`;
      const range = `${formatNumber(row.min)} – ${formatNumber(row.max)}`;
      out.push(`| ${row.label} | **${formatNumber(row.median)}** ${row.unit} | ${iqr} | ${range} | ${row.n} |`);
    }
    out.push('');
    if (c.ratios.length > 0) {
      out.push('| ratio | of medians | of minimums | goal (on medians) | |', '|---|---:|---:|---:|---|');
      for (const r of c.ratios) {
        const minimums = r.ofMinimums === undefined ? '' : formatNumber(r.ofMinimums);
        out.push(`| ${r.label} | **${formatNumber(r.value)}** | ${minimums} | ${goalText(r)} | ${verdict(r)} |`);
      }
      out.push('');
    }
  });
  for (const skipped of results.skipped ?? []) out.push(`Not run: ${skipped.id}: ${skipped.reason}`, '');
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? path.join(RESULTS_DIR, 'latest.json');
  process.stdout.write(`${formatMarkdown(JSON.parse(fs.readFileSync(file, 'utf8')))}\n`);
}
