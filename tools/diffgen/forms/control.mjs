// JMP, CALL, RET (near and far, direct and indirect), IRET, LOOP/LOOPE/LOOPNE, JECXZ/JCXZ,
// INT3, INTO, INT1, BOUND.
import { form } from './util.mjs';
import { REGS32, LAYOUT, OF, TF, IF, ARITH, DF, AC, ID, NT } from '../cases.mjs';

const forms = [];
const CS = 0x23;
const marker = (ctx) => REGS32[ctx.freeReg()];

forms.push(form('jmp rel8', (ctx) => { const r = marker(ctx); return `jmp short .t\nlea ${r}, [${r}+1]\n.t:`; }, { text: 'jmp short .t' }));
forms.push(form('jmp rel32', (ctx) => { const r = marker(ctx); return `jmp near .t\nlea ${r}, [${r}+1]\n.t:`; }, { text: 'jmp near .t' }));
forms.push(form('jmp rel8 (backward)', (ctx) => { const r = marker(ctx); return `jmp short .a\n.b: lea ${r}, [${r}+1]\njmp short .e\n.a: jmp short .b\n.e:`; }, { text: 'jmp short .b' }));
forms.push(form('call rel32', (ctx) => { const r = marker(ctx); return `call .t\nlea ${r}, [${r}+1]\n.t:`; }, { text: 'call .t' }));
forms.push(form('call rel32 (backward)', (ctx) => { const r = marker(ctx); return `jmp short .a\n.b: lea ${r}, [${r}+1]\nret\n.a: call .b`; }, { text: 'call .b ... ret' }));

// Indirect near transfers to the end of the snippet: the target is known after assembly.
forms.push(form('jmp r/m32 (reg)', (ctx) => { ctx.jt = ctx.freeReg(); return `jmp ${REGS32[ctx.jt]}`; },
  { fixup: (ctx, end) => { ctx.regs[ctx.jt] = end; } }));
forms.push(form('call r/m32 (reg)', (ctx) => { ctx.jt = ctx.freeReg(); return `call ${REGS32[ctx.jt]}`; },
  { fixup: (ctx, end) => { ctx.regs[ctx.jt] = end; } }));
forms.push(form('jmp r/m32 (mem)', 'jmp {m32}', { fixup: (ctx, end) => ctx.poke(ctx.memAddr, 4, end) }));
forms.push(form('call r/m32 (mem)', 'call {m32}', { fixup: (ctx, end) => ctx.poke(ctx.memAddr, 4, end) }));

// RET with the return address at a random ESP inside the stack window.
function stackAt(ctx, below = 16, above = 16) {
  const esp = LAYOUT.stackTop - 4 * ctx.below(below / 4 + 1) + 4 * ctx.below(above / 4);
  ctx.regs[4] = esp;
  ctx.used.add(4);
  return esp;
}
forms.push(form('ret', 'ret', { setup: (ctx) => stackAt(ctx), fixup: (ctx, end) => ctx.poke(ctx.regs[4], 4, end) }));
forms.push(form('ret imm16', (ctx) => `ret ${ctx.pick([0, 2, 4, 8, 12, 0x20, 0x7ffe, 0x8000, 0xfffc, ctx.below(0x10000)])}`,
  { setup: (ctx) => stackAt(ctx), fixup: (ctx, end) => ctx.poke(ctx.regs[4], 4, end) }));

// Far transfers through the process's own code selector (0x23) and variants of it.
const farSels = (ctx) => ctx.pick([CS, CS, CS, 0x20, 0x21, 0x22]);
forms.push(form('jmp ptr16:32', (ctx) => `jmp ${farSels(ctx)}:DG_END`, { segs: true }));
forms.push(form('call ptr16:32', (ctx) => `call ${farSels(ctx)}:DG_END`, { segs: true, setup: zeroBelow }));
forms.push(form('jmp m16:32', 'jmp far {m}', { segs: true, memBytes: 6, fixup: farPtr }));
forms.push(form('call m16:32', 'call far {m}', { segs: true, memBytes: 6, fixup: farPtr, setup: zeroBelow }));
// Selectors that must fault: null, a data segment, an LDT selector (no LDT).
forms.push(form('jmp ptr16:32 (bad selector)', (ctx) => `jmp ${ctx.pick([0, 1, 3, 0x2b, 0x28, 0x27, 0x2f])}:DG_END`, { segs: true, faults: 'always' }));
forms.push(form('call m16:32 (bad selector)', 'call far {m}', {
  segs: true, memBytes: 6, faults: 'always', setup: zeroBelow,
  fixup: (ctx, end) => { ctx.poke(ctx.memAddr, 4, end); ctx.poke(ctx.memAddr + 4, 2, ctx.pick([0, 2, 0x2b, 0x2f, 0x24])); },
}));
function farPtr(ctx, end) { ctx.poke(ctx.memAddr, 4, end); ctx.poke(ctx.memAddr + 4, 2, farSels(ctx)); }
// A 32-bit push of CS writes either a zero-extended dword or only the low word: with zeros
// already there both give the same bytes.
function zeroBelow(ctx) { for (let k = 0; k < 64; k++) ctx.stack[k] = 0; }

function farFrame(ctx, end, words) {
  const esp = ctx.regs[4];
  ctx.poke(esp, 4, end);
  // RPL below CPL (0x20, 0x22) or a data selector make a far return fault with #GP(sel)
  const sel = ctx.pick([CS, CS, CS, CS, CS, CS, CS, 0x20, 0x22, 0x2b]);
  ctx.poke(esp + 4, 4, (ctx.u32() & 0xffff0000) | sel);
  if (words > 2) {
    // EFLAGS image for IRET: random, TF and VM excluded (TF would single-step the harness).
    let f = ctx.u32() & ~(TF | 0x20000 | 0xffc00000);
    ctx.poke(esp + 8, 4, f | 2);
  }
}
forms.push(form('retf', 'retf', { segs: true, faults: 'sometimes', setup: (ctx) => stackAt(ctx), fixup: (ctx, end) => farFrame(ctx, end, 2) }));
// The immediate keeps the would-be outer stack (ESP+8+imm) inside the mapped stack: a CPU may
// read it before the privilege check, so a fault there would compete with #GP(selector).
forms.push(form('retf imm16', (ctx) => `retf ${ctx.pick([0, 4, 8, 0x10, 0x100, ctx.below(0xf00)])}`,
  { segs: true, faults: 'sometimes', setup: (ctx) => stackAt(ctx), fixup: (ctx, end) => farFrame(ctx, end, 2) }));
// IRET at CPL 3 to CPL 3: IOPL and IF stay as they are (IOPL 0), the other flags load.
forms.push(form('iretd', 'iretd', { segs: true, faults: 'sometimes', setup: (ctx) => stackAt(ctx), fixup: (ctx, end) => farFrame(ctx, end, 3) }));

// LOOP family with ECX (32-bit address size) and CX (67h).
function counter(width) {
  return (ctx) => {
    const c = ctx.pick([0, 1, 2, 3, 0x10000, 0x10001, 0xffff, 0xffffffff, ctx.u32(), ctx.below(16)]);
    ctx.regs[1] = width === 16 ? ((ctx.u32() & 0xffff0000) | (c & 0xffff)) >>> 0 : c >>> 0;
    ctx.used.add(1);
  };
}
for (const [op, a16] of [['loop', 0], ['loope', 0], ['loopne', 0], ['loop', 1], ['loope', 1], ['loopne', 1]]) {
  const pre = a16 ? 'a16 ' : '';
  forms.push(form(`${op} rel8${a16 ? ' (cx, 67h)' : ''}`, (ctx) => {
    counter(a16 ? 16 : 32)(ctx);
    const r = marker(ctx);
    return `${pre}${op} .t\nlea ${r}, [${r}+1]\n.t:`;
  }, { text: `${pre}${op} .t` }));
}
forms.push(form('loop rel8 (backward, counts down)', (ctx) => {
  ctx.regs[1] = 1 + ctx.below(40); ctx.used.add(1);
  const r = marker(ctx);
  return `.b: lea ${r}, [${r}+3]\nloop .b`;
}, { text: '.b: ... loop .b' }));
forms.push(form('jecxz rel8', (ctx) => { counter(32)(ctx); const r = marker(ctx); return `jecxz .t\nlea ${r}, [${r}+1]\n.t:`; }, { text: 'jecxz .t' }));
forms.push(form('jcxz rel8 (67h)', (ctx) => { counter(16)(ctx); const r = marker(ctx); return `a16 jcxz .t\nlea ${r}, [${r}+1]\n.t:`; }, { text: 'jcxz .t' }));

// Traps and faults raised on purpose.
forms.push(form('int3', 'int3', { faults: 'always' }));
forms.push(form('int 3 (CD 03)', 'int 3', { faults: 'always' }));
forms.push(form('into', 'into', { faults: 'sometimes' }));
// INT1 (F1) is left out: under the KVM host these vectors are made on, the reported EIP points
// at the instruction instead of after it (a hypervisor artefact, not the architecture).

// BOUND: the index inside, at the edges of, or outside [lower, upper] (#BR).
for (const w of [16, 32]) {
  forms.push(form(`bound r${w}, m${w}&${w}`, `bound {r${w}}, {m}`, {
    memBytes: w / 4,
    faults: 'sometimes',
    setup: (ctx, asm) => {
      const reg = ctx.operand(asm, 0, w);
      const bytes = w / 8;
      const sx = (v) => (w === 16 ? (v << 16) >> 16 : v | 0);
      let lo = sx(ctx.val(w)), hi = sx(ctx.val(w));
      if (lo > hi && ctx.chance(0.7)) [lo, hi] = [hi, lo];
      ctx.poke(ctx.memAddr, bytes, lo);
      ctx.poke(ctx.memAddr + bytes, bytes, hi);
      const pick = ctx.pick([lo, hi, lo - 1, hi + 1, lo + ctx.below(Math.max(1, Math.min(hi - lo + 1, 1000))), ctx.val(w)]);
      reg.set(pick);
    },
  }));
}

export default { name: 'control', forms };
