// Disassembler: decoded records formatted in NASM syntax, spelled as ndisasm spells them (lower case,
// hex immediates 0x.., size keywords only where the operands leave the size open, branch targets as
// absolute addresses), for the debugger's disassembly view.
//
// Spelling differences from ndisasm that we keep (test/cpu/disasm.test.ts classifies them):
// - Encodings a P6 executes but ndisasm rejects are shown as the CPU runs them: 82 /r (alias of 80),
//   shift group /6 ('sal'), F6/F7 /1 ('test'), 0F AE F9-FF ('sfence').
// - Encodings a P6 does not have (SSE2/SSE3 and later, 3DNow!, VEX, Cyrix, SYSCALL, GETSEC, FISTTP,
//   MOV to CR1/CR5-7 and TR) are shown as invalid: 'db 0xNN' for their first byte (as ndisasm does for
//   every byte it cannot decode), or the name of that byte when it is a prefix ('rep', 'o16', 'cs'...).
// - With a 66 prefix, MOVZX/MOVSX/BSWAP are printed as one instruction ('movzx ax,al'); ndisasm prints
//   the prefix as its own 'o16' line.
import { decodeFrom, encodingValid } from './decoder';
import type { Insn } from './insn';
import { REP_E, REP_NE } from './insn';

const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SEG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'segr6', 'segr7'];
const CMP_PRED = ['eq', 'lt', 'le', 'unord', 'neq', 'nlt', 'nle', 'ord'];
const STRING = new Set(['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs']);
/** Handlers whose memory operand ndisasm prints without a size keyword. */
const NO_KEYWORD = new Set(['setcc', 'sldt', 'str', 'lldt', 'ltr', 'verr', 'verw', 'smsw', 'lmsw']);
/** Register specs that fix the operand size, so a memory operand beside them needs no keyword. */
const SIZING = /^(G|S|e[A-Z]{2}$|AL$|DL$|BL$|AH$|CH$|DH$|BH$|AX$|Rd$|Cd$|Dd$)/;

export interface FormatOptions {
  /** Name for an address (branch targets); undefined to print the address. */
  symbol?: (addr: number) => string | undefined;
}

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}
function signedHex(v: number): string {
  return v < 0 ? '-0x' + (-v).toString(16) : '+0x' + v.toString(16);
}

/** Size keyword for a memory operand spec (byte/word/...), '' when the spec prints none. */
function memKeyword(spec: string, i: Insn): string {
  if (spec.endsWith('_')) return '';
  switch (spec) {
    case 'Eb': case 'Mb': return 'byte';
    case 'Ew': case 'Mw': return 'word';
    case 'Ed': case 'Md': case 'Wd': return 'dword';
    case 'Ev': return i.osize === 4 ? 'dword' : 'word';
    case 'Mq': case 'Wq': case 'Qq': return 'qword';
    case 'Mt': return 'tword';
    case 'Mo': case 'Wo': return 'oword';
    default: return '';
  }
}

/** The bracketed memory operand, with any segment override inside. */
function memText(i: Insn): string {
  const parts: string[] = [];
  const seg = i.segOverride >= 0 ? SEG[i.segOverride] + ':' : '';
  const names = i.a32 ? R32 : R16;
  if (i.base < 0 && i.index < 0) {
    // Absolute: moffs has no ModRM; a ModRM direct address shows its width ('dword' always in 32-bit
    // addressing, 'word' when 16-bit addressing is not the default).
    let kw = '';
    if (i.modrm < 0) kw = i.a32 !== i.code32 ? (i.a32 ? 'dword ' : 'word ') : '';
    else if (i.a32) kw = (i.modrm & 7) === 5 ? 'dword ' : '';
    else kw = i.code32 ? 'word ' : '';
    const a = hex(i.a32 ? i.disp : i.disp & 0xffff);
    return i.modrm < 0 ? `[${seg}${kw}${a}]` : `[${kw}${seg}${a}]`;
  }
  if (i.base >= 0) parts.push(names[i.base]);
  if (i.index >= 0) parts.push(names[i.index] + (i.scale ? '*' + (1 << i.scale) : ''));
  let s = parts.join('+');
  const mod = i.modrm >> 6;
  if (mod === 1 || mod === 2 || i.base < 0) s += signedHex(i.disp);
  if (i.a32 && !i.code32 && (i.modrm & 7) === 4) return `[dword ${seg}${s}]`; // SIB addressing in 16-bit code
  return `[${seg}${s}]`;
}

function regBySize(n: number, size: number): string {
  return size === 1 ? R8[n] : size === 2 ? R16[n] : R32[n];
}

/** Whether the instruction's operands depend on the operand size (so a 66 prefix is not "unused"). */
function usesOsize(i: Insn): boolean {
  const e = i.entry;
  if (e.mn16) return true;
  switch (e.handler) {
    case 'pusha': case 'popa': case 'pushf': case 'popf': case 'iret': case 'ret': case 'retf':
    case 'jmpf': case 'callf': case 'movzx': case 'movsx': case 'bswap':
      return true;
    case 'movsreg': case 'sldt': case 'str': case 'smsw':
      return !i.mem;
    case 'nop':
      if (i.opcode === 0x90) return true;
      break;
    case 'vmx':
      return e.sub === 5; // VMCLEAR is selected by 66
    case 'jcc':
      return i.opcode !== (0x70 | e.sub);
  }
  for (const o of e.operands) {
    if (o === 'Jb' || o === 'Ibs') continue;
    if (/(v|z)$/.test(o) || /^e[A-Z]{2}$/.test(o)) return true;
  }
  return false;
}

/** Where a relative branch goes: EIP is truncated to 16 bits with a 16-bit operand size, as the CPU does. */
function target(i: Insn): number {
  const t = i.eip + i.len + i.imm;
  return i.osize === 4 ? t >>> 0 : t & 0xffff;
}

/** Format one decoded instruction in NASM syntax. */
export function formatInsn(i: Insn, opts: FormatOptions = {}): string {
  const e = i.entry;
  if (i.fault === 13 || !encodingValid(i)) return '(bad)';
  const defOsize = i.code32 ? 4 : 2;
  const nonDefault = i.osize !== defOsize;
  const sfx = i.osize === 2 ? 'w' : 'd';
  let mn = i.osize === 2 && e.mn16 ? e.mn16 : e.mnemonic;
  const ops: string[] = [];
  const sizer = e.operands.some((o) => SIZING.test(o));

  switch (e.handler) {
    case 'pusha': case 'popa': case 'pushf': case 'popf': case 'iret':
      if (nonDefault) mn += sfx;
      break;
    case 'ret':
      if (nonDefault) mn = e.operands.length ? 'retn' + sfx : 'ret' + sfx;
      break;
    case 'retf':
      if (nonDefault) mn += sfx;
      break;
    case 'jcxz':
      mn = i.a32 ? 'jecxz' : 'jcxz';
      break;
    case 'nop':
      if (i.opcode === 0x90 && (i.osize !== defOsize || i.a32 !== i.code32)) {
        mn = 'xchg';
        ops.push(i.osize === 4 ? 'eax,eax' : 'ax,ax');
      }
      break;
  }
  // CMPPS/CMPSS with predicates 0-7 print as pseudo-ops (ndisasm keeps the plain form behind a 67 prefix).
  const cmpPseudo = e.handler === 'simd' && i.opcode === 0x0fc2 && (i.imm & 0xff) < 8 && i.a32 === i.code32;
  if (cmpPseudo) mn = 'cmp' + CMP_PRED[i.imm & 0xff] + e.mnemonic.slice(3);

  const implicitOps = ops.length > 0 || STRING.has(e.handler);
  for (let k = 0; k < e.operands.length && !implicitOps; k++) {
    const o = e.operands[k];
    const text = operandText(i, o, k, sizer, opts);
    if (text !== null) ops.push(text);
  }
  if (e.handler === 'xchg' && ops.length === 2 && e.operands[0][0] === 'E') ops.reverse(); // ndisasm: register first
  if (cmpPseudo) ops.pop();
  if (e.handler === 'loop' && i.a32 !== i.code32) ops.push(i.a32 ? 'ecx' : 'cx');
  // Base 10 is implied (ndisasm keeps the operand when a prefix is present).
  if ((e.handler === 'aam' || e.handler === 'aad') && (i.imm & 0xff) === 10 && i.len === 2) ops.length = 0;

  // Prefixes the operands do not show, in ndisasm's order: segment (no explicit memory operand), rep,
  // lock, unused operand size, unused address size.
  const pre: string[] = [];
  if (i.segOverride >= 0 && !i.mem) pre.push(SEG[i.segOverride]);
  if (e.mandatory === 0xf3 || e.mandatory === 0xf2) { /* part of the opcode */ }
  else if (i.rep === REP_E) pre.push(STRING.has(e.handler) && (e.handler === 'cmps' || e.handler === 'scas') ? 'repe' : 'rep');
  else if (i.rep === REP_NE) pre.push('repne');
  if (i.lock) pre.push('lock');
  // An address-size prefix shows when nothing printed reflects it: in 32-bit code for string ops, XLAT
  // and operand-less instructions; in 16-bit code also for ModRM register forms without an immediate.
  if (nonDefault && !usesOsize(i) && e.mandatory !== 0x66) pre.push(i.code32 ? 'o16' : 'o32');
  if (i.a32 !== i.code32 && !i.mem && i.opcode !== 0x90 && (ops.length === 0 || (!i.code32
    && !e.operands.some((o) => /^(I|J|Ap$|1$|CL$|DX$|STi$|toSTi$|[ecsdfg]s$)/.test(o)) && !(e.handler === 'xchg' && !e.modrm)))) {
    pre.push(i.a32 ? 'a32' : 'a16');
  }
  return (pre.length ? pre.join(' ') + ' ' : '') + mn + (ops.length ? ' ' + ops.join(',') : '');
}

/** Text of one operand; null when ndisasm prints nothing for it (string operands). */
function operandText(i: Insn, o: string, k: number, sizer: boolean, opts: FormatOptions): string | null {
  const e = i.entry;
  switch (o) {
    case 'Xb': case 'Xv': case 'Yb': case 'Yv': return null;
    case 'Gb': return R8[i.reg];
    case 'Gw': return R16[i.reg];
    case 'Gd': return R32[i.reg];
    case 'Gv': return regBySize(i.reg, i.osize);
    case 'Sw': return SEG[i.reg];
    case 'Cd': return 'cr' + i.reg;
    case 'Dd': return 'dr' + i.reg;
    case 'Rd': return R32[i.rm];
    case 'Pq': return 'mm' + i.reg;
    case 'Nq': return 'mm' + i.rm;
    case 'Vo': return 'xmm' + i.reg;
    case 'Uo': return 'xmm' + i.rm;
    case 'STi': return 'st' + i.rm;
    case 'toSTi': return 'to st' + i.rm;
    case '1': return '1';
    case 'AL': case 'CL': case 'DL': case 'BL': case 'AH': case 'CH': case 'DH': case 'BH': case 'DX': case 'AX':
      return o.toLowerCase();
    case 'es': case 'cs': case 'ss': case 'ds': case 'fs': case 'gs':
      return o;
    case 'Ib': {
      const kw = e.handler === 'shift' || e.handler === 'bt' || (e.handler === 'simd' && (i.opcode === 0x0fc6 || i.opcode === 0x0fc2)) ? 'byte ' : '';
      // The second immediate of the instruction lands in imm2 (ENTER's nesting level).
      return kw + hex(e.operands.slice(0, k).some((x) => x[0] === 'I') ? i.imm2 : i.imm);
    }
    case 'Ibs': return 'byte ' + signedHex(i.imm);
    case 'Iw': return hex(i.imm & 0xffff);
    case 'Iz': case 'Iv': {
      const v = i.osize === 4 ? i.imm >>> 0 : i.imm & 0xffff;
      const kw = e.handler === 'push' || e.handler === 'imul' ? (i.osize === 4 ? 'dword ' : 'word ') : '';
      return kw + hex(v);
    }
    case 'Jb': case 'Jz': {
      const t = target(i);
      const name = opts.symbol?.(t);
      let kw = '';
      if (o === 'Jz') kw = i.osize !== (i.code32 ? 4 : 2) ? (i.osize === 4 ? 'dword ' : 'word ') : e.handler === 'jcc' ? 'near ' : '';
      else if (e.handler === 'jmp') kw = 'short ';
      return kw + (name ?? hex(t));
    }
    case 'Ap': {
      const kw = i.osize !== (i.code32 ? 4 : 2) ? (i.osize === 4 ? 'dword ' : 'word ') : '';
      return `${kw}${hex(i.imm2)}:${hex(i.osize === 4 ? i.imm : i.imm & 0xffff)}`;
    }
    case 'Ob': case 'Ov': return memText(i);
  }
  if (o.length === 3 && o[0] === 'e') return regBySize(R32.indexOf(o.toLowerCase()), i.osize);
  // r/m operands
  if (!i.mem) {
    switch (o) {
      case 'Eb': return R8[i.rm];
      case 'Ew': case 'Ew_': return e.handler === 'movsreg' ? regBySize(i.rm, i.osize) : R16[i.rm];
      case 'Ed': return R32[i.rm];
      case 'Ev': return regBySize(i.rm, i.osize);
      case 'Q': case 'Qq': return 'mm' + i.rm;
      case 'W': case 'Wo': case 'Wq': case 'Wd': return 'xmm' + i.rm;
      default: return R32[i.rm];
    }
  }
  const m = memText(i);
  if (o === 'Mp') {
    if (e.handler === 'lseg') return m;
    const kw = i.osize !== (i.code32 ? 4 : 2) ? (i.osize === 4 ? 'dword ' : 'word ') : '';
    return `${kw}far ${m}`;
  }
  let kw = memKeyword(o, i);
  if (o[0] === 'E') {
    if (NO_KEYWORD.has(e.handler)) kw = '';
    else if (e.handler === 'call' || e.handler === 'jmp') kw = i.osize !== (i.code32 ? 4 : 2) ? kw : '';
    else if (e.handler === 'movzx' || e.handler === 'movsx') { if (i.osize === 2 && o === 'Eb') kw = ''; }
    else if (sizer && o !== 'Ed' && e.handler !== 'ud') kw = '';
  }
  return kw ? `${kw} ${m}` : m;
}

export interface DisasmRow {
  addr: number;
  len: number;
  bytes: Uint8Array;
  text: string;
}

const PREFIX_NAMES: Record<number, string> = { 0xf0: 'lock', 0xf2: 'repne', 0xf3: 'rep', 0x26: 'es', 0x2e: 'cs', 0x36: 'ss', 0x3e: 'ds', 0x64: 'fs', 0x65: 'gs' };
const END = { end: true };

/**
 * Disassemble a buffer whose first byte is at address `start`. Undecodable bytes come out one at a
 * time as 'db 0xNN' (or the prefix's name), like ndisasm.
 */
export function disassemble(bytes: Uint8Array, start: number, code32: boolean, count = Infinity, opts: FormatOptions = {}): DisasmRow[] {
  const rows: DisasmRow[] = [];
  let pos = 0;
  const fetch = (off: number) => {
    const k = ((off - start) >>> 0) & (code32 ? 0xffffffff : 0xffff);
    if (k >= bytes.length) throw END;
    return bytes[k];
  };
  while (pos < bytes.length && rows.length < count) {
    const addr = code32 ? (start + pos) >>> 0 : (start + pos) & 0xffff;
    let text: string | null = null;
    let len = 1;
    try {
      const i = decodeFrom(fetch, addr, code32);
      const t = formatInsn(i, opts);
      if (t !== '(bad)') { text = t; len = i.len; }
    } catch (err) {
      if (err !== END) throw err;
    }
    if (text === null) {
      const b = bytes[pos];
      text = PREFIX_NAMES[b] ?? (b === 0x66 ? (code32 ? 'o16' : 'o32') : b === 0x67 ? (code32 ? 'a16' : 'a32') : 'db 0x' + b.toString(16).padStart(2, '0'));
    }
    rows.push({ addr, len, bytes: bytes.subarray(pos, pos + len), text });
    pos += len;
  }
  return rows;
}
