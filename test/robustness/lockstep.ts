// Finds where two runs of the same guest first part: plain emulation and another mode, one
// instruction at a time, comparing what the guest can see (EIP, general registers, flags, its
// control registers, its console). Used to explain a disagreement the outcome comparison found.
//
// One class of disagreement is allowed by the architecture: a guest that changes a page-table entry
// in use and then uses the address without INVLPG or a CR3 load may get the old translation or the
// new one (SDM vol. 3, 4.10.4.3). The TLB of plain emulation keeps the old one; a shadow MMU drops
// its entry when it emulates the write. With `coherent`, both sides flush their TLB after every
// write to a page table, which takes that latitude away: what still differs then is a bug.
import { Machine, MiB } from '../../adapter/machine/pc';
import { createHypervisor } from '../../adapter/hypervisor/modes';
import type { Vm } from '../../adapter/hypervisor/vm';
import type { Monitor } from '../../adapter/hypervisor/monitor';
import { decodeFrom } from '../../adapter/cpu/decoder';
import { formatInsn } from '../../adapter/cpu/disasm';
import { CS } from '../../adapter/cpu/insn';
import { Cls } from '../../adapter/cpu/opcodes';
import { loadedGuest, type Mode, type RunnableGuest } from './run';

export interface Parting {
  /** Retired-instruction count of the first difference. */
  icount: number;
  what: string;
  /** The instruction plain emulation ran in the step where the runs parted. */
  insn: string;
  /** It is a VMX instruction: #UD on bare hardware, a VM exit (a hypercall) under a hypervisor. */
  vmx: boolean;
}

/** The instruction at CS:EIP of plain emulation (its memory as the guest sees it). */
function current(s: Side): { text: string; vmx: boolean } {
  const c = s.m.cpu;
  try {
    const i = decodeFrom((off) => {
      const phys = c.peekTranslate((c.segBase[CS] + off) | 0);
      return phys < 0 ? 0xff : s.m.ram[phys] ?? 0xff;
    }, c.eip, c.code32);
    return { text: formatInsn(i), vmx: (i.entry.cls & Cls.Vmx) !== 0 };
  } catch {
    return { text: '?', vmx: false };
  }
}

interface Side { m: Machine; hv?: Vm | Monitor; out: number[]; ended: boolean }

function start(g: RunnableGuest, mode: Mode): Side {
  const m = new Machine({ ramBytes: g.shape.ramMiB * MiB });
  m.load(loadedGuest(g));
  const hv = createHypervisor(m, mode === 'none' ? { mode: 'none' } : mode === 'ept' || mode === 'shadow' ? { mode: 'vtx', memory: mode } : { mode });
  const out: number[] = [];
  m.uart.onTransmit = (b) => out.push(b);
  m.debug.onDebugByte = (b) => out.push(b);
  return { m, hv, out, ended: false };
}

const hex = (v: number) => '0x' + (v >>> 0).toString(16);

function state(s: Side, monitor: boolean): Record<string, number> {
  const c = s.m.cpu;
  const cr = (n: number) => (c.vmm.guestCr ? c.vmm.guestCr(c, n) : n === 0 ? c.cr0 : n === 3 ? c.cr3 : c.cr4) >>> 0;
  const st: Record<string, number> = { icount: c.icount, eip: c.eip >>> 0, out: s.out.length, cr0: cr(0), cr3: cr(3), cr4: cr(4) };
  ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'].forEach((r, k) => { st[r] = c.r32[k] >>> 0; });
  // The monitor keeps the processor's IF on and IOPL its own: the guest's are virtual.
  st.eflags = (c.getEflags() & (monitor ? ~0x3200 : ~0)) >>> 0;
  return st;
}

export function findParting(g: RunnableGuest, mode: Mode, maxInstructions: number, coherent: boolean): Parting | undefined {
  const a = start(g, 'none'), b = start(g, mode);
  const monitor = mode === 'trap-and-emulate' || mode === 'binary-translation' || mode === 'paravirt';
  const mmu = b.hv?.shadow;
  let writes = mmu?.counters.emulatedWrites ?? 0;
  for (let guard = 0; guard < maxInstructions * 4; guard++) {
    const step = current(a);
    for (const s of [a, b]) {
      const why = s.m.cpu.run(1);
      if (s.m.exit || why === 'shutdown' || why === 'halt') s.ended = true;
    }
    if (coherent) {
      // Plain emulation notes writes to frames its walker read tables from; the shadow counts the
      // table writes it emulated.
      if (a.m.cpu.tlb.tablesWritten) a.m.cpu.tlb.flushAll();
      if (mmu && mmu.counters.emulatedWrites !== writes) { writes = mmu.counters.emulatedWrites; b.m.cpu.tlb.flushAll(); }
      if (b.m.cpu.tlb.tablesWritten) b.m.cpu.tlb.flushAll();
    }
    const sa = state(a, monitor), sb = state(b, monitor);
    for (const k of Object.keys(sa)) {
      if (sa[k] !== sb[k]) return { icount: sa.icount, what: `${k}: none ${hex(sa[k])}, ${mode} ${hex(sb[k])} (EIP none ${hex(sa.eip)}, ${mode} ${hex(sb.eip)})`, insn: step.text, vmx: step.vmx };
    }
    for (let k = 0; k < a.out.length; k++) if (a.out[k] !== b.out[k]) return { icount: sa.icount, what: `output byte ${k}`, insn: step.text, vmx: step.vmx };
    if (a.ended !== b.ended) return { icount: sa.icount, what: `${a.ended ? 'none' : mode} ended first`, insn: step.text, vmx: step.vmx };
    if (a.ended || sa.icount >= maxInstructions) return undefined;
  }
  return undefined;
}
