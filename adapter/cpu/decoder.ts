// Instruction decoder: bytes at CS:eip -> one Insn record (prefixes, opcode maps from opcodes.ts,
// ModRM/SIB through modrm.ts, immediates). Decoding happens once per instruction; the record then
// runs many times from the block cache, so everything operand-shaped is settled here.
import type { Cpu } from './cpu';
import { Insn, DS, REP_NONE, REP_E, REP_NE, type Handler } from './insn';
import { ONE_BYTE, TWO_BYTE, OpFlag, type OpEntry, type Slot } from './opcodes';
import { decodeMemOperand, setMoffs, eaNone, type ByteSource } from './modrm';
import { makeHandler, undefinedOpcode } from './ops/index';

/** The longest legal instruction; longer ones raise #GP(0). */
export const MAX_INSN_LEN = 15;

const TOO_LONG = { tooLong: true };

/** Record entry for an instruction longer than 15 bytes. */
export const TOO_LONG_ENTRY: OpEntry = { mnemonic: '(too long)', operands: [], handler: 'invalid', sub: 0, cls: 0, flags: OpFlag.Invalid | OpFlag.EndsBlock, modrm: false };

export const gpHandler: Handler = (cpu) => cpu.gp(0);
export const udHandler: Handler = undefinedOpcode;

/** The byte cursor of the instruction being decoded (one reused; a nested decode gets its own). */
class Cursor implements ByteSource {
  busy = false;
  fetch: (off: number) => number = () => 0;
  eip = 0;
  mask = -1;
  n = 0;
  byte(): number {
    if (this.n >= MAX_INSN_LEN) throw TOO_LONG;
    const off = (this.eip + this.n) & this.mask;
    this.n++;
    return this.fetch(off | 0) & 0xff;
  }
}
const cur = new Cursor();

/** Register-only specs whose ModRM mod field is ignored (MOV to/from CRn and DRn). */
function forcesRegister(e: OpEntry): boolean {
  return e.handler === 'movcr' || e.handler === 'movdr';
}

/**
 * Decode one instruction from a byte source. fetch(off) returns the byte at CS offset off (it may
 * throw a fetch fault). Pure apart from fetch: used by the CPU and by the disassembler on buffers.
 * The record's exec/inner are left as the #UD handler; decode() installs the real one.
 */
export function decodeFrom(fetch: (off: number) => number, eip: number, code32: boolean): Insn {
  // A fetch can reach the layers above (MMIO, EPT violations), which may disassemble in turn.
  const c = cur.busy ? new Cursor() : cur;
  c.busy = true;
  c.fetch = fetch;
  c.eip = eip;
  c.mask = code32 ? -1 : 0xffff;
  c.n = 0;
  try {
    return decodeInner(c, eip, code32);
  } catch (e) {
    if (e !== TOO_LONG) throw e;
    const i = new Insn(TOO_LONG_ENTRY, gpHandler, eaNone);
    i.len = MAX_INSN_LEN;
    i.eip = eip;
    i.code32 = code32;
    i.fault = 13;
    return i;
  } finally {
    c.busy = false;
  }
}

function decodeInner(cur: Cursor, eip: number, code32: boolean): Insn {
  let opPfx = false, adPfx = false, lock = false, rep = REP_NONE, seg = -1;
  let b: number;
  for (;;) {
    b = cur.byte();
    switch (b) {
      case 0x66: opPfx = true; continue;
      case 0x67: adPfx = true; continue;
      case 0xf0: lock = true; continue;
      case 0xf2: rep = REP_NE; continue;
      case 0xf3: rep = REP_E; continue;
      case 0x26: seg = 0; continue;
      case 0x2e: seg = 1; continue;
      case 0x36: seg = 2; continue;
      case 0x3e: seg = 3; continue;
      case 0x64: seg = 4; continue;
      case 0x65: seg = 5; continue;
    }
    break;
  }
  const osize: 2 | 4 = code32 !== opPfx ? 4 : 2;
  const a32 = code32 !== adPfx;
  let opcode = b;
  let slot: Slot;
  if (b === 0x0f) {
    const b2 = cur.byte();
    opcode = 0x0f00 | b2;
    slot = TWO_BYTE[b2];
  } else {
    slot = ONE_BYTE[b];
  }
  let modrm = -1;
  while (!('handler' in slot)) {
    if (slot.kind === 'pfx') {
      // The mandatory prefix: F3/F2 (the last REP prefix) take precedence over 66.
      const s: Slot | undefined = rep === REP_E ? slot.pF3 : rep === REP_NE ? slot.pF2 : opPfx ? slot.p66 : undefined;
      slot = s ?? slot.none;
      continue;
    }
    if (modrm < 0) modrm = cur.byte();
    slot = slot.kind === 'group' ? (modrm >= 0xc0 && slot.mod3 ? slot.mod3 : slot.reg)[(modrm >> 3) & 7] : slot.rm[modrm & 7];
  }
  let entry: OpEntry = slot;
  const i = new Insn(entry, udHandler, eaNone);
  i.opcode = opcode;
  i.osize = osize;
  i.a32 = a32;
  i.rep = rep;
  i.lock = lock;
  i.segOverride = seg;
  i.eip = eip;
  i.code32 = code32;
  i.seg = DS;
  let bad = (entry.flags & OpFlag.Invalid) !== 0;
  if (entry.modrm) {
    if (modrm < 0) modrm = cur.byte();
    i.modrm = modrm;
    i.reg = (modrm >> 3) & 7;
    i.rm = modrm & 7;
    if (modrm < 0xc0 && !forcesRegister(entry)) decodeMemOperand(i, modrm, a32, cur);
  } else if ((b >= 0x40 && b < 0x60) || (b >= 0x90 && b < 0x98) || b >= 0xb0 && b < 0xc0 || (opcode & 0xfff8) === 0x0fc8) {
    i.reg = b === 0x0f ? opcode & 7 : b & 7; // opcode-encoded register
  }
  // Immediates and other operand bytes, in encoding order.
  let nImm = 0;
  const ops = entry.operands;
  for (let k = 0; k < ops.length; k++) {
    const o = ops[k];
    let v: number;
    switch (o) {
      case 'Ib': v = cur.byte(); break;
      case 'Ibs': case 'Jb': v = (cur.byte() << 24) >> 24; break;
      case 'Iw': v = cur.byte() | (cur.byte() << 8); break;
      case 'Iz': case 'Iv': case 'Jz':
        v = osize === 4 ? cur.byte() | (cur.byte() << 8) | (cur.byte() << 16) | (cur.byte() << 24)
          : o === 'Jz' ? ((cur.byte() | (cur.byte() << 8)) << 16) >> 16 : cur.byte() | (cur.byte() << 8);
        break;
      case 'Ap':
        i.imm = osize === 4 ? cur.byte() | (cur.byte() << 8) | (cur.byte() << 16) | (cur.byte() << 24) : cur.byte() | (cur.byte() << 8);
        i.imm2 = cur.byte() | (cur.byte() << 8);
        nImm = 2;
        continue;
      case 'Ob': case 'Ov':
        setMoffs(i, a32 ? cur.byte() | (cur.byte() << 8) | (cur.byte() << 16) | (cur.byte() << 24) : cur.byte() | (cur.byte() << 8), a32);
        continue;
      default:
        if (o.charCodeAt(0) === 77 /* M */ && !i.mem) bad = true; // memory-only operand with a register
        continue;
    }
    if (nImm++ === 0) i.imm = v; else i.imm2 = v;
  }
  i.len = cur.n;
  if (seg >= 0) i.seg = seg; // the memory operand's, or the source of string instructions and XLAT
  if (rep !== REP_NONE && entry.repEntry) i.entry = entry = entry.repEntry;
  // MOV to/from CR1, CR5-CR7 is #UD; so is MOV CS,r/m (table) and a LOCK that the instruction refuses.
  if (entry.handler === 'movcr' && (i.reg === 1 || i.reg > 4)) bad = true;
  if (lock && (!(entry.flags & OpFlag.Lockable) || !i.mem)) bad = true;
  if (bad) i.fault = 6;
  return i;
}

/**
 * The encoding itself is valid (a defined opcode and operand form): false for records that raise #UD
 * whatever their prefixes. A LOCK the instruction refuses makes a valid encoding fault too (fault 6).
 */
export function encodingValid(i: Insn): boolean {
  const e = i.entry;
  if (e.flags & OpFlag.Invalid) return false;
  if (e.handler === 'movcr' && (i.reg === 1 || i.reg > 4)) return false;
  for (const o of e.operands) if (o.charCodeAt(0) === 77 /* M */ && !i.mem) return false;
  return true;
}

const fetchers = new WeakMap<Cpu, (off: number) => number>();

/**
 * Decode one instruction at CS:eip, reading bytes with cpu.fetchCodeByte(off) (which raises fetch
 * faults). code32 is CS.D. Never throws for bad encodings: those give a record whose handler raises
 * #UD (or #GP for more than 15 bytes) when executed.
 */
export function decode(cpu: Cpu, eip: number, code32: boolean): Insn {
  let f = fetchers.get(cpu);
  if (!f) {
    f = (off: number) => cpu.fetchCodeByte(off);
    fetchers.set(cpu, f);
  }
  const i = decodeFrom(f, eip, code32);
  if (i.fault === 0) i.exec = i.inner = makeHandler(i);
  else i.exec = i.inner = i.fault === 13 ? gpHandler : udHandler;
  return i;
}
