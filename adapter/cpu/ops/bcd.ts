// BCD adjustments: DAA DAS AAA AAS AAM AAD, following the Intel SDM pseudocode. AAM with a zero base
// raises #DE. Flags the SDM leaves undefined are left as the simplest computation gives them.
import type { Cpu } from '../cpu';
import type { Insn } from '../insn';
import type { Factory } from './index';
import { AF, CF, getAF, getCF, setFlagBits, setResultFlags } from '../flags';

function daa(c: Cpu): void {
  const al = c.r8[0], cf = getCF(c);
  let r = al, ncf = 0, af = 0;
  if ((al & 0xf) > 9 || getAF(c)) {
    r = al + 6;
    ncf = cf || r > 0xff ? CF : 0;
    r &= 0xff;
    af = AF;
  }
  if (al > 0x99 || cf) { r = (r + 0x60) & 0xff; ncf = CF; } else ncf = 0;
  c.r8[0] = r;
  setResultFlags(c, r, 1, ncf | af);
}

function das(c: Cpu): void {
  const al = c.r8[0], cf = getCF(c);
  let r = al, ncf = 0, af = 0;
  if ((al & 0xf) > 9 || getAF(c)) {
    r = (al - 6) & 0xff;
    ncf = cf || al < 6 ? CF : 0;
    af = AF;
  }
  if (al > 0x99 || cf) { r = (r - 0x60) & 0xff; ncf = CF; }
  c.r8[0] = r;
  setResultFlags(c, r, 1, ncf | af);
}

function aaa(c: Cpu): void {
  if ((c.r8[0] & 0xf) > 9 || getAF(c)) {
    c.r16[0] = c.r16[0] + 0x106;
    c.r8[0] &= 0xf;
    setFlagBits(c, AF | CF, AF | CF);
  } else {
    c.r8[0] &= 0xf;
    setFlagBits(c, AF | CF, 0);
  }
}

function aas(c: Cpu): void {
  if ((c.r8[0] & 0xf) > 9 || getAF(c)) {
    c.r16[0] = c.r16[0] - 6;
    c.r8[1] = c.r8[1] - 1;
    c.r8[0] &= 0xf;
    setFlagBits(c, AF | CF, AF | CF);
  } else {
    c.r8[0] &= 0xf;
    setFlagBits(c, AF | CF, 0);
  }
}

function aam(c: Cpu, i: Insn): void {
  const base = i.imm & 0xff;
  if (base === 0) c.fault(0);
  const al = c.r8[0];
  c.r8[1] = Math.floor(al / base);
  c.r8[0] = al % base;
  setResultFlags(c, c.r8[0], 1, 0);
}

function aad(c: Cpu, i: Insn): void {
  const r = (c.r8[0] + c.r8[1] * (i.imm & 0xff)) & 0xff;
  c.r16[0] = r;
  setResultFlags(c, r, 1, 0);
}

export const handlers: Record<string, Factory> = {
  daa: () => daa,
  das: () => das,
  aaa: () => aaa,
  aas: () => aas,
  aam: () => aam,
  aad: () => aad,
};
