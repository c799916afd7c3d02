// MUL, IMUL (one, two and three operands) and DIV, IDIV with #DE on a zero divisor or a quotient that
// does not fit. 32x32->64 products and 64/32 divisions are done exactly in 16-bit limbs with doubles
// (every intermediate stays below 2^53), so no BigInt on the hot path.
import type { Cpu } from '../cpu';
import type { Handler, Insn } from '../insn';
import type { Factory } from './index';
import { CF, OF, setResultFlags } from '../flags';
import { operandSize } from '../opcodes';
import { getReg, setReg } from './operands';

const cache = new Map<string, Handler>();
function once(key: string, make: () => Handler): Handler {
  let h = cache.get(key);
  if (h === undefined) { h = make(); cache.set(key, h); }
  return h;
}

/** High half of the last mulU32/mulS32 product (int32). */
let hi32 = 0;

/** Unsigned 32x32 product: returns the low half (int32) and leaves the high half in hi32. */
export function mulU32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  hi32 = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
  return (mid << 16) | (p00 & 0xffff);
}
/** Signed 32x32 product: the unsigned one corrected for negative factors. */
export function mulS32(a: number, b: number): number {
  const lo = mulU32(a, b);
  hi32 = (hi32 - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
  return lo;
}

const F_OVER = CF | OF;

/** Read the r/m operand of size n. */
function readE(c: Cpu, i: Insn, n: number): number {
  return i.mem ? c.readN(i.seg, i.ea(c, i), n) : getReg(c, i.rm, n);
}

// ------------------------------------------------------------------ MUL / IMUL one operand

function mul1(c: Cpu, i: Insn, n: number, signed: boolean): void {
  const src = readE(c, i, n);
  if (n === 1) {
    const p = signed ? ((c.r8[0] << 24) >> 24) * ((src << 24) >> 24) : c.r8[0] * src;
    c.r16[0] = p;
    const over = signed ? p !== ((p << 24) >> 24) : (p & 0xff00) !== 0;
    setResultFlags(c, p & 0xff, 1, over ? F_OVER : 0);
  } else if (n === 2) {
    const p = signed ? ((c.r16[0] << 16) >> 16) * ((src << 16) >> 16) : c.r16[0] * src;
    c.r16[0] = p;
    c.r16[4] = p >>> 16; // DX
    const over = signed ? p !== ((p << 16) >> 16) : (p & 0xffff0000) !== 0;
    setResultFlags(c, p & 0xffff, 2, over ? F_OVER : 0);
  } else {
    const lo = signed ? mulS32(c.r32[0], src) : mulU32(c.r32[0], src), hi = hi32;
    c.r32[0] = lo;
    c.r32[2] = hi;
    const over = signed ? hi !== lo >> 31 : hi !== 0;
    setResultFlags(c, lo, 4, over ? F_OVER : 0);
  }
}

// ------------------------------------------------------------------ IMUL two and three operands

/** Truncated signed product of size n; sets flags; returns the value for the destination. */
function imulTrunc(c: Cpu, a: number, b: number, n: number): number {
  if (n === 4) {
    const lo = mulS32(a, b);
    setResultFlags(c, lo, 4, hi32 !== lo >> 31 ? F_OVER : 0);
    return lo;
  }
  const p = ((a << 16) >> 16) * ((b << 16) >> 16), r = p & 0xffff;
  setResultFlags(c, r, 2, p !== ((p << 16) >> 16) ? F_OVER : 0);
  return r;
}

function imulHandler(i: Insn): Handler {
  const sub = i.entry.sub;
  const n = operandSize(i.entry.operands[0], i);
  if (sub === 0) {
    return once(`imul-one/${n}`, () => (c, i) => mul1(c, i, n, true));
  }
  // 0FAF: G = G * E; 69/6B: G = E * imm.
  return once(`imul${sub}/${n}/${i.mem}`, () => {
    if (sub === 1) {
      if (n === 4 && !i.mem) return (c, i) => { c.r32[i.reg] = imulTrunc(c, c.r32[i.reg], c.r32[i.rm], 4); };
      return (c, i) => { setReg(c, i.reg, n, imulTrunc(c, getReg(c, i.reg, n), readE(c, i, n), n)); };
    }
    return (c, i) => { setReg(c, i.reg, n, imulTrunc(c, readE(c, i, n), i.imm | 0, n)); };
  });
}

// ------------------------------------------------------------------ DIV / IDIV

/** Remainder of the last udiv64 (a number in 0..2^32-1). */
let remU = 0;

/**
 * Unsigned (hi:lo) / d for hi < d, all as u32 numbers: the quotient fits 32 bits. Two steps of 16 bits
 * keep every intermediate below 2^48, so doubles are exact.
 */
function udiv64(hi: number, lo: number, d: number): number {
  if (hi === 0) {
    const q = Math.floor(lo / d);
    remU = lo - q * d;
    return q;
  }
  const n1 = hi * 65536 + (lo >>> 16);
  const q1 = Math.floor(n1 / d), r1 = n1 - q1 * d;
  const n0 = r1 * 65536 + (lo & 0xffff);
  const q0 = Math.floor(n0 / d);
  remU = n0 - q0 * d;
  return q1 * 65536 + q0;
}

function div(c: Cpu, i: Insn, n: number): void {
  const d = readE(c, i, n);
  if (d === 0) c.fault(0);
  if (n === 1) {
    const a = c.r16[0], q = Math.floor(a / d);
    if (q > 0xff) c.fault(0);
    c.r8[0] = q;
    c.r8[1] = a - q * d;
  } else if (n === 2) {
    const a = c.r16[4] * 65536 + c.r16[0], q = Math.floor(a / d);
    if (q > 0xffff) c.fault(0);
    c.r16[0] = q;
    c.r16[4] = a - q * d;
  } else {
    const du = d >>> 0, hi = c.r32[2] >>> 0;
    if (hi >= du) c.fault(0);
    const q = udiv64(hi, c.r32[0] >>> 0, du);
    c.r32[0] = q;
    c.r32[2] = remU;
  }
}

function idiv(c: Cpu, i: Insn, n: number): void {
  const d = readE(c, i, n);
  if (d === 0) c.fault(0);
  if (n === 1) {
    const a = (c.r16[0] << 16) >> 16, ds = (d << 24) >> 24, q = Math.trunc(a / ds);
    if (q > 127 || q < -128) c.fault(0);
    c.r8[0] = q;
    c.r8[1] = a - q * ds;
  } else if (n === 2) {
    const a = (c.r16[4] << 16) | c.r16[0], ds = (d << 16) >> 16, q = Math.trunc(a / ds);
    if (q > 32767 || q < -32768) c.fault(0);
    c.r16[0] = q;
    c.r16[4] = a - q * ds;
  } else {
    const lo = c.r32[0], hi = c.r32[2];
    if (hi === lo >> 31) {
      // The dividend fits 32 bits: one exact double division (only INT_MIN / -1 overflows).
      const q = Math.trunc(lo / d);
      if (q > 0x7fffffff) c.fault(0);
      c.r32[0] = q;
      c.r32[2] = lo - q * d;
      return;
    }
    const neg = hi < 0;
    // |dividend| as hi:lo u32 pair (64-bit two's complement negate).
    let ahi = hi >>> 0, alo = lo >>> 0;
    if (neg) { alo = (-lo) >>> 0; ahi = (~hi + (alo === 0 ? 1 : 0)) >>> 0; }
    const ad = Math.abs(d);
    if (ahi >= ad) c.fault(0);
    const q = udiv64(ahi, alo, ad);
    const qneg = neg !== d < 0;
    if (q > (qneg ? 0x80000000 : 0x7fffffff)) c.fault(0);
    c.r32[0] = qneg ? -q : q;
    c.r32[2] = neg ? -remU : remU;
  }
}

export const handlers: Record<string, Factory> = {
  mul: (i) => { const n = operandSize(i.entry.operands[0], i); return once(`mul/${n}`, () => (c, i) => mul1(c, i, n, false)); },
  imul: imulHandler,
  div: (i) => { const n = operandSize(i.entry.operands[0], i); return once(`div/${n}`, () => (c, i) => div(c, i, n)); },
  idiv: (i) => { const n = operandSize(i.entry.operands[0], i); return once(`idiv/${n}`, () => (c, i) => idiv(c, i, n)); },
};
