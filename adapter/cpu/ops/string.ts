// String instructions: MOVS CMPS STOS LODS SCAS, with REP / REPE / REPNE. The source is seg:(E)SI with
// seg = i.seg (DS unless overridden); the destination is always ES:(E)DI. A 16-bit address size uses
// SI/DI/CX. Index and count registers are stored back after every completed element (a `finally`
// covers faults), so an exception part way leaves the registers as the SDM describes and the
// instruction restarts where it stopped. Long REP runs yield after REP_CHUNK elements (the instruction
// restarts at itself) so interrupts and device time are not held off; under single-step they yield after
// every element, and after the element that hit a data breakpoint, so those traps come between iterations.
import type { Cpu } from '../cpu';
import type { Handler, Insn } from '../insn';
import { ES, REP_NONE, REP_E } from '../insn';
import type { Factory } from './index';
import { ARITH, DF, LZ_SUB, TF } from '../flags';
import { getReg, setReg } from './operands';
import { maskOf, signOf } from './alu';

/** Elements one execution of a REP instruction handles before it yields (and restarts at itself). */
const REP_CHUNK = 16384;

const cache = new Map<string, Handler>();
function once(key: string, make: () => Handler): Handler {
  let h = cache.get(key);
  if (h === undefined) { h = make(); cache.set(key, h); }
  return h;
}

function cmpFlags(c: Cpu, a: number, b: number, n: number): void {
  const m = maskOf(n);
  c.lop = LZ_SUB; c.lres = (a - b) & m; c.la = a; c.lb = b; c.lmask = m; c.lsign = signOf(n); c.lazy = ARITH;
}

/** Elements this execution may handle: one under single-step (EFLAGS.TF), so that every iteration traps. */
function repBudget(c: Cpu): number { return c.flags & TF ? 1 : REP_CHUNK; }

/** The instruction did not finish its count: run it again from itself. */
function yieldRep(c: Cpu): void {
  c.eip = c.curEip;
  c.brk = true;
  c.repWork += REP_CHUNK;
}

function getSI(c: Cpu, a32: boolean): number { return a32 ? c.r32[6] : c.r16[12]; }
function getDI(c: Cpu, a32: boolean): number { return a32 ? c.r32[7] : c.r16[14]; }
function setSI(c: Cpu, a32: boolean, v: number): void { if (a32) c.r32[6] = v; else c.r16[12] = v; }
function setDI(c: Cpu, a32: boolean, v: number): void { if (a32) c.r32[7] = v; else c.r16[14] = v; }
function getCX(c: Cpu, a32: boolean): number { return a32 ? c.r32[1] >>> 0 : c.r16[2]; }
function setCX(c: Cpu, a32: boolean, v: number): void { if (a32) c.r32[1] = v; else c.r16[2] = v; }

/** Host-physical source and destination of the last bulkRoom answer. */
let bulkSrc = 0, bulkDst = 0;
/**
 * Forward REP MOVS/STOS in bulk: how many elements (at most max) can go at once, with source and
 * destination each inside one page whose TLB entry is on the fast path (RAM, not code, not watched,
 * no alignment checking) and inside the segment limits. seg < 0: no source (STOS). 0: take the
 * element-by-element path (which also fills the TLB for the next try).
 */
function bulkRoom(c: Cpu, seg: number, si: number, di: number, n: number, max: number, a32: boolean): number {
  let k = max, room: number;
  const linD = (c.segBase[ES] + di) | 0, ed = c.tlb.w[linD >>> 12];
  if ((ed & 3) !== 1) return 0;
  room = (0x1000 - (linD & 0xfff)) / n | 0;
  if (room < k) k = room;
  if (!a32 && (0x10000 - di) / n < k) k = (0x10000 - di) / n | 0;
  if (seg >= 0) {
    const linS = (c.segBase[seg] + si) | 0, es = c.tlb.r[linS >>> 12];
    if ((es & 3) !== 1) return 0;
    room = (0x1000 - (linS & 0xfff)) / n | 0;
    if (room < k) k = room;
    if (!a32 && (0x10000 - si) / n < k) k = (0x10000 - si) / n | 0;
    if (k <= 0 || (si >>> 0) < c.segRLo[seg] || (si >>> 0) + k * n - 1 > c.segRHi[seg]) return 0;
    bulkSrc = (es & ~0xfff) | (linS & 0xfff);
  }
  if (k <= 0 || (di >>> 0) < c.segWLo[ES] || (di >>> 0) + k * n - 1 > c.segWHi[ES]) return 0;
  bulkDst = (ed & ~0xfff) | (linD & 0xfff);
  return k;
}

function movs(c: Cpu, i: Insn, n: number, a32: boolean, rep: boolean): void {
  const step = c.flags & DF ? -n : n, am = a32 ? -1 : 0xffff, seg = i.seg;
  let si = getSI(c, a32), di = getDI(c, a32);
  if (!rep) {
    c.writeN(ES, di, n, c.readN(seg, si, n));
    setSI(c, a32, (si + step) & am);
    setDI(c, a32, (di + step) & am);
    return;
  }
  let cnt = getCX(c, a32), budget = repBudget(c);
  try {
    while (cnt !== 0 && budget > 0) {
      if (step > 0 && cnt >= 8) {
        const k = bulkRoom(c, seg, si, di, n, cnt < budget ? cnt : budget, a32), bytes = k * n;
        // A destination that overlaps the source from above must repeat bytes as the element loop
        // does; copyWithin would move them instead.
        if (k > 0 && (bulkDst <= bulkSrc || bulkDst >= bulkSrc + bytes)) {
          c.mem.copyWithin(bulkDst, bulkSrc, bulkSrc + bytes);
          si = (si + bytes) & am; di = (di + bytes) & am; cnt -= k; budget -= k;
          continue;
        }
      }
      c.writeN(ES, di, n, c.readN(seg, si, n));
      si = (si + step) & am; di = (di + step) & am; cnt--; budget--;
      if (c.dbPending !== 0) break; // a data breakpoint traps after the iteration that hit it
    }
  } finally {
    setSI(c, a32, si); setDI(c, a32, di); setCX(c, a32, cnt);
  }
  if (cnt !== 0) yieldRep(c);
}

/** Fill k elements of n bytes with v at host-physical p. */
function bulkFill(c: Cpu, p: number, k: number, n: number, v: number): void {
  if (n === 1) c.mem.fill(v, p, p + k);
  else if (n === 2 && (p & 1) === 0) c.mem16.fill(v, p >>> 1, (p >>> 1) + k);
  else if (n === 4 && (p & 3) === 0) c.mem32.fill(v, p >>> 2, (p >>> 2) + k);
  else for (let j = 0; j < k; j++) { if (n === 2) c.dv.setUint16(p + 2 * j, v, true); else c.dv.setInt32(p + 4 * j, v, true); }
}

function stos(c: Cpu, _i: Insn, n: number, a32: boolean, rep: boolean): void {
  const step = c.flags & DF ? -n : n, am = a32 ? -1 : 0xffff, v = getReg(c, 0, n);
  let di = getDI(c, a32);
  if (!rep) {
    c.writeN(ES, di, n, v);
    setDI(c, a32, (di + step) & am);
    return;
  }
  let cnt = getCX(c, a32), budget = repBudget(c);
  try {
    while (cnt !== 0 && budget > 0) {
      if (step > 0 && cnt >= 8) {
        const k = bulkRoom(c, -1, 0, di, n, cnt < budget ? cnt : budget, a32);
        if (k > 0) {
          bulkFill(c, bulkDst, k, n, v);
          di = (di + k * n) & am; cnt -= k; budget -= k;
          continue;
        }
      }
      c.writeN(ES, di, n, v);
      di = (di + step) & am; cnt--; budget--;
      if (c.dbPending !== 0) break;
    }
  } finally {
    setDI(c, a32, di); setCX(c, a32, cnt);
  }
  if (cnt !== 0) yieldRep(c);
}

function lods(c: Cpu, i: Insn, n: number, a32: boolean, rep: boolean): void {
  const step = c.flags & DF ? -n : n, am = a32 ? -1 : 0xffff, seg = i.seg;
  let si = getSI(c, a32);
  if (!rep) {
    setReg(c, 0, n, c.readN(seg, si, n));
    setSI(c, a32, (si + step) & am);
    return;
  }
  let cnt = getCX(c, a32), budget = repBudget(c);
  try {
    while (cnt !== 0 && budget-- !== 0) {
      setReg(c, 0, n, c.readN(seg, si, n));
      si = (si + step) & am; cnt--;
      if (c.dbPending !== 0) break;
    }
  } finally {
    setSI(c, a32, si); setCX(c, a32, cnt);
  }
  if (cnt !== 0) yieldRep(c);
}

/** CMPS: compares seg:[SI] with ES:[DI]. REPE repeats while equal, REPNE while unequal. */
function cmps(c: Cpu, i: Insn, n: number, a32: boolean, rep: number): void {
  const step = c.flags & DF ? -n : n, am = a32 ? -1 : 0xffff, seg = i.seg;
  let si = getSI(c, a32), di = getDI(c, a32);
  if (rep === REP_NONE) {
    const a = c.readN(seg, si, n), b = c.readN(ES, di, n);
    setSI(c, a32, (si + step) & am);
    setDI(c, a32, (di + step) & am);
    cmpFlags(c, a, b, n);
    return;
  }
  const whileEq = rep === REP_E;
  let cnt = getCX(c, a32), budget = repBudget(c);
  try {
    while (cnt !== 0 && budget-- !== 0) {
      const a = c.readN(seg, si, n), b = c.readN(ES, di, n);
      si = (si + step) & am; di = (di + step) & am; cnt--;
      cmpFlags(c, a, b, n);
      if ((a === b) !== whileEq) return;
      if (c.dbPending !== 0) break;
    }
  } finally {
    setSI(c, a32, si); setDI(c, a32, di); setCX(c, a32, cnt);
  }
  if (cnt !== 0) yieldRep(c);
}

/** SCAS: compares the accumulator with ES:[DI]. */
function scas(c: Cpu, _i: Insn, n: number, a32: boolean, rep: number): void {
  const step = c.flags & DF ? -n : n, am = a32 ? -1 : 0xffff, a = getReg(c, 0, n);
  let di = getDI(c, a32);
  if (rep === REP_NONE) {
    const b = c.readN(ES, di, n);
    setDI(c, a32, (di + step) & am);
    cmpFlags(c, a, b, n);
    return;
  }
  const whileEq = rep === REP_E;
  let cnt = getCX(c, a32), budget = repBudget(c);
  try {
    while (cnt !== 0 && budget-- !== 0) {
      const b = c.readN(ES, di, n);
      di = (di + step) & am; cnt--;
      cmpFlags(c, a, b, n);
      if ((a === b) !== whileEq) return;
      if (c.dbPending !== 0) break;
    }
  } finally {
    setDI(c, a32, di); setCX(c, a32, cnt);
  }
  if (cnt !== 0) yieldRep(c);
}

function stringFactory(name: string, op: number, repMatters: boolean): Factory {
  return (i) => {
    const n = i.entry.sub === 1 ? 1 : i.osize, a32 = i.a32;
    // MOVS/STOS/LODS treat F2 like F3; CMPS/SCAS tell REPE from REPNE.
    const rep = repMatters ? i.rep : i.rep === REP_NONE ? 0 : 1;
    return once(`${name}/${n}/${a32}/${rep}`, () => {
      switch (op) {
        case 0: return (c, i) => movs(c, i, n, a32, rep !== 0);
        case 1: return (c, i) => stos(c, i, n, a32, rep !== 0);
        case 2: return (c, i) => lods(c, i, n, a32, rep !== 0);
        case 3: return (c, i) => cmps(c, i, n, a32, rep);
        default: return (c, i) => scas(c, i, n, a32, rep);
      }
    });
  };
}

export const handlers: Record<string, Factory> = {
  movs: stringFactory('movs', 0, false),
  stos: stringFactory('stos', 1, false),
  lods: stringFactory('lods', 2, false),
  cmps: stringFactory('cmps', 3, true),
  scas: stringFactory('scas', 4, true),
};
