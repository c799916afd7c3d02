// Guest page-table walks: 32-bit two-level paging (4 KiB and 4 MiB PSE pages) and PAE three-level
// paging (4 KiB and 2 MiB pages, NX). Sets accessed and dirty bits as hardware does and raises #PF
// with the architectural error code and CR2. Entries are read as 64-bit values where PAE needs it.
// Guest tables are read through cpu.gpaToHpa, so under EPT every walk is two-dimensional.
import type { Cpu } from './cpu';

export const ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2;
/** Added to the access passed to cpu.gpaToHpa when the walker reads or writes a paging-structure entry. */
export const ACC_TABLE = 4;

/** Flags left in cpu.walkFlags by walk(). */
export const WALK_GLOBAL = 1, WALK_NX = 2, WALK_WRITABLE = 4, WALK_DIRTY = 8, WALK_LARGE = 16;

const PTE_P = 1, PTE_RW = 2, PTE_US = 4, PTE_A = 0x20, PTE_D = 0x40, PTE_PS = 0x80, PTE_G = 0x100;
const CR0_WP = 0x10000, CR4_PSE = 0x10, CR4_PAE = 0x20, CR4_PGE = 0x80, EFER_NXE = 0x800;
/** PAE reserved address bits above MAXPHYADDR (36) in the high dword: bits 62:36 -> 0x7FFFFFF0. */
const PAE_RSVD_HI = 0x7ffffff0;

export const PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_ID = 16;

/** Physical read of a 32-bit table word at a guest-physical address (a peek: cpu.gpaPeek, no exits). */
function readTable32(cpu: Cpu, gpa: number, peek: boolean): number {
  gpa &= cpu.a20Mask;
  if (cpu.gpaIdentity && (gpa >>> 0) < cpu.ramSize) {
    if (cpu.ptPages[gpa >>> 12] === 0) cpu.markTablePage(gpa >>> 12);
    return cpu.mem32[gpa >>> 2];
  }
  if (peek) {
    const h = cpu.gpaPeek(gpa);
    return h < 0 ? -1 : cpu.dv.getInt32(h, true);
  }
  const hpa = cpu.gpaToHpa(gpa & cpu.a20Mask, ACC_READ | ACC_TABLE);
  if (hpa < 0) return cpu.host.mmioRead(gpa, 4);
  if (cpu.ptPages[hpa >>> 12] === 0) cpu.markTablePage(hpa >>> 12);
  return cpu.dv.getInt32(hpa, true);
}
function writeTable32(cpu: Cpu, gpa: number, v: number): void {
  const hpa = cpu.gpaToHpa(gpa & cpu.a20Mask, ACC_WRITE | ACC_TABLE);
  if (hpa < 0) cpu.host.mmioWrite(gpa, 4, v);
  else {
    cpu.dv.setInt32(hpa, v, true);
    if (cpu.code.pageHasCode(hpa >>> 12)) cpu.code.write(hpa, 4);
  }
}

function pageFault(cpu: Cpu, lin: number, err: number, peek: boolean): never {
  if (!peek) cpu.cr2 = lin;
  return cpu.fault(14, err, true);
}

/**
 * Walk the guest's tables for `lin`. Returns the guest-physical address of the byte (not just the page).
 * `peek` walks without side effects (no A/D updates, CR2 untouched) for the debugger.
 */
export function walk(cpu: Cpu, lin: number, access: number, user: boolean, peek = false): number {
  return cpu.cr4 & CR4_PAE ? walkPae(cpu, lin, access, user, peek) : walk32(cpu, lin, access, user, peek);
}

function baseErr(access: number, user: boolean, idBit: boolean): number {
  return (access === ACC_WRITE ? PF_W : 0) | (user ? PF_U : 0) | (access === ACC_EXEC && idBit ? PF_ID : 0);
}

function checkPerm(cpu: Cpu, lin: number, access: number, user: boolean, rw: boolean, us: boolean, nx: boolean, peek: boolean, idBit: boolean): void {
  let ok = true;
  if (user && !us) ok = false;
  else if (access === ACC_WRITE && !rw && (user || cpu.cr0 & CR0_WP)) ok = false;
  else if (access === ACC_EXEC && nx) ok = false;
  if (!ok) pageFault(cpu, lin, PF_P | baseErr(access, user, idBit), peek);
}

function walk32(cpu: Cpu, lin: number, access: number, user: boolean, peek: boolean): number {
  const pdeAddr = (cpu.cr3 & ~0xfff) | ((lin >>> 22) << 2);
  let pde = readTable32(cpu, pdeAddr, peek);
  if (!(pde & PTE_P)) return pageFault(cpu, lin, baseErr(access, user, false), peek);
  if (pde & PTE_PS && cpu.cr4 & CR4_PSE) {
    // Without PSE-36 (cpuid.ts) bits 21:13 of a 4 MiB PDE are reserved.
    if (pde & 0x3fe000) return pageFault(cpu, lin, PF_P | PF_RSVD | baseErr(access, user, false), peek);
    const rw = (pde & PTE_RW) !== 0, us = (pde & PTE_US) !== 0;
    checkPerm(cpu, lin, access, user, rw, us, false, peek, false);
    const dirtyNeeded = access === ACC_WRITE && !(pde & PTE_D);
    if (!peek && (!(pde & PTE_A) || dirtyNeeded)) {
      pde |= PTE_A | (access === ACC_WRITE ? PTE_D : 0);
      writeTable32(cpu, pdeAddr, pde);
    }
    setWalk(cpu, pde & PTE_G && cpu.cr4 & CR4_PGE, false, writableFor(cpu, user, rw), (pde & PTE_D) !== 0, true);
    return (pde & 0xffc00000) | (lin & 0x3fffff);
  }
  const pteAddr = (pde & ~0xfff) | ((lin >>> 10) & 0xffc);
  let pte = readTable32(cpu, pteAddr, peek);
  if (!(pte & PTE_P)) return pageFault(cpu, lin, baseErr(access, user, false), peek);
  const rw = (pde & pte & PTE_RW) !== 0, us = (pde & pte & PTE_US) !== 0;
  checkPerm(cpu, lin, access, user, rw, us, false, peek, false);
  if (!peek) {
    if (!(pde & PTE_A)) writeTable32(cpu, pdeAddr, pde | PTE_A);
    if (!(pte & PTE_A) || (access === ACC_WRITE && !(pte & PTE_D))) {
      pte |= PTE_A | (access === ACC_WRITE ? PTE_D : 0);
      writeTable32(cpu, pteAddr, pte);
    }
  }
  setWalk(cpu, pte & PTE_G && cpu.cr4 & CR4_PGE, false, writableFor(cpu, user, rw), (pte & PTE_D) !== 0, false);
  return (pte & ~0xfff) | (lin & 0xfff);
}

function walkPae(cpu: Cpu, lin: number, access: number, user: boolean, peek: boolean): number {
  const nxe = (cpu.efer & EFER_NXE) !== 0;
  const rsvdHi = PAE_RSVD_HI | (nxe ? 0 : 0x80000000);
  // The PDPTEs come from the registers MOV CR3 (and enabling PAE paging) loaded, not from memory.
  const pdpte = cpu.pdpte[(lin >>> 30) << 1];
  const pdpteHi = cpu.pdpte[((lin >>> 30) << 1) | 1];
  if (!(pdpte & PTE_P)) return pageFault(cpu, lin, baseErr(access, user, nxe), peek);
  // PDPTE bits 2:1 and 8:5 are reserved (they are loaded with CR3 on real hardware; a walk-time check).
  if (pdpte & 0x1e6 || pdpteHi & (PAE_RSVD_HI | 0x80000000)) return pageFault(cpu, lin, PF_P | PF_RSVD | baseErr(access, user, nxe), peek);
  const pdeAddr = (pdpte & ~0xfff) + (((lin >>> 21) & 0x1ff) << 3);
  let pde = readTable32(cpu, pdeAddr, peek);
  const pdeHi = readTable32(cpu, pdeAddr + 4, peek);
  if (!(pde & PTE_P)) return pageFault(cpu, lin, baseErr(access, user, nxe), peek);
  if (pdeHi & rsvdHi) return pageFault(cpu, lin, PF_P | PF_RSVD | baseErr(access, user, nxe), peek);
  if (pde & PTE_PS) {
    if (pde & 0x1fe000) return pageFault(cpu, lin, PF_P | PF_RSVD | baseErr(access, user, nxe), peek);
    const rw = (pde & PTE_RW) !== 0, us = (pde & PTE_US) !== 0, nx = nxe && pdeHi < 0;
    checkPerm(cpu, lin, access, user, rw, us, nx, peek, nxe);
    if (!peek && (!(pde & PTE_A) || (access === ACC_WRITE && !(pde & PTE_D)))) {
      pde |= PTE_A | (access === ACC_WRITE ? PTE_D : 0);
      writeTable32(cpu, pdeAddr, pde);
    }
    setWalk(cpu, pde & PTE_G && cpu.cr4 & CR4_PGE, nx, writableFor(cpu, user, rw), (pde & PTE_D) !== 0, true);
    return highAddress(pdeHi, (pde & 0xffe00000) | (lin & 0x1fffff));
  }
  const pteAddr = (pde & ~0xfff) + (((lin >>> 12) & 0x1ff) << 3);
  let pte = readTable32(cpu, pteAddr, peek);
  const pteHi = readTable32(cpu, pteAddr + 4, peek);
  if (!(pte & PTE_P)) return pageFault(cpu, lin, baseErr(access, user, nxe), peek);
  if (pteHi & rsvdHi) return pageFault(cpu, lin, PF_P | PF_RSVD | baseErr(access, user, nxe), peek);
  const rw = (pde & pte & PTE_RW) !== 0, us = (pde & pte & PTE_US) !== 0, nx = nxe && (pdeHi < 0 || pteHi < 0);
  checkPerm(cpu, lin, access, user, rw, us, nx, peek, nxe);
  if (!peek) {
    if (!(pde & PTE_A)) writeTable32(cpu, pdeAddr, pde | PTE_A);
    if (!(pte & PTE_A) || (access === ACC_WRITE && !(pte & PTE_D))) {
      pte |= PTE_A | (access === ACC_WRITE ? PTE_D : 0);
      writeTable32(cpu, pteAddr, pte);
    }
  }
  setWalk(cpu, pte & PTE_G && cpu.cr4 & CR4_PGE, nx, writableFor(cpu, user, rw), (pte & PTE_D) !== 0, false);
  return highAddress(pteHi, (pte & ~0xfff) | (lin & 0xfff));
}

/** Addresses above 4 GiB have no RAM behind them here: map them to an address that is never RAM. */
function highAddress(hi: number, lo: number): number {
  return hi & 0xf ? -1 : lo;
}

function writableFor(cpu: Cpu, user: boolean, rw: boolean): boolean {
  return rw || (!user && !(cpu.cr0 & CR0_WP));
}

function setWalk(cpu: Cpu, global: number | boolean, nx: boolean, writable: boolean, dirty: boolean, large: boolean): void {
  cpu.walkFlags = (global ? WALK_GLOBAL : 0) | (nx ? WALK_NX : 0) | (writable ? WALK_WRITABLE : 0) | (dirty ? WALK_DIRTY : 0) | (large ? WALK_LARGE : 0);
}
