// ALU instructions: ADD OR ADC SBB AND SUB XOR CMP (every form), TEST, INC DEC NOT NEG, XADD, CMPXCHG,
// CMPXCHG8B. Handlers are specialised at decode time by operation, operand size and form, and cached:
// one function per combination, shared by every decoded record that needs it.
//
// Two V8 facts shape this file (measured): a closure template whose body switches on a captured
// constant runs as fast as a hand-written function, while one that calls a captured function does not
// get it inlined (closures of one literal share optimised code). So templates capture numbers only.
//
// Memory destinations: the result is written before the flags are recorded, so a write fault (a
// read-only page) leaves EFLAGS as it was and the instruction restarts cleanly.
import type { Cpu } from '../cpu';
import type { Handler, Insn } from '../insn';
import type { Factory } from './index';
import { ARITH, CF, ZF, LZ_ADD, LZ_ADC, LZ_SUB, LZ_SBB, LZ_LOGIC, getCF, materializeCF, setFlagBits } from '../flags';
import { operandSize } from '../opcodes';
import { getReg, setReg } from './operands';

const S32 = 0x80000000 | 0;
/** Internal operation numbers: 0..7 are the x86 ALU group (/r order), TEST is 8. */
const CMP = 7, TEST = 8;

export function maskOf(size: number): number { return size === 1 ? 0xff : size === 2 ? 0xffff : -1; }
export function signOf(size: number): number { return size === 1 ? 0x80 : size === 2 ? 0x8000 : S32; }

/**
 * Before the read of a read-modify-write: the destination must be writable, so that a page or segment
 * fault reports a write (a not-present page gives #PF with W=1, as on hardware). The write TLB hit is
 * the fast path; anything else goes through probeWrite (segment checks, page walk).
 */
export function rmwCheck(c: Cpu, seg: number, off: number, size: number): void {
  const o = off >>> 0;
  if (o >= c.segWLo[seg] && o + size - 1 <= c.segWHi[seg]) {
    const lin = (c.segBase[seg] + off) | 0;
    if ((c.tlb.w[lin >>> 12] & 3) === 1 && (lin & 0xfff) <= 0x1000 - size) return;
  }
  c.probeWrite(seg, off, size);
}

/** Cache of specialised handlers by a descriptive key. */
const cache = new Map<string, Handler>();
function once(key: string, make: () => Handler): Handler {
  let h = cache.get(key);
  if (h === undefined) { h = make(); cache.set(key, h); }
  return h;
}

/** The result of ALU operation op (no side effects; ADC/SBB read CF). m is the size mask. */
function calc(c: Cpu, op: number, a: number, b: number, m: number): number {
  switch (op) {
    case 0: return (a + b) & m;
    case 1: return (a | b) & m;
    case 2: return (a + b + (getCF(c) ? 1 : 0)) & m;
    case 3: return (a - b - (getCF(c) ? 1 : 0)) & m;
    case 5: case 7: return (a - b) & m;
    case 6: return (a ^ b) & m;
    default: return a & b & m; // AND, TEST
  }
}

/** Record the flags of op lazily. a and r are already size-masked. ADC/SBB recover their carry-in from r. */
function flags(c: Cpu, op: number, r: number, a: number, b: number, m: number, s: number): void {
  b &= m;
  let k: number;
  switch (op) {
    case 0: k = LZ_ADD; break;
    case 2: k = ((r - a - b) & 1) !== 0 ? LZ_ADC : LZ_ADD; break;
    case 3: k = ((a - b - r) & 1) !== 0 ? LZ_SBB : LZ_SUB; break;
    case 5: case 7: k = LZ_SUB; break;
    default: k = LZ_LOGIC;
  }
  c.lop = k; c.lres = r; c.la = a; c.lb = b; c.lmask = m; c.lsign = s; c.lazy = ARITH;
}

// Operand forms of a two-operand ALU instruction.
const RR_EG = 0, RR_GE = 1, RI_E = 2, RI_A = 3, RM_G = 4, MR = 5, MI = 6;

function aluForm(i: Insn): number {
  const d = i.entry.operands[0], s = i.entry.operands[1];
  if (d[0] === 'E') {
    if (s[0] === 'G') return i.mem ? MR : RR_EG;
    return i.mem ? MI : RI_E;
  }
  if (d[0] === 'G') return i.mem ? RM_G : RR_GE;
  return RI_A; // AL/eAX, imm
}

function alu32(op: number, form: number): Handler {
  const w = op < CMP;
  switch (form) {
    case RR_EG: return (c, i) => {
      const a = c.r32[i.rm], b = c.r32[i.reg], r = calc(c, op, a, b, -1);
      if (w) c.r32[i.rm] = r;
      flags(c, op, r, a, b, -1, S32);
    };
    case RR_GE: return (c, i) => {
      const a = c.r32[i.reg], b = c.r32[i.rm], r = calc(c, op, a, b, -1);
      if (w) c.r32[i.reg] = r;
      flags(c, op, r, a, b, -1, S32);
    };
    case RI_E: return (c, i) => {
      const a = c.r32[i.rm], b = i.imm, r = calc(c, op, a, b, -1);
      if (w) c.r32[i.rm] = r;
      flags(c, op, r, a, b, -1, S32);
    };
    case RI_A: return (c, i) => {
      const a = c.r32[0], b = i.imm, r = calc(c, op, a, b, -1);
      if (w) c.r32[0] = r;
      flags(c, op, r, a, b, -1, S32);
    };
    case RM_G: return (c, i) => {
      const a = c.r32[i.reg], b = c.read32(i.seg, i.ea(c, i)), r = calc(c, op, a, b, -1);
      if (w) c.r32[i.reg] = r;
      flags(c, op, r, a, b, -1, S32);
    };
    case MR: return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      if (w) rmwCheck(c, seg, ea, 4);
      const a = c.read32(seg, ea), b = c.r32[i.reg], r = calc(c, op, a, b, -1);
      if (w) c.write32(seg, ea, r);
      flags(c, op, r, a, b, -1, S32);
    };
    default: return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      if (w) rmwCheck(c, seg, ea, 4);
      const a = c.read32(seg, ea), b = i.imm, r = calc(c, op, a, b, -1);
      if (w) c.write32(seg, ea, r);
      flags(c, op, r, a, b, -1, S32);
    };
  }
}

/** Byte and word forms (less hot): size-generic register access. */
function aluN(op: number, form: number, n: number): Handler {
  const w = op < CMP, m = maskOf(n), s = signOf(n);
  switch (form) {
    case RR_EG: return (c, i) => {
      const a = getReg(c, i.rm, n), b = getReg(c, i.reg, n), r = calc(c, op, a, b, m);
      if (w) setReg(c, i.rm, n, r);
      flags(c, op, r, a, b, m, s);
    };
    case RR_GE: return (c, i) => {
      const a = getReg(c, i.reg, n), b = getReg(c, i.rm, n), r = calc(c, op, a, b, m);
      if (w) setReg(c, i.reg, n, r);
      flags(c, op, r, a, b, m, s);
    };
    case RI_E: return (c, i) => {
      const a = getReg(c, i.rm, n), b = i.imm, r = calc(c, op, a, b, m);
      if (w) setReg(c, i.rm, n, r);
      flags(c, op, r, a, b, m, s);
    };
    case RI_A: return (c, i) => {
      const a = getReg(c, 0, n), b = i.imm, r = calc(c, op, a, b, m);
      if (w) setReg(c, 0, n, r);
      flags(c, op, r, a, b, m, s);
    };
    case RM_G: return (c, i) => {
      const a = getReg(c, i.reg, n), b = c.readN(i.seg, i.ea(c, i), n), r = calc(c, op, a, b, m);
      if (w) setReg(c, i.reg, n, r);
      flags(c, op, r, a, b, m, s);
    };
    case MR: return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      if (w) rmwCheck(c, seg, ea, n);
      const a = c.readN(seg, ea, n), b = getReg(c, i.reg, n), r = calc(c, op, a, b, m);
      if (w) c.writeN(seg, ea, n, r);
      flags(c, op, r, a, b, m, s);
    };
    default: return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      if (w) rmwCheck(c, seg, ea, n);
      const a = c.readN(seg, ea, n), b = i.imm, r = calc(c, op, a, b, m);
      if (w) c.writeN(seg, ea, n, r);
      flags(c, op, r, a, b, m, s);
    };
  }
}

function aluHandler(op: number, i: Insn): Handler {
  const n = operandSize(i.entry.operands[0], i);
  const form = aluForm(i);
  return once(`alu/${op}/${n}/${form}`, () => (n === 4 ? alu32(op, form) : aluN(op, form, n)));
}

// ------------------------------------------------------------------ INC DEC (CF preserved)

function incdecFlags(c: Cpu, dec: boolean, r: number, a: number, m: number, s: number): void {
  materializeCF(c);
  c.lop = dec ? LZ_SUB : LZ_ADD; c.lres = r; c.la = a; c.lb = 1; c.lmask = m; c.lsign = s;
  c.lazy = ARITH & ~CF;
}

function incdec(dec: boolean, i: Insn): Handler {
  const spec = i.entry.operands[0];
  const n = operandSize(spec, i), m = maskOf(n), s = signOf(n), d = dec ? -1 : 1;
  // 40+r / 48+r name the register in i.reg; FE/FF use ModRM.rm.
  const form = spec[0] !== 'E' ? 'g' : i.mem ? 'm' : 'e';
  return once(`incdec/${dec}/${n}/${form}`, () => {
    if (form === 'm') return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      rmwCheck(c, seg, ea, n);
      const a = c.readN(seg, ea, n), r = (a + d) & m;
      c.writeN(seg, ea, n, r);
      incdecFlags(c, dec, r, a, m, s);
    };
    const field = form === 'g';
    if (n === 4) return (c, i) => {
      const k = field ? i.reg : i.rm, a = c.r32[k], r = (a + d) | 0;
      c.r32[k] = r;
      incdecFlags(c, dec, r, a, -1, S32);
    };
    return (c, i) => {
      const k = field ? i.reg : i.rm, a = getReg(c, k, n), r = (a + d) & m;
      setReg(c, k, n, r);
      incdecFlags(c, dec, r, a, m, s);
    };
  });
}

// ------------------------------------------------------------------ NOT NEG

function notneg(neg: boolean, i: Insn): Handler {
  const n = operandSize(i.entry.operands[0], i), m = maskOf(n), s = signOf(n);
  return once(`notneg/${neg}/${n}/${i.mem}`, () => {
    if (i.mem) return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      rmwCheck(c, seg, ea, n);
      const a = c.readN(seg, ea, n), r = (neg ? -a : ~a) & m;
      c.writeN(seg, ea, n, r);
      if (neg) flags(c, 5, r, 0, a, m, s);
    };
    if (n === 4) return (c, i) => {
      const a = c.r32[i.rm], r = neg ? -a | 0 : ~a;
      c.r32[i.rm] = r;
      if (neg) flags(c, 5, r, 0, a, -1, S32);
    };
    return (c, i) => {
      const a = getReg(c, i.rm, n), r = (neg ? -a : ~a) & m;
      setReg(c, i.rm, n, r);
      if (neg) flags(c, 5, r, 0, a, m, s);
    };
  });
}

// ------------------------------------------------------------------ XADD CMPXCHG CMPXCHG8B

function xadd(i: Insn): Handler {
  const n = operandSize(i.entry.operands[0], i), m = maskOf(n), s = signOf(n);
  return once(`xadd/${n}/${i.mem}`, () => {
    if (i.mem) return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      rmwCheck(c, seg, ea, n);
      const a = c.readN(seg, ea, n), b = getReg(c, i.reg, n), r = (a + b) & m;
      c.writeN(seg, ea, n, r);
      setReg(c, i.reg, n, a);
      flags(c, 0, r, a, b, m, s);
    };
    // The source register receives the old destination first, so XADD r,r with one register keeps the sum.
    return (c, i) => {
      const a = getReg(c, i.rm, n), b = getReg(c, i.reg, n), r = (a + b) & m;
      setReg(c, i.reg, n, a);
      setReg(c, i.rm, n, r);
      flags(c, 0, r, a, b, m, s);
    };
  });
}

function cmpxchg(i: Insn): Handler {
  const n = operandSize(i.entry.operands[0], i), m = maskOf(n), s = signOf(n);
  return once(`cmpxchg/${n}/${i.mem}`, () => {
    if (i.mem) return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      rmwCheck(c, seg, ea, n);
      const d = c.readN(seg, ea, n), acc = getReg(c, 0, n);
      const eq = acc === d;
      // The destination is written either way (with its own value when unequal), as the SDM says.
      c.writeN(seg, ea, n, eq ? getReg(c, i.reg, n) : d);
      if (!eq) setReg(c, 0, n, d);
      flags(c, CMP, (acc - d) & m, acc, d, m, s);
    };
    return (c, i) => {
      const d = getReg(c, i.rm, n), acc = getReg(c, 0, n);
      if (acc === d) setReg(c, i.rm, n, getReg(c, i.reg, n));
      else setReg(c, 0, n, d);
      flags(c, CMP, (acc - d) & m, acc, d, m, s);
    };
  });
}

function cmpxchg8b(c: Cpu, i: Insn): void {
  if (!i.mem) c.ud();
  const seg = i.seg, ea = i.ea(c, i), ea4 = i.a32 ? (ea + 4) | 0 : (ea + 4) & 0xffff;
  rmwCheck(c, seg, ea, 4);
  rmwCheck(c, seg, ea4, 4);
  const lo = c.read32(seg, ea), hi = c.read32(seg, ea4);
  if (lo === c.r32[0] && hi === c.r32[2]) {
    c.write32(seg, ea, c.r32[3]);
    c.write32(seg, ea4, c.r32[1]);
    setFlagBits(c, ZF, ZF);
  } else {
    c.write32(seg, ea, lo);
    c.write32(seg, ea4, hi);
    c.r32[0] = lo;
    c.r32[2] = hi;
    setFlagBits(c, ZF, 0);
  }
}

export const handlers: Record<string, Factory> = {
  alu: (i) => aluHandler(i.entry.sub, i),
  test: (i) => aluHandler(TEST, i),
  inc: (i) => incdec(false, i),
  dec: (i) => incdec(true, i),
  not: (i) => notneg(false, i),
  neg: (i) => notneg(true, i),
  xadd,
  cmpxchg,
  cmpxchg8b: () => cmpxchg8b,
};
