// Control registers and the descriptor-table registers: MOV to/from CR0/CR2/CR3/CR4 with their
// validity checks, mode and paging transitions (and the TLB flushes each one needs), LMSW/SMSW/CLTS,
// LGDT/LIDT/SGDT/SIDT, LLDT/SLDT, LTR/STR, INVLPG.
import type { Cpu } from './cpu';
import { CR0_PE, CR0_TS, CR0_ET, CR0_WP, CR0_AM, CR0_NW, CR0_CD, CR0_PG, CR4_PSE, CR4_PAE, CR4_PGE, AR_UNUSABLE } from './cpu';
import { Descriptor, fetchDescriptor, EXC_GP, EXC_NP, T_LDT, T_TSS16_AVAIL, T_TSS32_AVAIL } from './segments';

// Literal masks: module-level code must not read cpu.ts's exports (an import cycle may still be
// initialising them when this file loads).
/** CR0 bits that exist (PE MP EM TS ET NE WP AM NW CD PG); writes to the others are ignored (SDM). */
const CR0_DEFINED = 0xe005003f | 0;
/** CR4 bits for features this CPU reports (VME PVI TSD DE PSE PAE PGE PCE); any other bit raises #GP(0). */
export const CR4_SUPPORTED = 0x1bf;

export function readCr(cpu: Cpu, n: number): number {
  switch (n) {
    case 0: return cpu.cr0;
    case 2: return cpu.cr2;
    case 3: return cpu.cr3;
    case 4: return cpu.cr4;
  }
  return cpu.ud();
}

export function writeCr(cpu: Cpu, n: number, v: number): void {
  switch (n) {
    case 0: writeCr0(cpu, v); return;
    case 2: cpu.cr2 = v; return;
    case 3: writeCr3(cpu, v); return;
    case 4: writeCr4(cpu, v); return;
  }
  cpu.ud();
}

/** CR0: PG without PE and NW without CD are #GP(0); ET is hardwired to 1 (P6). */
export function writeCr0(cpu: Cpu, v: number): void {
  v = (v & CR0_DEFINED) | CR0_ET;
  if (v & CR0_PG && !(v & CR0_PE)) cpu.gp(0);
  if (v & CR0_NW && !(v & CR0_CD)) cpu.gp(0);
  const old = cpu.cr0;
  const changed = old ^ v;
  // Enabling PAE paging (or changing CD/NW under it) loads the PDPTE registers.
  if (v & CR0_PG && cpu.cr4 & CR4_PAE && changed & (CR0_PG | CR0_CD | CR0_NW)) loadPdptes(cpu, cpu.cr3);
  cpu.cr0 = v;
  if (changed & (CR0_PE | CR0_PG | CR0_WP)) cpu.tlb.flushAll();
  if (changed & (CR0_PE | CR0_PG | CR0_WP | CR0_AM)) cpu.updateMode();
  if (changed & CR0_PE) cpu.emit({ kind: 'mode', what: v & CR0_PE ? 'protected' : 'real' });
  if (changed & CR0_PG) cpu.emit({ kind: 'mode', what: v & CR0_PG ? 'paging-on' : 'paging-off' });
}

/** CR3: a reload drops every non-global TLB entry. */
export function writeCr3(cpu: Cpu, v: number): void {
  let same = v === cpu.cr3;
  if (cpu.pagingOn() && cpu.cr4 & CR4_PAE) {
    const before = cpu.pdpte.slice();
    loadPdptes(cpu, v);
    for (let k = 0; k < before.length; k++) if (before[k] !== cpu.pdpte[k]) same = false;
  }
  cpu.cr3 = v;
  cpu.tlb.reloadRoot(same);
}

export function writeCr4(cpu: Cpu, v: number): void {
  if (v & ~CR4_SUPPORTED) cpu.gp(0);
  const old = cpu.cr4;
  if (cpu.pagingOn() && v & CR4_PAE && (old ^ v) & (CR4_PAE | CR4_PGE | CR4_PSE)) loadPdptes(cpu, cpu.cr3);
  cpu.cr4 = v;
  if ((old ^ v) & (CR4_PGE | CR4_PAE | CR4_PSE)) cpu.tlb.flushAll();
  cpu.brk = true;
}

/**
 * PAE: MOV CR3 (and enabling PAE paging, or changing CR4.PAE/PGE/PSE under it) loads the four PDPTEs
 * into cpu.pdpte, where walks find them: a later change in memory takes effect at the next load, not
 * at INVLPG. A present entry with reserved bits set raises #GP(0) and loads nothing. Bits 2:1, 8:5 and
 * 63:36 are reserved (bit 63 too: NX is not allowed in a PDPTE). Exported for anything that sets CR3
 * behind the instructions' back (loaders, the hypervisor).
 */
export function loadPdptes(cpu: Cpu, cr3: number): void {
  const base = cr3 & ~0x1f;
  const vals = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let k = 0; k < 4; k++) {
    const gpa = (base + k * 8) & cpu.a20Mask;
    const hpa = cpu.gpaToHpa(gpa & ~0xfff, 0);
    const lo = hpa < 0 ? cpu.host.mmioRead(gpa, 4) : cpu.dv.getInt32(hpa | (gpa & 0xfff), true);
    const hi = hpa < 0 ? cpu.host.mmioRead(gpa + 4, 4) : cpu.dv.getInt32((hpa | (gpa & 0xfff)) + 4, true);
    if (lo & 1 && (lo & 0x1e6 || hi & 0xfffffff0)) cpu.gp(0);
    vals[k * 2] = lo; vals[k * 2 + 1] = hi;
  }
  cpu.pdpte.set(vals);
}

/** LMSW: loads PE, MP, EM, TS; it can set PE but never clear it. */
export function lmsw(cpu: Cpu, v: number): void {
  writeCr0(cpu, (cpu.cr0 & ~0xe) | (v & 0xf) | (cpu.cr0 & CR0_PE));
}

export function clts(cpu: Cpu): void {
  cpu.cr0 &= ~CR0_TS;
}

// ------------------------------------------------------------------ GDTR IDTR LDTR TR

/** LGDT/LIDT operand: 16-bit limit then base (24 bits with a 16-bit operand size). */
export function loadDtr(cpu: Cpu, seg: number, off: number, osize: number, idt: boolean): void {
  const limit = cpu.read16(seg, off);
  let base = cpu.read32(seg, (off + 2) | 0);
  if (osize === 2) base &= 0xffffff;
  if (idt) { cpu.idtrLimit = limit; cpu.idtrBase = base; } else { cpu.gdtrLimit = limit; cpu.gdtrBase = base; }
}

/** SGDT/SIDT: limit then the full 32-bit base (the SDM's current text: both operand sizes store 32 bits). */
export function storeDtr(cpu: Cpu, seg: number, off: number, idt: boolean): void {
  cpu.probeWrite(seg, off, 6);
  cpu.write16(seg, off, idt ? cpu.idtrLimit : cpu.gdtrLimit);
  cpu.write32(seg, (off + 2) | 0, idt ? cpu.idtrBase : cpu.gdtrBase);
}

const dtDesc = new Descriptor();

/** LLDT: a null selector leaves LDTR unusable; otherwise an LDT descriptor from the GDT. */
export function lldt(cpu: Cpu, sel: number): void {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) {
    cpu.ldtrSel = sel; cpu.ldtrBase = 0; cpu.ldtrLimit = 0; cpu.ldtrAr = AR_UNUSABLE;
    return;
  }
  if (sel & 4) cpu.gp(sel & 0xfffc);
  const d = dtDesc;
  fetchDescriptor(cpu, sel, d, EXC_GP, 0);
  if (d.s || d.type !== T_LDT) cpu.gp(sel & 0xfffc);
  if (!d.present) cpu.fault(EXC_NP, sel & 0xfffc, true);
  cpu.ldtrSel = sel; cpu.ldtrBase = d.base; cpu.ldtrLimit = d.limit; cpu.ldtrAr = d.ar;
}

/** LTR: an available TSS from the GDT, which becomes busy. */
export function ltr(cpu: Cpu, sel: number): void {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) cpu.gp(0);
  if (sel & 4) cpu.gp(sel & 0xfffc);
  const d = dtDesc;
  fetchDescriptor(cpu, sel, d, EXC_GP, 0);
  if (d.s || (d.type !== T_TSS16_AVAIL && d.type !== T_TSS32_AVAIL)) cpu.gp(sel & 0xfffc);
  if (!d.present) cpu.fault(EXC_NP, sel & 0xfffc, true);
  cpu.writeSys((d.addr + 5) | 0, 1, ((d.hi >>> 8) | 2) & 0xff);
  cpu.trSel = sel; cpu.trBase = d.base; cpu.trLimit = d.limit; cpu.trAr = d.ar | 2;
}

/**
 * INVLPG: drop the translation of the page holding `lin`. A large page is cached here as 4 KiB pieces,
 * so when large pages are possible the whole 4 MiB (2 MiB with PAE) region goes.
 */
export function invlpg(cpu: Cpu, lin: number): void {
  const page = lin >>> 12;
  if (cpu.cr4 & (CR4_PSE | CR4_PAE)) {
    const n = cpu.cr4 & CR4_PAE ? 512 : 1024;
    const first = page & ~(n - 1);
    for (let p = first; p < first + n; p++) cpu.tlb.flushPage(p);
  } else {
    cpu.tlb.flushPage(page);
  }
  cpu.brk = true;
}
