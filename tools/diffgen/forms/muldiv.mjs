// MUL, IMUL (one, two and three operands), DIV and IDIV including the #DE cases.
import { form, SIZES } from './util.mjs';
import { mask } from '../cases.mjs';

const forms = [];
const ACC = { 8: ['al', 'ah'], 16: ['ax', 'dx'], 32: ['eax', 'edx'] };

// MUL/IMUL: the accumulator gets an edge or random value; EDX is clobbered, so random too.
function mulSetup(w) {
  return (ctx) => { ctx.setReg(ACC[w][0], ctx.val(w)); if (w > 8) ctx.setReg(ACC[w][1], ctx.u32()); };
}

// DIV/IDIV: mostly quotients that fit, some divide-by-zero and some overflows, on purpose.
function divSetup(w, signed) {
  return (ctx, asm) => {
    const m = BigInt(mask(w));
    const wb = BigInt(w);
    // find the divisor the template chose
    const divisor = ctx.divisorOf(asm, w);
    let d = BigInt(divisor.value);
    const r = ctx.rng.next();
    const toS = (v, bits) => (v >= (1n << (bits - 1n)) ? v - (1n << bits) : v);
    let dividend;
    if (r < 0.08) { divisor.set(0); d = 0n; dividend = BigInt(ctx.u32()) << 32n | BigInt(ctx.u32()); }
    else if (r < 0.2) dividend = BigInt(ctx.u32()) << 32n | BigInt(ctx.u32());           // often overflows
    else if (r < 0.3) { dividend = signed ? (1n << (2n * wb - 1n)) : (m << wb); }          // extremes
    else {
      if (d === 0n) { divisor.set(1); d = 1n; }
      const ds = signed ? toS(d, wb) : d;
      const qmax = signed ? (1n << (wb - 1n)) : (1n << wb);
      let q = BigInt(ctx.u32()) % qmax;
      if (signed && ctx.chance(0.5)) q = -q;
      if (ctx.chance(0.15)) q = signed ? (ctx.chance(0.5) ? qmax - 1n : -qmax) : qmax - 1n;
      const ads = ds < 0n ? -ds : ds;
      let rem = ads > 1n ? BigInt(ctx.u32()) % ads : 0n;
      const prod = q * ds;
      if (prod < 0n || (prod === 0n && signed && ctx.chance(0.5))) rem = -rem;
      dividend = prod + rem;
    }
    dividend &= (1n << (2n * wb)) - 1n;
    const lo = Number(dividend & m), hi = Number((dividend >> wb) & m);
    if (w === 8) ctx.setReg('ax', (hi << 8) | lo);
    else { ctx.setReg(ACC[w][0], lo); ctx.setReg(ACC[w][1], hi); }
  };
}

for (const s of SIZES) {
  const w = s.w;
  const keep = w === 8 ? [0] : [0, 2];
  for (const op of ['mul', 'imul']) {
    forms.push(form(`${op} r/m${w} (reg)`, `${op} {${s.r}}`, { keep, setup: mulSetup(w) }));
    forms.push(form(`${op} r/m${w} (mem)`, `${op} {${s.m}}`, { keep, setup: mulSetup(w) }));
  }
  for (const op of ['div', 'idiv']) {
    const setup = divSetup(w, op === 'idiv');
    forms.push(form(`${op} r/m${w} (reg)`, `${op} {${s.r}}`, { keep, setup, faults: 'sometimes', divisor: true }));
    forms.push(form(`${op} r/m${w} (mem)`, `${op} {${s.m}}`, { keep, setup, faults: 'sometimes', divisor: true }));
  }
}
for (const w of [16, 32]) {
  const r = `r${w}`, m = `m${w}`, kw = w === 16 ? 'word' : 'dword', i = `i${w}`;
  forms.push(form(`imul r${w}, r/m${w} (reg)`, `imul {${r}}, {${r}}`));
  forms.push(form(`imul r${w}, r/m${w} (mem)`, `imul {${r}}, {${m}}`));
  forms.push(form(`imul r${w}, r/m${w}, imm8 (reg)`, `imul {${r}}, {${r}}, byte {s8}`));
  forms.push(form(`imul r${w}, r/m${w}, imm8 (mem)`, `imul {${r}}, {${m}}, byte {s8}`));
  forms.push(form(`imul r${w}, r/m${w}, imm${w} (reg)`, `imul {${r}}, {${r}}, strict ${kw} {${i}}`));
  forms.push(form(`imul r${w}, r/m${w}, imm${w} (mem)`, `imul {${r}}, {${m}}, strict ${kw} {${i}}`));
}

export default { name: 'muldiv', forms };
