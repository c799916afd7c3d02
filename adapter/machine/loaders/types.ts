// What a loader hands to the machine: bytes to put in guest physical memory and the CPU state to
// start from. Loaders never touch a CPU; the machine applies this description.

import type { LineMap } from './listing';
import type { NasmDiagnostic } from './errors';

/** Formats a user can name with --format / launch `format` (besides 'auto'). */
export const GUEST_FORMATS = ['boot', 'floppy', 'disk', 'flat', 'multiboot', 'elf'] as const;
export type GuestFormat = (typeof GUEST_FORMATS)[number];
export type FormatChoice = GuestFormat | 'auto';

/** A run of bytes to copy into guest RAM at a physical address. */
export interface MemoryChunk {
  addr: number;
  bytes: Uint8Array;
  /** What this is, for messages and the debugger ("kernel segment 0", "multiboot info"). */
  what: string;
}

/**
 * A segment register as the CPU's descriptor cache holds it after a load. `access` is the
 * descriptor's access byte (P, DPL, S, type incl. the accessed bit), `big` its D/B bit and
 * `limit` the effective byte limit (granularity already applied).
 */
export interface SegmentInit {
  selector: number;
  base: number;
  limit: number;
  access: number;
  big: boolean;
}

export interface SegmentsInit {
  cs: SegmentInit;
  ds: SegmentInit;
  es: SegmentInit;
  ss: SegmentInit;
  fs: SegmentInit;
  gs: SegmentInit;
}

export interface GeneralRegs {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
  esi: number;
  edi: number;
  ebp: number;
  esp: number;
}

export interface InitialState {
  mode: 'real' | 'protected';
  eip: number;
  /** CS selector (same as segments.cs.selector). */
  cs: number;
  regs: GeneralRegs;
  eflags: number;
  cr0: number;
  segments: SegmentsInit;
  /** GDTR after boot; the table's bytes are one of the chunks. Real mode leaves the reset value. */
  gdtr: { base: number; limit: number };
}

export interface DiskGeometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/**
 * A disk the BIOS serves through INT 13h. Writes stay in `bytes` (see --save-disk). A floppy
 * image shorter than its geometry (a lone boot sector is presented as a 2.88 MB disk, as QEMU
 * does) reads as zeros past the end of `bytes`, which is what QEMU returns there too.
 */
export interface DiskImage {
  bytes: Uint8Array;
  /** BIOS drive number: 0x00 for the first floppy, 0x80 for the first hard disk. */
  drive: number;
  geometry: DiskGeometry;
  /** CMOS floppy drive type (1=360K, 2=1.2M, 3=720K, 4=1.44M, 5=2.88M); floppies only. */
  floppyType?: number;
  /** Where the image came from (for --save-disk and messages). */
  path: string;
}

export type SymbolKind = 'label' | 'function' | 'object' | 'absolute' | 'section' | 'file' | 'other';

export interface GuestSymbol {
  name: string;
  addr: number;
  size?: number;
  kind: SymbolKind;
  /** nasm macro-local labels (`..@12.loop`) and the like: useful for addresses, noisy in lists. */
  internal?: boolean;
}

/** A summary of what the multiboot loader did, for the debugger and tests. */
export interface MultibootSummary {
  headerOffset: number;
  headerFlags: number;
  aoutKludge: boolean;
  loadAddr: number;
  loadEnd: number;
  bssEnd: number;
  entry: number;
  infoAddr: number;
  mmapAddr: number;
  cmdline: string;
  modules: { path: string; string: string; start: number; end: number }[];
}

export interface LoadedGuest {
  format: GuestFormat;
  /** The program as the user named it, and its absolute path. */
  program: string;
  path: string;
  chunks: MemoryChunk[];
  initial: InitialState;
  disk?: DiskImage;
  symbols: GuestSymbol[];
  /** Present when the guest was assembled from source with a listing. */
  lineMap?: LineMap;
  /** nasm warnings (errors throw a NasmError instead). */
  diagnostics: NasmDiagnostic[];
  multiboot?: MultibootSummary;
  /** The guest image bytes after assembly (the file's bytes for binaries). */
  image: Uint8Array;
  /** Highest physical address any chunk reaches (exclusive), for RAM checks. */
  highestAddr: number;
}
