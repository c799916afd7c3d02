// `format: auto`: telling what a guest file is from its name and its bytes.

import * as path from 'node:path';
import { GuestLoadError } from './errors';
import { isElf } from './elf';
import { hasMultibootMagic } from './multiboot';
import { hasBootSignature, FLOPPY_SIZES, MAX_FLOPPY_BYTES, SECTOR } from './bootimage';
import { GUEST_FORMATS, type FormatChoice, type GuestFormat } from './types';

const SOURCE_EXTENSIONS = ['.asm', '.nasm'];

export function isAssemblySource(file: string): boolean {
  return SOURCE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/** Checks a user-given format name; unknown names get a message listing the valid ones. */
export function parseFormat(name: string | undefined): FormatChoice {
  if (name === undefined || name === '' || name === 'auto') return 'auto';
  const n = name.toLowerCase();
  if ((GUEST_FORMATS as readonly string[]).includes(n)) return n as GuestFormat;
  throw new GuestLoadError(`unknown format '${name}'; valid formats: auto, ${GUEST_FORMATS.join(', ')}`);
}

/** `org 0x7c00` (in any of nasm's spellings of the number) on a line of its own. */
export function sourceHasBootOrg(sourceText: string): boolean {
  const re = /^\s*\[?\s*org\s+([^\s\];]+)\s*\]?\s*(?:;.*)?$/gim;
  for (const m of sourceText.matchAll(re)) {
    const v = parseNasmNumber(m[1]);
    if (v === 0x7c00) return true;
  }
  return false;
}

function parseNasmNumber(s: string): number | undefined {
  const t = s.toLowerCase();
  if (/^0x[0-9a-f]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^0h[0-9a-f]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^\$[0-9a-f]+$/.test(t)) return parseInt(t.slice(1), 16);
  if (/^[0-9][0-9a-f]*h$/.test(t)) return parseInt(t.slice(0, -1), 16);
  if (/^[0-9]+d?$/.test(t)) return parseInt(t, 10);
  return undefined;
}

/**
 * Infers the format of a guest image. `fromSource` is the nasm source text when the image was
 * just assembled (it may say `org 0x7c00`). Order matters: ELF files are checked before the
 * multiboot magic (an ELF kernel is multiboot when it has the header), floppy-sized boot images
 * before it too (a floppy may carry a multiboot kernel in later sectors).
 */
export function detectFormat(bytes: Uint8Array, name: string, fromSource?: string): GuestFormat {
  if (fromSource !== undefined) {
    if (isElf(bytes)) return hasMultibootMagic(bytes) ? 'multiboot' : 'elf';
    if (hasBootSignature(bytes) || sourceHasBootOrg(fromSource)) {
      if (bytes.length <= SECTOR) return 'boot';
      return bytes.length > MAX_FLOPPY_BYTES ? 'disk' : 'floppy';
    }
    if (hasMultibootMagic(bytes)) return 'multiboot';
    return 'flat';
  }
  if (isElf(bytes)) return hasMultibootMagic(bytes) ? 'multiboot' : 'elf';
  const floppySize = FLOPPY_SIZES.some((f) => f.bytes === bytes.length);
  if (floppySize && (hasBootSignature(bytes) || bytes.length === 1474560)) return 'floppy';
  if (hasMultibootMagic(bytes)) return 'multiboot';
  if (hasBootSignature(bytes)) {
    if (bytes.length === SECTOR) return 'boot';
    return bytes.length > MAX_FLOPPY_BYTES ? 'disk' : 'floppy';
  }
  throw new GuestLoadError(`cannot tell the format of ${name}; pass --format (one of ${GUEST_FORMATS.join(', ')})`, name);
}
