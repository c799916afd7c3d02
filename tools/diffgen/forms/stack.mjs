// PUSH and POP (registers, memory, immediates), PUSHA/POPA, PUSHF/POPF, ENTER, LEAVE.
import { form, twoRegs, hex8 } from './util.mjs';
import { REGS32, LAYOUT, TF } from '../cases.mjs';

const forms = [];

// Random dwords at and above ESP, for the pops.
function stackValues(ctx, n = 12) {
  for (let k = 0; k < n; k++) ctx.poke(LAYOUT.stackTop + 4 * k, 4, ctx.val(32));
}
// ESP at a random dword (or word) near the default top, inside the window.
function espNear(ctx, align = 4) {
  ctx.regs[4] = LAYOUT.stackTop + align * (ctx.below(9) - 4);
  ctx.used.add(4);
}

forms.push(form('push r32', 'push {r32}'));
forms.push(form('push r16', 'push {r16}'));
forms.push(form('push r/m32 (FF /6, reg)', (ctx) => { const { a, an } = twoRegs(ctx, 32); return `db 0xff, ${hex8(0xf0 | a)} ; push ${an}`; }));
forms.push(form('push r/m16 (FF /6, reg)', (ctx) => { const { a, an } = twoRegs(ctx, 16); return `db 0x66, 0xff, ${hex8(0xf0 | a)} ; push ${an}`; }));
forms.push(form('push r/m32 (mem)', 'push {m32}', { memOpts: { noStack: true } }));
forms.push(form('push r/m16 (mem)', 'push {m16}', { memOpts: { noStack: true } }));
forms.push(form('push r/m32 (mem, [esp+d])', (ctx) => `push dword [esp${ctx.pick(['', '+4', '+8', '-4', '+60'])}]`, { setup: (ctx) => stackValues(ctx) }));
forms.push(form('push imm32', 'push strict dword {i32}'));
forms.push(form('push imm8 (6A)', 'push byte {s8}'));
forms.push(form('push imm16 (66 68)', 'push strict word {i16}'));
forms.push(form('push imm8 (66 6A)', 'push word {s8}'));
forms.push(form('push esp', 'push esp', { setup: (ctx) => espNear(ctx) }));
forms.push(form('push sp (66)', 'push sp', { setup: (ctx) => espNear(ctx, 2) }));

forms.push(form('pop r32', 'pop {r32}', { setup: (ctx) => stackValues(ctx) }));
forms.push(form('pop r16', 'pop {r16}', { setup: (ctx) => stackValues(ctx) }));
forms.push(form('pop r/m32 (8F /0, reg)', (ctx) => { const { a, an } = twoRegs(ctx, 32); return `db 0x8f, ${hex8(0xc0 | a)} ; pop ${an}`; }, { setup: (ctx) => stackValues(ctx) }));
forms.push(form('pop r/m16 (8F /0, reg)', (ctx) => { const { a, an } = twoRegs(ctx, 16); return `db 0x66, 0x8f, ${hex8(0xc0 | a)} ; pop ${an}`; }, { setup: (ctx) => stackValues(ctx) }));
forms.push(form('pop r/m32 (mem)', 'pop {m32}', { memOpts: { noStack: true }, setup: (ctx) => stackValues(ctx) }));
forms.push(form('pop r/m16 (mem)', 'pop {m16}', { memOpts: { noStack: true }, setup: (ctx) => stackValues(ctx) }));
// POP [ESP+d]: the address is computed with ESP already incremented.
forms.push(form('pop r/m32 (mem, [esp+d])', (ctx) => `pop dword [esp${ctx.pick(['', '+4', '+8', '-4', '-8', '+56'])}]`, { setup: (ctx) => stackValues(ctx) }));
forms.push(form('pop esp', 'pop esp', { setup: (ctx) => { espNear(ctx); stackValues(ctx); } }));
forms.push(form('pop sp (66)', 'pop sp', { setup: (ctx) => { espNear(ctx, 2); stackValues(ctx); } }));

forms.push(form('pushad', 'pushad', { setup: (ctx) => { for (let r = 0; r < 8; r++) if (r !== 4) ctx.regs[r] = ctx.val(32); espNear(ctx); } }));
forms.push(form('pushaw (66)', 'pushaw', { setup: (ctx) => { for (let r = 0; r < 8; r++) if (r !== 4) ctx.regs[r] = ctx.val(32); espNear(ctx, 2); } }));
forms.push(form('popad', 'popad', { setup: (ctx) => { espNear(ctx); stackValues(ctx, 14); } }));
forms.push(form('popaw (66)', 'popaw', { setup: (ctx) => { espNear(ctx, 2); stackValues(ctx, 14); } }));

// PUSHF/POPF at CPL 3 with IOPL 0: IF and IOPL are ignored by POPF, VM/RF are never pushed.
forms.push(form('pushfd', 'pushfd', { setup: (ctx) => espNear(ctx) }));
forms.push(form('pushfw (66)', 'pushfw', { setup: (ctx) => espNear(ctx, 2) }));
function flagsImage(ctx) {
  espNear(ctx);
  stackValues(ctx);
  // any bits, TF excepted (it would single-step the harness itself)
  ctx.poke(ctx.regs[4], 4, ctx.u32() & ~TF);
}
forms.push(form('popfd', 'popfd', { setup: flagsImage }));
forms.push(form('popfw (66)', 'popfw', { setup: flagsImage }));
forms.push(form('pushfd; popfd round trip', (ctx) => `pushfd\nxor dword [esp], 0x${((ctx.u32() & ~TF) >>> 0).toString(16)}\npopfd\npushfd`, { setup: (ctx) => espNear(ctx) }));

// ENTER: frame sizes small and large, nesting levels 0..31 (copying frame pointers from EBP).
function enterSetup(osz) {
  return (ctx) => {
    espNear(ctx);
    stackValues(ctx);
    const lvl = ctx.enterLevel % 32;
    // EBP points into the window with room for the frame pointers copied from below it
    const lo = LAYOUT.stackWindow + osz * lvl, hi = LAYOUT.stackWindow + LAYOUT.window - 4;
    ctx.regs[5] = ctx.chance(0.2) && lvl < 2 ? ctx.u32() : lo + ctx.below(Math.max(1, hi - lo));
    ctx.used.add(5);
    // the copy reads from above the new frame; start from a zeroed area below ESP for clarity
  };
}
for (const [osz, pre] of [[4, ''], [2, 'o16 ']]) {
  forms.push(form(`enter imm16, imm8${osz === 2 ? ' (66)' : ''}`, (ctx) => {
    ctx.enterLevel = ctx.pick([0, 0, 1, 1, 2, 3, 4, 5, 7, ctx.below(32), ctx.below(256)]);
    const size = ctx.pick([0, 4, 8, 16, 0x100, 0xffc, ctx.below(64)]);
    return `${pre}enter ${size}, ${ctx.enterLevel}`;
  }, { setup: enterSetup(osz) }));
  forms.push(form(`leave${osz === 2 ? ' (66)' : ''}`, `${pre}leave`, {
    setup: (ctx) => {
      stackValues(ctx);
      // now and then high EBP bits that 16-bit LEAVE must still use for ESP (pointing at a range
      // the host process never maps, so the #PF is reproducible)
      ctx.regs[5] = ((ctx.chance(0.1) ? (0x0040 + ctx.below(0x700)) << 16 : 0) | (LAYOUT.stackTop + 2 * ctx.below(20) - 8)) >>> 0;
      if (osz === 4) ctx.regs[5] = LAYOUT.stackTop + 4 * ctx.below(10) - 8;
      ctx.used.add(5);
    },
    faults: osz === 2 ? 'sometimes' : 'never',
  }));
}

export default { name: 'stack', forms };
