// ELF32 little-endian i386 executables: program headers to load, the entry, and .symtab symbols.
// Every offset and size read from the file is bounds-checked so a damaged file gives one clear
// line ("kernel.elf: truncated ELF: program header 2 extends past end of file"), never a crash.

import { GuestLoadError, hex } from './errors';
import type { GuestSymbol, SymbolKind } from './types';

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const EM_386 = 3;

const MACHINES: Record<number, string> = {
  2: 'SPARC', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64', 40: 'ARM', 50: 'IA-64',
  62: 'x86-64', 183: 'AArch64', 243: 'RISC-V',
};
const TYPES: Record<number, string> = { 0: 'ET_NONE', 1: 'ET_REL', 2: 'ET_EXEC', 3: 'ET_DYN', 4: 'ET_CORE' };

export interface ElfSegment {
  index: number;
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  flags: number;
  align: number;
}

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  /** STT_*: 0 NOTYPE, 1 OBJECT, 2 FUNC, 3 SECTION, 4 FILE. */
  type: number;
  /** STB_*: 0 LOCAL, 1 GLOBAL, 2 WEAK. */
  binding: number;
  shndx: number;
}

export interface ElfImage {
  type: number;
  entry: number;
  segments: ElfSegment[];
  sections: ElfSection[];
  symbols: ElfSymbol[];
}

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Parses and validates an ELF32 i386 executable. `name` is the file name used in messages.
 * With `symbolsOnly`, any ELF32 i386 file will do (objects too) and program headers are not
 * required: the caller only wants the symbol table.
 */
export function parseElf(bytes: Uint8Array, name: string, opts: { symbolsOnly?: boolean } = {}): ElfImage {
  const exe = !opts.symbolsOnly;
  const fail = (what: string): never => {
    throw new GuestLoadError(`${name}: ${what}`, name);
  };
  if (!isElf(bytes)) fail('not an ELF file (no \\x7fELF magic)');
  if (bytes.length < 16) fail('truncated ELF: the identification bytes are cut short');
  const cls = bytes[4];
  if (cls === 2) fail('is a 64-bit ELF (ELFCLASS64); Ringside loads 32-bit i386 ELF files');
  if (cls !== 1) fail(`bad ELF class ${cls} (expected 1, ELFCLASS32)`);
  const data = bytes[5];
  if (data === 2) fail('is a big-endian ELF (ELFDATA2MSB); i386 ELF files are little-endian');
  if (data !== 1) fail(`bad ELF data encoding ${data} (expected 1, little-endian)`);
  if (bytes.length < 52) fail(`truncated ELF: the header needs 52 bytes, the file has ${bytes.length}`);

  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);

  const type = u16(16);
  const machine = u16(18);
  if (machine !== EM_386) {
    const m = MACHINES[machine] ?? `machine ${machine}`;
    fail(`is an ELF for ${m} (e_machine ${machine}); Ringside runs i386 guests (EM_386)`);
  }
  if (exe && type === 1) fail('is a relocatable object (ET_REL), not an executable; link it first (ld -m elf_i386 -Ttext 0x100000)');
  if (exe && type === 3) fail('is position-independent (ET_DYN); link a static executable at a fixed address (ld -m elf_i386, or gcc -static -no-pie)');
  if (exe && type !== 2) fail(`is not an executable (e_type ${TYPES[type] ?? type}; expected ET_EXEC)`);
  if (u32(20) !== 1) fail(`bad ELF version ${u32(20)} (expected 1)`);

  const entry = u32(24);
  const phoff = u32(28);
  const shoff = u32(32);
  const phentsize = u16(42);
  const phnum = u16(44);
  const shentsize = u16(46);
  const shnum = u16(48);
  const shstrndx = u16(50);
  const size = bytes.length;

  // Program headers.
  if (exe && phnum === 0) fail('has no program headers, so nothing to load');
  if (phnum !== 0 && phentsize < 32) fail(`bad program header size ${phentsize} (expected 32)`);
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 32 > size) fail(`truncated ELF: program header ${i} extends past end of file`);
    const seg: ElfSegment = {
      index: i, type: u32(at), offset: u32(at + 4), vaddr: u32(at + 8), paddr: u32(at + 12),
      filesz: u32(at + 16), memsz: u32(at + 20), flags: u32(at + 24), align: u32(at + 28),
    };
    segments.push(seg);
  }
  for (const seg of segments) {
    const i = seg.index;
    if (exe && seg.type === PT_INTERP) fail('is dynamically linked (has PT_INTERP); link it statically');
    if (exe && seg.type === PT_DYNAMIC) fail('is dynamically linked (has PT_DYNAMIC); link it statically');
    if (seg.type === PT_LOAD) {
      if (seg.filesz > seg.memsz) fail(`segment ${i}: file size ${hex(seg.filesz)} is larger than memory size ${hex(seg.memsz)}`);
      if (seg.offset + seg.filesz > size) fail(`truncated ELF: segment ${i} data (${hex(seg.offset)}+${hex(seg.filesz)}) extends past end of file`);
      if (seg.paddr + seg.memsz > 0x1_0000_0000) fail(`segment ${i} at ${hex(seg.paddr)} (${hex(seg.memsz)} bytes) runs past 4 GiB`);
    }
  }
  const loads = segments.filter((s) => s.type === PT_LOAD);
  if (exe && loads.length === 0) fail('has no PT_LOAD segment, so nothing to load');
  if (exe && !loads.some((s) => entry >= s.vaddr && entry < s.vaddr + s.memsz))
    fail(`entry point ${hex(entry)} is outside every loadable segment`);

  // Section headers (optional; a stripped file may have none).
  const sections: ElfSection[] = [];
  const nameOffs: number[] = [];
  if (shoff !== 0 && shnum !== 0) {
    if (shentsize < 40) fail(`bad section header size ${shentsize} (expected 40)`);
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * shentsize;
      if (at + 40 > size) fail(`truncated ELF: section header ${i} extends past end of file`);
      const sec: ElfSection = {
        index: i, name: '', type: u32(at + 4), flags: u32(at + 8), addr: u32(at + 12),
        offset: u32(at + 16), size: u32(at + 20), link: u32(at + 24), entsize: u32(at + 36),
      };
      nameOffs.push(u32(at));
      if (sec.type !== SHT_NOBITS && sec.type !== 0 && sec.offset + sec.size > size)
        fail(`truncated ELF: section ${i} data (${hex(sec.offset)}+${hex(sec.size)}) extends past end of file`);
      sections.push(sec);
    }
    if (shstrndx !== 0) {
      if (shstrndx >= shnum) fail(`section name table index ${shstrndx} is out of range (${shnum} sections)`);
      const strtab = sections[shstrndx];
      for (const s of sections) s.name = cString(bytes, strtab.offset, strtab.size, nameOffs[s.index]);
    }
  }

  // Symbols from every SHT_SYMTAB (normally one, .symtab).
  const symbols: ElfSymbol[] = [];
  for (const symtab of sections.filter((s) => s.type === SHT_SYMTAB)) {
    const entsize = symtab.entsize || 16;
    if (entsize < 16) fail(`symbol table ${symtab.name || symtab.index}: bad entry size ${entsize}`);
    if (symtab.link >= sections.length) fail(`symbol table ${symtab.name || symtab.index}: string table index ${symtab.link} is out of range`);
    const strtab = sections[symtab.link];
    const count = Math.floor(symtab.size / entsize);
    for (let i = 1; i < count; i++) {
      const at = symtab.offset + i * entsize;
      const info = bytes[at + 12];
      symbols.push({
        name: cString(bytes, strtab.offset, strtab.size, u32(at)),
        value: u32(at + 4),
        size: u32(at + 8),
        type: info & 0xf,
        binding: info >> 4,
        shndx: u16(at + 14),
      });
    }
  }

  return { type, entry, segments, sections, symbols };
}

/** A NUL-terminated string inside a string table; out-of-range offsets give ''. */
function cString(bytes: Uint8Array, tabOff: number, tabSize: number, off: number): string {
  if (off >= tabSize) return '';
  const start = tabOff + off;
  const limit = Math.min(tabOff + tabSize, bytes.length);
  let end = start;
  while (end < limit && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(start, end));
}

const SHN_UNDEF = 0;
const SHN_ABS = 0xfff1;

/** The symbols worth showing a user: named, defined, not section or file markers. */
export function elfGuestSymbols(elf: ElfImage): GuestSymbol[] {
  const out: GuestSymbol[] = [];
  for (const s of elf.symbols) {
    if (!s.name || s.shndx === SHN_UNDEF || s.type === 3 || s.type === 4) continue;
    const kind: SymbolKind = s.shndx === SHN_ABS ? 'absolute' : s.type === 2 ? 'function' : s.type === 1 ? 'object' : 'label';
    const sym: GuestSymbol = { name: s.name, addr: s.value, kind };
    if (s.size) sym.size = s.size;
    out.push(sym);
  }
  return out;
}

/**
 * The chunks of an ELF as a loader places them: each PT_LOAD at its physical address (as QEMU
 * and GRUB do), file bytes followed by zeros up to memsz (the bss).
 */
export function elfLoadChunks(elf: ElfImage, bytes: Uint8Array): { addr: number; bytes: Uint8Array; what: string }[] {
  const chunks = [];
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD || s.memsz === 0) continue;
    const data = new Uint8Array(s.memsz);
    data.set(bytes.subarray(s.offset, s.offset + s.filesz));
    chunks.push({ addr: s.paddr, bytes: data, what: `ELF segment ${s.index}` });
  }
  return chunks;
}

/**
 * The entry as a physical address: e_entry is virtual; when the executable segment holding it
 * has paddr != vaddr (a higher-half kernel), translate it the way QEMU's ELF loader does.
 */
export function elfPhysicalEntry(elf: ElfImage): number {
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD || s.vaddr === s.paddr || !(s.flags & 1)) continue;
    if (elf.entry >= s.vaddr && elf.entry < s.vaddr + s.filesz) return (elf.entry - s.vaddr + s.paddr) >>> 0;
  }
  return elf.entry;
}
