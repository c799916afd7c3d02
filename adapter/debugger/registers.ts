// Registers by name, for the expression language, the Variables view and setVariable. Reads never
// disturb the guest; writes go through the CPU's own checks (a write the CPU would refuse with #GP is
// refused here with the reason) and keep the CPU's derived state coherent.
//
// Under a hypervisor that keeps the guest's control state apart from the processor's (shadow paging
// puts its root in CR3 and forces CR0.WP; trap-and-emulate also runs the guest kernel at ring 1 on
// shadow GDT/IDT/TSS), `cr0`, `cr3`, `cr4`, `gdtr.*`, `idtr.*`, `tr*` and `ldtr*` name what the guest
// believes it loaded, and `real.cr3` and the like name the processor's. `cpl` is the processor's CPL;
// `guest.ring` is the ring the guest believes it runs in.
import { CPU_FAULT, type Cpu } from '../cpu/cpu';
import { REG8 } from '../cpu/cpu';
import { writeCr0, writeCr3, writeCr4 } from '../cpu/privileged';
import { writeDr } from '../cpu/debugregs';
import { readMsr, writeMsr, MSR_EFER } from '../cpu/msr';
import { CS, SS } from '../cpu/insn';
import type { GuestTables } from '../cpu/bus';

export const GPR32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
export const GPR16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
export const GPR8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
export const SEGMENTS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
/** EFLAGS bits by name (IOPL is two bits and handled apart). */
export const FLAG_BITS: [string, number][] = [
  ['cf', 0], ['pf', 2], ['af', 4], ['zf', 6], ['sf', 7], ['tf', 8], ['if', 9], ['df', 10], ['of', 11],
  ['nt', 14], ['rf', 16], ['vm', 17], ['ac', 18], ['vif', 19], ['vip', 20], ['id', 21],
];
const FLAG_INDEX = new Map(FLAG_BITS);
const SEG_PARTS = ['sel', 'selector', 'base', 'limit', 'ar', 'dpl', 'rpl'];
/** Descriptor-table register parts by name. */
const TABLE_PARTS = ['gdtr.base', 'gdtr.limit', 'idtr.base', 'idtr.limit', 'ldtr', 'ldtr.sel', 'ldtr.base', 'ldtr.limit', 'tr', 'tr.sel', 'tr.base', 'tr.limit'];
/** The processor's values where a hypervisor keeps the guest's apart (read-only). */
const REAL_NAMES = ['real.cr0', 'real.cr3', 'real.cr4', ...TABLE_PARTS.filter((n) => !n.endsWith('.sel')).map((n) => `real.${n}`)];

/** Descriptor-table registers, with the LDT's cached base and limit. */
export interface TableRegisters extends GuestTables {
  ldtrBase: number;
  ldtrLimit: number;
}

/** CRn as the guest believes it: the hypervisor's read shadows and, under shadow paging, the guest's CR3. */
export function guestCr(cpu: Cpu, n: 0 | 2 | 3 | 4): number {
  if (cpu.vmm.guestCr) return cpu.vmm.guestCr(cpu, n) >>> 0;
  return processorCr(cpu, n);
}

export function processorCr(cpu: Cpu, n: 0 | 2 | 3 | 4): number {
  return (n === 0 ? cpu.cr0 : n === 2 ? cpu.cr2 : n === 3 ? cpu.cr3 : cpu.cr4) >>> 0;
}

/** The ring the guest believes it runs in (1 less than the CPL for a deprivileged guest kernel). */
export function guestRing(cpu: Cpu): number {
  return cpu.vmm.guestRing ? cpu.vmm.guestRing(cpu) : cpu.cpl;
}

/** GDTR, IDTR, TR and LDTR as the processor has them. */
export function processorTables(cpu: Cpu): TableRegisters {
  return {
    gdtBase: cpu.gdtrBase >>> 0, gdtLimit: cpu.gdtrLimit & 0xffff, idtBase: cpu.idtrBase >>> 0, idtLimit: cpu.idtrLimit & 0xffff,
    trSel: cpu.trSel, trBase: cpu.trBase >>> 0, trLimit: cpu.trLimit >>> 0, ldtrSel: cpu.ldtrSel, ldtrBase: cpu.ldtrBase >>> 0, ldtrLimit: cpu.ldtrLimit >>> 0,
  };
}

/** The same as the guest loaded them (the monitor's copies while the processor's point at shadow tables). */
export function guestTables(cpu: Cpu): TableRegisters {
  const p = processorTables(cpu);
  const g = cpu.vmm.guestTables?.(cpu);
  if (!g) return p;
  // The processor's LDTR base is the monitor's shadow LDT; the guest's is its own table.
  return { ...p, gdtBase: g.gdtBase >>> 0, gdtLimit: g.gdtLimit & 0xffff, idtBase: g.idtBase >>> 0, idtLimit: g.idtLimit & 0xffff, trSel: g.trSel, trBase: g.trBase >>> 0, trLimit: g.trLimit >>> 0, ldtrSel: g.ldtrSel, ldtrBase: g.ldtrBase >>> 0, ldtrLimit: g.ldtrLimit >>> 0 };
}

function tablePart(t: TableRegisters, name: string): number | undefined {
  switch (name) {
    case 'gdtr.base': return t.gdtBase;
    case 'gdtr.limit': return t.gdtLimit;
    case 'idtr.base': return t.idtBase;
    case 'idtr.limit': return t.idtLimit;
    case 'ldtr': case 'ldtr.sel': return t.ldtrSel;
    case 'ldtr.base': return t.ldtrBase;
    case 'ldtr.limit': return t.ldtrLimit;
    case 'tr': case 'tr.sel': return t.trSel;
    case 'tr.base': return t.trBase;
    case 'tr.limit': return t.trLimit;
  }
  return undefined;
}

/**
 * Registers whose processor value the hypervisor keeps apart from the guest's, each shown twice by
 * the inspectors: CR0 and CR3 under shadow paging (WP forced, the shadow root), GDTR, IDTR and TR
 * under trap-and-emulate (shadow tables), and any other whose two values differ now.
 */
export function keptApart(cpu: Cpu): Set<'cr0' | 'cr3' | 'cr4' | 'gdtr' | 'idtr' | 'tr' | 'ldtr'> {
  const out = new Set<'cr0' | 'cr3' | 'cr4' | 'gdtr' | 'idtr' | 'tr' | 'ldtr'>();
  if (!cpu.vmm.guestCr && !cpu.vmm.guestTables) return out;
  // A hypervisor that walks the guest's tables itself (peekTranslate) has the processor walk shadow ones.
  if (cpu.vmm.peekTranslate) { out.add('cr0'); out.add('cr3'); }
  if (cpu.vmm.guestTables) { out.add('gdtr'); out.add('idtr'); out.add('tr'); }
  for (const n of [0, 3, 4] as const) if (guestCr(cpu, n) !== processorCr(cpu, n)) out.add(`cr${n}`);
  const g = guestTables(cpu), p = processorTables(cpu);
  if (g.gdtBase !== p.gdtBase || g.gdtLimit !== p.gdtLimit) out.add('gdtr');
  if (g.idtBase !== p.idtBase || g.idtLimit !== p.idtLimit) out.add('idtr');
  if (g.trSel !== p.trSel || g.trBase !== p.trBase || g.trLimit !== p.trLimit) out.add('tr');
  if (g.ldtrSel !== p.ldtrSel || g.ldtrBase !== p.ldtrBase) out.add('ldtr');
  return out;
}

export class RegisterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegisterError';
  }
}

/** Every register name the expression language knows (for completions). */
export function registerNames(): string[] {
  const names = [...GPR32, ...GPR16, ...GPR8, 'eip', 'ip', 'eflags', 'flags', 'iopl', ...FLAG_BITS.map((f) => f[0]), ...SEGMENTS,
    'cr0', 'cr2', 'cr3', 'cr4', 'efer', 'dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7', 'cpl', 'guest.ring',
    'gdtr.base', 'gdtr.limit', 'idtr.base', 'idtr.limit', 'ldtr', 'tr', 'ldtr.base', 'ldtr.limit', 'tr.base', 'tr.limit', ...REAL_NAMES];
  for (const s of SEGMENTS) for (const p of ['base', 'limit', 'ar', 'dpl']) names.push(`${s}.${p}`);
  return names;
}

/** Reads a register (lower-case name); undefined when the name is not a register. */
export function readRegister(cpu: Cpu, name: string): number | undefined {
  let k = GPR32.indexOf(name);
  if (k >= 0) return cpu.r32[k] >>> 0;
  k = GPR16.indexOf(name);
  if (k >= 0) return cpu.r16[k * 2];
  k = GPR8.indexOf(name);
  if (k >= 0) return cpu.r8[REG8[k]];
  switch (name) {
    case 'eip': return cpu.eip >>> 0;
    case 'ip': return cpu.eip & 0xffff;
    case 'eflags': case 'flags': return cpu.getEflags() >>> 0;
    case 'iopl': return (cpu.getEflags() >>> 12) & 3;
    case 'cr0': return guestCr(cpu, 0);
    case 'cr2': return guestCr(cpu, 2);
    case 'cr3': return guestCr(cpu, 3);
    case 'cr4': return guestCr(cpu, 4);
    case 'real.cr0': return processorCr(cpu, 0);
    case 'real.cr3': return processorCr(cpu, 3);
    case 'real.cr4': return processorCr(cpu, 4);
    case 'efer': return cpu.efer >>> 0;
    case 'cpl': return cpu.cpl;
    case 'guest.ring': return guestRing(cpu);
  }
  if (TABLE_PARTS.includes(name)) return tablePart(guestTables(cpu), name);
  if (name.startsWith('real.') && REAL_NAMES.includes(name)) return tablePart(processorTables(cpu), name.slice(5));
  const bit = FLAG_INDEX.get(name);
  if (bit !== undefined) return (cpu.getEflags() >>> bit) & 1;
  const dr = /^dr([0-7])$/.exec(name);
  if (dr) { const n = Number(dr[1]); return cpu.dr[n === 4 ? 6 : n === 5 ? 7 : n] >>> 0; }
  k = SEGMENTS.indexOf(name);
  if (k >= 0) return cpu.segSel[k];
  const sp = /^([a-z]s)\.([a-z]+)$/.exec(name);
  if (sp) {
    const s = SEGMENTS.indexOf(sp[1]);
    if (s < 0 || !SEG_PARTS.includes(sp[2])) return undefined;
    switch (sp[2]) {
      case 'sel': case 'selector': return cpu.segSel[s];
      case 'base': return cpu.segBase[s] >>> 0;
      case 'limit': return cpu.segLimit[s] >>> 0;
      case 'ar': return cpu.segAr[s] >>> 0;
      case 'dpl': return (cpu.segAr[s] >>> 5) & 3;
      case 'rpl': return cpu.segSel[s] & 3;
    }
  }
  return undefined;
}

/** Runs a CPU write that may raise #GP; turns the fault into a RegisterError with `why`. */
function checked(cpu: Cpu, why: string, f: () => void): void {
  try {
    f();
  } catch (e) {
    if (e === CPU_FAULT) throw new RegisterError(`refused: ${why} (the CPU would raise #GP(${cpu.faultError}))`);
    throw e;
  }
}

/** Writes a register by name. Throws RegisterError with a message a user can act on. */
export function writeRegister(cpu: Cpu, name: string, value: number): void {
  const v = value >>> 0;
  let k = GPR32.indexOf(name);
  if (k >= 0) { cpu.r32[k] = v; return; }
  k = GPR16.indexOf(name);
  if (k >= 0) { if (v > 0xffff) throw new RegisterError(`${name} is 16 bits wide`); cpu.r16[k * 2] = v; return; }
  k = GPR8.indexOf(name);
  if (k >= 0) { if (v > 0xff) throw new RegisterError(`${name} is 8 bits wide`); cpu.r8[REG8[k]] = v; return; }
  switch (name) {
    case 'eip':
      if (!cpu.code32 && v > 0xffff) throw new RegisterError('EIP is 16 bits wide in 16-bit code');
      if (v > (cpu.segLimit[CS] >>> 0)) throw new RegisterError(`0x${v.toString(16)} is beyond CS's limit 0x${(cpu.segLimit[CS] >>> 0).toString(16)}`);
      cpu.eip = v; cpu.halted = false; return;
    case 'ip': writeRegister(cpu, 'eip', v & 0xffff); return;
    case 'eflags': case 'flags': setEflagsChecked(cpu, v); return;
    case 'iopl':
      if (v > 3) throw new RegisterError('IOPL is 0 to 3');
      setEflagsChecked(cpu, (cpu.getEflags() & ~0x3000) | (v << 12)); return;
    case 'cr0':
      if (v & 0x80000000 && !(v & 1)) throw new RegisterError('refused: CR0.PG set with CR0.PE clear (the CPU would raise #GP(0))');
      checked(cpu, 'CR0 value', () => writeGuestCr(cpu, 0, v)); cpu.brk = true; cpu.code.flushAll(); return;
    case 'cr2': cpu.cr2 = v | 0; return;
    case 'cr3': checked(cpu, 'CR3 value', () => writeGuestCr(cpu, 3, v)); return;
    case 'cr4': checked(cpu, 'CR4 has bits this CPU does not support', () => writeGuestCr(cpu, 4, v)); return;
    case 'efer': checked(cpu, 'EFER has reserved bits', () => writeMsr(cpu, MSR_EFER, BigInt(v))); return;
    case 'cpl': throw new RegisterError('CPL follows CS (and SS); change it by loading segments in the guest');
    case 'guest.ring': throw new RegisterError('the ring the guest believes it runs in follows its CS; change it by loading segments in the guest');
  }
  if (REAL_NAMES.includes(name)) throw new RegisterError(`${name} is the hypervisor's: write ${name.slice(5)}, the guest's value, and the hypervisor keeps the processor's in step`);
  const bit = FLAG_INDEX.get(name);
  if (bit !== undefined) {
    if (v > 1) throw new RegisterError(`${name.toUpperCase()} is one bit: 0 or 1`);
    const f = cpu.getEflags();
    setEflagsChecked(cpu, v ? f | (1 << bit) : f & ~(1 << bit));
    return;
  }
  const dr = /^dr([0-7])$/.exec(name);
  if (dr) {
    // The guest's general-detect bit must not turn the debugger's write into a #DB.
    const gd = cpu.dr[7] & 0x2000;
    cpu.dr[7] &= ~0x2000;
    try {
      checked(cpu, `DR${dr[1]} value`, () => writeDr(cpu, Number(dr[1]), v | 0));
    } finally {
      if (dr[1] !== '7') cpu.dr[7] |= gd;
    }
    return;
  }
  if (SEGMENTS.includes(name) || /^[a-z]s\./.test(name) || /^(gdtr|idtr|ldtr|tr)/.test(name))
    throw new RegisterError(`${name} is read-only here: segment and descriptor-table registers change through guest instructions`);
  throw new RegisterError(`'${name}' is not a register`);
}

/** A write of CRn as the guest's MOV would make it: the hypervisor's shadow state follows. */
function writeGuestCr(cpu: Cpu, n: 0 | 3 | 4, v: number): void {
  if (cpu.vmm.setGuestCr?.(cpu, n, v | 0)) return;
  if (n === 0) writeCr0(cpu, v | 0); else if (n === 3) writeCr3(cpu, v | 0); else writeCr4(cpu, v | 0);
}

function setEflagsChecked(cpu: Cpu, v: number): void {
  if (v & 0x20000 && !(cpu.cr0 & 1)) throw new RegisterError('refused: EFLAGS.VM needs protected mode');
  if (((v ^ cpu.getEflags()) & 0x20000) !== 0) throw new RegisterError('refused: entering or leaving virtual-8086 mode needs IRET or a task switch');
  cpu.setEflags(v);
}

/** MSRs the inspector lists, with names; values read without side effects (#GP -> undefined). */
export const MSR_LIST: [number, string][] = [
  [0x10, 'IA32_TIME_STAMP_COUNTER'], [0x1b, 'IA32_APIC_BASE'], [0xfe, 'IA32_MTRRCAP'], [0x174, 'IA32_SYSENTER_CS'],
  [0x175, 'IA32_SYSENTER_ESP'], [0x176, 'IA32_SYSENTER_EIP'], [0x1a0, 'IA32_MISC_ENABLE'], [0x277, 'IA32_PAT'],
  [0x2ff, 'IA32_MTRR_DEF_TYPE'], [0xc0000080, 'IA32_EFER'],
];

export function peekMsr(cpu: Cpu, idx: number): bigint | undefined {
  try {
    return readMsr(cpu, idx | 0);
  } catch (e) {
    if (e === CPU_FAULT) return undefined;
    throw e;
  }
}

/** Linear address of SS:ESP (the top of the stack). */
export function stackTop(cpu: Cpu): number {
  return (cpu.segBase[SS] + (cpu.stack32 ? cpu.r32[4] : cpu.r16[8])) >>> 0;
}

/** Linear address of CS:EIP. */
export function codeAddress(cpu: Cpu): number {
  return (cpu.segBase[CS] + cpu.eip) >>> 0;
}
