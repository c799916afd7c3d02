// Cost of armed-but-unhit debugging: the CPU benchmark workloads run headless with no debugger,
// then under the debugger engine with 100 code breakpoints (at addresses the workload never runs)
// and every event filter armed (conditions that stay false). Target: at most 5% slower.
//   node --import tsx bench/dap-overhead.mjs        (run from the repository root)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WORKLOADS, patchIterations } from './workloads.mjs';
import { loadGuest } from '../adapter/machine/loaders/image.ts';
import { Machine, MiB } from '../adapter/machine/pc.ts';
import { Engine } from '../adapter/debugger/engine.ts';
import { EVENT_FILTERS } from '../adapter/debugger/events.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-overhead-'));
const guests = path.resolve('bench/guests');

function boot(bin) {
  const guest = loadGuest({ program: bin, ramMiB: 64 });
  const m = new Machine({ ramBytes: 64 * MiB });
  m.load(guest);
  return { m, guest };
}

function plain(bin) {
  const { m } = boot(bin);
  const t0 = process.hrtime.bigint();
  while (!m.exit && m.cpu.run(1_000_000) !== 'shutdown');
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, icount: m.cpu.icount };
}

function armed(bin) {
  const { m, guest } = boot(bin);
  return new Promise((resolve, reject) => {
    let t0 = 0n;
    const e = new Engine(m, guest, {
      stopped: (s) => reject(new Error(`unexpected stop: ${s.description}`)),
      exited: () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, icount: m.cpu.icount }),
      output: () => {},
    });
    const bps = [];
    for (let k = 0; k < 100; k++) bps.push({ kind: 'source', linear: 0x2000000 + k * 0x40, label: `bp${k}`, options: {} });
    e.setCodeBreakpoints('bench', bps);
    e.setEventFilters(EVENT_FILTERS.map((f) => ({ filterId: f.id, condition: '0' })));
    t0 = process.hrtime.bigint();
    e.continue();
  });
}

const rows = [];
for (const [name, w] of Object.entries(WORKLOADS)) {
  const raw = path.join(dir, name + '.raw');
  execFileSync('nasm', ['-f', 'bin', '-I', guests + '/', path.join(guests, w.source), '-o', raw], { cwd: guests });
  const bin = path.join(dir, name + '.bin');
  fs.writeFileSync(bin, patchIterations(fs.readFileSync(raw), w.iterations.ringside[0]));
  let best = { plain: Infinity, armed: Infinity };
  for (let rep = 0; rep < 3; rep++) {
    best.plain = Math.min(best.plain, plain(bin).ms);
    best.armed = Math.min(best.armed, (await armed(bin)).ms);
  }
  rows.push({ workload: name, plainMs: +best.plain.toFixed(1), armedMs: +best.armed.toFixed(1), overheadPct: +((best.armed / best.plain - 1) * 100).toFixed(1) });
}
console.table(rows);
