// Disassembly around any address for the debugger's view: rows with symbols and source lines,
// including rows before the address. x86 code has variable length, so going backwards starts from
// a known instruction boundary (a source line or a label before the address, else several candidate
// starts) and keeps the decoding that lands exactly on the address.
import type { Engine } from './engine';
import { decodeFrom } from '../cpu/decoder';
import { formatInsn } from '../cpu/disasm';
import { CS } from '../cpu/insn';

export interface DisasmLine {
  address: number;
  bytes: string;
  text: string;
  symbol?: string;
  file?: string;
  line?: number;
  /** The bytes were not readable. */
  invalid?: boolean;
}

/** Decodes one instruction at a linear address; length 1 and `db` text for undecodable bytes. */
function decodeAt(engine: Engine, lin: number, code32: boolean): DisasmLine {
  const m = engine.memory.read(lin, 16);
  if (!m.readable[0]) return { address: lin, bytes: '', text: '??', invalid: true };
  const base = engine.cpu.segBase[CS] >>> 0;
  const off = (lin - base) >>> 0;
  let text = '', len = 1;
  try {
    const i = decodeFrom((o) => {
      const k = ((o - off) >>> 0) & (code32 ? 0xffffffff : 0xffff);
      if (k >= 16 || !m.readable[k]) throw new Error('end');
      return m.bytes[k];
    }, off, code32);
    const t = formatInsn(i, { symbol: (a) => engine.symbols.exactName((a + base) >>> 0) });
    if (t !== '(bad)') { text = t.replace(/,(?=\S)/g, ', '); len = i.len; }
  } catch { /* undecodable: one byte */ }
  if (!text) text = `db 0x${m.bytes[0].toString(16).padStart(2, '0')}`;
  const bytes = [...m.bytes.subarray(0, len)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const row: DisasmLine = { address: lin, bytes, text };
  const sym = engine.symbols.exactName(lin);
  if (sym) row.symbol = sym;
  const l = engine.symbols.lineAt(lin);
  if (l) { row.file = l.file; row.line = l.line; }
  return row;
}

function forward(engine: Engine, from: number, count: number, code32: boolean): DisasmLine[] {
  const out: DisasmLine[] = [];
  let a = from >>> 0;
  for (let k = 0; k < count; k++) {
    const r = decodeAt(engine, a, code32);
    out.push(r);
    a = (a + (r.invalid ? 1 : r.bytes.split(' ').length)) >>> 0;
  }
  return out;
}

/** `count` rows before `addr` that end exactly at it. */
function backward(engine: Engine, addr: number, count: number, code32: boolean): DisasmLine[] {
  if (count <= 0) return [];
  // Candidate starts: the line map's instruction starts and labels give exact boundaries.
  const window = count * 15 + 16;
  const lo = Math.max(0, addr - window);
  const starts = new Set<number>();
  const entries = engine.symbols.lineMap?.entries ?? [];
  for (const e of entries) if (e.addr >= lo && e.addr < addr) { starts.add(e.addr); break; }
  const sym = engine.symbols.nearest(addr - 1);
  if (sym && sym.addr >= lo && sym.addr < addr) starts.add(sym.addr);
  for (let k = 0; k < 16; k++) starts.add(lo + k);
  let best: DisasmLine[] | undefined;
  for (const s of [...starts].sort((a, b) => a - b)) {
    const rows: DisasmLine[] = [];
    let a = s;
    while (a < addr && rows.length < count * 20) {
      const r = decodeAt(engine, a, code32);
      rows.push(r);
      a += r.invalid ? 1 : r.bytes.split(' ').length;
    }
    if (a === addr) {
      best = rows;
      break; // the first (lowest, most-aligned-with-known-code) start that lands on addr
    }
  }
  const rows = best ?? [];
  while (rows.length < count) rows.unshift({ address: (addr - rows.length - 1) >>> 0, bytes: '', text: '??', invalid: true });
  // Fill the gap when the sync decode is shorter than asked for: pad with unknown rows before it.
  return rows.slice(-count);
}

/** DAP-style disassembly: instructionOffset rows relative to the instruction at `addr`. */
export function disassembleAround(engine: Engine, addr: number, instructionOffset: number, count: number): DisasmLine[] {
  const code32 = engine.cpu.code32;
  const out: DisasmLine[] = [];
  if (instructionOffset < 0) {
    const before = backward(engine, addr, -instructionOffset, code32);
    out.push(...before.slice(0, count));
    if (out.length < count) out.push(...forward(engine, addr, count - out.length, code32));
    return out;
  }
  const skip = forward(engine, addr, instructionOffset, code32);
  const start = skip.length ? (skip[skip.length - 1].address + (skip[skip.length - 1].invalid ? 1 : skip[skip.length - 1].bytes.split(' ').length)) >>> 0 : addr;
  return forward(engine, start, count, code32);
}
