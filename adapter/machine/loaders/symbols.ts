// Extra symbol files named in the launch configuration (`symbols`): ELF files (executables or
// objects) and nasm map files. Lets a user debug a binary built elsewhere with its labels.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { GuestLoadError } from './errors';
import { isElf, parseElf, elfGuestSymbols } from './elf';
import { parseNasmMap } from './listing';
import type { GuestSymbol } from './types';

export function loadSymbolFile(file: string, cwd = process.cwd()): GuestSymbol[] {
  const full = path.resolve(cwd, file);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(full));
  } catch {
    throw new GuestLoadError(`${file}: no such symbol file`, file);
  }
  if (isElf(bytes)) return elfGuestSymbols(parseElf(bytes, file, { symbolsOnly: true }));
  const text = new TextDecoder().decode(bytes.subarray(0, 64));
  if (text.includes('NASM Map file')) return parseNasmMap(new TextDecoder().decode(bytes)).symbols;
  throw new GuestLoadError(`${file}: not a symbol file (expected an ELF file or a nasm map file)`, file);
}

/** Merges symbol lists, dropping exact duplicates, sorted by address then name. */
export function mergeSymbols(...lists: GuestSymbol[][]): GuestSymbol[] {
  const seen = new Set<string>();
  const out: GuestSymbol[] = [];
  for (const list of lists)
    for (const s of list) {
      const key = `${s.name}@${s.addr}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(s);
    }
  return out.sort((a, b) => a.addr - b.addr || a.name.localeCompare(b.name));
}
