// ROL ROR RCL RCR SHL SHR SAL(/6) SAR by 1, CL and imm8 on bytes, words and dwords; SHLD, SHRD.
import { form, SIZES, twoRegs, hex8 } from './util.mjs';

const OPS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'];
const forms = [];

// CL carries the count: its upper bits are random, the count itself edge-biased.
function withCl(ctx) { ctx.setReg('ecx', (ctx.u32() & 0xffffff00) | ctx.shiftCount()); }
const clKeep = { keep: [1] };

for (const op of OPS) {
  for (const s of SIZES) {
    forms.push(form(`${op} r/m${s.w}, 1 (reg)`, `${op} {${s.r}}, 1`, { espOk: true }));
    forms.push(form(`${op} r/m${s.w}, cl (reg)`, `${op} {${s.r}}, cl`, { ...clKeep, setup: withCl }));
    forms.push(form(`${op} r/m${s.w}, imm8 (reg)`, `${op} {${s.r}}, strict byte {c8}`, { espOk: true }));
    forms.push(form(`${op} r/m${s.w}, cl (mem)`, `${op} {${s.m}}, cl`, { ...clKeep, setup: withCl }));
  }
  forms.push(form(`${op} r/m32, 1 (mem)`, `${op} {m32}, 1`));
  forms.push(form(`${op} r/m16, imm8 (mem)`, `${op} {m16}, strict byte {c8}`));
}
// /6 is an undocumented alias of SHL (/4) that P6-class and later CPUs execute.
for (const s of SIZES) {
  const osz = s.w === 16 ? '0x66, ' : '';
  const b = s.w === 8 ? 0 : 1;
  forms.push(form(`sal r/m${s.w}, cl (D${b ? 3 : 2} /6 alias)`, (ctx) => {
    const { a, an } = twoRegs(ctx, s.w);
    return `db ${osz}${hex8(0xd2 + b)}, ${hex8(0xf0 | a)} ; sal ${an}, cl`;
  }, { keep: [1], setup: (ctx) => withCl(ctx) }));
  forms.push(form(`sal r/m${s.w}, imm8 (C${b} /6 alias)`, (ctx) => {
    const { a, an } = twoRegs(ctx, s.w);
    const c = ctx.shiftCount();
    return `db ${osz}${hex8(0xc0 + b)}, ${hex8(0xf0 | a)}, ${c} ; sal ${an}, ${c}`;
  }));
}

for (const op of ['shld', 'shrd']) {
  for (const w of [16, 32]) {
    const r = `r${w}`, m = `m${w}`;
    forms.push(form(`${op} r/m${w}, r${w}, imm8 (reg)`, `${op} {${r}}, {${r}}, {c8}`, { espOk: true }));
    forms.push(form(`${op} r/m${w}, r${w}, cl (reg)`, `${op} {${r}}, {${r}}, cl`, { ...clKeep, setup: withCl }));
    forms.push(form(`${op} r/m${w}, r${w}, imm8 (mem)`, `${op} {${m}}, {${r}}, {c8}`));
    forms.push(form(`${op} r/m${w}, r${w}, cl (mem)`, `${op} {${m}}, {${r}}, cl`, { ...clKeep, setup: withCl }));
  }
}

export default { name: 'shift', forms };
