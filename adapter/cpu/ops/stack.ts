// Stack instructions: PUSH and POP (registers, r/m, immediates, segment registers), PUSHA/POPA,
// ENTER/LEAVE. The stack width (SS.B) picks ESP or SP; the operand size picks how much moves.
// Multi-step instructions read and write memory first and update registers last, so a fault part way
// leaves the registers as they were and the instruction can restart.
import type { Cpu } from '../cpu';
import type { Handler, Insn } from '../insn';
import { SS } from '../insn';
import type { Factory } from './index';
import { getReg, setReg } from './operands';
import { loadDataSeg } from '../segments';

const cache = new Map<string, Handler>();
function once(key: string, make: () => Handler): Handler {
  let h = cache.get(key);
  if (h === undefined) { h = make(); cache.set(key, h); }
  return h;
}

function spMask(c: Cpu): number { return c.stack32 ? -1 : 0xffff; }

// ------------------------------------------------------------------ PUSH / POP

function pushHandler(i: Insn): Handler {
  const spec = i.entry.operands[0], n = i.osize;
  if (spec[0] === 'I') return once(`push/i/${n}`, () => (n === 4 ? (c, i) => c.push32(i.imm) : (c, i) => c.push16(i.imm)));
  if (spec[0] === 'E') {
    if (i.mem) return once(`push/m/${n}`, () => (c, i) => c.push(n, c.readN(i.seg, i.ea(c, i), n)));
    return once(`push/e/${n}`, () => (n === 4 ? (c, i) => c.push32(c.r32[i.rm]) : (c, i) => c.push16(c.r16[i.rm << 1])));
  }
  // 50+r: PUSH ESP pushes the value before the decrement (push32 reads it first).
  return once(`push/r/${n}`, () => (n === 4 ? (c, i) => c.push32(c.r32[i.reg]) : (c, i) => c.push16(c.r16[i.reg << 1])));
}

/**
 * POP r/m with a memory destination: an ESP-based address is computed with ESP already incremented,
 * and ESP changes only once the write has succeeded.
 */
function popMem(c: Cpu, i: Insn, n: number): void {
  const sp = c.getSp(), m = spMask(c), v = c.readN(SS, sp, n);
  c.setSp((sp + n) & m);
  const ea = i.ea(c, i);
  c.setSp(sp);
  c.writeN(i.seg, ea, n, v);
  c.setSp((sp + n) & m);
}

function popHandler(i: Insn): Handler {
  const spec = i.entry.operands[0], n = i.osize;
  if (spec[0] === 'E' && i.mem) return once(`pop/m/${n}`, () => (c, i) => popMem(c, i, n));
  const field = spec[0] === 'E' ? 'rm' : 'reg';
  // POP ESP: the popped value wins over the increment (the register is written after pop32 returns).
  return once(`pop/${field}/${n}`, () => {
    if (field === 'rm') return n === 4 ? (c, i) => { c.r32[i.rm] = c.pop32(); } : (c, i) => { c.r16[i.rm << 1] = c.pop16(); };
    return n === 4 ? (c, i) => { c.r32[i.reg] = c.pop32(); } : (c, i) => { c.r16[i.reg << 1] = c.pop16(); };
  });
}

// ------------------------------------------------------------------ PUSHA / POPA

function pusha(c: Cpu, n: number): void {
  const sp = c.getSp(), m = spMask(c);
  // EAX ECX EDX EBX, the original ESP, EBP ESI EDI: register k goes to sp - (k+1)*n.
  for (let k = 0; k < 8; k++) c.writeN(SS, (sp - (k + 1) * n) & m, n, getReg(c, k, n));
  c.setSp((sp - 8 * n) & m);
}

const popaVals = new Int32Array(8);
function popa(c: Cpu, n: number): void {
  const sp = c.getSp(), m = spMask(c);
  // EDI is on top; the saved ESP slot is skipped.
  for (let k = 0; k < 8; k++) if (k !== 4) popaVals[k] = c.readN(SS, (sp + (7 - k) * n) & m, n);
  for (let k = 0; k < 8; k++) if (k !== 4) setReg(c, k, n, popaVals[k]);
  c.setSp((sp + 8 * n) & m);
}

// ------------------------------------------------------------------ ENTER / LEAVE

function enter(c: Cpu, i: Insn, n: number): void {
  const alloc = i.imm & 0xffff, level = i.imm2 & 0x1f, m = spMask(c);
  let sp = (c.getSp() - n) & m;
  c.writeN(SS, sp, n, getReg(c, 5, n));
  const frame = sp;
  if (level > 0) {
    // Copy level-1 frame pointers from the enclosing frames, then push this frame's pointer.
    let bp = c.stack32 ? c.r32[5] : c.r16[10];
    for (let k = 1; k < level; k++) {
      bp = (bp - n) & m;
      const v = c.readN(SS, bp, n);
      sp = (sp - n) & m;
      c.writeN(SS, sp, n, v);
    }
    sp = (sp - n) & m;
    c.writeN(SS, sp, n, frame);
  }
  const newSp = (sp - alloc) & m;
  // The processor checks that the final stack top is writable before committing.
  if (alloc !== 0) c.probeWrite(SS, newSp, n);
  // The operand size picks EBP or BP; the stack width picks ESP or SP.
  setReg(c, 5, n, frame);
  c.setSp(newSp);
}

function leave(c: Cpu, n: number): void {
  const bp = c.stack32 ? c.r32[5] : c.r16[10];
  const v = c.readN(SS, bp, n);
  c.setSp((bp + n) & spMask(c));
  setReg(c, 5, n, v);
}

// ------------------------------------------------------------------ segment registers

function pushSreg(c: Cpu, seg: number, n: number): void {
  c.push(n, c.segSel[seg]);
}

function popSreg(c: Cpu, seg: number, n: number): void {
  // The increment uses the stack width from before the load (POP SS may change SS.B).
  const s32 = c.stack32, sp = c.getSp();
  const sel = c.read16(SS, sp);
  loadDataSeg(c, seg, sel);
  if (s32) c.r32[4] = (sp + n) | 0; else c.r16[8] = sp + n;
  // POP SS holds off interrupts (and traps) until after the next instruction.
  if (seg === SS) { c.shadow = true; c.ssShadow = true; }
}

export const handlers: Record<string, Factory> = {
  push: pushHandler,
  pop: popHandler,
  pusha: (i) => { const n = i.osize; return once(`pusha/${n}`, () => (c) => pusha(c, n)); },
  popa: (i) => { const n = i.osize; return once(`popa/${n}`, () => (c) => popa(c, n)); },
  enter: (i) => { const n = i.osize; return once(`enter/${n}`, () => (c, i) => enter(c, i, n)); },
  leave: (i) => { const n = i.osize; return once(`leave/${n}`, () => (c) => leave(c, n)); },
  push_sreg: (i) => { const s = i.entry.sub, n = i.osize; return once(`pushs/${s}/${n}`, () => (c) => pushSreg(c, s, n)); },
  pop_sreg: (i) => { const s = i.entry.sub, n = i.osize; return once(`pops/${s}/${n}`, () => (c) => popSreg(c, s, n)); },
};
