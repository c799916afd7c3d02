// MOVS CMPS STOS LODS SCAS on bytes, words and dwords, with no prefix, REP/REPE and REPNE,
// source segment overrides (DS ES SS CS), 16-bit addressing (67h) and both directions.
import { form } from './util.mjs';
import { LAYOUT, DF } from '../cases.mjs';

const forms = [];
const OPS = ['movs', 'cmps', 'stos', 'lods', 'scas'];
const SUF = { 1: 'b', 2: 'w', 4: 'd' };
const ACC = { 1: 'al', 2: 'ax', 4: 'eax' };
const USES = { movs: 'sd', cmps: 'sd', stos: 'd', lods: 's', scas: 'd' };

// Places ESI/EDI/ECX so that every element the instruction touches lies in the window,
// except for a few cases with a huge count that run off the page on purpose (#PF).
function place(op, sz, rep, a16) {
  return (ctx) => {
    const lo = ctx.dataAddr, win = LAYOUT.window;
    const down = ctx.chance(0.35);
    ctx.setFlags(down ? DF : 0, down ? 0 : DF);
    const two = USES[op].length === 2;
    let n = 1;
    if (rep) {
      n = ctx.pick([0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, ctx.below(Math.floor((two ? 60 : 120) / sz) + 1)]);
      n = Math.min(n, Math.floor((two ? 60 : 120) / sz));
    }
    const span = Math.max(n, 1) * sz;
    const start = (room) => {
      // first element address for the chosen direction
      const first = lo + ctx.below(room - span + 1);
      return down ? first + span - sz : first;
    };
    let src, dst;
    if (two) {
      if (ctx.chance(0.25)) {
        // overlapping source and destination, a few bytes apart
        const base = start(win - 8) + 4;
        src = base; dst = base + ctx.pick([-sz, sz, 1, -1, 2, 3, 0]);
      } else {
        const sFirst = ctx.chance(0.5);
        src = start(win / 2) + (sFirst ? 0 : win / 2);
        dst = start(win / 2) + (sFirst ? win / 2 : 0);
      }
    } else {
      src = dst = start(win);
    }
    let ecx = rep ? n : ctx.u32();
    const huge = rep && ctx.chance(0.05) && op !== 'lods';
    if (huge) ecx = ctx.pick([0xffffffff, 0x10000, 0x8000]);
    if (a16) {
      const hi = () => ctx.u32() & 0xffff0000;
      ctx.setReg('esi', (hi() | (src & 0xffff)) >>> 0);
      ctx.setReg('edi', (hi() | (dst & 0xffff)) >>> 0);
      ctx.setReg('ecx', rep ? ((hi() | (ecx & 0xffff)) >>> 0) : ecx);
    } else {
      ctx.setReg('esi', src); ctx.setReg('edi', dst); ctx.setReg('ecx', ecx);
    }
    // Contents: CMPS/SCAS get runs of equal elements so REPE/REPNE stop at interesting places.
    if (op === 'cmps') {
      for (let k = 0; k < n; k++) {
        const off = down ? -k * sz : k * sz;
        if (dst + off < lo || dst + off + sz > lo + win || src + off < lo || src + off + sz > lo + win) break;
        const v = ctx.chance(0.85) ? ctx.peek(src + off, sz) : ctx.val(sz * 8);
        ctx.poke(dst + off, sz, v);
      }
    } else if (op === 'scas') {
      const a = ctx.val(sz * 8);
      ctx.setReg(ACC[sz], a);
      const same = ctx.chance(0.5);
      for (let k = 0; k < n; k++) {
        const off = down ? -k * sz : k * sz;
        if (dst + off < lo || dst + off + sz > lo + win) break;
        const eq = ctx.chance(0.1) ? !same : same;
        ctx.poke(dst + off, sz, eq ? a : ctx.val(sz * 8));
      }
    } else if (op === 'stos') {
      ctx.setReg(ACC[sz], ctx.regVal(sz * 8));
    }
  };
}

const keep = { keep: [1, 6, 7] };
for (const op of OPS) {
  for (const sz of [1, 2, 4]) {
    const ins = op + SUF[sz];
    for (const [pre, label] of [['', ''], ['rep ', 'rep '], ['repne ', 'repne ']]) {
      const name = label === 'rep ' && (op === 'cmps' || op === 'scas') ? 'repe ' : label;
      forms.push(form(`${name}${ins}`, `${pre}${ins}`, { ...keep, setup: place(op, sz, pre !== ''), faults: pre ? 'sometimes' : 'never' }));
    }
  }
}
// Source segment overrides (the destination is always ES:EDI).
for (const op of ['movs', 'cmps', 'lods']) {
  for (const sreg of ['es', 'ss', 'cs', 'ds']) {
    forms.push(form(`${op} with ${sreg}: override`, (ctx) => {
      ctx.sz = ctx.pick([1, 2, 4]); ctx.rep = ctx.chance(0.5);
      return `${sreg} ${ctx.rep ? 'rep ' : ''}${op}${SUF[ctx.sz]}`;
    }, { ...keep, setup: (ctx) => place(op, ctx.sz, ctx.rep)(ctx), faults: 'sometimes', text: `${sreg} rep? ${op}` }));
  }
}
// A CS override on the destination-less STOS is ignored; CS can never be written.
forms.push(form('stos with cs: override (ignored)', (ctx) => { ctx.sz = ctx.pick([1, 2, 4]); return `cs stos${SUF[ctx.sz]}`; },
  { ...keep, setup: (ctx) => place('stos', ctx.sz, false)(ctx) }));
// 16-bit addressing: SI, DI and CX.
for (const op of OPS) {
  forms.push(form(`${op} (67h: si/di/cx)`, (ctx) => {
    ctx.sz = ctx.pick([1, 2, 4]); ctx.rep = ctx.chance(0.7);
    return `a16 ${ctx.rep ? 'rep ' : ''}${op}${SUF[ctx.sz]}`;
  }, { ...keep, low: true, setup: (ctx) => place(op, ctx.sz, ctx.rep, true)(ctx), faults: 'sometimes', text: `a16 rep? ${op}` }));
}

export default { name: 'string', forms };
