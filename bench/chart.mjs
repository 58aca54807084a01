// Draws the ratios of a bench run against their goals as an SVG bar chart:
//   node bench/chart.mjs [results.json] [out.svg]
// (defaults: .bench-results/latest.json, docs/bench.svg). One bar per ratio
// of medians, on a logarithmic scale (they span 0.5x to hundreds), a circle
// at the ratio of minimums, and the goal marked; green when the goal is met,
// red when missed, grey when there is no goal.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO, RESULTS_DIR } from './paths.mjs';
import { formatNumber, goalText, verdict } from './table.mjs';

const COLORS = { met: '#2e7d32', MISSED: '#c62828', none: '#9e9e9e', goal: '#000000' };

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The chart of one run's results, as SVG text.
 * @param {{ date: string, machine: { cpus: number, cpuModel: string, node: string, kernel: string }, kernelMachine?: { cpus: number, cpuModel: string, kernel: string, vm: boolean } | null, cases: import('./result.mjs').CaseResult[] }} results
 */
export function renderChart(results) {
  const bars = [];
  results.cases.forEach((c, index) => {
    for (const ratio of c.ratios) {
      if (ratio.value === null) continue;
      bars.push({ caseTitle: `${index + 1}. ${c.id}`, ratio });
    }
  });
  const labelWidth = 560;
  const plotWidth = 420;
  const rowHeight = 22;
  const top = 56;
  const height = top + bars.length * rowHeight + 48;
  const width = labelWidth + plotWidth + 240;
  const values = bars.flatMap((b) => [b.ratio.value, b.ratio.ofMinimums ?? b.ratio.value, b.ratio.goal?.value ?? b.ratio.value]);
  const low = 10 ** Math.floor(Math.log10(Math.min(0.5, ...values)));
  // Room right of the largest value, for its goal mark.
  const high = 10 ** Math.ceil(Math.log10(Math.max(2, ...values) * 1.5));
  const x = (v) => labelWidth + (Math.log10(v / low) / Math.log10(high / low)) * plotWidth;

  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  const m = results.machine;
  out.push(`<text x="10" y="20" font-size="15" font-weight="bold">kmmap: measured ratios against their goals (bars: of medians; ○: of minimums; |: goal; log scale)</text>`);
  const k = results.kernelMachine;
  const kernelNote = k ? `; kernel cases: Linux ${k.kernel}${k.vm ? ' in the VM' : ''}, ${k.cpus} × ${k.cpuModel}` : '';
  out.push(`<text x="10" y="38" fill="#555">${escape(`${results.date.slice(0, 10)}: ${m.cpus} × ${m.cpuModel}, Linux ${m.kernel}, Node ${m.node}${kernelNote}`)}</text>`);
  // Decades and 1x.
  for (let v = low; v <= high * 1.0001; v *= 10) {
    out.push(`<line x1="${x(v)}" y1="${top - 6}" x2="${x(v)}" y2="${top + bars.length * rowHeight}" stroke="${v === 1 ? '#555' : '#ddd'}"/>`);
    out.push(`<text x="${x(v)}" y="${top + bars.length * rowHeight + 16}" text-anchor="middle" fill="#555">${Number(v.toPrecision(1))}×</text>`);
  }
  bars.forEach(({ caseTitle, ratio }, i) => {
    const y = top + i * rowHeight;
    const state = verdict(ratio) || 'none';
    const color = COLORS[state] ?? COLORS.none;
    out.push(`<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escape(`${caseTitle}: ${ratio.label}`)}</text>`);
    // Each bar spans from 1x to its value.
    const from = x(Math.min(1, ratio.value));
    const to = x(Math.max(1, ratio.value));
    out.push(`<rect x="${from}" y="${y + 4}" width="${Math.max(1, to - from)}" height="${rowHeight - 8}" fill="${color}"/>`);
    if (typeof ratio.ofMinimums === 'number') {
      out.push(`<circle cx="${x(Math.max(low, ratio.ofMinimums))}" cy="${y + rowHeight / 2}" r="4" fill="none" stroke="#000000" stroke-width="1.5"/>`);
    }
    if (ratio.goal) {
      const gx = x(ratio.goal.value);
      out.push(`<line x1="${gx}" y1="${y + 1}" x2="${gx}" y2="${y + rowHeight - 1}" stroke="${COLORS.goal}" stroke-width="2"/>`);
    }
    const note = `${formatNumber(ratio.value)}${ratio.goal ? ` (goal ${goalText(ratio)}: ${verdict(ratio)})` : ''}`;
    out.push(`<text x="${labelWidth + plotWidth + 8}" y="${y + 15}" fill="${color}">${escape(note)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const input = process.argv[2] ?? path.join(RESULTS_DIR, 'latest.json');
  const output = process.argv[3] ?? path.join(REPO, 'docs', 'bench.svg');
  fs.mkdirSync(path.dirname(output), { recursive: true });
  fs.writeFileSync(output, renderChart(JSON.parse(fs.readFileSync(input, 'utf8'))));
  console.log(`wrote ${path.relative(process.cwd(), output)}`);
}
