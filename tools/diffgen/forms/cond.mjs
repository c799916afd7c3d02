// Jcc (rel8, rel32), SETcc and CMOVcc for all sixteen conditions, under random flags.
import { form, CONDS } from './util.mjs';
import { REGS32 } from '../cases.mjs';

const forms = [];

// The fall-through path bumps a marker register with LEA (flags untouched), so the final
// state says whether the branch was taken; both paths end at the end of the snippet.
function branch(jump) {
  return (ctx) => {
    const r = REGS32[ctx.freeReg()];
    return `${jump} .t\nlea ${r}, [${r}+1]\n.t:`;
  };
}
function backward(jump) {
  return (ctx) => {
    const r = REGS32[ctx.freeReg()];
    return `jmp short .a\n.b: lea ${r}, [${r}+2]\njmp short .e\n.a: ${jump} .b\nlea ${r}, [${r}+1]\n.e:`;
  };
}

for (const cc of CONDS) {
  forms.push(form(`j${cc} rel8`, branch(`j${cc} short`), { text: `j${cc} short .t` }));
  forms.push(form(`j${cc} rel32`, branch(`j${cc} near`), { text: `j${cc} near .t` }));
  forms.push(form(`j${cc} rel8 (backward)`, backward(`j${cc} short`), { text: `j${cc} short .b (backward)`, count: 200 }));
  forms.push(form(`set${cc} r/m8 (reg)`, `set${cc} {r8}`));
  forms.push(form(`set${cc} r/m8 (mem)`, `set${cc} {m8}`));
  forms.push(form(`cmov${cc} r32, r/m32 (reg)`, `cmov${cc} {r32}, {r32}`));
  forms.push(form(`cmov${cc} r16, r/m16 (reg)`, `cmov${cc} {r16}, {r16}`));
  forms.push(form(`cmov${cc} r32, r/m32 (mem)`, `cmov${cc} {r32}, {m32}`));
}
// A CMOV memory source is read whether or not the condition holds, so a bad address faults.
forms.push(form('cmovcc r32, m32 (unmapped source)', (ctx) => {
  const cc = ctx.pick(CONDS);
  return `cmov${cc} {r32}, [0x${(0x00400000 + ctx.below(0x1000)).toString(16)}]`;
}, { faults: 'always' }));

export default { name: 'cond', forms };
