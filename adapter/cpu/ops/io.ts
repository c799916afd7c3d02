// Port I/O: IN, OUT, INS, OUTS (with REP) through the host's port bus. In protected mode with
// CPL > IOPL, and always in virtual-8086 mode, each access must be allowed by the TSS I/O permission
// bitmap (#GP(0) otherwise). Guest I/O breakpoints (DR7 R/W = 10 with CR4.DE) trap after the access.
import type { Cpu } from '../cpu';
import { CR0_PE } from '../cpu';
import type { Handler, Insn } from '../insn';
import { ES } from '../insn';
import type { Factory } from './index';
import { DF, IOPL, TF } from '../flags';
import { ioBitmapAllows } from '../tasks';
import { guestIoAccess, ioBreakpointsArmed } from '../debugregs';

/** The IOPL / bitmap check for `size` bytes at `port`. */
export function checkIo(c: Cpu, port: number, size: number): void {
  if (c.cr0 & CR0_PE && (c.isV86() || c.cpl > (c.flags & IOPL) >>> 12)) {
    if (!ioBitmapAllows(c, port, size)) c.gp(0);
  }
}

function portIn(c: Cpu, port: number, size: 1 | 2 | 4): number {
  checkIo(c, port, size);
  const v = c.host.portRead(port, size);
  if (ioBreakpointsArmed(c)) guestIoAccess(c, port, size);
  return v;
}
function portOut(c: Cpu, port: number, size: 1 | 2 | 4, v: number): void {
  checkIo(c, port, size);
  c.host.portWrite(port, size, size === 4 ? v : v & (size === 2 ? 0xffff : 0xff));
  if (ioBreakpointsArmed(c)) guestIoAccess(c, port, size);
}

function sizeOf(i: Insn): 1 | 2 | 4 { return i.entry.sub === 1 ? 1 : i.osize; }
function fromDx(i: Insn): boolean { return i.entry.operands.includes('DX'); }

function inFactory(i: Insn): Handler {
  const n = sizeOf(i), dx = fromDx(i);
  if (n === 1) return dx ? (c) => { c.r8[0] = portIn(c, c.r16[4], 1); } : (c, i) => { c.r8[0] = portIn(c, i.imm & 0xff, 1); };
  if (n === 2) return dx ? (c) => { c.r16[0] = portIn(c, c.r16[4], 2); } : (c, i) => { c.r16[0] = portIn(c, i.imm & 0xff, 2); };
  return dx ? (c) => { c.r32[0] = portIn(c, c.r16[4], 4); } : (c, i) => { c.r32[0] = portIn(c, i.imm & 0xff, 4); };
}

function outFactory(i: Insn): Handler {
  const n = sizeOf(i), dx = fromDx(i);
  if (n === 1) return dx ? (c) => portOut(c, c.r16[4], 1, c.r8[0]) : (c, i) => portOut(c, i.imm & 0xff, 1, c.r8[0]);
  if (n === 2) return dx ? (c) => portOut(c, c.r16[4], 2, c.r16[0]) : (c, i) => portOut(c, i.imm & 0xff, 2, c.r16[0]);
  return dx ? (c) => portOut(c, c.r16[4], 4, c.r32[0]) : (c, i) => portOut(c, i.imm & 0xff, 4, c.r32[0]);
}

/** Elements moved per run-loop turn by REP INS/OUTS before the instruction yields (restarts at itself). */
const REP_CHUNK = 1024;
/** A port access costs the host what many memory elements do (cpu.repWork). */
const PORT_WEIGHT = 64;

/**
 * INS: ES:(E)DI <- port DX (no segment override). The destination is probed before the port is read,
 * so a page fault does not lose input. Registers are updated after every element.
 */
function ins(c: Cpu, i: Insn, n: 1 | 2 | 4): void {
  const a32 = i.a32, am = a32 ? -1 : 0xffff;
  const rep = i.rep !== 0;
  let budget = rep && !(c.flags & TF) ? REP_CHUNK : 1; // one element per single-step trap
  while (budget-- > 0) {
    if (rep && (a32 ? c.r32[1] : c.r16[2]) === 0) return;
    const di = a32 ? c.r32[7] : c.r16[14];
    checkIo(c, c.r16[4], n);
    c.probeWrite(ES, di, n);
    const v = portIn(c, c.r16[4], n);
    c.writeN(ES, di, n, v);
    const next = (di + (c.flags & DF ? -n : n)) & am;
    if (a32) c.r32[7] = next; else c.r16[14] = next;
    if (rep) { if (a32) c.r32[1] = (c.r32[1] - 1) | 0; else c.r16[2] = c.r16[2] - 1; }
    if (c.dbPending !== 0) break; // I/O and data breakpoints trap after the iteration that hit them
  }
  if (rep && (a32 ? c.r32[1] : c.r16[2]) !== 0) { c.eip = c.curEip; c.brk = true; c.repWork += REP_CHUNK * PORT_WEIGHT; }
}

/** OUTS: port DX <- seg:(E)SI (DS unless overridden). */
function outs(c: Cpu, i: Insn, n: 1 | 2 | 4): void {
  const a32 = i.a32, am = a32 ? -1 : 0xffff;
  const rep = i.rep !== 0;
  let budget = rep && !(c.flags & TF) ? REP_CHUNK : 1; // one element per single-step trap
  while (budget-- > 0) {
    if (rep && (a32 ? c.r32[1] : c.r16[2]) === 0) return;
    const si = a32 ? c.r32[6] : c.r16[12];
    checkIo(c, c.r16[4], n);
    const v = c.readN(i.seg, si, n);
    portOut(c, c.r16[4], n, v);
    const next = (si + (c.flags & DF ? -n : n)) & am;
    if (a32) c.r32[6] = next; else c.r16[12] = next;
    if (rep) { if (a32) c.r32[1] = (c.r32[1] - 1) | 0; else c.r16[2] = c.r16[2] - 1; }
    if (c.dbPending !== 0) break; // I/O and data breakpoints trap after the iteration that hit them
  }
  if (rep && (a32 ? c.r32[1] : c.r16[2]) !== 0) { c.eip = c.curEip; c.brk = true; c.repWork += REP_CHUNK * PORT_WEIGHT; }
}

export const handlers: Record<string, Factory> = {
  in: inFactory,
  out: outFactory,
  ins: (i) => { const n = sizeOf(i); return (c, i) => ins(c, i, n); },
  outs: (i) => { const n = sizeOf(i); return (c, i) => outs(c, i, n); },
};
