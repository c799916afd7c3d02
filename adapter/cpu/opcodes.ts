// The opcode table: the single source of truth for every instruction the core knows — its NASM
// mnemonic, operand specs, the handler that executes it, its instruction class (what hypervisor
// exits and debugger event filters select on), block/lock/privilege attributes and the flags the
// Intel SDM leaves undefined. Decoder, executor, disassembler, debugger and hypervisor read it.
// The x87 and SIMD maps (decoded for length and disassembly; executed as #UD/#NM) live in
// opcodes-fpu.ts.
import type { Insn } from './insn';
import { X87_MAP, simdTwoByte } from './opcodes-fpu';

/** Instruction classes: bit flags, one per kind of sensitive event. */
export const enum Cls {
  None = 0,
  CrWrite = 1 << 0, // MOV to CRn
  CrRead = 1 << 1, // MOV from CRn
  Clts = 1 << 2,
  Lmsw = 1 << 3,
  DrAccess = 1 << 4, // MOV to/from DRn
  DescLoad = 1 << 5, // LGDT LIDT LLDT LTR
  DescStore = 1 << 6, // SGDT SIDT SLDT STR
  Smsw = 1 << 7,
  Io = 1 << 8, // IN OUT INS OUTS
  MsrRead = 1 << 9,
  MsrWrite = 1 << 10,
  Cpuid = 1 << 11,
  Hlt = 1 << 12,
  IntFlag = 1 << 13, // CLI STI POPF IRET (may change IF)
  Invlpg = 1 << 14,
  Cache = 1 << 15, // INVD WBINVD
  Vmx = 1 << 16, // VMCALL and the other VMX instructions
  Rdtsc = 1 << 17,
  Rdpmc = 1 << 18,
  Pause = 1 << 19,
  SoftInt = 1 << 20, // INT n, INT3, INTO, INT1
  Sysenter = 1 << 21, // SYSENTER SYSEXIT
  FarTransfer = 1 << 22, // far JMP/CALL/RET, IRET (ring and task changes)
  Sensitive = 1 << 23, // sensitive but unprivileged: PUSHF POPF SGDT SIDT SLDT SMSW STR LAR LSL VERR VERW PUSH CS/SS, MOV r/m,Sreg
  Pushf = 1 << 24,
  Mwait = 1 << 25, // MONITOR MWAIT
}

/** Attribute flags of a table entry. */
export const enum OpFlag {
  None = 0,
  EndsBlock = 1 << 0, // control transfer or state change: the decoded block ends after it
  Lockable = 1 << 1, // LOCK allowed (with a memory destination)
  Cpl0 = 1 << 2, // privileged: #GP(0) unless CPL 0
  Invalid = 1 << 3, // #UD
  Prefix = 1 << 4,
  ShadowNext = 1 << 5, // STI, MOV SS, POP SS: interrupt shadow on the next instruction
}

/** Which arithmetic flags an instruction leaves undefined (SDM), possibly depending on operands. */
export interface UndefinedFlagsRule {
  /** Flags always undefined (EFLAGS bit mask). */
  mask: number;
  /** Name of an operand-dependent rule (e.g. 'shift', 'rotate', 'bsf', 'mul', 'div'), interpreted by undefinedFlags(). */
  rule?: string;
}

export interface OpEntry {
  /** NASM mnemonic in lower case (concrete: 'jz', 'setnz', 'cmovae', 'rep movsb' is 'movsb' + rep). */
  mnemonic: string;
  /** Operand specs in Intel SDM appendix-A style: 'Eb','Ev','Gb','Gv','Ib','Iv','Iz','Jb','Jz','Sw','Cd','Dd','Ap','Mp','M','Ob','Ov','AL','eAX','CL','DX','1', register names... */
  operands: string[];
  /** Key of the handler factory in ops/index.ts. */
  handler: string;
  /** Sub-operation for grouped handlers (ALU op number, shift kind, condition code...). */
  sub: number;
  cls: number; // Cls bits
  flags: number; // OpFlag bits
  undef?: UndefinedFlagsRule;
  // ---- added by the decoder work ----
  /** The instruction has a ModRM byte (set when the table is built). */
  modrm?: boolean;
  /** Mnemonic when the operand size is 16 bits, where it differs (cwde/cbw, movsd/movsw...). */
  mn16?: string;
  /** The same instruction with a REP prefix (string instructions): ends its block, since REP can stop midway. */
  repEntry?: OpEntry;
  /** The prefix (0x66, 0xF3, 0xF2) that selects this entry as part of its opcode (SSE, PAUSE, VMX). */
  mandatory?: number;
}

/*
 * HANDLER KEYS (entry.handler), grouped by the ops file that implements them. `sub` as noted; where a
 * key has several encodings the factory tells them apart by entry.operands (e.g. push ['eAX'] vs ['Ev']
 * vs ['Iz'] vs ['Ibs']). Opcode-encoded registers (40+r, 50+r, 90+r, B0+r, B8+r, 0FC8+r) are in i.reg
 * and named in operands as 'eAX'..'eDI' (v-sized) or 'AL'..'BH' (byte). "size code" below: sub 1 = byte
 * form, sub 0 = operand-size form (use i.osize).
 *
 * alu.ts:    alu (sub 0..7 = ADD OR ADC SBB AND SUB XOR CMP; 00-3D, 80-83), inc, dec, test, not, neg,
 *            xadd, cmpxchg, cmpxchg8b
 * shift.ts:  shift (sub 0..7 = ROL ROR RCL RCR SHL SHR SAL(=SHL) SAR; count from operands[1]: 'Ib',
 *            '1' or 'CL'), shld, shrd (count operands[2]: 'Ib' or 'CL')
 * muldiv.ts: mul, imul (sub 0 = one operand F6/F7 /5, 1 = Gv,Ev 0FAF, 2 = Gv,Ev,imm 69/6B), div, idiv
 * bcd.ts:    daa, das, aaa, aas, aam (imm base in i.imm), aad (i.imm)
 * bits.ts:   bt (sub 0 BT, 1 BTS, 2 BTR, 3 BTC; operands Ev,Gv or Ev,Ib), bsf, bsr, setcc (sub = cc),
 *            cmovcc (sub = cc), bswap
 * string.ts: movs, cmps, stos, lods, scas (size code; i.rep = REP_E/REP_NE; source segment i.seg)
 * stack.ts:  push, pop, pusha, popa, enter (i.imm = size, i.imm2 = level), leave,
 *            push_sreg (sub = segment), pop_sreg (sub = segment)
 * data.ts:   mov, movsreg (sub 0 = 8C store Ev,Sw; 1 = 8E load Sw,Ew), lea, xchg, movzx, movsx, cbw, cwd,
 *            lahf, sahf, xlat, lseg (LES LDS LSS LFS LGS: sub = segment loaded)
 * misc.ts:   nop, pause, cmc, clc, stc, cld, std, salc, bound, ud (sub 0 UD0, 1 UD1, 2 UD2)
 * control.ts (system helper): jmp, call (Jz or Ev), ret, retf (optional Iw), jmpf, callf (Ap: i.imm =
 *            offset, i.imm2 = selector; or Mp), iret, int (i.imm), int3, into, int1, loop (sub 0 LOOPNE,
 *            1 LOOPE, 2 LOOP), jcxz, jcc (sub = cc), sysenter, sysexit
 * system.ts (system helper): cli, sti, pushf, popf, hlt, lgdt, lidt, sgdt, sidt, lldt, sldt, ltr, str,
 *            lmsw, smsw, clts, movcr (sub 0 = read 0F20, 1 = write 0F22; i.reg = CRn, i.rm = GPR),
 *            movdr (sub 0 = read 0F21, 1 = write 0F23), invlpg, invd, wbinvd, rdmsr, wrmsr, rdtsc, rdpmc,
 *            cpuid, lar, lsl, verr, verw, arpl, rsm, monitor, mwait,
 *            vmx (sub 0 VMCALL 1 VMLAUNCH 2 VMRESUME 3 VMXOFF 4 VMPTRLD 5 VMCLEAR 6 VMXON 7 VMPTRST
 *            8 VMREAD 9 VMWRITE), x87 (D8-DF: sub = (opcode & 7) << 3 | ModRM.reg; 9B WAIT: sub 0x100),
 *            simd (MMX/SSE, FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, SFENCE: sub = second opcode byte)
 *            (PREFETCHh and the hint NOPs 0F18-0F1F use 'nop'; PAUSE is 'pause' with class Pause)
 * io.ts:     in, out (size code; port from operands: 'Ib' in i.imm, or 'DX'), ins, outs (size code)
 *
 * Entries with OpFlag.Invalid (undefined opcodes, bad group members) use the key 'invalid': the
 * decoder gives them a #UD handler itself, no ops file implements it.
 */

// EFLAGS arithmetic bits (kept local: the table must not depend on the flags code).
const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;

export interface GroupSlot { kind: 'group'; reg: Slot[]; mod3?: Slot[] }
export interface RmSlot { kind: 'rm'; rm: Slot[] }
/** Selected by the last mandatory prefix: none, 66, F3, F2 (SSE encodings, PAUSE, VMX). */
export interface PrefixSlot { kind: 'pfx'; none: Slot; p66?: Slot; pF3?: Slot; pF2?: Slot }
export type Slot = OpEntry | GroupSlot | RmSlot | PrefixSlot;

const Ends = OpFlag.EndsBlock, Lock = OpFlag.Lockable, P0 = OpFlag.Cpl0;

/** Specs that need ModRM. */
const MODRM_SPEC = /^(E[bwdv]|G[bwdv]|M|Sw$|Cd$|Dd$|Rd$|P|Q|V|W|N|U|STi$|toSTi$)/;

export function E(mnemonic: string, ops: string, handler: string, sub = 0, cls = 0, flags = 0, undef?: UndefinedFlagsRule): OpEntry {
  const operands = ops ? ops.split(',') : [];
  const e: OpEntry = { mnemonic, operands, handler, sub, cls, flags, modrm: operands.some((o) => MODRM_SPEC.test(o)) };
  if (undef) e.undef = undef;
  return e;
}
function with16(e: OpEntry, mn16: string): OpEntry { e.mn16 = mn16; return e; }
export const INVALID: OpEntry = { mnemonic: '(bad)', operands: [], handler: 'invalid', sub: 0, cls: 0, flags: OpFlag.Invalid | OpFlag.EndsBlock, modrm: false };
/** An invalid encoding that still consumed a ModRM byte (bad group member). */
export const INVALID_MODRM: OpEntry = { ...INVALID, modrm: true };
const X = INVALID_MODRM;
export function group(reg: Slot[], mod3?: Slot[]): GroupSlot { return mod3 ? { kind: 'group', reg, mod3 } : { kind: 'group', reg }; }
function rmg(rm: Slot[]): RmSlot { return { kind: 'rm', rm }; }

export const CC = ['o', 'no', 'c', 'nc', 'z', 'nz', 'na', 'a', 's', 'ns', 'pe', 'po', 'l', 'nl', 'ng', 'g'];
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const SHIFT = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const R32 = ['eAX', 'eCX', 'eDX', 'eBX', 'eSP', 'eBP', 'eSI', 'eDI'];
const R8 = ['AL', 'CL', 'DL', 'BL', 'AH', 'CH', 'DH', 'BH'];

const U_LOGIC: UndefinedFlagsRule = { mask: AF };
const U_MUL: UndefinedFlagsRule = { mask: SF | ZF | AF | PF };
const U_DIV: UndefinedFlagsRule = { mask: CF | OF | SF | ZF | AF | PF };
const U_BT: UndefinedFlagsRule = { mask: OF | SF | AF | PF };
const U_BSF: UndefinedFlagsRule = { mask: CF | OF | SF | AF | PF, rule: 'bsf' };
const U_SHXD: UndefinedFlagsRule = { mask: 0, rule: 'shxd' };

function aluEntry(op: number, ops: string): OpEntry {
  const dstMem = ops.startsWith('E');
  return E(ALU[op], ops, 'alu', op, 0, dstMem && op !== 7 ? Lock : 0, op === 1 || op === 4 || op === 6 ? U_LOGIC : undefined);
}
function shiftGroup(size: 'b' | 'v', count: string): GroupSlot {
  return group(SHIFT.map((mn, k) => E(mn, `E${size},${count}`, 'shift', k, 0, 0,
    { mask: 0, rule: k < 2 ? 'rotate' : k < 4 ? 'rcrotate' : 'shift' })));
}

// ------------------------------------------------------------------ one-byte map
function buildOne(): Slot[] {
  const t: Slot[] = new Array(256).fill(INVALID);
  for (let op = 0; op < 8; op++) {
    const b = op << 3;
    t[b] = aluEntry(op, 'Eb,Gb');
    t[b + 1] = aluEntry(op, 'Ev,Gv');
    t[b + 2] = aluEntry(op, 'Gb,Eb');
    t[b + 3] = aluEntry(op, 'Gv,Ev');
    t[b + 4] = aluEntry(op, 'AL,Ib');
    t[b + 5] = aluEntry(op, 'eAX,Iz');
  }
  const seg = ['es', 'cs', 'ss', 'ds'];
  for (let s = 0; s < 4; s++) {
    t[s * 8 + 6] = E('push', seg[s], 'push_sreg', s, s === 1 || s === 2 ? Cls.Sensitive : 0);
    if (s !== 1) t[s * 8 + 7] = E('pop', seg[s], 'pop_sreg', s, 0, s === 2 ? Ends | OpFlag.ShadowNext : 0);
  }
  // 26 2E 36 3E 64 65 66 67 F0 F2 F3: prefixes (consumed by the decoder, never looked up)
  t[0x27] = E('daa', '', 'daa', 0, 0, 0, { mask: OF });
  t[0x2f] = E('das', '', 'das', 0, 0, 0, { mask: OF });
  t[0x37] = E('aaa', '', 'aaa', 0, 0, 0, { mask: OF | SF | ZF | PF });
  t[0x3f] = E('aas', '', 'aas', 0, 0, 0, { mask: OF | SF | ZF | PF });
  for (let r = 0; r < 8; r++) {
    t[0x40 + r] = E('inc', R32[r], 'inc', 0);
    t[0x48 + r] = E('dec', R32[r], 'dec', 0);
    t[0x50 + r] = E('push', R32[r], 'push', 0);
    t[0x58 + r] = E('pop', R32[r], 'pop', 0);
    if (r) t[0x90 + r] = E('xchg', `eAX,${R32[r]}`, 'xchg', 0);
    t[0xb0 + r] = E('mov', `${R8[r]},Ib`, 'mov', 0);
    t[0xb8 + r] = E('mov', `${R32[r]},Iv`, 'mov', 0);
  }
  t[0x60] = E('pusha', '', 'pusha');
  t[0x61] = E('popa', '', 'popa');
  t[0x62] = E('bound', 'Gv,Ma', 'bound');
  t[0x63] = E('arpl', 'Ew,Gw', 'arpl');
  t[0x68] = E('push', 'Iz', 'push');
  t[0x69] = E('imul', 'Gv,Ev,Iz', 'imul', 2, 0, 0, U_MUL);
  t[0x6a] = E('push', 'Ibs', 'push');
  t[0x6b] = E('imul', 'Gv,Ev,Ibs', 'imul', 2, 0, 0, U_MUL);
  t[0x6c] = E('insb', 'Yb,DX', 'ins', 1, Cls.Io, Ends);
  t[0x6d] = with16(E('insd', 'Yv,DX', 'ins', 0, Cls.Io, Ends), 'insw');
  t[0x6e] = E('outsb', 'DX,Xb', 'outs', 1, Cls.Io, Ends);
  t[0x6f] = with16(E('outsd', 'DX,Xv', 'outs', 0, Cls.Io, Ends), 'outsw');
  for (let c = 0; c < 16; c++) t[0x70 + c] = E('j' + CC[c], 'Jb', 'jcc', c, 0, Ends);
  t[0x80] = group(ALU.map((_, k) => aluEntry(k, 'Eb,Ib')));
  t[0x81] = group(ALU.map((_, k) => aluEntry(k, 'Ev,Iz')));
  t[0x82] = group(ALU.map((_, k) => aluEntry(k, 'Eb,Ib'))); // alias of 80 in 32-bit mode
  t[0x83] = group(ALU.map((_, k) => aluEntry(k, 'Ev,Ibs')));
  t[0x84] = E('test', 'Eb,Gb', 'test', 0, 0, 0, U_LOGIC);
  t[0x85] = E('test', 'Ev,Gv', 'test', 0, 0, 0, U_LOGIC);
  t[0x86] = E('xchg', 'Eb,Gb', 'xchg', 0, 0, Lock);
  t[0x87] = E('xchg', 'Ev,Gv', 'xchg', 0, 0, Lock);
  t[0x88] = E('mov', 'Eb,Gb', 'mov');
  t[0x89] = E('mov', 'Ev,Gv', 'mov');
  t[0x8a] = E('mov', 'Gb,Eb', 'mov');
  t[0x8b] = E('mov', 'Gv,Ev', 'mov');
  // 8C: ModRM.reg 0-5 = ES..GS, 6-7 #UD. Storing CS or SS is the sensitive case, but the class is static.
  t[0x8c] = group([0, 1, 2, 3, 4, 5].map(() => E('mov', 'Ev,Sw', 'movsreg', 0, Cls.Sensitive)).concat([X, X]));
  t[0x8d] = E('lea', 'Gv,M', 'lea');
  // 8E: MOV CS,r/m is #UD; MOV SS blocks interrupts for one instruction.
  t[0x8e] = group([E('mov', 'Sw,Ew', 'movsreg', 1), X, E('mov', 'Sw,Ew', 'movsreg', 1, 0, Ends | OpFlag.ShadowNext),
    E('mov', 'Sw,Ew', 'movsreg', 1), E('mov', 'Sw,Ew', 'movsreg', 1), E('mov', 'Sw,Ew', 'movsreg', 1), X, X]);
  t[0x8f] = group([E('pop', 'Ev', 'pop'), X, X, X, X, X, X, X]);
  t[0x90] = { kind: 'pfx', none: E('nop', '', 'nop'), pF3: E('pause', '', 'pause', 0, Cls.Pause) };
  t[0x98] = with16(E('cwde', '', 'cbw'), 'cbw');
  t[0x99] = with16(E('cdq', '', 'cwd'), 'cwd');
  t[0x9a] = E('call', 'Ap', 'callf', 0, Cls.FarTransfer, Ends);
  t[0x9b] = E('wait', '', 'x87', 0x100); // FWAIT: #NM only when CR0.MP and TS
  t[0x9c] = E('pushf', '', 'pushf', 0, Cls.Sensitive | Cls.Pushf);
  t[0x9d] = E('popf', '', 'popf', 0, Cls.IntFlag | Cls.Sensitive, Ends);
  t[0x9e] = E('sahf', '', 'sahf');
  t[0x9f] = E('lahf', '', 'lahf');
  t[0xa0] = E('mov', 'AL,Ob', 'mov');
  t[0xa1] = E('mov', 'eAX,Ov', 'mov');
  t[0xa2] = E('mov', 'Ob,AL', 'mov');
  t[0xa3] = E('mov', 'Ov,eAX', 'mov');
  t[0xa4] = E('movsb', 'Yb,Xb', 'movs', 1);
  t[0xa5] = with16(E('movsd', 'Yv,Xv', 'movs', 0), 'movsw');
  t[0xa6] = E('cmpsb', 'Xb,Yb', 'cmps', 1);
  t[0xa7] = with16(E('cmpsd', 'Xv,Yv', 'cmps', 0), 'cmpsw');
  t[0xa8] = E('test', 'AL,Ib', 'test', 0, 0, 0, U_LOGIC);
  t[0xa9] = E('test', 'eAX,Iz', 'test', 0, 0, 0, U_LOGIC);
  t[0xaa] = E('stosb', 'Yb,AL', 'stos', 1);
  t[0xab] = with16(E('stosd', 'Yv,eAX', 'stos', 0), 'stosw');
  t[0xac] = E('lodsb', 'AL,Xb', 'lods', 1);
  t[0xad] = with16(E('lodsd', 'eAX,Xv', 'lods', 0), 'lodsw');
  t[0xae] = E('scasb', 'AL,Yb', 'scas', 1);
  t[0xaf] = with16(E('scasd', 'eAX,Yv', 'scas', 0), 'scasw');
  t[0xc0] = shiftGroup('b', 'Ib');
  t[0xc1] = shiftGroup('v', 'Ib');
  t[0xc2] = E('ret', 'Iw', 'ret', 0, 0, Ends);
  t[0xc3] = E('ret', '', 'ret', 0, 0, Ends);
  t[0xc4] = E('les', 'Gv,Mp', 'lseg', 0);
  t[0xc5] = E('lds', 'Gv,Mp', 'lseg', 3);
  t[0xc6] = group([E('mov', 'Eb,Ib', 'mov'), X, X, X, X, X, X, X]);
  t[0xc7] = group([E('mov', 'Ev,Iz', 'mov'), X, X, X, X, X, X, X]);
  t[0xc8] = E('enter', 'Iw,Ib', 'enter');
  t[0xc9] = E('leave', '', 'leave');
  t[0xca] = E('retf', 'Iw', 'retf', 0, Cls.FarTransfer, Ends);
  t[0xcb] = E('retf', '', 'retf', 0, Cls.FarTransfer, Ends);
  t[0xcc] = E('int3', '', 'int3', 0, Cls.SoftInt, Ends);
  t[0xcd] = E('int', 'Ib', 'int', 0, Cls.SoftInt, Ends);
  t[0xce] = E('into', '', 'into', 0, Cls.SoftInt, Ends);
  t[0xcf] = E('iret', '', 'iret', 0, Cls.IntFlag | Cls.FarTransfer, Ends);
  t[0xd0] = shiftGroup('b', '1');
  t[0xd1] = shiftGroup('v', '1');
  t[0xd2] = shiftGroup('b', 'CL');
  t[0xd3] = shiftGroup('v', 'CL');
  t[0xd4] = E('aam', 'Ib', 'aam', 0, 0, 0, { mask: OF | AF | CF });
  t[0xd5] = E('aad', 'Ib', 'aad', 0, 0, 0, { mask: OF | AF | CF });
  t[0xd6] = E('salc', '', 'salc'); // undocumented on P6: AL = CF ? 0xFF : 0
  t[0xd7] = E('xlatb', '', 'xlat');
  for (let k = 0; k < 8; k++) t[0xd8 + k] = X87_MAP[k];
  t[0xe0] = E('loopne', 'Jb', 'loop', 0, 0, Ends);
  t[0xe1] = E('loope', 'Jb', 'loop', 1, 0, Ends);
  t[0xe2] = E('loop', 'Jb', 'loop', 2, 0, Ends);
  t[0xe3] = E('jecxz', 'Jb', 'jcxz', 0, 0, Ends); // jcxz with a 16-bit address size
  t[0xe4] = E('in', 'AL,Ib', 'in', 1, Cls.Io, Ends);
  t[0xe5] = E('in', 'eAX,Ib', 'in', 0, Cls.Io, Ends);
  t[0xe6] = E('out', 'Ib,AL', 'out', 1, Cls.Io, Ends);
  t[0xe7] = E('out', 'Ib,eAX', 'out', 0, Cls.Io, Ends);
  t[0xe8] = E('call', 'Jz', 'call', 0, 0, Ends);
  t[0xe9] = E('jmp', 'Jz', 'jmp', 0, 0, Ends);
  t[0xea] = E('jmp', 'Ap', 'jmpf', 0, Cls.FarTransfer, Ends);
  t[0xeb] = E('jmp', 'Jb', 'jmp', 0, 0, Ends);
  t[0xec] = E('in', 'AL,DX', 'in', 1, Cls.Io, Ends);
  t[0xed] = E('in', 'eAX,DX', 'in', 0, Cls.Io, Ends);
  t[0xee] = E('out', 'DX,AL', 'out', 1, Cls.Io, Ends);
  t[0xef] = E('out', 'DX,eAX', 'out', 0, Cls.Io, Ends);
  t[0xf1] = E('int1', '', 'int1', 0, Cls.SoftInt, Ends); // ICEBP
  t[0xf4] = E('hlt', '', 'hlt', 0, Cls.Hlt, Ends | P0);
  t[0xf5] = E('cmc', '', 'cmc');
  const unary = (size: 'b' | 'v') => group([
    E('test', `E${size},I${size === 'b' ? 'b' : 'z'}`, 'test', 0, 0, 0, U_LOGIC),
    E('test', `E${size},I${size === 'b' ? 'b' : 'z'}`, 'test', 0, 0, 0, U_LOGIC), // /1 aliases /0
    E('not', `E${size}`, 'not', 0, 0, Lock),
    E('neg', `E${size}`, 'neg', 0, 0, Lock),
    E('mul', `E${size}`, 'mul', 0, 0, 0, U_MUL),
    E('imul', `E${size}`, 'imul', 0, 0, 0, U_MUL),
    E('div', `E${size}`, 'div', 0, 0, 0, U_DIV),
    E('idiv', `E${size}`, 'idiv', 0, 0, 0, U_DIV),
  ]);
  t[0xf6] = unary('b');
  t[0xf7] = unary('v');
  t[0xf8] = E('clc', '', 'clc');
  t[0xf9] = E('stc', '', 'stc');
  t[0xfa] = E('cli', '', 'cli', 0, Cls.IntFlag, Ends);
  t[0xfb] = E('sti', '', 'sti', 0, Cls.IntFlag, Ends | OpFlag.ShadowNext);
  t[0xfc] = E('cld', '', 'cld');
  t[0xfd] = E('std', '', 'std');
  t[0xfe] = group([E('inc', 'Eb', 'inc', 0, 0, Lock), E('dec', 'Eb', 'dec', 0, 0, Lock), X, X, X, X, X, X]);
  t[0xff] = group([
    E('inc', 'Ev', 'inc', 0, 0, Lock), E('dec', 'Ev', 'dec', 0, 0, Lock),
    E('call', 'Ev', 'call', 0, 0, Ends), E('call', 'Mp', 'callf', 0, Cls.FarTransfer, Ends),
    E('jmp', 'Ev', 'jmp', 0, 0, Ends), E('jmp', 'Mp', 'jmpf', 0, Cls.FarTransfer, Ends),
    E('push', 'Ev', 'push'), X,
  ]);
  return t;
}

// ------------------------------------------------------------------ two-byte map (0F xx)
function buildTwo(): Slot[] {
  const t: Slot[] = new Array(256).fill(INVALID);
  const DS = Cls.DescStore | Cls.Sensitive;
  t[0x00] = group([
    E('sldt', 'Ev', 'sldt', 0, DS), E('str', 'Ev', 'str', 0, DS),
    E('lldt', 'Ew', 'lldt', 0, Cls.DescLoad, Ends | P0), E('ltr', 'Ew', 'ltr', 0, Cls.DescLoad, Ends | P0),
    E('verr', 'Ew', 'verr', 0, Cls.Sensitive), E('verw', 'Ew', 'verw', 0, Cls.Sensitive), X, X,
  ]);
  const vmx = (mn: string, sub: number, f = P0) => E(mn, '', 'vmx', sub, Cls.Vmx, Ends | f);
  t[0x01] = group([
    E('sgdt', 'Ms', 'sgdt', 0, DS), E('sidt', 'Ms', 'sidt', 0, DS),
    E('lgdt', 'Ms', 'lgdt', 0, Cls.DescLoad, Ends | P0), E('lidt', 'Ms', 'lidt', 0, Cls.DescLoad, Ends | P0),
    E('smsw', 'Ew', 'smsw', 0, Cls.Smsw | Cls.Sensitive), X,
    E('lmsw', 'Ew', 'lmsw', 0, Cls.Lmsw, Ends | P0), E('invlpg', 'M', 'invlpg', 0, Cls.Invlpg, Ends | P0),
  ], [
    rmg([X, vmx('vmcall', 0, 0), vmx('vmlaunch', 1), vmx('vmresume', 2), vmx('vmxoff', 3), X, X, X]),
    rmg([E('monitor', '', 'monitor', 0, Cls.Mwait, Ends), E('mwait', '', 'mwait', 0, Cls.Mwait, Ends), X, X, X, X, X, X]),
    X, X,
    E('smsw', 'Ev', 'smsw', 0, Cls.Smsw | Cls.Sensitive), X,
    E('lmsw', 'Ew', 'lmsw', 0, Cls.Lmsw, Ends | P0), X,
  ]);
  t[0x02] = E('lar', 'Gv,Ew', 'lar', 0, Cls.Sensitive);
  t[0x03] = E('lsl', 'Gv,Ew', 'lsl', 0, Cls.Sensitive);
  t[0x06] = E('clts', '', 'clts', 0, Cls.Clts, Ends | P0);
  t[0x08] = E('invd', '', 'invd', 0, Cls.Cache, P0);
  t[0x09] = E('wbinvd', '', 'wbinvd', 0, Cls.Cache, P0);
  t[0x0b] = E('ud2', '', 'ud', 2, 0, Ends);
  // 0F18: PREFETCHh (SSE) for /0-/3 with memory; every other 0F18-0F1F form is a hint NOP.
  // NASM names the reserved ones hint_nop0..63 ((opcode - 0x18) * 8 + ModRM.reg); 0F1F /0 is the official NOP.
  const hint = (b: number, r: number) => E(b === 0x1f && r === 0 ? 'nop' : `hint_nop${(b - 0x18) * 8 + r}`, 'Ev', 'nop');
  for (let b = 0x19; b <= 0x1f; b++) t[b] = group([0, 1, 2, 3, 4, 5, 6, 7].map((r) => hint(b, r)));
  const hints18 = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => hint(0x18, r));
  t[0x18] = { kind: 'pfx', none: group([E('prefetchnta', 'Mb', 'nop'), E('prefetcht0', 'Mb', 'nop'), E('prefetcht1', 'Mb', 'nop'),
    E('prefetcht2', 'Mb', 'nop'), hints18[4], hints18[5], hints18[6], hints18[7]], hints18), p66: group(hints18) };
  // MOV CRn/DRn: the ModRM mod field is ignored (always a register). CR1, CR5-7 are #UD (decoder).
  t[0x20] = E('mov', 'Rd,Cd', 'movcr', 0, Cls.CrRead, P0);
  t[0x21] = E('mov', 'Rd,Dd', 'movdr', 0, Cls.DrAccess, P0);
  t[0x22] = E('mov', 'Cd,Rd', 'movcr', 1, Cls.CrWrite, Ends | P0);
  t[0x23] = E('mov', 'Dd,Rd', 'movdr', 1, Cls.DrAccess, Ends | P0);
  t[0x30] = E('wrmsr', '', 'wrmsr', 0, Cls.MsrWrite, Ends | P0);
  t[0x31] = E('rdtsc', '', 'rdtsc', 0, Cls.Rdtsc, Ends);
  t[0x32] = E('rdmsr', '', 'rdmsr', 0, Cls.MsrRead, P0);
  t[0x33] = E('rdpmc', '', 'rdpmc', 0, Cls.Rdpmc);
  t[0x34] = E('sysenter', '', 'sysenter', 0, Cls.Sysenter, Ends);
  t[0x35] = E('sysexit', '', 'sysexit', 0, Cls.Sysenter, Ends | P0);
  for (let c = 0; c < 16; c++) {
    t[0x40 + c] = E('cmov' + CC[c], 'Gv,Ev', 'cmovcc', c);
    t[0x80 + c] = E('j' + CC[c], 'Jz', 'jcc', c, 0, Ends);
    t[0x90 + c] = E('set' + CC[c], 'Eb', 'setcc', c);
  }
  t[0x78] = { kind: 'pfx', none: E('vmread', 'Ed,Gd', 'vmx', 8, Cls.Vmx, Ends | P0), p66: X, pF3: X, pF2: X };
  t[0x79] = { kind: 'pfx', none: E('vmwrite', 'Gd,Ed', 'vmx', 9, Cls.Vmx, Ends | P0), p66: X, pF3: X, pF2: X };
  t[0xa0] = E('push', 'fs', 'push_sreg', 4);
  t[0xa1] = E('pop', 'fs', 'pop_sreg', 4);
  t[0xa2] = E('cpuid', '', 'cpuid', 0, Cls.Cpuid, Ends);
  t[0xa3] = E('bt', 'Ev,Gv', 'bt', 0, 0, 0, U_BT);
  t[0xa4] = E('shld', 'Ev,Gv,Ib', 'shld', 0, 0, 0, U_SHXD);
  t[0xa5] = E('shld', 'Ev,Gv,CL', 'shld', 0, 0, 0, U_SHXD);
  t[0xa8] = E('push', 'gs', 'push_sreg', 5);
  t[0xa9] = E('pop', 'gs', 'pop_sreg', 5);
  t[0xaa] = E('rsm', '', 'rsm', 0, 0, Ends);
  t[0xab] = E('bts', 'Ev,Gv', 'bt', 1, 0, Lock, U_BT);
  t[0xac] = E('shrd', 'Ev,Gv,Ib', 'shrd', 0, 0, 0, U_SHXD);
  t[0xad] = E('shrd', 'Ev,Gv,CL', 'shrd', 0, 0, 0, U_SHXD);
  t[0xaf] = E('imul', 'Gv,Ev', 'imul', 1, 0, 0, U_MUL);
  t[0xb0] = E('cmpxchg', 'Eb,Gb', 'cmpxchg', 0, 0, Lock);
  t[0xb1] = E('cmpxchg', 'Ev,Gv', 'cmpxchg', 0, 0, Lock);
  t[0xb2] = E('lss', 'Gv,Mp', 'lseg', 2);
  t[0xb3] = E('btr', 'Ev,Gv', 'bt', 2, 0, Lock, U_BT);
  t[0xb4] = E('lfs', 'Gv,Mp', 'lseg', 4);
  t[0xb5] = E('lgs', 'Gv,Mp', 'lseg', 5);
  t[0xb6] = E('movzx', 'Gv,Eb', 'movzx');
  t[0xb7] = E('movzx', 'Gv,Ew', 'movzx');
  t[0xb9] = E('ud1', 'Gv,Ev', 'ud', 1, 0, Ends);
  t[0xba] = group([X, X, X, X,
    E('bt', 'Ev,Ib', 'bt', 0, 0, 0, U_BT), E('bts', 'Ev,Ib', 'bt', 1, 0, Lock, U_BT),
    E('btr', 'Ev,Ib', 'bt', 2, 0, Lock, U_BT), E('btc', 'Ev,Ib', 'bt', 3, 0, Lock, U_BT)]);
  t[0xbb] = E('btc', 'Ev,Gv', 'bt', 3, 0, Lock, U_BT);
  t[0xbc] = E('bsf', 'Gv,Ev', 'bsf', 0, 0, 0, U_BSF);
  t[0xbd] = E('bsr', 'Gv,Ev', 'bsr', 0, 0, 0, U_BSF);
  t[0xbe] = E('movsx', 'Gv,Eb', 'movsx');
  t[0xbf] = E('movsx', 'Gv,Ew', 'movsx');
  t[0xc0] = E('xadd', 'Eb,Gb', 'xadd', 0, 0, Lock);
  t[0xc1] = E('xadd', 'Ev,Gv', 'xadd', 0, 0, Lock);
  const vmxm = (mn: string, sub: number) => E(mn, 'M', 'vmx', sub, Cls.Vmx, Ends | P0);
  t[0xc7] = group([X, E('cmpxchg8b', 'Mq', 'cmpxchg8b', 0, 0, Lock), X, X, X, X,
    { kind: 'pfx', none: vmxm('vmptrld', 4), p66: vmxm('vmclear', 5), pF3: vmxm('vmxon', 6), pF2: X },
    { kind: 'pfx', none: vmxm('vmptrst', 7), p66: X, pF3: X, pF2: X }], new Array(8).fill(X));
  for (let r = 0; r < 8; r++) t[0xc8 + r] = E('bswap', R32[r], 'bswap');
  t[0xff] = E('ud0', '', 'ud', 0, 0, Ends);
  simdTwoByte(t);
  return t;
}

export const ONE_BYTE: readonly Slot[] = buildOne();
export const TWO_BYTE: readonly Slot[] = buildTwo();

function addRepTwins(slots: readonly Slot[]): void {
  for (const s of slots) {
    if (s && 'handler' in s && ['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs'].includes(s.handler)) {
      s.repEntry = { ...s, flags: s.flags | OpFlag.EndsBlock };
    }
  }
}
addRepTwins(ONE_BYTE);

/** Mark entries reached through a mandatory prefix, so the disassembler does not print that prefix. */
function markMandatory(s: Slot | undefined, pfx: number): void {
  if (!s) return;
  if ('handler' in s) { if (pfx && !(s.flags & OpFlag.Invalid)) s.mandatory = pfx; return; }
  if (s.kind === 'group') { s.reg.forEach((x) => markMandatory(x, pfx)); s.mod3?.forEach((x) => markMandatory(x, pfx)); }
  else if (s.kind === 'rm') s.rm.forEach((x) => markMandatory(x, pfx));
  else { markMandatory(s.none, 0); markMandatory(s.p66, 0x66); markMandatory(s.pF3, 0xf3); markMandatory(s.pF2, 0xf2); }
}
ONE_BYTE.forEach((s) => markMandatory(s, 0));
TWO_BYTE.forEach((s) => markMandatory(s, 0));

/** Every entry reachable from the maps (for tests, handler-key checks and the debugger's class lists). */
export function allEntries(): OpEntry[] {
  const out = new Set<OpEntry>();
  const walk = (s: Slot | undefined): void => {
    if (!s) return;
    if ('handler' in s) { out.add(s); if (s.repEntry) out.add(s.repEntry); return; }
    if (s.kind === 'group') { s.reg.forEach(walk); s.mod3?.forEach(walk); }
    else if (s.kind === 'rm') s.rm.forEach(walk);
    else { walk(s.none); walk(s.p66); walk(s.pF3); walk(s.pF2); }
  };
  ONE_BYTE.forEach(walk);
  TWO_BYTE.forEach(walk);
  return [...out];
}

/** Handler keys the table uses (excluding 'invalid', which the decoder handles). */
export function handlerKeys(): string[] {
  return [...new Set(allEntries().map((e) => e.handler))].filter((k) => k !== 'invalid').sort();
}

/** Operand size in bytes of a spec for a decoded record (1, 2, 4, 6 far pointer, 8), or 0 when it has none. */
export function operandSize(spec: string, i: Insn): number {
  switch (spec) {
    case 'Eb': case 'Gb': case 'Ib': case 'Ibs': case 'Jb': case 'Ob': case 'Xb': case 'Yb': case 'AL': case 'CL': case 'Mb':
    case 'DL': case 'BL': case 'AH': case 'CH': case 'DH': case 'BH':
      return 1;
    case 'Ew': case 'Gw': case 'Iw': case 'Sw': case 'DX':
      return 2;
    case 'Ed': case 'Gd': case 'Rd': case 'Cd': case 'Dd': case 'Md':
      return 4;
    case 'Mq':
      return 8;
    case 'Ap': case 'Mp':
      return i.osize + 2;
    default:
      if (spec.length === 3 && spec[0] === 'e') return i.osize; // eAX..eDI
      return spec.endsWith('v') || spec.endsWith('z') ? i.osize : 0;
  }
}

// ------------------------------------------------------------------ undefined flags (for the vector tests)
/** The shift/rotate count of a decoded record before masking, from its count operand. */
function rawCount(i: Insn, regs: ArrayLike<number>): number {
  const ops = i.entry.operands;
  const c = ops[ops.length - 1];
  if (c === 'CL') return regs[1] & 0xff;
  if (c === '1') return 1;
  return i.imm & 0xff;
}
function dataBits(i: Insn): number {
  return i.entry.operands[0] === 'Eb' ? 8 : i.osize * 8;
}

/**
 * EFLAGS bits the SDM leaves undefined for this decoded instruction, given the initial registers
 * (EAX..EDI as numbers, for counts in CL) and the source operand value (BSF/BSR).
 */
export function undefinedFlags(i: Insn, s: { regs: ArrayLike<number>; src?: number }): number {
  const u = i.entry.undef;
  if (!u) return 0;
  let m = u.mask;
  if (!u.rule) return m;
  const count = rawCount(i, s.regs) & 0x1f;
  switch (u.rule) {
    case 'shift': // SHL SHR SAL SAR
      if (count === 0) return m;
      m |= AF;
      if (count !== 1) m |= OF;
      if (i.entry.sub !== 7 && count >= dataBits(i)) m |= CF; // SHL/SHR by >= width: CF undefined
      return m;
    case 'rotate': // ROL ROR
    case 'rcrotate': // RCL RCR
      return count > 1 ? m | OF : m;
    case 'shxd': // SHLD SHRD
      if (count === 0) return m;
      if (count > dataBits(i)) return m | CF | OF | SF | ZF | AF | PF;
      m |= AF;
      if (count !== 1) m |= OF;
      return m;
    case 'bsf':
      return m;
  }
  return m;
}

/** The destination is undefined (BSF/BSR of zero, SHLD/SHRD by more than the width, 16-bit BSWAP). */
export function undefinedResult(i: Insn, s: { regs: ArrayLike<number>; src?: number }): boolean {
  const u = i.entry.undef;
  if (i.entry.handler === 'bswap') return i.osize === 2;
  if (!u || !u.rule) return false;
  if (u.rule === 'bsf') return s.src !== undefined && s.src === 0;
  if (u.rule === 'shxd') return (rawCount(i, s.regs) & 0x1f) > dataBits(i);
  return false;
}
