// Virtual-8086 mode under the monitor. The guest's v86 tasks run as on hardware: at real ring 3 with
// EFLAGS.VM = 1, their segments real-mode style. What differs is who sees their events:
//   - the processor's IOPL stays 0 and its IF 1, so every IOPL-sensitive instruction (CLI, STI, PUSHF,
//     POPF, INT n, IRET) raises #GP into the monitor. At the guest's IOPL 3 the monitor performs it
//     against the v86 task's virtual IF; below 3 the #GP is the guest's, as on hardware. IN/OUT fault
//     too (the shadow TSS's I/O map denies every port) and are performed when the guest's own TSS
//     bitmap allows them;
//   - every exception and interrupt out of v86 mode is the monitor's to deliver: the guest's handler is
//     ring 0 code (DPL 0), which its shadow made DPL 1, and the processor only leaves v86 mode for ring
//     0. So the monitor builds the v86 frame itself (GS FS DS ES SS ESP EFLAGS CS EIP, the error code)
//     on the guest's ring-0 stack (its TSS's SS0:ESP0), with the guest's IF and IOPL in the EFLAGS
//     image, and enters the handler at ring 1 with the data segments null;
//   - entering v86 mode: the guest kernel's IRET with VM = 1 in the frame (at ring 1 the processor
//     ignores VM and returns to CS as a protected-mode selector: a real-mode segment value with RPL 0
//     faults, and the monitor takes that #GP; see Holes for the IRETs that would not) or a task switch
//     to a TSS whose EFLAGS has VM set.
// CR4.VME (virtual interrupt flags, interrupt redirection) is not emulated: a guest that turns it on
// is stopped when it enters v86 mode.
import type { Cpu } from '../cpu/cpu';
import { CPU_FAULT, CR4_VME, CR4_PVI, AR_UNUSABLE } from '../cpu/cpu';
import type { Insn } from '../cpu/insn';
import { ES, CS, SS, DS, FS, GS } from '../cpu/insn';
import { IF, IOPL, VM, TF, NT, RF } from '../cpu/flags';
import { MonitorWindow } from './shadowdesc';
import { EXIT, interruptionInfo, INTR_EXTERNAL, INTR_HW_EXCEPTION, INTR_SW_INTERRUPT, INTR_SW_EXCEPTION } from './exits';
import { deliverThroughTaskGate, guestDescriptor } from './taskswitch';
import type { Monitor } from './monitor';

const EXC_TS = 10, EXC_NP = 11, EXC_SS = 12;
/** How an event leaves v86 mode (the SDM's distinctions that matter here). */
export const enum V86Event { Fault, Trap, Soft, SoftException, External }
/** Exceptions of fault class: the EFLAGS image carries RF. */
const FAULTS = (1 << 0) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 16) | (1 << 17) | (1 << 19);

/** The v86 task's EFLAGS as the guest would see them: its virtual IF and IOPL, VM set. */
export function v86Eflags(m: Monitor): number {
  const f = m.cpu.getEflags();
  return (f & ~(IF | IOPL)) | (m.v.vif ? IF : 0) | m.v.v86Iopl | VM;
}

/** CR4.VME/PVI change what v86 code may do without IOPL 3; the monitor does not model them. */
function checkVme(m: Monitor): boolean {
  if (m.guest.cr4 & (CR4_VME | CR4_PVI)) { m.stop('virtual-8086 mode is not supported with CR4.VME or CR4.PVI set'); return false; }
  return true;
}

/** Enter the guest's v86 task: the processor at ring 3 with VM set, IOPL 0 and IF 1; the guest's IF and IOPL virtual. */
function enter(m: Monitor, eflags: number, eip: number, segs: number[], esp: number): void {
  const c = m.cpu;
  m.v.vif = (eflags & IF) !== 0;
  m.v.v86Iopl = eflags & IOPL;
  c.setCpl(3, 'iret to v86');
  c.setEflags((eflags & ~IOPL) | IF | VM);
  for (let s = 0; s < 6; s++) c.loadRealSeg([ES, CS, SS, DS, FS, GS][s], segs[s]);
  c.r32[4] = esp;
  c.eip = eip;
  m.updateIntercepts();
  c.emit({ kind: 'mode', what: 'v86-enter' });
  c.brk = true;
}

/** The guest kernel's IRETD with VM = 1 in its frame: into its v86 task. */
export function iretToV86(m: Monitor): void {
  const c = m.cpu;
  if (!checkVme(m)) return;
  const sp = c.getSp();
  const at = (k: number) => c.read32(SS, (sp + 4 * k) | 0);
  const eip = at(0), cs = at(1) & 0xffff, eflags = at(2), esp = at(3);
  const ss = at(4) & 0xffff, es = at(5) & 0xffff, ds = at(6) & 0xffff, fs = at(7) & 0xffff, gs = at(8) & 0xffff;
  if (eip & 0xffff0000) c.gp(0);
  enter(m, eflags, eip, [es, cs, ss, ds, fs, gs], esp);
  c.nmiBlocked = false;
}

/** A task switch to a TSS whose EFLAGS has VM set (taskswitch.ts has loaded the registers and EFLAGS). */
export function taskToV86(m: Monitor, eflags: number, segs: number[]): void {
  if (!checkVme(m)) return;
  enter(m, eflags, m.cpu.eip, segs, m.cpu.r32[4]);
}

/**
 * A #GP from v86 code: the IOPL-sensitive instructions at the guest's IOPL 3, and I/O its TSS bitmap
 * allows, are performed; everything else is the guest's #GP.
 */
export function v86Op(m: Monitor, c: Cpu, i: Insn, bitmapAllows: (port: number, size: number) => boolean): (() => void) | undefined {
  const h = i.entry.handler;
  if (h === 'in' || h === 'out' || h === 'ins' || h === 'outs') {
    const port = i.entry.operands.includes('Ib') ? i.imm & 0xff : c.r16[4];
    const size = i.entry.sub === 1 ? 1 : i.osize;
    if (!bitmapAllows(port, size)) return undefined;
    // Performed as from ring 0: the processor's VM bit is lifted for the one access (no mode change:
    // the segment caches stay v86 ones), so its own check of the shadow TSS bitmap is skipped.
    return () => {
      c.flags &= ~VM;
      c.cpl = 0;
      try { i.native(c, i); } finally { c.flags |= VM; c.cpl = 3; }
    };
  }
  if (m.v.v86Iopl !== IOPL) return undefined;
  if (h === 'int') {
    const n = i.imm & 0xff;
    return () => deliverFromV86(m, n, 0, false, V86Event.Soft);
  }
  if (h !== 'cli' && h !== 'sti' && h !== 'pushf' && h !== 'popf' && h !== 'iret') return undefined;
  // The processor's own v86 semantics at IOPL 3, with the task's IF in place for the one instruction.
  return () => {
    const saved = c.getEflags();
    c.setEflags((saved & ~(IF | IOPL)) | (m.v.vif ? IF : 0) | IOPL);
    try {
      i.native(c, i);
    } finally {
      const f = c.getEflags();
      m.v.vif = (f & IF) !== 0;
      c.setEflags((f & ~IOPL) | IF);
    }
  };
}

/**
 * Deliver an event out of v86 mode to the guest's ring-0 handler, as the processor would have with
 * the guest's IDT and TSS. Faults of the delivery itself go to the guest in turn (a second one stops it).
 */
export function deliverFromV86(m: Monitor, vector: number, err: number, hasError: boolean, kind: V86Event, depth = 0): void {
  const c = m.cpu;
  try {
    deliver(m, vector, err, hasError, kind);
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    if (depth > 0 || !c.isV86()) { m.stop(`a fault (vector ${c.faultVector}) while delivering vector ${vector} out of virtual-8086 mode`); return; }
    const v = c.faultVector, ve = c.faultError, vh = c.faultHasError;
    // A fault while delivering INT n, INT3 or INTO is the instruction's: it reports the instruction's address.
    if (kind === V86Event.Soft || kind === V86Event.SoftException) c.eip = c.curEip;
    if (v === 14) m.guest.cr2 = c.cr2; // the guest's tables refused the frame (Monitor.guestAccess)
    deliverFromV86(m, v, ve, vh, V86Event.Fault, depth + 1);
  }
}

function deliver(m: Monitor, vector: number, err: number, hasError: boolean, kind: V86Event): void {
  const c: Cpu = m.cpu, v = m.v;
  const soft = kind === V86Event.Soft || kind === V86Event.SoftException;
  const ext = kind === V86Event.External || kind === V86Event.Fault || kind === V86Event.Trap ? 1 : 0;
  const idtErr = (vector << 3) | 2 | ext;
  if (vector * 8 + 7 > v.idtLimit) c.gp(idtErr);
  const at = (v.idtBase + vector * 8) >>> 0;
  const lo = m.guestAccess(at, 4, false), hi = m.guestAccess(at + 4, 4, false);
  const type = (hi >>> 8) & 0x1f;
  if (type !== 5 && type !== 6 && type !== 7 && type !== 14 && type !== 15) c.gp(idtErr);
  if (soft && ((hi >>> 13) & 3) < 3) c.gp(idtErr);
  if (!(hi & 0x8000)) c.fault(EXC_NP, idtErr, true);
  m.exit(kind === V86Event.External ? EXIT.EXTERNAL_INTERRUPT : EXIT.EXCEPTION_NMI, {
    interruptionInfo: interruptionInfo(vector, kind === V86Event.External ? INTR_EXTERNAL : kind === V86Event.Soft ? INTR_SW_INTERRUPT : kind === V86Event.SoftException ? INTR_SW_EXCEPTION : INTR_HW_EXCEPTION, hasError),
    errorCode: err, eip: c.eip >>> 0, text: `vector ${vector} out of virtual-8086 mode, delivered to the guest's handler`,
  });
  if (type === 5) {
    deliverThroughTaskGate(m, vector, err, hasError, ext);
    m.updateIntercepts();
    return;
  }
  const gate32 = (type & 8) !== 0, size = gate32 ? 4 : 2;
  const target = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
  const csSel = lo >>> 16;
  if (!(csSel & 0xfffc)) c.gp(ext);
  const code = guestDescriptor(m, csSel);
  if (!code) c.gp((csSel & 0xfffc) | ext);
  const ct = (code.hi >>> 8) & 0x1f, cdpl = (code.hi >>> 13) & 3;
  if ((ct & 0x18) !== 0x18 || cdpl > 3) c.gp((csSel & 0xfffc) | ext);
  if (!(code.hi & 0x8000)) c.fault(EXC_NP, (csSel & 0xfffc) | ext, true);
  // Out of v86 mode only to ring 0 (the guest's), through a non-conforming code segment.
  if (ct & 4 || cdpl !== 0) c.gp((csSel & 0xfffc) | ext);
  // The guest's ring-0 stack, from its TSS.
  const tss32 = (v.trType & 8) !== 0;
  if ((tss32 ? 9 : 5) > v.trLimit) c.fault(EXC_TS, (v.trSel & 0xfffc) | ext, true);
  const esp0 = m.guestAccess(v.trBase + (tss32 ? 4 : 2), tss32 ? 4 : 2, false);
  const ss0 = m.guestAccess(v.trBase + (tss32 ? 8 : 4), 2, false);
  if (!(ss0 & 0xfffc)) c.fault(EXC_TS, ext, true);
  const stack = guestDescriptor(m, ss0);
  if (!stack) c.fault(EXC_TS, (ss0 & 0xfffc) | ext, true);
  if ((ss0 & 3) !== 0 || ((stack.hi >>> 13) & 3) !== 0 || ((stack.hi >>> 8) & 0x1a) !== 0x12) c.fault(EXC_TS, (ss0 & 0xfffc) | ext, true);
  if (!(stack.hi & 0x8000)) c.fault(EXC_SS, (ss0 & 0xfffc) | ext, true);
  const [sslo, sshi] = MonitorWindow.shadowDescriptor(stack.lo, stack.hi);
  const ssBase = base(sslo, sshi), b32 = (sshi & 0x400000) !== 0;
  const [cslo, cshi] = MonitorWindow.shadowDescriptor(code.lo, code.hi);
  if ((target >>> 0) > limit(cslo, cshi)) c.gp(ext);
  // The frame, written through the guest's translation before anything changes.
  let image = v86Eflags(m);
  if (kind === V86Event.Fault && (FAULTS >>> vector) & 1) image |= RF;
  const frame = [c.segSel[GS], c.segSel[FS], c.segSel[DS], c.segSel[ES], c.segSel[SS], c.r32[4], image, c.segSel[CS], c.eip];
  if (hasError) frame.push(err);
  let sp = esp0;
  const mask = b32 ? -1 : 0xffff;
  const top = ((sp - 1) & mask) >>> 0, bottom = ((sp - frame.length * size) & mask) >>> 0;
  if (bottom > top || top > limit(sslo, sshi)) c.fault(EXC_SS, (ss0 & 0xfffc) | ext, true);
  for (const val of frame) {
    sp = (sp - size) & mask;
    m.guestAccess((ssBase + sp) >>> 0, size, true, val);
  }
  // ---- commit: the guest's handler at ring 1 (its ring 0) ----
  const fromCs = c.segSel[CS], fromEip = c.eip;
  const interruptGate = type === 6 || type === 14;
  if (interruptGate) v.vif = false;
  c.setEflags((c.getEflags() & ~(VM | TF | NT | RF | IOPL)) | IF);
  for (const seg of [ES, DS, FS, GS]) c.loadSegCache(seg, 0, 0, 0, AR_UNUSABLE);
  c.loadSegCache(SS, (ss0 & ~3) | 1, ssBase | 0, limit(sslo, sshi) | 0, (sshi >>> 8) & 0xf0ff);
  if (b32) c.r32[4] = sp; else c.r16[8] = sp;
  c.loadSegCache(CS, (csSel & ~3) | 1, base(cslo, cshi) | 0, limit(cslo, cshi) | 0, (cshi >>> 8) & 0xf0ff);
  c.setCpl(1, kind === V86Event.Soft ? `int ${vector}` : kind === V86Event.External ? `interrupt ${vector}` : `exception ${vector}`);
  c.eip = target;
  c.halted = false;
  if (soft) { c.trapsDiscarded = true; c.dbPending = 0; }
  m.updateIntercepts();
  c.emit({ kind: 'mode', what: 'v86-exit' });
  c.emit({ kind: 'interrupt', vector, source: kind === V86Event.External ? 'external' : kind === V86Event.Soft ? 'software' : 'exception', errorCode: hasError ? err : -1, fromCs, fromEip });
  c.brk = true;
}

const base = (lo: number, hi: number) => ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
function limit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000 ? (raw << 12) | 0xfff : raw) >>> 0;
}

