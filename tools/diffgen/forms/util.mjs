// Shared pieces for the form lists.
import { REGS32, REGS16, REGS8 } from '../cases.mjs';

export const CONDS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
export const SIZES = [
  { w: 8, r: 'r8', m: 'm8', a: 'al', kw: 'byte', i: 'i8' },
  { w: 16, r: 'r16', m: 'm16', a: 'ax', kw: 'word', i: 'i16' },
  { w: 32, r: 'r32', m: 'm32', a: 'eax', kw: 'dword', i: 'i32' },
];

// Picks two distinct registers of a width and returns names and 3-bit numbers, for forms
// that need an encoding nasm would not choose (written with db).
export function twoRegs(ctx, width) {
  const names = width === 8 ? REGS8 : width === 16 ? REGS16 : REGS32;
  const pool = width === 8 ? [0, 1, 2, 3, 4, 5, 6, 7] : [0, 1, 2, 3, 5, 6, 7];
  const a = ctx.pick(pool);
  const b = ctx.pick(pool);
  for (const k of [a, b]) {
    if (width === 8) ctx.setReg(names[k], ctx.val(8));
    else ctx.regs[k] = ctx.regVal(width);
  }
  return { a, b, an: names[a], bn: names[b] };
}

export const hex8 = (v) => '0x' + (v & 0xff).toString(16).padStart(2, '0');

// Form helper: fills defaults.
export function form(name, asm, extra = {}) { return { name, asm, ...extra }; }
