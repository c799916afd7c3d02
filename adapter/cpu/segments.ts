// Segmentation: descriptor reads from the GDT/LDT, the checks of every selector load (data, stack,
// code, LDT, TSS) with the error codes the Intel SDM gives, and the segment-register instructions
// (MOV/POP/PUSH Sreg, LDS..LSS, LAR, LSL, VERR, VERW, ARPL). Real and virtual-8086 loads go through
// cpu.loadRealSeg, which keeps cached limits and attributes (unreal mode).
import type { Cpu } from './cpu';
import { AR_UNUSABLE, AR_P, AR_DB } from './cpu';
import { ES, CS, SS, DS, FS, GS } from './insn';
import { setFlagBits, ZF } from './flags';

export const EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6, EXC_NM = 7;
export const EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17;

/** System descriptor types (S = 0). */
export const T_TSS16_AVAIL = 1, T_LDT = 2, T_TSS16_BUSY = 3, T_CALLGATE16 = 4, T_TASKGATE = 5, T_INTGATE16 = 6, T_TRAPGATE16 = 7;
export const T_TSS32_AVAIL = 9, T_TSS32_BUSY = 11, T_CALLGATE32 = 12, T_INTGATE32 = 14, T_TRAPGATE32 = 15;

/**
 * A descriptor as read from a table: the two raw dwords and where they came from. Slow-path code only,
 * so these are ordinary objects.
 */
export class Descriptor {
  lo = 0;
  hi = 0;
  sel = 0;
  /** Linear address of the descriptor (for the accessed and busy bits). */
  addr = 0;

  get base(): number { return ((this.lo >>> 16) | ((this.hi & 0xff) << 16) | (this.hi & 0xff000000)) | 0; }
  /** Byte-granular limit (as u32 in an i32). */
  get limit(): number {
    const raw = (this.lo & 0xffff) | (this.hi & 0xf0000);
    return this.hi & 0x800000 ? ((raw << 12) | 0xfff) : raw;
  }
  /** Access rights in the VMCS layout used by the segment caches (type, S, DPL, P, AVL, L, D/B, G). */
  get ar(): number { return (this.hi >>> 8) & 0xf0ff; }
  get type(): number { return (this.hi >>> 8) & 0xf; }
  /** S bit: code or data (true) versus system (false). */
  get s(): boolean { return (this.hi & 0x1000) !== 0; }
  get dpl(): number { return (this.hi >>> 13) & 3; }
  get present(): boolean { return (this.hi & 0x8000) !== 0; }
  get isCode(): boolean { return this.s && (this.hi & 0x800) !== 0; }
  get isData(): boolean { return this.s && (this.hi & 0x800) === 0; }
  get conforming(): boolean { return this.isCode && (this.hi & 0x400) !== 0; }
  /** Readable code or any data segment. */
  get readable(): boolean { return this.s && ((this.hi & 0x800) === 0 || (this.hi & 0x200) !== 0); }
  get writableData(): boolean { return this.isData && (this.hi & 0x200) !== 0; }
  /** Gate fields. */
  get gateSel(): number { return this.lo >>> 16; }
  get gateOffset32(): number { return ((this.lo & 0xffff) | (this.hi & 0xffff0000)) | 0; }
  get gateOffset16(): number { return this.lo & 0xffff; }
  get gateParams(): number { return this.hi & 0x1f; }
}

/** Error code for a selector: RPL cleared, TI kept, EXT added. */
export function selErr(sel: number, ext: number): number { return (sel & 0xfffc) | ext; }

/**
 * Read the descriptor for `sel` into d. Returns false when the selector's index lies beyond its table's
 * limit (or the LDT is unusable); the caller chooses the exception.
 */
export function readDescriptor(cpu: Cpu, sel: number, d: Descriptor): boolean {
  let base: number, limit: number;
  if (sel & 4) {
    if (cpu.ldtrAr & AR_UNUSABLE || (cpu.ldtrSel & 0xfffc) === 0) return false;
    base = cpu.ldtrBase; limit = cpu.ldtrLimit;
  } else {
    base = cpu.gdtrBase; limit = cpu.gdtrLimit;
  }
  const off = sel & 0xfff8;
  if (off + 7 > (limit >>> 0)) return false;
  d.sel = sel;
  d.addr = (base + off) | 0;
  d.lo = cpu.readSys(d.addr, 4);
  d.hi = cpu.readSys((d.addr + 4) | 0, 4);
  return true;
}

/** Read a descriptor or raise `vector` with the selector error code. */
export function fetchDescriptor(cpu: Cpu, sel: number, d: Descriptor, vector: number, ext: number): void {
  if (!readDescriptor(cpu, sel, d)) cpu.fault(vector, selErr(sel, ext), true);
}

/** Set the accessed bit of a code/data descriptor in memory (hardware does this on every load). */
export function setAccessed(cpu: Cpu, d: Descriptor): void {
  if (!(d.hi & 0x100)) {
    d.hi |= 0x100;
    cpu.writeSys((d.addr + 5) | 0, 1, (d.hi >>> 8) & 0xff);
  }
}

/** Load a segment cache from a checked descriptor; the selector keeps its own RPL bits. */
export function loadCache(cpu: Cpu, seg: number, sel: number, d: Descriptor): void {
  cpu.loadSegCache(seg, sel & 0xffff, d.base, d.limit, d.ar);
}

/** A null selector in DS/ES/FS/GS (or SS at CPL<3 in long mode later): the segment becomes unusable. */
export function loadNull(cpu: Cpu, seg: number, sel: number): void {
  cpu.loadSegCache(seg, sel & 0xffff, 0, 0, AR_UNUSABLE);
}

const scratch = new Descriptor();

/**
 * MOV/POP/LxS into a data segment register or SS, in any mode, with the protected-mode checks:
 * SS: null #GP(0); RPL != CPL, not writable data, DPL != CPL #GP(sel); not present #SS(sel).
 * DS/ES/FS/GS: null -> unusable; not data or readable code #GP(sel); data/non-conforming code with
 * DPL < max(CPL, RPL) #GP(sel); not present #NP(sel).
 */
export function loadDataSeg(cpu: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (!cpu.isProtected() || cpu.isV86()) {
    cpu.loadRealSeg(seg, sel);
    return;
  }
  const d = scratch;
  const rpl = sel & 3, cpl = cpu.cpl;
  if (seg === SS) {
    if ((sel & 0xfffc) === 0) cpu.gp(0);
    fetchDescriptor(cpu, sel, d, EXC_GP, 0);
    if (rpl !== cpl || !d.writableData || d.dpl !== cpl) cpu.gp(sel & 0xfffc);
    if (!d.present) cpu.fault(EXC_SS, sel & 0xfffc, true);
  } else {
    if ((sel & 0xfffc) === 0) { loadNull(cpu, seg, sel); return; }
    fetchDescriptor(cpu, sel, d, EXC_GP, 0);
    if (!d.readable) cpu.gp(sel & 0xfffc);
    if (!d.conforming && (d.dpl < cpl || d.dpl < rpl)) cpu.gp(sel & 0xfffc);
    if (!d.present) cpu.fault(EXC_NP, sel & 0xfffc, true);
  }
  setAccessed(cpu, d);
  loadCache(cpu, seg, sel, d);
}

/**
 * After a return or IRET to an outer ring: data segment registers whose descriptor DPL is below the new
 * CPL (data or non-conforming code) become null, so the outer ring cannot use inner-ring segments.
 */
export function nullInaccessibleSegs(cpu: Cpu): void {
  for (const seg of [ES, DS, FS, GS]) {
    const ar = cpu.segAr[seg];
    if (ar & AR_UNUSABLE) continue;
    const dpl = (ar >>> 5) & 3;
    const conformingCode = (ar & 0x1c) === 0x1c; // S=1, code, conforming
    if (!conformingCode && dpl < cpu.cpl) loadNull(cpu, seg, 0);
  }
}

// ------------------------------------------------------------------ stacks addressed explicitly

/** Is the byte range [lo, hi] (offsets, lo <= hi) inside a segment with these attributes and limit? */
export function offsetsValid(lo: number, hi: number, ar: number, limit: number): boolean {
  lo >>>= 0; hi >>>= 0;
  if (lo > hi) return false;
  const lim = limit >>> 0;
  if ((ar & 0x1c) === 0x14) {
    // expand-down data: limit+1 .. top
    const top = ar & AR_DB ? 0xffffffff : 0xffff;
    return lo > lim && hi <= top;
  }
  return hi <= lim;
}

/**
 * A stack being built before anything is committed (far calls through gates, interrupt delivery):
 * pushes are checked against the new SS's limit (#SS(errSel) on failure) and written linearly, so a
 * fault part way leaves the registers untouched.
 */
export class StackBuilder {
  base = 0;
  limit = 0;
  ar = 0;
  sp = 0;
  b32 = true;
  /** Error code for a limit violation: the new SS selector (stack switch) or 0 (same stack). */
  err = 0;
  /** Write with user privilege (the frame goes to a ring-3 stack). */
  user = false;

  fromCurrent(cpu: Cpu): this {
    this.base = cpu.segBase[SS]; this.limit = cpu.segLimit[SS]; this.ar = cpu.segAr[SS];
    this.b32 = cpu.stack32; this.sp = cpu.getSp(); this.err = 0; this.user = cpu.cpl === 3;
    if (!cpu.isProtected() || cpu.isV86()) this.ar = AR_P | 0x13; // real/v86: plain expand-up data
    return this;
  }
  fromDescriptor(d: Descriptor, sp: number, ext: number): this {
    this.base = d.base; this.limit = d.limit; this.ar = d.ar;
    this.b32 = (d.hi & 0x400000) !== 0; this.sp = sp; this.err = selErr(d.sel, ext); this.user = false;
    return this;
  }
  /** Check that `bytes` more bytes fit below the current SP (before pushing them). */
  reserve(cpu: Cpu, bytes: number, protectedMode = true): void {
    const mask = this.b32 ? -1 : 0xffff;
    const top = (this.sp - 1) & mask, bottom = (this.sp - bytes) & mask;
    const ok = (bottom >>> 0) <= (top >>> 0) && offsetsValid(bottom, top, this.ar, this.limit);
    if (!ok) cpu.fault(EXC_SS, this.err, protectedMode);
  }
  push(cpu: Cpu, size: number, v: number): void {
    const sp = this.b32 ? (this.sp - size) | 0 : (this.sp - size) & 0xffff;
    const lin = (this.base + sp) | 0;
    if (this.user) cpu.writeLin(lin, size, v); else cpu.writeSys(lin, size, v);
    this.sp = sp;
  }
  /** Store the final SP into ESP/SP (as the stack's B bit says). */
  commitSp(cpu: Cpu): void {
    if (this.b32) cpu.r32[4] = this.sp; else cpu.r16[8] = this.sp;
  }
}

/** Read size bytes at offset k above the current SP without popping (checked against SS, #SS(0)). */
export function stackPeek(cpu: Cpu, k: number, size: number): number {
  const off = cpu.stack32 ? (cpu.r32[4] + k) | 0 : (cpu.r16[8] + k) & 0xffff;
  return size === 4 ? cpu.read32(SS, off) : cpu.read16(SS, off);
}

/** Add n to the current SP with the stack's width. */
export function stackAdjust(cpu: Cpu, n: number): void {
  if (cpu.stack32) cpu.r32[4] = (cpu.r32[4] + n) | 0;
  else cpu.r16[8] = (cpu.r16[8] + n) & 0xffff;
}

// ------------------------------------------------------------------ LAR LSL VERR VERW ARPL

/**
 * The descriptor checks shared by LAR/LSL/VERR/VERW: they never fault on a bad selector, they clear ZF.
 * Returns the descriptor when it is visible at the current CPL and the selector's RPL.
 */
function visibleDescriptor(cpu: Cpu, sel: number, okSystem: (type: number) => boolean): Descriptor | null {
  if ((sel & 0xfffc) === 0) return null;
  const d = scratch;
  if (!readDescriptor(cpu, sel, d)) return null;
  if (!d.s) {
    if (!okSystem(d.type)) return null;
  } else if (d.conforming) {
    return d; // conforming code: no privilege check
  }
  if (d.dpl < cpu.cpl || d.dpl < (sel & 3)) return null;
  return d;
}

const LAR_SYSTEM = (t: number) => t === 1 || t === 2 || t === 3 || t === 4 || t === 5 || t === 9 || t === 11 || t === 12;
const LSL_SYSTEM = (t: number) => t === 1 || t === 2 || t === 3 || t === 9 || t === 11;

/** LAR: the second descriptor dword masked to 0x00FFFF00 (as P6-class and later CPUs return it: the
 * limit bits 19:16 are included), or -1 with ZF cleared. */
export function lar(cpu: Cpu, sel: number): number {
  const d = visibleDescriptor(cpu, sel & 0xffff, LAR_SYSTEM);
  setFlagBits(cpu, ZF, d ? ZF : 0);
  return d ? d.hi & 0x00ffff00 : -1;
}

/** LSL: the byte-granular limit, or -1 with ZF cleared. */
export function lsl(cpu: Cpu, sel: number): number {
  const d = visibleDescriptor(cpu, sel & 0xffff, LSL_SYSTEM);
  setFlagBits(cpu, ZF, d ? ZF : 0);
  return d ? d.limit : -1;
}

/** VERR/VERW: ZF set when the segment is readable / writable at the current CPL and the selector's RPL. */
export function verify(cpu: Cpu, sel: number, write: boolean): void {
  const d = visibleDescriptor(cpu, sel & 0xffff, () => false);
  const ok = d !== null && (write ? d.writableData : d.readable);
  setFlagBits(cpu, ZF, ok ? ZF : 0);
}

/** Segment register number -> name (messages, the debugger). */
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
export { ES, CS, SS, DS, FS, GS };
