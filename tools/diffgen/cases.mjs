// Builds the initial state and the assembly text of one test case from a form's template.
//
// A template is NASM text with placeholders:
//   {r8} {r16} {r32}        a general register of that size, with an edge or random value
//   {r32:a} ...             the same tag names the same register within one case
//   {m8} {m16} {m32} {m64}  a memory operand with its size keyword ({m} has none) and a random
//                           addressing mode that lands in the DATA window (or stack window)
//   {i8} {i16} {i32}        an immediate of that width (edge or random)
//   {s8}                    a sign-extended 8-bit immediate written as a signed number
//   {c8}                    a shift/rotate count immediate (0..255, edges on purpose)
//   {END}                   the absolute address just past the snippet (for RET, JMP r/m ...)
// Forms with fixed registers in their text (cl, eax, ...) set those values in setup(ctx).
import { Rng } from './rng.mjs';

export const LAYOUT = {
  code: 0x00200000,
  data: 0x00100000,
  low: 0x00008000,
  stackTop: 0x0017f000,
  stackWindow: 0x0017f000 - 64,
  window: 128,
  ret: 0x00300000,
  maps: [
    [0x00008000, 0x1000],
    [0x00100000, 0x1000],
    [0x00170000, 0x10000],
    [0x00200000, 0x1000],
  ],
};

export const REGS32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
export const REGS16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
export const REGS8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200;
export const DF = 0x400, OF = 0x800, NT = 0x4000, AC = 0x40000, ID = 0x200000;
export const ARITH = CF | PF | AF | ZF | SF | OF;

// Values at the edges that make arithmetic interesting, per width.
const EDGES = {
  8: [0, 1, 2, 0x0f, 0x10, 0x3f, 0x40, 0x7e, 0x7f, 0x80, 0x81, 0x99, 0x9a, 0xfe, 0xff],
  16: [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7ffe, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x0fff, 0x1000],
  32: [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7ffffffe, 0x7fffffff,
    0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x55555555, 0xaaaaaaaa],
};
const SHIFT_COUNTS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 63, 64, 65, 0x7f, 0x80, 0xff];

function mask(width) { return width === 32 ? 0xffffffff : (1 << width) - 1; }
function hex(v) { return '0x' + (v >>> 0).toString(16); }

export class CaseContext {
  constructor(rng, index, form) {
    this.rng = rng;
    this.i = index;
    this.form = form;
    this.dataAddr = form.low ? LAYOUT.low : LAYOUT.data;
    this.regs = new Array(8);
    for (let r = 0; r < 8; r++) this.regs[r] = this.bystander();
    this.regs[4] = LAYOUT.stackTop;
    this.eflags = 0x202 | this.randomFlags();
    this.data = patternWindow(0x5a);
    this.stack = patternWindow(0xa5);
    this.used = new Set();        // registers already given a role in this case
    this.tags = new Map();
  }

  u32() { return this.rng.u32(); }
  below(n) { return this.rng.below(n); }
  chance(p) { return this.rng.next() < p; }
  pick(a) { return a[this.rng.below(a.length)]; }

  // Registers without a role keep a recognisable value, drawn from a small pool so that the
  // committed vectors compress well; every role-carrying register gets edge or random values.
  bystander() { return (0x01010101 * (1 + this.rng.below(15))) ^ 0x00800000 * this.rng.below(2); }

  randomFlags() {
    let f = 0;
    for (const b of [CF, PF, AF, ZF, SF, OF]) if (this.chance(0.5)) f |= b;
    if (this.chance(0.25)) f |= DF;
    return f;
  }

  // An operand value of the given width: a quarter edges, the rest spread over magnitudes.
  val(width) {
    const m = mask(width);
    const r = this.rng.next();
    if (r < 0.4) {
      let v = this.pick(EDGES[width]);
      if (this.chance(0.2)) v = (v + this.pick([-1, 1])) & m;
      return v >>> 0;
    }
    if (r < 0.55) return this.rng.below(0x100) & m;       // small
    if (r < 0.65) return (m - this.rng.below(0x100)) >>> 0; // small negative
    return (this.u32() & m) >>> 0;
  }

  // A value for a full 32-bit register whose low `width` bits are an operand value.
  regVal(width) {
    if (width === 32) return this.val(32);
    return ((this.u32() & ~mask(width)) | this.val(width)) >>> 0;
  }

  shiftCount() {
    return this.chance(0.6) ? this.pick(SHIFT_COUNTS) : this.rng.below(256);
  }

  regIndex(name) {
    for (const set of [REGS32, REGS16]) {
      const i = set.indexOf(name);
      if (i >= 0) return i;
    }
    const i = REGS8.indexOf(name);
    if (i >= 0) return i & 3;
    throw new Error(`unknown register ${name}`);
  }

  getReg(name) {
    const i = REGS8.indexOf(name);
    if (i >= 0) return i < 4 ? this.regs[i] & 0xff : (this.regs[i & 3] >>> 8) & 0xff;
    if (REGS16.includes(name)) return this.regs[REGS16.indexOf(name)] & 0xffff;
    return this.regs[REGS32.indexOf(name)] >>> 0;
  }

  setReg(name, v) {
    const i8 = REGS8.indexOf(name);
    if (i8 >= 0) {
      const r = i8 & 3, sh = i8 < 4 ? 0 : 8;
      this.regs[r] = ((this.regs[r] & ~(0xff << sh)) | ((v & 0xff) << sh)) >>> 0;
    } else if (REGS16.includes(name)) {
      const r = REGS16.indexOf(name);
      this.regs[r] = ((this.regs[r] & 0xffff0000) | (v & 0xffff)) >>> 0;
    } else {
      this.regs[REGS32.indexOf(name)] = v >>> 0;
    }
    this.used.add(this.regIndex(name));
  }

  setFlags(set, clear = 0) { this.eflags = ((this.eflags | set) & ~clear) >>> 0; }

  // Memory helpers: addresses are linear; the window is chosen from the address.
  window(addr) {
    if (addr >= this.dataAddr && addr < this.dataAddr + LAYOUT.window) return [this.data, addr - this.dataAddr];
    if (addr >= LAYOUT.stackWindow && addr < LAYOUT.stackWindow + LAYOUT.window) return [this.stack, addr - LAYOUT.stackWindow];
    throw new Error(`address ${hex(addr)} outside the recorded windows`);
  }

  poke(addr, bytes, v) {
    for (let k = 0; k < bytes; k++) {
      const [w, o] = this.window(addr + k);
      w[o] = k < 4 ? (v >>> (8 * k)) & 0xff : this.rng.below(256);
    }
  }

  peek(addr, bytes) {
    let v = 0;
    for (let k = 0; k < bytes; k++) {
      const [w, o] = this.window(addr + k);
      v |= w[o] << (8 * k);
    }
    return v >>> 0;
  }

  // Operand k (0-based) of the first instruction of `asm` as a value with a setter: a
  // register, or the memory operand the template placed (its size from `width`).
  operand(asm, k, width) {
    const line = asm.trim().split('\n')[0].replace(/^(lock|rep\w*)\s+/, '');
    const ops = line.replace(/^\w+\s+/, '').split(',').map((t) => t.trim());
    const op = ops[k];
    const bytes = width / 8;
    if (op.includes('[')) return { value: this.peek(this.memAddr, bytes), set: (v) => this.poke(this.memAddr, bytes, v), mem: true };
    return { value: this.getReg(op), set: (v) => this.setReg(op, v), name: op };
  }

  divisorOf(asm, width) { return this.operand(asm, 0, width); }

  // The window [lo, hi) that holds addr.
  windowOf(addr) {
    if (addr >= this.dataAddr && addr < this.dataAddr + LAYOUT.window) return [this.dataAddr, this.dataAddr + LAYOUT.window];
    return [LAYOUT.stackWindow, LAYOUT.stackWindow + LAYOUT.window];
  }

  // Picks a free general register (never ESP unless allowed), marks it used.
  freeReg(opts = {}) {
    const choices = [];
    for (let r = 0; r < 8; r++) {
      if (this.used.has(r)) continue;
      if (r === 4 && !opts.esp) continue;
      if (opts.exclude && opts.exclude.includes(r)) continue;
      choices.push(r);
    }
    if (!choices.length) throw new Error('no free register');
    const r = this.pick(choices);
    this.used.add(r);
    return r;
  }

  // A memory operand of `bytes` bytes at a random place in the DATA window (or, with
  // opts.stack, the stack window), with a random addressing mode; its value is random.
  memOperand(bytes, opts = {}) {
    const inStack = opts.stack || (!this.form.low && !opts.noStack && this.chance(0.08));
    const span = LAYOUT.window - Math.max(bytes, opts.span || 0);
    let off = this.rng.below(span + 1);
    if (opts.align) off &= ~(opts.align - 1);
    else if (this.chance(0.5)) off &= ~(Math.min(bytes, 4) - 1);
    const base0 = inStack ? LAYOUT.stackWindow : this.dataAddr;
    const addr = base0 + off;
    if (opts.value !== undefined) this.poke(addr, bytes, opts.value);
    else if (bytes > 0) this.poke(addr, bytes, bytes <= 4 ? this.val(bytes * 8) : this.u32());
    const text = this.form.low ? this.addr16(addr) : this.addr32(addr, inStack);
    return { addr, text };
  }

  addr32(addr, inStack) {
    const d8 = () => this.rng.below(256) - 128;
    if (inStack && this.regs[4] === LAYOUT.stackTop && !this.used.has(4) && this.chance(0.5)) {
      const d = addr - LAYOUT.stackTop;
      return `esp${d < 0 ? '-' : '+'}${Math.abs(d)}`;
    }
    const mode = this.rng.below(6);
    if (mode === 0) return hex(addr);
    const base = this.freeReg({ exclude: this.form.keep });
    const bn = REGS32[base];
    if (mode === 1) { this.regs[base] = addr; return bn; }
    if (mode === 2) { const d = d8(); this.regs[base] = (addr - d) >>> 0; return `${bn}${d < 0 ? '-' : '+'}${Math.abs(d)}`; }
    if (mode === 3) { const d = this.u32(); this.regs[base] = (addr - d) >>> 0; return `${bn}+${hex(d)}`; }
    const scale = this.pick([1, 2, 4, 8]);
    const index = this.freeReg({ exclude: this.form.keep });
    const xn = REGS32[index];
    const iv = this.chance(0.5) ? this.rng.below(32) : this.u32();
    this.regs[index] = iv >>> 0;
    if (mode === 4) {
      const d = this.chance(0.5) ? d8() : this.u32() | 0;
      this.regs[base] = (addr - Math.imul(iv, scale) - d) >>> 0;
      return `${bn}+${xn}*${scale}${d < 0 ? '-' : '+'}${hex(Math.abs(d))}`;
    }
    const d = (addr - Math.imul(iv, scale)) >>> 0;
    return `${xn}*${scale}+${hex(d)}`;
  }

  // 16-bit addressing (67h): [bx+si], [bp+di+d8], [disp16] ... into the low page.
  addr16(addr) {
    const combos = [['bx', 'si'], ['bx', 'di'], ['bp', 'si'], ['bp', 'di'], ['si'], ['di'], ['bx'], ['bp'], []];
    const free = combos.filter((c) => c.every((n) => !this.used.has(this.regIndex(n))));
    const regs = this.pick(free);
    let disp = regs.length === 0 ? addr : this.pick([0, 0, this.rng.below(256) - 128, this.rng.below(0x10000)]);
    if (regs.length === 0) return hex(addr);
    let rest = (addr - disp) & 0xffff;
    if (regs.length === 2) {
      const a = this.rng.below(0x10000);
      this.setReg(regs[0], a);
      this.setReg(regs[1], (rest - a) & 0xffff);
    } else {
      this.setReg(regs[0], rest);
    }
    // high halves of the address registers are random: 16-bit addressing must ignore them
    for (const n of regs) { const r = this.regIndex(n); this.regs[r] = ((this.u32() & 0xffff0000) | (this.regs[r] & 0xffff)) >>> 0; }
    const dtext = disp === 0 ? '' : disp < 0 ? `-${hex(-disp)}` : `+${hex(disp)}`;
    return `${regs.join('+')}${dtext}`;
  }
}

function patternWindow(seed) {
  const w = new Uint8Array(LAYOUT.window);
  for (let k = 0; k < w.length; k++) w[k] = (seed + k * 0x1d) & 0xff;
  return w;
}

const SIZE_WORD = { 1: 'byte', 2: 'word', 4: 'dword', 8: 'qword', 6: 'fword' };

// Expands a template in the order: memory operands (they claim base/index registers),
// then registers, then immediates.
export function expand(ctx, template) {
  const tokens = [];
  template.replace(/\{(\w+)(?::(\w+))?\}/g, (m, kind, tag) => { tokens.push({ m, kind, tag }); return m; });
  const out = new Map();
  const memKinds = { m8: 1, m16: 2, m32: 4, m64: 8, m48: 6, m: 0 };
  const form = ctx.form;
  for (const t of tokens) {
    if (!(t.kind in memKinds)) continue;
    const bytes = memKinds[t.kind] || form.memBytes || 4;
    const mo = ctx.memOperand(bytes, form.memOpts || {});
    ctx.memAddr = mo.addr;
    const kw = t.kind === 'm' ? '' : SIZE_WORD[bytes] + ' ';
    out.set(t, `${kw}[${mo.text}]`);
  }
  for (const t of tokens) {
    const rk = /^r(8|16|32)$/.exec(t.kind);
    if (!rk) continue;
    const width = Number(rk[1]);
    if (t.tag && ctx.tags.has(t.tag)) { out.set(t, ctx.tags.get(t.tag)); continue; }
    let name;
    if (width === 8) {
      // AH..BH share registers with AL..BL: pick among the byte registers of free dwords
      const free = [];
      for (let k = 0; k < 8; k++) if (!ctx.used.has(k & 3) && !(form.keep || []).includes(k & 3)) free.push(k);
      const k = ctx.pick(free);
      name = REGS8[k];
      ctx.setReg(name, ctx.val(8));
      const r = k & 3;
      // the other byte of the same register may be picked too, by a later token
      if (ctx.chance(0.5)) ctx.used.delete(r);
    } else {
      const r = ctx.freeReg({ esp: form.espOk, exclude: form.keep });
      name = (width === 32 ? REGS32 : REGS16)[r];
      ctx.regs[r] = ctx.regVal(width);
    }
    if (t.tag) ctx.tags.set(t.tag, name);
    out.set(t, name);
  }
  for (const t of tokens) {
    if (out.has(t)) continue;
    switch (t.kind) {
      case 'i8': out.set(t, hex(ctx.val(8))); break;
      case 'i16': out.set(t, hex(ctx.val(16))); break;
      case 'i32': out.set(t, hex(ctx.val(32))); break;
      case 's8': { const v = ctx.val(8); out.set(t, String(v >= 0x80 ? v - 256 : v)); break; }
      case 'c8': out.set(t, String(ctx.shiftCount())); break;
      case 'END': out.set(t, 'DG_END'); break;
      default: throw new Error(`unknown placeholder ${t.m} in ${template}`);
    }
  }
  let i = 0;
  return template.replace(/\{(\w+)(?::(\w+))?\}/g, () => out.get(tokens[i++]));
}

export function makeCase(form, seed, index) {
  const rng = new Rng(seed);
  const ctx = new CaseContext(rng, index, form);
  const tmpl = typeof form.asm === 'function' ? form.asm(ctx) : form.asm;
  let asm = expand(ctx, tmpl);
  if (form.setup) {
    const r = form.setup(ctx, asm);
    if (typeof r === 'string') asm = r;
  }
  return { asm, ctx, ...snapshot(ctx) };
}

// Values a form may only know after assembly (the address just past the snippet, for RET and
// indirect jumps) are filled in by form.fixup(ctx, end).
export function fixupCase(c, end) {
  if (!c.form.fixup) return;
  c.form.fixup(c.ctx, end);
  Object.assign(c, snapshot(c.ctx));
}

function snapshot(ctx) {
  return { regs: ctx.regs.map((v) => v >>> 0), eflags: ctx.eflags >>> 0, data: ctx.data, stack: ctx.stack, dataAddr: ctx.dataAddr };
}

export { hex, mask };
