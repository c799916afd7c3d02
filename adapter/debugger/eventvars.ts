// What an event stop knows: the variables an instruction event's condition sees (port, cr, msr,
// from/to of IF...), read before the instruction runs, and the words of a few reasons.
import type { Cpu } from '../cpu/cpu';
import type { Insn } from '../cpu/insn';
import type { GuestMemory } from './memory';
import { stackTop } from './registers';

/** Condition variables of an instruction event; undefined when the event does not happen (IF unchanged). */
export function insnEventVars(cpu: Cpu, i: Insn, memory: GuestMemory): Record<string, number> | undefined {
  const h = i.entry.handler;
  const r = (n: number) => cpu.r32[n] >>> 0;
  switch (h) {
    case 'movcr': return { cr: i.reg, write: i.entry.sub, value: i.entry.sub ? r(i.rm) : 0 };
    case 'clts': return { cr: 0, write: 1, value: cpu.cr0 & ~8 };
    case 'lmsw': return { cr: 0, write: 1 };
    case 'in': case 'out': case 'ins': case 'outs': {
      const port = i.entry.operands.includes('Ib') ? i.imm & 0xff : r(2) & 0xffff;
      const size = i.entry.sub === 1 ? 1 : i.osize;
      return { port, size, write: h === 'out' || h === 'outs' ? 1 : 0, value: h === 'out' ? r(0) & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff) : 0 };
    }
    case 'rdmsr': return { msr: r(1), write: 0, value: 0 };
    case 'wrmsr': return { msr: r(1), write: 1, value: r(0) };
    case 'cpuid': return { leaf: r(0), subleaf: r(1) };
    case 'int': return { vector: i.imm & 0xff };
    case 'int3': return { vector: 3 };
    case 'into': return { vector: 4 };
    case 'int1': return { vector: 1 };
    case 'vmx': return { nr: r(0) };
    case 'lgdt': case 'lidt': case 'lldt': case 'ltr': return { load: 1 };
    case 'sgdt': case 'sidt': case 'sldt': case 'str': return { load: 0 };
    case 'cli': case 'sti': case 'popf': case 'iret': {
      const from = (cpu.getEflags() >>> 9) & 1;
      const to = newIf(cpu, i, from, memory);
      return to === undefined || to === from ? undefined : { from, to };
    }
  }
  return {};
}

/** IF after CLI/STI/POPF/IRET, peeked from the stack for the last two; undefined if unknown. */
function newIf(cpu: Cpu, i: Insn, from: number, memory: GuestMemory): number | undefined {
  const h = i.entry.handler;
  const iopl = (cpu.getEflags() >>> 12) & 3;
  if (h === 'cli' || h === 'sti') return cpu.cpl <= iopl || !cpu.isProtected() ? (h === 'sti' ? 1 : 0) : from;
  const top = stackTop(cpu);
  const at = h === 'popf' ? top : (top + 2 * (i.osize === 4 && cpu.isProtected() ? 4 : i.osize)) >>> 0;
  const f = memory.readValue(at, 2);
  if (f === undefined) return undefined;
  // POPF changes IF only when CPL <= IOPL (or at CPL 0 for IRET's privilege rules).
  if (h === 'popf' && cpu.isProtected() && cpu.cpl > iopl) return from;
  return (f >>> 9) & 1;
}

/** The decoded #PF error code, for the stop's reason. */
export function describePf(err: number): string {
  return ` (${err & 1 ? 'protection' : 'not present'}, ${err & 2 ? 'write' : 'read'}, ${err & 4 ? 'user' : 'supervisor'}${err & 8 ? ', reserved bit' : ''}${err & 16 ? ', instruction fetch' : ''})`;
}

/** The words of a mode switch stop's reason. */
export function modeText(what: string): string {
  switch (what) {
    case 'protected': return 'real -> protected mode';
    case 'real': return 'protected -> real mode';
    case 'paging-on': return 'paging on';
    case 'paging-off': return 'paging off';
    case 'v86-enter': return 'entering virtual-8086 mode';
    case 'v86-exit': return 'leaving virtual-8086 mode';
  }
  return what;
}
