// EFLAGS bits and lazy arithmetic flags: ALU instructions record their operands and result;
// the flags are computed only when something reads them.
import type { Cpu } from './cpu';

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, DF = 0x400, OF = 0x800;
export const IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000, AC = 0x40000, VIF = 0x80000, VIP = 0x100000, ID = 0x200000;
export const ARITH = CF | PF | AF | ZF | SF | OF;
/** Bits software can ever see set (bit 1 reads as one). */
export const EFLAGS_DEFINED = ARITH | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;
export const EFLAGS_FIXED1 = 0x2;

/** Lazy operation kinds. */
export const LZ_ADD = 0, LZ_ADC = 1, LZ_SUB = 2, LZ_SBB = 3, LZ_LOGIC = 4;

export function sizeMask(bytes: number): number {
  return bytes === 1 ? 0xff : bytes === 2 ? 0xffff : -1;
}
export function signBit(bytes: number): number {
  return bytes === 1 ? 0x80 : bytes === 2 ? 0x8000 : 0x80000000 | 0;
}

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, p = 1;
  while (b) { p ^= b & 1; b >>= 1; }
  PARITY[i] = p ? PF : 0;
}

/** Record an ALU result lazily. size in bytes. All six arithmetic flags become lazy. */
export function setLazy(c: Cpu, op: number, res: number, a: number, b: number, size: number): void {
  c.lop = op; c.lres = res; c.la = a; c.lb = b;
  c.lmask = size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  c.lsign = size === 1 ? 0x80 : size === 2 ? 0x8000 : 0x80000000 | 0;
  c.lazy = ARITH;
}

/** Record a result whose ZF/SF/PF come from res; CF/OF/AF are given explicitly (shifts, rotates, MUL...). */
export function setResultFlags(c: Cpu, res: number, size: number, cfOfAf: number): void {
  c.flags = (c.flags & ~(CF | OF | AF)) | (cfOfAf & (CF | OF | AF));
  c.lop = LZ_LOGIC; c.lres = res; c.la = 0; c.lb = 0;
  c.lmask = size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  c.lsign = size === 1 ? 0x80 : size === 2 ? 0x8000 : 0x80000000 | 0;
  c.lazy = ZF | SF | PF;
}

/** Materialise lazy flags into c.flags. */
export function flushFlags(c: Cpu): void {
  if (c.lazy !== 0) {
    c.flags = (c.flags & ~c.lazy) | (computeArith(c) & c.lazy);
    c.lazy = 0;
  }
}

function computeArith(c: Cpu): number {
  const m = c.lmask, s = c.lsign, r = c.lres, a = c.la, b = c.lb;
  let f = PARITY[r & 0xff];
  if ((r & m) === 0) f |= ZF;
  if (r & s) f |= SF;
  switch (c.lop) {
    case LZ_ADD:
      if (((r & m) >>> 0) < ((a & m) >>> 0)) f |= CF;
      if ((a ^ r) & (b ^ r) & s) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case LZ_ADC:
      if (((r & m) >>> 0) <= ((a & m) >>> 0)) f |= CF;
      if ((a ^ r) & (b ^ r) & s) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case LZ_SUB:
      if (((a & m) >>> 0) < ((b & m) >>> 0)) f |= CF;
      if ((a ^ b) & (a ^ r) & s) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case LZ_SBB:
      if (((a & m) >>> 0) <= ((b & m) >>> 0)) f |= CF;
      if ((a ^ b) & (a ^ r) & s) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    default: // LZ_LOGIC: CF=OF=0, AF left 0 (undefined by the SDM)
      break;
  }
  return f;
}

export function getCF(c: Cpu): boolean {
  if (!(c.lazy & CF)) return (c.flags & CF) !== 0;
  const m = c.lmask;
  switch (c.lop) {
    case LZ_ADD: return ((c.lres & m) >>> 0) < ((c.la & m) >>> 0);
    case LZ_ADC: return ((c.lres & m) >>> 0) <= ((c.la & m) >>> 0);
    case LZ_SUB: return ((c.la & m) >>> 0) < ((c.lb & m) >>> 0);
    case LZ_SBB: return ((c.la & m) >>> 0) <= ((c.lb & m) >>> 0);
    default: return false;
  }
}
export function getZF(c: Cpu): boolean {
  return c.lazy & ZF ? (c.lres & c.lmask) === 0 : (c.flags & ZF) !== 0;
}
export function getSF(c: Cpu): boolean {
  return c.lazy & SF ? (c.lres & c.lsign) !== 0 : (c.flags & SF) !== 0;
}
export function getPF(c: Cpu): boolean {
  return c.lazy & PF ? PARITY[c.lres & 0xff] !== 0 : (c.flags & PF) !== 0;
}
export function getAF(c: Cpu): boolean {
  if (!(c.lazy & AF)) return (c.flags & AF) !== 0;
  return c.lop === LZ_LOGIC ? false : ((c.la ^ c.lb ^ c.lres) & AF) !== 0;
}
export function getOF(c: Cpu): boolean {
  if (!(c.lazy & OF)) return (c.flags & OF) !== 0;
  const s = c.lsign, r = c.lres, a = c.la, b = c.lb;
  switch (c.lop) {
    case LZ_ADD: case LZ_ADC: return ((a ^ r) & (b ^ r) & s) !== 0;
    case LZ_SUB: case LZ_SBB: return ((a ^ b) & (a ^ r) & s) !== 0;
    default: return false;
  }
}

/** Set or clear individual arithmetic flags, keeping the others (lazy ones are materialised first). */
export function setFlagBits(c: Cpu, mask: number, value: number): void {
  if (c.lazy & mask) flushFlags(c);
  c.flags = (c.flags & ~mask) | (value & mask);
}

/** Condition codes 0..15 as in Jcc/SETcc/CMOVcc (O NO B AE E NE BE A S NS P NP L GE LE G). */
export function testCond(c: Cpu, cc: number): boolean {
  switch (cc) {
    case 0: return getOF(c);
    case 1: return !getOF(c);
    case 2: return getCF(c);
    case 3: return !getCF(c);
    case 4: return getZF(c);
    case 5: return !getZF(c);
    case 6: return getCF(c) || getZF(c);
    case 7: return !getCF(c) && !getZF(c);
    case 8: return getSF(c);
    case 9: return !getSF(c);
    case 10: return getPF(c);
    case 11: return !getPF(c);
    case 12: return getSF(c) !== getOF(c);
    case 13: return getSF(c) === getOF(c);
    case 14: return getZF(c) || getSF(c) !== getOF(c);
    default: return !getZF(c) && getSF(c) === getOF(c);
  }
}

/** Make CF explicit in c.flags (INC/DEC keep CF while the other five arithmetic flags become lazy). */
export function materializeCF(c: Cpu): void {
  if (c.lazy & CF) {
    c.flags = getCF(c) ? c.flags | CF : c.flags & ~CF;
    c.lazy &= ~CF;
  }
}
