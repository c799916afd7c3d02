// Binary translation, in the manner of VMware's first monitor: the guest kernel still runs at ring 1,
// but its code goes through a translator first. Each basic block the kernel executes is translated
// once into the translation cache (the CPU's decoded-block cache is that cache here: a block is a
// list of records with handlers): innocuous instructions are kept as they are, and every sensitive or
// privileged one is rewritten into a call to the monitor, which performs it against the virtual CPU
// state. So POPF and IRET set the guest's IF, PUSHF shows it, SGDT/SIDT/SMSW show the guest's own
// values, PUSH CS shows RPL 0 - the holes of trap-and-emulate close, and privileged instructions cost
// no #GP round trip. A block the guest writes over is dropped and translated again. User code (ring
// 3) runs directly, as it did under VMware; its own sensitive instructions keep their holes.
import type { Cpu } from '../cpu/cpu';
import type { Insn } from '../cpu/insn';
import { CS, SS } from '../cpu/insn';
import type { Block } from '../cpu/blocks';
import { Cls, OpFlag } from '../cpu/opcodes';
import { IF, IOPL, NT, VM } from '../cpu/flags';
import { kernelEmulation } from './privemul';
import { iretToV86 } from './v86';
import type { Monitor } from './monitor';

/** The classes the translator rewrites in kernel code. */
export const BT_CLASSES = Cls.Sensitive | Cls.Pushf | Cls.IntFlag | Cls.DescStore | Cls.Smsw | Cls.CrWrite | Cls.CrRead | Cls.Clts
  | Cls.Lmsw | Cls.DrAccess | Cls.DescLoad | Cls.Io | Cls.MsrRead | Cls.MsrWrite | Cls.Hlt | Cls.Invlpg | Cls.Cache | Cls.Rdpmc
  | Cls.Sysenter | Cls.FarTransfer;

export interface TranslatedInstruction {
  address: number;
  text: string;
  /** The monitor call the instruction became, when it was rewritten. */
  rewritten?: string;
}

export interface TranslatedBlock {
  /** Linear address and length of the guest's code. */
  guest: number;
  guestLength: number;
  /** Where the translation sits in the cache (its slot) and how many records it has. */
  host: number;
  hostLength: number;
  instructions: TranslatedInstruction[];
  /** Runs through the interpreter (a block compiled to a function stops counting). */
  executions: number;
}

/** What each rewritten instruction turns into (the panel shows it). */
function monitorCallName(i: Insn): string | undefined {
  if (!(i.entry.cls & BT_CLASSES)) return undefined;
  const h = i.entry.handler;
  switch (h) {
    case 'pushf': return 'push the guest\'s flags (virtual IF)';
    case 'popf': return 'pop into the guest\'s flags (virtual IF)';
    case 'iret': return 'return, restoring the guest\'s IF';
    case 'cli': return 'clear the guest\'s virtual IF';
    case 'sti': return 'set the guest\'s virtual IF';
    case 'sgdt': case 'sidt': return 'store the guest\'s descriptor-table register';
    case 'smsw': return 'store the guest\'s CR0';
    case 'push_sreg': case 'movsreg': return i.entry.sub === CS || i.entry.sub === SS || i.reg === CS || i.reg === SS ? 'show the selector with the guest\'s RPL' : undefined;
    case 'lar': case 'lsl': case 'verr': case 'verw': return 'check against the guest\'s descriptor';
    case 'in': case 'out': case 'ins': case 'outs': return 'port I/O by the monitor';
    case 'jmpf': case 'callf': case 'retf': return undefined; // runs as it is (the selector's RPL is right at ring 1)
  }
  return i.entry.flags & OpFlag.Cpl0 ? 'emulate at the guest\'s ring 0' : undefined;
}

export class TranslationCache {
  /** Translations by the guest linear address of their first instruction. */
  private readonly byGuest = new Map<number, TranslatedBlock>();
  /** The decoded block that currently runs each translation (the emulator rebuilds its decoded records
   *  when the debugger changes breakpoints; that is no reason for the modelled cache to lose them). */
  private readonly live = new Map<Block, TranslatedBlock>();
  private readonly runsOf = new Map<TranslatedBlock, Block>();
  private nextSlot = 0;
  translations = 0;
  invalidations = 0;
  rewritten = 0;

  constructor(private readonly m: Monitor) {}

  /** A block decoded for the guest kernel is a translation; user blocks run directly. */
  decoded(c: Cpu, b: Block): void {
    if (!this.m.deprivileged || c.cpl !== 1 || b.key < 0 || b.insns.length === 0) return;
    const base = c.segBase[CS];
    const instructions = b.insns.map((i) => {
      const rewritten = monitorCallName(i);
      const t: TranslatedInstruction = { address: (base + i.eip) >>> 0, text: this.m.insnText(i) };
      if (rewritten) t.rewritten = rewritten;
      return t;
    });
    const first = b.insns[0], last = b.insns[b.insns.length - 1];
    const guest = (base + first.eip) >>> 0;
    const old = this.byGuest.get(guest);
    if (old && sameCode(old.instructions, instructions)) {
      // The same guest code decoded again (our decoded records were rebuilt): the translation stands.
      this.attach(old, b);
      return;
    }
    if (old) this.drop(old); // the guest changed this code while nothing watched it: a new translation
    const t: TranslatedBlock = {
      guest, guestLength: (last.eip + last.len - first.eip) >>> 0,
      host: this.nextSlot, hostLength: b.insns.length, instructions, executions: 0,
    };
    this.nextSlot += b.insns.length;
    this.translations++;
    this.rewritten += instructions.filter((i) => i.rewritten).length;
    this.byGuest.set(guest, t);
    this.attach(t, b);
  }

  /** The guest wrote over a translated block's code: its translation goes. */
  dropped(b: Block): void {
    const t = this.live.get(b);
    if (t) this.drop(t);
  }

  /** Every decoded record was thrown away; translations stay, to be found again when their code runs. */
  flushed(): void {
    for (const [b, t] of this.live) t.executions += b.runs;
    this.live.clear();
    this.runsOf.clear();
  }

  /** The cache, guest address order. */
  list(): TranslatedBlock[] {
    const out: TranslatedBlock[] = [];
    for (const t of this.byGuest.values()) out.push({ ...t, executions: t.executions + (this.runsOf.get(t)?.runs ?? 0) });
    return out.sort((a, b) => a.guest - b.guest);
  }

  private attach(t: TranslatedBlock, b: Block): void {
    const prev = this.runsOf.get(t);
    if (prev) { t.executions += prev.runs; this.live.delete(prev); }
    this.live.set(b, t);
    this.runsOf.set(t, b);
  }

  private drop(t: TranslatedBlock): void {
    const b = this.runsOf.get(t);
    if (b) this.live.delete(b);
    this.runsOf.delete(t);
    if (this.byGuest.get(t.guest) === t) this.byGuest.delete(t.guest);
    this.invalidations++;
  }
}

function sameCode(a: TranslatedInstruction[], b: TranslatedInstruction[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k].address !== b[k].address || a[k].text !== b[k].text) return false;
  return true;
}

/**
 * The monitor call of a rewritten kernel instruction (real ring 1, the guest's ring 0): performs it
 * as ring 0 would have. Returns false to let the instruction run as it is (it needs no rewriting).
 */
export function monitorCall(m: Monitor, c: Cpu, i: Insn): boolean {
  const v = m.v;
  if (i.entry.cls & Cls.FarTransfer) m.holes.transfer(c, i);
  switch (i.entry.handler) {
    case 'pushf': {
      i.native(c, i);
      const sp = c.getSp();
      const f = c.readN(SS, sp, i.osize);
      c.writeN(SS, sp, i.osize, v.vif ? f | IF : f & ~IF);
      return true;
    }
    case 'popf': {
      const f = c.readN(SS, c.getSp(), i.osize);
      i.native(c, i); // the processor's flags, IF and IOPL aside (ring 1 cannot change them)
      v.vif = (f & IF) !== 0;
      c.setEflags((c.getEflags() & ~IOPL) | (f & IOPL) | IF); // the guest's IOPL (its ring 0 may set it); the processor's IF stays on for the monitor
      c.brk = true;
      return true;
    }
    case 'iret': {
      if (c.flags & NT) return false; // a task return: the processor's #TS brings it to the monitor (taskswitch.ts)
      const sp = c.getSp(), n = i.osize;
      const cs = c.read16(SS, (sp + n) | 0);
      const f = c.readN(SS, (sp + 2 * n) | 0, n);
      if (n === 4 && f & VM) { iretToV86(m); return true; } // into the guest's v86 task (v86.ts)
      // A return within the guest kernel: ring 0 in the frame is ring 1 on the processor.
      if ((cs & 3) === 0 && cs & 0xfffc) c.write16(SS, (sp + n) | 0, cs | 1);
      i.native(c, i);
      v.vif = (f & IF) !== 0;
      // The frame's IF is the guest's (frames.ts); the processor's stays on whatever IOPL let IRET load.
      c.setEflags((c.getEflags() & ~IOPL) | (f & IOPL) | IF);
      c.brk = true;
      return true;
    }
    case 'cli': v.vif = false; return true;
    case 'sti':
      if (!v.vif) { v.vif = true; c.shadow = true; c.brk = true; }
      return true;
    case 'sgdt': case 'sidt': {
      const ea = i.ea(c, i);
      c.probeWrite(i.seg, ea, 6);
      const gdt = i.entry.handler === 'sgdt';
      c.write16(i.seg, ea, gdt ? v.gdtLimit : v.idtLimit);
      c.write32(i.seg, (ea + 2) | 0, gdt ? v.gdtBase : v.idtBase);
      return true;
    }
    case 'smsw': {
      const cr0 = m.guest.cr0;
      if (i.mem) c.write16(i.seg, i.ea(c, i), cr0 & 0xffff);
      else if (i.osize === 4) c.r32[i.rm] = cr0;
      else c.r16[i.rm << 1] = cr0 & 0xffff;
      return true;
    }
    case 'push_sreg':
      if (i.entry.sub !== CS && i.entry.sub !== SS) return false;
      i.native(c, i);
      c.write16(SS, c.getSp(), c.segSel[i.entry.sub] & ~3);
      return true;
    case 'movsreg':
      if (i.entry.sub !== 0 || (i.reg !== CS && i.reg !== SS)) return false;
      i.native(c, i);
      if (i.mem) c.write16(i.seg, i.ea(c, i), c.segSel[i.reg] & ~3);
      else if (i.osize === 4) c.r32[i.rm] = c.segSel[i.reg] & ~3 & 0xffff;
      else c.r16[i.rm << 1] = c.segSel[i.reg] & ~3;
      return true;
    case 'lar': case 'lsl': case 'verr': case 'verw': {
      // Against the guest's own descriptors, at its ring 0: the processor reads them from the guest's GDT and LDT.
      const gdtr = c.gdtrBase, ldtr = c.ldtrBase, cpl = c.cpl;
      c.gdtrBase = v.gdtBase | 0;
      if (v.ldtrSel & 0xfffc) c.ldtrBase = v.ldtrBase | 0;
      c.cpl = 0;
      try { i.native(c, i); } finally { c.gdtrBase = gdtr; c.ldtrBase = ldtr; if (c.cpl === 0) c.cpl = cpl; }
      return true;
    }
  }
  // Privileged and IOPL-sensitive instructions: performed by the monitor without the #GP round trip.
  const op = kernelEmulation(m, c, i);
  if (!op) return false;
  const mn = m.insnText(i).split(' ')[0];
  m.emulated.set(mn, (m.emulated.get(mn) ?? 0) + 1);
  m.counters.emulatedPrivileged++;
  if (op() === 'restart') c.eip = c.curEip;
  return true;
}
