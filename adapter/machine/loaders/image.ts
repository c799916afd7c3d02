// One entry point from a file on disk to a loaded guest: assemble if it is a source, tell the
// format, run the right loader, check the result fits in RAM, gather symbols and line map.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { assemble, type AssembleResult } from '../nasm';
import { GuestLoadError } from './errors';
import { checkInRam, MIB } from './ramcheck';
import { detectFormat, isAssemblySource, parseFormat } from './detect';
import { loadBootImage } from './bootimage';
import { loadFlat, DEFAULT_FLAT_LOAD_ADDRESS, FLAT_STACK_TOP } from './flat';
import { loadMultiboot, type MultibootModule } from './multiboot';
import { parseElf, elfLoadChunks, elfPhysicalEntry, elfGuestSymbols, PT_LOAD } from './elf';
import { flatProtectedState, bootGdtChunk } from './entrystate';
import { loadSymbolFile, mergeSymbols } from './symbols';
import type { LoadedGuest, MemoryChunk, GuestFormat } from './types';

export { MIB, MAX_RAM_MIB } from './ramcheck';
export const DEFAULT_RAM_MIB = 64;

export interface ModuleSpec {
  path: string;
  cmdline?: string;
}

export interface LoadGuestOptions {
  /** The guest as the user named it; relative to `cwd`. */
  program: string;
  /** 'auto' (default) or one of GUEST_FORMATS; anything else is refused with the list. */
  format?: string;
  /** Guest RAM: `ramBytes` wins over `ramMiB`; default 64 MiB. */
  ramMiB?: number;
  ramBytes?: number;
  /** Flat binaries: where to load (default: the source's org, else 0x100000). */
  loadAddress?: number;
  /** Flat binaries and ELF: where to start instead of the default. */
  entry?: number;
  /** Multiboot: appended to the kernel path in the command line, as QEMU's -append. */
  cmdline?: string;
  /** Multiboot modules, loaded page-aligned after the kernel. */
  modules?: ModuleSpec[];
  nasmPath?: string;
  nasmArgs?: string[];
  /** Extra symbol files (ELF or nasm map). */
  symbols?: string[];
  /** Directory that relative paths start from, and nasm's working directory. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  bootLoaderName?: string;
}

/** Loads a guest. Every problem a user can cause throws a GuestLoadError with a one-line message. */
export function loadGuest(opts: LoadGuestOptions): LoadedGuest {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const name = opts.program;
  const full = path.resolve(cwd, name);
  const choice = parseFormat(opts.format);
  const ramBytes = opts.ramBytes ?? (opts.ramMiB ?? DEFAULT_RAM_MIB) * MIB;
  checkFile(full, name, 'guest');

  let image: Uint8Array;
  let asm: AssembleResult | undefined;
  let sourceText: string | undefined;
  if (isAssemblySource(full)) {
    asm = assemble({ source: name, cwd, nasmPath: opts.nasmPath, nasmArgs: opts.nasmArgs, env: opts.env });
    image = asm.binary;
    sourceText = fs.readFileSync(full, 'utf8');
    if (image.length === 0) throw new GuestLoadError(`${name}: assembled to an empty image`, name);
  } else {
    image = new Uint8Array(fs.readFileSync(full));
    if (image.length === 0) throw new GuestLoadError(`${name}: the file is empty`, name);
  }
  const format: GuestFormat = choice === 'auto' ? detectFormat(image, name, sourceText) : choice;

  if (opts.loadAddress !== undefined && format !== 'flat')
    throw new GuestLoadError(`${name}: a load address applies only to flat binaries (this guest is ${format})`, name);
  if (opts.entry !== undefined && format !== 'flat' && format !== 'elf')
    throw new GuestLoadError(`${name}: an entry address applies only to flat binaries and ELF files (this guest is ${format})`, name);
  if (format !== 'multiboot') {
    if (opts.modules?.length) throw new GuestLoadError(`${name}: modules apply only to multiboot kernels (this guest is ${format})`, name);
    if (opts.cmdline) throw new GuestLoadError(`${name}: a command line applies only to multiboot kernels (this guest is ${format})`, name);
  }

  const base = {
    format, program: name, path: full, image,
    lineMap: asm?.lineMap, diagnostics: asm?.diagnostics ?? [],
  };
  let loaded: Omit<LoadedGuest, 'highestAddr' | 'symbols'> & { symbols?: LoadedGuest['symbols'] };
  switch (format) {
    case 'boot':
    case 'floppy':
    case 'disk': {
      const b = loadBootImage(image, name, format);
      loaded = { ...base, chunks: b.chunks, initial: b.initial, disk: b.disk };
      break;
    }
    case 'flat': {
      const at = opts.loadAddress ?? (asm ? asm.map?.origin ?? 0 : DEFAULT_FLAT_LOAD_ADDRESS);
      const f = loadFlat(image, name, at, opts.entry ?? at);
      loaded = { ...base, chunks: f.chunks, initial: f.initial };
      break;
    }
    case 'multiboot': {
      const modules: MultibootModule[] = (opts.modules ?? []).map((m) => {
        const p = path.resolve(cwd, m.path);
        checkFile(p, m.path, 'module');
        return { path: m.path, cmdline: m.cmdline, bytes: new Uint8Array(fs.readFileSync(p)) };
      });
      const mb = loadMultiboot(image, name, { kernelName: name, cmdline: opts.cmdline, modules, ramBytes, bootLoaderName: opts.bootLoaderName });
      loaded = { ...base, chunks: mb.chunks, initial: mb.initial, multiboot: mb.summary, symbols: mb.symbols };
      break;
    }
    case 'elf': {
      const elf = parseElf(image, name);
      for (const s of elf.segments) if (s.type === PT_LOAD) checkInRam(name, `ELF segment ${s.index}`, s.paddr, s.memsz, ramBytes);
      const entry = opts.entry ?? elfPhysicalEntry(elf);
      loaded = {
        ...base,
        chunks: [bootGdtChunk(), ...elfLoadChunks(elf, image)],
        initial: flatProtectedState(entry, { esp: FLAT_STACK_TOP }),
        symbols: elfGuestSymbols(elf),
      };
      break;
    }
  }

  const highestAddr = checkFits(loaded.chunks, name, ramBytes);
  const extra = (opts.symbols ?? []).map((f) => loadSymbolFile(f, cwd));
  return { ...loaded, symbols: mergeSymbols(asm?.symbols ?? [], loaded.symbols ?? [], ...extra), highestAddr };
}

function checkFile(full: string, name: string, what: 'guest' | 'module'): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(full);
  } catch {
    throw new GuestLoadError(`${name}: no such file${what === 'module' ? ' (multiboot module)' : ''}`, name);
  }
  if (st.isDirectory()) throw new GuestLoadError(`${name}: is a directory, not a ${what} file`, name);
  try {
    fs.accessSync(full, fs.constants.R_OK);
  } catch {
    throw new GuestLoadError(`${name}: cannot be read (permission denied)`, name);
  }
}

/** Checks every chunk lies in RAM; returns the highest end. Chunks may touch 0xA0000-0xFFFFF: ld
 * often puts a read-only segment holding the ELF headers just below 1 MiB, and QEMU loads it
 * (into ROM space, where it does no harm); the machine decides what such writes do. */
function checkFits(chunks: MemoryChunk[], name: string, ram: number): number {
  let highest = 0;
  for (const c of chunks) {
    checkInRam(name, c.what, c.addr, c.bytes.length, ram);
    highest = Math.max(highest, c.addr + c.bytes.length);
  }
  return highest;
}
