// Hardware task switches (JMP/CALL to a TSS or task gate, interrupts through task gates, IRET with
// NT): 32-bit and 16-bit TSS formats, busy bits, NT and the back-link, CR3 and LDT loads, the
// checks and #TS codes of the SDM, and the commit point after which faults belong to the new task.
// Also the TSS fields other parts read: inner-ring stacks, the I/O permission bitmap.
import type { Cpu } from './cpu';
import { CR0_TS, CR0_PG, CR4_PAE, AR_UNUSABLE } from './cpu';
import { loadPdptes } from './privileged';
import { ES, CS, SS, DS, FS, GS } from './insn';
import { NT, VM, flushFlags } from './flags';
import {
  Descriptor, readDescriptor, fetchDescriptor, selErr, setAccessed, loadCache, loadNull,
  EXC_GP, EXC_NP, EXC_TS, EXC_SS, T_LDT, T_TSS16_AVAIL, T_TSS32_AVAIL, T_TSS16_BUSY, T_TSS32_BUSY,
} from './segments';
import { queueDebugTrap, DR6_BT } from './debugregs';

export const TASK_JMP = 0, TASK_CALL = 1, TASK_IRET = 2, TASK_INT = 3;
const SOURCE_NAMES = ['jmp', 'call', 'iret', 'interrupt'];

/** Inner-ring stack (SSn:ESPn) from the current TSS; #TS(TR) when the TSS is too short. */
export function tssStackFor(cpu: Cpu, cpl: number, ext: number): { ss: number; esp: number } {
  const tss32 = (cpu.trAr & 8) !== 0;
  const off = tss32 ? 4 + cpl * 8 : 2 + cpl * 4;
  if (off + (tss32 ? 5 : 3) > (cpu.trLimit >>> 0)) cpu.fault(EXC_TS, selErr(cpu.trSel, ext), true);
  const base = cpu.trBase;
  if (tss32) return { esp: cpu.readSys((base + off) | 0, 4), ss: cpu.readSys((base + off + 4) | 0, 2) };
  return { esp: cpu.readSys((base + off) | 0, 2), ss: cpu.readSys((base + off + 2) | 0, 2) };
}

/**
 * Is every port in [port, port+size) allowed by the I/O permission bitmap of the current 32-bit TSS?
 * A 16-bit TSS or a bitmap beyond the TSS limit denies access.
 */
export function ioBitmapAllows(cpu: Cpu, port: number, size: number): boolean {
  const type = cpu.trAr & 0xf;
  if ((type !== T_TSS32_AVAIL && type !== T_TSS32_BUSY) || (cpu.trAr & AR_UNUSABLE)) return false;
  const limit = cpu.trLimit >>> 0;
  if (limit < 0x67) return false;
  const mapBase = cpu.readSys((cpu.trBase + 0x66) | 0, 2);
  const off = mapBase + (port >>> 3);
  if (off + 1 > limit) return false;
  const bits = cpu.readSys((cpu.trBase + off) | 0, 2);
  const mask = ((1 << size) - 1) << (port & 7);
  return (bits & mask) === 0;
}

const linkDesc = new Descriptor();

/**
 * JMP/CALL through a task gate, or an interrupt through one: the TSS selector must name an available
 * TSS in the GDT (#GP(sel) otherwise, #NP(sel) when absent). Returns the TSS descriptor.
 */
export function tssFromGate(cpu: Cpu, tssSel: number, ext: number, d: Descriptor): Descriptor {
  if (tssSel & 4) cpu.gp(selErr(tssSel, ext));
  fetchDescriptor(cpu, tssSel, d, EXC_GP, ext);
  const t = d.type;
  if (d.s || (t !== T_TSS16_AVAIL && t !== T_TSS32_AVAIL)) cpu.gp(selErr(tssSel, ext));
  if (!d.present) cpu.fault(EXC_NP, selErr(tssSel, ext), true);
  return d;
}

const gateTss = new Descriptor();

/** Task switch for an interrupt through a task gate (the gate's TSS selector). */
export function taskSwitchFromGate(cpu: Cpu, tssSel: number, source: number, ext: number, cause: string): void {
  switchTo(cpu, tssFromGate(cpu, tssSel, ext, gateTss), source, ext, cause);
}

/** Kept for callers that pass a selector: validates like a task gate, then switches. */
export function taskSwitch(cpu: Cpu, tssSel: number, source: number, ext: number, cause: string): void {
  if (source === TASK_IRET) { iretTaskReturn(cpu); return; }
  taskSwitchFromGate(cpu, tssSel, source, ext, cause);
}

/** IRET with NT set: return to the task named by the current TSS's back-link. */
export function iretTaskReturn(cpu: Cpu): void {
  const link = cpu.readSys(cpu.trBase, 2);
  const d = linkDesc;
  if (link & 4) cpu.fault(EXC_TS, link & 0xfffc, true);
  fetchDescriptor(cpu, link, d, EXC_TS, 0);
  const t = d.type;
  if (d.s || (t !== T_TSS16_BUSY && t !== T_TSS32_BUSY)) cpu.fault(EXC_TS, link & 0xfffc, true);
  if (!d.present) cpu.fault(EXC_NP, link & 0xfffc, true);
  switchTo(cpu, d, TASK_IRET, 0, 'iret');
}

/** Offsets of the dynamic fields in a 32-bit TSS and a 16-bit TSS. */
const T32 = { eip: 0x20, eflags: 0x24, regs: 0x28, segs: 0x48, ldt: 0x60, cr3: 0x1c, trap: 0x64 };
const T16 = { eip: 0x0e, eflags: 0x10, regs: 0x12, segs: 0x22, ldt: 0x2a };

/** A task's dynamic state as its TSS holds it (segments ES, CS, SS, DS, FS, GS; a 16-bit TSS has no FS/GS). */
export interface TssState { eip: number; eflags: number; regs: number[]; segs: number[]; ldt: number; cr3: number; trap: boolean }

/** Reads a task's state through `rd` (offset, size), from a 32-bit or a 16-bit TSS. */
export function readTss(rd: (off: number, size: number) => number, tss32: boolean): TssState {
  const regs: number[] = [], segs: number[] = [];
  if (tss32) {
    const eip = rd(T32.eip, 4), eflags = rd(T32.eflags, 4);
    for (let r = 0; r < 8; r++) regs.push(rd(T32.regs + r * 4, 4));
    for (let s = 0; s < 6; s++) segs.push(rd(T32.segs + s * 4, 2));
    return { eip, eflags, regs, segs, ldt: rd(T32.ldt, 2), cr3: rd(T32.cr3, 4), trap: (rd(T32.trap, 2) & 1) !== 0 };
  }
  const eip = rd(T16.eip, 2), eflags = rd(T16.eflags, 2);
  for (let r = 0; r < 8; r++) regs.push(rd(T16.regs + r * 2, 2));
  for (let s = 0; s < 4; s++) segs.push(rd(T16.segs + s * 2, 2));
  segs.push(0, 0);
  return { eip, eflags, regs, segs, ldt: rd(T16.ldt, 2), cr3: 0, trap: false };
}
/** Segment registers in TSS order (ES CS SS DS FS GS), which is also x86 encoding order. */
const TSS_SEGS = [ES, CS, SS, DS, FS, GS];

/**
 * Switch to the task whose TSS descriptor is d (already checked for type and presence by the caller).
 * Everything that can fault in the old task's context happens before the commit point.
 */
export function switchTo(cpu: Cpu, d: Descriptor, source: number, ext: number, cause: string): void {
  const sel = d.sel;
  const new32 = (d.type & 8) !== 0;
  if ((d.limit >>> 0) < (new32 ? 0x67 : 0x2b)) cpu.fault(EXC_TS, selErr(sel, ext), true);
  const old32 = (cpu.trAr & 8) !== 0;
  const oldBase = cpu.trBase, newBase = d.base;
  if ((cpu.trLimit >>> 0) < (old32 ? 0x5f : 0x29)) cpu.fault(EXC_TS, selErr(cpu.trSel, ext), true);

  // Read the new task's state first (page faults here leave everything untouched).
  const t = readTss((off, size) => cpu.readSys((newBase + off) | 0, size), new32);
  const { regs, segs, ldt, cr3, trap } = t;
  let { eip, eflags } = t;

  // From here on memory is written (busy bits, back-link) and the switch commits: it cannot be
  // restarted, so page faults a hypervisor resolves (shadow paging) are retried in place.
  cpu.resolvingFaults(() => {
    // Save the old task's dynamic state.
    flushFlags(cpu);
    let oldFlags = cpu.flags;
    if (source === TASK_IRET) oldFlags &= ~NT;
    const wr = (off: number, size: number, v: number) => cpu.writeSys((oldBase + off) | 0, size, v);
    if (old32) {
      wr(T32.eip, 4, cpu.eip); wr(T32.eflags, 4, oldFlags);
      for (let r = 0; r < 8; r++) wr(T32.regs + r * 4, 4, cpu.r32[r]);
      for (let s = 0; s < 6; s++) wr(T32.segs + s * 4, 2, cpu.segSel[TSS_SEGS[s]]);
    } else {
      wr(T16.eip, 2, cpu.eip); wr(T16.eflags, 2, oldFlags);
      for (let r = 0; r < 8; r++) wr(T16.regs + r * 2, 2, cpu.r16[r * 2]);
      for (let s = 0; s < 4; s++) wr(T16.segs + s * 2, 2, cpu.segSel[TSS_SEGS[s]]);
    }

    // Busy bits and the back-link.
    if (source === TASK_JMP || source === TASK_IRET) setBusy(cpu, cpu.trSel, false);
    if (source !== TASK_IRET) setBusy(cpu, sel, true);
    if (source === TASK_CALL || source === TASK_INT) {
      cpu.writeSys(newBase, 2, cpu.trSel);
      eflags |= NT;
    }

    // ---- commit: from here on, faults are raised in the new task's context ----
    const fromSel = cpu.trSel;
    cpu.trSel = sel;
    cpu.trBase = newBase;
    cpu.trLimit = d.limit;
    cpu.trAr = d.ar | 2; // busy
    cpu.cr0 |= CR0_TS;
    if (new32 && !cpu.vmm.setGuestCr?.(cpu, 3, cr3)) {
      // A task switch always reloads CR3 (and with PAE paging, the PDPTE registers). A hypervisor that
      // keeps the guest's CR3 apart (shadow paging: the processor's is a host-physical root) loads it.
      if (cpu.pagingOn() && cpu.cr4 & CR4_PAE) loadPdptes(cpu, cr3);
      cpu.cr3 = cr3;
      if (cpu.cr0 & CR0_PG) cpu.tlb.flushNonGlobal();
    }
    if (new32) for (let r = 0; r < 8; r++) cpu.r32[r] = regs[r];
    else for (let r = 0; r < 8; r++) cpu.r16[r * 2] = regs[r];
    if (new32) cpu.setEflags(eflags);
    else cpu.setEflags((cpu.flags & ~0xffff) | (eflags & 0xffff));
    cpu.eip = eip;
    cpu.curEip = eip; // a fault from here on restarts the new task's first instruction
    // Selectors are visible in the new task before their descriptors are checked.
    for (let s = 0; s < 6; s++) loadNull(cpu, TSS_SEGS[s], segs[s]);
    cpu.ldtrSel = ldt; cpu.ldtrAr = AR_UNUSABLE; cpu.ldtrBase = 0; cpu.ldtrLimit = 0;
    // Local breakpoint enables belong to the old task.
    cpu.dr[7] &= ~0x155;
    cpu.emit({ kind: 'task-switch', from: fromSel, to: sel, cause: cause || SOURCE_NAMES[source] });
    if (trap) queueDebugTrap(cpu, DR6_BT);

    loadTaskLdt(cpu, ldt, ext);
    if (cpu.flags & VM) {
      cpu.setCpl(3, 'task switch');
      for (let s = 0; s < 6; s++) cpu.loadRealSeg(TSS_SEGS[s], segs[s]);
    } else {
      loadTaskSegments(cpu, segs, ext);
    }
    if ((cpu.eip >>> 0) > (cpu.segLimit[CS] >>> 0)) cpu.gp(0);
    cpu.brk = true;
  });
}

function setBusy(cpu: Cpu, sel: number, busy: boolean): void {
  const addr = (cpu.gdtrBase + (sel & 0xfff8) + 5) | 0;
  const b = cpu.readSys(addr, 1);
  cpu.writeSys(addr, 1, busy ? b | 2 : b & ~2);
}

const ldtDesc = new Descriptor();
function loadTaskLdt(cpu: Cpu, ldt: number, ext: number): void {
  if ((ldt & 0xfffc) === 0) return;
  const d = ldtDesc;
  if (ldt & 4) cpu.fault(EXC_TS, selErr(ldt, ext), true);
  fetchDescriptor(cpu, ldt, d, EXC_TS, ext);
  if (d.s || d.type !== T_LDT || !d.present) cpu.fault(EXC_TS, selErr(ldt, ext), true);
  cpu.ldtrBase = d.base; cpu.ldtrLimit = d.limit; cpu.ldtrAr = d.ar;
}

const segDesc = new Descriptor();
function loadTaskSegments(cpu: Cpu, segs: number[], ext: number): void {
  const d = segDesc;
  const cs = segs[1], cpl = cs & 3;
  // CS
  if ((cs & 0xfffc) === 0) cpu.fault(EXC_TS, selErr(cs, ext), true);
  fetchDescriptor(cpu, cs, d, EXC_TS, ext);
  if (!d.isCode || (d.conforming ? d.dpl > cpl : d.dpl !== cpl)) cpu.fault(EXC_TS, selErr(cs, ext), true);
  if (!d.present) cpu.fault(EXC_NP, selErr(cs, ext), true);
  setAccessed(cpu, d);
  loadCache(cpu, CS, cs, d);
  cpu.setCpl(cpl, 'task switch');
  // SS
  const ss = segs[2];
  if ((ss & 0xfffc) === 0) cpu.fault(EXC_TS, selErr(ss, ext), true);
  fetchDescriptor(cpu, ss, d, EXC_TS, ext);
  if (!d.writableData || (ss & 3) !== cpl || d.dpl !== cpl) cpu.fault(EXC_TS, selErr(ss, ext), true);
  if (!d.present) cpu.fault(EXC_SS, selErr(ss, ext), true);
  setAccessed(cpu, d);
  loadCache(cpu, SS, ss, d);
  // DS ES FS GS
  for (const seg of [DS, ES, FS, GS]) {
    const sel = segs[seg];
    if ((sel & 0xfffc) === 0) continue; // stays null
    fetchDescriptor(cpu, sel, d, EXC_TS, ext);
    if (!d.readable || (!d.conforming && (d.dpl < cpl || d.dpl < (sel & 3)))) cpu.fault(EXC_TS, selErr(sel, ext), true);
    if (!d.present) cpu.fault(EXC_NP, selErr(sel, ext), true);
    setAccessed(cpu, d);
    loadCache(cpu, seg, sel, d);
  }
}

/** LTR/STR-visible helpers for the debugger: is this descriptor a TSS? */
export function isTssType(type: number): boolean {
  return type === T_TSS16_AVAIL || type === T_TSS16_BUSY || type === T_TSS32_AVAIL || type === T_TSS32_BUSY;
}
export { readDescriptor };
