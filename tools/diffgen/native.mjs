// Runs cases on the host CPU: assembles all snippets in one nasm file (one 256-byte slot each,
// every snippet assembled as if it started at CODE), builds the 32-bit harness once, and runs
// all cases through it in one process.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAYOUT } from './cases.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SLOT = 256;
const CODE_MAX = 208 - 5;   // the harness appends a 5-byte JMP back to the return page
const IN_SIZE = 512, OUT_SIZE = 336;

export function buildHarness(work) {
  mkdirSync(work, { recursive: true });
  const exe = join(work, 'harness');
  const srcs = [join(HERE, 'harness.c'), join(HERE, 'trampoline.asm')];
  if (existsSync(exe) && srcs.every((s) => statSync(s).mtimeMs < statSync(exe).mtimeMs)) return exe;
  execFileSync('nasm', ['-f', 'elf32', '-o', join(work, 'trampoline.o'), srcs[1]]);
  execFileSync('gcc', ['-m32', '-O1', '-no-pie', '-fno-pie', '-fno-stack-protector', '-Wall',
    '-o', exe, srcs[0], join(work, 'trampoline.o')]);
  return exe;
}

export function hostInfo(exe) {
  return JSON.parse(execFileSync(exe, ['info'], { encoding: 'utf8' }));
}

// cases: [{asm, regs, eflags, data, stack, dataAddr}] -> adds .code (Uint8Array) to each.
export function assemble(cases, work, name) {
  const lines = ['bits 32', 'default abs'];
  cases.forEach((c, n) => {
    lines.push(`times ${n * SLOT}-($-$$) db 0`, `dd e${n}-s${n}`, `s${n}:`,
      `%define DG_END (${LAYOUT.code}+(e${n}-s${n}))`, `%define DG_ABS(x) (${LAYOUT.code}+((x)-s${n}))`, `; case ${n}`);
    for (const l of c.asm.split('\n')) lines.push('  ' + l);
    lines.push(`e${n}:`, '%undef DG_END', '%undef DG_ABS');
  });
  lines.push(`times ${cases.length * SLOT}-($-$$) db 0`);
  const src = join(work, `${name}.asm`), bin = join(work, `${name}.bin`);
  writeFileSync(src, lines.join('\n') + '\n');
  try {
    execFileSync('nasm', ['-f', 'bin', '-o', bin, src], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const msg = String(e.stderr || e.message);
    const m = /:(\d+): error/.exec(msg);
    let where = '';
    if (m) {
      const ln = Number(m[1]);
      const all = lines.slice(0, ln);
      const caseLine = all.reverse().find((l) => l.startsWith('; case '));
      if (caseLine) where = `\n  in ${caseLine.slice(2)}: ${cases[Number(caseLine.slice(7))].asm.replace(/\n/g, ' | ')}`;
    }
    throw new Error(`nasm failed: ${msg.split('\n').slice(0, 3).join('\n')}${where}`);
  }
  const out = readFileSync(bin);
  cases.forEach((c, n) => {
    const len = out.readUInt32LE(n * SLOT);
    if (len > CODE_MAX) throw new Error(`snippet too long (${len} bytes): ${c.asm}`);
    c.code = new Uint8Array(out.subarray(n * SLOT + 4, n * SLOT + 4 + len));
  });
}

export function runNative(cases, exe, work, name) {
  const inBuf = Buffer.alloc(cases.length * IN_SIZE);
  cases.forEach((c, n) => {
    const o = n * IN_SIZE;
    inBuf.writeUInt32LE(c.code.length, o);
    c.regs.forEach((v, r) => inBuf.writeUInt32LE(v >>> 0, o + 4 + 4 * r));
    inBuf.writeUInt32LE(c.eflags >>> 0, o + 36);
    inBuf.writeUInt32LE(c.dataAddr, o + 40);
    inBuf.set(c.data, o + 48);
    inBuf.set(c.stack, o + 176);
    inBuf.set(c.code, o + 304);
  });
  const inPath = join(work, `${name}.in`), outPath = join(work, `${name}.out`);
  writeFileSync(inPath, inBuf);
  execFileSync(exe, ['run', inPath, outPath], { stdio: ['ignore', 'inherit', 'inherit'] });
  const ob = readFileSync(outPath);
  return cases.map((c, n) => {
    const o = n * OUT_SIZE;
    const u = (k) => ob.readUInt32LE(o + k);
    const regs = [];
    for (let r = 0; r < 8; r++) regs.push(u(16 + 4 * r));
    const segs = [];
    for (let s = 0; s < 6; s++) segs.push(ob.readUInt16LE(o + 56 + 2 * s));
    return {
      status: u(0), vector: u(4), error: u(8), cr2: u(12), regs, eflags: u(48), eip: u(52), segs,
      signo: u(68),
      data: new Uint8Array(ob.subarray(o + 80, o + 208)),
      stack: new Uint8Array(ob.subarray(o + 208, o + 336)),
    };
  });
}
