// Helpers shared by the loader tests: scratch directories, tool detection, and a small ELF32
// writer so malformed files can be made precisely (a linker cannot be asked for broken output).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';

/** A scratch directory removed when the test file ends. */
export function scratchDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-loaders-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function write(dir: string, name: string, content: string | Uint8Array): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return p;
}

export function hasTool(cmd: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

export const HAVE_NASM = hasTool('nasm', ['-v']);
export const HAVE_LD = hasTool('ld', ['-v']);
export const HAVE_QEMU = hasTool('qemu-system-i386', ['--version']);
export const NO_NASM = HAVE_NASM ? false : 'nasm is not installed';

/** Runs a tool and fails loudly (with its stderr) if it does not succeed. */
export function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

export interface ElfSegmentSpec {
  vaddr: number;
  paddr?: number;
  data: Uint8Array;
  memsz?: number;
  /** PF_X=1, PF_W=2, PF_R=4. */
  flags?: number;
  type?: number;
}

export interface ElfSymbolSpec {
  name: string;
  value: number;
  size?: number;
  /** STT_NOTYPE 0, OBJECT 1, FUNC 2. */
  type?: number;
  /** STB_LOCAL 0, GLOBAL 1. */
  bind?: number;
  /** Section index; 1 = the first segment's section, 0xfff1 = absolute. */
  shndx?: number;
}

export interface ElfSpec {
  entry: number;
  segments: ElfSegmentSpec[];
  symbols?: ElfSymbolSpec[];
  type?: number;
  machine?: number;
}

/** Layout of a built ELF, so tests can corrupt specific fields. */
export interface BuiltElf {
  bytes: Uint8Array;
  phoff: number;
  shoff: number;
  segmentOffsets: number[];
}

/**
 * Writes an ELF32 LE file: header, program headers, segment data (each 16-aligned), then
 * .symtab, .strtab, .shstrtab and the section headers (null, one per segment, the three tables).
 */
export function buildElf(spec: ElfSpec): BuiltElf {
  const parts: number[] = [];
  const align = (n: number) => {
    while (parts.length % n) parts.push(0);
  };
  const phnum = spec.segments.length;
  const phoff = 52;
  parts.length = phoff + 32 * phnum;
  parts.fill(0);
  const segmentOffsets: number[] = [];
  for (const s of spec.segments) {
    align(16);
    segmentOffsets.push(parts.length);
    parts.push(...s.data);
  }
  // String tables and symbols.
  const strtab: number[] = [0];
  const addStr = (tab: number[], s: string) => {
    const at = tab.length;
    tab.push(...new TextEncoder().encode(s), 0);
    return at;
  };
  const syms: number[] = new Array(16).fill(0);
  for (const sym of spec.symbols ?? []) {
    const e = new DataView(new ArrayBuffer(16));
    e.setUint32(0, addStr(strtab, sym.name), true);
    e.setUint32(4, sym.value, true);
    e.setUint32(8, sym.size ?? 0, true);
    e.setUint8(12, ((sym.bind ?? 1) << 4) | (sym.type ?? 0));
    e.setUint16(14, sym.shndx ?? 1, true);
    syms.push(...new Uint8Array(e.buffer));
  }
  const shstr: number[] = [0];
  const segNames = spec.segments.map((_, i) => addStr(shstr, i === 0 ? '.text' : `.seg${i}`));
  const nSymtab = addStr(shstr, '.symtab');
  const nStrtab = addStr(shstr, '.strtab');
  const nShstr = addStr(shstr, '.shstrtab');
  align(4);
  const symOff = parts.length;
  parts.push(...syms);
  const strOff = parts.length;
  parts.push(...strtab);
  const shstrOff = parts.length;
  parts.push(...shstr);
  align(4);
  const shoff = parts.length;
  const shnum = 1 + spec.segments.length + 3;
  const sh = new DataView(new ArrayBuffer(40 * shnum));
  const setSh = (i: number, f: number[]) => f.forEach((v, k) => sh.setUint32(i * 40 + k * 4, v >>> 0, true));
  spec.segments.forEach((s, i) => setSh(1 + i, [segNames[i], 1, 6, s.vaddr, segmentOffsets[i], s.data.length, 0, 0, 16, 0]));
  const symIdx = 1 + spec.segments.length;
  setSh(symIdx, [nSymtab, 2, 0, 0, symOff, syms.length, symIdx + 1, 1, 4, 16]);
  setSh(symIdx + 1, [nStrtab, 3, 0, 0, strOff, strtab.length, 0, 0, 1, 0]);
  setSh(symIdx + 2, [nShstr, 3, 0, 0, shstrOff, shstr.length, 0, 0, 1, 0]);
  parts.push(...new Uint8Array(sh.buffer));

  const out = Uint8Array.from(parts);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  dv.setUint16(16, spec.type ?? 2, true);
  dv.setUint16(18, spec.machine ?? 3, true);
  dv.setUint32(20, 1, true);
  dv.setUint32(24, spec.entry, true);
  dv.setUint32(28, phoff, true);
  dv.setUint32(32, shoff, true);
  dv.setUint16(40, 52, true);
  dv.setUint16(42, 32, true);
  dv.setUint16(44, phnum, true);
  dv.setUint16(46, 40, true);
  dv.setUint16(48, shnum, true);
  dv.setUint16(50, symIdx + 2, true);
  spec.segments.forEach((s, i) => {
    const at = phoff + 32 * i;
    const f = [s.type ?? 1, segmentOffsets[i], s.vaddr, s.paddr ?? s.vaddr, s.data.length, s.memsz ?? s.data.length, s.flags ?? 5, 16];
    f.forEach((v, k) => dv.setUint32(at + 4 * k, v >>> 0, true));
  });
  return { bytes: out, phoff, shoff, segmentOffsets };
}

/** Little-endian dword of a multiboot header (magic, flags, checksum, then extra fields). */
export function multibootHeader(flags: number, extra: number[] = [], checksum?: number): Uint8Array {
  const words = [0x1badb002, flags, checksum ?? (-(0x1badb002 + flags)) >>> 0, ...extra];
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return b;
}

export function u32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}

/** Reads a NUL-terminated string at a guest address from the loader's chunks. */
export function cStringAt(chunks: { addr: number; bytes: Uint8Array }[], addr: number): string {
  const c = chunks.find((k) => addr >= k.addr && addr < k.addr + k.bytes.length);
  if (!c) throw new Error(`no chunk holds 0x${addr.toString(16)}`);
  const start = addr - c.addr;
  const end = c.bytes.indexOf(0, start);
  return new TextDecoder().decode(c.bytes.subarray(start, end < 0 ? undefined : end));
}

/** A guest-physical memory image assembled from chunks, for reading back what loaders wrote. */
export function memoryFrom(chunks: { addr: number; bytes: Uint8Array }[], size: number): Uint8Array {
  const mem = new Uint8Array(size);
  for (const c of chunks) mem.set(c.bytes, c.addr);
  return mem;
}
