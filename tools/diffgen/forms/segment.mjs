// Segment registers at CPL 3: MOV to/from Sreg, PUSH/POP Sreg, LDS LES LFS LGS LSS, and the
// selector checks ARPL, LAR, LSL, VERR, VERW. Only selectors whose descriptors the vector
// header describes are used (0x23 code, 0x2b data, 0x63 the thread segment), plus null and
// LDT selectors (there is no LDT), so the outcome depends on nothing else in the GDT.
import { form } from './util.mjs';
import { LAYOUT } from '../cases.mjs';

const forms = [];
const SEL_OK = [0x2b, 0x2b, 0x2b, 0x28, 0x29, 0x2a, 0x23, 0x63, 0];
const SEL_ANY = [...SEL_OK, 0x20, 0x21, 1, 3, 0x27, 0x2f, 0x67];
// 0x63 is the host's thread segment with a non-zero base: as SS it would break the harness's
// own stack accesses after the snippet, so SS loads never use it.
const SEL_SS = SEL_ANY.filter((s) => s !== 0x63);
const selector = (ctx, pool) => ((ctx.u32() & 0xffff0000) | ctx.pick(pool)) >>> 0;
const seg = { segs: true, faults: 'sometimes' };
const SREG_LOAD = ['es', 'ss', 'ds', 'fs', 'gs'];

for (const sr of SREG_LOAD) {
  const pool = sr === 'ss' ? SEL_SS : SEL_ANY;
  forms.push(form(`mov ${sr}, r/m16 (reg)`, `mov ${sr}, {r16:s}`, { ...seg, setup: (ctx) => ctx.setReg(ctx.tags.get('s'), selector(ctx, pool) & 0xffff) }));
  forms.push(form(`mov ${sr}, r/m16 (mem)`, `mov ${sr}, {m16}`, { ...seg, setup: (ctx) => ctx.poke(ctx.memAddr, 2, ctx.pick(pool)) }));
  forms.push(form(`pop ${sr}`, `pop ${sr}`, { ...seg, setup: (ctx) => ctx.poke(LAYOUT.stackTop, 4, selector(ctx, pool)) }));
  forms.push(form(`pop ${sr} (66)`, `o16 pop ${sr}`, { ...seg, setup: (ctx) => ctx.poke(LAYOUT.stackTop, 4, selector(ctx, pool)) }));
}
forms.push(form('mov cs, r16 (#UD)', 'db 0x8e, 0xc8 ; mov cs, ax', { faults: 'always' }));
forms.push(form('mov sreg6, r16 (#UD)', 'db 0x8e, 0xf0 ; mov sreg6, ax', { faults: 'always' }));

for (const sr of ['es', 'cs', 'ss', 'ds', 'fs', 'gs']) {
  forms.push(form(`mov r32, ${sr}`, `mov {r32}, ${sr}`, { segs: true }));
  forms.push(form(`mov r16, ${sr} (66)`, `mov {r16}, ${sr}`, { segs: true }));
  forms.push(form(`mov m16, ${sr}`, `mov {m16}, ${sr}`, { segs: true }));
  // Upper half of the slot: zero-extended dword or a word write, depending on the CPU; a
  // zeroed slot makes both read the same.
  forms.push(form(`push ${sr}`, `push ${sr}`, { segs: true, setup: (ctx) => { for (let k = 0; k < 64; k++) ctx.stack[k] = 0; } }));
  forms.push(form(`push ${sr} (66)`, `o16 push ${sr}`, { segs: true }));
}

// Far pointer loads: offset and selector from memory.
for (const sr of ['ds', 'es', 'fs', 'gs', 'ss']) {
  for (const w of [32, 16]) {
    forms.push(form(`l${sr} r${w}, m16:${w}`, `l${sr} {r${w}}, {m}`, {
      ...seg, memBytes: w / 8 + 2,
      setup: (ctx) => { ctx.poke(ctx.memAddr + w / 8, 2, ctx.pick(sr === 'ss' ? [0x2b, 0x2b, 0x2b, 0x28, 0x23, 0] : SEL_ANY)); },
    }));
  }
}

forms.push(form('arpl r/m16, r16 (reg)', 'arpl {r16}, {r16}'));
forms.push(form('arpl r/m16, r16 (mem)', 'arpl {m16}, {r16}'));
for (const op of ['lar', 'lsl']) {
  for (const w of [32, 16]) {
    forms.push(form(`${op} r${w}, r/m16 (reg)`, `${op} {r${w}}, {r${w === 32 ? 32 : 16}:s}`,
      { setup: (ctx) => ctx.setReg(ctx.tags.get('s'), selector(ctx, SEL_ANY)) }));
    forms.push(form(`${op} r${w}, r/m16 (mem)`, `${op} {r${w}}, {m16}`, { setup: (ctx) => ctx.poke(ctx.memAddr, 2, ctx.pick(SEL_ANY)) }));
  }
}
for (const op of ['verr', 'verw']) {
  forms.push(form(`${op} r/m16 (reg)`, `${op} {r16:s}`, { setup: (ctx) => ctx.setReg(ctx.tags.get('s'), selector(ctx, SEL_ANY) & 0xffff) }));
  forms.push(form(`${op} r/m16 (mem)`, `${op} {m16}`, { setup: (ctx) => ctx.poke(ctx.memAddr, 2, ctx.pick(SEL_ANY)) }));
}

export default { name: 'segment', forms };
