// System instructions: CLI/STI and PUSHF/POPF with their IOPL, VM, VIF (VME/PVI), AC and RF rules;
// HLT; the descriptor-table and control/debug-register instructions (privileged.ts, debugregs.ts do
// the work); MSRs, TSC and performance counters; CPUID; LAR/LSL/VERR/VERW/ARPL; and the instructions
// of units this processor does not have (x87, SIMD, VMX, MONITOR/MWAIT, RSM).
import type { Cpu } from '../cpu';
import { CR0_PE, CR0_EM, CR0_TS, CR0_MP, CR4_TSD, CR4_PCE, CR4_VME, CR4_PVI } from '../cpu';
import type { Handler, Insn } from '../insn';
import type { Factory } from './index';
import { flushFlags, setFlagBits, IF, IOPL, VM, VIF, VIP, RF, TF, ZF } from '../flags';
import { readCr, writeCr, lmsw, clts, loadDtr, storeDtr, lldt, ltr, invlpg } from '../privileged';
import { readDr, writeDr } from '../debugregs';
import { readMsr, writeMsr, tsc } from '../msr';
import { cpuid } from '../cpuid';
import { lar, lsl, verify } from '../segments';

function requireCpl0(c: Cpu): void {
  if (c.cpl !== 0) c.gp(0);
}
/** LLDT SLDT LTR STR LAR LSL VERR VERW ARPL are not recognised in real and virtual-8086 mode. */
function requireProtected(c: Cpu): void {
  if (!(c.cr0 & CR0_PE) || c.isV86()) c.ud();
}
function iopl(c: Cpu): number { return (c.flags & IOPL) >>> 12; }

function setIf(c: Cpu, on: boolean, cause: string): void {
  const was = (c.flags & IF) !== 0;
  if (was === on) return;
  c.flags = on ? c.flags | IF : c.flags & ~IF;
  c.brk = true;
  if (on) c.shadow = true; // STI: interrupts wait one more instruction
  c.emit({ kind: 'if', value: on, cause });
}

// ------------------------------------------------------------------ CLI STI

const cli: Handler = (c) => {
  if (!(c.cr0 & CR0_PE)) setIf(c, false, 'cli');
  else if (!c.isV86()) {
    if (iopl(c) >= c.cpl) setIf(c, false, 'cli');
    else if (c.cpl === 3 && c.cr4 & CR4_PVI) c.flags &= ~VIF;
    else c.gp(0);
  } else if (iopl(c) === 3) setIf(c, false, 'cli');
  else if (c.cr4 & CR4_VME) c.flags &= ~VIF;
  else c.gp(0);
};

const sti: Handler = (c) => {
  if (!(c.cr0 & CR0_PE)) setIf(c, true, 'sti');
  else if (!c.isV86()) {
    if (iopl(c) >= c.cpl) setIf(c, true, 'sti');
    else if (c.cpl === 3 && c.cr4 & CR4_PVI && !(c.flags & VIP)) c.flags |= VIF;
    else c.gp(0);
  } else if (iopl(c) === 3) setIf(c, true, 'sti');
  else if (c.cr4 & CR4_VME && !(c.flags & VIP)) c.flags |= VIF;
  else c.gp(0);
};

// ------------------------------------------------------------------ PUSHF POPF

/** PUSHF: VM and RF read as 0 in the image; v86 with IOPL < 3 needs VME (16-bit, IF shows VIF) or #GP(0). */
function pushf(c: Cpu, n: number): void {
  flushFlags(c);
  let f = c.flags;
  if (c.flags & VM && iopl(c) < 3) {
    if (!(c.cr4 & CR4_VME) || n !== 2) c.gp(0);
    f = (f & ~IF) | (f & VIF ? IF : 0) | IOPL;
  }
  if (n === 4) c.push32(f & 0x00fcffff); else c.push16(f & 0xffff);
}

/**
 * POPF. Bits that change: real mode and CPL 0 - all but VIP, VIF, VM (RF cleared); CPL > 0 - also not
 * IOPL, nor IF when CPL > IOPL; v86 at IOPL 3 - all but IOPL, VIP, VIF, VM; v86 with VME and IOPL < 3 -
 * 16-bit only, IF goes to VIF; otherwise #GP(0). A 16-bit POPF changes bits 15:0 only.
 */
function popf(c: Cpu, n: number): void {
  flushFlags(c);
  const old = c.flags;
  let keep: number; // bits kept from the current EFLAGS
  if (old & VM) {
    if (iopl(c) < 3) { popfVme(c, n); return; }
    keep = IOPL | VIP | VIF | VM;
  } else if (!(c.cr0 & CR0_PE) || c.cpl === 0) {
    keep = VIP | VIF | VM;
  } else {
    keep = IOPL | VIP | VIF | VM;
    if (c.cpl > iopl(c)) keep |= IF;
  }
  const v = n === 4 ? c.pop32() : c.pop16();
  if (n === 2) keep |= ~0xffff;
  let f = (old & keep) | (v & ~keep);
  if (n === 4) f &= ~RF;
  c.setEflags(f);
  if ((old ^ f) & IF) c.emit({ kind: 'if', value: (f & IF) !== 0, cause: 'popf' });
}

function popfVme(c: Cpu, n: number): void {
  if (!(c.cr4 & CR4_VME) || n !== 2) c.gp(0);
  const sp = c.stack32 ? c.r32[4] : c.r16[8];
  const v = c.read16(2, sp);
  if (v & TF || (v & IF && c.flags & VIP)) c.gp(0);
  c.pop16();
  const keep = ~0xffff | IF | IOPL;
  let f = (c.flags & keep) | (v & ~keep);
  f = v & IF ? f | VIF : f & ~VIF;
  c.setEflags(f);
}

// ------------------------------------------------------------------ control, debug, descriptor-table registers

const hlt: Handler = (c) => {
  requireCpl0(c);
  c.halted = true;
  c.brk = true;
};

const movcrRead: Handler = (c, i) => { requireCpl0(c); c.r32[i.rm] = readCr(c, i.reg); };
const movcrWrite: Handler = (c, i) => { requireCpl0(c); writeCr(c, i.reg, c.r32[i.rm]); c.brk = true; };
const movdrRead: Handler = (c, i) => { c.r32[i.rm] = readDr(c, i.reg); };
const movdrWrite: Handler = (c, i) => { writeDr(c, i.reg, c.r32[i.rm]); };

const lgdt: Handler = (c, i) => { requireCpl0(c); loadDtr(c, i.seg, i.ea(c, i), i.osize, false); };
const lidt: Handler = (c, i) => { requireCpl0(c); loadDtr(c, i.seg, i.ea(c, i), i.osize, true); };
const sgdt: Handler = (c, i) => storeDtr(c, i.seg, i.ea(c, i), false);
const sidt: Handler = (c, i) => storeDtr(c, i.seg, i.ea(c, i), true);

/** Ew source operand (16 bits from a register or memory). */
function readEw(c: Cpu, i: Insn): number {
  return i.mem ? c.read16(i.seg, i.ea(c, i)) : c.r16[i.rm << 1];
}
/** Store a selector-sized result: 16 bits to memory, zero-extended to a 32-bit register. */
function storeSel(c: Cpu, i: Insn, v: number): void {
  if (i.mem) c.write16(i.seg, i.ea(c, i), v);
  else if (i.osize === 4) c.r32[i.rm] = v & 0xffff;
  else c.r16[i.rm << 1] = v;
}

const lldtH: Handler = (c, i) => { requireProtected(c); requireCpl0(c); lldt(c, readEw(c, i)); };
const ltrH: Handler = (c, i) => { requireProtected(c); requireCpl0(c); ltr(c, readEw(c, i)); };
const sldt: Handler = (c, i) => { requireProtected(c); storeSel(c, i, c.ldtrSel); };
const str: Handler = (c, i) => { requireProtected(c); storeSel(c, i, c.trSel); };

/** SMSW: the whole CR0 into a 32-bit register, its low 16 bits otherwise. */
const smsw: Handler = (c, i) => {
  if (i.mem) c.write16(i.seg, i.ea(c, i), c.cr0 & 0xffff);
  else if (i.osize === 4) c.r32[i.rm] = c.cr0;
  else c.r16[i.rm << 1] = c.cr0 & 0xffff;
};
const lmswH: Handler = (c, i) => { requireCpl0(c); lmsw(c, readEw(c, i)); };
const cltsH: Handler = (c) => { requireCpl0(c); clts(c); };

const invlpgH: Handler = (c, i) => { requireCpl0(c); invlpg(c, (c.segBase[i.seg] + i.ea(c, i)) | 0); };
const cacheOp: Handler = (c) => requireCpl0(c);

// ------------------------------------------------------------------ MSRs, TSC, PMCs, CPUID

const rdmsr: Handler = (c) => {
  requireCpl0(c);
  const v = readMsr(c, c.r32[1]);
  c.r32[0] = Number(v & 0xffffffffn) | 0;
  c.r32[2] = Number((v >> 32n) & 0xffffffffn) | 0;
};
const wrmsr: Handler = (c) => {
  requireCpl0(c);
  writeMsr(c, c.r32[1], (BigInt(c.r32[2] >>> 0) << 32n) | BigInt(c.r32[0] >>> 0));
};
const rdtsc: Handler = (c) => {
  if (c.cr4 & CR4_TSD && c.cpl !== 0) c.gp(0);
  const v = tsc(c);
  c.r32[0] = Number(v & 0xffffffffn) | 0;
  c.r32[2] = Number((v >> 32n) & 0xffffffffn) | 0;
};
/** RDPMC: counters 0 and 1 exist and read 0 (nothing is counted); CPL > 0 needs CR4.PCE. */
const rdpmc: Handler = (c) => {
  if (!(c.cr4 & CR4_PCE) && c.cpl !== 0) c.gp(0);
  if ((c.r32[1] >>> 0) > 1) c.gp(0);
  c.r32[0] = 0;
  c.r32[2] = 0;
};
const cpuidH: Handler = (c) => {
  const r = cpuid(c.r32[0]);
  c.r32[0] = r[0]; c.r32[3] = r[1]; c.r32[1] = r[2]; c.r32[2] = r[3];
};

// ------------------------------------------------------------------ LAR LSL VERR VERW ARPL

const larH: Handler = (c, i) => {
  requireProtected(c);
  const v = lar(c, readEw(c, i));
  if (v !== -1) { if (i.osize === 4) c.r32[i.reg] = v; else c.r16[i.reg << 1] = v & 0xffff; }
};
const lslH: Handler = (c, i) => {
  requireProtected(c);
  const sel = readEw(c, i);
  const v = lsl(c, sel);
  if (c.getEflags() & ZF) { if (i.osize === 4) c.r32[i.reg] = v; else c.r16[i.reg << 1] = v & 0xffff; }
};
const verr: Handler = (c, i) => { requireProtected(c); verify(c, readEw(c, i), false); };
const verw: Handler = (c, i) => { requireProtected(c); verify(c, readEw(c, i), true); };
const arpl: Handler = (c, i) => {
  requireProtected(c);
  const src = c.r16[i.reg << 1];
  if (i.mem) {
    const ea = i.ea(c, i);
    const d = c.read16(i.seg, ea);
    if ((d & 3) < (src & 3)) { c.write16(i.seg, ea, (d & ~3) | (src & 3)); setFlagBits(c, ZF, ZF); } else setFlagBits(c, ZF, 0);
  } else {
    const d = c.r16[i.rm << 1];
    if ((d & 3) < (src & 3)) { c.r16[i.rm << 1] = (d & ~3) | (src & 3); setFlagBits(c, ZF, ZF); } else setFlagBits(c, ZF, 0);
  }
};

// ------------------------------------------------------------------ units this processor lacks

const ud: Handler = (c) => c.ud();
/**
 * x87: CPUID reports no FPU. CR0.EM or CR0.TS raise #NM (the SDM's table for EM/MP/TS), so an OS can
 * emulate; with both clear there is no unit to execute on, and we raise #UD. FWAIT (sub 0x100) only
 * checks MP and TS.
 */
const x87: Handler = (c, i) => {
  if (i.entry.sub === 0x100) {
    if ((c.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) c.fault(7);
    return;
  }
  if (c.cr0 & (CR0_EM | CR0_TS)) c.fault(7);
  c.ud();
};

export const handlers: Record<string, Factory> = {
  cli: () => cli,
  sti: () => sti,
  pushf: (i) => (i.osize === 4 ? (c) => pushf(c, 4) : (c) => pushf(c, 2)),
  popf: (i) => (i.osize === 4 ? (c) => popf(c, 4) : (c) => popf(c, 2)),
  hlt: () => hlt,
  lgdt: () => lgdt, lidt: () => lidt, sgdt: () => sgdt, sidt: () => sidt,
  lldt: () => lldtH, sldt: () => sldt, ltr: () => ltrH, str: () => str,
  lmsw: () => lmswH, smsw: () => smsw, clts: () => cltsH,
  movcr: (i) => (i.entry.sub === 0 ? movcrRead : movcrWrite),
  movdr: (i) => (i.entry.sub === 0 ? movdrRead : movdrWrite),
  invlpg: () => invlpgH,
  invd: () => cacheOp, wbinvd: () => cacheOp,
  rdmsr: () => rdmsr, wrmsr: () => wrmsr, rdtsc: () => rdtsc, rdpmc: () => rdpmc,
  cpuid: () => cpuidH,
  lar: () => larH, lsl: () => lslH, verr: () => verr, verw: () => verw, arpl: () => arpl,
  rsm: () => ud, monitor: () => ud, mwait: () => ud, vmx: () => ud, simd: () => ud,
  x87: () => x87,
};
