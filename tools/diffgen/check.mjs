#!/usr/bin/env node
// Regenerates the differential vectors into a temporary folder and compares them with the
// committed ones (test/cpu/vectors). Needs nasm and gcc -m32 (gcc-multilib) on an x86-64 Linux
// host. Exit status 0 when identical, 1 when anything differs, 2 when the tools are missing.
//
//   node tools/diffgen/check.mjs [--family NAME[,NAME]] [--keep] [--max N]
//
// Vectors hold raw results, including flags the SDM leaves undefined; on a CPU of another vendor
// those may differ. Such differences are reported separately ("flags only") so they can be told
// apart from real ones.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { generate, DEFAULT_OUT, DEFAULT_COUNT, DEFAULT_SEED } from './generate.mjs';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const famArg = args.indexOf('--family') >= 0 ? args[args.indexOf('--family') + 1].split(',') : null;
const maxShown = args.indexOf('--max') >= 0 ? Number(args[args.indexOf('--max') + 1]) : 20;

for (const [tool, targs] of [['nasm', ['-v']], ['gcc', ['-m32', '--version']]]) {
  try { execFileSync(tool, targs, { stdio: 'ignore' }); } catch {
    console.error(`check: ${tool} is not available; cannot regenerate (install nasm and gcc-multilib)`);
    process.exit(2);
  }
}

const ARITH = 0x8d5;
const load = (p) => JSON.parse(gunzipSync(readFileSync(p)));

function compareCase(a, b) {
  const diffs = [];
  const cmp = (path, x, y) => {
    if (JSON.stringify(x) !== JSON.stringify(y)) diffs.push({ path, x, y });
  };
  cmp('code', a.code, b.code);
  cmp('init', a.init, b.init);
  const ka = a.final ? 'final' : 'fault', kb = b.final ? 'final' : 'fault';
  if (ka !== kb) { diffs.push({ path: 'outcome', x: ka, y: kb }); return diffs; }
  const ra = a[ka], rb = b[kb];
  for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) cmp(`${ka}.${k}`, ra[k], rb[k]);
  return diffs;
}

const out = mkdtempSync(join(tmpdir(), 'diffgen-check-'));
let differing = 0, flagOnly = 0, total = 0, shown = 0;
try {
  generate({ forms: null, family: famArg, count: DEFAULT_COUNT, out, seed: DEFAULT_SEED, list: false, quiet: true });
  const files = readdirSync(out).filter((f) => f.endsWith('.json.gz')).sort();
  const committed = readdirSync(DEFAULT_OUT).filter((f) => f.endsWith('.json.gz'));
  if (!famArg) for (const f of committed) if (!files.includes(f)) { console.log(`${f}: committed but no longer generated`); differing++; }
  for (const f of files) {
    const cp = join(DEFAULT_OUT, f);
    if (!existsSync(cp)) { console.log(`${f}: generated but not committed`); differing++; continue; }
    const a = load(cp), b = load(join(out, f));
    for (const k of ['segments', 'selectors', 'layout']) {
      if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) { console.log(`${f}: header ${k} differs`); differing++; }
    }
    const byName = new Map(b.forms.map((x) => [x.name, x]));
    for (const fa of a.forms) {
      const fb = byName.get(fa.name);
      if (!fb) { console.log(`${f}: form "${fa.name}" no longer generated`); differing++; continue; }
      byName.delete(fa.name);
      if (fa.cases.length !== fb.cases.length) { console.log(`${f}: "${fa.name}": ${fa.cases.length} vs ${fb.cases.length} cases`); differing++; continue; }
      fa.cases.forEach((ca, n) => {
        total++;
        const d = compareCase(ca, fb.cases[n]);
        if (!d.length) return;
        const onlyFlags = d.every((x) => /\.eflags$/.test(x.path) && ((x.x ^ x.y) & ~ARITH) === 0);
        if (onlyFlags) flagOnly++; else differing++;
        if (shown++ < maxShown) {
          const what = d.map((x) => `${x.path}: ${JSON.stringify(x.x)} -> ${JSON.stringify(x.y)}`).join('; ');
          console.log(`${f}: "${fa.name}" case ${n} (${ca.asm})${onlyFlags ? ' [flags only]' : ''}: ${what.slice(0, 400)}`);
        }
      });
    }
    for (const name of byName.keys()) { console.log(`${f}: new form "${name}" not committed`); differing++; }
  }
} finally {
  if (keep) console.log(`regenerated vectors kept in ${out}`);
  else rmSync(out, { recursive: true, force: true });
}
console.log(`check: ${total} committed vectors compared; ${differing} differ, ${flagOnly} differ only in arithmetic flags`);
process.exit(differing || flagOnly ? 1 : 0);
