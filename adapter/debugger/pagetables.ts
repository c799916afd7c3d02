// The guest's page tables, walked for the debugger: each level's entry with its address and decoded
// bits (ringside/translate, the Translate picture), the present entries of a directory or table
// (Variables > Page tables), and the whole mapping merged into ranges (ringside/pagetables).
// Reads go through GuestMemory (physical), so walking never sets accessed bits or raises #PF.
//
// The walks start from the guest's CR3, CR0 and CR4 as the guest believes them: under shadow paging
// the processor's CR3 holds the hypervisor's shadow root, a host-physical table. That one is walked
// too, as a second view (`processorPaging`), reading host memory directly.
import type { Cpu } from '../cpu/cpu';
import type { GuestMemory, MemoryRead } from './memory';
import { guestCr, processorCr } from './registers';

const P = 1, RW = 2, US = 4, PWT = 8, PCD = 0x10, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;

export type PagingMode = 'off' | '32-bit' | 'pae';

export interface WalkStep {
  /** 'PDPTE', 'PDE' or 'PTE'. */
  level: string;
  /** Guest-physical address of the table and of the entry. */
  table: number;
  index: number;
  entryAddr: number;
  /** Raw entry: low dword, and the high dword under PAE. */
  raw: number;
  rawHi: number;
  bits: string[];
  /** Frame or next table the entry points at. */
  target: number;
}

export interface Translation {
  linear: number;
  paging: PagingMode;
  cr3: number;
  steps: WalkStep[];
  /** Guest-physical result, when the walk reaches a page. */
  physical?: number;
  pageSize?: number;
  /** Why the walk stopped (not present, reserved bit...). */
  fault?: string;
  /** Effective permissions of the mapping (the AND of every level). */
  writable?: boolean;
  user?: boolean;
  nx?: boolean;
}

/** A set of page tables to walk: the control bits that shape it and the memory its tables live in. */
export interface PagingView {
  mode: PagingMode;
  cr3: number;
  pse: boolean;
  nxe: boolean;
  a20Mask: number;
  /** Bytes of the tables' address space (guest-physical, or host-physical for the shadow tables). */
  read(addr: number, length: number): MemoryRead;
}

function modeOf(cr0: number, cr4: number): PagingMode {
  if (!(cr0 & 0x80000000) || !(cr0 & 1)) return 'off';
  return cr4 & 0x20 ? 'pae' : '32-bit';
}

/** The guest's paging mode, as its own CR0 and CR4 say. */
export function pagingMode(cpu: Cpu): PagingMode {
  return modeOf(guestCr(cpu, 0), guestCr(cpu, 4));
}

/** The guest's tables, from the CR3 it loaded, read as guest-physical memory. */
export function guestPaging(cpu: Cpu, mem: GuestMemory): PagingView {
  const cr4 = guestCr(cpu, 4);
  return {
    mode: pagingMode(cpu), cr3: guestCr(cpu, 3), pse: (cr4 & 0x10) !== 0, nxe: (cpu.efer & 0x800) !== 0, a20Mask: cpu.a20Mask,
    read: (a, n) => mem.read(a, n, 'physical'),
  };
}

/** The processor walks tables other than the guest's: the hypervisor's shadow page tables. */
export function shadowPaging(cpu: Cpu): boolean {
  return cpu.vmm.peekTranslate !== undefined && cpu.pagingOn();
}

/** The tables the processor's MMU really walks, from its own CR3, in host memory (the shadow tables). */
export function processorPaging(cpu: Cpu): PagingView {
  return {
    mode: modeOf(processorCr(cpu, 0), processorCr(cpu, 4)), cr3: processorCr(cpu, 3), pse: (cpu.cr4 & 0x10) !== 0, nxe: (cpu.efer & 0x800) !== 0, a20Mask: -1,
    read: (a, n) => hostRead(cpu, a, n),
  };
}

/** Host-physical bytes (the hypervisor's own structures live beyond guest RAM). */
export function hostRead(cpu: Cpu, addr: number, length: number): MemoryRead {
  const bytes = new Uint8Array(length);
  const readable: boolean[] = new Array(length).fill(false);
  const start = addr >>> 0, end = Math.min(start + length, cpu.mem.length);
  if (end > start) {
    bytes.set(cpu.mem.subarray(start, end), 0);
    readable.fill(true, 0, end - start);
  }
  return { bytes, readable };
}

/** Linear memory as the processor sees it through `view` (the shadow tables): the monitor's window too. */
export function readThrough(view: PagingView, lin: number, length: number): MemoryRead {
  const bytes = new Uint8Array(length);
  const readable: boolean[] = new Array(length).fill(false);
  let k = 0;
  while (k < length) {
    const a = (lin + k) >>> 0;
    const chunk = Math.min(length - k, 0x1000 - (a & 0xfff));
    const t = walk(view, a);
    if (t.physical !== undefined) {
      const r = view.read(t.physical, chunk);
      bytes.set(r.bytes, k);
      for (let j = 0; j < chunk; j++) readable[k + j] = r.readable[j];
    }
    k += chunk;
  }
  return { bytes, readable };
}

/** Decoded flags of a page-table entry, in the order the SDM lists them. */
export function entryBits(lo: number, hi: number, leaf: boolean, pae: boolean): string[] {
  const b: string[] = [];
  b.push(lo & P ? 'P' : 'not present');
  if (!(lo & P)) return b;
  b.push(lo & RW ? 'RW' : 'RO');
  b.push(lo & US ? 'U' : 'S');
  if (lo & PWT) b.push('PWT');
  if (lo & PCD) b.push('PCD');
  if (lo & A) b.push('A');
  if (leaf && lo & D) b.push('D');
  if (lo & PS && !leaf) b.push('PS');
  if (leaf && lo & PS) b.push('PS');
  if (leaf && lo & G) b.push('G');
  if (pae && hi & 0x80000000) b.push('NX');
  return b;
}

function dword(r: MemoryRead): number | undefined {
  if (r.readable.some((x) => !x)) return undefined;
  return (r.bytes[0] | (r.bytes[1] << 8) | (r.bytes[2] << 16) | (r.bytes[3] << 24)) >>> 0;
}

/** Walks the guest's tables for one linear address, recording each level. */
export function translate(cpu: Cpu, mem: GuestMemory, lin: number): Translation {
  return walk(guestPaging(cpu, mem), lin);
}

/** Walks one set of tables for a linear address, recording each level. */
export function walk(view: PagingView, lin: number): Translation {
  lin >>>= 0;
  const mode = view.mode;
  const t: Translation = { linear: lin, paging: mode, cr3: view.cr3 >>> 0, steps: [] };
  const rd = (a: number) => dword(view.read(a >>> 0, 4));
  if (mode === 'off') {
    t.physical = lin & view.a20Mask;
    t.pageSize = 0x1000;
    t.writable = t.user = true;
    return t;
  }
  let writable = true, user = true, nx = false;
  const step = (level: string, table: number, index: number, size: number, leafIfPs: boolean): WalkStep | undefined => {
    const entryAddr = (table + index * size) >>> 0;
    const lo = rd(entryAddr), hi = size === 8 ? rd(entryAddr + 4) : 0;
    if (lo === undefined || hi === undefined) { t.fault = `${level} at 0x${entryAddr.toString(16)} is outside RAM`; return undefined; }
    const leaf = level === 'PTE' || (leafIfPs && (lo & PS) !== 0);
    const s: WalkStep = { level, table, index, entryAddr, raw: lo, rawHi: hi, bits: entryBits(lo, hi, leaf, size === 8), target: 0 };
    t.steps.push(s);
    if (!(lo & P)) { t.fault = `${level} ${index} is not present`; return undefined; }
    if (level !== 'PDPTE') {
      writable &&= (lo & RW) !== 0;
      user &&= (lo & US) !== 0;
      if (size === 8 && hi & 0x80000000 && view.nxe) nx = true;
    }
    return s;
  };
  if (mode === '32-bit') {
    const pde = step('PDE', view.cr3 & ~0xfff, lin >>> 22, 4, view.pse);
    if (!pde) return t;
    if (pde.raw & PS && view.pse) {
      pde.target = (pde.raw & 0xffc00000) >>> 0;
      return finish(t, (pde.target | (lin & 0x3fffff)) >>> 0, 0x400000, writable, user, nx);
    }
    pde.target = (pde.raw & ~0xfff) >>> 0;
    const pte = step('PTE', pde.target, (lin >>> 12) & 0x3ff, 4, false);
    if (!pte) return t;
    pte.target = (pte.raw & ~0xfff) >>> 0;
    return finish(t, (pte.target | (lin & 0xfff)) >>> 0, 0x1000, writable, user, nx);
  }
  const pdpte = step('PDPTE', view.cr3 & ~0x1f, lin >>> 30, 8, false);
  if (!pdpte) return t;
  pdpte.target = (pdpte.raw & ~0xfff) >>> 0;
  const pde = step('PDE', pdpte.target, (lin >>> 21) & 0x1ff, 8, true);
  if (!pde) return t;
  if (pde.raw & PS) {
    pde.target = (pde.raw & 0xffe00000) >>> 0;
    return finish(t, (pde.target | (lin & 0x1fffff)) >>> 0, 0x200000, writable, user, nx);
  }
  pde.target = (pde.raw & ~0xfff) >>> 0;
  const pte = step('PTE', pde.target, (lin >>> 12) & 0x1ff, 8, false);
  if (!pte) return t;
  pte.target = (pte.raw & ~0xfff) >>> 0;
  return finish(t, (pte.target | (lin & 0xfff)) >>> 0, 0x1000, writable, user, nx);
}

function finish(t: Translation, phys: number, size: number, writable: boolean, user: boolean, nx: boolean): Translation {
  t.physical = phys;
  t.pageSize = size;
  t.writable = writable;
  t.user = user;
  t.nx = nx;
  return t;
}

export interface TableEntry {
  index: number;
  /** Linear address this entry starts to map. */
  linear: number;
  entryAddr: number;
  raw: number;
  rawHi: number;
  bits: string[];
  /** Next table (when not a leaf) or frame. */
  target: number;
  leaf: boolean;
  /** Bytes of linear space the entry covers. */
  span: number;
}

/** Present entries of one table. `level` 0 = the top (PD in 32-bit, PDPT under PAE). */
export function tableEntries(view: PagingView, table: number, level: number, baseLinear: number): TableEntry[] {
  const pae = view.mode === 'pae';
  const size = pae ? 8 : 4;
  const count = pae ? (level === 0 ? 4 : 512) : 1024;
  const spans = pae ? [1 << 30, 1 << 21, 1 << 12] : [1 << 22, 1 << 12];
  const span = spans[level];
  const bytes = view.read(table, count * size);
  const out: TableEntry[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * size;
    if (!bytes.readable[o]) continue;
    const lo = (bytes.bytes[o] | (bytes.bytes[o + 1] << 8) | (bytes.bytes[o + 2] << 16) | (bytes.bytes[o + 3] << 24)) >>> 0;
    if (!(lo & P)) continue;
    const hi = pae ? (bytes.bytes[o + 4] | (bytes.bytes[o + 5] << 8) | (bytes.bytes[o + 6] << 16) | (bytes.bytes[o + 7] << 24)) >>> 0 : 0;
    const last = level === spans.length - 1;
    const large = !last && (pae ? level === 1 : level === 0) && (lo & PS) !== 0 && (pae || view.pse);
    const leaf = last || large;
    const mask = leaf && large ? ~(span - 1) : ~0xfff;
    out.push({ index: i, linear: (baseLinear + i * span) >>> 0, entryAddr: (table + o) >>> 0, raw: lo, rawHi: hi, bits: entryBits(lo, hi, leaf, pae), target: (lo & mask) >>> 0, leaf, span });
  }
  return out;
}

export interface MappingRange {
  linear: number;
  physical: number;
  size: number;
  writable: boolean;
  user: boolean;
  nx: boolean;
  global: boolean;
}

/**
 * Every present mapping, contiguous runs (linear and physical both consecutive, same permissions)
 * merged into one range. Stops after `limit` ranges.
 */
export function mappings(cpu: Cpu, mem: GuestMemory, limit = 100000): MappingRange[] {
  return mappingsOf(guestPaging(cpu, mem), limit);
}

export function mappingsOf(view: PagingView, limit = 100000): MappingRange[] {
  const mode = view.mode;
  const out: MappingRange[] = [];
  if (mode === 'off') return out;
  const add = (linear: number, physical: number, size: number, w: boolean, u: boolean, nx: boolean, g: boolean) => {
    const last = out[out.length - 1];
    if (last && last.linear + last.size === linear && last.physical + last.size === physical && last.writable === w && last.user === u && last.nx === nx && last.global === g) {
      last.size += size;
      return;
    }
    out.push({ linear, physical, size, writable: w, user: u, nx, global: g });
  };
  const visit = (table: number, level: number, base: number, w: boolean, u: boolean, nx: boolean) => {
    for (const e of tableEntries(view, table, level, base)) {
      if (out.length >= limit) return;
      const isPdpte = mode === 'pae' && level === 0;
      const ew = isPdpte ? w : w && (e.raw & RW) !== 0;
      const eu = isPdpte ? u : u && (e.raw & US) !== 0;
      const enx = nx || (mode === 'pae' && (e.rawHi & 0x80000000) !== 0);
      if (e.leaf) add(e.linear, e.target, e.span, ew, eu, enx, (e.raw & G) !== 0);
      else visit(e.target, level + 1, e.linear, ew, eu, enx);
    }
  };
  visit(mode === 'pae' ? view.cr3 & ~0x1f : view.cr3 & ~0xfff, 0, 0, true, true, false);
  return out;
}
