// Bit instructions: BT BTS BTR BTC, BSF BSR, SETcc, CMOVcc, BSWAP.
// BTx with a register bit offset and a memory operand addresses beyond the operand: the offset is
// signed, and the operand-sized unit at ea + size * (offset >> log2(bits)) is accessed.
import type { Cpu } from '../cpu';
import { REG8 } from '../cpu';
import type { Handler, Insn } from '../insn';
import type { Factory } from './index';
import { CF, ZF, setFlagBits, testCond } from '../flags';
import { operandSize } from '../opcodes';
import { getReg, setReg } from './operands';
import { rmwCheck } from './alu';

const cache = new Map<string, Handler>();
function once(key: string, make: () => Handler): Handler {
  let h = cache.get(key);
  if (h === undefined) { h = make(); cache.set(key, h); }
  return h;
}

/** BT (0) BTS (1) BTR (2) BTC (3) of bit b in v: the new value. */
function btOp(op: number, v: number, b: number): number {
  switch (op) {
    case 1: return v | (1 << b);
    case 2: return v & ~(1 << b);
    case 3: return v ^ (1 << b);
    default: return v;
  }
}

function btHandler(i: Insn): Handler {
  const op = i.entry.sub;
  const n = operandSize(i.entry.operands[0], i), bits = n * 8, m = n === 4 ? -1 : 0xffff;
  const immediate = i.entry.operands[1][0] === 'I';
  return once(`bt/${op}/${n}/${immediate}/${i.mem}`, () => {
    if (!i.mem) return (c, i) => {
      const v = getReg(c, i.rm, n), b = (immediate ? i.imm : getReg(c, i.reg, n)) & (bits - 1);
      if (op !== 0) setReg(c, i.rm, n, btOp(op, v, b) & m);
      setFlagBits(c, CF, (v >>> b) & 1);
    };
    return (c, i) => {
      const seg = i.seg;
      let ea = i.ea(c, i), b: number;
      if (immediate) {
        b = i.imm & (bits - 1);
      } else {
        // Signed offset: the operand-sized unit holding the bit may lie below or above ea.
        const off = n === 4 ? c.r32[i.reg] : (c.r16[i.reg << 1] << 16) >> 16;
        const disp = n === 4 ? (off >> 5) * 4 : (off >> 4) * 2;
        ea = i.a32 ? (ea + disp) | 0 : (ea + disp) & 0xffff;
        b = off & (bits - 1);
      }
      if (op !== 0) rmwCheck(c, seg, ea, n);
      const v = c.readN(seg, ea, n);
      if (op !== 0) c.writeN(seg, ea, n, btOp(op, v, b) & m);
      setFlagBits(c, CF, (v >>> b) & 1);
    };
  });
}

function bsfHandler(reverse: boolean, i: Insn): Handler {
  const n = operandSize(i.entry.operands[0], i);
  return once(`bs/${reverse}/${n}/${i.mem}`, () => (c, i) => {
    const v = i.mem ? c.readN(i.seg, i.ea(c, i), n) : getReg(c, i.rm, n);
    if (v === 0) {
      // Destination left unchanged (what processors do; the SDM calls it undefined).
      setFlagBits(c, ZF, ZF);
      return;
    }
    setReg(c, i.reg, n, reverse ? 31 - Math.clz32(v) : 31 - Math.clz32(v & -v));
    setFlagBits(c, ZF, 0);
  });
}

function setccHandler(i: Insn): Handler {
  const cc = i.entry.sub;
  return once(`setcc/${cc}/${i.mem}`, () => {
    if (i.mem) return (c, i) => { c.write8(i.seg, i.ea(c, i), testCond(c, cc) ? 1 : 0); };
    return (c, i) => { c.r8[REG8[i.rm]] = testCond(c, cc) ? 1 : 0; };
  });
}

function cmovHandler(i: Insn): Handler {
  const cc = i.entry.sub, n = operandSize(i.entry.operands[0], i);
  return once(`cmov/${cc}/${n}/${i.mem}`, () => {
    // A memory source is read whether or not the condition holds (it can fault either way); a false
    // condition leaves the destination untouched in 32-bit code.
    if (i.mem) return (c, i) => {
      const v = c.readN(i.seg, i.ea(c, i), n);
      if (testCond(c, cc)) setReg(c, i.reg, n, v);
    };
    if (n === 4) return (c, i) => { if (testCond(c, cc)) c.r32[i.reg] = c.r32[i.rm]; };
    return (c, i) => { if (testCond(c, cc)) c.r16[i.reg << 1] = c.r16[i.rm << 1]; };
  });
}

function bswap32(c: Cpu, i: Insn): void {
  const v = c.r32[i.reg];
  c.r32[i.reg] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}
/** BSWAP with a 16-bit operand is undefined; processors clear the low word. */
function bswap16(c: Cpu, i: Insn): void {
  c.r16[i.reg << 1] = 0;
}

export const handlers: Record<string, Factory> = {
  bt: btHandler,
  bsf: (i) => bsfHandler(false, i),
  bsr: (i) => bsfHandler(true, i),
  setcc: setccHandler,
  cmovcc: cmovHandler,
  bswap: (i) => (i.osize === 4 ? bswap32 : bswap16),
};
