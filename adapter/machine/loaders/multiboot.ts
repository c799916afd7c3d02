// Multiboot 0.6.96 kernels, loaded the way QEMU's -kernel does (hw/i386/multiboot.c plus its
// option ROM), so a kernel that prints its boot information prints the same under both.
//
// Measured on QEMU 7.2 (a kernel dumping EAX/EBX/registers and the info block to COM1):
//   EAX=0x2BADB002, EBX=0x9500 (info block), ECX=entry, ESP=0x6F08, EFLAGS=0x6, CR0=0x11,
//   CS=0x08, DS=ES=FS=GS=SS=0x10, GDTR limit 0x27 (EDX and EDI hold fw_cfg leftovers that vary).
//   flags=0x24F (mem, boot_device, cmdline, mods, mmap, loader name) even with no modules;
//   mem_lower=639 (INT 12h), mem_upper=(RAM-1MiB-128KiB)/1024 (from the E820 map, see e820.ts);
//   boot_device=0x8000FFFF; mmap at 0x9000 (entries of size 20), mmap_length=0x90;
//   cmdline = "<kernel path as given> <-append text>" - note the space even when -append is empty;
//   after the kernel, at the next page boundary: the module list (16 bytes each), then the module
//   strings ("file args"), the kernel command line, the boot loader name; each module at the
//   next page boundary after that, mod_end exclusive.
// Deviations, on purpose: the loader name is "Ringside" (QEMU says "qemu"); the GDT sits at
// 0x9558 instead of inside QEMU's option ROM. Spec vs QEMU: QEMU ignores unknown "required"
// header flags (bits 3-15) and silently skips a header with a bad checksum; the spec says a
// loader must refuse such a kernel, and we do, with a message.

import { GuestLoadError, hex } from './errors';
import { parseElf, elfLoadChunks, elfPhysicalEntry, elfGuestSymbols, isElf, PT_LOAD } from './elf';
import { checkInRam } from './ramcheck';
import { e820Map, memLowerKiB, memUpperKiB } from './e820';
import { flatProtectedState, bootGdtChunk } from './entrystate';
import type { MemoryChunk, GuestSymbol, InitialState, MultibootSummary } from './types';

export const MULTIBOOT_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOT_MAGIC = 0x2badb002;
export const MB_SEARCH_BYTES = 8192;
export const MB_INFO_ADDR = 0x9500;
export const MB_MMAP_ADDR = 0x9000;
export const MB_INFO_SIZE = 88;
export const DEFAULT_BOOT_LOADER_NAME = 'Ringside';

const FLAG_PAGE_ALIGN = 1 << 0;
const FLAG_MEMORY_INFO = 1 << 1;
const FLAG_VIDEO_MODE = 1 << 2;
const FLAG_AOUT_KLUDGE = 1 << 16;
const KNOWN_REQUIRED = FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO | FLAG_VIDEO_MODE;

export interface MultibootHeader {
  offset: number;
  flags: number;
  headerAddr: number;
  loadAddr: number;
  loadEndAddr: number;
  bssEndAddr: number;
  entryAddr: number;
}

/**
 * The first valid multiboot header in the first 8 KiB (4-aligned). Returns undefined when there is
 * no magic at all; throws when the only candidates have a bad checksum or the header is cut short.
 */
export function findMultibootHeader(bytes: Uint8Array, name: string): MultibootHeader | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const limit = Math.min(bytes.length, MB_SEARCH_BYTES);
  let badChecksum: string | undefined;
  for (let i = 0; i + 12 <= limit; i += 4) {
    if (dv.getUint32(i, true) !== MULTIBOOT_MAGIC) continue;
    const flags = dv.getUint32(i + 4, true);
    const checksum = dv.getUint32(i + 8, true);
    const expected = (-(MULTIBOOT_MAGIC + flags)) >>> 0;
    if (checksum !== expected) {
      badChecksum ??= `${name}: multiboot header at offset ${hex(i)} has a bad checksum ${hex(checksum)} (magic + flags + checksum must be 0; expected ${hex(expected)})`;
      continue;
    }
    const need = flags & FLAG_VIDEO_MODE ? 48 : flags & FLAG_AOUT_KLUDGE ? 32 : 12;
    if (i + need > bytes.length) throw new GuestLoadError(`${name}: multiboot header at offset ${hex(i)} is cut short by the end of the file`, name);
    if (i + need > MB_SEARCH_BYTES) throw new GuestLoadError(`${name}: multiboot header at offset ${hex(i)} does not fit in the first 8192 bytes`, name);
    const at = (k: number) => (i + k + 4 <= bytes.length ? dv.getUint32(i + k, true) : 0);
    return { offset: i, flags, headerAddr: at(12), loadAddr: at(16), loadEndAddr: at(20), bssEndAddr: at(24), entryAddr: at(28) };
  }
  if (badChecksum) throw new GuestLoadError(badChecksum, name);
  return undefined;
}

/** True when the first 8 KiB hold the multiboot magic at a 4-aligned offset (valid or not). */
export function hasMultibootMagic(bytes: Uint8Array): boolean {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const limit = Math.min(bytes.length, MB_SEARCH_BYTES);
  for (let i = 0; i + 4 <= limit; i += 4) if (dv.getUint32(i, true) === MULTIBOOT_MAGIC) return true;
  return false;
}

export interface MultibootModule {
  /** The file as the user named it (goes into the module string). */
  path: string;
  bytes: Uint8Array;
  cmdline?: string;
}

export interface MultibootOptions {
  /** The kernel path as the user gave it: the start of the command line, as QEMU does. */
  kernelName: string;
  cmdline?: string;
  modules?: MultibootModule[];
  ramBytes: number;
  bootLoaderName?: string;
}

export interface MultibootLoad {
  chunks: MemoryChunk[];
  initial: InitialState;
  symbols: GuestSymbol[];
  summary: MultibootSummary;
}

const PAGE = 4096;
const pageAlign = (n: number) => Math.ceil(n / PAGE) * PAGE;
const utf8 = (s: string) => new TextEncoder().encode(s);

/** Loads a multiboot kernel image (ELF or a.out kludge) and builds its boot information. */
export function loadMultiboot(bytes: Uint8Array, name: string, opts: MultibootOptions): MultibootLoad {
  const header = findMultibootHeader(bytes, name);
  if (!header) throw new GuestLoadError(`${name}: no multiboot header (magic ${hex(MULTIBOOT_MAGIC)}) in the first 8192 bytes`, name);
  const unknown = header.flags & 0xffff & ~KNOWN_REQUIRED;
  if (unknown) throw new GuestLoadError(`${name}: multiboot header asks for features this loader does not know (required flag bits ${hex(unknown)})`, name);

  // 1. The kernel image: where it goes, how big it is in memory, where it starts.
  let loadAddr: number;
  let kernelSize: number;
  let entry: number;
  let loadEnd: number;
  let image: Uint8Array;
  let symbols: GuestSymbol[] = [];
  const aout = (header.flags & FLAG_AOUT_KLUDGE) !== 0;
  if (aout) {
    const h = header;
    if (h.headerAddr < h.loadAddr) throw new GuestLoadError(`${name}: multiboot header_addr ${hex(h.headerAddr)} is below load_addr ${hex(h.loadAddr)}`, name);
    if (h.headerAddr - h.loadAddr > h.offset) throw new GuestLoadError(`${name}: multiboot header_addr ${hex(h.headerAddr)} and load_addr ${hex(h.loadAddr)} put the image start before the file start`, name);
    const textOffset = h.offset - (h.headerAddr - h.loadAddr);
    let loadSize: number;
    if (h.loadEndAddr) {
      if (h.loadEndAddr < h.loadAddr) throw new GuestLoadError(`${name}: multiboot load_end_addr ${hex(h.loadEndAddr)} is below load_addr ${hex(h.loadAddr)}`, name);
      loadSize = h.loadEndAddr - h.loadAddr;
      if (textOffset + loadSize > bytes.length)
        throw new GuestLoadError(`${name}: multiboot load_end_addr ${hex(h.loadEndAddr)} asks for ${loadSize} bytes but the file holds ${bytes.length - textOffset} from the image start`, name);
    } else {
      loadSize = bytes.length - textOffset;
    }
    if (h.loadAddr + loadSize > 0x1_0000_0000) throw new GuestLoadError(`${name}: multiboot kernel does not fit in the 32-bit address space`, name);
    if (h.bssEndAddr) {
      if (h.bssEndAddr < h.loadAddr + loadSize) throw new GuestLoadError(`${name}: multiboot bss_end_addr ${hex(h.bssEndAddr)} is below the end of the loaded image ${hex(h.loadAddr + loadSize)}`, name);
      kernelSize = h.bssEndAddr - h.loadAddr;
    } else {
      kernelSize = loadSize;
    }
    checkInRam(name, 'multiboot kernel', h.loadAddr, kernelSize, opts.ramBytes);
    loadAddr = h.loadAddr;
    loadEnd = h.loadAddr + loadSize;
    entry = h.entryAddr;
    image = new Uint8Array(kernelSize);
    image.set(bytes.subarray(textOffset, textOffset + loadSize));
    if (entry < loadAddr || entry >= loadAddr + kernelSize)
      throw new GuestLoadError(`${name}: multiboot entry_addr ${hex(entry)} is outside the loaded kernel ${hex(loadAddr)}-${hex(loadAddr + kernelSize)}`, name);
  } else {
    if (!isElf(bytes)) throw new GuestLoadError(`${name}: multiboot header without the a.out kludge (flag bit 16) needs an ELF file; set bit 16 and the address fields for a flat binary`, name);
    const elf = parseElf(bytes, name);
    for (const s of elf.segments) if (s.type === PT_LOAD) checkInRam(name, `ELF segment ${s.index}`, s.paddr, s.memsz, opts.ramBytes);
    const parts = elfLoadChunks(elf, bytes);
    const low = Math.min(...parts.map((c) => c.addr));
    const high = Math.max(...parts.map((c) => c.addr + c.bytes.length));
    loadAddr = low;
    kernelSize = high - low;
    loadEnd = high;
    entry = elfPhysicalEntry(elf);
    image = new Uint8Array(kernelSize);
    for (const c of parts) image.set(c.bytes, c.addr - low);
    symbols = elfGuestSymbols(elf);
  }

  // 2. After the kernel: module list, strings, loader name, then the modules, all page-aligned
  //    exactly as QEMU lays them out.
  const mods = opts.modules ?? [];
  const loaderName = opts.bootLoaderName ?? DEFAULT_BOOT_LOADER_NAME;
  const modStrings = mods.map((m) => (m.cmdline ? `${m.path} ${m.cmdline}` : m.path));
  const kernelCmdline = `${opts.kernelName} ${opts.cmdline ?? ''}`;
  const infoOffset = pageAlign(kernelSize);
  let cmdlineSpace = utf8(opts.kernelName).length + 1 + utf8(opts.cmdline ?? '').length + 1;
  if (mods.length) cmdlineSpace += utf8(modStrings.join(',')).length + 1;
  let bufSize = infoOffset + cmdlineSpace + 16 * mods.length + utf8(loaderName).length + 1;
  bufSize = pageAlign(bufSize);
  const modOffsets: number[] = [];
  for (const m of mods) {
    modOffsets.push(bufSize);
    bufSize = pageAlign(bufSize + m.bytes.length);
  }
  checkInRam(name, mods.length ? 'last multiboot module' : 'multiboot kernel and its boot strings', loadAddr, bufSize, opts.ramBytes);

  const buf = new Uint8Array(bufSize);
  const bdv = new DataView(buf.buffer);
  buf.set(image, 0);
  let strOff = infoOffset + 16 * mods.length;
  const addString = (s: string): number => {
    const b = utf8(s);
    buf.set(b, strOff);
    const addr = loadAddr + strOff;
    strOff += b.length + 1;
    return addr;
  };
  const modSummary: MultibootSummary['modules'] = [];
  mods.forEach((m, i) => {
    const str = addString(modStrings[i]);
    const start = loadAddr + modOffsets[i];
    const end = start + m.bytes.length;
    buf.set(m.bytes, modOffsets[i]);
    bdv.setUint32(infoOffset + 16 * i, start, true);
    bdv.setUint32(infoOffset + 16 * i + 4, end, true);
    bdv.setUint32(infoOffset + 16 * i + 8, str, true);
    modSummary.push({ path: m.path, string: modStrings[i], start, end });
  });
  const cmdlineAddr = addString(kernelCmdline);
  strOff = infoOffset + 16 * mods.length + cmdlineSpace;
  const loaderAddr = addString(loaderName);

  // 3. The memory map at 0x9000 and the info block at 0x9500.
  const map = e820Map(opts.ramBytes);
  const mmap = new Uint8Array(map.length * 24);
  const mdv = new DataView(mmap.buffer);
  map.forEach((e, i) => {
    const o = i * 24;
    mdv.setUint32(o, 20, true);
    mdv.setUint32(o + 4, e.base >>> 0, true);
    mdv.setUint32(o + 8, Math.floor(e.base / 0x1_0000_0000), true);
    mdv.setUint32(o + 12, e.length >>> 0, true);
    mdv.setUint32(o + 16, Math.floor(e.length / 0x1_0000_0000), true);
    mdv.setUint32(o + 20, e.type, true);
  });
  const info = new Uint8Array(MB_INFO_SIZE);
  const idv = new DataView(info.buffer);
  idv.setUint32(0, 0x24f, true);
  idv.setUint32(4, memLowerKiB(opts.ramBytes), true);
  idv.setUint32(8, memUpperKiB(opts.ramBytes), true);
  idv.setUint32(12, 0x8000ffff, true);
  idv.setUint32(16, cmdlineAddr, true);
  idv.setUint32(20, mods.length, true);
  idv.setUint32(24, loadAddr + infoOffset, true);
  idv.setUint32(44, mmap.length, true);
  idv.setUint32(48, MB_MMAP_ADDR, true);
  idv.setUint32(64, loaderAddr, true);

  // Kernel last: QEMU's option ROM writes the info block before the kernel, so a kernel loaded
  // over low memory overwrites it there too.
  const chunks: MemoryChunk[] = [
    { addr: MB_MMAP_ADDR, bytes: mmap, what: 'multiboot memory map' },
    { addr: MB_INFO_ADDR, bytes: info, what: 'multiboot info' },
    bootGdtChunk(),
    { addr: loadAddr, bytes: buf, what: 'multiboot kernel' },
  ];
  // ECX holds the entry because QEMU's option ROM jumps through it; EDX and EDI hold leftovers
  // of its fw_cfg reads that change with RAM size and kernel format, so we leave them 0.
  const initial = flatProtectedState(entry, { eax: MULTIBOOT_BOOT_MAGIC, ebx: MB_INFO_ADDR, ecx: entry });
  return {
    chunks,
    initial,
    symbols,
    summary: {
      headerOffset: header.offset, headerFlags: header.flags, aoutKludge: aout,
      loadAddr, loadEnd, bssEnd: loadAddr + kernelSize, entry,
      infoAddr: MB_INFO_ADDR, mmapAddr: MB_MMAP_ADDR, cmdline: kernelCmdline, modules: modSummary,
    },
  };
}
