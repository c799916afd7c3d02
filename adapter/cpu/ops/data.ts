// Data movement: MOV (register, memory, moffs and immediate forms), MOV to/from segment registers,
// LEA, XCHG, MOVZX/MOVSX, CBW/CWDE, CWD/CDQ, LAHF/SAHF, XLAT and LDS/LES/LSS/LFS/LGS.
// Segment-register loads go through segments.loadDataSeg (protected-mode checks, real-mode loads).
import type { Cpu } from '../cpu';
import type { Handler, Insn } from '../insn';
import { SS } from '../insn';
import type { Factory } from './index';
import { AF, CF, PF, SF, ZF, setFlagBits } from '../flags';
import { operandSize } from '../opcodes';
import { getReg, setReg } from './operands';
import { rmwCheck } from './alu';
import { loadDataSeg } from '../segments';

const cache = new Map<string, Handler>();
function once(key: string, make: () => Handler): Handler {
  let h = cache.get(key);
  if (h === undefined) { h = make(); cache.set(key, h); }
  return h;
}

function isRegName(spec: string): boolean {
  return spec.length === 2 ? spec[0] !== 'E' && spec[0] !== 'G' && spec[0] !== 'I' && spec[0] !== 'O' && spec[0] !== 'M'
    : spec.length === 3 && spec[0] === 'e';
}

// ------------------------------------------------------------------ MOV

// Forms: store to r/m from G; load G from r/m; accumulator <-> moffs; immediate to register or r/m.
const EG_R = 0, EG_M = 1, GE_R = 2, GE_M = 3, A_MOFFS = 4, MOFFS_A = 5, RI = 6, EI_R = 7, EI_M = 8;

function movForm(i: Insn): number {
  const d = i.entry.operands[0], s = i.entry.operands[1];
  if (s[0] === 'I') return isRegName(d) ? RI : i.mem ? EI_M : EI_R;
  if (d[0] === 'O') return MOFFS_A;
  if (s[0] === 'O') return A_MOFFS;
  if (d[0] === 'E') return i.mem ? EG_M : EG_R;
  return i.mem ? GE_M : GE_R;
}

function mov32(form: number): Handler {
  switch (form) {
    case EG_R: return (c, i) => { c.r32[i.rm] = c.r32[i.reg]; };
    case EG_M: return (c, i) => { c.write32(i.seg, i.ea(c, i), c.r32[i.reg]); };
    case GE_R: return (c, i) => { c.r32[i.reg] = c.r32[i.rm]; };
    case GE_M: return (c, i) => { c.r32[i.reg] = c.read32(i.seg, i.ea(c, i)); };
    case A_MOFFS: return (c, i) => { c.r32[0] = c.read32(i.seg, i.ea(c, i)); };
    case MOFFS_A: return (c, i) => { c.write32(i.seg, i.ea(c, i), c.r32[0]); };
    case RI: return (c, i) => { c.r32[i.reg] = i.imm; };
    case EI_R: return (c, i) => { c.r32[i.rm] = i.imm; };
    default: return (c, i) => { c.write32(i.seg, i.ea(c, i), i.imm); };
  }
}

function movN(form: number, n: number): Handler {
  switch (form) {
    case EG_R: return (c, i) => { setReg(c, i.rm, n, getReg(c, i.reg, n)); };
    case EG_M: return (c, i) => { c.writeN(i.seg, i.ea(c, i), n, getReg(c, i.reg, n)); };
    case GE_R: return (c, i) => { setReg(c, i.reg, n, getReg(c, i.rm, n)); };
    case GE_M: return (c, i) => { setReg(c, i.reg, n, c.readN(i.seg, i.ea(c, i), n)); };
    case A_MOFFS: return (c, i) => { setReg(c, 0, n, c.readN(i.seg, i.ea(c, i), n)); };
    case MOFFS_A: return (c, i) => { c.writeN(i.seg, i.ea(c, i), n, getReg(c, 0, n)); };
    case RI: return (c, i) => { setReg(c, i.reg, n, i.imm); };
    case EI_R: return (c, i) => { setReg(c, i.rm, n, i.imm); };
    default: return (c, i) => { c.writeN(i.seg, i.ea(c, i), n, i.imm); };
  }
}

function movHandler(i: Insn): Handler {
  const form = movForm(i);
  const spec = form === MOFFS_A ? i.entry.operands[1] : i.entry.operands[0];
  const n = operandSize(spec, i);
  return once(`mov/${form}/${n}`, () => (n === 4 ? mov32(form) : movN(form, n)));
}

// ------------------------------------------------------------------ MOV Sreg

/** 8C: store a selector. A register destination with a 32-bit operand size is zero-extended (P6). */
function movFromSreg(i: Insn): Handler {
  const n = i.osize;
  return once(`movsreg/st/${n}/${i.mem}`, () => {
    if (i.mem) return (c, i) => { c.write16(i.seg, i.ea(c, i), c.segSel[i.reg]); };
    return n === 4 ? (c, i) => { c.r32[i.rm] = c.segSel[i.reg]; } : (c, i) => { c.r16[i.rm << 1] = c.segSel[i.reg]; };
  });
}

/** 8E: load a segment register (CS is #UD in the table). MOV SS opens an interrupt shadow. */
function movToSreg(c: Cpu, i: Insn): void {
  const sel = i.mem ? c.read16(i.seg, i.ea(c, i)) : c.r16[i.rm << 1];
  loadDataSeg(c, i.reg, sel);
  if (i.reg === SS) { c.shadow = true; c.ssShadow = true; }
}

/** LDS LES LSS LFS LGS: offset then selector from memory; the segment is loaded before the register. */
function lseg(c: Cpu, i: Insn): void {
  if (!i.mem) c.ud();
  const n = i.osize, ea = i.ea(c, i);
  const off = c.readN(i.seg, ea, n);
  const sel = c.read16(i.seg, i.a32 ? (ea + n) | 0 : (ea + n) & 0xffff);
  loadDataSeg(c, i.entry.sub, sel);
  setReg(c, i.reg, n, off);
}

// ------------------------------------------------------------------ LEA XCHG MOVZX MOVSX

function lea(i: Insn): Handler {
  if (!i.mem) return leaReg;
  return i.osize === 4 ? leaD : leaW;
}
/** LEA with a register operand is #UD. */
function leaReg(c: Cpu): void { c.ud(); }
function leaD(c: Cpu, i: Insn): void { c.r32[i.reg] = i.ea(c, i); }
function leaW(c: Cpu, i: Insn): void { c.r16[i.reg << 1] = i.ea(c, i); }

function xchgHandler(i: Insn): Handler {
  const d = i.entry.operands[0];
  const n = operandSize(d, i);
  if (d[0] !== 'E') {
    // 90+r: XCHG eAX, reg (i.reg)
    return once(`xchg/a/${n}`, () => (c, i) => { const t = getReg(c, 0, n); setReg(c, 0, n, getReg(c, i.reg, n)); setReg(c, i.reg, n, t); });
  }
  return once(`xchg/${n}/${i.mem}`, () => {
    if (i.mem) return (c, i) => {
      const seg = i.seg, ea = i.ea(c, i);
      rmwCheck(c, seg, ea, n);
      const v = c.readN(seg, ea, n);
      c.writeN(seg, ea, n, getReg(c, i.reg, n));
      setReg(c, i.reg, n, v);
    };
    return (c, i) => { const t = getReg(c, i.rm, n); setReg(c, i.rm, n, getReg(c, i.reg, n)); setReg(c, i.reg, n, t); };
  });
}

function extend(signed: boolean, i: Insn): Handler {
  const from = operandSize(i.entry.operands[1], i), n = i.osize, sh = 32 - from * 8;
  return once(`ext/${signed}/${from}/${n}/${i.mem}`, () => {
    if (i.mem) return (c, i) => {
      const v = c.readN(i.seg, i.ea(c, i), from);
      setReg(c, i.reg, n, signed ? (v << sh) >> sh : v);
    };
    if (n === 4 && from === 1) {
      return signed ? (c, i) => { c.r32[i.reg] = (getReg(c, i.rm, 1) << 24) >> 24; } : (c, i) => { c.r32[i.reg] = getReg(c, i.rm, 1); };
    }
    return (c, i) => {
      const v = getReg(c, i.rm, from);
      setReg(c, i.reg, n, signed ? (v << sh) >> sh : v);
    };
  });
}

// ------------------------------------------------------------------ accumulator sign extension, flags bytes, XLAT

function cbw(c: Cpu): void { c.r16[0] = (c.r8[0] << 24) >> 24; }
function cwde(c: Cpu): void { c.r32[0] = (c.r16[0] << 16) >> 16; }
function cwd(c: Cpu): void { c.r16[4] = c.r16[0] & 0x8000 ? 0xffff : 0; }
function cdq(c: Cpu): void { c.r32[2] = c.r32[0] >> 31; }

/** AH = SF:ZF:0:AF:0:PF:1:CF */
function lahf(c: Cpu): void { c.r8[1] = (c.getEflags() & (SF | ZF | AF | PF | CF)) | 2; }
function sahf(c: Cpu): void { setFlagBits(c, SF | ZF | AF | PF | CF, c.r8[1]); }

function xlat(c: Cpu, i: Insn): void {
  const off = i.a32 ? (c.r32[3] + c.r8[0]) | 0 : (c.r16[6] + c.r8[0]) & 0xffff;
  c.r8[0] = c.read8(i.seg, off);
}

export const handlers: Record<string, Factory> = {
  mov: movHandler,
  movsreg: (i) => (i.entry.sub === 0 ? movFromSreg(i) : movToSreg),
  lea,
  xchg: xchgHandler,
  movzx: (i) => extend(false, i),
  movsx: (i) => extend(true, i),
  cbw: (i) => (i.osize === 4 ? cwde : cbw),
  cwd: (i) => (i.osize === 4 ? cdq : cwd),
  lahf: () => lahf,
  sahf: () => sahf,
  xlat: () => xlat,
  lseg: () => lseg,
};
