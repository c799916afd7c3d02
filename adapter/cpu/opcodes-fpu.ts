// The x87 escape map (D8-DF) and the MMX/SSE part of the two-byte map, as a Pentium III has them.
// They are decoded exactly (for lengths and disassembly) and executed by the 'x87' and 'simd'
// handlers, which raise #UD or #NM until those units exist. Part of the opcode table (opcodes.ts);
// kept apart only for size. Memory-operand specs here carry the size keyword the disassembler prints:
// Md dword, Mq qword, Mt tword, Mw word, M none; a trailing '_' means "no size keyword".
import type { OpEntry, Slot } from './opcodes';

const INV: OpEntry = { mnemonic: '(bad)', operands: [], handler: 'invalid', sub: 0, cls: 0, flags: 8 | 1 /* Invalid|EndsBlock */, modrm: true };

function F(mnemonic: string, ops: string, handler: string, sub: number): OpEntry {
  return { mnemonic, operands: ops ? ops.split(',') : [], handler, sub, cls: 0, flags: 0, modrm: true };
}
const grp = (reg: Slot[], mod3?: Slot[]): Slot => (mod3 ? { kind: 'group', reg, mod3 } : { kind: 'group', reg });
const rm = (r: Slot[]): Slot => ({ kind: 'rm', rm: r });

// ------------------------------------------------------------------ x87 (D8-DF)
const ARITH = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];

function x87(esc: number, mem: (string | null)[], reg: (Slot | string | null)[]): Slot {
  const sub = (r: number) => ((esc & 7) << 3) | r;
  const m: Slot[] = mem.map((d, r) => {
    if (!d) return INV;
    const [mn, spec] = d.split(' ');
    return F(mn, spec ?? 'M', 'x87', sub(r));
  });
  const g: Slot[] = reg.map((d, r) => {
    if (d === null) return INV;
    if (typeof d !== 'string') return d;
    const [mn, spec] = d.split(' ');
    return F(mn, spec ?? '', 'x87', sub(r));
  });
  return grp(m, g);
}
/** A register row selected by ModRM.rm: names per rm (null = invalid). */
function row(esc: number, reg: number, names: (string | null)[]): Slot {
  return rm(names.map((n) => {
    if (!n) return INV;
    const [mn, spec] = n.split(' ');
    return F(mn, spec ?? '', 'x87', ((esc & 7) << 3) | reg);
  }));
}

export const X87_MAP: Slot[] = [
  x87(0xd8, ARITH.map((a) => `${a} Md`), ARITH.map((a) => `${a} STi`)),
  x87(0xd9, ['fld Md', null, 'fst Md', 'fstp Md', 'fldenv M', 'fldcw M', 'fnstenv M', 'fnstcw M'], [
    'fld STi', 'fxch STi', row(0xd9, 2, ['fnop', null, null, null, null, null, null, null]), null,
    row(0xd9, 4, ['fchs', 'fabs', null, null, 'ftst', 'fxam', null, null]),
    row(0xd9, 5, ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz', null]),
    row(0xd9, 6, ['f2xm1', 'fyl2x', 'fptan', 'fpatan', 'fxtract', 'fprem1', 'fdecstp', 'fincstp']),
    row(0xd9, 7, ['fprem', 'fyl2xp1', 'fsqrt', 'fsincos', 'frndint', 'fscale', 'fsin', 'fcos']),
  ]),
  x87(0xda, ['fiadd Md', 'fimul Md', 'ficom Md', 'ficomp Md', 'fisub Md', 'fisubr Md', 'fidiv Md', 'fidivr Md'], [
    'fcmovb STi', 'fcmove STi', 'fcmovbe STi', 'fcmovu STi', null,
    row(0xda, 5, [null, 'fucompp', null, null, null, null, null, null]), null, null,
  ]),
  // DB /1 FISTTP is SSE3: not on a P6.
  x87(0xdb, ['fild Md', null, 'fist Md', 'fistp Md', null, 'fld Mt', null, 'fstp Mt'], [
    'fcmovnb STi', 'fcmovne STi', 'fcmovnbe STi', 'fcmovnu STi',
    row(0xdb, 4, ['fneni', 'fndisi', 'fnclex', 'fninit', 'fsetpm', null, null, null]),
    'fucomi STi', 'fcomi STi', null,
  ]),
  x87(0xdc, ARITH.map((a) => `${a} Mq`), ['fadd toSTi', 'fmul toSTi', null, null, 'fsubr toSTi', 'fsub toSTi', 'fdivr toSTi', 'fdiv toSTi']),
  x87(0xdd, ['fld Mq', null, 'fst Mq', 'fstp Mq', 'frstor M', null, 'fnsave M', 'fnstsw M'], [
    'ffree STi', null, 'fst STi', 'fstp STi', 'fucom STi', 'fucomp STi', null, null,
  ]),
  x87(0xde, ['fiadd Mw', 'fimul Mw', 'ficom Mw', 'ficomp Mw', 'fisub Mw', 'fisubr Mw', 'fidiv Mw', 'fidivr Mw'], [
    'faddp STi', 'fmulp STi', null, row(0xde, 3, [null, 'fcompp', null, null, null, null, null, null]),
    'fsubrp STi', 'fsubp STi', 'fdivrp STi', 'fdivp STi',
  ]),
  x87(0xdf, ['fild Mw', null, 'fist Mw', 'fistp Mw', 'fbld Mt', 'fild Mq', 'fbstp Mt', 'fistp Mq'], [
    'ffreep STi', null, null, null, row(0xdf, 4, ['fnstsw AX', null, null, null, null, null, null, null]),
    'fucomip STi', 'fcomip STi', null,
  ]),
];

// ------------------------------------------------------------------ MMX and SSE (two-byte map)
// Operand specs: Pq MMX register (reg), Nq MMX register (rm, register only), Q MMX register or memory,
// Vo XMM register (reg), Uo XMM register (rm only), Wo/Wq/Wd XMM register or memory of 16/8/4 bytes,
// Ed general register or memory dword, Gd general register (reg), Rd general register (rm only).
const S = (mn: string, ops: string, op: number): OpEntry => F(mn, ops, 'simd', op);
const byMod = (mem: Slot, reg: Slot): Slot => grp(new Array(8).fill(mem), new Array(8).fill(reg));
const memOnly = (e: Slot): Slot => byMod(e, INV);
const regOnly = (e: Slot): Slot => byMod(INV, e);
/** Packed form with no prefix, scalar form with F3; 66 and F2 (SSE2) are #UD on a P6. */
const psss = (base: string, op: number): Slot => ({ kind: 'pfx', none: S(base + 'ps', 'Vo,Wo', op), pF3: S(base + 'ss', 'Vo,Wd', op), p66: INV, pF2: INV });
const ps = (mn: string, ops: string, op: number): Slot => ({ kind: 'pfx', none: S(mn, ops, op), p66: INV, pF3: INV, pF2: INV });
const mmx = (mn: string, op: number, ops = 'Pq,Q'): Slot => ({ kind: 'pfx', none: S(mn, ops, op), p66: INV, pF3: INV, pF2: INV });
const pfxOnlyNone = (s: Slot): Slot => ({ kind: 'pfx', none: s, p66: INV, pF3: INV, pF2: INV });

export function simdTwoByte(t: Slot[]): void {
  t[0x10] = { kind: 'pfx', none: S('movups', 'Vo,Wo', 0x10), pF3: S('movss', 'Vo,Wd', 0x10), p66: INV, pF2: INV };
  t[0x11] = { kind: 'pfx', none: S('movups', 'Wo,Vo', 0x11), pF3: S('movss', 'Wd,Vo', 0x11), p66: INV, pF2: INV };
  t[0x12] = pfxOnlyNone(byMod(S('movlps', 'Vo,Mq', 0x12), S('movhlps', 'Vo,Uo', 0x12)));
  t[0x13] = pfxOnlyNone(memOnly(S('movlps', 'Mq,Vo', 0x13)));
  t[0x14] = ps('unpcklps', 'Vo,Wo', 0x14);
  t[0x15] = ps('unpckhps', 'Vo,Wo', 0x15);
  t[0x16] = pfxOnlyNone(byMod(S('movhps', 'Vo,Mq', 0x16), S('movlhps', 'Vo,Uo', 0x16)));
  t[0x17] = pfxOnlyNone(memOnly(S('movhps', 'Mq,Vo', 0x17)));
  t[0x28] = ps('movaps', 'Vo,Wo', 0x28);
  t[0x29] = ps('movaps', 'Wo,Vo', 0x29);
  t[0x2a] = { kind: 'pfx', none: S('cvtpi2ps', 'Vo,Qq', 0x2a), pF3: S('cvtsi2ss', 'Vo,Ed', 0x2a), p66: INV, pF2: INV };
  t[0x2b] = pfxOnlyNone(memOnly(S('movntps', 'Mo,Vo', 0x2b)));
  t[0x2c] = { kind: 'pfx', none: S('cvttps2pi', 'Pq,W', 0x2c), pF3: S('cvttss2si', 'Gd,W', 0x2c), p66: INV, pF2: INV };
  t[0x2d] = { kind: 'pfx', none: S('cvtps2pi', 'Pq,Wq', 0x2d), pF3: S('cvtss2si', 'Gd,W', 0x2d), p66: INV, pF2: INV };
  t[0x2e] = ps('ucomiss', 'Vo,Wd', 0x2e);
  t[0x2f] = ps('comiss', 'Vo,Wd', 0x2f);
  t[0x50] = pfxOnlyNone(regOnly(S('movmskps', 'Gd,Uo', 0x50)));
  t[0x51] = psss('sqrt', 0x51);
  t[0x52] = psss('rsqrt', 0x52);
  t[0x53] = psss('rcp', 0x53);
  t[0x54] = ps('andps', 'Vo,Wo', 0x54);
  t[0x55] = ps('andnps', 'Vo,Wo', 0x55);
  t[0x56] = ps('orps', 'Vo,Wo', 0x56);
  t[0x57] = ps('xorps', 'Vo,Wo', 0x57);
  t[0x58] = psss('add', 0x58);
  t[0x59] = psss('mul', 0x59);
  t[0x5c] = psss('sub', 0x5c);
  t[0x5d] = psss('min', 0x5d);
  t[0x5e] = psss('div', 0x5e);
  t[0x5f] = psss('max', 0x5f);
  const m60 = ['punpcklbw', 'punpcklwd', 'punpckldq', 'packsswb', 'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'packuswb',
    'punpckhbw', 'punpckhwd', 'punpckhdq', 'packssdw'];
  m60.forEach((mn, k) => { t[0x60 + k] = mmx(mn, 0x60 + k); });
  t[0x6e] = mmx('movd', 0x6e, 'Pq,Ed');
  t[0x6f] = mmx('movq', 0x6f, 'Pq,Q');
  t[0x70] = mmx('pshufw', 0x70, 'Pq,Q,Ib');
  const shiftImm = (op: number, names: (string | null)[]): Slot => pfxOnlyNone(grp(new Array(8).fill(INV),
    names.map((n) => (n ? S(n, 'Nq,Ib', op) : INV))));
  t[0x71] = shiftImm(0x71, [null, null, 'psrlw', null, 'psraw', null, 'psllw', null]);
  t[0x72] = shiftImm(0x72, [null, null, 'psrld', null, 'psrad', null, 'pslld', null]);
  t[0x73] = shiftImm(0x73, [null, null, 'psrlq', null, null, null, 'psllq', null]);
  t[0x74] = mmx('pcmpeqb', 0x74);
  t[0x75] = mmx('pcmpeqw', 0x75);
  t[0x76] = mmx('pcmpeqd', 0x76);
  t[0x77] = { ...S('emms', '', 0x77), modrm: false };
  t[0x7e] = mmx('movd', 0x7e, 'Ed,Pq');
  t[0x7f] = mmx('movq', 0x7f, 'Q,Pq');
  t[0xae] = pfxOnlyNone(grp([S('fxsave', 'M', 0xae), S('fxrstor', 'M', 0xae), S('ldmxcsr', 'Md', 0xae), S('stmxcsr', 'Md', 0xae), INV, INV, INV, INV],
    [INV, INV, INV, INV, INV, INV, INV, S('sfence', '', 0xae)]));
  t[0xc2] = { kind: 'pfx', none: S('cmpps', 'Vo,Wo,Ib', 0xc2), pF3: S('cmpss', 'Vo,Wd,Ib', 0xc2), p66: INV, pF2: INV };
  t[0xc4] = mmx('pinsrw', 0xc4, 'Pq,Ew_,Ib');
  t[0xc5] = pfxOnlyNone(regOnly(S('pextrw', 'Gd,Nq,Ib', 0xc5)));
  t[0xc6] = ps('shufps', 'Vo,Wo,Ib', 0xc6);
  const mD0: [number, string][] = [[0xd1, 'psrlw'], [0xd2, 'psrld'], [0xd3, 'psrlq'], [0xd5, 'pmullw'], [0xd8, 'psubusb'],
    [0xd9, 'psubusw'], [0xda, 'pminub'], [0xdb, 'pand'], [0xdc, 'paddusb'], [0xdd, 'paddusw'], [0xde, 'pmaxub'], [0xdf, 'pandn'],
    [0xe0, 'pavgb'], [0xe1, 'psraw'], [0xe2, 'psrad'], [0xe3, 'pavgw'], [0xe4, 'pmulhuw'], [0xe5, 'pmulhw'], [0xe8, 'psubsb'],
    [0xe9, 'psubsw'], [0xea, 'pminsw'], [0xeb, 'por'], [0xec, 'paddsb'], [0xed, 'paddsw'], [0xee, 'pmaxsw'], [0xef, 'pxor'],
    [0xf1, 'psllw'], [0xf2, 'pslld'], [0xf3, 'psllq'], [0xf5, 'pmaddwd'], [0xf6, 'psadbw'], [0xf8, 'psubb'], [0xf9, 'psubw'],
    [0xfa, 'psubd'], [0xfc, 'paddb'], [0xfd, 'paddw'], [0xfe, 'paddd']];
  for (const [op, mn] of mD0) t[op] = mmx(mn, op);
  t[0xd7] = pfxOnlyNone(regOnly(S('pmovmskb', 'Gd,Nq', 0xd7)));
  t[0xe7] = pfxOnlyNone(memOnly(S('movntq', 'Mq_,Pq', 0xe7)));
  t[0xf7] = pfxOnlyNone(regOnly(S('maskmovq', 'Pq,Nq', 0xf7)));
}
