// Miscellaneous: the NOP forms (90, PAUSE, 0F18-0F1F hint NOPs and PREFETCHh, which never fault),
// flag bits (CMC CLC STC CLD STD), SALC, BOUND (#BR) and the UD0/UD1/UD2 instructions (#UD).
import type { Cpu } from '../cpu';
import type { Handler, Insn } from '../insn';
import type { Factory } from './index';
import { CF, DF, getCF, setFlagBits } from '../flags';
import { getReg } from './operands';

function nop(): void {}
function cmc(c: Cpu): void { setFlagBits(c, CF, getCF(c) ? 0 : CF); }
function clc(c: Cpu): void { setFlagBits(c, CF, 0); }
function stc(c: Cpu): void { setFlagBits(c, CF, CF); }
// DF is never lazy.
function cld(c: Cpu): void { c.flags &= ~DF; }
function std(c: Cpu): void { c.flags |= DF; }
/** Undocumented SALC: AL = CF ? 0xFF : 0, flags unchanged. */
function salc(c: Cpu): void { c.r8[0] = getCF(c) ? 0xff : 0; }
function ud(c: Cpu): void { c.ud(); }

/** BOUND Gv,Ma: #BR unless lower <= index <= upper (signed); a register operand is #UD. */
function bound(c: Cpu, i: Insn): void {
  if (!i.mem) c.ud();
  const n = i.osize, ea = i.ea(c, i), sh = 32 - n * 8;
  const lo = (c.readN(i.seg, ea, n) << sh) >> sh;
  const hi = (c.readN(i.seg, i.a32 ? (ea + n) | 0 : (ea + n) & 0xffff, n) << sh) >> sh;
  const idx = (getReg(c, i.reg, n) << sh) >> sh;
  if (idx < lo || idx > hi) c.fault(5);
}

const fixed = (h: Handler): Factory => () => h;

export const handlers: Record<string, Factory> = {
  nop: fixed(nop),
  pause: fixed(nop),
  cmc: fixed(cmc),
  clc: fixed(clc),
  stc: fixed(stc),
  cld: fixed(cld),
  std: fixed(std),
  salc: fixed(salc),
  bound: fixed(bound),
  ud: fixed(ud),
};
