// Block compiler: a decoded block that runs often is turned into one JavaScript function. The hot
// forms (fastpath.ts classifies them) become straight-line code with constants folded in; lazy
// flags live in locals and reach the CPU only where something can observe them (a handler call, a
// memory access that may fault, the block's end); a conditional jump reads the flags of the
// instruction before it directly (`cmp a, b; jl` becomes `a < b`). Every other instruction calls its
// handler as the interpreter would. Semantics are those of the interpreter: the differential vectors
// and guest tests run through both (blocks compile after JIT_THRESHOLD runs).
import type { Cpu } from './cpu';
import type { Insn } from './insn';
import type { Block } from './blocks';
import { classify } from './fastpath';
import { getCF, testCond, flushFlags, CF, ARITH, LZ_ADD, LZ_SUB, LZ_LOGIC } from './flags';

/** A compiled block; `limit` is the icount the run may not pass (a self-loop iterates until then). */
export type BlockFn = (c: Cpu, ins: Insn[], limit: number) => void;
export const JIT_THRESHOLD = 40;

/** Helpers the generated code calls (passed in, since generated code cannot import). */
const H = { getCF, testCond, flushFlags };

/** Compile-time knowledge of the arithmetic flags. */
interface FlagState {
  /** Flags are in locals fa/fb/fr (op = LZ_*), CF in fcf when cfLocal. */
  local: boolean;
  op: number;
  /** CF is not lazy: it lives in local fcf (after INC/DEC). */
  cfLocal: boolean;
  /** Locals differ from the CPU's fields. */
  dirty: boolean;
}

const S32 = 0x80000000 | 0;

/** Compile a block of 32-bit code, or return null when it has nothing worth compiling. */
export function compileBlock(b: Block): BlockFn | null {
  const ins = b.insns;
  const n = b.n;
  if (n === 0) return null;
  let fastCount = 0;
  for (let k = 0; k < n; k++) if (ins[k].fast !== 0) fastCount++;
  if (fastCount === 0) return null;

  const out: string[] = ['const r = c.r32; let base = c.icount; let fa = 0, fb = 0, fr = 0, fcf = 0, t = 0;'];
  // A block that ends by jumping back to its own start is a loop: iterate inside the function.
  const lastIns = ins[n - 1];
  const lastName = lastIns.fast !== 0 ? FAST_NAMES[lastIns.fast] : '';
  const loop = /^(jcc|jz|jnz|jmp)$/.test(lastName) && ((lastIns.eip + lastIns.len + lastIns.imm) | 0) === ins[0].eip;
  if (loop) out.push('for (;;) {');
  const st: FlagState = { local: false, op: 0, cfLocal: false, dirty: false };

  const sync = () => {
    if (!st.local || !st.dirty) return;
    if (st.cfLocal) out.push(`c.flags = (c.flags & ${~CF}) | fcf;`);
    out.push(`c.lop = ${st.op}; c.lres = fr; c.la = fa; c.lb = fb; c.lmask = -1; c.lsign = ${S32}; c.lazy = ${st.cfLocal ? ARITH & ~CF : ARITH};`);
    st.dirty = false;
  };
  const forget = () => { st.local = false; st.dirty = false; st.cfLocal = false; };
  const setFlags = (op: number, res: string, a: string, bb: string) => {
    out.push(`fr = ${res}; fa = ${a}; fb = ${bb};`);
    st.local = true; st.op = op; st.cfLocal = false; st.dirty = true;
  };
  /** Before an access that may fault: the CPU must see the flags, EIP and count of this instruction. */
  const faultPoint = (i: Insn, k: number) => {
    sync();
    out.push(`c.curEip = ${i.eip}; c.eip = ${(i.eip + i.len) | 0}; c.icount = base + ${k};`);
  };

  for (let k = 0; k < n; k++) {
    const i = ins[k];
    const next = (i.eip + i.len) | 0;
    const last = k === n - 1;
    const ea = eaExpr(i, k);
    const f = i.fast;
    const R = (x: number) => `r[${x}]`;
    const imm = i.imm | 0;
    switch (f === 0 ? -1 : opName(i)) {
      case 'add_rr': setFlags(LZ_ADD, `(${R(i.fd)} + ${R(i.fs)}) | 0`, R(i.fd), R(i.fs)); out.push(`${R(i.fd)} = fr;`); break;
      case 'sub_rr': setFlags(LZ_SUB, `(${R(i.fd)} - ${R(i.fs)}) | 0`, R(i.fd), R(i.fs)); out.push(`${R(i.fd)} = fr;`); break;
      case 'cmp_rr': setFlags(LZ_SUB, `(${R(i.fd)} - ${R(i.fs)}) | 0`, R(i.fd), R(i.fs)); break;
      case 'or_rr': setFlags(LZ_LOGIC, `${R(i.fd)} | ${R(i.fs)}`, '0', '0'); out.push(`${R(i.fd)} = fr;`); break;
      case 'and_rr': setFlags(LZ_LOGIC, `${R(i.fd)} & ${R(i.fs)}`, '0', '0'); out.push(`${R(i.fd)} = fr;`); break;
      case 'xor_rr': setFlags(LZ_LOGIC, `${R(i.fd)} ^ ${R(i.fs)}`, '0', '0'); out.push(`${R(i.fd)} = fr;`); break;
      case 'test_rr': setFlags(LZ_LOGIC, `${R(i.fd)} & ${R(i.fs)}`, '0', '0'); break;
      case 'add_ri': setFlags(LZ_ADD, `(${R(i.fd)} + ${imm}) | 0`, R(i.fd), `${imm}`); out.push(`${R(i.fd)} = fr;`); break;
      case 'sub_ri': setFlags(LZ_SUB, `(${R(i.fd)} - ${imm}) | 0`, R(i.fd), `${imm}`); out.push(`${R(i.fd)} = fr;`); break;
      case 'cmp_ri': setFlags(LZ_SUB, `(${R(i.fd)} - ${imm}) | 0`, R(i.fd), `${imm}`); break;
      case 'or_ri': setFlags(LZ_LOGIC, `${R(i.fd)} | ${imm}`, '0', '0'); out.push(`${R(i.fd)} = fr;`); break;
      case 'and_ri': setFlags(LZ_LOGIC, `${R(i.fd)} & ${imm}`, '0', '0'); out.push(`${R(i.fd)} = fr;`); break;
      case 'xor_ri': setFlags(LZ_LOGIC, `${R(i.fd)} ^ ${imm}`, '0', '0'); out.push(`${R(i.fd)} = fr;`); break;
      case 'test_ri': setFlags(LZ_LOGIC, `${R(i.fd)} & ${imm}`, '0', '0'); break;
      case 'add_rm': case 'sub_rm': case 'cmp_rm': {
        faultPoint(i, k);
        out.push(`t = c.read32(${i.seg}, ${ea});`);
        const o = opName(i);
        const op = o === 'add_rm' ? LZ_ADD : LZ_SUB;
        setFlags(op, `(${R(i.fd)} ${o === 'add_rm' ? '+' : '-'} t) | 0`, R(i.fd), 't');
        if (o !== 'cmp_rm') out.push(`${R(i.fd)} = fr;`);
        brkCheck(out, k, next);
        break;
      }
      case 'cmp_mr': faultPoint(i, k); out.push(`t = c.read32(${i.seg}, ${ea});`); setFlags(LZ_SUB, `(t - ${R(i.fs)}) | 0`, 't', R(i.fs)); brkCheck(out, k, next); break;
      case 'cmp_mi': faultPoint(i, k); out.push(`t = c.read32(${i.seg}, ${ea});`); setFlags(LZ_SUB, `(t - ${imm}) | 0`, 't', `${imm}`); brkCheck(out, k, next); break;
      case 'inc': case 'dec': {
        // CF survives INC/DEC: take it from the known flags or from the CPU.
        if (st.local && !st.cfLocal) out.push(`fcf = ${cfExpr(st.op)} ? 1 : 0;`);
        else if (!st.local) out.push('fcf = H.getCF(c) ? 1 : 0;');
        const inc = opName(i) === 'inc';
        out.push(`fa = ${R(i.fd)}; fr = (fa ${inc ? '+' : '-'} 1) | 0; fb = 1; ${R(i.fd)} = fr;`);
        st.local = true; st.op = inc ? LZ_ADD : LZ_SUB; st.cfLocal = true; st.dirty = true;
        break;
      }
      case 'shift_ri': {
        const cnt = i.entry.operands[1] === '1' ? 1 : i.imm & 31;
        if (cnt === 0) break; // no change at all, not even flags
        const kind = i.entry.sub, d = R(i.fd);
        if (kind === 0 || kind === 1) {
          // Rotates change only CF and OF: the other flags must be materialised first.
          sync();
          forget();
          const res = kind === 0 ? `(t << ${cnt}) | (t >>> ${32 - cnt})` : `(t >>> ${cnt}) | (t << ${32 - cnt})`;
          const cf = kind === 0 ? 'fr & 1' : '(fr >>> 31)';
          const of = kind === 0 ? '((fr >>> 31) ^ fr) & 1' : '((fr >>> 31) ^ (fr >>> 30)) & 1';
          out.push(`t = ${d}; fr = ${res}; ${d} = fr; H.flushFlags(c); c.flags = (c.flags & ${~(CF | 0x800)}) | (${cf}) | ((${of}) << 11);`);
          break;
        }
        // Shifts define all six flags (AF cleared): earlier lazy state is simply replaced.
        let res: string, cf: string, of: string;
        if (kind === 5) { res = `t >>> ${cnt}`; cf = `(t >>> ${cnt - 1}) & 1`; of = '(t >>> 31) & 1'; }
        else if (kind === 7) { res = `t >> ${cnt}`; cf = `(t >> ${cnt - 1}) & 1`; of = '0'; }
        else { res = `t << ${cnt}`; cf = `(t >>> ${32 - cnt}) & 1`; of = `((fr >>> 31) ^ (t >>> ${32 - cnt})) & 1`; }
        forget();
        out.push(`t = ${d}; fr = (${res}) | 0; ${d} = fr; c.flags = (c.flags & ${~(CF | 0x800 | 0x10)}) | (${cf}) | ((${of}) << 11); c.lop = ${LZ_LOGIC}; c.lres = fr; c.la = 0; c.lb = 0; c.lmask = -1; c.lsign = ${S32}; c.lazy = 0xc4;`);
        break;
      }
      case 'mov_rr': out.push(`${R(i.fd)} = ${R(i.fs)};`); break;
      case 'mov_ri': out.push(`${R(i.fd)} = ${imm};`); break;
      case 'lea': out.push(`${R(i.fd)} = ${ea};`); break;
      case 'mov_rm': faultPoint(i, k); out.push(`${R(i.fd)} = c.read32(${i.seg}, ${ea});`); brkCheck(out, k, next); break;
      case 'movzx_rm8': faultPoint(i, k); out.push(`${R(i.fd)} = c.read8(${i.seg}, ${ea});`); brkCheck(out, k, next); break;
      case 'mov_mr': case 'mov_mi': {
        faultPoint(i, k);
        out.push(`c.write32(${i.seg}, ${ea}, ${opName(i) === 'mov_mr' ? R(i.fs) : imm});`);
        brkCheck(out, k, next);
        break;
      }
      case 'push': faultPoint(i, k); out.push(`c.push32(${R(i.fs)});`); brkCheck(out, k, next); break;
      case 'pop': faultPoint(i, k); out.push(`t = c.pop32(); ${R(i.fd)} = t;`); brkCheck(out, k, next); break;
      case 'jcc': case 'jz': case 'jnz': case 'jmp': case 'call': case 'ret': {
        // Last in a block, except a direct CALL/JMP the block follows to its target.
        const name = opName(i);
        const target = (next + imm) | 0;
        if (name === 'jmp') {
          if (!last) break; // the block continues at the target (blocks.ts followed it)
          sync();
          if (loop) out.push(`base += ${n}; c.icount = base; if (c.brk || base + ${n} > limit || base >= c.nextEventAt) { c.eip = ${target}; return; }`, '}');
          else out.push(jump(i, k, `${target}`));
          break;
        }
        if (name === 'call') {
          faultPoint(i, k);
          out.push(`if (${target >>> 0} > (c.segLimit[1] >>> 0)) c.gp(0); c.push32(${next}); c.eip = ${target};`);
          if (!last) brkCheck(out, k, target);
          break;
        }
        if (name === 'ret') {
          faultPoint(i, k);
          out.push('t = c.getSp(); fa = c.read32(2, t); if ((fa >>> 0) > (c.segLimit[1] >>> 0)) c.gp(0); c.setSp(c.stack32 ? (t + 4) | 0 : (t + 4) & 0xffff); c.eip = fa;');
          break;
        }
        const cc = i.entry.sub;
        const cond = name === 'jz' ? (st.local ? '(fr === 0)' : null) : name === 'jnz' ? (st.local ? '(fr !== 0)' : null) : st.local ? condExpr(st, cc) : null;
        const test = cond ?? `H.testCond(c, ${name === 'jz' ? 4 : name === 'jnz' ? 5 : cc})`;
        sync();
        if (loop) {
          // Taken: next iteration, unless the run must look at something first.
          out.push(`if (!${test}) { c.eip = ${next}; c.icount = base + ${n}; return; }`);
          out.push(`base += ${n}; c.icount = base; if (c.brk || base + ${n} > limit || base >= c.nextEventAt) { c.eip = ${target}; return; }`);
          out.push('}');
        } else {
          out.push(`if (${test}) { ${jump(i, k, `${target}`)} } else c.eip = ${next};`);
        }
        break;
      }
      default: {
        // Not a fast form: call the handler as the interpreter does.
        sync();
        forget();
        out.push(`c.curEip = ${i.eip}; c.eip = ${next}; c.icount = base + ${k}; ins[${k}].exec(c, ins[${k}]);`);
        if (!last) out.push(`if (c.brk) { c.icount = base + ${k + 1}; return; }`);
        break;
      }
    }
    const wrote = i.fast !== 0 && /^(jcc|jz|jnz|jmp|call|ret)$/.test(opName(i));
    if (last && !wrote && i.fast !== 0) out.push(`c.eip = ${next};`);
  }
  if (!loop) {
    sync();
    out.push(`c.icount = base + ${n};`);
  }
  const body = out.join('\n');
  const make = new Function('H', `return function block(c, ins, limit) {\n${body}\n};`) as (h: typeof H) => BlockFn;
  return make(H);
}

/** After an access that may have hit code or a watched page: leave the block if something asked to. */
function brkCheck(out: string[], k: number, next: number): void {
  out.push(`if (c.brk) { ${k === 0 ? '' : ''}c.icount = base + ${k + 1}; c.eip = ${next}; return; }`);
}

function jump(i: Insn, k: number, target: string): string {
  return `if ((${target} >>> 0) > (c.segLimit[1] >>> 0)) { c.curEip = ${i.eip}; c.icount = base + ${k}; c.gp(0); } c.eip = ${target};`;
}

/** Effective address as an expression (32-bit addressing inlined, else the record's function). */
function eaExpr(i: Insn, k: number): string {
  if (!i.mem) return '0';
  if (!i.a32) return `ins[${k}].ea(c, ins[${k}])`;
  const parts: string[] = [];
  if (i.base >= 0) parts.push(`r[${i.base}]`);
  if (i.index >= 0) parts.push(i.scale ? `(r[${i.index}] << ${i.scale})` : `r[${i.index}]`);
  if (i.disp !== 0 || parts.length === 0) parts.push(`${i.disp | 0}`);
  return parts.length === 1 && i.base < 0 && i.index < 0 ? `${i.disp | 0}` : `(${parts.join(' + ')}) | 0`;
}

/** Name of the fast form (from the classification's numbering). */
function opName(i: Insn): string {
  return FAST_NAMES[i.fast];
}

// Indexed by fastpath.ts's F_* numbers.
const FAST_NAMES = [
  'none', 'add_rr', 'or_rr', 'and_rr', 'sub_rr', 'xor_rr', 'cmp_rr', 'test_rr',
  'add_ri', 'or_ri', 'and_ri', 'sub_ri', 'xor_ri', 'cmp_ri', 'test_ri',
  'add_rm', 'sub_rm', 'cmp_rm', 'inc', 'dec',
  'mov_rr', 'mov_ri', 'mov_rm', 'mov_mr', 'mov_mi', 'lea',
  'jcc', 'jz', 'jnz', 'jmp', 'call', 'ret', 'push', 'pop',
  'movzx_rm8', 'cmp_mr', 'cmp_mi', 'shift_ri',
];

function cfExpr(op: number): string {
  if (op === LZ_ADD) return '((fr >>> 0) < (fa >>> 0))';
  if (op === LZ_SUB) return '((fa >>> 0) < (fb >>> 0))';
  return 'false';
}

/** A condition computed from the flag locals, or null when it needs the general path (PF). */
function condExpr(st: FlagState, cc: number): string | null {
  const op = st.op;
  const zf = '(fr === 0)', sf = '(fr < 0)';
  const cf = st.cfLocal ? '(fcf !== 0)' : cfExpr(op);
  const of = op === LZ_ADD ? '(((fa ^ fr) & (fb ^ fr)) < 0)' : op === LZ_SUB ? '(((fa ^ fb) & (fa ^ fr)) < 0)' : 'false';
  // With all flags from one SUB (CMP), the signed and unsigned orders are plain comparisons.
  const sub = op === LZ_SUB && !st.cfLocal;
  switch (cc) {
    case 0: return of;
    case 1: return `!${of}`;
    case 2: return sub ? '((fa >>> 0) < (fb >>> 0))' : cf;
    case 3: return sub ? '((fa >>> 0) >= (fb >>> 0))' : `!${cf}`;
    case 4: return zf;
    case 5: return `!${zf}`;
    case 6: return sub ? '((fa >>> 0) <= (fb >>> 0))' : `(${cf} || ${zf})`;
    case 7: return sub ? '((fa >>> 0) > (fb >>> 0))' : `(!${cf} && !${zf})`;
    case 8: return sf;
    case 9: return `!${sf}`;
    case 12: return op === LZ_SUB ? '(fa < fb)' : `(${sf} !== ${of})`;
    case 13: return op === LZ_SUB ? '(fa >= fb)' : `(${sf} === ${of})`;
    case 14: return op === LZ_SUB ? '(fa <= fb)' : `(${zf} || ${sf} !== ${of})`;
    case 15: return op === LZ_SUB ? '(fa > fb)' : `(!${zf} && ${sf} === ${of})`;
    default: return null;
  }
}

export { classify };
