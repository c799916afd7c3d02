// Exception and interrupt delivery: real-mode IVT; protected-mode IDT interrupt, trap and task gates
// with privilege change and stack switch from the TSS; interrupts out of virtual-8086 mode; double
// fault (contributory and page-fault classes) and triple fault; the EXT bit; the exception intercept
// hook; NMI blocking. Delivery is transactional: every check, descriptor read and stack write happens
// before any register changes, so a fault part way leaves the interrupted state intact for the next
// event (which is how a double fault sees the original state).
import type { Cpu } from './cpu';
import { CPU_FAULT, CR0_PE, CR4_VME, AR_UNUSABLE } from './cpu';
import { CS, SS, ES, DS, FS, GS } from './insn';
import { IF, TF, NT, RF, VM, AC, VIF, flushFlags, IOPL } from './flags';
import {
  Descriptor, StackBuilder, fetchDescriptor, selErr, setAccessed, loadCache, loadNull,
  EXC_GP, EXC_NP, EXC_SS, EXC_TS, EXC_DF,
  T_TASKGATE, T_INTGATE16, T_TRAPGATE16, T_INTGATE32, T_TRAPGATE32,
} from './segments';
import { taskSwitch, TASK_INT, tssStackFor } from './tasks';
import { beforeDebugDelivery } from './debugregs';

/** How an event arose: it decides the EXT bit, the gate DPL check, RF and double-fault classes. */
export const enum EventKind {
  /** Hardware exception of fault class (EIP points at the faulting instruction). */
  Fault = 0,
  /** Hardware exception of trap class (#DB traps, EIP after the instruction). */
  Trap = 1,
  /** INT n (software interrupt): gate DPL checked, EXT = 0, v86 IOPL-sensitive. */
  Soft = 2,
  /** INT3, INTO: software exceptions: gate DPL checked, EXT = 0, not IOPL-sensitive. */
  SoftException = 3,
  /** External (maskable) interrupt or NMI: EXT = 1. */
  External = 4,
  /** Instruction-breakpoint #DB: a fault whose pushed EFLAGS keeps RF clear. */
  InsnBreakpoint = 5,
  /** INT1 (ICEBP, opcode F1): #DB delivered as a hardware event, no DPL check. */
  Icebp = 6,
}

const CLASS_BENIGN = 0, CLASS_CONTRIBUTORY = 1, CLASS_PF = 2;
function faultClass(v: number): number {
  if (v === 0 || (v >= 10 && v <= 13)) return CLASS_CONTRIBUTORY;
  return v === 14 ? CLASS_PF : CLASS_BENIGN;
}

const gate = new Descriptor();
const code = new Descriptor();
const stackDesc = new Descriptor();
const sb = new StackBuilder();

/** Deliver an exception raised by an instruction (fault: EIP already restored) or a trap (isTrap). */
export function deliverException(cpu: Cpu, vector: number, errorCode: number, hasError: boolean, isTrap: boolean): void {
  raiseEvent(cpu, vector, errorCode, hasError, isTrap ? EventKind.Trap : EventKind.Fault);
}

/** Deliver a maskable external interrupt with the vector from the interrupt controller. */
export function deliverExternalInterrupt(cpu: Cpu, vector: number): void {
  raiseEvent(cpu, vector, 0, false, EventKind.External);
}

export function deliverNmi(cpu: Cpu): void {
  cpu.nmiBlocked = true; // until the next IRET
  raiseEvent(cpu, 2, 0, false, EventKind.External);
}

/**
 * Deliver an event, turning faults during delivery into the next event per the SDM's double-fault
 * table, and a fault while delivering #DF into shutdown. A software interrupt that faults during
 * delivery reports the fault at the INT instruction.
 */
export function raiseEvent(cpu: Cpu, vector: number, errorCode: number, hasError: boolean, kind: EventKind): void {
  try {
    raiseEventOnce(cpu, vector, errorCode, hasError, kind);
  } finally {
    cpu.vmm.afterDelivery?.(cpu);
  }
}

function raiseEventOnce(cpu: Cpu, vector: number, errorCode: number, hasError: boolean, kind: EventKind): void {
  let v = vector, err = errorCode, hasErr = hasError, k = kind, isDf = false, seen = cpu.vmmSawFault, resolved = 0;
  cpu.vmmSawFault = false;
  cpu.halted = false;
  for (;;) {
    const exceptionLike = k !== EventKind.Soft && k !== EventKind.External;
    if (exceptionLike && v < 32) {
      // The hypervisor's exception bitmap first: it may resolve the fault (an exit that never reaches the guest).
      if (!seen && (cpu.vmmExceptions >>> v) & 1 && cpu.vmm.exception) {
        const r = cpu.vmm.exception(cpu, v, err, hasErr, false);
        if (r === -1) return;
        err = r;
      }
      if ((cpu.exceptionIntercepts >>> v) & 1 && cpu.hooks.exception?.(cpu, v, err, hasErr)) return;
    }
    seen = false;
    try {
      if (v === 1 && k !== EventKind.Soft) beforeDebugDelivery(cpu);
      deliver(cpu, v, err, hasErr, k);
      return;
    } catch (x) {
      if (x !== CPU_FAULT) throw x;
      const nv = cpu.faultVector;
      let nerr = cpu.faultError;
      // A fault during delivery that the hypervisor resolves (a shadow page filled in): the event is
      // delivered again, as VMX re-injects it from the IDT-vectoring information.
      if (cpu.vmmSawFault) {
        cpu.vmmSawFault = false;
        seen = true;
      } else if ((cpu.vmmExceptions >>> nv) & 1 && cpu.vmm.exception) {
        const r = cpu.vmm.exception(cpu, nv, nerr, cpu.faultHasError, true);
        // A hypervisor that keeps resolving the same fault without progress would hang the host: say so.
        if (r === -1 && ++resolved > 1000) throw new Error(`hypervisor: exception ${nv} during the delivery of vector ${v} keeps recurring after being resolved`);
        if (r === -1) continue;
        nerr = r;
        seen = true;
      }
      if (isDf) { cpu.enterShutdown(nv); return; }
      const first = k === EventKind.Fault || k === EventKind.Trap || k === EventKind.InsnBreakpoint ? faultClass(v) : CLASS_BENIGN;
      const second = faultClass(nv);
      if ((first === CLASS_CONTRIBUTORY && second === CLASS_CONTRIBUTORY) || (first === CLASS_PF && second !== CLASS_BENIGN)) {
        v = EXC_DF; err = 0; hasErr = true; isDf = true; seen = false;
      } else {
        v = nv; err = nerr; hasErr = cpu.faultHasError;
      }
      k = EventKind.Fault;
    }
  }
}

/** One delivery attempt (may throw CPU_FAULT before committing anything). */
function deliver(cpu: Cpu, v: number, err: number, hasErr: boolean, k: EventKind): void {
  if (k === EventKind.Soft || k === EventKind.SoftException || k === EventKind.Icebp) {
    // As Bochs and QEMU do: a single-step trap does not follow INT n into its handler.
    cpu.trapsDiscarded = true;
    cpu.dbPending = 0;
  }
  const fromCs = cpu.segSel[CS], fromEip = cpu.eip;
  if (!(cpu.cr0 & CR0_PE)) deliverReal(cpu, v);
  else deliverProtected(cpu, v, err, hasErr, k);
  // Observers (the debugger's stack walk and rings view) learn of each delivered event.
  if (cpu.hooks.event || cpu.vmm.event) {
    const source = k === EventKind.External ? 'external' : k === EventKind.Soft ? 'software' : 'exception';
    cpu.emit({ kind: 'interrupt', vector: v, source, errorCode: hasErr ? err : -1, fromCs, fromEip });
  }
}

/** EFLAGS image to push: RF set for fault-class exceptions (SDM 17.3.1.1) except instruction breakpoints. */
function pushedFlags(cpu: Cpu, k: EventKind): number {
  flushFlags(cpu);
  const f = cpu.flags;
  return k === EventKind.Fault ? f | RF : f;
}

// ------------------------------------------------------------------ real mode (IVT)

function deliverReal(cpu: Cpu, v: number): void {
  if (v * 4 + 3 > (cpu.idtrLimit >>> 0)) cpu.fault(EXC_GP, 0, false);
  const entry = (cpu.idtrBase + v * 4) | 0;
  const ip = cpu.readSys(entry, 2), cs = cpu.readSys((entry + 2) | 0, 2);
  const s = sb.fromCurrent(cpu);
  s.reserve(cpu, 6, false);
  flushFlags(cpu);
  s.push(cpu, 2, cpu.flags & 0xffff);
  s.push(cpu, 2, cpu.segSel[CS]);
  s.push(cpu, 2, cpu.eip & 0xffff);
  s.commitSp(cpu);
  cpu.flags &= ~(IF | TF | AC | RF);
  cpu.loadRealSeg(CS, cs);
  cpu.eip = ip;
  cpu.brk = true;
}

// ------------------------------------------------------------------ protected mode (IDT)

function deliverProtected(cpu: Cpu, v: number, err: number, hasErr: boolean, k: EventKind): void {
  const soft = k === EventKind.Soft || k === EventKind.SoftException;
  const ext = soft ? 0 : 1;
  const idtErr = (v << 3) | 2 | ext;
  if (v * 8 + 7 > (cpu.idtrLimit >>> 0)) cpu.gp(idtErr);
  const g = gate;
  g.sel = v << 3;
  g.addr = (cpu.idtrBase + v * 8) | 0;
  g.lo = cpu.readSys(g.addr, 4);
  g.hi = cpu.readSys((g.addr + 4) | 0, 4);
  const type = g.type;
  if (g.s || (type !== T_TASKGATE && type !== T_INTGATE16 && type !== T_TRAPGATE16 && type !== T_INTGATE32 && type !== T_TRAPGATE32)) cpu.gp(idtErr);
  if (soft && g.dpl < cpu.cpl) cpu.gp(idtErr);
  if (!g.present) cpu.fault(EXC_NP, idtErr, true);

  if (type === T_TASKGATE) {
    taskSwitch(cpu, g.gateSel, TASK_INT, ext, `interrupt ${v}`);
    if (hasErr) {
      // The error code goes on the new task's stack, sized by the new TSS (the switch has committed).
      cpu.resolvingFaults(() => { if (cpu.trAr & 8) cpu.push32(err); else cpu.push16(err); });
    }
    return;
  }

  const g32 = (type & 8) !== 0, size = g32 ? 4 : 2;
  const target = g32 ? g.gateOffset32 : g.gateOffset16;
  const csSel = g.gateSel;
  if ((csSel & 0xfffc) === 0) cpu.gp(ext);
  const c = code;
  fetchDescriptor(cpu, csSel, c, EXC_GP, ext);
  if (!c.isCode || c.dpl > cpu.cpl) cpu.gp(selErr(csSel, ext));
  if (!c.present) cpu.fault(EXC_NP, selErr(csSel, ext), true);
  const v86 = cpu.isV86();
  const flags = pushedFlags(cpu, k);
  const clear = TF | NT | RF | VM | (type === T_INTGATE16 || type === T_INTGATE32 ? IF : 0);
  const why = soft ? `int ${v}` : k === EventKind.External ? `interrupt ${v}` : `exception ${v}`;

  if (!c.conforming && c.dpl < cpu.cpl) {
    // Inner ring: new stack from the TSS.
    if (v86 && c.dpl !== 0) cpu.gp(selErr(csSel, ext));
    const newCpl = c.dpl;
    const { ss, esp } = tssStackFor(cpu, newCpl, ext);
    checkNewStack(cpu, ss, newCpl, ext, stackDesc);
    const frame = (v86 ? 9 : 5) + (hasErr ? 1 : 0);
    const s = sb.fromDescriptor(stackDesc, esp, ext);
    s.reserve(cpu, frame * size);
    if ((target >>> 0) > (c.limit >>> 0)) cpu.gp(ext);
    if (v86) {
      s.push(cpu, size, cpu.segSel[GS]); s.push(cpu, size, cpu.segSel[FS]);
      s.push(cpu, size, cpu.segSel[DS]); s.push(cpu, size, cpu.segSel[ES]);
    }
    s.push(cpu, size, cpu.segSel[SS]);
    s.push(cpu, size, cpu.r32[4]);
    s.push(cpu, size, flags);
    s.push(cpu, size, cpu.segSel[CS]);
    s.push(cpu, size, cpu.eip);
    if (hasErr) s.push(cpu, size, err);
    setAccessed(cpu, stackDesc);
    setAccessed(cpu, c);
    // ---- commit ----
    if (v86) {
      cpu.setEflags(cpu.flags & ~VM);
      for (const seg of [ES, DS, FS, GS]) loadNull(cpu, seg, 0);
      cpu.emit({ kind: 'mode', what: 'v86-exit' });
    }
    loadCache(cpu, SS, (ss & 0xfffc) | newCpl, stackDesc);
    s.commitSp(cpu);
    loadCache(cpu, CS, (csSel & 0xfffc) | newCpl, c);
    cpu.setCpl(newCpl, why);
  } else if (c.conforming || c.dpl === cpu.cpl) {
    if (v86) cpu.gp(selErr(csSel, ext));
    const s = sb.fromCurrent(cpu);
    s.reserve(cpu, (hasErr ? 4 : 3) * size);
    if ((target >>> 0) > (c.limit >>> 0)) cpu.gp(ext);
    s.push(cpu, size, flags);
    s.push(cpu, size, cpu.segSel[CS]);
    s.push(cpu, size, cpu.eip);
    if (hasErr) s.push(cpu, size, err);
    setAccessed(cpu, c);
    s.commitSp(cpu);
    loadCache(cpu, CS, (csSel & 0xfffc) | cpu.cpl, c);
  } else {
    cpu.gp(selErr(csSel, ext));
  }
  cpu.setEflags(cpu.flags & ~clear);
  cpu.eip = target;
  cpu.brk = true;
}

/** Checks on an SS taken from the TSS (inner-ring stack): #TS(sel) for everything but presence (#SS). */
export function checkNewStack(cpu: Cpu, ss: number, newCpl: number, ext: number, d: Descriptor): void {
  if ((ss & 0xfffc) === 0) cpu.fault(EXC_TS, ext, true);
  fetchDescriptor(cpu, ss, d, EXC_TS, ext);
  if ((ss & 3) !== newCpl || d.dpl !== newCpl || !d.writableData) cpu.fault(EXC_TS, selErr(ss, ext), true);
  if (!d.present) cpu.fault(EXC_SS, selErr(ss, ext), true);
}

// ------------------------------------------------------------------ software interrupts (INT n, INT3, INTO)

// A fault while delivering these is a fault of the instruction itself (EIP at the INT): it propagates
// out of the handler like any other, and the first event counts as benign for double faults.

/**
 * INT n. EIP already points after the instruction. In v86 mode: with CR4.VME, a clear bit in the TSS
 * interrupt redirection bitmap sends the interrupt through the v86 task's own IVT; otherwise IOPL < 3
 * raises #GP(0) and IOPL 3 goes to the protected-mode handler.
 */
export function softwareInterrupt(cpu: Cpu, vector: number): void {
  if (cpu.isV86()) {
    if (cpu.cr4 & CR4_VME && redirected(cpu, vector)) { v86Redirect(cpu, vector); return; }
    if ((cpu.flags & IOPL) !== IOPL) cpu.gp(0);
  }
  deliver(cpu, vector, 0, false, EventKind.Soft);
}

/** VME: bit n of the 32-byte redirection bitmap just below the I/O map base; clear = redirect. */
function redirected(cpu: Cpu, vector: number): boolean {
  if ((cpu.trAr & 0xf) !== 11 || (cpu.trLimit >>> 0) < 0x67) cpu.gp(0);
  const off = cpu.readSys((cpu.trBase + 0x66) | 0, 2) - 32 + (vector >>> 3);
  if (off < 0 || off > (cpu.trLimit >>> 0)) cpu.gp(0);
  return ((cpu.readSys((cpu.trBase + off) | 0, 1) >>> (vector & 7)) & 1) === 0;
}

/** VME redirection: a real-mode style interrupt inside the v86 task (IF shown as VIF when IOPL < 3). */
function v86Redirect(cpu: Cpu, vector: number): void {
  const ip = cpu.readLin(vector * 4, 2), cs = cpu.readLin(vector * 4 + 2, 2);
  flushFlags(cpu);
  const iopl3 = (cpu.flags & IOPL) === IOPL;
  let image = cpu.flags & 0xffff;
  if (!iopl3) image = (image & ~IF) | (cpu.flags & VIF ? IF : 0) | IOPL;
  const s = sb.fromCurrent(cpu);
  s.reserve(cpu, 6);
  s.push(cpu, 2, image);
  s.push(cpu, 2, cpu.segSel[CS]);
  s.push(cpu, 2, cpu.eip);
  s.commitSp(cpu);
  cpu.loadRealSeg(CS, cs);
  cpu.eip = ip;
  cpu.setEflags(cpu.flags & ~(TF | RF | (iopl3 ? IF : VIF)));
  cpu.trapsDiscarded = true;
  cpu.dbPending = 0;
}

/** INT3 and INTO: software exceptions (traps): DPL-checked, never IOPL-sensitive, interceptable. */
export function softwareException(cpu: Cpu, vector: number): void {
  if ((cpu.vmmExceptions >>> vector) & 1 && cpu.vmm.exception?.(cpu, vector, 0, false, false) === -1) return;
  if ((cpu.exceptionIntercepts >>> vector) & 1 && cpu.hooks.exception?.(cpu, vector, 0, false)) return;
  deliver(cpu, vector, 0, false, EventKind.SoftException);
}

/** INT1 (ICEBP): a #DB trap delivered like a hardware event. */
export function icebp(cpu: Cpu): void {
  raiseEvent(cpu, 1, 0, false, EventKind.Icebp);
}

/** True when the unusable bit is set in an access-rights value (for the debugger's display). */
export function isUnusable(ar: number): boolean { return (ar & AR_UNUSABLE) !== 0; }
