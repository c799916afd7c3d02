// Shifts and rotates: ROL ROR RCL RCR SHL/SAL SHR SAR by 1, CL or imm8, and SHLD/SHRD. The count is
// masked to 5 bits; RCL/RCR rotate through CF over width+1 bits. A masked count of zero changes nothing
// (not even flags). Rotates touch only CF and OF; shifts set SF/ZF/PF from the result, CF from the last
// bit out and OF for one-bit counts (the same formula is used for longer counts, where the SDM leaves OF
// undefined). Handlers are cached per (kind, size, count source, register/memory).
import type { Cpu } from '../cpu';
import type { Handler, Insn } from '../insn';
import type { Factory } from './index';
import { CF, OF, getCF, setFlagBits, setResultFlags } from '../flags';
import { operandSize } from '../opcodes';
import { getReg, setReg } from './operands';
import { maskOf, rmwCheck } from './alu';

const cache = new Map<string, Handler>();
function once(key: string, make: () => Handler): Handler {
  let h = cache.get(key);
  if (h === undefined) { h = make(); cache.set(key, h); }
  return h;
}

/** Count sources. */
const C_IMM = 0, C_ONE = 1, C_CL = 2;
function countSource(spec: string): number {
  return spec === 'CL' ? C_CL : spec === '1' ? C_ONE : C_IMM;
}
function count(c: Cpu, i: Insn, src: number): number {
  return (src === C_CL ? c.r32[1] : src === C_ONE ? 1 : i.imm) & 0x1f;
}

/**
 * Result of shift/rotate kind (0..7 = ROL ROR RCL RCR SHL SHR SAL SAR) of v (masked to `bits`) by
 * cnt (1..31). No side effects.
 */
function shiftCalc(c: Cpu, kind: number, v: number, cnt: number, bits: number, m: number): number {
  switch (kind) {
    case 0: { const k = cnt & (bits - 1); return k === 0 ? v : ((v << k) | (v >>> (bits - k))) & m; }
    case 1: { const k = cnt & (bits - 1); return k === 0 ? v : ((v >>> k) | (v << (bits - k))) & m; }
    case 2: {
      const k = cnt % (bits + 1);
      if (k === 0) return v;
      const cf = getCF(c) ? 1 : 0;
      const back = bits + 1 - k; // bits that wrap round to the bottom
      return ((v << k) | (cf << (k - 1)) | (back < 32 ? v >>> back : 0)) & m;
    }
    case 3: {
      const k = cnt % (bits + 1);
      if (k === 0) return v;
      const cf = getCF(c) ? 1 : 0;
      const back = bits + 1 - k;
      return ((v >>> k) | (cf << (bits - k)) | (back < 32 ? v << back : 0)) & m;
    }
    case 4: case 6: return (v << cnt) & m;
    case 5: return (v >>> cnt) & m;
    default: { const sv = (v << (32 - bits)) >> (32 - bits); return (sv >> cnt) & m; }
  }
}

/** Set the flags of a shift/rotate from the operand v, the masked count and the result r. */
function shiftFlags(c: Cpu, kind: number, v: number, cnt: number, r: number, bits: number, size: number): void {
  const top = bits - 1;
  let cf: number, of: number;
  switch (kind) {
    case 0: // ROL: CF = low bit of the result, even when cnt is a multiple of the width
      cf = r & 1;
      of = ((r >>> top) ^ cf) & 1;
      setFlagBits(c, CF | OF, cf | (of ? OF : 0));
      return;
    case 1: // ROR: CF = top bit of the result
      cf = (r >>> top) & 1;
      of = ((r >>> top) ^ (r >>> (top - 1))) & 1;
      setFlagBits(c, CF | OF, cf | (of ? OF : 0));
      return;
    case 2: { // RCL
      const k = cnt % (bits + 1);
      if (k === 0) return;
      cf = (v >>> (bits - k)) & 1;
      of = ((r >>> top) ^ cf) & 1;
      setFlagBits(c, CF | OF, cf | (of ? OF : 0));
      return;
    }
    case 3: { // RCR
      const k = cnt % (bits + 1);
      if (k === 0) return;
      cf = (v >>> (k - 1)) & 1;
      of = ((r >>> top) ^ (r >>> (top - 1))) & 1;
      setFlagBits(c, CF | OF, cf | (of ? OF : 0));
      return;
    }
    case 4: case 6: // SHL
      cf = ((v << (cnt - 1)) >>> top) & 1;
      of = ((r >>> top) ^ cf) & 1;
      break;
    case 5: // SHR
      cf = (v >>> (cnt - 1)) & 1;
      of = (v >>> top) & 1;
      break;
    default: { // SAR
      const sv = (v << (32 - bits)) >> (32 - bits);
      cf = (sv >> (cnt - 1)) & 1;
      of = 0;
    }
  }
  setResultFlags(c, r, size, cf | (of ? OF : 0));
}

function shiftHandler(i: Insn): Handler {
  const kind = i.entry.sub;
  const n = operandSize(i.entry.operands[0], i), bits = n * 8, m = maskOf(n);
  const src = countSource(i.entry.operands[1]);
  return once(`shift/${kind}/${n}/${src}/${i.mem}`, () => {
    // Memory forms access the operand as a read-modify-write even when the count is zero.
    if (i.mem) return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      rmwCheck(c, seg, ea, n);
      const v = c.readN(seg, ea, n), cnt = count(c, i, src);
      if (cnt === 0) return;
      const r = shiftCalc(c, kind, v, cnt, bits, m);
      c.writeN(seg, ea, n, r);
      shiftFlags(c, kind, v, cnt, r, bits, n);
    };
    if (n === 4) return (c, i) => {
      const cnt = count(c, i, src);
      if (cnt === 0) return;
      const v = c.r32[i.rm], r = shiftCalc(c, kind, v, cnt, 32, -1);
      c.r32[i.rm] = r;
      shiftFlags(c, kind, v, cnt, r, 32, 4);
    };
    return (c, i) => {
      const cnt = count(c, i, src);
      if (cnt === 0) return;
      const v = getReg(c, i.rm, n), r = shiftCalc(c, kind, v, cnt, bits, m);
      setReg(c, i.rm, n, r);
      shiftFlags(c, kind, v, cnt, r, bits, n);
    };
  });
}

// ------------------------------------------------------------------ SHLD SHRD

/** CF of the last SHLD/SHRD computation (module scratch, so the calculation stays allocation-free). */
let dblCF = 0;

/**
 * SHLD (left) or SHRD of destination d with source s by cnt (1..31). 16-bit counts above 16 (undefined
 * by the SDM) shift the 48-bit value d:s:s left (s:s:d right), as this host's processors do.
 */
function doubleShift(left: boolean, d: number, s: number, cnt: number, bits: number): number {
  if (bits === 32) {
    if (left) { dblCF = (d >>> (32 - cnt)) & 1; return (d << cnt) | (s >>> (32 - cnt)); }
    dblCF = (d >>> (cnt - 1)) & 1;
    return (d >>> cnt) | (s << (32 - cnt));
  }
  if (cnt <= 16) {
    if (left) { dblCF = (d >>> (16 - cnt)) & 1; return ((d << cnt) | (s >>> (16 - cnt))) & 0xffff; }
    dblCF = (d >>> (cnt - 1)) & 1;
    return ((d >>> cnt) | (s << (16 - cnt))) & 0xffff;
  }
  const ss = (s << 16) | s;
  if (left) { dblCF = (ss >>> (48 - cnt)) & 1; return (ss >>> (32 - cnt)) & 0xffff; }
  dblCF = (ss >>> (cnt - 17)) & 1;
  return (ss >>> (cnt - 16)) & 0xffff;
}

/** OF: the sign changed (defined for one-bit counts; the same formula otherwise). */
function shxdFlags(c: Cpu, d: number, r: number, cf: number, n: number, top: number): void {
  setResultFlags(c, r, n, cf | (((d ^ r) >>> top) & 1 ? OF : 0));
}

function shxdHandler(left: boolean, i: Insn): Handler {
  const n = operandSize(i.entry.operands[0], i), bits = n * 8, top = bits - 1;
  const src = countSource(i.entry.operands[2]);
  return once(`shxd/${left}/${n}/${src}/${i.mem}`, () => {
    if (i.mem) return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      rmwCheck(c, seg, ea, n);
      const d = c.readN(seg, ea, n), cnt = count(c, i, src);
      if (cnt === 0) return;
      const r = doubleShift(left, d, getReg(c, i.reg, n), cnt, bits), cf = dblCF;
      c.writeN(seg, ea, n, r);
      shxdFlags(c, d, r, cf, n, top);
    };
    return (c, i) => {
      const cnt = count(c, i, src);
      if (cnt === 0) return;
      const d = getReg(c, i.rm, n), r = doubleShift(left, d, getReg(c, i.reg, n), cnt, bits);
      setReg(c, i.rm, n, r);
      shxdFlags(c, d, r, dblCF, n, top);
    };
  });
}

export const handlers: Record<string, Factory> = {
  shift: shiftHandler,
  shld: (i) => shxdHandler(true, i),
  shrd: (i) => shxdHandler(false, i),
};
