// Hardware task switches under the trap-and-emulate monitor (and binary translation, paravirt). The
// processor's TR is always the shadow TSS, so it must never switch tasks itself; every way into a
// task switch traps instead, and the monitor performs the switch against the guest's own TSSs:
//   - far JMP/CALL to a TSS: the shadow GDT's TSS descriptors are DPL 0, so from ring 1 or 3 the
//     processor refuses with #GP(sel) (#NP(sel) for a not-present one);
//   - far JMP/CALL through a task gate: the shadow gate names the null selector (#GP(0));
//   - INT n through an IDT task gate: the shadow gate is not present (#NP(vector*8+2));
//   - exceptions and interrupts through an IDT task gate: the monitor intercepts those vectors
//     before delivery;
//   - IRET with NT: the shadow TSS's back-link is null, so the processor raises #TS(0).
// The switch itself follows the SDM as adapter/cpu/tasks.ts does: the checks and their #TS/#GP/#NP
// codes before anything changes, the old task's state saved (with the guest's view of IF and of its
// ring-0 selectors), busy bits, back-link and NT, CR0.TS, CR3, the LDT, then the new task's segments
// checked against the guest's descriptors and loaded from their ring-compressed shadows.
import type { Cpu } from '../cpu/cpu';
import { CPU_FAULT, CR0_TS, AR_UNUSABLE } from '../cpu/cpu';
import type { Insn } from '../cpu/insn';
import { ES, CS, SS, DS, FS, GS } from '../cpu/insn';
import { IF, IOPL, NT, VM } from '../cpu/flags';
import { readTss } from '../cpu/tasks';
import { queueDebugTrap, DR6_BT } from '../cpu/debugregs';
import { MonitorWindow } from './shadowdesc';
import { EXIT, interruptionInfo, INTR_EXTERNAL, INTR_HW_EXCEPTION } from './exits';
import { deliverToGuest, emulateAsGuest } from './privemul';
import { v86Eflags } from './v86';
import type { Monitor } from './monitor';

const EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13;
export const TASK_JMP = 0, TASK_CALL = 1, TASK_IRET = 2, TASK_INT = 3;
/** Segment registers in TSS order (ES CS SS DS FS GS). */
const TSS_SEGS = [ES, CS, SS, DS, FS, GS];
const T32 = { eip: 0x20, eflags: 0x24, regs: 0x28, segs: 0x48, ldt: 0x60, cr3: 0x1c, trap: 0x64 };
const T16 = { eip: 0x0e, eflags: 0x10, regs: 0x12, segs: 0x22, ldt: 0x2a };

/** A guest descriptor as read from its GDT or LDT. */
export interface GuestDescriptor { lo: number; hi: number; sel: number; addr: number }

const type5 = (d: GuestDescriptor) => (d.hi >>> 8) & 0x1f; // type with the S bit (0x10)
const dplOf = (d: GuestDescriptor) => (d.hi >>> 13) & 3;
const present = (d: GuestDescriptor) => (d.hi & 0x8000) !== 0;
const baseOf = (lo: number, hi: number) => ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
function limitOf(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000 ? (raw << 12) | 0xfff : raw) >>> 0;
}

/**
 * The guest's descriptor for `sel` (GDT or LDT by TI), or null beyond the table's limit (or no LDT).
 * The read faults (#PF) where the guest's tables do not map its descriptor table; with `peek` it
 * returns null there instead.
 */
export function guestDescriptor(m: Monitor, sel: number, peek = false): GuestDescriptor | null {
  const v = m.v;
  let base: number, limit: number;
  if (sel & 4) {
    if (!(v.ldtrSel & 0xfffc)) return null;
    base = v.ldtrBase; limit = v.ldtrLimit;
  } else {
    base = v.gdtBase; limit = v.gdtLimit;
  }
  if ((sel | 7) > limit) return null;
  const addr = (base + (sel & ~7)) >>> 0;
  if (peek) {
    const lo = m.readGuest32(addr), hi = m.readGuest32((addr + 4) >>> 0);
    return lo === undefined || hi === undefined ? null : { lo, hi, sel, addr };
  }
  return { lo: m.guestAccess(addr, 4, false), hi: m.guestAccess((addr + 4) >>> 0, 4, false), sel, addr };
}

function fetch(m: Monitor, sel: number, vector: number, ext: number): GuestDescriptor {
  const d = guestDescriptor(m, sel);
  if (!d) m.cpu.fault(vector, (sel & 0xfffc) | ext, true);
  return d;
}

/** Write a guest descriptor's high dword back (busy or accessed bit), in the guest's table and its shadow. */
function updateDescriptor(m: Monitor, d: GuestDescriptor, hi: number): void {
  m.guestAccess((d.addr + 5) >>> 0, 1, true, (hi >>> 8) & 0xff);
  d.hi = hi;
  const [sl, sh] = MonitorWindow.shadowDescriptor(d.lo, hi);
  if (d.sel & 4) m.window.writeLdt(d.sel >>> 3, sl, sh);
  else m.window.writeGdt(d.sel >>> 3, sl, sh);
}

function setBusy(m: Monitor, sel: number, busy: boolean): void {
  const d = guestDescriptor(m, sel & ~4);
  if (d) updateDescriptor(m, d, busy ? d.hi | 0x200 : d.hi & ~0x200);
}

/**
 * Far JMP/CALL whose selector names a TSS or a task gate in the guest's tables: the switch, with the
 * checks of the SDM at the guest's ring; undefined when the selector names something else (the
 * processor's own fault stands).
 */
export function farTaskTransfer(m: Monitor, c: Cpu, i: Insn): (() => void) | undefined {
  let sel: number;
  if (i.entry.operands[0] === 'Ap') sel = i.imm2 & 0xffff;
  else if (i.mem) {
    try { sel = c.read16(i.seg, (i.ea(c, i) + i.osize) | 0); } catch (e) { if (e === CPU_FAULT) return undefined; throw e; }
  } else return undefined;
  if (!(sel & 0xfffc)) return undefined;
  const d = guestDescriptor(m, sel, true);
  if (!d || ![1, 3, 5, 9, 11].includes(type5(d))) return undefined;
  const source = i.entry.handler === 'callf' ? TASK_CALL : TASK_JMP;
  return () => {
    const cpl = m.guestRing();
    const gate = (g: GuestDescriptor) => {
      if (dplOf(g) < cpl || dplOf(g) < (sel & 3)) c.gp(sel & 0xfffc);
      if (!present(g)) c.fault(EXC_NP, sel & 0xfffc, true);
    };
    let tss = d;
    if (type5(d) === 5) {
      gate(d);
      tss = tssFromGate(m, d.lo >>> 16, 0);
    } else {
      if (type5(d) !== 1 && type5(d) !== 9) c.gp(sel & 0xfffc); // busy
      gate(d);
    }
    switchTask(m, tss, source, 0, source === TASK_CALL ? 'call' : 'jmp');
  };
}

/** The TSS a task gate names: in the GDT, available, present (#GP/#NP with the TSS selector). */
function tssFromGate(m: Monitor, tssSel: number, ext: number): GuestDescriptor {
  const c = m.cpu;
  if (tssSel & 4) c.gp((tssSel & 0xfffc) | ext);
  const t = fetch(m, tssSel, EXC_GP, ext);
  if (type5(t) !== 1 && type5(t) !== 9) c.gp((tssSel & 0xfffc) | ext);
  if (!present(t)) c.fault(EXC_NP, (tssSel & 0xfffc) | ext, true);
  return t;
}

/** IRET with NT: back to the task the current TSS's back-link names (busy, in the GDT). */
export function taskReturn(m: Monitor): void {
  const c = m.cpu;
  const link = m.guestAccess(m.v.trBase, 2, false);
  if (link & 4) c.fault(EXC_TS, link & 0xfffc, true);
  const d = fetch(m, link, EXC_TS, 0);
  if (type5(d) !== 3 && type5(d) !== 11) c.fault(EXC_TS, link & 0xfffc, true);
  if (!present(d)) c.fault(EXC_NP, link & 0xfffc, true);
  switchTask(m, d, TASK_IRET, 0, 'iret');
  c.nmiBlocked = false;
}

/**
 * An event through the guest's IDT task gate `vector`: the switch, then the error code on the new
 * task's stack. Faults before the switch commits go to the guest as the processor would raise them.
 */
export function deliverThroughTaskGate(m: Monitor, vector: number, errorCode: number, hasError: boolean, ext: number): void {
  const c = m.cpu;
  // A task gate whose switch faults into another such gate, and so on: what is a double and then a
  // triple fault on hardware ends here as a shutdown.
  if (gateDepth >= 3) { c.enterShutdown(vector); return; }
  gateDepth++;
  try {
    const at = (m.v.idtBase + vector * 8) >>> 0;
    const tssSel = m.guestAccess(at + 2, 2, false);
    const t = tssFromGate(m, tssSel, ext);
    switchTask(m, t, TASK_INT, ext, `interrupt ${vector}`);
    if (hasError) {
      const size = (type5(t) & 8) ? 4 : 2;
      const sp = (c.getSp() - size) & (c.stack32 ? -1 : 0xffff);
      m.guestAccess((c.segBase[SS] + sp) >>> 0, size, true, errorCode);
      c.setSp(sp);
    }
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    deliverToGuest(c, c.faultVector, c.faultError, c.faultHasError);
  } finally {
    gateDepth--;
  }
}
let gateDepth = 0;

/** The guest's EFLAGS as it would see them: its virtual IF in the kernel (ring 1) and in v86 mode, the processor's elsewhere. */
function guestEflags(m: Monitor): number {
  if (m.cpu.isV86()) return v86Eflags(m);
  const f = m.cpu.getEflags();
  if (m.cpu.cpl === 1) return m.v.vif ? f | IF : f & ~IF;
  return f;
}

/**
 * Switch to the guest task whose TSS descriptor is `d` (type and presence already checked). A fault
 * before the commit point leaves everything as it was; one after it (a bad selector in the new TSS)
 * belongs to the new task: CS:EIP and curEip are already the new task's, as the processor has them
 * (adapter/cpu/tasks.ts), so the caller's fault delivery reports its first instruction.
 */
export function switchTask(m: Monitor, d: GuestDescriptor, source: number, ext: number, cause: string): void {
  const c = m.cpu, v = m.v;
  const sel = d.sel & 0xffff;
  const new32 = (type5(d) & 8) !== 0;
  const newBase = baseOf(d.lo, d.hi), newLimit = limitOf(d.lo, d.hi);
  if (newLimit < (new32 ? 0x67 : 0x2b)) c.fault(EXC_TS, (sel & 0xfffc) | ext, true);
  const old32 = (v.trType & 8) !== 0;
  const oldBase = v.trBase;
  if (v.trLimit < (old32 ? 0x5f : 0x29)) c.fault(EXC_TS, (v.trSel & 0xfffc) | ext, true);

  // The new task's state first: a page fault here leaves everything as it was.
  const t = readTss((off, size) => m.guestAccess((newBase + off) >>> 0, size, false), new32);
  const { regs, segs, ldt, cr3, trap } = t;
  let { eip, eflags } = t;

  // The old task's state, as the guest would have it: its IF, RPL 0 on its kernel's CS and SS.
  let oldFlags = guestEflags(m);
  if (source === TASK_IRET) oldFlags &= ~NT;
  const kernel = c.cpl === 1;
  const oldSel = (s: number) => (kernel && (s === CS || s === SS) && (c.segSel[s] & 3) === 1 ? c.segSel[s] & ~3 : c.segSel[s]);
  const wr = (off: number, size: number, val: number) => m.guestAccess((oldBase + off) >>> 0, size, true, val);
  if (old32) {
    wr(T32.eip, 4, c.eip); wr(T32.eflags, 4, oldFlags);
    for (let r = 0; r < 8; r++) wr(T32.regs + r * 4, 4, c.r32[r]);
    for (let s = 0; s < 6; s++) wr(T32.segs + s * 4, 2, oldSel(TSS_SEGS[s]));
  } else {
    wr(T16.eip, 2, c.eip); wr(T16.eflags, 2, oldFlags);
    for (let r = 0; r < 8; r++) wr(T16.regs + r * 2, 2, c.r16[r * 2]);
    for (let s = 0; s < 4; s++) wr(T16.segs + s * 2, 2, oldSel(TSS_SEGS[s]));
  }

  // Busy bits and the back-link.
  if (source === TASK_JMP || source === TASK_IRET) setBusy(m, v.trSel, false);
  if (source !== TASK_IRET) setBusy(m, sel, true);
  if (source === TASK_CALL || source === TASK_INT) {
    m.guestAccess(newBase, 2, true, v.trSel);
    eflags |= NT;
  }

  // ---- commit: from here on, faults belong to the new task ----
  const from = v.trSel;
  v.trSel = sel; v.trBase = newBase; v.trLimit = newLimit; v.trType = type5(d) | 2;
  c.trSel = sel; // STR shows the guest's TR; the processor's stays the shadow TSS
  m.guest.cr0 |= CR0_TS;
  c.cr0 |= CR0_TS;
  // A fault from here on restarts the new task's first instruction.
  c.eip = eip;
  c.curEip = eip;
  try {
    // A 32-bit task switch always reloads CR3 (through the shadow MMU).
    if (new32) m.setGuestCr3(cr3);
    if (new32) for (let r = 0; r < 8; r++) c.r32[r] = regs[r];
    else for (let r = 0; r < 8; r++) c.r16[r * 2] = regs[r];
    if (!new32) eflags = (guestEflags(m) & ~0xffff) | (eflags & 0xffff);
    // The guest's IF is virtual; the processor's IF stays on, its IOPL the monitor's (binary
    // translation lets the guest's IOPL through, as its POPF and IRET do).
    m.v.vif = (eflags & IF) !== 0;
    const iopl = m.translate ? eflags & IOPL : c.flags & IOPL;
    c.setEflags((eflags & ~(IF | IOPL)) | IF | iopl);
    // The selectors are visible in the new task before their descriptors are checked.
    for (let s = 0; s < 6; s++) c.loadSegCache(TSS_SEGS[s], segs[s], 0, 0, AR_UNUSABLE);
    c.dr[7] &= ~0x155; // local breakpoint enables belong to the old task
    m.taskSwitching = true;
    try { c.emit({ kind: 'task-switch', from, to: sel, cause }); } finally { m.taskSwitching = false; }
    if (trap) queueDebugTrap(c, DR6_BT);
    m.loadLdt(ldt, EXC_TS, ext);
    if (eflags & VM) m.enterV86Task(eflags, segs);
    else loadTaskSegments(m, segs, ext);
    if ((c.eip >>> 0) > (c.segLimit[CS] >>> 0)) c.gp(0);
  } finally {
    m.updateIntercepts();
    m.syncTss();
    c.brk = true;
  }
}

/** The new task's segment registers: the SDM's checks against the guest's descriptors, the caches from their shadows. */
function loadTaskSegments(m: Monitor, segs: number[], ext: number): void {
  const c = m.cpu;
  const err = (s: number) => (s & 0xfffc) | ext;
  const cs = segs[1], cpl = cs & 3;
  // The guest's ring 0 runs at ring 1 (its ring 1 and 2 keep their numbers).
  const real = cpl === 0 ? 1 : cpl;
  if (!(cs & 0xfffc)) c.fault(EXC_TS, err(cs), true);
  const code = fetch(m, cs, EXC_TS, ext);
  const t = type5(code);
  const isCode = (t & 0x18) === 0x18, conforming = isCode && (t & 4) !== 0;
  if (!isCode || (conforming ? dplOf(code) > cpl : dplOf(code) !== cpl)) c.fault(EXC_TS, err(cs), true);
  if (!present(code)) c.fault(EXC_NP, err(cs), true);
  load(m, CS, cpl === 0 ? (cs & ~3) | real : cs, code);
  c.setCpl(real, 'task switch');
  const ss = segs[2];
  if (!(ss & 0xfffc)) c.fault(EXC_TS, err(ss), true);
  const stack = fetch(m, ss, EXC_TS, ext);
  const writableData = (type5(stack) & 0x1a) === 0x12;
  if (!writableData || (ss & 3) !== cpl || dplOf(stack) !== cpl) c.fault(EXC_TS, err(ss), true);
  if (!present(stack)) c.fault(EXC_SS, err(ss), true);
  load(m, SS, cpl === 0 ? (ss & ~3) | real : ss, stack);
  for (const seg of [DS, ES, FS, GS]) {
    const sel = segs[seg];
    if (!(sel & 0xfffc)) continue; // stays null
    const d = fetch(m, sel, EXC_TS, ext);
    const ty = type5(d);
    const readable = (ty & 0x10) !== 0 && ((ty & 8) === 0 || (ty & 2) !== 0);
    const conf = (ty & 0x1c) === 0x1c;
    if (!readable || (!conf && (dplOf(d) < cpl || dplOf(d) < (sel & 3)))) c.fault(EXC_TS, err(sel), true);
    if (!present(d)) c.fault(EXC_NP, err(sel), true);
    load(m, seg, sel, d);
  }
}

/** Load a segment cache from the ring-compressed shadow of a guest descriptor; its accessed bit is set in both. */
function load(m: Monitor, seg: number, sel: number, d: GuestDescriptor): void {
  if (!(d.hi & 0x100)) updateDescriptor(m, d, d.hi | 0x100);
  const [lo, hi] = MonitorWindow.shadowDescriptor(d.lo, d.hi);
  m.cpu.loadSegCache(seg, sel & 0xffff, baseOf(lo, hi) | 0, limitOf(lo, hi) | 0, (hi >>> 8) & 0xf0ff);
}

/**
 * The monitor's trap handler for #NP and #TS that may be a task switch the shadow refused: INT n
 * through a (not-present) shadow task gate, far JMP/CALL to a not-present shadow descriptor of a
 * guest TSS or gate, IRET with NT (the shadow TSS's null back-link). Returns -1 when handled.
 */
export function taskTrap(m: Monitor, vector: number, err: number, info: number): number {
  const c = m.cpu;
  let i: Insn;
  try {
    i = c.code.lookup().insns[0];
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    return err;
  }
  const h = i.entry.handler;
  const start = c.eip;
  let run: (() => void) | undefined, what = '';
  if (vector === EXC_NP && (h === 'int' || h === 'int3' || h === 'into')) {
    const n = h === 'int' ? i.imm & 0xff : h === 'int3' ? 3 : 4;
    if (err !== ((n << 3) | 2) || !m.window.taskGate[n]) return err;
    run = () => deliverThroughTaskGateOrFault(m, n);
    what = `${m.insnText(i)} through the guest's task gate`;
  } else if (vector === EXC_NP && (h === 'jmpf' || h === 'callf')) {
    run = farTaskTransfer(m, c, i);
    what = `${m.insnText(i)} to a guest task`;
  } else if (vector === EXC_TS && h === 'iret' && c.flags & NT && (err & 0xfffc) === 0) {
    run = () => taskReturn(m);
    what = `${m.insnText(i)} with NT: return to the guest's previous task`;
  }
  if (!run) return err;
  m.exit(EXIT.EXCEPTION_NMI, { interruptionInfo: info, errorCode: err, instructionLength: i.len, text: `${vector === EXC_NP ? '#NP' : '#TS'}: ${what}, task switch emulated` });
  m.counters.emulatedPrivileged++;
  // Before the switch commits a fault is the instruction's; after, the new task's.
  const go = run;
  emulateAsGuest(m, c, i, start, () => { go(); });
  return -1;
}

/** INT n reached a task gate: the switch, its pre-commit faults thrown to the caller (they are the INT's). */
function deliverThroughTaskGateOrFault(m: Monitor, vector: number): void {
  const at = (m.v.idtBase + vector * 8) >>> 0;
  const t = tssFromGate(m, m.guestAccess(at + 2, 2, false), 0);
  switchTask(m, t, TASK_INT, 0, `interrupt ${vector}`);
}

/** An exception or interrupt the monitor intercepted because the guest's IDT has a task gate for it. */
export function exceptionThroughTaskGate(m: Monitor, vector: number, err: number, hasError: boolean, external: boolean): void {
  const c = m.cpu;
  const fromCs = c.segSel[CS], fromEip = c.eip;
  m.exit(external ? EXIT.EXTERNAL_INTERRUPT : EXIT.EXCEPTION_NMI, {
    interruptionInfo: interruptionInfo(vector, external ? INTR_EXTERNAL : INTR_HW_EXCEPTION, hasError), errorCode: err, eip: c.eip >>> 0,
    text: `${external ? 'IRQ' : 'exception'} vector ${vector} through the guest's task gate: task switch emulated`,
  });
  deliverThroughTaskGate(m, vector, err, hasError, external ? 1 : 0);
  c.halted = false;
  if (c.hooks.event || c.vmm.event) c.emit({ kind: 'interrupt', vector, source: external ? 'external' : 'exception', errorCode: hasError ? err : -1, fromCs, fromEip });
}

