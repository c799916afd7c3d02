// BT BTS BTR BTC (register and immediate offsets, register and memory bases), BSF BSR, BSWAP.
import { form } from './util.mjs';

const forms = [];

// A register bit offset into memory reaches outside the operand: choose it so that the word
// or dword touched stays inside the recorded window, now and then far away (#PF).
function bitOffset(w) {
  return (ctx, asm) => {
    const off = ctx.operand(asm, 1, w);
    const [lo, hi] = ctx.windowOf(ctx.memAddr);
    const unit = w / 8;
    if (ctx.chance(0.05)) {
      // far away, into address ranges the host process never maps (its libraries move with
      // ASLR, so "anywhere" would not give the same #PF twice)
      const target = w === 16 ? ctx.memAddr + ctx.pick([-1, 1]) * (0x800 + ctx.below(0x700))
        : ctx.chance(0.5) ? 0x00400000 + ctx.below(0x03c00000) : 0x00010000 + ctx.below(0xe0000);
      off.set((((target - ctx.memAddr) * 8) | ctx.below(8)) & (w === 16 ? 0xffff : 0xffffffff));
      return;
    }
    const kmin = Math.ceil((lo - ctx.memAddr) / unit), kmax = Math.floor((hi - unit - ctx.memAddr) / unit);
    const k = kmin + ctx.below(kmax - kmin + 1);
    off.set((k * w + ctx.below(w)) & (w === 16 ? 0xffff : 0xffffffff));
  };
}

for (const op of ['bt', 'bts', 'btr', 'btc']) {
  for (const w of [16, 32]) {
    const r = `r${w}`, m = `m${w}`;
    forms.push(form(`${op} r/m${w}, r${w} (reg)`, `${op} {${r}}, {${r}}`, { espOk: true }));
    forms.push(form(`${op} r/m${w}, r${w} (mem)`, `${op} {${m}}, {${r}}`, { setup: bitOffset(w), faults: 'sometimes' }));
    forms.push(form(`${op} r/m${w}, imm8 (reg)`, `${op} {${r}}, {i8}`));
    forms.push(form(`${op} r/m${w}, imm8 (mem)`, `${op} {${m}}, {i8}`));
  }
  if (op !== 'bt') {
    forms.push(form(`lock ${op} m32, r32`, `lock ${op} {m32}, {r32}`, { setup: bitOffset(32), faults: 'sometimes' }));
    forms.push(form(`lock ${op} m16, imm8`, `lock ${op} {m16}, {i8}`));
  }
}
forms.push(form('lock bt m32, r32 (#UD)', 'lock bt {m32}, {r32}', { faults: 'always' }));

// BSF/BSR: a zero source now and then (ZF=1, destination left as it was on this host).
function zeroSource(w) {
  return (ctx, asm) => { if (ctx.chance(0.15)) ctx.operand(asm, 1, w).set(0); };
}
for (const op of ['bsf', 'bsr']) {
  for (const w of [16, 32]) {
    forms.push(form(`${op} r${w}, r/m${w} (reg)`, `${op} {r${w}}, {r${w}}`, { setup: zeroSource(w) }));
    forms.push(form(`${op} r${w}, r/m${w} (mem)`, `${op} {r${w}}, {m${w}}`, { setup: zeroSource(w) }));
  }
}
forms.push(form('bswap r32', 'bswap {r32}', { espOk: true }));

export default { name: 'bits', forms };
