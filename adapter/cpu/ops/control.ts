// Control transfers. Near JMP/CALL/RET, Jcc, LOOP and JCXZ are the hot path: one handler per
// condition and operand size, no allocation, the target limit-checked against CS (#GP(0)); with a
// 16-bit operand size EIP wraps to 16 bits. Far JMP/CALL/RET and IRET are in far.ts; INT n, INT3,
// INTO and INT1 in interrupts.ts; SYSENTER/SYSEXIT here.
import type { Cpu } from '../cpu';
import { CR0_PE } from '../cpu';
import type { Handler, Insn } from '../insn';
import { CS, SS } from '../insn';
import type { Factory } from './index';
import { getCF, getZF, getSF, getOF, getPF, IF, RF, VM } from '../flags';
import { jumpFar, callFar, returnFar, iret } from '../far';
import { softwareInterrupt, softwareException, icebp } from '../interrupts';

// ------------------------------------------------------------------ near jumps

/** Jump to a 32-bit target offset (already computed), checked against the CS limit. */
function go32(c: Cpu, t: number): void {
  if ((t >>> 0) > (c.segLimit[CS] >>> 0)) c.gp(0);
  c.eip = t;
}
function go16(c: Cpu, t: number): void {
  t &= 0xffff;
  if (t > (c.segLimit[CS] >>> 0)) c.gp(0);
  c.eip = t;
}

const jmpRel32: Handler = (c, i) => go32(c, (c.eip + i.imm) | 0);
const jmpRel16: Handler = (c, i) => go16(c, c.eip + i.imm);
const jmpInd32: Handler = (c, i) => go32(c, i.mem ? c.read32(i.seg, i.ea(c, i)) : c.r32[i.rm]);
const jmpInd16: Handler = (c, i) => go16(c, i.mem ? c.read16(i.seg, i.ea(c, i)) : c.r16[i.rm << 1]);

// Conditional jumps: one function per condition (each inlines its flag test).
const JCC32: Handler[] = [
  (c, i) => { if (getOF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (!getOF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (getCF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (!getCF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (getZF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (!getZF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (getCF(c) || getZF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (!getCF(c) && !getZF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (getSF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (!getSF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (getPF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (!getPF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (getSF(c) !== getOF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (getSF(c) === getOF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (getZF(c) || getSF(c) !== getOF(c)) go32(c, (c.eip + i.imm) | 0); },
  (c, i) => { if (!getZF(c) && getSF(c) === getOF(c)) go32(c, (c.eip + i.imm) | 0); },
];
const JCC16: Handler[] = [
  (c, i) => { if (getOF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (!getOF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (getCF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (!getCF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (getZF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (!getZF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (getCF(c) || getZF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (!getCF(c) && !getZF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (getSF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (!getSF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (getPF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (!getPF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (getSF(c) !== getOF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (getSF(c) === getOF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (getZF(c) || getSF(c) !== getOF(c)) go16(c, c.eip + i.imm); },
  (c, i) => { if (!getZF(c) && getSF(c) === getOF(c)) go16(c, c.eip + i.imm); },
];

// ------------------------------------------------------------------ near calls and returns

/** Push the return address, then jump; the target is checked before anything is pushed. */
const callRel32: Handler = (c, i) => {
  const t = (c.eip + i.imm) | 0;
  if ((t >>> 0) > (c.segLimit[CS] >>> 0)) c.gp(0);
  c.push32(c.eip);
  c.eip = t;
};
const callRel16: Handler = (c, i) => {
  const t = (c.eip + i.imm) & 0xffff;
  if (t > (c.segLimit[CS] >>> 0)) c.gp(0);
  c.push16(c.eip);
  c.eip = t;
};
const callInd32: Handler = (c, i) => {
  const t = i.mem ? c.read32(i.seg, i.ea(c, i)) : c.r32[i.rm];
  if ((t >>> 0) > (c.segLimit[CS] >>> 0)) c.gp(0);
  c.push32(c.eip);
  c.eip = t;
};
const callInd16: Handler = (c, i) => {
  const t = i.mem ? c.read16(i.seg, i.ea(c, i)) : c.r16[i.rm << 1];
  if (t > (c.segLimit[CS] >>> 0)) c.gp(0);
  c.push16(c.eip);
  c.eip = t;
};

/** RET: read, check, then release (a failed check leaves ESP unchanged). i.imm is 0 without Iw. */
const ret32: Handler = (c, i) => {
  if (c.stack32) {
    const sp = c.r32[4];
    const t = c.read32(SS, sp);
    if ((t >>> 0) > (c.segLimit[CS] >>> 0)) c.gp(0);
    c.r32[4] = (sp + 4 + i.imm) | 0;
    c.eip = t;
  } else {
    const sp = c.r16[8];
    const t = c.read32(SS, sp);
    if ((t >>> 0) > (c.segLimit[CS] >>> 0)) c.gp(0);
    c.r16[8] = sp + 4 + i.imm;
    c.eip = t;
  }
};
const ret16: Handler = (c, i) => {
  const sp = c.stack32 ? c.r32[4] : c.r16[8];
  const t = c.read16(SS, sp);
  if (t > (c.segLimit[CS] >>> 0)) c.gp(0);
  if (c.stack32) c.r32[4] = (sp + 2 + i.imm) | 0; else c.r16[8] = sp + 2 + i.imm;
  c.eip = t;
};

// ------------------------------------------------------------------ LOOP and JCXZ
// The counter is CX or ECX by address size; the target wraps by operand size.

function loopFactory(i: Insn): Handler {
  const kind = i.entry.sub; // 0 LOOPNE, 1 LOOPE, 2 LOOP
  if (i.a32) {
    if (i.osize === 4) {
      if (kind === 2) return (c, i) => { const n = (c.r32[1] - 1) | 0; c.r32[1] = n; if (n !== 0) go32(c, (c.eip + i.imm) | 0); };
      if (kind === 1) return (c, i) => { const n = (c.r32[1] - 1) | 0; c.r32[1] = n; if (n !== 0 && getZF(c)) go32(c, (c.eip + i.imm) | 0); };
      return (c, i) => { const n = (c.r32[1] - 1) | 0; c.r32[1] = n; if (n !== 0 && !getZF(c)) go32(c, (c.eip + i.imm) | 0); };
    }
    if (kind === 2) return (c, i) => { const n = (c.r32[1] - 1) | 0; c.r32[1] = n; if (n !== 0) go16(c, c.eip + i.imm); };
    if (kind === 1) return (c, i) => { const n = (c.r32[1] - 1) | 0; c.r32[1] = n; if (n !== 0 && getZF(c)) go16(c, c.eip + i.imm); };
    return (c, i) => { const n = (c.r32[1] - 1) | 0; c.r32[1] = n; if (n !== 0 && !getZF(c)) go16(c, c.eip + i.imm); };
  }
  if (i.osize === 4) {
    if (kind === 2) return (c, i) => { const n = (c.r16[2] - 1) & 0xffff; c.r16[2] = n; if (n !== 0) go32(c, (c.eip + i.imm) | 0); };
    if (kind === 1) return (c, i) => { const n = (c.r16[2] - 1) & 0xffff; c.r16[2] = n; if (n !== 0 && getZF(c)) go32(c, (c.eip + i.imm) | 0); };
    return (c, i) => { const n = (c.r16[2] - 1) & 0xffff; c.r16[2] = n; if (n !== 0 && !getZF(c)) go32(c, (c.eip + i.imm) | 0); };
  }
  if (kind === 2) return (c, i) => { const n = (c.r16[2] - 1) & 0xffff; c.r16[2] = n; if (n !== 0) go16(c, c.eip + i.imm); };
  if (kind === 1) return (c, i) => { const n = (c.r16[2] - 1) & 0xffff; c.r16[2] = n; if (n !== 0 && getZF(c)) go16(c, c.eip + i.imm); };
  return (c, i) => { const n = (c.r16[2] - 1) & 0xffff; c.r16[2] = n; if (n !== 0 && !getZF(c)) go16(c, c.eip + i.imm); };
}

function jcxzFactory(i: Insn): Handler {
  if (i.a32) {
    return i.osize === 4 ? (c, i) => { if (c.r32[1] === 0) go32(c, (c.eip + i.imm) | 0); }
      : (c, i) => { if (c.r32[1] === 0) go16(c, c.eip + i.imm); };
  }
  return i.osize === 4 ? (c, i) => { if (c.r16[2] === 0) go32(c, (c.eip + i.imm) | 0); }
    : (c, i) => { if (c.r16[2] === 0) go16(c, c.eip + i.imm); };
}

// ------------------------------------------------------------------ far transfers (slow path)

/** m16:16 / m16:32 operand: offset first, then the selector. */
function farPointer(c: Cpu, i: Insn): [number, number] {
  const ea = i.ea(c, i);
  const off = i.osize === 4 ? c.read32(i.seg, ea) : c.read16(i.seg, ea);
  const sel = c.read16(i.seg, (ea + i.osize) & (i.a32 ? -1 : 0xffff));
  return [sel, off];
}

const jmpFarDirect: Handler = (c, i) => jumpFar(c, i.imm2, i.imm, i.osize);
const jmpFarIndirect: Handler = (c, i) => { const [sel, off] = farPointer(c, i); jumpFar(c, sel, off, i.osize); };
const callFarDirect: Handler = (c, i) => callFar(c, i.imm2, i.imm, i.osize);
const callFarIndirect: Handler = (c, i) => { const [sel, off] = farPointer(c, i); callFar(c, sel, off, i.osize); };
const retFar: Handler = (c, i) => returnFar(c, i.osize, i.entry.operands.length ? i.imm & 0xffff : 0);
const iretH: Handler = (c, i) => iret(c, i.osize);

// ------------------------------------------------------------------ software interrupts

const intN: Handler = (c, i) => softwareInterrupt(c, i.imm & 0xff);
const int3: Handler = (c) => softwareException(c, 3);
const into: Handler = (c) => { if (getOF(c)) softwareException(c, 4); };
const int1: Handler = (c) => icebp(c);

// ------------------------------------------------------------------ SYSENTER / SYSEXIT

// Literal values (AR_P | AR_S | AR_DB | AR_G | type): module-level code must not read cpu.ts's exports,
// which may still be initialising when this file loads (cpu.ts -> blocks -> decoder -> ops -> here).
const FLAT_CODE = 0xc09b;
const FLAT_DATA = 0xc093;

/** SYSENTER: to CPL 0 with flat segments from IA32_SYSENTER_CS (and CS+8); #GP(0) in real mode or when CS is null. */
const sysenter: Handler = (c) => {
  if (!(c.cr0 & CR0_PE) || (c.sysenterCs & 0xfffc) === 0) c.gp(0);
  c.setEflags(c.getEflags() & ~(VM | IF | RF));
  const cs = c.sysenterCs & 0xfffc;
  c.loadSegCache(CS, cs, 0, -1, FLAT_CODE);
  c.loadSegCache(SS, (cs + 8) & 0xffff, 0, -1, FLAT_DATA);
  c.setCpl(0, 'sysenter');
  c.r32[4] = c.sysenterEsp;
  c.eip = c.sysenterEip;
  c.brk = true;
};

/** SYSEXIT: to CPL 3 at EDX with stack ECX; #GP(0) unless protected mode at CPL 0 with a non-null SYSENTER_CS. */
const sysexit: Handler = (c) => {
  if (!(c.cr0 & CR0_PE) || c.isV86() || c.cpl !== 0 || (c.sysenterCs & 0xfffc) === 0) c.gp(0);
  const cs = c.sysenterCs & 0xfffc;
  c.loadSegCache(CS, ((cs + 16) | 3) & 0xffff, 0, -1, FLAT_CODE | (3 << 5));
  c.loadSegCache(SS, ((cs + 24) | 3) & 0xffff, 0, -1, FLAT_DATA | (3 << 5));
  c.setCpl(3, 'sysexit');
  c.r32[4] = c.r32[1];
  c.eip = c.r32[2];
  c.brk = true;
};

export const handlers: Record<string, Factory> = {
  jmp: (i) => {
    if (i.entry.operands[0] === 'Ev') return i.osize === 4 ? jmpInd32 : jmpInd16;
    return i.osize === 4 ? jmpRel32 : jmpRel16;
  },
  call: (i) => {
    if (i.entry.operands[0] === 'Ev') return i.osize === 4 ? callInd32 : callInd16;
    return i.osize === 4 ? callRel32 : callRel16;
  },
  ret: (i) => {
    if (!i.entry.operands.length) i.imm = 0;
    else i.imm &= 0xffff;
    return i.osize === 4 ? ret32 : ret16;
  },
  jcc: (i) => (i.osize === 4 ? JCC32 : JCC16)[i.entry.sub],
  loop: loopFactory,
  jcxz: jcxzFactory,
  jmpf: (i) => (i.entry.operands[0] === 'Ap' ? jmpFarDirect : jmpFarIndirect),
  callf: (i) => (i.entry.operands[0] === 'Ap' ? callFarDirect : callFarIndirect),
  retf: () => retFar,
  iret: () => iretH,
  int: () => intN,
  int3: () => int3,
  into: () => into,
  int1: () => int1,
  sysenter: () => sysenter,
  sysexit: () => sysexit,
};
