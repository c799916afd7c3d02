// DAA DAS AAA AAS (every AL with every AF/CF), AAM and AAD with base 10 and other bases.
import { form } from './util.mjs';
import { AF, CF } from '../cases.mjs';

const forms = [];
// Case i covers AL = i & 0xff with CF = bit 8 and AF = bit 9 of i: all 1024 inputs.
function exhaustive(ctx) {
  const i = ctx.i;
  ctx.setReg('al', i & 0xff);
  ctx.setReg('ah', ctx.val(8));
  ctx.setFlags((i & 0x100 ? CF : 0) | (i & 0x200 ? AF : 0), (i & 0x100 ? 0 : CF) | (i & 0x200 ? 0 : AF));
}
for (const op of ['daa', 'das', 'aaa', 'aas']) forms.push(form(op, op, { count: 1024, setup: exhaustive }));

function axRandom(ctx) { ctx.setReg('ax', ctx.chance(0.5) ? ctx.val(16) : ctx.u32() & 0xffff); }
forms.push(form('aam (base 10)', 'aam', { setup: axRandom }));
forms.push(form('aad (base 10)', 'aad', { setup: axRandom }));
// Other bases: the immediate is any byte; AAM 0 raises #DE.
forms.push(form('aam imm8', (ctx) => `aam ${ctx.chance(0.1) ? 0 : ctx.val(8)}`, { setup: axRandom, faults: 'sometimes' }));
forms.push(form('aad imm8', (ctx) => `aad ${ctx.val(8)}`, { setup: axRandom }));

export default { name: 'bcd', forms };
