// The disassembler against ndisasm (NASM's disassembler) on seeded random byte streams, in 32- and
// 16-bit code: at every offset where ndisasm starts an instruction, our decode must have the same
// length and the same text, except for the documented differences below (each counted and printed).
//
// Documented differences (see also adapter/cpu/disasm.ts):
//  not-p6     ndisasm decodes an instruction a Pentium III does not have (SSE2+, 3DNow!, VEX/EVEX,
//             Cyrix, SYSCALL/SYSRET, GETSEC, FISTTP, JMPE, MOV to CS/segr6/segr7/CR1/CR5-7/TR...);
//             we show the first byte as invalid ('db 0xNN' or the prefix's name), as the CPU raises #UD.
//  p6-alias   encodings a P6 executes but ndisasm rejects: 82 /r, shift /6 (SAL), F6/F7 /1 (TEST),
//             SETcc with ModRM.reg != 0, MOV CRn/DRn with ModRM.mod != 3, SFENCE with rm != 0.
//  wait-fold  ndisasm folds WAIT (9B) into the next instruction ('wait xchg eax,ecx'); we keep two.
//  prefix-name ndisasm names F2/F3 on some instructions after later extensions (bnd, xacquire,
//             xrelease); we print repne/rep, which is what they are on a P6.
//  o16-split  ndisasm prints a 66 prefix before MOVZX/MOVSX/BSWAP as its own 'o16' line, and rejects
//             BSWAP with a 16-bit operand size (undefined result on a P6, but it executes) and MOVZX/MOVSX
//             of a word into a 16-bit register (a plain move on a P6).
//  ip16-wrap  a branch with a 16-bit operand size in 32-bit code: the CPU truncates EIP to 16 bits, and so
//             do we; ndisasm prints the untruncated target.
//  redundant-prefix  an x87 register form behind a 67 prefix: ndisasm spells it 'fdivrp st2,st0'.
//  ndisasm-bug  ndisasm names registers that do not exist outside 64-bit mode (xmm10, r9d...) for some
//             ModRM memory forms in 16-bit code.
//  ud0-form   ndisasm gives UD0 (0F FF) a ModRM operand only behind a 66 prefix; on a P6 it is two bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disassemble, formatInsn } from '../../adapter/cpu/disasm';
import { decodeFrom } from '../../adapter/cpu/decoder';
import { allEntries } from '../../adapter/cpu/opcodes';
import type { Insn } from '../../adapter/cpu/insn';

const haveNdisasm = spawnSync('ndisasm', ['-v']).status === 0;

function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row { off: number; len: number; text: string }

function ndisasm(bytes: Uint8Array, bits: 16 | 32): Row[] {
  const dir = mkdtempSync(join(tmpdir(), 'ringside-disasm-'));
  try {
    const f = join(dir, 'stream.bin');
    writeFileSync(f, bytes);
    const out = execFileSync('ndisasm', ['-b', String(bits), f], { maxBuffer: 1 << 28 }).toString();
    const rows: Row[] = [];
    for (const line of out.split('\n')) {
      const m = /^([0-9A-F]{8})  \S+\s+(.*)$/.exec(line);
      if (m) rows.push({ off: parseInt(m[1], 16), len: 0, text: m[2] });
    }
    for (let k = 0; k < rows.length; k++) rows[k].len = (k + 1 < rows.length ? rows[k + 1].off : bytes.length) - rows[k].off;
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const P6_MNEMONICS = new Set(allEntries().flatMap((e) => [e.mnemonic, e.mn16 ?? e.mnemonic]));
const PREFIX_WORDS = new Set(['rep', 'repe', 'repne', 'lock', 'o16', 'o32', 'a16', 'a32', 'es', 'cs', 'ss', 'ds', 'fs', 'gs',
  'bnd', 'xacquire', 'xrelease', 'wait']);

function mnemonicOf(text: string): string {
  for (const w of text.split(/[ ,]/)) if (!PREFIX_WORDS.has(w)) return w;
  return '';
}

function decodeAt(bytes: Uint8Array, off: number, code32: boolean): Insn | null {
  try {
    return decodeFrom((o) => {
      const k = (o - off) >>> 0;
      if (off + k >= bytes.length) throw new Error('end');
      return bytes[off + k];
    }, off, code32);
  } catch {
    return null;
  }
}

/** Why a row differs, or 'unexplained'. */
function classify(bytes: Uint8Array, row: Row, ours: { len: number; text: string }, code32: boolean): string {
  const i = decodeAt(bytes, row.off, code32);
  const nd = row.text;
  const oursInvalid = ours.len === 1 && (ours.text.startsWith('db ') || PREFIX_WORDS.has(ours.text));
  const ndInvalid = row.len === 1 && (nd.startsWith('db ') || PREFIX_WORDS.has(nd));
  if (/\b(xmm(8|9|1[0-5])|r(8|9|1[0-5])[dwb]?)\b/.test(nd) && row.len === ours.len) return 'ndisasm-bug'; // registers 32-bit code cannot name
  if (i && i.entry.handler === 'x87' && !i.mem && i.a32 !== i.code32 && row.len === ours.len) return 'redundant-prefix';
  if (i && i.osize === 2 && i.code32 && (i.entry.handler === 'jcc' || i.entry.handler === 'jmp' || i.entry.handler === 'call' || i.entry.handler === 'loop' || i.entry.handler === 'jcxz')
    && nd.replace(/0x[0-9a-f]+/, (h) => '0x' + (parseInt(h, 16) & 0xffff).toString(16)) === ours.text) return 'ip16-wrap';
  if (/^(\w+ )*ud0 /.test(nd) && /^(\w+ )*ud0$/.test(ours.text)) return 'ud0-form';
  if ((/\bwait\b/.test(nd) || ndInvalid) && /^(\w+ )*wait$/.test(ours.text)) return 'wait-fold';
  if (i && i.lock && i.entry.handler === 'movcr' && /\bcr(8|9|1[0-5])\b/.test(nd)) return 'not-p6'; // AMD's LOCK MOV CR8
  if (/^(bnd|xacquire|xrelease) /.test(nd) || / (bnd|xacquire|xrelease) /.test(nd)) {
    const norm = nd.replace(/\bbnd\b/, 'repne').replace(/\bxacquire\b/, 'repne').replace(/\bxrelease\b/, 'rep');
    if (norm === ours.text && row.len === ours.len) return 'prefix-name';
  }
  if (i && (['movzx', 'movsx'].includes(i.entry.handler) && (nd === 'o16' || nd === 'o32' || (ndInvalid && i.osize === 2 && i.opcode & 1))
    || i.entry.handler === 'bswap' && i.osize === 2 && ndInvalid)) return 'o16-split';
  if (oursInvalid && !ndInvalid) {
    const mn = mnemonicOf(nd);
    // SSE2 forms of MMX/SSE opcodes (66/F2/F3 prefix), and operands a 32-bit CPU cannot name.
    if (/\b([xyz]mm\d+|k[0-7]|r\d+[dwb]?)\b/.test(nd) && (!/\bmm\d/.test(nd) || /\b[xyz]mm/.test(nd))) {
      if (/\b(xmm(8|9|1\d|2\d|3[01])|[yz]mm\d+|k[0-7]|r\d+[dwb]?)\b/.test(nd) || /^(66|f2|f3)/.test(Buffer.from(bytes.subarray(row.off, row.off + 4)).toString('hex').replace(/^(26|2e|36|3e|64|65|67|f0)+/, ''))) return 'not-p6';
    }
    if (!P6_MNEMONICS.has(mn)) return 'not-p6';
    if (/^(\w+ )*mov (cs,|.*segr[67]|\w+,cr[1567]$|cr[1567],|tr\d,|\w+,tr\d$)/.test(nd)) return 'not-p6';
    return 'unexplained';
  }
  if (!oursInvalid && i) {
    // P6 aliases (possibly behind prefixes ndisasm printed on their own).
    const op = i.opcode, reg = (i.modrm >> 3) & 7, mod = i.modrm >> 6;
    const alias = op === 0x82 || (i.entry.handler === 'shift' && reg === 6) || ((op === 0xf6 || op === 0xf7) && reg === 1)
      || (i.entry.handler === 'setcc' && reg !== 0) || ((i.entry.handler === 'movcr' || i.entry.handler === 'movdr') && mod !== 3)
      || (op === 0x0fae && mod === 3 && reg === 7 && (i.modrm & 7) !== 0);
    if (alias && ndInvalid) return 'p6-alias';
    if (alias && i.lock) return 'p6-alias';
    if (!P6_MNEMONICS.has(mnemonicOf(nd)) && row.len === ours.len) return 'not-p6'; // e.g. cldemote vs hint_nop32
  }
  return 'unexplained';
}

interface Result { rows: number; same: number; classes: Map<string, number>; unexplained: string[] }

function compare(all: Uint8Array, bits: 16 | 32): Result {
  const code32 = bits === 32;
  const res: Result = { rows: 0, same: 0, classes: new Map(), unexplained: [] };
  // 16-bit code wraps at 64 KiB (ndisasm does not): compare 16-bit streams in pieces below that.
  const piece = code32 ? all.length : 0xf000;
  for (let base = 0; base < all.length; base += piece) comparePiece(all.subarray(base, base + piece), code32, res);
  return res;
}

function comparePiece(bytes: Uint8Array, code32: boolean, res: Result): void {
  const bits = code32 ? 32 : 16;
  for (const row of ndisasm(bytes, bits)) {
    res.rows++;
    const ours = disassemble(bytes.subarray(row.off), row.off, code32, 1)[0];
    if (ours.len === row.len && ours.text === row.text) { res.same++; continue; }
    const c = classify(bytes, row, ours, code32);
    res.classes.set(c, (res.classes.get(c) ?? 0) + 1);
    if (c === 'unexplained' && res.unexplained.length < Number(process.env.DISASM_SHOW ?? 20)) {
      const hexs = Buffer.from(bytes.subarray(row.off, row.off + Math.max(row.len, ours.len))).toString('hex');
      res.unexplained.push(`${hexs}: ndisasm ${JSON.stringify(row.text)} (${row.len}) ours ${JSON.stringify(ours.text)} (${ours.len})`);
    }
  }
}

/** Random bytes; `lead` (with probability p) makes instruction-start bytes from a chosen set denser. */
function stream(seed: number, n: number, lead?: number[], p = 0): Uint8Array {
  const r = mulberry32(seed);
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) b[k] = lead && r() < p ? lead[Math.floor(r() * lead.length)] : Math.floor(r() * 256);
  return b;
}

/** Every one- and two-byte opcode, alone and behind 66/67/F3/F2, each followed by random bytes. */
function sweep(seed: number): Uint8Array {
  const r = mulberry32(seed);
  const out: number[] = [];
  for (const pfx of [[], [0x66], [0x67], [0xf3], [0xf2], [0xf0]]) {
    for (let rep = 0; rep < 3; rep++) {
      for (let op = 0; op < 512; op++) {
        out.push(...pfx);
        if (op >= 256) out.push(0x0f);
        out.push(op & 0xff);
        for (let k = 0; k < 10; k++) out.push(Math.floor(r() * 256));
        out.push(0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90); // resync
      }
    }
  }
  return Uint8Array.from(out);
}

const X87 = [0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf];
const streams: { name: string; bits: 16 | 32; bytes: () => Uint8Array }[] = [
  { name: 'random-32 #1', bits: 32, bytes: () => stream(1, 24000) },
  { name: 'random-32 #2', bits: 32, bytes: () => stream(2, 24000) },
  { name: 'random-32 #3', bits: 32, bytes: () => stream(3, 24000) },
  { name: 'two-byte-dense-32', bits: 32, bytes: () => stream(4, 24000, [0x0f], 0.3) },
  { name: 'prefix-dense-32', bits: 32, bytes: () => stream(5, 24000, [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65], 0.15) },
  { name: 'x87-dense-32', bits: 32, bytes: () => stream(6, 16000, X87, 0.3) },
  { name: 'opcode-sweep-32', bits: 32, bytes: () => sweep(7) },
  { name: 'random-16 #1', bits: 16, bytes: () => stream(11, 24000) },
  { name: 'two-byte-dense-16', bits: 16, bytes: () => stream(12, 24000, [0x0f], 0.3) },
  { name: 'prefix-dense-16', bits: 16, bytes: () => stream(13, 24000, [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e], 0.15) },
  { name: 'opcode-sweep-16', bits: 16, bytes: () => sweep(14) },
];

test('disassembler agrees with ndisasm on random byte streams (up to documented differences)', { skip: !haveNdisasm && 'ndisasm not installed' }, () => {
  let rows = 0, same = 0, rndRows = 0, rndSame = 0;
  const total = new Map<string, number>();
  const failures: string[] = [];
  for (const s of streams) {
    const r = compare(s.bytes(), s.bits);
    rows += r.rows;
    same += r.same;
    if (!s.name.includes('sweep')) { rndRows += r.rows; rndSame += r.same; } // the sweep pads with NOPs
    for (const [k, v] of r.classes) total.set(k, (total.get(k) ?? 0) + v);
    const cls = [...r.classes].map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`  ${s.name}: ${r.rows} instructions, ${r.same} identical (${((100 * r.same) / r.rows).toFixed(2)}%)${cls ? '; ' + cls : ''}`);
    failures.push(...r.unexplained.map((u) => `${s.name}: ${u}`));
  }
  const explained = [...total].filter(([k]) => k !== 'unexplained').reduce((a, [, v]) => a + v, 0);
  console.log(`  total: ${rows} instructions, ${same} identical (${((100 * same) / rows).toFixed(2)}%), ` +
    `${explained} documented differences, ${total.get('unexplained') ?? 0} unexplained`);
  console.log(`  random streams only: ${rndRows} instructions, ${rndSame} identical (${((100 * rndSame) / rndRows).toFixed(2)}%)`);
  assert.ok(rows > 100000, 'enough instructions compared');
  assert.deepEqual(failures, [], 'every difference from ndisasm is a documented one');
});

test('formatInsn spells common forms as ndisasm does', () => {
  const cases: [number[], boolean, string][] = [
    [[0x8b, 0x44, 0x8c, 0x10], true, 'mov eax,[esp+ecx*4+0x10]'],
    [[0x81, 0x00, 0x01, 0x00, 0x00, 0x00], true, 'add dword [eax],0x1'],
    [[0x83, 0xc0, 0xff], true, 'add eax,byte -0x1'],
    [[0xc1, 0xe0, 0x04], true, 'shl eax,byte 0x4'],
    [[0xe8, 0x00, 0x00, 0x00, 0x00], true, 'call 0x1005'],
    [[0xeb, 0xfe], true, 'jmp short 0x1000'],
    [[0x0f, 0x84, 0x00, 0x00, 0x00, 0x00], true, 'jz near 0x1006'],
    [[0x8b, 0x05, 0x00, 0x10, 0x00, 0x00], true, 'mov eax,[dword 0x1000]'],
    [[0xf3, 0xa5], true, 'rep movsd'],
    [[0x2e, 0x8b, 0x00], true, 'mov eax,[cs:eax]'],
    [[0x0f, 0x22, 0xd8], true, 'mov cr3,eax'],
    [[0xea, 0x00, 0x10, 0x00, 0x00, 0x08, 0x00], true, 'jmp 0x8:0x1000'],
    [[0x8b, 0x46, 0xfe], false, 'mov ax,[bp-0x2]'],
    [[0xcd, 0x10], false, 'int 0x10'],
    [[0xdd, 0x00], true, 'fld qword [eax]'],
    [[0x0f, 0x01, 0xc1], true, 'vmcall'],
  ];
  for (const [b, code32, want] of cases) {
    const rows = disassemble(Uint8Array.from(b), 0x1000, code32, 1);
    assert.equal(rows[0].text, want, Buffer.from(b).toString('hex'));
    assert.equal(rows[0].len, b.length);
  }
});

test('branch targets can be named by a symbol lookup', () => {
  const i = decodeFrom((o) => [0xe8, 0xfb, 0x0f, 0x00, 0x00][o - 0x1000], 0x1000, true);
  assert.equal(formatInsn(i, { symbol: (a) => (a === 0x2000 ? 'kmain' : undefined) }), 'call kmain');
  assert.equal(formatInsn(i), 'call 0x2000');
});
