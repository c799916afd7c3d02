// Symbols and source lines of a loaded guest: names to addresses and back ("puts+0x4"), the line
// map from nasm's listing (the first instruction of each source line, lines moved to the next line
// with code), for breakpoints, stepping by line, the stack trace and disassembly.
import * as path from 'node:path';
import type { GuestSymbol } from '../machine/loaders/types';
import type { LineMap, LineEntry } from '../machine/loaders/listing';
import { lineForAddress } from '../machine/loaders/listing';

export interface ResolvedLine {
  /** The line that actually holds code (the requested one or the next with code). */
  line: number;
  /** Start address of each run of code emitted for that line (several for %rep bodies, included twice...). */
  addrs: number[];
}

export class SymbolTable {
  private readonly byName = new Map<string, GuestSymbol>();
  /** Labels sorted by address, for address -> name. */
  private readonly sorted: GuestSymbol[];
  /** Per file (resolved path): line -> entries. */
  private readonly byFile = new Map<string, Map<number, LineEntry[]>>();

  constructor(symbols: GuestSymbol[], readonly lineMap?: LineMap) {
    for (const s of symbols) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    this.sorted = symbols.filter((s) => !s.internal && s.kind !== 'absolute' && s.kind !== 'section' && s.kind !== 'file').sort((a, b) => a.addr - b.addr);
    for (const e of lineMap?.entries ?? []) {
      const f = path.resolve(e.file);
      let m = this.byFile.get(f);
      if (!m) { m = new Map(); this.byFile.set(f, m); }
      const list = m.get(e.line);
      if (list) list.push(e); else m.set(e.line, [e]);
    }
  }

  get names(): string[] { return [...this.byName.keys()]; }
  get files(): string[] { return [...this.byFile.keys()]; }

  lookup(name: string): number | undefined {
    return this.byName.get(name)?.addr;
  }

  /** What kind of symbol a name is ('absolute' for `equ` constants), if it is one. */
  kind(name: string): GuestSymbol['kind'] | undefined {
    return this.byName.get(name)?.kind;
  }

  /** The label at or before addr. */
  nearest(addr: number): GuestSymbol | undefined {
    const s = this.sorted;
    let lo = 0, hi = s.length - 1, best: GuestSymbol | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid].addr <= addr) { best = s[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    return best;
  }

  /** "name" or "name+0x12" for an address near a label (within 64 KiB), else undefined. */
  describe(addr: number): string | undefined {
    const s = this.nearest(addr >>> 0);
    if (!s) return undefined;
    const off = (addr >>> 0) - s.addr;
    if (off > 0x10000) return undefined;
    return off ? `${s.name}+0x${off.toString(16)}` : s.name;
  }

  /** The non-local label owning addr (for `.local` names). */
  enclosingLabel(addr: number): string | undefined {
    const s = this.nearest(addr >>> 0);
    if (!s) return undefined;
    const dot = s.name.indexOf('.', 1);
    return dot > 0 && !s.name.startsWith('..') ? s.name.slice(0, dot) : s.name;
  }

  /** Exact symbol at an address, for branch targets in disassembly. */
  exactName(addr: number): string | undefined {
    const s = this.nearest(addr >>> 0);
    return s && s.addr === addr >>> 0 ? s.name : undefined;
  }

  lineAt(addr: number): LineEntry | undefined {
    return this.lineMap ? lineForAddress(this.lineMap, addr >>> 0) : undefined;
  }

  hasFile(file: string): boolean {
    return this.byFile.has(path.resolve(file));
  }

  /** Lines of a file that hold code, sorted. */
  codeLines(file: string): number[] {
    const m = this.byFile.get(path.resolve(file));
    return m ? [...m.keys()].sort((a, b) => a - b) : [];
  }

  /**
   * Where a breakpoint on file:line lands: that line if it has code, else the next line with code
   * (within 200 lines, as a blank or comment line moves down to the instruction below it).
   */
  resolveLine(file: string, line: number): ResolvedLine | undefined {
    const m = this.byFile.get(path.resolve(file));
    if (!m) return undefined;
    let target = -1;
    if (m.has(line)) target = line;
    else {
      for (const l of m.keys()) if (l > line && l - line <= 200 && (target < 0 || l < target)) target = l;
    }
    if (target < 0) return undefined;
    const entries = [...m.get(target)!].filter((e) => e.offset >= 0 || e.length > 0).sort((a, b) => a.addr - b.addr);
    const addrs: number[] = [];
    let end = -1;
    for (const e of entries) {
      if (e.addr !== end) addrs.push(e.addr);
      end = e.addr + e.length;
    }
    return { line: target, addrs };
  }

  /** Every line-start address of file:line (exact line only), for goto targets. */
  addressesOf(file: string, line: number): number[] {
    const r = this.resolveLine(file, line);
    return r && r.line === line ? r.addrs : [];
  }
}
