// ADD OR ADC SBB AND SUB XOR CMP in every encoding; INC DEC NEG NOT TEST; LOCK forms.
import { form, SIZES, twoRegs, hex8 } from './util.mjs';

const OPS = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const forms = [];

OPS.forEach((op, n) => {
  const base = n * 8;
  for (const s of SIZES) {
    const osz = s.w === 16 ? '0x66, ' : '';
    const b = s.w === 8 ? 0 : 1;
    forms.push(form(`${op} r/m${s.w}, r${s.w} (reg)`, `${op} {${s.r}}, {${s.r}}`, { espOk: true }));
    forms.push(form(`${op} r/m${s.w}, r${s.w} (mem)`, `${op} {${s.m}}, {${s.r}}`));
    // nasm encodes reg,reg as "r/m, reg": the "reg, r/m" opcode is written out.
    forms.push(form(`${op} r${s.w}, r/m${s.w} (reg)`, (ctx) => {
      const { a, b: rb, an, bn } = twoRegs(ctx, s.w);
      return `db ${osz}${hex8(base + 2 + b)}, ${hex8(0xc0 | (a << 3) | rb)} ; ${op} ${an}, ${bn}`;
    }));
    forms.push(form(`${op} r${s.w}, r/m${s.w} (mem)`, `${op} {${s.r}}, {${s.m}}`));
    forms.push(form(`${op} ${s.a}, imm${s.w}`, (ctx) => { ctx.setReg(s.a, ctx.val(s.w)); return `${op} ${s.a}, strict ${s.kw} {${s.i}}`; }));
    forms.push(form(`${op} r/m${s.w}, imm${s.w} (reg)`, `${op} {${s.r}}, strict ${s.kw} {${s.i}}`, { keep: [0], espOk: true }));
    forms.push(form(`${op} r/m${s.w}, imm${s.w} (mem)`, `${op} {${s.m}}, strict ${s.kw} {${s.i}}`));
    if (s.w !== 8) {
      forms.push(form(`${op} r/m${s.w}, imm8 (reg)`, `${op} {${s.r}}, byte {s8}`, { espOk: true }));
      forms.push(form(`${op} r/m${s.w}, imm8 (mem)`, `${op} {${s.m}}, byte {s8}`));
    }
  }
  // 82 is the 32-bit-mode alias of 80 (invalid only in 64-bit mode).
  forms.push(form(`${op} r/m8, imm8 (82 alias, reg)`, (ctx) => {
    const { a, an } = twoRegs(ctx, 8);
    const imm = ctx.val(8);
    return `db 0x82, ${hex8(0xc0 | (n << 3) | a)}, ${hex8(imm)} ; ${op} ${an}, ${imm}`;
  }));
  forms.push(form(`${op} r/m8, imm8 (82 alias, mem)`, (ctx) => {
    const { addr } = ctx.memOperand(1);
    const imm = ctx.val(8);
    return `db 0x82, ${hex8(0x05 | (n << 3))} ; ${op} byte [0x${addr.toString(16)}], ${imm}\ndd 0x${addr.toString(16)}\ndb ${hex8(imm)}`;
  }));
  if (op !== 'cmp') {
    forms.push(form(`lock ${op} m32, r32`, `lock ${op} {m32}, {r32}`));
    forms.push(form(`lock ${op} m8, imm8`, `lock ${op} {m8}, {i8}`));
    forms.push(form(`lock ${op} m16, imm8`, `lock ${op} {m16}, byte {s8}`));
  }
});
forms.push(form('lock cmp m32, r32 (#UD)', 'lock cmp {m32}, {r32}', { faults: 'always' }));
forms.push(form('lock add r32, r32 (#UD)', 'lock add {r32}, {r32}', { faults: 'always' }));
forms.push(form('lock xor r/m8, imm8 reg (#UD)', 'lock xor {r8}, {i8}', { faults: 'always' }));

for (const op of ['inc', 'dec']) {
  const d = op === 'inc' ? 0 : 1;
  forms.push(form(`${op} r32 (${op === 'inc' ? '40' : '48'}+r)`, `${op} {r32}`, { espOk: true }));
  forms.push(form(`${op} r16 (${op === 'inc' ? '40' : '48'}+r)`, `${op} {r16}`, { espOk: true }));
  forms.push(form(`${op} r/m32 (FF /${d}, reg)`, (ctx) => { const { a, an } = twoRegs(ctx, 32); return `db 0xff, ${hex8(0xc0 | (d << 3) | a)} ; ${op} ${an}`; }));
  forms.push(form(`${op} r/m16 (FF /${d}, reg)`, (ctx) => { const { a, an } = twoRegs(ctx, 16); return `db 0x66, 0xff, ${hex8(0xc0 | (d << 3) | a)} ; ${op} ${an}`; }));
  forms.push(form(`${op} r/m8 (reg)`, `${op} {r8}`));
  for (const s of SIZES) forms.push(form(`${op} r/m${s.w} (mem)`, `${op} {${s.m}}`));
  forms.push(form(`lock ${op} m32`, `lock ${op} {m32}`));
}
for (const op of ['neg', 'not']) {
  for (const s of SIZES) {
    forms.push(form(`${op} r/m${s.w} (reg)`, `${op} {${s.r}}`, { espOk: true }));
    forms.push(form(`${op} r/m${s.w} (mem)`, `${op} {${s.m}}`));
  }
  forms.push(form(`lock ${op} m8`, `lock ${op} {m8}`));
}
for (const s of SIZES) {
  const osz = s.w === 16 ? '0x66, ' : '';
  forms.push(form(`test r/m${s.w}, r${s.w} (reg)`, `test {${s.r}}, {${s.r}}`, { espOk: true }));
  forms.push(form(`test r/m${s.w}, r${s.w} (mem)`, `test {${s.m}}, {${s.r}}`));
  forms.push(form(`test ${s.a}, imm${s.w}`, (ctx) => { ctx.setReg(s.a, ctx.val(s.w)); return `test ${s.a}, strict ${s.kw} {${s.i}}`; }));
  forms.push(form(`test r/m${s.w}, imm${s.w} (reg)`, `test {${s.r}}, strict ${s.kw} {${s.i}}`, { keep: [0] }));
  forms.push(form(`test r/m${s.w}, imm${s.w} (mem)`, `test {${s.m}}, strict ${s.kw} {${s.i}}`));
  // F6 /1 and F7 /1 act as TEST on P6-class and later processors.
  forms.push(form(`test r/m${s.w}, imm${s.w} (F${s.w === 8 ? 6 : 7} /1 alias)`, (ctx) => {
    const { a, an } = twoRegs(ctx, s.w);
    const v = ctx.val(s.w);
    const imm = s.w === 8 ? `db ${hex8(v)}` : s.w === 16 ? `dw 0x${v.toString(16)}` : `dd 0x${v.toString(16)}`;
    return `db ${osz}${s.w === 8 ? '0xf6' : '0xf7'}, ${hex8(0xc8 | a)} ; test ${an}, ${v}\n${imm}`;
  }));
}

export default { name: 'alu', forms };
