// fd count, map count (/proc/self/maps) and RSS over many mappings, each
// closed, or dropped for the garbage collector. Runs in its own child
// process: when GC cannot keep up, the process itself may die, and the
// parent sees that.
import * as fs from 'node:fs';

function measure() {
  const statm = fs.readFileSync('/proc/self/statm', 'latin1').split(' ');
  const maps = fs.readFileSync('/proc/self/maps', 'latin1').split('\n').filter((line) => line !== '');
  return {
    fds: fs.readdirSync('/proc/self/fd').length,
    maps: maps.length,
    // Mappings of a file or memfd (a sixth field): what kmmap's file and
    // shared mappings are. Anonymous areas also come and go with V8's heap
    // (256 KiB pages it keeps after a collection), so they get a margin.
    fileMaps: maps.filter((line) => line.trim().split(/\s+/).length >= 6 && !line.endsWith(']')).length,
    rss: Number(statm[1]) * 4096,
  };
}

function limits() {
  const nofile = /Max open files\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'latin1'));
  return {
    fds: nofile ? Number(nofile[1]) : 1024,
    maps: Number(fs.readFileSync('/proc/sys/vm/max_map_count', 'latin1')),
  };
}

const ticks = async (n) => {
  for (let i = 0; i < n; i++) await new Promise(setImmediate);
};

/**
 * Runs `count` mappings of each kind, closed and dropped. `out(line)`
 * reports progress; returns { calls, phases, violations }.
 */
export async function runLeak(k, dir, count, out) {
  const file = `${dir}/page`;
  fs.writeFileSync(file, Buffer.alloc(4096, 7));
  const kinds = {
    file: () => {
      const m = k.map(file);
      void m.buffer[0];
      return m;
    },
    shared: () => {
      const m = k.map.anonymous(4096);
      m.buffer[0] = 1;
      return m;
    },
    private: () => {
      const m = k.map.anonymous(4096, { shared: false });
      m.buffer[0] = 1;
      return m;
    },
  };
  const limit = limits();
  const phases = [];
  const violations = [];
  let calls = 0;
  // close: every mapping closed. drop: dropped, the event loop turning every
  // 1000 mappings (finalizers get their turn). drop-sync: dropped in one
  // synchronous loop: kmmap may refuse with a coded error, but the counts
  // must stay far from the limits and the process alive.
  for (const how of ['close', 'drop', 'drop-sync']) {
    for (const [kind, make] of Object.entries(kinds)) {
      const name = `${kind}-${how}`;
      out(`C 0 leak:${name}`);
      for (let i = 0; i < 1000; i++) make().close();
      globalThis.gc?.();
      await ticks(2);
      const base = measure();
      const peak = { ...base };
      const started = process.hrtime.bigint();
      let refused;
      for (let i = 0; i < count; i++) {
        let m;
        try {
          m = make();
        } catch (err) {
          refused = { at: i, code: err?.code, message: String(err?.message).slice(0, 200) };
          break;
        }
        calls++;
        if (how === 'close') {
          m.close();
          calls++;
        }
        m = undefined;
        if (i % 1000 === 999) {
          const now = measure();
          for (const key of ['fds', 'maps', 'rss']) peak[key] = Math.max(peak[key], now[key]);
          if (how === 'drop') await ticks(1);
        }
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      globalThis.gc?.();
      await ticks(3);
      globalThis.gc?.();
      await ticks(3);
      const after = measure();
      const phase = { name, count, seconds, base, peak, after, refused };
      phases.push(phase);
      out(`L ${JSON.stringify(phase)}`);
      const problems = [];
      if (refused && (how !== 'drop-sync' || typeof refused.code !== 'string')) problems.push(`mapping ${refused.at} failed: ${refused.code}: ${refused.message}`);
      if (peak.maps - base.maps > limit.maps / 2) problems.push(`map count rose from ${base.maps} to ${peak.maps} (vm.max_map_count ${limit.maps})`);
      if (peak.fds - base.fds > limit.fds / 2) problems.push(`fd count rose from ${base.fds} to ${peak.fds} (RLIMIT_NOFILE ${limit.fds})`);
      if (peak.rss - base.rss > 512 * 2 ** 20) problems.push(`RSS rose by ${((peak.rss - base.rss) / 2 ** 20).toFixed(0)} MiB`);
      if (after.fileMaps > base.fileMaps) problems.push(`${after.fileMaps - base.fileMaps} more file or memfd mappings after the run (and gc())`);
      if (after.maps - base.maps > 256) problems.push(`${after.maps - base.maps} more mappings after the run (and gc())`);
      if (after.fds - base.fds > 16) problems.push(`${after.fds - base.fds} more fds after the run (and gc())`);
      if (after.rss - base.rss > 128 * 2 ** 20) problems.push(`RSS ${((after.rss - base.rss) / 2 ** 20).toFixed(0)} MiB higher after the run (and gc())`);
      if (problems.length > 0) violations.push({ kind: 'leak', where: `leak:${name}`, detail: problems.join('; ') });
    }
  }
  return { calls, phases, violations };
}
