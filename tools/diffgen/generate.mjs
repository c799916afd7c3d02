#!/usr/bin/env node
// Differential test-vector generator: runs every user-mode 32-bit integer instruction form on
// the host CPU with edge-case and random states and writes the results as
// test/cpu/vectors/<family>.json.gz. See README.md in this folder for the format.
//
//   node tools/diffgen/generate.mjs [--forms REGEX] [--family NAME[,NAME]] [--count N]
//                                   [--out DIR] [--seed S] [--list] [--quiet]
import { mkdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { makeCase, fixupCase, LAYOUT } from './cases.mjs';
import { FAMILIES } from './forms/index.mjs';
import { buildHarness, hostInfo, assemble, runNative } from './native.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT = resolve(HERE, '../../test/cpu/vectors');
export const DEFAULT_COUNT = 256;
export const DEFAULT_SEED = 'ringside-1';

function parseArgs(argv) {
  const a = { forms: null, family: null, count: DEFAULT_COUNT, out: DEFAULT_OUT, seed: DEFAULT_SEED, list: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => { if (i + 1 >= argv.length) throw new Error(`${k} needs a value`); return argv[++i]; };
    if (k === '--forms') a.forms = new RegExp(v());
    else if (k === '--family') a.family = v().split(',');
    else if (k === '--count') a.count = Number(v());
    else if (k === '--out') a.out = resolve(v());
    else if (k === '--seed') a.seed = v();
    else if (k === '--list') a.list = true;
    else if (k === '--quiet') a.quiet = true;
    else if (k === '--help' || k === '-h') { console.log('usage: generate.mjs [--forms REGEX] [--family a,b] [--count N] [--out DIR] [--seed S] [--list]'); process.exit(0); }
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const hexOf = (u8) => Buffer.from(u8).toString('hex');

// One vector: what the emulator-side test loads and replays.
function vector(c, r, form) {
  const v = {
    asm: c.asm.replace(/\s*\n\s*/g, ' ; '),
    code: hexOf(c.code),
    init: { regs: c.regs, eflags: c.eflags, data: hexOf(c.data), stack: hexOf(c.stack) },
  };
  const state = { regs: r.regs, eflags: r.eflags, data: hexOf(r.data), stack: hexOf(r.stack) };
  if (form.segs) state.segs = r.segs;
  if (r.status === 0) {
    v.final = { ...state, eip: r.eip - LAYOUT.code };
  } else {
    // RF in the interrupted EFLAGS image is the CPU's fault-restart bookkeeping, not state.
    const f = { vector: r.vector, error: r.error, eip: (r.eip - LAYOUT.code) | 0, ...state, eflags: r.eflags & ~0x10000 };
    if (r.vector === 14) f.cr2 = r.cr2;
    v.fault = f;
  }
  return v;
}

// Renders a family's file: one form and one case per line, so diffs stay readable.
function render(header, forms) {
  const parts = [];
  parts.push('{"version":1,');
  for (const [k, val] of Object.entries(header)) parts.push(`${JSON.stringify(k)}:${JSON.stringify(val)},`);
  parts.push('"forms":[\n');
  forms.forEach((f, i) => {
    const { cases, ...meta } = f;
    const head = JSON.stringify(meta);
    parts.push(head.slice(0, -1) + ',"cases":[\n');
    parts.push(cases.map((c) => JSON.stringify(c)).join(',\n'));
    parts.push(`\n]}${i + 1 < forms.length ? ',' : ''}\n`);
  });
  parts.push(']}\n');
  return parts.join('');
}

export function generate(opts) {
  const work = mkdtempSync(join(tmpdir(), 'diffgen-'));
  const exe = buildHarness(join(tmpdir(), 'diffgen-harness'));
  const info = hostInfo(exe);
  const summary = [];
  try {
    for (const fam of FAMILIES) {
      if (opts.family && !opts.family.includes(fam.name)) continue;
      const forms = fam.forms.filter((f) => !opts.forms || opts.forms.test(f.name));
      if (!forms.length) continue;
      if (opts.list) { for (const f of forms) console.log(`${fam.name}\t${f.name}`); continue; }
      const usable = forms.filter((f) => !f.low || info.lowPage);
      if (usable.length < forms.length) console.warn(`${fam.name}: low page not mappable here (vm.mmap_min_addr); skipping ${forms.length - usable.length} 16-bit-address forms`);
      const all = [];
      for (const f of usable) {
        const n = f.count ?? opts.count;
        for (let i = 0; i < n; i++) {
          let c;
          try { c = makeCase(f, `${opts.seed}:${f.name}:${i}`, i); }
          catch (e) { throw new Error(`form "${f.name}" case ${i}: ${e.message}`); }
          c.form = f;
          all.push(c);
        }
      }
      assemble(all, work, fam.name);
      for (const c of all) fixupCase(c, LAYOUT.code + c.code.length);
      const results = runNative(all, exe, work, fam.name);
      const byForm = new Map(usable.map((f) => [f, []]));
      const faultCount = new Map();
      all.forEach((c, k) => {
        const r = results[k];
        if (r.status > 1) throw new Error(`form "${c.form.name}": ${r.status === 2 ? 'timed out' : 'rejected by harness'}: ${c.asm}`);
        byForm.get(c.form).push(vector(c, r, c.form));
        if (r.status === 1) faultCount.set(c.form, (faultCount.get(c.form) || 0) + 1);
      });
      const formsOut = usable.map((f) => {
        const o = { name: f.name, asm: typeof f.asm === 'string' ? f.asm : f.text || f.name };
        if (f.low) o.dataAddr = LAYOUT.low;
        o.cases = byForm.get(f);
        return o;
      });
      const header = {
        family: fam.name,
        segments: info.segments,
        selectors: info.selectors,
        layout: { code: LAYOUT.code, data: LAYOUT.data, low: LAYOUT.low, stackTop: LAYOUT.stackTop,
          stackWindow: LAYOUT.stackWindow, window: LAYOUT.window, ret: LAYOUT.ret, maps: LAYOUT.maps },
      };
      const text = render(header, formsOut);
      const gz = gzipSync(Buffer.from(text), { level: 9 });
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(join(opts.out, `${fam.name}.json.gz`), gz);
      for (const f of usable) {
        const nf = faultCount.get(f) || 0;
        const expect = f.faults ?? 'never';
        const odd = (expect === 'never' && nf > 0) || (expect === 'always' && nf < byForm.get(f).length);
        if (odd) console.warn(`  ! ${f.name}: ${nf}/${byForm.get(f).length} cases faulted (expected ${expect})`);
      }
      summary.push({ family: fam.name, forms: usable.length, cases: all.length, bytes: gz.length, raw: text.length });
      if (!opts.quiet) console.log(`${fam.name.padEnd(10)} ${String(usable.length).padStart(4)} forms ${String(all.length).padStart(7)} vectors ${(gz.length / 1024).toFixed(0).padStart(6)} KiB`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return summary;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const s = generate(opts);
    if (!opts.list && s.length) {
      const t = s.reduce((a, x) => ({ forms: a.forms + x.forms, cases: a.cases + x.cases, bytes: a.bytes + x.bytes }), { forms: 0, cases: 0, bytes: 0 });
      console.log(`total      ${String(t.forms).padStart(4)} forms ${String(t.cases).padStart(7)} vectors ${(t.bytes / 1024).toFixed(0).padStart(6)} KiB`);
    }
  } catch (e) {
    console.error(`diffgen: ${e.message}`);
    process.exit(1);
  }
}
