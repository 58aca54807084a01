// What the debug kernel's reports attribute to kmmap: the pages of
// page_owner_stacks/show_stacks (one paragraph per allocation stack,
// innermost frame first, then "nr_base_pages: N", the pages allocated from
// that stack and not yet freed), by kind, and the leaked objects of
// kmemleak's report. Used by scripts/test-kernels.mjs (after the suite, on
// the host) and by test/kstress/run.sh (in the guest, through this file's
// command line):
//
//   node scripts/lib/attribution.cjs page-owner [--ranges FILE] < show_stacks
//     prints "data slab pgtable kasan vmalloc_array": the pages of each kind
//   node scripts/lib/attribution.cjs kmemleak [--ranges FILE] < kmemleak
//     prints the first line of each leaked object that kmmap allocated
//
// A page_owner stack counts when it has a kmmap frame (kmmapFrame). The kind is "data"
// (what kmmap allocated itself) unless, between the innermost frame and the
// kmmap frame, the kernel was allocating for its own structures, which it may
// keep or reuse: a new slab, a page table, KASAN's shadow, or a vmalloc
// area's own page array (when larger than a page it is itself vmalloc()ed:
// two __vmalloc_node_range frames on the stack).
'use strict';
const fs = require('node:fs');

/**
 * The text ranges of every load of the module, as test/kstress/run.sh
 * records them: one "start end" line each, 16 hex digits, end excluded.
 * @param {string} text
 * @returns {[bigint, bigint][]}
 */
function parseRanges(text) {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [start = '', end = ''] = line.trim().split(/\s+/);
      return [BigInt(`0x${start}`), BigInt(`0x${end}`)];
    });
}

/**
 * Whether a backtrace frame (or a whole backtrace) is in kmmap: a frame
 * tagged [kmmap] or named after a kmmap function (the module was still
 * loaded), or one that prints as a bare address, which is code no longer
 * loaded. With `ranges` (every load's text), the address must lie in one of
 * them; without, any bare kernel address counts, which is right where
 * everything else is built in (the debug kernel): after rmmod it is kmmap's,
 * whichever of many loads of the module it came from.
 * @param {string} text
 * @param {[bigint, bigint][] | null} [ranges]
 */
function kmmapFrame(text, ranges = null) {
  if (/\[kmmap\]|(^|[^A-Za-z0-9_])(kmmap|lkmc)_[A-Za-z0-9_]+\+0x/m.test(text)) return true;
  if (ranges === null) return /^\s*(\[<[^>]*>\]\s*)?0xffff[0-9a-f]{12}\s*$/m.test(text);
  for (const match of text.matchAll(/0x([0-9a-f]{16})(?![0-9a-f])/g)) {
    const address = BigInt(`0x${match[1]}`);
    if (ranges.some(([start, end]) => address >= start && address < end)) return true;
  }
  return false;
}

/**
 * The pages page_owner attributes to kmmap, by kind (see the top).
 * @param {string} text show_stacks
 * @param {[bigint, bigint][] | null} [ranges] as for kmmapFrame
 */
function pageOwnerCounts(text, ranges = null) {
  const counts = { data: 0, slab: 0, pgtable: 0, kasan: 0, vmallocArray: 0 };
  for (const record of text.split(/\n[ \t]*\n/)) {
    const count = /nr_base_pages:\s*([0-9]+)/.exec(record);
    if (!count) continue;
    /** @type {'slab' | 'pgtable' | 'kasan' | null} */
    let structure = null;
    let vmallocAreas = 0;
    for (const frame of record.split('\n')) {
      if (frame.includes('nr_base_pages:')) break;
      if (kmmapFrame(frame, ranges)) {
        const kind = structure ?? (vmallocAreas >= 2 ? 'vmallocArray' : 'data');
        counts[kind] += Number(count[1]);
        break;
      }
      if (/allocate_slab|new_slab|___slab_alloc/.test(frame)) structure = 'slab';
      else if (/pte_alloc|pmd_alloc|pud_alloc|p4d_alloc|pgd_alloc/.test(frame)) structure = 'pgtable';
      else if (/kasan/.test(frame)) structure = 'kasan';
      else if (/__vmalloc_node_range/.test(frame)) vmallocAreas += 1;
    }
  }
  return counts;
}

/**
 * The objects of a kmemleak report, each with whether kmmap allocated it
 * (a kmmap frame in its backtrace, as for kmmapFrame).
 * @param {string} text /sys/kernel/debug/kmemleak
 * @param {[bigint, bigint][] | null} [ranges]
 */
function kmemleakObjects(text, ranges = null) {
  return text
    .split(/^(?=unreferenced object)/m)
    .filter((o) => o.startsWith('unreferenced object'))
    .map((o) => ({ kmmap: kmmapFrame(o, ranges), text: o.trim() }));
}

module.exports = { parseRanges, kmmapFrame, pageOwnerCounts, kmemleakObjects };

if (require.main === module) {
  const [report, option, file] = process.argv.slice(2);
  if (!['page-owner', 'kmemleak'].includes(report ?? '') || (option !== undefined && (option !== '--ranges' || !file))) {
    console.error('usage: attribution.cjs page-owner|kmemleak [--ranges FILE] < REPORT');
    process.exit(2);
  }
  const ranges = file ? parseRanges(fs.readFileSync(file, 'utf8')) : null;
  const text = fs.readFileSync(0, 'utf8');
  if (report === 'page-owner') {
    const c = pageOwnerCounts(text, ranges);
    console.log(`${c.data} ${c.slab} ${c.pgtable} ${c.kasan} ${c.vmallocArray}`);
  } else {
    for (const o of kmemleakObjects(text, ranges)) if (o.kmmap) console.log(o.text.split('\n')[0]);
  }
}
