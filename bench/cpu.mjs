#!/usr/bin/env node
// CPU speed benchmark: the four workload images on Ringside and its peers, in
// one run. MIPS = (instructions(N2) - instructions(N1)) / (time(N2) - time(N1)),
// so boot, BIOS and process start cancel out. See bench/README.md.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeEngines, splitArgs, MODE_ARGS, REPO } from './engines.mjs';
import { WORKLOADS, patchIterations, resultLine } from './workloads.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const USAGE = `usage: node bench/cpu.mjs [options]
  --engines LIST        ringside,qemu,bochs,v86 (default); also v86-nojit
  --workloads LIST      alu,memory,paging,call (default)
  --repeat K            runs per point, the median is used (default 1)
  --scale X             multiply every iteration count by X (default 1)
  --iters E.W=N1,N2     override the counts of engine E on workload W (repeatable)
  --ringside-args "A"   extra arguments for every Ringside run
  --overhead-args "A"   also run Ringside with these arguments added (row
                        ringside+dbg) and report its slowdown against plain Ringside
  --modes LIST          also run Ringside under these hypervisor modes (rows
                        ringside@MODE: vtx+ept, vtx+shadow, trap-and-emulate,
                        binary-translation; "all" is those four) and report each
                        one's slowdown against plain emulation
  --timeout S           kill a run after S seconds (default 180)
  --out FILE            JSON results (default bench/results/latest.json)
  --check-counts        check each workload's instructions per iteration with
                        v86's interpreter (retired-instruction counter), then exit
  --keep                keep the temporary directory with the images`;

// The argument-list options take values that start with '-', which parseArgs
// refuses in the spaced form: glue them as --option=value first.
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length - 1; i++) {
  if (argv[i] === '--ringside-args' || argv[i] === '--overhead-args') argv.splice(i, 2, `${argv[i]}=${argv[i + 1]}`);
}

const { values: opt } = parseArgs({
  args: argv,
  options: {
    engines: { type: 'string', default: 'ringside,qemu,bochs,v86' },
    workloads: { type: 'string', default: 'alu,memory,paging,call' },
    repeat: { type: 'string', default: '1' },
    scale: { type: 'string', default: '1' },
    iters: { type: 'string', multiple: true, default: [] },
    'ringside-args': { type: 'string', default: '' },
    'overhead-args': { type: 'string', default: '' },
    modes: { type: 'string', default: '' },
    timeout: { type: 'string', default: '180' },
    out: { type: 'string', default: path.join(HERE, 'results', 'latest.json') },
    'check-counts': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}

const repeat = Math.max(1, Number(opt.repeat) | 0);
const scale = Number(opt.scale);
const timeoutS = Number(opt.timeout);
const overheadArgs = splitArgs(opt['overhead-args']);
// "all": every mode that runs an unmodified guest; paravirt needs a paravirtual kernel, which the workloads are not
const modes = opt.modes === 'all' ? Object.keys(MODE_ARGS).filter((m) => m !== 'paravirt') : opt.modes.split(',').filter(Boolean);
for (const m of modes) if (!MODE_ARGS[m]) fail(`unknown mode ${m}`);
const allEngines = makeEngines({ ringsideArgs: splitArgs(opt['ringside-args']), overheadArgs, modes });

const workloadNames = opt.workloads.split(',').filter(Boolean);
for (const w of workloadNames) if (!WORKLOADS[w]) fail(`unknown workload ${w}`);
let engineNames = opt.engines.split(',').filter(Boolean);
if (overheadArgs.length && !engineNames.includes('ringside+dbg')) {
  const at = engineNames.indexOf('ringside');
  engineNames.splice(at < 0 ? 0 : at + 1, 0, 'ringside+dbg');
  if (at < 0) engineNames.unshift('ringside');
}
if (modes.length) {
  if (!engineNames.includes('ringside')) engineNames.unshift('ringside');
  const at = engineNames.indexOf('ringside') + 1;
  engineNames.splice(at, 0, ...modes.map((m) => `ringside@${m}`).filter((e) => !engineNames.includes(e)));
}
for (const e of engineNames) if (!allEngines[e]) fail(`unknown engine ${e}`);

function fail(msg) {
  console.error(`${msg}\n${USAGE}`);
  process.exit(2);
}

/** [N1, N2] for an engine on a workload, after --scale and --iters. */
function iterationsFor(engine, workload) {
  const override = opt.iters.find((s) => s.startsWith(`${engine}.${workload}=`));
  if (override) {
    const [a, b] = override.split('=')[1].split(',').map(Number);
    if (!(a >= 1 && b > a)) fail(`bad --iters ${override}`);
    return [a, b];
  }
  const base = engine.startsWith('ringside') ? 'ringside' : engine;
  const [a, b] = WORKLOADS[workload].iterations[base];
  return [Math.max(1, Math.round(a * scale)), Math.max(2, Math.round(b * scale))];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------- build
const work = mkdtempSync(path.join(os.tmpdir(), 'ringside-bench-'));
const baseImages = {};
for (const w of workloadNames) {
  const img = path.join(work, `${w}.img`);
  const r = spawnSync('nasm', ['-f', 'bin', '-I', `${path.join(HERE, 'guests')}/`, '-o', img, path.join(HERE, 'guests', WORKLOADS[w].source)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) fail(`nasm failed on ${w}: ${r.stderr || r.error}`);
  baseImages[w] = readFileSync(img);
}
/** The image of workload w with n iterations, written once. */
const imageCache = new Map();
function imageFor(w, n) {
  const key = `${w}-${n}`;
  if (!imageCache.has(key)) {
    const file = path.join(work, `${key}.img`);
    writeFileSync(file, patchIterations(baseImages[w], n));
    imageCache.set(key, file);
  }
  return imageCache.get(key);
}

if (opt['check-counts']) await checkCounts();
else await benchmark();
if (!opt.keep) rmSync(work, { recursive: true, force: true });
else console.log(`images kept in ${work}`);

// ---------------------------------------------------------------- check
async function checkCounts() {
  const v86 = allEngines['v86-nojit'];
  let bad = 0;
  for (const w of workloadNames) {
    const delta = [];
    for (const n of [1, 2]) {
      const r = await v86.run(imageFor(w, n), { timeoutS, workDir: work });
      delta.push(r.marks?.[2]?.instructions - r.marks?.[1]?.instructions);
    }
    const slope = delta[1] - delta[0];
    const ok = slope === WORKLOADS[w].perIteration;
    if (!ok) bad++;
    console.log(`${w}: ${slope} instructions per iteration measured, ${WORKLOADS[w].perIteration} expected ${ok ? 'ok' : 'MISMATCH'}`);
  }
  process.exitCode = bad ? 1 : 0;
}

// ---------------------------------------------------------------- run
async function benchmark() {
  const notes = [];
  const active = engineNames.filter((e) => {
    if (allEngines[e].available()) return true;
    notes.push(`${e} skipped: ${allEngines[e].missing ?? 'not installed'}`);
    return false;
  });
  // The result lines each workload must print, from its model in workloads.mjs.
  process.stderr.write('computing the expected result lines...\n');
  const expected = {};
  for (const w of workloadNames) expected[w] = WORKLOADS[w].expected([...new Set(active.flatMap((e) => iterationsFor(e, w)))]);

  const runs = [];
  let maxLoad = os.loadavg()[0];
  const total = repeat * workloadNames.length * active.length * 2;
  let done = 0;
  for (let rep = 0; rep < repeat; rep++) {
    for (const w of workloadNames) {
      for (const e of active) {
        for (const n of iterationsFor(e, w)) {
          const engine = allEngines[e];
          maxLoad = Math.max(maxLoad, os.loadavg()[0]);
          const r = await engine.run(imageFor(w, n), { timeoutS, workDir: work });
          const line = resultLine(r.output);
          // v86 also times itself between the guest's start and end markers
          const markSeconds = r.marks?.[1] && r.marks?.[2] ? (r.marks[2].ms - r.marks[1].ms) / 1000 : undefined;
          runs.push({
            engine: e, workload: w, n, rep,
            seconds: r.seconds, cpuSeconds: r.cpuSeconds, markSeconds,
            result: line ?? null, note: r.note ?? null,
          });
          done++;
          process.stderr.write(
            `[${done}/${total}] ${e} ${w} N=${n}: ${r.seconds.toFixed(3)} s (cpu ${r.cpuSeconds?.toFixed(3) ?? '?'}) ${line ?? '(no result line)'}${r.note ? ` [${r.note}]` : ''}\n`,
          );
        }
      }
    }
  }

  // A result line other than the one the workload's model predicts, or none
  // at all, invalidates that engine's number for the workload.
  const invalid = new Set();
  for (const r of runs) {
    const want = expected[r.workload].get(r.n);
    r.ok = r.result === want && !r.note;
    if (!r.ok && !invalid.has(`${r.engine}/${r.workload}`)) {
      invalid.add(`${r.engine}/${r.workload}`);
      const why = r.note ?? (r.result ? `printed "${r.result}", expected "${want}"` : 'no result line');
      notes.push(`${r.engine} ${r.workload} N=${r.n} invalid: ${why}`);
    }
  }

  // MIPS from each clock: wall time (the headline) and the CPU time of the
  // engine's process (steadier when other work shares the machine).
  const CLOCKS = { wall: 'seconds', cpu: 'cpuSeconds' };
  const mips = { wall: {}, cpu: {} };
  const detail = [];
  for (const e of active) {
    mips.wall[e] = {};
    mips.cpu[e] = {};
    for (const w of workloadNames) {
      const [n1, n2] = iterationsFor(e, w);
      const instructions = WORKLOADS[w].perIteration * (n2 - n1);
      const at = (n) => runs.filter((r) => r.engine === e && r.workload === w && r.n === n);
      const d = { engine: e, workload: w, n1, n2, instructions };
      for (const [clock, key] of Object.entries(CLOCKS)) {
        const times = (n) => at(n).map((r) => r[key]).filter((x) => x !== undefined);
        const t1 = times(n1).length ? median(times(n1)) : undefined;
        const t2 = times(n2).length ? median(times(n2)) : undefined;
        const value = invalid.has(`${e}/${w}`) || !(t2 > t1) ? null : instructions / (t2 - t1) / 1e6;
        mips[clock][e][w] = value;
        Object.assign(d, { [`${clock}T1`]: t1, [`${clock}T2`]: t2, [`${clock}Mips`]: value });
        if (clock === 'wall' && !invalid.has(`${e}/${w}`)) {
          if (!(t2 > t1)) notes.push(`${e} ${w}: t(N2) <= t(N1); raise --scale`);
          else if (t2 - t1 < 0.5) notes.push(`${e} ${w}: only ${(t2 - t1).toFixed(2)} s between N1 and N2; raise --scale`);
        }
      }
      // where the engine timed the measured part itself (v86): N2's
      // instructions over N2's time between the guest's markers
      const marked = at(n2).map((r) => r.markSeconds).filter(Boolean);
      d.inGuestMips = marked.length ? (WORKLOADS[w].perIteration * n2) / median(marked) / 1e6 : undefined;
      detail.push(d);
    }
  }
  if (maxLoad >= 1) {
    notes.push(
      `load average reached ${maxLoad.toFixed(2)} on ${os.cpus().length} CPUs during the run: other work shared the machine; ` +
        'wall-time MIPS are disturbed, CPU-time MIPS less so',
    );
  }

  // Ringside against each peer; and the debugger overhead when asked.
  const ratios = { wall: {}, cpu: {} };
  let overhead = null;
  const modeCost = { wall: {}, cpu: {} };
  for (const clock of Object.keys(CLOCKS)) {
    const m = mips[clock];
    if (!m.ringside) continue;
    // each hypervisor mode against plain emulation: + is slower
    for (const e of active.filter((x) => x.startsWith('ringside@'))) {
      modeCost[clock][e] = {};
      for (const w of workloadNames) modeCost[clock][e][w] = m.ringside[w] && m[e][w] ? (m.ringside[w] / m[e][w] - 1) * 100 : null;
    }
    for (const e of active.filter((x) => !x.startsWith('ringside'))) {
      ratios[clock][e] = {};
      for (const w of workloadNames) ratios[clock][e][w] = m.ringside[w] && m[e][w] ? m.ringside[w] / m[e][w] : null;
    }
    if (m['ringside+dbg']) {
      overhead ??= { args: overheadArgs.join(' '), slowdownPercent: {} };
      overhead.slowdownPercent[clock] = {};
      for (const w of workloadNames) {
        const a = m.ringside[w];
        const b = m['ringside+dbg'][w];
        overhead.slowdownPercent[clock][w] = a && b ? (a / b - 1) * 100 : null;
      }
    }
  }

  const fmt = (x, d = 0) => (x === null || x === undefined ? '—' : x.toFixed(d));
  const head = (first) => [`| ${first} | ${workloadNames.join(' | ')} |`, `|---|${workloadNames.map(() => '---:').join('|')}|`];
  const row = (label, values, d = 0) => `| ${label} | ${workloadNames.map((w) => fmt(values[w], d)).join(' | ')} |`;
  const lines = [];
  for (const [clock, title] of [['wall', 'MIPS (wall time)'], ['cpu', 'MIPS (CPU time)']]) {
    if (lines.length) lines.push('');
    lines.push(...head(title));
    for (const e of active) lines.push(row(allEngines[e].label, mips[clock][e]));
    if (Object.keys(ratios[clock]).length) {
      lines.push('', ...head(`Ringside ÷ peer (${clock})`));
      for (const [e, r] of Object.entries(ratios[clock])) lines.push(row(allEngines[e].label, r, 2));
    }
  }
  if (Object.keys(modeCost.cpu).length) {
    for (const clock of Object.keys(CLOCKS)) {
      lines.push('', ...head(`Mode cost, slowdown % against none (${clock})`));
      for (const [e, r] of Object.entries(modeCost[clock])) lines.push(row(allEngines[e].label, r, 1));
    }
  }
  if (overhead) {
    lines.push('', `Debugger overhead (\`${overhead.args}\`), slowdown against plain Ringside:`, '', ...head('%'));
    for (const clock of Object.keys(overhead.slowdownPercent)) lines.push(row(clock, overhead.slowdownPercent[clock], 1));
  }
  lines.push(
    '',
    '| engine | workload | N1 | N2 | wall t(N1) | wall t(N2) | cpu t(N1) | cpu t(N2) | in-guest MIPS |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const d of detail) {
    const t = [d.wallT1, d.wallT2, d.cpuT1, d.cpuT2].map((x) => fmt(x, 3)).join(' | ');
    lines.push(`| ${d.engine} | ${d.workload} | ${d.n1} | ${d.n2} | ${t} | ${fmt(d.inGuestMips)} |`);
  }
  if (notes.length) lines.push('', ...notes.map((n) => `- ${n}`));
  console.log(lines.join('\n'));

  const result = {
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, maxLoadAverage: maxLoad, node: process.version },
    engines: Object.fromEntries(active.map((e) => [e, allEngines[e].version()])),
    options: { repeat, scale, ringsideArgs: opt['ringside-args'], overheadArgs: opt['overhead-args'], modes, iters: opt.iters },
    workloads: Object.fromEntries(workloadNames.map((w) => [w, { perIteration: WORKLOADS[w].perIteration, what: WORKLOADS[w].what }])),
    mips,
    ratios,
    overhead,
    modeCost,
    detail,
    runs,
    notes,
  };
  mkdirSync(path.dirname(opt.out), { recursive: true });
  writeFileSync(opt.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nJSON: ${path.relative(REPO, path.resolve(opt.out))}`);
}
