// Far transfers: JMP/CALL/RET far and IRET in every mode. Protected mode goes through the descriptor
// checks of the SDM: conforming and non-conforming code, call gates (with stack switch from the TSS
// and parameter copy), task gates and TSS targets (tasks.ts), returns to an outer ring (stack switch
// back, data segments nulled), IRET to and from virtual-8086 mode and with NT (task return).
// Every check and memory access happens before registers change (faults leave state intact).
import type { Cpu } from './cpu';
import { CR0_PE } from './cpu';
import { CS, SS, ES, DS, FS, GS } from './insn';
import { flushFlags, IF, IOPL, NT, RF, VM, AC, ID, VIF, VIP, TF } from './flags';
import {
  Descriptor, StackBuilder, fetchDescriptor, setAccessed, loadCache, nullInaccessibleSegs, stackPeek,
  EXC_GP, EXC_NP, EXC_SS, T_CALLGATE16, T_CALLGATE32, T_TASKGATE, T_TSS16_AVAIL, T_TSS32_AVAIL,
} from './segments';
import { tssStackFor, tssFromGate, switchTo, iretTaskReturn, TASK_JMP, TASK_CALL } from './tasks';
import { checkNewStack } from './interrupts';

const desc = new Descriptor();
const target = new Descriptor();
const ssDesc = new Descriptor();
const tssDesc = new Descriptor();
const sb = new StackBuilder();

function realMode(cpu: Cpu): boolean { return !(cpu.cr0 & CR0_PE) || cpu.isV86(); }

/** Flat check of an offset against the CS limit a transfer is about to load. */
function checkTargetLimit(cpu: Cpu, off: number, limit: number): void {
  if ((off >>> 0) > (limit >>> 0)) cpu.gp(0);
}

// ------------------------------------------------------------------ JMP far

export function jumpFar(cpu: Cpu, sel: number, off: number, osize: number): void {
  sel &= 0xffff;
  if (osize === 2) off &= 0xffff;
  if (realMode(cpu)) {
    checkTargetLimit(cpu, off, cpu.segLimit[CS] === 0 ? 0xffff : cpu.segLimit[CS]);
    cpu.loadRealSeg(CS, sel);
    cpu.eip = off;
    return;
  }
  if ((sel & 0xfffc) === 0) cpu.gp(0);
  const d = desc;
  fetchDescriptor(cpu, sel, d, EXC_GP, 0);
  if (d.isCode) {
    checkDirectCode(cpu, d, sel);
    checkTargetLimit(cpu, off, d.limit);
    setAccessed(cpu, d);
    loadCache(cpu, CS, (sel & 0xfffc) | cpu.cpl, d);
    cpu.eip = off;
    return;
  }
  if (d.s) cpu.gp(sel & 0xfffc);
  const t = d.type;
  if (t === T_CALLGATE16 || t === T_CALLGATE32) {
    checkGate(cpu, d, sel);
    const c = gateTarget(cpu, d);
    if (c.conforming ? c.dpl > cpu.cpl : c.dpl !== cpu.cpl) cpu.gp(c.sel & 0xfffc);
    if (!c.present) cpu.fault(EXC_NP, c.sel & 0xfffc, true);
    const goff = t === T_CALLGATE32 ? d.gateOffset32 : d.gateOffset16;
    checkTargetLimit(cpu, goff, c.limit);
    setAccessed(cpu, c);
    loadCache(cpu, CS, (c.sel & 0xfffc) | cpu.cpl, c);
    cpu.eip = goff;
  } else if (t === T_TASKGATE) {
    checkGate(cpu, d, sel);
    switchTo(cpu, tssFromGate(cpu, d.gateSel, 0, tssDesc), TASK_JMP, 0, 'jmp');
  } else if (t === T_TSS16_AVAIL || t === T_TSS32_AVAIL) {
    checkGate(cpu, d, sel);
    switchTo(cpu, d, TASK_JMP, 0, 'jmp');
  } else {
    cpu.gp(sel & 0xfffc);
  }
}

/** JMP/CALL straight to a code segment: conforming DPL <= CPL; non-conforming RPL <= CPL and DPL = CPL. */
function checkDirectCode(cpu: Cpu, d: Descriptor, sel: number): void {
  if (d.conforming ? d.dpl > cpu.cpl : (sel & 3) > cpu.cpl || d.dpl !== cpu.cpl) cpu.gp(sel & 0xfffc);
  if (!d.present) cpu.fault(EXC_NP, sel & 0xfffc, true);
}

/** Gate or TSS named by JMP/CALL: DPL >= max(CPL, RPL), present. */
function checkGate(cpu: Cpu, d: Descriptor, sel: number): void {
  if (d.dpl < cpu.cpl || d.dpl < (sel & 3)) cpu.gp(sel & 0xfffc);
  if (!d.present) cpu.fault(EXC_NP, sel & 0xfffc, true);
}

/** The code segment a call gate names: not null, a code segment, DPL <= CPL (#GP(sel)). */
function gateTarget(cpu: Cpu, g: Descriptor): Descriptor {
  const csel = g.gateSel;
  if ((csel & 0xfffc) === 0) cpu.gp(0);
  const c = target;
  fetchDescriptor(cpu, csel, c, EXC_GP, 0);
  if (!c.isCode || c.dpl > cpu.cpl) cpu.gp(csel & 0xfffc);
  return c;
}

// ------------------------------------------------------------------ CALL far

export function callFar(cpu: Cpu, sel: number, off: number, osize: number): void {
  sel &= 0xffff;
  if (osize === 2) off &= 0xffff;
  if (realMode(cpu)) {
    checkTargetLimit(cpu, off, cpu.segLimit[CS] === 0 ? 0xffff : cpu.segLimit[CS]);
    const s = sb.fromCurrent(cpu);
    s.reserve(cpu, osize * 2, cpu.isV86());
    s.push(cpu, osize, cpu.segSel[CS]);
    s.push(cpu, osize, cpu.eip);
    s.commitSp(cpu);
    cpu.loadRealSeg(CS, sel);
    cpu.eip = off;
    return;
  }
  if ((sel & 0xfffc) === 0) cpu.gp(0);
  const d = desc;
  fetchDescriptor(cpu, sel, d, EXC_GP, 0);
  if (d.isCode) {
    checkDirectCode(cpu, d, sel);
    const s = sb.fromCurrent(cpu);
    s.reserve(cpu, osize * 2);
    checkTargetLimit(cpu, off, d.limit);
    s.push(cpu, osize, cpu.segSel[CS]);
    s.push(cpu, osize, cpu.eip);
    setAccessed(cpu, d);
    s.commitSp(cpu);
    loadCache(cpu, CS, (sel & 0xfffc) | cpu.cpl, d);
    cpu.eip = off;
    return;
  }
  if (d.s) cpu.gp(sel & 0xfffc);
  const t = d.type;
  if (t === T_CALLGATE16 || t === T_CALLGATE32) {
    checkGate(cpu, d, sel);
    callGate(cpu, d);
  } else if (t === T_TASKGATE) {
    checkGate(cpu, d, sel);
    switchTo(cpu, tssFromGate(cpu, d.gateSel, 0, tssDesc), TASK_CALL, 0, 'call');
  } else if (t === T_TSS16_AVAIL || t === T_TSS32_AVAIL) {
    checkGate(cpu, d, sel);
    switchTo(cpu, d, TASK_CALL, 0, 'call');
  } else {
    cpu.gp(sel & 0xfffc);
  }
}

/** CALL through a call gate: to an inner ring with a stack switch and parameter copy, or same ring. */
function callGate(cpu: Cpu, g: Descriptor): void {
  const c = gateTarget(cpu, g);
  if (!c.present) cpu.fault(EXC_NP, c.sel & 0xfffc, true);
  const g32 = g.type === T_CALLGATE32, size = g32 ? 4 : 2;
  const goff = g32 ? g.gateOffset32 : g.gateOffset16;
  if (!c.conforming && c.dpl < cpu.cpl) {
    const newCpl = c.dpl;
    const { ss, esp } = tssStackFor(cpu, newCpl, 0);
    checkNewStack(cpu, ss, newCpl, 0, ssDesc);
    const params = g.gateParams;
    const s = sb.fromDescriptor(ssDesc, esp, 0);
    s.reserve(cpu, (4 + params) * size);
    checkTargetLimit(cpu, goff, c.limit);
    const oldSs = cpu.segSel[SS], oldSp = cpu.stack32 ? cpu.r32[4] : cpu.r16[8];
    s.push(cpu, size, oldSs);
    s.push(cpu, size, oldSp);
    for (let k = params - 1; k >= 0; k--) s.push(cpu, size, stackPeek(cpu, k * size, size));
    s.push(cpu, size, cpu.segSel[CS]);
    s.push(cpu, size, cpu.eip);
    setAccessed(cpu, ssDesc);
    setAccessed(cpu, c);
    // ---- commit ----
    loadCache(cpu, SS, (ss & 0xfffc) | newCpl, ssDesc);
    s.commitSp(cpu);
    loadCache(cpu, CS, (c.sel & 0xfffc) | newCpl, c);
    cpu.setCpl(newCpl, 'call gate');
    cpu.eip = goff;
  } else {
    const s = sb.fromCurrent(cpu);
    s.reserve(cpu, 2 * size);
    checkTargetLimit(cpu, goff, c.limit);
    s.push(cpu, size, cpu.segSel[CS]);
    s.push(cpu, size, cpu.eip);
    setAccessed(cpu, c);
    s.commitSp(cpu);
    loadCache(cpu, CS, (c.sel & 0xfffc) | cpu.cpl, c);
    cpu.eip = goff;
  }
}

// ------------------------------------------------------------------ RET far

/** RET far (imm = bytes of parameters to release). */
export function returnFar(cpu: Cpu, osize: number, imm: number): void {
  const newEip = osize === 4 ? stackPeek(cpu, 0, 4) : stackPeek(cpu, 0, 2);
  const sel = stackPeek(cpu, osize, 2);
  if (realMode(cpu)) {
    checkTargetLimit(cpu, newEip, cpu.segLimit[CS] === 0 ? 0xffff : cpu.segLimit[CS]);
    adjustSp(cpu, 2 * osize + imm);
    cpu.loadRealSeg(CS, sel);
    cpu.eip = newEip;
    return;
  }
  const c = checkReturnCs(cpu, sel);
  const rpl = sel & 3;
  if (rpl === cpu.cpl) {
    checkTargetLimit(cpu, newEip, c.limit);
    setAccessed(cpu, c);
    adjustSp(cpu, 2 * osize + imm);
    loadCache(cpu, CS, sel, c);
    cpu.eip = newEip;
    return;
  }
  // Outer ring: the caller's SS:ESP sits above the parameters.
  const newSp = stackPeek(cpu, 2 * osize + imm, osize);
  const newSs = stackPeek(cpu, 3 * osize + imm, 2);
  const s = checkReturnSs(cpu, newSs, rpl);
  checkTargetLimit(cpu, newEip, c.limit);
  setAccessed(cpu, c);
  setAccessed(cpu, s);
  loadCache(cpu, CS, sel, c);
  cpu.setCpl(rpl, 'retf');
  loadCache(cpu, SS, newSs, s);
  setSpAfterSwitch(cpu, newSp, osize, imm);
  nullInaccessibleSegs(cpu);
  cpu.eip = newEip;
}

/** CS on a return (RET far, IRET): RPL >= CPL; conforming DPL <= RPL; non-conforming DPL = RPL. */
function checkReturnCs(cpu: Cpu, sel: number): Descriptor {
  if ((sel & 0xfffc) === 0) cpu.gp(0);
  const c = target;
  fetchDescriptor(cpu, sel, c, EXC_GP, 0);
  const rpl = sel & 3;
  if (!c.isCode || rpl < cpu.cpl || (c.conforming ? c.dpl > rpl : c.dpl !== rpl)) cpu.gp(sel & 0xfffc);
  if (!c.present) cpu.fault(EXC_NP, sel & 0xfffc, true);
  return c;
}

/** SS on a return to an outer ring: RPL and DPL equal to the new CPL, writable data, present. */
function checkReturnSs(cpu: Cpu, sel: number, rpl: number): Descriptor {
  if ((sel & 0xfffc) === 0) cpu.gp(0);
  const s = ssDesc;
  fetchDescriptor(cpu, sel, s, EXC_GP, 0);
  if ((sel & 3) !== rpl || !s.writableData || s.dpl !== rpl) cpu.gp(sel & 0xfffc);
  if (!s.present) cpu.fault(EXC_SS, sel & 0xfffc, true);
  return s;
}

function adjustSp(cpu: Cpu, n: number): void {
  if (cpu.stack32) cpu.r32[4] = (cpu.r32[4] + n) | 0;
  else cpu.r16[8] = (cpu.r16[8] + n) & 0xffff;
}

/** ESP after switching to the outer stack: the new SS's B bit decides how much of ESP is written. */
function setSpAfterSwitch(cpu: Cpu, sp: number, osize: number, imm: number): void {
  if (osize === 2) sp &= 0xffff;
  if (cpu.stack32) cpu.r32[4] = (sp + imm) | 0;
  else cpu.r16[8] = (sp + imm) & 0xffff;
}

// ------------------------------------------------------------------ IRET

export function iret(cpu: Cpu, osize: number): void {
  flushFlags(cpu);
  if (!(cpu.cr0 & CR0_PE)) { iretReal(cpu, osize); cpu.nmiBlocked = false; return; }
  if (cpu.isV86()) { iretV86(cpu, osize); cpu.nmiBlocked = false; return; }
  if (cpu.flags & NT) {
    iretTaskReturn(cpu);
    cpu.nmiBlocked = false;
    return;
  }
  const newEip = stackPeek(cpu, 0, osize);
  const sel = stackPeek(cpu, osize, 2);
  const tf = osize === 4 ? stackPeek(cpu, 2 * osize, 4) : stackPeek(cpu, 2 * osize, 2);
  if (osize === 4 && tf & VM && cpu.cpl === 0) { iretToV86(cpu, newEip, sel, tf); cpu.nmiBlocked = false; return; }
  const c = checkReturnCs(cpu, sel);
  const rpl = sel & 3;
  const oldCpl = cpu.cpl;
  const flags = iretFlags(cpu, tf, osize, oldCpl);
  if (rpl === oldCpl) {
    checkTargetLimit(cpu, newEip, c.limit);
    setAccessed(cpu, c);
    adjustSp(cpu, 3 * osize);
    loadCache(cpu, CS, sel, c);
  } else {
    const newSp = stackPeek(cpu, 3 * osize, osize);
    const newSs = stackPeek(cpu, 4 * osize, 2);
    const s = checkReturnSs(cpu, newSs, rpl);
    checkTargetLimit(cpu, newEip, c.limit);
    setAccessed(cpu, c);
    setAccessed(cpu, s);
    loadCache(cpu, CS, sel, c);
    cpu.setCpl(rpl, 'iret');
    loadCache(cpu, SS, newSs, s);
    setSpAfterSwitch(cpu, newSp, osize, 0);
    nullInaccessibleSegs(cpu);
  }
  cpu.setEflags(flags);
  cpu.eip = osize === 2 ? newEip & 0xffff : newEip;
  cpu.nmiBlocked = false;
  cpu.brk = true;
}

/**
 * EFLAGS after a protected-mode IRET (not to v86): the arithmetic flags, TF, DF and NT always; RF,
 * AC and ID with a 32-bit operand; IF only when CPL <= IOPL; IOPL, VIF and VIP only at CPL 0.
 */
function iretFlags(cpu: Cpu, tf: number, osize: number, cpl: number): number {
  let mask = 0x4dd5 | TF; // CF PF AF ZF SF TF DF OF NT
  if (osize === 4) mask |= RF | AC | ID;
  if (cpl <= ((cpu.flags & IOPL) >>> 12)) mask |= IF;
  if (cpl === 0) {
    mask |= IOPL;
    if (osize === 4) mask |= VIF | VIP;
  }
  return (cpu.flags & ~mask) | (tf & mask);
}

function iretReal(cpu: Cpu, osize: number): void {
  const newEip = stackPeek(cpu, 0, osize);
  const sel = stackPeek(cpu, osize, 2);
  const tf = stackPeek(cpu, 2 * osize, osize);
  checkTargetLimit(cpu, newEip, cpu.segLimit[CS] === 0 ? 0xffff : cpu.segLimit[CS]);
  adjustSp(cpu, 3 * osize);
  cpu.loadRealSeg(CS, sel);
  cpu.eip = newEip;
  // 32-bit: VM, VIF and VIP keep their values; 16-bit: only FLAGS changes.
  const f = osize === 4 ? (tf & 0x257fd5) | (cpu.flags & 0x1a0000) : (cpu.flags & ~0xffff) | (tf & 0xffff);
  cpu.setEflags(f);
  cpu.brk = true;
}

/** IRET inside virtual-8086 mode: allowed at IOPL 3 (IOPL, VM, VIF, VIP unchanged), #GP(0) otherwise. */
function iretV86(cpu: Cpu, osize: number): void {
  if ((cpu.flags & IOPL) !== IOPL) { iretVme(cpu, osize); return; }
  const newEip = stackPeek(cpu, 0, osize);
  const sel = stackPeek(cpu, osize, 2);
  const tf = stackPeek(cpu, 2 * osize, osize);
  checkTargetLimit(cpu, newEip, 0xffff);
  const keep = osize === 4 ? IOPL | VM | VIF | VIP : ~0xffff | IOPL;
  adjustSp(cpu, 3 * osize);
  cpu.loadRealSeg(CS, sel);
  cpu.eip = newEip;
  cpu.setEflags((cpu.flags & keep) | (tf & ~keep));
  cpu.brk = true;
}

/** IOPL < 3 in v86 mode: with CR4.VME a 16-bit IRET works on VIF; everything else is #GP(0). */
function iretVme(cpu: Cpu, osize: number): void {
  if (!(cpu.cr4 & 1) || osize !== 2) cpu.gp(0);
  const newEip = stackPeek(cpu, 0, 2);
  const sel = stackPeek(cpu, 2, 2);
  const tf = stackPeek(cpu, 4, 2);
  if ((cpu.flags & VIP && tf & IF) || tf & TF) cpu.gp(0);
  adjustSp(cpu, 6);
  cpu.loadRealSeg(CS, sel);
  cpu.eip = newEip;
  // IF and IOPL in the image are not loaded; IF's value goes to VIF.
  const keep = ~0xffff | IF | IOPL;
  let f = (cpu.flags & keep) | (tf & ~keep & 0xffff);
  f = tf & IF ? f | VIF : f & ~VIF;
  cpu.setEflags(f);
  cpu.brk = true;
}

/** IRET from CPL 0 to a virtual-8086 task: the frame also holds ESP, SS, ES, DS, FS and GS. */
function iretToV86(cpu: Cpu, newEip: number, cs: number, tf: number): void {
  const esp = stackPeek(cpu, 12, 4);
  const ss = stackPeek(cpu, 16, 2), es = stackPeek(cpu, 20, 2), ds = stackPeek(cpu, 24, 2);
  const fs = stackPeek(cpu, 28, 2), gs = stackPeek(cpu, 32, 2);
  if (newEip & 0xffff0000) cpu.gp(0);
  cpu.setCpl(3, 'iret to v86');
  cpu.setEflags(tf);
  cpu.loadRealSeg(CS, cs);
  cpu.loadRealSeg(SS, ss);
  cpu.loadRealSeg(ES, es);
  cpu.loadRealSeg(DS, ds);
  cpu.loadRealSeg(FS, fs);
  cpu.loadRealSeg(GS, gs);
  cpu.r32[4] = esp;
  cpu.eip = newEip;
  cpu.emit({ kind: 'mode', what: 'v86-enter' });
  cpu.brk = true;
}
