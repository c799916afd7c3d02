// MOV in every encoding, MOVZX/MOVSX, XCHG, LEA, CBW/CWDE/CWD/CDQ, XLAT, CMPXCHG, CMPXCHG8B,
// XADD, LAHF/SAHF, the flag instructions, SALC, and the NOP family.
import { form, SIZES, twoRegs, hex8 } from './util.mjs';
import { LAYOUT, REGS32 } from '../cases.mjs';

const forms = [];
const h = (v) => '0x' + (v >>> 0).toString(16);

for (const s of SIZES) {
  const osz = s.w === 16 ? '0x66, ' : '';
  const b = s.w === 8 ? 0 : 1;
  forms.push(form(`mov r/m${s.w}, r${s.w} (reg)`, `mov {${s.r}}, {${s.r}}`, { espOk: true }));
  forms.push(form(`mov r/m${s.w}, r${s.w} (mem)`, `mov {${s.m}}, {${s.r}}`));
  forms.push(form(`mov r${s.w}, r/m${s.w} (reg)`, (ctx) => {
    const { a, b: rb, an, bn } = twoRegs(ctx, s.w);
    return `db ${osz}${hex8(0x8a + b)}, ${hex8(0xc0 | (a << 3) | rb)} ; mov ${an}, ${bn}`;
  }));
  forms.push(form(`mov r${s.w}, r/m${s.w} (mem)`, `mov {${s.r}}, {${s.m}}`, { keep: [0] }));
  forms.push(form(`mov r${s.w}, imm${s.w}`, `mov {${s.r}}, strict ${s.kw} {${s.i}}`, { espOk: true }));
  forms.push(form(`mov r/m${s.w}, imm${s.w} (reg)`, (ctx) => {
    const { a, an } = twoRegs(ctx, s.w);
    const v = ctx.val(s.w);
    const imm = s.w === 8 ? `db ${hex8(v)}` : s.w === 16 ? `dw ${h(v)}` : `dd ${h(v)}`;
    return `db ${osz}${hex8(0xc6 + b)}, ${hex8(0xc0 | a)} ; mov ${an}, ${v}\n${imm}`;
  }));
  forms.push(form(`mov r/m${s.w}, imm${s.w} (mem)`, `mov {${s.m}}, strict ${s.kw} {${s.i}}`));
  // A0-A3: accumulator and an absolute offset
  forms.push(form(`mov ${s.a}, moffs${s.w}`, (ctx) => { const { addr } = ctx.memOperand(s.w / 8); return `mov ${s.a}, [${h(addr)}]`; }));
  forms.push(form(`mov moffs${s.w}, ${s.a}`, (ctx) => { const { addr } = ctx.memOperand(s.w / 8); ctx.setReg(s.a, ctx.val(s.w)); return `mov [${h(addr)}], ${s.a}`; }));
  forms.push(form(`mov ${s.a}, moffs${s.w} (67h)`, (ctx) => { const { addr } = ctx.memOperand(s.w / 8); return `a16 mov ${s.a}, [${h(addr & 0xffff)}]`; }, { low: true }));
}
forms.push(form('mov r/m8, imm8 (C6 /1, #UD)', 'db 0xc6, 0xc8, 0x00', { faults: 'always' }));

for (const [op, name] of [['movzx', 'movzx'], ['movsx', 'movsx']]) {
  forms.push(form(`${name} r16, r/m8 (reg)`, `${op} {r16}, {r8}`));
  forms.push(form(`${name} r16, r/m8 (mem)`, `${op} {r16}, {m8}`));
  forms.push(form(`${name} r32, r/m8 (reg)`, `${op} {r32}, {r8}`));
  forms.push(form(`${name} r32, r/m8 (mem)`, `${op} {r32}, {m8}`));
  forms.push(form(`${name} r32, r/m16 (reg)`, `${op} {r32}, {r16}`));
  forms.push(form(`${name} r32, r/m16 (mem)`, `${op} {r32}, {m16}`));
  // nasm refuses the word-to-word forms; they exist (0F B7/BF with 66h) and act as MOV.
  forms.push(form(`${name} r16, r/m16 (reg)`, (ctx) => {
    const { a, b, an, bn } = twoRegs(ctx, 16);
    return `db 0x66, 0x0f, ${op === 'movzx' ? '0xb7' : '0xbf'}, ${hex8(0xc0 | (a << 3) | b)} ; ${op} ${an}, ${bn}`;
  }));
}

for (const s of SIZES) {
  forms.push(form(`xchg r/m${s.w}, r${s.w} (reg)`, `xchg {${s.r}}, {${s.r}}`, { keep: [0], espOk: true }));
  forms.push(form(`xchg r/m${s.w}, r${s.w} (mem)`, `xchg {${s.m}}, {${s.r}}`));
}
forms.push(form('xchg eax, r32 (90+r)', 'xchg eax, {r32}', { keep: [0], espOk: true, setup: (ctx) => ctx.setReg('eax', ctx.val(32)) }));
forms.push(form('xchg ax, r16 (66 90+r)', 'xchg ax, {r16}', { keep: [0], setup: (ctx) => ctx.setReg('ax', ctx.val(16)) }));
forms.push(form('lock xchg m32, r32', 'lock xchg {m32}, {r32}'));

forms.push(form('lea r32, m', 'lea {r32}, {m}', { memBytes: 0, espOk: true }));
forms.push(form('lea r16, m (66)', 'lea {r16}, {m}', { memBytes: 0 }));
forms.push(form('lea r32, m (67h)', 'lea {r32}, {m}', { memBytes: 0, low: true }));
forms.push(form('lea r16, m (66 67h)', 'lea {r16}, {m}', { memBytes: 0, low: true }));
// LEA's address is never accessed: any register values will do.
forms.push(form('lea r32, [b+i*s+d] (any values)', (ctx) => {
  const b = ctx.freeReg(), i = ctx.freeReg(), d = REGS32[ctx.freeReg()];
  ctx.regs[b] = ctx.val(32); ctx.regs[i] = ctx.val(32);
  return `lea ${d}, [${REGS32[b]}+${REGS32[i]}*${ctx.pick([1, 2, 4, 8])}+${h(ctx.val(32))}]`;
}));
forms.push(form('lea r32, r32 (#UD)', 'db 0x8d, 0xc1 ; lea eax, ecx', { faults: 'always' }));

forms.push(form('cbw', 'cbw', { setup: (ctx) => ctx.setReg('eax', ctx.regVal(8)) }));
forms.push(form('cwde', 'cwde', { setup: (ctx) => ctx.setReg('eax', ctx.regVal(16)) }));
forms.push(form('cwd', 'cwd', { setup: (ctx) => { ctx.setReg('eax', ctx.regVal(16)); ctx.setReg('edx', ctx.u32()); } }));
forms.push(form('cdq', 'cdq', { setup: (ctx) => { ctx.setReg('eax', ctx.val(32)); ctx.setReg('edx', ctx.u32()); } }));

// XLAT: [EBX + AL] (or [BX + AL] with 67h) lands in the window.
forms.push(form('xlatb', 'xlatb', { setup: (ctx) => {
  const al = ctx.val(8), target = ctx.dataAddr + ctx.below(LAYOUT.window);
  ctx.setReg('al', al); ctx.setReg('ebx', target - al);
} }));
forms.push(form('xlatb (67h)', 'a16 xlatb', { low: true, setup: (ctx) => {
  const al = ctx.val(8), target = ctx.dataAddr + ctx.below(LAYOUT.window);
  ctx.setReg('al', al); ctx.setReg('ebx', ((ctx.u32() & 0xffff0000) | ((target - al) & 0xffff)) >>> 0);
} }));
forms.push(form('xlatb (es: override)', 'es xlatb', { setup: (ctx) => {
  const al = ctx.val(8), target = ctx.dataAddr + ctx.below(LAYOUT.window);
  ctx.setReg('al', al); ctx.setReg('ebx', target - al);
} }));

// CMPXCHG: the accumulator equals the destination half of the time.
function cmpxchgSetup(w) {
  const acc = { 8: 'al', 16: 'ax', 32: 'eax' }[w];
  return (ctx, asm) => {
    const dst = ctx.operand(asm, 0, w);
    ctx.setReg(acc, ctx.chance(0.5) ? dst.value : ctx.val(w));
  };
}
for (const s of SIZES) {
  forms.push(form(`cmpxchg r/m${s.w}, r${s.w} (reg)`, `cmpxchg {${s.r}}, {${s.r}}`, { keep: [0], setup: cmpxchgSetup(s.w) }));
  forms.push(form(`cmpxchg r/m${s.w}, r${s.w} (mem)`, `cmpxchg {${s.m}}, {${s.r}}`, { keep: [0], setup: cmpxchgSetup(s.w) }));
}
forms.push(form('lock cmpxchg m32, r32', 'lock cmpxchg {m32}, {r32}', { keep: [0], setup: cmpxchgSetup(32) }));
forms.push(form('cmpxchg r/m32, r32 (acc as source)', 'cmpxchg {r32}, eax', { keep: [0], setup: cmpxchgSetup(32) }));

function cx8Setup(ctx) {
  const a = ctx.memAddr;
  if (ctx.chance(0.5)) { ctx.setReg('eax', ctx.peek(a, 4)); ctx.setReg('edx', ctx.peek(a + 4, 4)); }
  else if (ctx.chance(0.5)) { ctx.setReg('eax', ctx.peek(a, 4)); ctx.setReg('edx', ctx.u32()); }
  else { ctx.setReg('eax', ctx.u32()); ctx.setReg('edx', ctx.peek(a + 4, 4)); }
  ctx.setReg('ebx', ctx.val(32)); ctx.setReg('ecx', ctx.val(32));
}
forms.push(form('cmpxchg8b m64', 'cmpxchg8b {m64}', { keep: [0, 1, 2, 3], setup: cx8Setup }));
forms.push(form('lock cmpxchg8b m64', 'lock cmpxchg8b {m64}', { keep: [0, 1, 2, 3], setup: cx8Setup }));
forms.push(form('cmpxchg8b reg (#UD)', 'db 0x0f, 0xc7, 0xc8 ; cmpxchg8b eax', { faults: 'always' }));

for (const s of SIZES) {
  forms.push(form(`xadd r/m${s.w}, r${s.w} (reg)`, `xadd {${s.r}}, {${s.r}}`, { espOk: true }));
  forms.push(form(`xadd r/m${s.w}, r${s.w} (mem)`, `xadd {${s.m}}, {${s.r}}`));
}
forms.push(form('lock xadd m32, r32', 'lock xadd {m32}, {r32}'));
forms.push(form('xadd r32, r32 (same register)', 'xadd {r32:a}, {r32:a}'));

forms.push(form('lahf', 'lahf', { setup: (ctx) => ctx.setReg('eax', ctx.u32()) }));
forms.push(form('sahf', 'sahf', { setup: (ctx) => ctx.setReg('eax', ctx.u32()) }));
for (const op of ['clc', 'stc', 'cmc', 'cld', 'std']) forms.push(form(op, op));
// SALC (D6): AL = CF ? 0xFF : 0; undocumented but executed in 32-bit mode.
forms.push(form('salc', 'db 0xd6 ; salc', { setup: (ctx) => ctx.setReg('eax', ctx.u32()) }));

// NOPs: none of these touches memory, so their addresses may point anywhere.
const anyAddr = (ctx) => `[${REGS32[ctx.freeReg()]}+${h(ctx.u32())}]`;
forms.push(form('nop (90)', 'nop'));
forms.push(form('nop (66 90)', 'o16 nop'));
forms.push(form('pause (F3 90)', 'pause'));
forms.push(form('nop r/m32 (0F 1F /0, reg)', 'nop {r32}'));
forms.push(form('nop r/m16 (66 0F 1F /0, reg)', 'nop {r16}'));
forms.push(form('nop r/m32 (0F 1F /0, mem anywhere)', (ctx) => `nop dword ${anyAddr(ctx)}`));
forms.push(form('nop r/m32 (0F 1F /0, mem)', 'nop {m32}'));
for (let op = 0x19; op <= 0x1e; op++) {
  forms.push(form(`hint nop 0F ${op.toString(16).toUpperCase()} /r`, (ctx) => {
    const mod = ctx.pick([0, 1, 3]);
    const modrm = (mod << 6) | (ctx.below(8) << 3) | ctx.pick([0, 1, 2, 3, 6, 7]);
    return `db 0x0f, ${hex8(op)}, ${hex8(modrm)}${mod === 1 ? `, ${hex8(ctx.below(256))}` : ''}`;
  }));
}
forms.push(form('prefetch hints 0F 18 /0-/3 (mem anywhere)', (ctx) => `${ctx.pick(['prefetchnta', 'prefetcht0', 'prefetcht1', 'prefetcht2'])} ${anyAddr(ctx)}`));

export default { name: 'data', forms };
