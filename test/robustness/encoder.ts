// Machine code for the hostile guests, built from the CPU's own opcode table (adapter/cpu/opcodes.ts):
// every encodable form is found by walking the one- and two-byte maps, so the fuzzer emits exactly
// the instructions the core knows (and their ModRM groups, mandatory prefixes and operand sizes)
// without a second list of opcodes.
import { ONE_BYTE, TWO_BYTE, OpFlag, type OpEntry, type Slot } from '../../adapter/cpu/opcodes';
import type { Rng } from './rng';

/** One way to encode a table entry. */
export interface Form {
  entry: OpEntry;
  /** Mandatory prefix (66, F3, F2) selecting the entry, if any. */
  pfx?: number;
  /** Opcode bytes (0F xx for the two-byte map). */
  op: number[];
  /** ModRM.reg fixed by a group. */
  reg?: number;
  /** true: the register form (mod = 3) selects it; false: the memory form does; undefined: either. */
  mod3?: boolean;
  /** ModRM.rm fixed (the 0F 01 register-form rows). */
  rm?: number;
}

function walk(slot: Slot | undefined, base: Omit<Form, 'entry'>, out: Form[]): void {
  if (!slot) return;
  if ('handler' in slot) {
    if (!(slot.flags & OpFlag.Invalid)) out.push({ ...base, entry: slot });
    return;
  }
  if (slot.kind === 'pfx') {
    walk(slot.none, base, out);
    if (slot.p66) walk(slot.p66, { ...base, pfx: 0x66 }, out);
    if (slot.pF3) walk(slot.pF3, { ...base, pfx: 0xf3 }, out);
    if (slot.pF2) walk(slot.pF2, { ...base, pfx: 0xf2 }, out);
  } else if (slot.kind === 'group') {
    slot.reg.forEach((s, k) => walk(s, { ...base, reg: k, mod3: slot.mod3 ? false : undefined }, out));
    slot.mod3?.forEach((s, k) => walk(s, { ...base, reg: k, mod3: true }, out));
  } else {
    slot.rm.forEach((s, k) => walk(s, { ...base, rm: k, mod3: true }, out));
  }
}

/** Every valid form of the table (prefix bytes and undefined opcodes are not forms). */
export const FORMS: readonly Form[] = (() => {
  const out: Form[] = [];
  ONE_BYTE.forEach((s, b) => { if (b !== 0x0f) walk(s, { op: [b] }, out); });
  TWO_BYTE.forEach((s, b) => walk(s, { op: [0x0f, b] }, out));
  return out;
})();

const byKey = new Map<string, Form[]>();
for (const f of FORMS) {
  const k = `${f.entry.mnemonic} ${f.entry.operands.join(',')}`;
  byKey.set(k, [...(byKey.get(k) ?? []), f]);
}

/**
 * The form of `mnemonic` with exactly these operand specs ('mov', 'Cd,Rd'); where a group fixes
 * ModRM.reg (MOV Sreg, one row per segment), the row for `reg`. Throws when the table has none.
 */
export function form(mnemonic: string, operands = '', reg?: number): Form {
  const fs = byKey.get(`${mnemonic} ${operands}`) ?? [];
  const f = fs.find((x) => x.reg === undefined || reg === undefined || x.reg === reg);
  if (!f) throw new Error(`the opcode table has no ${mnemonic} ${operands}${reg === undefined ? '' : ` with ModRM.reg ${reg}`}`);
  return f;
}

/** Register operand names of the table, by register number. */
export const R32 = ['eAX', 'eCX', 'eDX', 'eBX', 'eSP', 'eBP', 'eSI', 'eDI'];
export const R8 = ['AL', 'CL', 'DL', 'BL', 'AH', 'CH', 'DH', 'BH'];
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

/** A memory operand: an absolute offset, or a base register plus displacement (32-bit addressing). */
export type Mem = { abs: number } | { base: number; disp: number };

export interface Operands {
  /** ModRM.reg (a register, a control/debug register or a segment number) when the form does not fix it. */
  reg?: number;
  /** ModRM.rm: a register number (register form) or a memory operand. */
  rm?: number | Mem;
  /** Immediates in operand order (Ap: offset, then selector; Ob/Ov: the offset). */
  imm?: number[];
}

/** Immediate bytes a spec takes at this operand/address size (0 for specs that are no immediate). */
function immBytes(spec: string, osize: number, asize: number): number {
  switch (spec) {
    case 'Ib': case 'Ibs': case 'Jb': return 1;
    case 'Iw': return 2;
    case 'Iz': case 'Iv': case 'Jz': return osize;
    case 'Ap': return osize + 2;
    case 'Ob': case 'Ov': return asize;
  }
  return 0;
}

function le(out: number[], v: number, n: number): void {
  for (let k = 0; k < n; k++) out.push((v >>> (8 * k)) & 0xff);
}

/** An assembler for straight-line code at a known address, in 32- or 16-bit code. */
export class Asm {
  readonly bytes: number[] = [];
  private fixups: { at: number; label: string; size: 1 | 2 | 4; rel: boolean }[] = [];
  private labels = new Map<string, number>();

  constructor(readonly org: number, public code32: boolean) {}

  get here(): number { return this.org + this.bytes.length; }

  label(name: string): void { this.labels.set(name, this.here); }
  addr(name: string): number {
    const a = this.labels.get(name);
    if (a === undefined) throw new Error(`label ${name} is not defined`);
    return a;
  }

  raw(...b: number[]): void { for (const x of b) this.bytes.push(x & 0xff); }
  d32(v: number): void { le(this.bytes, v, 4); }
  d16(v: number): void { le(this.bytes, v, 2); }

  /** One instruction of the table: `ins('mov', 'Cd,Rd', { reg: 3, rm: EAX })`. */
  ins(mnemonic: string, operands = '', o: Operands = {}, prefixes: number[] = []): void {
    this.encode(form(mnemonic, operands, o.reg), o, prefixes);
  }

  encode(f: Form, o: Operands = {}, prefixes: number[] = []): void {
    const osize = this.code32 !== prefixes.includes(0x66) ? 4 : 2;
    const asize = this.code32 !== prefixes.includes(0x67) ? 4 : 2;
    const out = this.bytes;
    out.push(...prefixes);
    if (f.pfx) out.push(f.pfx);
    out.push(...f.op);
    if (f.entry.modrm) {
      const reg = (f.reg ?? o.reg ?? 0) & 7;
      let rm = o.rm ?? 0;
      if (f.rm !== undefined) rm = f.rm;
      if (typeof rm === 'number') {
        out.push(0xc0 | (reg << 3) | (rm & 7));
      } else if ('abs' in rm) {
        if (asize === 4) { out.push((reg << 3) | 5); le(out, rm.abs, 4); }
        else { out.push((reg << 3) | 6); le(out, rm.abs, 2); }
      } else if (asize === 4) {
        out.push(0x80 | (reg << 3) | (rm.base & 7));
        if ((rm.base & 7) === ESP) out.push(0x24);
        le(out, rm.disp, 4);
      } else {
        // 16-bit addressing: only [bx+disp16], [si+disp16], [di+disp16], [bp+disp16].
        const r16 = rm.base === ESI ? 4 : rm.base === EDI ? 5 : rm.base === EBP ? 6 : 7;
        out.push(0x80 | (reg << 3) | r16);
        le(out, rm.disp, 2);
      }
    }
    const imm = o.imm ?? [];
    let k = 0;
    for (const spec of f.entry.operands) {
      const n = immBytes(spec, osize, asize);
      if (!n) continue;
      if (spec === 'Ap') { le(out, imm[k++] ?? 0, osize); le(out, imm[k++] ?? 0, 2); }
      else le(out, imm[k++] ?? 0, n);
    }
  }

  /** A relative JMP/CALL/Jcc to a label, resolved by finish(). */
  jump(mnemonic: 'jmp' | 'call' | string, label: string): void {
    const f = form(mnemonic, 'Jz');
    this.bytes.push(...f.op);
    const size = this.code32 ? 4 : 2;
    this.fixups.push({ at: this.bytes.length, label, size, rel: true });
    le(this.bytes, 0, size);
  }

  /** A 32-bit (or 16-bit) absolute word holding a label's address. */
  addrOf(label: string): void {
    const size = this.code32 ? 4 : 2;
    this.fixups.push({ at: this.bytes.length, label, size, rel: false });
    le(this.bytes, 0, size);
  }

  finish(): Uint8Array {
    for (const x of this.fixups) {
      const target = this.addr(x.label);
      const v = x.rel ? target - (this.org + x.at + x.size) : target;
      for (let k = 0; k < x.size; k++) this.bytes[x.at + k] = (v >>> (8 * k)) & 0xff;
    }
    return Uint8Array.from(this.bytes);
  }

  // ------------------------------------------------------------ the few instructions the prologues use
  movImm(r: number, v: number): void { this.ins('mov', `${R32[r]},Iv`, { imm: [v] }); }
  movMemImm(addr: number, v: number): void { this.ins('mov', 'Ev,Iz', { rm: { abs: addr }, imm: [v] }); }
  movSreg(seg: number, r: number): void { this.ins('mov', 'Sw,Ew', { reg: seg, rm: r }); }
  outImm(port: number, r8 = 'AL'): void { this.ins('out', `Ib,${r8 === 'AL' ? 'AL' : 'eAX'}`, { imm: [port] }); }
  outByte(port: number, v: number): void { this.ins('mov', 'AL,Ib', { imm: [v] }); this.outImm(port); }
}

/**
 * A random instruction of the table with random operands: a random ModRM (register or memory
 * form as the form allows; memory operands mostly through registers the caller loaded or at one
 * of `addresses`), random immediates, sometimes prefixes.
 */
export function randomInsn(a: Asm, rng: Rng, f: Form, addresses: readonly number[]): void {
  const prefixes: number[] = [];
  if (rng.chance(0.08)) prefixes.push(rng.pick([0x66, 0x67, 0xf3, 0xf2, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]));
  const osize = a.code32 !== prefixes.includes(0x66) ? 4 : 2;
  const asize = a.code32 !== prefixes.includes(0x67) ? 4 : 2;
  const out = a.bytes;
  out.push(...prefixes);
  if (f.pfx) out.push(f.pfx);
  out.push(...f.op);
  if (f.entry.modrm) {
    const reg = f.reg ?? rng.below(8);
    const memOnly = f.entry.operands.some((o) => o[0] === 'M');
    const regOnly = f.entry.handler === 'movcr' || f.entry.handler === 'movdr';
    const mod3 = f.mod3 ?? (regOnly ? true : memOnly ? rng.chance(0.03) : rng.chance(0.4));
    if (mod3) {
      out.push(0xc0 | (reg << 3) | (f.rm ?? rng.below(8)));
    } else if (rng.chance(0.5)) {
      // An absolute address the generator finds interesting.
      const at = (rng.pick(addresses) + rng.below(64) - 16) | 0;
      if (asize === 4) { out.push((reg << 3) | 5); le(out, at, 4); } else { out.push((reg << 3) | 6); le(out, at, 2); }
    } else {
      const mod = 1 + rng.below(2), rm = rng.below(8);
      out.push((mod << 6) | (reg << 3) | rm);
      if (asize === 4 && rm === 4) out.push(rng.below(256));
      const disp = rng.chance(0.7) ? rng.below(64) - 32 : rng.u32();
      le(out, disp, mod === 1 ? 1 : asize);
    }
  }
  for (const spec of f.entry.operands) {
    const n = immBytes(spec, osize, asize);
    if (!n) continue;
    if (spec === 'Jb' || spec === 'Jz') le(out, rng.chance(0.8) ? rng.below(16) : rng.u32(), n); // mostly short forward hops
    else if (spec === 'Ob' || spec === 'Ov') le(out, rng.pick(addresses), n);
    else if (spec === 'Ap') { le(out, rng.value(), osize); le(out, rng.selector(), 2); }
    else le(out, rng.value(), n);
  }
}
