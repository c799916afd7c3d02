// Descriptor tables decoded for the debugger: GDT, LDT and IDT entries from guest memory, and the
// segment registers' descriptor caches, in words a kernel developer reads ("code 32-bit, DPL 3").
import type { Cpu } from '../cpu/cpu';
import { AR_UNUSABLE } from '../cpu/cpu';
import type { GuestMemory } from './memory';
import { guestCr } from './registers';

const SYSTEM_TYPES: Record<number, string> = {
  1: 'TSS 16-bit (available)', 2: 'LDT', 3: 'TSS 16-bit (busy)', 4: 'call gate 16-bit', 5: 'task gate',
  6: 'interrupt gate 16-bit', 7: 'trap gate 16-bit', 9: 'TSS 32-bit (available)', 11: 'TSS 32-bit (busy)',
  12: 'call gate 32-bit', 14: 'interrupt gate 32-bit', 15: 'trap gate 32-bit',
};

export interface DecodedDescriptor {
  index: number;
  selector: number;
  lo: number;
  hi: number;
  present: boolean;
  dpl: number;
  /** One-line summary. */
  summary: string;
  /** Field -> value text, for expanding. */
  fields: [string, string][];
  /** Gates: target selector:offset. */
  target?: { selector: number; offset: number };
  base?: number;
  limit?: number;
}

const hex = (v: number, w = 0) => '0x' + (v >>> 0).toString(16).padStart(w, '0');

/** Text for a code/data segment's type nibble (S = 1). */
function segmentType(type: number, width = ''): string {
  if (type & 8) return `code${width}${type & 4 ? ' conforming' : ''}, ${type & 2 ? 'execute/read' : 'execute-only'}${type & 1 ? ', accessed' : ''}`;
  return `data${width}${type & 4 ? ' expand-down' : ''}, ${type & 2 ? 'read/write' : 'read-only'}${type & 1 ? ', accessed' : ''}`;
}

/** Decodes one 8-byte descriptor. */
export function decodeDescriptor(lo: number, hi: number, index: number, ti: 0 | 4 = 0): DecodedDescriptor {
  lo >>>= 0; hi >>>= 0;
  const present = (hi & 0x8000) !== 0;
  const dpl = (hi >>> 13) & 3;
  const s = (hi & 0x1000) !== 0;
  const type = (hi >>> 8) & 0xf;
  const d: DecodedDescriptor = { index, selector: (index << 3) | ti, lo, hi, present, dpl, summary: '', fields: [] };
  if (lo === 0 && hi === 0) { d.summary = 'null'; return d; }
  if (s || type === 1 || type === 2 || type === 3 || type === 9 || type === 11) {
    const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
    const raw = (lo & 0xffff) | (hi & 0xf0000);
    const g = (hi & 0x800000) !== 0;
    const limit = (g ? (raw << 12) | 0xfff : raw) >>> 0;
    d.base = base;
    d.limit = limit;
    const kind = s ? segmentType(type, hi & 0x400000 ? ' 32-bit' : ' 16-bit') : SYSTEM_TYPES[type];
    d.summary = `${kind}, base ${hex(base)}, limit ${hex(limit)}, DPL ${dpl}${present ? '' : ', not present'}`;
    d.fields = [['type', `${type} (${kind})`], ['base', hex(base, 8)], ['limit', hex(limit)], ['DPL', String(dpl)], ['present', present ? '1' : '0'],
      ['granularity', g ? '4 KiB' : 'byte'], ['D/B', hi & 0x400000 ? '32-bit' : '16-bit'], ['AVL', hi & 0x100000 ? '1' : '0'], ['raw', `${hex(hi, 8)} ${hex(lo, 8)}`]];
    return d;
  }
  const kind = SYSTEM_TYPES[type];
  if (!kind) {
    d.summary = `reserved system type ${type}`;
    d.fields = [['raw', `${hex(hi, 8)} ${hex(lo, 8)}`]];
    return d;
  }
  const selector = lo >>> 16;
  const offset = type === 5 ? 0 : type & 8 ? ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0 : lo & 0xffff;
  d.target = { selector, offset };
  d.summary = type === 5
    ? `task gate -> TSS ${hex(selector, 4)}, DPL ${dpl}${present ? '' : ', not present'}`
    : `${kind} -> ${hex(selector, 4)}:${hex(offset, 8)}, DPL ${dpl}${present ? '' : ', not present'}`;
  d.fields = [['type', `${type} (${kind})`], ['selector', hex(selector, 4)], ['offset', hex(offset, 8)], ['DPL', String(dpl)], ['present', present ? '1' : '0']];
  if (type === 4 || type === 12) d.fields.push(['parameters', String(hi & 0x1f)]);
  d.fields.push(['raw', `${hex(hi, 8)} ${hex(lo, 8)}`]);
  return d;
}

/** Entries of a descriptor table at a linear base (GDT, LDT) or of the IDT (protected mode); `mem` is the
 *  guest's memory, or the processor's view through the shadow tables for the monitor's shadow copies. */
export function readTable(mem: Pick<GuestMemory, 'read'>, base: number, limit: number, max = 8192, ti: 0 | 4 = 0): (DecodedDescriptor | { index: number; unreadable: true })[] {
  const count = Math.min(max, Math.floor(((limit >>> 0) + 1) / 8));
  const r = mem.read(base >>> 0, count * 8, 'linear');
  const out: (DecodedDescriptor | { index: number; unreadable: true })[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * 8;
    if (!r.readable[o] || !r.readable[o + 7]) { out.push({ index: i, unreadable: true }); continue; }
    const b = r.bytes;
    const lo = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
    const hi = (b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24)) >>> 0;
    out.push(decodeDescriptor(lo, hi, i, ti));
  }
  return out;
}

/** Real-mode interrupt vector table entries (segment:offset). */
export function readIvt(mem: GuestMemory, base: number, limit: number): { vector: number; segment: number; offset: number }[] {
  const count = Math.min(256, Math.floor(((limit >>> 0) + 1) / 4));
  const r = mem.read(base >>> 0, count * 4, 'linear');
  const out = [];
  for (let i = 0; i < count; i++) {
    const b = r.bytes, o = i * 4;
    out.push({ vector: i, offset: b[o] | (b[o + 1] << 8), segment: b[o + 2] | (b[o + 3] << 8) });
  }
  return out;
}

/** A segment register's descriptor cache, decoded from the CPU (VMCS access-rights layout). */
export function segmentCache(cpu: Cpu, seg: number): { selector: number; base: number; limit: number; ar: number; dpl: number; summary: string; usable: boolean } {
  const ar = cpu.segAr[seg] >>> 0;
  const usable = (ar & AR_UNUSABLE) === 0;
  const selector = cpu.segSel[seg], base = cpu.segBase[seg] >>> 0, limit = cpu.segLimit[seg] >>> 0;
  const dpl = (ar >>> 5) & 3;
  let summary: string;
  if (!cpu.isProtected() || cpu.isV86()) summary = `${cpu.isV86() ? 'v86' : 'real mode'}: base ${hex(base)} (selector << 4), limit ${hex(limit)}`;
  else if (!usable) summary = 'unusable (null selector)';
  else summary = `${ar & 0x10 ? segmentType(ar & 0xf, ar & 0x4000 ? ' 32-bit' : ' 16-bit') : SYSTEM_TYPES[ar & 0xf] ?? 'system'}, DPL ${dpl}`;
  return { selector, base, limit, ar, dpl, summary, usable };
}

/** EFLAGS decoded into named flags. */
export function describeEflags(f: number): string {
  const names: [number, string][] = [[0x1, 'CF'], [0x4, 'PF'], [0x10, 'AF'], [0x40, 'ZF'], [0x80, 'SF'], [0x100, 'TF'], [0x200, 'IF'], [0x400, 'DF'], [0x800, 'OF'],
    [0x4000, 'NT'], [0x10000, 'RF'], [0x20000, 'VM'], [0x40000, 'AC'], [0x80000, 'VIF'], [0x100000, 'VIP'], [0x200000, 'ID']];
  const set = names.filter(([b]) => f & b).map(([, n]) => n);
  return `${set.join(' ') || '-'} IOPL=${(f >>> 12) & 3}`;
}

export function describeCr0(v: number): string {
  const n: [number, string][] = [[1, 'PE'], [2, 'MP'], [4, 'EM'], [8, 'TS'], [0x10, 'ET'], [0x20, 'NE'], [0x10000, 'WP'], [0x40000, 'AM'], [0x20000000, 'NW'], [0x40000000, 'CD'], [0x80000000, 'PG']];
  return n.filter(([b]) => (v >>> 0) & b).map(([, s]) => s).join(' ') || '-';
}
export function describeCr4(v: number): string {
  const n: [number, string][] = [[1, 'VME'], [2, 'PVI'], [4, 'TSD'], [8, 'DE'], [0x10, 'PSE'], [0x20, 'PAE'], [0x40, 'MCE'], [0x80, 'PGE'], [0x100, 'PCE'], [0x200, 'OSFXSR'], [0x400, 'OSXMMEXCPT'], [0x2000, 'VMXE']];
  return n.filter(([b]) => v & b).map(([, s]) => s).join(' ') || '-';
}
export const CR0_BITS: [string, number][] = [['PE', 0], ['MP', 1], ['EM', 2], ['TS', 3], ['ET', 4], ['NE', 5], ['WP', 16], ['AM', 18], ['NW', 29], ['CD', 30], ['PG', 31]];
export const CR4_BITS: [string, number][] = [['VME', 0], ['PVI', 1], ['TSD', 2], ['DE', 3], ['PSE', 4], ['PAE', 5], ['MCE', 6], ['PGE', 7], ['PCE', 8], ['OSFXSR', 9], ['VMXE', 13]];

/** The CPU's operating mode in words, as the guest knows it. */
export function cpuMode(cpu: Cpu): string {
  if (!cpu.isProtected()) return 'real mode';
  if (cpu.isV86()) return 'virtual-8086 mode';
  // The guest's paging (a monitor keeps the processor paging, through shadow tables, even when it does not).
  const cr0 = guestCr(cpu, 0), cr4 = guestCr(cpu, 4);
  const paging = cr0 & 0x80000000 ? (cr4 & 0x20 ? ', PAE paging' : ', paging') : '';
  return `protected mode, ${cpu.code32 ? '32' : '16'}-bit code${paging}`;
}
