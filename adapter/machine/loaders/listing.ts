// nasm's listing (-l) and map file ([map all FILE]) turned into a line map and symbols.
//
// Listing lines (nasm 2.16) have fixed columns:
//   [0,6) line number   [7,15) offset in section (hex)   [16,35) emitted bytes, '-' = continues
//   [35,39) " <n>" include/macro nesting level, or blank   [40..) the source text
// A line shorter than 40 characters carries more bytes for the line before it. Nesting levels go
// up for %include, for each multi-line macro expansion and for %rep bodies; the line numbers shown
// inside a level are those of the file being read (the included file, or the macro's definition).
// We want macro expansions to land on the line that invoked the macro, included files on their
// own lines, and %rep bodies on the body lines. Which kind a new level is we learn from the last
// line listed at the level above: `%include "x"`, `%endrep`, or anything else (a macro call).
//
// Offsets are relative to the current section. The map file gives each section's addresses; the
// current section is followed from `section` directives in the text, and checked against the
// assembled bytes (nasm lists untaken %if branches and %define'd section names, so the text alone
// can mislead).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GuestSymbol } from './types';

export interface LineEntry {
  /** Absolute path of the source file. */
  file: string;
  /** 1-based line in that file. */
  line: number;
  /** Run-time address (section vstart + offset). */
  addr: number;
  /** Offset of the bytes in the assembled image, or -1 when they are not in it (nobits). */
  offset: number;
  length: number;
  section: string;
}

export interface LineMap {
  /** Sorted by address. */
  entries: LineEntry[];
  /** Every source file that contributed bytes. */
  files: string[];
}

export interface MapSection {
  name: string;
  /** Run-time address. */
  vstart: number;
  /** Load address. */
  start: number;
  length: number;
  progbits: boolean;
}

export interface NasmMap {
  origin: number;
  sections: MapSection[];
  symbols: GuestSymbol[];
}

/** Parses a nasm `-f bin` map file written by `[map all FILE]`. */
export function parseNasmMap(text: string): NasmMap {
  const lines = text.split(/\r?\n/);
  let origin = 0;
  const sections: MapSection[] = [];
  const symbols: GuestSymbol[] = [];
  let part = '';
  let absoluteTable = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const head = /^-- (.+?) -+\s*$/.exec(l);
    if (head) {
      part = head[1];
      continue;
    }
    if (part === 'Program origin') {
      if (/^[0-9A-Fa-f]+\s*$/.test(l)) origin = parseInt(l, 16);
    } else if (part === 'Sections (summary)') {
      const m = /^\s*([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+(\S+)\s+(.+?)\s*$/.exec(l);
      if (m) sections.push({ name: m[6], vstart: parseInt(m[1], 16), start: parseInt(m[2], 16), length: parseInt(m[4], 16), progbits: m[5] === 'progbits' });
    } else if (part === 'Symbols') {
      if (/^---- /.test(l)) {
        absoluteTable = /^---- No Section/.test(l);
        continue;
      }
      if (absoluteTable) {
        const m = /^([0-9A-Fa-f]+)\s+(\S.*?)\s*$/.exec(l);
        if (m && m[1] !== 'Value') symbols.push(mapSymbol(m[2], parseInt(m[1], 16), 'absolute'));
      } else {
        const m = /^\s*([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+(\S.*?)\s*$/.exec(l);
        if (m) symbols.push(mapSymbol(m[3], parseInt(m[2], 16), 'label'));
      }
    }
  }
  return { origin, sections, symbols };
}

function mapSymbol(name: string, addr: number, kind: 'label' | 'absolute'): GuestSymbol {
  const s: GuestSymbol = { name, addr: addr >>> 0, kind };
  if (name.startsWith('..@')) s.internal = true;
  return s;
}

/** One listing line, split into its columns. */
export interface ListingLine {
  lineno: number;
  offset?: number;
  data: string;
  /** False for lines that only carry more bytes of the previous line. */
  hasSource: boolean;
  level: number;
  text: string;
}

export function splitListingLine(raw: string): ListingLine | undefined {
  const lineno = /^\s*(\d+)(?: |$)/.exec(raw.slice(0, 7));
  if (!lineno) return undefined;
  const addr = raw.slice(7, 15);
  const fill = raw.slice(16, 34);
  // Diagnostics listed under a line: blank address, then a run of '*', '-' or 'X'.
  if (addr.trim() === '' && /^([*\-X])\1{17}$/.test(fill)) return undefined;
  const hasOffset = /^[0-9A-F]{8}$/.test(addr);
  const levelField = /^\s*<(\d+)>$/.exec(raw.slice(35, 39));
  return {
    lineno: Number(lineno[1]),
    offset: hasOffset ? parseInt(addr, 16) : undefined,
    data: hasOffset ? raw.slice(16, 35).trim() : '',
    hasSource: raw.length >= 40,
    level: levelField ? Number(levelField[1]) : 0,
    text: raw.slice(40),
  };
}

interface DataCount {
  /** Total bytes the data field stands for. */
  length: number;
  /** The concrete bytes listed (undefined entries are unknown: relocated fields, reserves). */
  bytes: (number | undefined)[];
}

/**
 * Counts the bytes a listing data field stands for: hex pairs, `[..]`/`(..)` address fields,
 * `????` reserves, `<res N>`, `<zero N>`, `<bin N>` and `<rep N>` (the bytes so far, N times).
 */
export function countListingData(field: string, into: DataCount = { length: 0, bytes: [] }): DataCount {
  let s = field.endsWith('-') ? field.slice(0, -1) : field;
  while (s.length) {
    let m: RegExpExecArray | null;
    if ((m = /^<(\w+) ([0-9A-Fa-f]+)(h?)>/.exec(s))) {
      const n = parseInt(m[2], m[3] ? 16 : 10);
      if (m[1] === 'rep') {
        into.length *= n;
      } else {
        into.length += n;
        if (m[1] !== 'zero') into.bytes.push(undefined);
      }
    } else if ((m = /^[[(]([0-9A-Fa-fs]*)[\])]/.exec(s))) {
      const n = m[1].length >> 1;
      into.length += n;
      for (let i = 0; i < n; i++) into.bytes.push(undefined);
    } else if ((m = /^\?+/.exec(s))) {
      const n = m[0].length >> 1;
      into.length += n;
      for (let i = 0; i < n; i++) into.bytes.push(undefined);
    } else if ((m = /^[0-9A-Fa-f]{2}/.exec(s))) {
      into.length += 1;
      into.bytes.push(parseInt(m[0], 16));
    } else {
      m = /^./.exec(s)!;
    }
    s = s.slice(m[0].length);
  }
  return into;
}

interface Frame {
  kind: 'file' | 'macro' | 'rep';
  /** For file frames. */
  file?: string;
  /** For macro frames: where the macro was invoked. */
  at?: { file: string; line: number };
  /** Last source line listed at this level (text and number). */
  lastText: string;
  lastLine: number;
  /** Depth of %macro/%rep definitions being listed at this level (not executed here). */
  defDepth: number;
}

export interface ListingOptions {
  /** Absolute path of the assembled file. */
  mainFile: string;
  /** Resolves an `%include` name to an absolute path (defaults to next to the including file). */
  resolveInclude?: (name: string, fromFile: string) => string;
  /** Sections from the map file; without them everything is one section at `origin`. */
  sections?: MapSection[];
  origin?: number;
  /** The assembled image, to check which section a line's bytes are in. */
  image?: Uint8Array;
}

const RE_INCLUDE = /^\s*%include\s+(["'<])(.+?)["'>]/i;
const RE_ENDREP = /^\s*%endr(ep)?\b/i;
const RE_DEF_OPEN = /^\s*%(i?macro|rep)\b/i;
const RE_DEF_CLOSE = /^\s*%(endm(acro)?|endr(ep)?)\b/i;
const RE_SECTION = /^\s*\[?\s*(?:section|segment)\s+([^\s\]]+)/i;
const RE_ABSOLUTE = /^\s*\[?\s*absolute\b/i;
const RE_STRUC = /^\s*struc\b/i;
const RE_ENDSTRUC = /^\s*endstruc\b/i;

/** Builds the line map from a nasm listing. */
export function parseListing(text: string, opts: ListingOptions): LineMap {
  const resolve = opts.resolveInclude ?? ((name: string, from: string) => path.resolve(path.dirname(from), name));
  const origin = opts.origin ?? 0;
  const sections = opts.sections?.length ? opts.sections : [{ name: '.text', vstart: origin, start: origin, length: Infinity, progbits: true }];
  const byName = new Map(sections.map((s) => [s.name, s]));
  let current: MapSection | undefined = sections[0];
  let savedForStruc: MapSection | undefined;

  const frames: Frame[] = [{ kind: 'file', file: opts.mainFile, lastText: '', lastLine: 0, defDepth: 0 }];
  const entries: (LineEntry & { bytes: (number | undefined)[] })[] = [];
  let last: (LineEntry & { bytes: (number | undefined)[] }) | undefined;

  // Where a line listed at `level` with number `lineno` belongs in the user's sources.
  const locate = (level: number, lineno: number): { file: string; line: number } => {
    const f = frames[level];
    if (f.kind === 'file') return { file: f.file!, line: lineno };
    if (f.kind === 'macro') return f.at!;
    return level > 0 ? locate(level - 1, lineno) : { file: opts.mainFile, line: lineno };
  };

  for (const raw of text.split(/\r?\n/)) {
    const l = splitListingLine(raw);
    if (!l) continue;
    if (!l.hasSource) {
      if (last && l.data) addData(last, l.data);
      continue;
    }
    while (frames.length > l.level + 1) frames.pop();
    while (frames.length < l.level + 1) {
      const parentLevel = frames.length - 1;
      const parent = frames[parentLevel];
      const inc = RE_INCLUDE.exec(parent.lastText);
      const here = locate(parentLevel, parent.lastLine);
      let frame: Frame;
      if (inc) frame = { kind: 'file', file: resolve(inc[2], here.file), lastText: '', lastLine: 0, defDepth: 0 };
      else if (RE_ENDREP.test(parent.lastText)) frame = { kind: 'rep', lastText: '', lastLine: 0, defDepth: 0 };
      else frame = { kind: 'macro', at: here, lastText: '', lastLine: 0, defDepth: 0 };
      // Only the first new level has a known parent line; deeper jumps are macros of macros.
      parent.lastText = '';
      frames.push(frame);
    }
    const frame = frames[l.level];
    frame.lastText = l.text;
    frame.lastLine = l.lineno;

    // Section tracking, ignoring lines that are only being defined (macro and %rep bodies).
    if (RE_DEF_OPEN.test(l.text)) frame.defDepth++;
    else if (RE_DEF_CLOSE.test(l.text)) frame.defDepth = Math.max(0, frame.defDepth - 1);
    else if (frame.defDepth === 0) {
      const sec = RE_SECTION.exec(l.text);
      if (sec) current = byName.get(sec[1]) ?? current;
      else if (RE_ABSOLUTE.test(l.text)) current = undefined;
      else if (RE_STRUC.test(l.text)) {
        savedForStruc = current;
        current = undefined;
      } else if (RE_ENDSTRUC.test(l.text)) current = savedForStruc;
    }

    last = undefined;
    if (l.offset === undefined || !l.data) continue;
    const where = locate(l.level, l.lineno);
    const count = countListingData(l.data);
    const entry = { file: where.file, line: where.line, addr: 0, offset: -1, length: count.length, section: '', bytes: count.bytes };
    if (current === undefined) continue; // absolute space: nothing is emitted
    const section = pickSection(current, sections, l.offset, count.bytes, origin, opts.image);
    current = section;
    entry.section = section.name;
    entry.addr = (section.vstart + l.offset) >>> 0;
    entry.offset = section.progbits ? section.start - origin + l.offset : -1;
    if (!section.progbits) continue;
    entries.push(entry);
    last = entry;
  }

  const out: LineEntry[] = entries
    .filter((e) => e.length > 0)
    .map(({ bytes: _b, ...e }) => e)
    .sort((a, b) => a.addr - b.addr);
  return { entries: out, files: [...new Set(out.map((e) => e.file))] };
}

function addData(entry: { length: number; bytes: (number | undefined)[] }, field: string): void {
  const c = countListingData(field, { length: entry.length, bytes: entry.bytes });
  entry.length = c.length;
}

/** The section whose assembled bytes match the listed ones, preferring the current one. */
function pickSection(
  current: MapSection,
  sections: MapSection[],
  offset: number,
  bytes: (number | undefined)[],
  origin: number,
  image: Uint8Array | undefined,
): MapSection {
  if (!image || sections.length < 2 || !bytes.some((b) => b !== undefined)) return current;
  const matches = (s: MapSection) => {
    if (!s.progbits || offset + bytes.length > s.length) return false;
    const base = s.start - origin + offset;
    return bytes.every((b, i) => b === undefined || image[base + i] === b);
  };
  if (matches(current)) return current;
  return sections.find(matches) ?? current;
}

/** The entry whose bytes contain `addr`, if any. */
export function lineForAddress(map: LineMap, addr: number): LineEntry | undefined {
  const e = map.entries;
  let lo = 0;
  let hi = e.length - 1;
  let best: LineEntry | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (e[mid].addr <= addr) {
      best = e[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best && addr < best.addr + best.length ? best : undefined;
}

/** Addresses of every piece of code emitted for a source line (several for a macro call). */
export function addressesForLine(map: LineMap, file: string, line: number): number[] {
  return map.entries.filter((e) => e.line === line && samePath(e.file, file)).map((e) => e.addr);
}

function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}

/**
 * Resolves an %include name the way nasm 2.16 does: relative to nasm's working directory first,
 * then each -I prefix in order (nasm glues the prefix and the name together as strings).
 */
export function includeResolver(cwd: string, includeDirs: string[]): (name: string, fromFile: string) => string {
  return (name: string, fromFile: string) => {
    const candidates = [path.resolve(cwd, name), ...includeDirs.map((d) => path.resolve(cwd, d + name)), path.resolve(path.dirname(fromFile), name)];
    return candidates.find((c) => fs.existsSync(c)) ?? candidates[0];
  };
}
