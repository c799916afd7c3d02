// The shadow MMU's walk of the guest's own page tables (32-bit with PSE, and PAE with NX), done in
// software against guest-physical memory with the guest's view of CR0.WP/CR4/EFER and its PDPTEs.
// It returns what building a shadow entry needs: the guest frame, the permissions combined over the
// levels, and where each guest entry lives; or the #PF error code the guest must see. Accessed and
// dirty bits are set in the guest's tables as the processor would set them.

export const PTE_P = 1, PTE_RW = 2, PTE_US = 4, PTE_PWT = 8, PTE_PCD = 0x10, PTE_A = 0x20, PTE_D = 0x40, PTE_PS = 0x80, PTE_G = 0x100;
export const PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_ID = 16;
export const ACCESS_READ = 0, ACCESS_WRITE = 1, ACCESS_FETCH = 2;

/** What the walker needs from the guest: its control state and its physical memory. */
export interface GuestView {
  /** The guest has paging on (absent: on). Off, linear is guest-physical (a trap-and-emulate monitor still shadows it). */
  paging?: boolean;
  cr3: number;
  /** Guest CR0.WP, CR4.PSE, CR4.PAE, CR4.PGE, EFER.NXE. */
  wp: boolean;
  pse: boolean;
  pae: boolean;
  pge: boolean;
  nxe: boolean;
  /** PAE: the four PDPTEs as loaded at the last CR3 load (low, high dwords). */
  pdpte: Int32Array;
  /** The A20 gate's mask of guest-physical addresses (absent: all bits pass). */
  a20Mask?: number;
  /** Guest-physical dword read / write; a read outside RAM returns -1 (all ones, as open bus). */
  read32(gpa: number): number;
  write32(gpa: number, v: number): void;
}

export interface GuestWalk {
  ok: boolean;
  /** #PF error code when !ok. */
  error: number;
  /** Guest frame number of the byte's page (4 KiB granule, also inside a large page); -1 above 4 GiB (no RAM). */
  gfn: number;
  /** Combined over the levels: user-accessible, writable (as the entries say, before CR0.WP), no-execute. */
  user: boolean;
  writable: boolean;
  nx: boolean;
  global: boolean;
  /** The leaf is a large page (4 MiB, or 2 MiB with PAE); largeGfn is its first frame. */
  large: boolean;
  largeGfn: number;
  /** Leaf entry's dirty bit (after this walk's own update). */
  dirty: boolean;
  /** Guest frames of the tables walked, top level first (PD then PT; PAE: PD then PT). */
  tableGfns: number[];
  /** Index of the entry used in each of those tables. */
  indices: number[];
  /** The leaf entry's low dword (for the consistency check and the panel). */
  leaf: number;
  /** The directory entry's low dword (access bits of the upper level), and its NX (PAE with EFER.NXE). */
  dirEntry: number;
  dirNx: boolean;
}

function result(): GuestWalk {
  return { ok: false, error: 0, gfn: 0, user: false, writable: false, nx: false, global: false, large: false, largeGfn: 0, dirty: false, tableGfns: [], indices: [], leaf: 0, dirEntry: 0, dirNx: false };
}

/**
 * Walk the guest's tables for `lin`. `peek` checks nothing and sets nothing (consistency check,
 * panel): it returns the translation if one exists.
 */
export function guestWalk(g: GuestView, lin: number, access: number, user: boolean, peek = false): GuestWalk {
  if (g.paging === false) return identity(lin);
  return g.pae ? walkPae(g, lin, access, user, peek) : walk32(g, lin, access, user, peek);
}

/** Paging off: every linear address is the guest-physical one, with every permission (a 4 MiB "large page"). */
function identity(lin: number): GuestWalk {
  const r = result();
  r.ok = true;
  r.gfn = lin >>> 12;
  r.large = true;
  r.largeGfn = (lin >>> 22) << 10;
  r.user = r.writable = r.dirty = true;
  r.dirEntry = PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D;
  r.leaf = r.dirEntry;
  return r;
}

function fault(r: GuestWalk, err: number): GuestWalk {
  r.ok = false;
  r.error = err;
  return r;
}

function baseErr(access: number, user: boolean, id: boolean): number {
  return (access === ACCESS_WRITE ? PF_W : 0) | (user ? PF_U : 0) | (access === ACCESS_FETCH && id ? PF_ID : 0);
}

/** The permission check of the SDM for the combined bits; returns an error code or 0. */
function check(g: GuestView, access: number, user: boolean, us: boolean, rw: boolean, nx: boolean, id: boolean): number {
  if (user && !us) return PF_P | baseErr(access, user, id);
  if (access === ACCESS_WRITE && !rw && (user || g.wp)) return PF_P | baseErr(access, user, id);
  if (access === ACCESS_FETCH && nx) return PF_P | baseErr(access, user, id);
  return 0;
}

/** A guest-physical address or frame through the A20 gate (bit 20 forced to 0 while it is off). */
function a20(g: GuestView, addr: number): number { return g.a20Mask === undefined ? addr : (addr & g.a20Mask) >>> 0; }
function a20Frame(g: GuestView, gfn: number): number { return g.a20Mask === undefined || gfn < 0 ? gfn : ((gfn << 12) & g.a20Mask) >>> 12; }

function walk32(g: GuestView, lin: number, access: number, user: boolean, peek: boolean): GuestWalk {
  const r = result();
  const pdi = lin >>> 22;
  const pdeAddr = a20(g, ((g.cr3 & ~0xfff) >>> 0) + pdi * 4);
  const pdGfn = pdeAddr >>> 12;
  let pde = g.read32(pdeAddr);
  r.tableGfns.push(pdGfn);
  r.indices.push(pdi);
  r.dirEntry = pde;
  if (!(pde & PTE_P)) return fault(r, baseErr(access, user, false));
  if (pde & PTE_PS && g.pse) {
    if (pde & 0x3fe000) return fault(r, PF_P | PF_RSVD | baseErr(access, user, false));
    const us = (pde & PTE_US) !== 0, rw = (pde & PTE_RW) !== 0;
    if (!peek) {
      const e = check(g, access, user, us, rw, false, false);
      if (e) return fault(r, e);
      const want = pde | PTE_A | (access === ACCESS_WRITE ? PTE_D : 0);
      if (want !== pde) { g.write32(pdeAddr, want); pde = want; }
    }
    r.ok = true; r.large = true; r.largeGfn = (pde >>> 12) & 0xffc00;
    r.gfn = a20Frame(g, r.largeGfn + ((lin >>> 12) & 0x3ff));
    r.user = us; r.writable = rw; r.nx = false; r.global = (pde & PTE_G) !== 0 && g.pge;
    r.dirty = (pde & PTE_D) !== 0; r.leaf = pde;
    return r;
  }
  const pti = (lin >>> 12) & 0x3ff;
  const pteAddr = a20(g, ((pde >>> 12) & 0xfffff) * 4096 + pti * 4);
  const ptGfn = pteAddr >>> 12;
  let pte = g.read32(pteAddr);
  r.tableGfns.push(ptGfn);
  r.indices.push(pti);
  if (!(pte & PTE_P)) return fault(r, baseErr(access, user, false));
  const us = (pde & pte & PTE_US) !== 0, rw = (pde & pte & PTE_RW) !== 0;
  if (!peek) {
    const e = check(g, access, user, us, rw, false, false);
    if (e) return fault(r, e);
    if (!(pde & PTE_A)) g.write32(pdeAddr, pde | PTE_A);
    const want = pte | PTE_A | (access === ACCESS_WRITE ? PTE_D : 0);
    if (want !== pte) { g.write32(pteAddr, want); pte = want; }
  }
  r.ok = true;
  r.gfn = a20Frame(g, (pte >>> 12) & 0xfffff);
  r.user = us; r.writable = rw; r.nx = false; r.global = (pte & PTE_G) !== 0 && g.pge;
  r.dirty = (pte & PTE_D) !== 0; r.leaf = pte;
  return r;
}

/** PAE reserved bits in the high dword (MAXPHYADDR 36), bit 63 too unless NXE. */
const RSVD_HI = 0x7ffffff0;

function walkPae(g: GuestView, lin: number, access: number, user: boolean, peek: boolean): GuestWalk {
  const r = result();
  const id = g.nxe;
  const rsvdHi = RSVD_HI | (g.nxe ? 0 : 0x80000000);
  const pi = lin >>> 30;
  const pdpte = g.pdpte[pi * 2], pdpteHi = g.pdpte[pi * 2 + 1];
  if (!(pdpte & PTE_P)) return fault(r, baseErr(access, user, id));
  if (pdpte & 0x1e6 || pdpteHi & (RSVD_HI | 0x80000000)) return fault(r, PF_P | PF_RSVD | baseErr(access, user, id));
  const pdi = (lin >>> 21) & 0x1ff;
  const pdeAddr = a20(g, ((pdpte >>> 12) & 0xfffff) * 4096 + pdi * 8);
  const pdGfn = pdeAddr >>> 12;
  let pde = g.read32(pdeAddr);
  const pdeHi = g.read32(pdeAddr + 4);
  r.tableGfns.push(pdGfn);
  r.indices.push(pdi);
  r.dirEntry = pde;
  r.dirNx = g.nxe && pdeHi < 0;
  if (!(pde & PTE_P)) return fault(r, baseErr(access, user, id));
  if (pdeHi & rsvdHi) return fault(r, PF_P | PF_RSVD | baseErr(access, user, id));
  if (pde & PTE_PS) {
    if (pde & 0x1fe000) return fault(r, PF_P | PF_RSVD | baseErr(access, user, id));
    const us = (pde & PTE_US) !== 0, rw = (pde & PTE_RW) !== 0, nx = g.nxe && pdeHi < 0;
    if (!peek) {
      const e = check(g, access, user, us, rw, nx, id);
      if (e) return fault(r, e);
      const want = pde | PTE_A | (access === ACCESS_WRITE ? PTE_D : 0);
      if (want !== pde) { g.write32(pdeAddr, want); pde = want; }
    }
    r.ok = true; r.large = true; r.largeGfn = (pde >>> 12) & 0xffe00;
    r.gfn = pdeHi & 0xf ? -1 : a20Frame(g, r.largeGfn + ((lin >>> 12) & 0x1ff));
    r.user = us; r.writable = rw; r.nx = nx; r.global = (pde & PTE_G) !== 0 && g.pge;
    r.dirty = (pde & PTE_D) !== 0; r.leaf = pde;
    return r;
  }
  const pti = (lin >>> 12) & 0x1ff;
  const pteAddr = a20(g, ((pde >>> 12) & 0xfffff) * 4096 + pti * 8);
  const ptGfn = pteAddr >>> 12;
  let pte = g.read32(pteAddr);
  const pteHi = g.read32(pteAddr + 4);
  r.tableGfns.push(ptGfn);
  r.indices.push(pti);
  if (!(pte & PTE_P)) return fault(r, baseErr(access, user, id));
  if (pteHi & rsvdHi) return fault(r, PF_P | PF_RSVD | baseErr(access, user, id));
  const us = (pde & pte & PTE_US) !== 0, rw = (pde & pte & PTE_RW) !== 0, nx = g.nxe && (pdeHi < 0 || pteHi < 0);
  if (!peek) {
    const e = check(g, access, user, us, rw, nx, id);
    if (e) return fault(r, e);
    if (!(pde & PTE_A)) g.write32(pdeAddr, pde | PTE_A);
    const want = pte | PTE_A | (access === ACCESS_WRITE ? PTE_D : 0);
    if (want !== pte) { g.write32(pteAddr, want); pte = want; }
  }
  r.ok = true;
  r.gfn = pteHi & 0xf ? -1 : a20Frame(g, (pte >>> 12) & 0xfffff);
  r.user = us; r.writable = rw; r.nx = nx; r.global = (pte & PTE_G) !== 0 && g.pge;
  r.dirty = (pte & PTE_D) !== 0; r.leaf = pte;
  return r;
}
