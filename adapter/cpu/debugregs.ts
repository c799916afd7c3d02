// The guest's own debug registers DR0-DR7 (its feature, separate from the debugger's breakpoints):
// instruction breakpoints (checked before an instruction, only while one is enabled: the run loop then
// steps one instruction at a time), data breakpoints (through the TLB's watched pages, so unwatched
// pages cost nothing), I/O breakpoints (CR4.DE), single-step and task-switch traps, general detect,
// and the DR6 status bits. MOV to/from DRn lives here too.
import type { Cpu } from './cpu';
import { CR4_DE } from './cpu';
import { raiseEvent, EventKind } from './interrupts';

export const DR6_B0 = 1, DR6_BD = 0x2000, DR6_BS = 0x4000, DR6_BT = 0x8000;
/** DR6 bits that read as one (bit 12 reads zero on P6-class processors). */
const DR6_FIXED1 = 0xffff0ff0 | 0;
const DR6_WRITABLE = 0xe00f;
/** DR7: bit 10 reads as one; bits 11, 12, 14 and 15 are reserved (zero). */
const DR7_FIXED1 = 0x400;
const DR7_RESERVED0 = 0xd800;
const DR7_GD = 0x2000;

const RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_RW = 3;

function rw(dr7: number, n: number): number { return (dr7 >>> (16 + n * 4)) & 3; }
function lenBytes(dr7: number, n: number): number {
  const l = (dr7 >>> (18 + n * 4)) & 3;
  return l === 0 ? 1 : l === 1 ? 2 : l === 3 ? 4 : 8;
}
function enabled(dr7: number, n: number): boolean { return ((dr7 >>> (n * 2)) & 3) !== 0; }

/** Recompute what the run loop and the TLB must watch after DR0-3, DR7 or CR4.DE change. */
export function updateBreakpoints(cpu: Cpu): void {
  const dr7 = cpu.dr[7];
  let exec = false;
  const ranges: { start: number; end: number }[] = [];
  for (let n = 0; n < 4; n++) {
    if (!enabled(dr7, n)) continue;
    const kind = rw(dr7, n);
    if (kind === RW_EXEC) exec = true;
    else if (kind === RW_WRITE || kind === RW_RW) {
      const len = lenBytes(dr7, n);
      const start = (cpu.dr[n] & ~(len - 1)) >>> 0;
      ranges.push({ start, end: start + len });
    }
  }
  cpu.drExec = exec;
  const hadData = cpu.drData;
  cpu.drData = ranges.length > 0;
  if (cpu.drData || hadData) cpu.tlb.setGuestWatchRanges(ranges);
  cpu.brk = true;
}

/** Queue debug-trap status bits; the #DB is delivered after the current instruction completes. */
export function queueDebugTrap(cpu: Cpu, bits: number): void {
  cpu.dbPending |= bits;
  cpu.brk = true;
}

/** Every #DB entry clears DR7.GD so the handler can use the debug registers. */
export function beforeDebugDelivery(cpu: Cpu): void {
  cpu.dr[7] &= ~DR7_GD;
}

/** Deliver the queued debug trap (single-step, data/I/O breakpoint, task switch). */
export function deliverDebugTrap(cpu: Cpu): void {
  const bits = cpu.dbPending;
  cpu.dbPending = 0;
  if (bits & 0xf) cpu.dr[6] = (cpu.dr[6] & ~0xf) | (bits & 0xf);
  cpu.dr[6] |= bits & ~0xf;
  raiseEvent(cpu, 1, 0, false, EventKind.Trap);
}

/**
 * Before an instruction at CS:EIP (only called while an execute breakpoint is enabled and RF is clear):
 * raise the instruction-breakpoint #DB fault if DR0-3 match. Returns true when one was raised.
 */
export function checkInsnBreakpoint(cpu: Cpu): boolean {
  const dr7 = cpu.dr[7];
  const lin = (cpu.segBase[1] + cpu.eip) | 0;
  let hits = 0;
  for (let n = 0; n < 4; n++) {
    if (enabled(dr7, n) && rw(dr7, n) === RW_EXEC && cpu.dr[n] === lin) hits |= 1 << n;
  }
  if (!hits) return false;
  cpu.dr[6] = (cpu.dr[6] & ~0xf) | hits;
  cpu.curEip = cpu.eip;
  raiseEvent(cpu, 1, 0, false, EventKind.InsnBreakpoint);
  return true;
}

/** A data access on a watched page (cpu.checkWatch): record hits of enabled data breakpoints. */
export function guestDataAccess(cpu: Cpu, lin: number, size: number, write: boolean): void {
  const dr7 = cpu.dr[7];
  const s = lin >>> 0, e = s + size;
  for (let n = 0; n < 4; n++) {
    if (!enabled(dr7, n)) continue;
    const kind = rw(dr7, n);
    if (kind !== RW_RW && !(kind === RW_WRITE && write)) continue;
    const len = lenBytes(dr7, n);
    const start = (cpu.dr[n] & ~(len - 1)) >>> 0;
    if (s < start + len && e > start) queueDebugTrap(cpu, 1 << n);
  }
}

/** IN/OUT/INS/OUTS: I/O breakpoints (R/W = 10 with CR4.DE). */
export function guestIoAccess(cpu: Cpu, port: number, size: number): void {
  if (!(cpu.cr4 & CR4_DE)) return;
  const dr7 = cpu.dr[7];
  for (let n = 0; n < 4; n++) {
    if (!enabled(dr7, n) || rw(dr7, n) !== RW_IO) continue;
    const len = lenBytes(dr7, n);
    const start = cpu.dr[n] & 0xffff & ~(len - 1);
    if (port < start + len && port + size > start) queueDebugTrap(cpu, 1 << n);
  }
}

/** Are any I/O breakpoints armed (so IN/OUT call guestIoAccess)? Cheap enough to test per I/O. */
export function ioBreakpointsArmed(cpu: Cpu): boolean {
  return (cpu.cr4 & CR4_DE) !== 0 && (cpu.dr[7] & 0xff) !== 0;
}

/** Common checks of MOV to/from DRn: CPL 0 (#GP(0)), DR4/DR5 with CR4.DE (#UD), DR7.GD (#DB, BD). */
function checkDrAccess(cpu: Cpu, n: number): number {
  if (cpu.cpl !== 0) cpu.gp(0);
  if (n === 4 || n === 5) {
    if (cpu.cr4 & CR4_DE) cpu.ud();
    n += 2; // aliases of DR6 and DR7
  }
  if (cpu.dr[7] & DR7_GD) {
    cpu.dr[6] |= DR6_BD;
    cpu.fault(1); // general-detect #DB is a fault
  }
  return n;
}

export function readDr(cpu: Cpu, n: number): number {
  n = checkDrAccess(cpu, n);
  return cpu.dr[n];
}

export function writeDr(cpu: Cpu, n: number, v: number): void {
  setDebugRegister(cpu, checkDrAccess(cpu, n), v);
}

/**
 * Store DR0-3, DR6 or DR7 with the fixed bits applied and re-arm the breakpoints, without the
 * instruction's checks (CPL, CR4.DE, DR7.GD): for the debugger and state restore.
 */
export function setDebugRegister(cpu: Cpu, n: number, v: number): void {
  if (n === 4 || n === 5) n += 2;
  if (n === 6) cpu.dr[6] = DR6_FIXED1 | (v & DR6_WRITABLE);
  else if (n === 7) cpu.dr[7] = (v | DR7_FIXED1) & ~DR7_RESERVED0;
  else cpu.dr[n] = v;
  if (n !== 6) updateBreakpoints(cpu);
}
