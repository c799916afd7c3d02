// The hottest instruction forms, executed inline by the run loop through one switch instead of a
// call through the record's handler: a megamorphic call per instruction costs more than the work of
// `add eax, ebx`. Each case does exactly what the form's handler in ops/ does (the differential
// vectors run both paths); anything unusual (prefixes, 16-bit operands, hooks) keeps fast = 0.
import type { Cpu } from './cpu';
import { CS, SS, type Insn } from './insn';
import { ARITH, CF, ZF, LZ_ADD, LZ_SUB, LZ_LOGIC, getCF, testCond } from './flags';

const S32 = 0x80000000 | 0;

export const F_NONE = 0;
// ALU register, register (fd op= fs): ADD OR AND SUB XOR CMP TEST
const F_ADD_RR = 1, F_OR_RR = 2, F_AND_RR = 3, F_SUB_RR = 4, F_XOR_RR = 5, F_CMP_RR = 6, F_TEST_RR = 7;
// ALU register, immediate
const F_ADD_RI = 8, F_OR_RI = 9, F_AND_RI = 10, F_SUB_RI = 11, F_XOR_RI = 12, F_CMP_RI = 13, F_TEST_RI = 14;
// ALU register, memory
const F_ADD_RM = 15, F_SUB_RM = 16, F_CMP_RM = 17;
const F_INC_R = 18, F_DEC_R = 19;
const F_MOV_RR = 20, F_MOV_RI = 21, F_MOV_RM = 22, F_MOV_MR = 23, F_MOV_MI = 24, F_LEA = 25;
const F_JCC = 26, F_JZ = 27, F_JNZ = 28, F_JMP = 29, F_CALL = 30, F_RET = 31, F_PUSH_R = 32, F_POP_R = 33;
const F_MOVZX_RM8 = 34, F_CMP_MR = 35, F_CMP_MI = 36;
/** Shift/rotate of a register by a constant: compiled blocks inline it; the interpreter calls its handler. */
const F_SHIFT_RI = 37;

const ALU_RR = [F_ADD_RR, F_OR_RR, 0, 0, F_AND_RR, F_SUB_RR, F_XOR_RR, F_CMP_RR];
const ALU_RI = [F_ADD_RI, F_OR_RI, 0, 0, F_AND_RI, F_SUB_RI, F_XOR_RI, F_CMP_RI];
const ALU_RM = [F_ADD_RM, 0, 0, 0, 0, F_SUB_RM, 0, F_CMP_RM];
const REGS = ['eAX', 'eCX', 'eDX', 'eBX', 'eSP', 'eBP', 'eSI', 'eDI'];

/** Choose the fast-path operation for a decoded record (0: run its handler). Sets fd/fs. */
export function classify(i: Insn): number {
  if (i.fault !== 0 || i.lock || i.rep !== 0 || i.osize !== 4) return F_NONE;
  const e = i.entry, ops = e.operands, key = e.handler;
  const o0 = ops[0], o1 = ops[1];
  const imm1 = o1 === 'Iz' || o1 === 'Ibs' || o1 === 'Iv';
  switch (key) {
    case 'alu': {
      const op = e.sub;
      if (o0 === 'Ev' && o1 === 'Gv' && !i.mem && ALU_RR[op]) return set(i, ALU_RR[op], i.rm, i.reg);
      if (o0 === 'Gv' && o1 === 'Ev' && !i.mem && ALU_RR[op]) return set(i, ALU_RR[op], i.reg, i.rm);
      if (o0 === 'Gv' && o1 === 'Ev' && i.mem && ALU_RM[op]) return set(i, ALU_RM[op], i.reg, 0);
      if (o0 === 'Ev' && imm1 && !i.mem && ALU_RI[op]) return set(i, ALU_RI[op], i.rm, 0);
      if (o0 === 'eAX' && imm1 && ALU_RI[op]) return set(i, ALU_RI[op], 0, 0);
      if (o0 === 'Ev' && o1 === 'Gv' && i.mem && op === 7) return set(i, F_CMP_MR, 0, i.reg);
      if (o0 === 'Ev' && imm1 && i.mem && op === 7) return set(i, F_CMP_MI, 0, 0);
      return F_NONE;
    }
    case 'test':
      if (o0 === 'Ev' && o1 === 'Gv' && !i.mem) return set(i, F_TEST_RR, i.rm, i.reg);
      if ((o0 === 'Ev' && !i.mem || o0 === 'eAX') && o1 === 'Iz') return set(i, F_TEST_RI, o0 === 'eAX' ? 0 : i.rm, 0);
      return F_NONE;
    case 'inc': case 'dec': {
      const f = key === 'inc' ? F_INC_R : F_DEC_R;
      if (REGS.includes(o0)) return set(i, f, i.reg, 0);
      if (o0 === 'Ev' && !i.mem) return set(i, f, i.rm, 0);
      return F_NONE;
    }
    case 'mov':
      if (o0 === 'Ev' && o1 === 'Gv') return i.mem ? set(i, F_MOV_MR, 0, i.reg) : set(i, F_MOV_RR, i.rm, i.reg);
      if (o0 === 'Gv' && o1 === 'Ev') return i.mem ? set(i, F_MOV_RM, i.reg, 0) : set(i, F_MOV_RR, i.reg, i.rm);
      if (REGS.includes(o0) && o1 === 'Iv') return set(i, F_MOV_RI, i.reg, 0);
      if (o0 === 'Ev' && o1 === 'Iz') return i.mem ? set(i, F_MOV_MI, 0, 0) : set(i, F_MOV_RI, i.rm, 0);
      return F_NONE;
    case 'movzx':
      if (o1 === 'Eb' && i.mem) return set(i, F_MOVZX_RM8, i.reg, 0);
      return F_NONE;
    case 'lea':
      return i.a32 && i.mem ? set(i, F_LEA, i.reg, 0) : F_NONE;
    case 'jcc':
      return set(i, e.sub === 4 ? F_JZ : e.sub === 5 ? F_JNZ : F_JCC, 0, 0);
    case 'jmp':
      return o0 === 'Jz' || o0 === 'Jb' ? set(i, F_JMP, 0, 0) : F_NONE;
    case 'call':
      return o0 === 'Jz' ? set(i, F_CALL, 0, 0) : F_NONE;
    case 'ret':
      return ops.length === 0 ? set(i, F_RET, 0, 0) : F_NONE;
    case 'push':
      return REGS.includes(o0) ? set(i, F_PUSH_R, 0, i.reg) : F_NONE;
    case 'pop':
      return REGS.includes(o0) ? set(i, F_POP_R, i.reg, 0) : F_NONE;
    case 'shift':
      return o0 === 'Ev' && !i.mem && (o1 === 'Ib' || o1 === '1') && [0, 1, 4, 5, 6, 7].includes(e.sub) ? set(i, F_SHIFT_RI, i.rm, 0) : F_NONE;
    default:
      return F_NONE;
  }
}

function set(i: Insn, f: number, fd: number, fs: number): number {
  i.fd = fd;
  i.fs = fs;
  return f;
}

function arith(c: Cpu, op: number, r: number, a: number, b: number): void {
  c.lop = op; c.lres = r; c.la = a; c.lb = b; c.lmask = -1; c.lsign = S32; c.lazy = ARITH;
}

function jumpTo(c: Cpu, t: number): void {
  if ((t >>> 0) > (c.segLimit[CS] >>> 0)) c.gp(0);
  c.eip = t;
}

/** Execute a record whose fast != 0. cpu.eip already points at the next instruction. */
export function runFast(c: Cpu, i: Insn): void {
  const r = c.r32;
  switch (i.fast) {
    case F_ADD_RR: { const a = r[i.fd], b = r[i.fs], x = (a + b) | 0; r[i.fd] = x; arith(c, LZ_ADD, x, a, b); return; }
    case F_OR_RR: { const x = r[i.fd] | r[i.fs]; r[i.fd] = x; arith(c, LZ_LOGIC, x, 0, 0); return; }
    case F_AND_RR: { const x = r[i.fd] & r[i.fs]; r[i.fd] = x; arith(c, LZ_LOGIC, x, 0, 0); return; }
    case F_SUB_RR: { const a = r[i.fd], b = r[i.fs], x = (a - b) | 0; r[i.fd] = x; arith(c, LZ_SUB, x, a, b); return; }
    case F_XOR_RR: { const x = r[i.fd] ^ r[i.fs]; r[i.fd] = x; arith(c, LZ_LOGIC, x, 0, 0); return; }
    case F_CMP_RR: { const a = r[i.fd], b = r[i.fs]; arith(c, LZ_SUB, (a - b) | 0, a, b); return; }
    case F_TEST_RR: arith(c, LZ_LOGIC, r[i.fd] & r[i.fs], 0, 0); return;
    case F_ADD_RI: { const a = r[i.fd], b = i.imm, x = (a + b) | 0; r[i.fd] = x; arith(c, LZ_ADD, x, a, b); return; }
    case F_OR_RI: { const x = r[i.fd] | i.imm; r[i.fd] = x; arith(c, LZ_LOGIC, x, 0, 0); return; }
    case F_AND_RI: { const x = r[i.fd] & i.imm; r[i.fd] = x; arith(c, LZ_LOGIC, x, 0, 0); return; }
    case F_SUB_RI: { const a = r[i.fd], b = i.imm, x = (a - b) | 0; r[i.fd] = x; arith(c, LZ_SUB, x, a, b); return; }
    case F_XOR_RI: { const x = r[i.fd] ^ i.imm; r[i.fd] = x; arith(c, LZ_LOGIC, x, 0, 0); return; }
    case F_CMP_RI: { const a = r[i.fd], b = i.imm; arith(c, LZ_SUB, (a - b) | 0, a, b); return; }
    case F_TEST_RI: arith(c, LZ_LOGIC, r[i.fd] & i.imm, 0, 0); return;
    case F_ADD_RM: { const b = c.read32(i.seg, i.ea(c, i)), a = r[i.fd], x = (a + b) | 0; r[i.fd] = x; arith(c, LZ_ADD, x, a, b); return; }
    case F_SUB_RM: { const b = c.read32(i.seg, i.ea(c, i)), a = r[i.fd], x = (a - b) | 0; r[i.fd] = x; arith(c, LZ_SUB, x, a, b); return; }
    case F_CMP_RM: { const b = c.read32(i.seg, i.ea(c, i)), a = r[i.fd]; arith(c, LZ_SUB, (a - b) | 0, a, b); return; }
    case F_CMP_MR: { const a = c.read32(i.seg, i.ea(c, i)), b = r[i.fs]; arith(c, LZ_SUB, (a - b) | 0, a, b); return; }
    case F_CMP_MI: { const a = c.read32(i.seg, i.ea(c, i)), b = i.imm; arith(c, LZ_SUB, (a - b) | 0, a, b); return; }
    case F_INC_R: case F_DEC_R: {
      // INC/DEC keep CF: materialise it before the other flags become lazy.
      if (c.lazy & CF) { c.flags = getCF(c) ? c.flags | CF : c.flags & ~CF; }
      const a = r[i.fd], inc = i.fast === F_INC_R, x = inc ? (a + 1) | 0 : (a - 1) | 0;
      r[i.fd] = x;
      c.lop = inc ? LZ_ADD : LZ_SUB; c.lres = x; c.la = a; c.lb = 1; c.lmask = -1; c.lsign = S32; c.lazy = ARITH & ~CF;
      return;
    }
    case F_MOV_RR: r[i.fd] = r[i.fs]; return;
    case F_MOV_RI: r[i.fd] = i.imm; return;
    case F_MOV_RM: r[i.fd] = c.read32(i.seg, i.ea(c, i)); return;
    case F_MOV_MR: c.write32(i.seg, i.ea(c, i), r[i.fs]); return;
    case F_MOV_MI: c.write32(i.seg, i.ea(c, i), i.imm); return;
    case F_MOVZX_RM8: r[i.fd] = c.read8(i.seg, i.ea(c, i)); return;
    case F_LEA: r[i.fd] = i.ea(c, i); return;
    case F_JZ: if (c.lazy & ZF ? (c.lres & c.lmask) === 0 : (c.flags & ZF) !== 0) jumpTo(c, (c.eip + i.imm) | 0); return;
    case F_JNZ: if (c.lazy & ZF ? (c.lres & c.lmask) !== 0 : (c.flags & ZF) === 0) jumpTo(c, (c.eip + i.imm) | 0); return;
    case F_JCC: if (testCond(c, i.entry.sub)) jumpTo(c, (c.eip + i.imm) | 0); return;
    case F_JMP: jumpTo(c, (c.eip + i.imm) | 0); return;
    case F_CALL: { const t = (c.eip + i.imm) | 0; if ((t >>> 0) > (c.segLimit[CS] >>> 0)) c.gp(0); c.push32(c.eip); c.eip = t; return; }
    case F_RET: { const sp = c.getSp(), t = c.read32(SS, sp); jumpTo(c, t); c.setSp(c.stack32 ? (sp + 4) | 0 : (sp + 4) & 0xffff); return; }
    case F_PUSH_R: c.push32(r[i.fs]); return;
    case F_POP_R: { const v = c.pop32(); r[i.fd] = v; return; }
    default: i.exec(c, i);
  }
}
