// The x86 CPU: architectural state, memory access through segments and the software TLB, and the
// run loop over decoded blocks. Instruction semantics live in ops/, decoding in decoder.ts,
// segmentation/interrupts/paging in their own files.
import type { CpuHooks, CpuHost, CpuEvent, VmmHooks } from './bus';
import { CS, SS } from './insn';
import { ARITH, EFLAGS_FIXED1, flushFlags, IF, TF, VM, RF, AC } from './flags';
import { Tlb, TLB_VALID, TLB_SLOW, TLB_NX, TLB_GLOBAL } from './tlb';
import { walk, ACC_WRITE, ACC_EXEC, WALK_GLOBAL, WALK_NX, WALK_WRITABLE, WALK_DIRTY } from './paging';
import { CodeCache, type Block } from './blocks';
import { runFast } from './fastpath';
import { readLinear, writeLinear, physRead, translateResolving, peekLinear } from './slowmem';
import { powerOn } from './reset';
import { compileBlock, JIT_THRESHOLD } from './jit';
import { deliverException, deliverExternalInterrupt, deliverNmi } from './interrupts';
import { checkInsnBreakpoint, deliverDebugTrap, DR6_BS } from './debugregs';

/** Thrown (never constructed per fault) to unwind an instruction that faulted. */
export const CPU_FAULT = { fault: true };
/** Thrown to stop the run loop before the current instruction (breakpoints, debugger events). */
export const CPU_STOP = { stop: true };

export const CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_ET = 0x10, CR0_NE = 0x20;
export const CR0_WP = 0x10000, CR0_AM = 0x40000, CR0_NW = 0x20000000, CR0_CD = 0x40000000, CR0_PG = 0x80000000 | 0;
export const CR4_VME = 1, CR4_PVI = 2, CR4_TSD = 4, CR4_DE = 8, CR4_PSE = 0x10, CR4_PAE = 0x20, CR4_MCE = 0x40;
export const CR4_PGE = 0x80, CR4_PCE = 0x100, CR4_OSFXSR = 0x200, CR4_VMXE = 0x2000;
export const EFER_NXE = 0x800;

/** Segment access rights, in the VMCS guest-state layout (so the hypervisor shows them as Intel does). */
export const AR_TYPE = 0xf, AR_S = 0x10, AR_DPL_SHIFT = 5, AR_P = 0x80, AR_AVL = 0x1000, AR_L = 0x2000;
export const AR_DB = 0x4000, AR_G = 0x8000, AR_UNUSABLE = 0x10000;

export type StopReason = 'limit' | 'halt' | 'stop' | 'shutdown';

/** Register slots: 16 general registers (8 used in 32-bit mode; room for long mode) of 64 bits each. */
const NREGS = 16;
/** Offsets of AL,CL,DL,BL,AH,CH,DH,BH in the byte view of the low halves. */
export const REG8 = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);

export class Cpu {
  // ---- general registers: low 32 bits in r32 (with 16- and 8-bit views), upper halves in rhi ----
  private readonly regBuf = new ArrayBuffer(NREGS * 4);
  readonly r32 = new Int32Array(this.regBuf);
  readonly r16 = new Uint16Array(this.regBuf); // index 2*n
  readonly r8 = new Uint8Array(this.regBuf); // index REG8[n]
  readonly rhi = new Int32Array(NREGS);
  eip = 0;
  /** EIP of the instruction being executed (faults restart here). */
  curEip = 0;

  // ---- flags: non-arithmetic bits always in flags; arithmetic bits listed in `lazy` come from lop/lres/la/lb ----
  flags = EFLAGS_FIXED1;
  lazy = 0;
  lop = 0;
  lres = 0;
  la = 0;
  lb = 0;
  lmask = -1;
  lsign = 0x80000000 | 0;

  // ---- segment registers and descriptor caches (ES CS SS DS FS GS) ----
  readonly segSel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  /** Byte-granular limit (as u32 in an i32). */
  readonly segLimit = new Int32Array(6);
  readonly segAr = new Int32Array(6);
  /** Valid offset ranges for reads and writes, precomputed from the cache (an unusable segment has lo > hi). */
  readonly segRLo = new Float64Array(6);
  readonly segRHi = new Float64Array(6);
  readonly segWLo = new Float64Array(6);
  readonly segWHi = new Float64Array(6);

  // ---- system registers ----
  gdtrBase = 0; gdtrLimit = 0xffff;
  idtrBase = 0; idtrLimit = 0x3ff;
  ldtrSel = 0; ldtrBase = 0; ldtrLimit = 0; ldtrAr = AR_UNUSABLE;
  trSel = 0; trBase = 0; trLimit = 0xffff; trAr = AR_P | 11; // busy 32-bit TSS type, as after reset
  cr0 = CR0_ET | CR0_CD | CR0_NW;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  efer = 0;
  readonly dr = new Int32Array(8);
  /** PAE page-directory-pointer-table registers (low, high dword of each of the four), loaded from CR3. */
  readonly pdpte = new Int32Array(8);
  /** MSRs without a dedicated field, by index. */
  readonly msrs = new Map<number, bigint>();
  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;
  tscOffset = 0n;

  // ---- derived mode state ----
  cpl = 0;
  /** CS.D: 32-bit default operand/address size. */
  code32 = false;
  /** SS.B: 32-bit stack pointer. */
  stack32 = false;

  // ---- execution state ----
  /** Retired instructions. */
  icount = 0;
  /** Virtual time that passed while halted, in instruction units (time = icount + idleTicks). */
  idleTicks = 0;
  /** icount at which the host wants serviceDevices() called. */
  nextEventAt = 0;
  halted = false;
  /** Shut down after a triple fault. */
  shutdown = false;
  /** Interrupt request line from the interrupt controller. */
  intrLine = false;
  nmiPending = false;
  nmiBlocked = false;
  /** Interrupt shadow (STI, MOV SS): interrupts are not taken before the next instruction completes. */
  shadow = false;
  /** The shadow came from MOV SS/POP SS: it also holds debug traps (single-step, data breakpoints) back. */
  ssShadow = false;
  /** Guest debug-trap status (DR6 bits) to deliver as #DB once the current instruction completes. */
  dbPending = 0;
  /** A guest DR0-3 execute breakpoint is enabled: the run loop steps singly and checks each instruction. */
  drExec = false;
  /** Guest DR0-3 data breakpoints are armed (their pages are watched in the TLB). */
  drData = false;
  /** A software interrupt entered its handler: traps of the INT instruction resume after the IRET. */
  trapsDiscarded = false;
  /** Work done by REP instructions in chunks that yielded (elements, I/O weighted): run() counts it
   *  against its budget, so a guest's REP of 2^32 elements cannot hold one run() for minutes. */
  repWork = 0;
  /** Runs after which a block of 32-bit code is compiled (jit.ts); Infinity interprets everything. */
  jitThreshold = JIT_THRESHOLD;
  /** Set by anything that must end the current block early (SMC, stop requests, mode changes). */
  brk = false;
  stopRequested = false;
  /** Debugger/hypervisor stop reason text (set with CPU_STOP). */
  stopReason = '';

  // ---- fault being raised ----
  faultVector = -1;
  faultError = 0;
  faultHasError = false;
  /** Nested-fault tracking for double/triple fault (managed by interrupts.ts). */
  deliveringVector = -1;
  /** Nonzero while page faults are resolved in place (after a task switch commits). */
  resolveInPlace = 0;
  /** The fault being raised was already handed to the hypervisor (its error code is the guest's). */
  vmmSawFault = false;

  // ---- memory ----
  /** The memory the CPU addresses, by host-physical address: guest RAM alone under plain emulation
   *  (host-physical = guest-physical), all of host memory once a hypervisor attached (attachHost). */
  mem: Uint8Array;
  mem32: Int32Array;
  mem16: Uint16Array;
  dv: DataView;
  /** Size of guest RAM in bytes (guest-physical 0..ramSize-1 is RAM). */
  ramSize: number;
  /** Host-physical address of guest-physical 0 (0 until a hypervisor attaches host memory). */
  ramBase = 0;
  /** Guest-physical address mask: bit 20 cleared while the A20 gate is off. */
  a20Mask = -1;
  /** gpaToHpa is the identity over RAM (plain emulation): page walks read tables directly. attachHost clears it. */
  gpaIdentity = false;
  /** Guest-physical -> host-physical; -1 for MMIO/unbacked. The hypervisor replaces it (EPT). `access` is
   *  ACC_READ/WRITE/EXEC, with ACC_TABLE added for the walker's page-table accesses. */
  gpaToHpa: (gpa: number, access: number) => number;
  /** The same without side effects (no exits, no accessed/dirty bits): the debugger's and peeking walks' view. */
  gpaPeek: (gpa: number) => number;
  /** Linear address of the translation in progress (the hypervisor's EPT-violation exit reports it). */
  xlatLin = 0;
  readonly tlb = new Tlb();
  /** Host-physical pages the page walker has read tables from: guest writes to them are tracked. */
  ptPages: Uint8Array;
  readonly code: CodeCache;

  hooks: CpuHooks = {};
  /** Instruction classes (Cls bits) whose instructions call hooks.beforeInsn; compiled into decoded records. */
  interceptClasses = 0;
  /** Physical addresses of instructions that call hooks.beforeInsn (breakpoints); compiled into records. */
  readonly hookAddrs = new Set<number>();
  /** High-level emulation entry points (HLE BIOS): physical address -> service run instead of the instruction there. */
  readonly hle = new Map<number, (cpu: Cpu) => void>();
  /** Exception vectors (bit mask) for which hooks.exception is consulted. */
  exceptionIntercepts = 0;
  /** The hypervisor's hooks and what it intercepts (adapter/hypervisor); empty under plain emulation. */
  vmm: VmmHooks = {};
  /** Instruction classes whose records run the hypervisor's exit check (compiled in, like interceptClasses). */
  vmmClasses = 0;
  /** Exception vectors (bit mask) the hypervisor intercepts (the exception bitmap). */
  vmmExceptions = 0;

  constructor(readonly host: CpuHost, mem: Uint8Array, ramSize: number) {
    this.mem = mem;
    this.mem32 = new Int32Array(mem.buffer, mem.byteOffset, mem.byteLength >>> 2);
    this.mem16 = new Uint16Array(mem.buffer, mem.byteOffset, mem.byteLength >>> 1);
    this.dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    this.ramSize = ramSize;
    this.gpaToHpa = (gpa) => ((gpa >>> 0) < this.ramSize ? gpa : -1);
    this.gpaPeek = (gpa) => ((gpa >>> 0) < this.ramSize ? gpa : -1);
    this.gpaIdentity = true;
    this.code = new CodeCache(this);
    this.ptPages = new Uint8Array(mem.byteLength >>> 12);
    this.reset();
  }

  /**
   * A hypervisor takes over: from now on the CPU addresses all of host memory, where guest RAM is
   * the slot at `ramBase` (its structures live elsewhere in `hostMem`). Guest-physical addresses map
   * to ramBase + gpa until the hypervisor installs its own gpaToHpa (EPT, shadow paging). Cached
   * translations and decoded code, keyed by the old addresses, are dropped.
   */
  attachHost(hostMem: Uint8Array, ramBase: number): void {
    if (ramBase + this.ramSize > hostMem.byteLength) throw new RangeError('guest RAM lies outside host memory');
    this.mem = hostMem;
    this.mem32 = new Int32Array(hostMem.buffer, hostMem.byteOffset, hostMem.byteLength >>> 2);
    this.mem16 = new Uint16Array(hostMem.buffer, hostMem.byteOffset, hostMem.byteLength >>> 1);
    this.dv = new DataView(hostMem.buffer, hostMem.byteOffset, hostMem.byteLength);
    this.ramBase = ramBase;
    const ram = this.ramSize;
    this.gpaToHpa = (gpa) => ((gpa >>> 0) < ram ? ramBase + (gpa >>> 0) : -1);
    this.gpaPeek = (gpa) => ((gpa >>> 0) < ram ? ramBase + (gpa >>> 0) : -1);
    this.gpaIdentity = false;
    this.ptPages = new Uint8Array(hostMem.byteLength >>> 12);
    this.tlb.flushAll();
    this.code.flushAll();
    this.brk = true;
  }

  /** Guest-physical address of a host-physical one in guest RAM, or -1 (a hypervisor structure, MMIO). */
  hpaToGpa(hpa: number): number {
    const g = hpa - this.ramBase;
    return hpa >= 0 && g >= 0 && g < this.ramSize ? g : -1;
  }

  /** Power-on state: real mode at F000:FFF0. */
  reset(): void { powerOn(this); }

  // ------------------------------------------------------------------ flags
  getEflags(): number {
    flushFlags(this);
    return this.flags;
  }
  /** Raw write of every EFLAGS bit (callers apply privilege rules). */
  setEflags(v: number): void {
    const old = this.flags;
    this.flags = (v & 0x3f7fd5) | EFLAGS_FIXED1;
    this.lazy = 0;
    if ((old ^ this.flags) & (VM | TF | IF)) this.brk = true;
    if ((old ^ this.flags) & VM) this.updateMode();
    else if ((old ^ this.flags) & AC) this.selectTlb();
  }

  // ------------------------------------------------------------------ registers (debugger/test convenience)
  getReg32(n: number): number { return this.r32[n] >>> 0; }
  setReg32(n: number, v: number): void { this.r32[n] = v; }

  // ------------------------------------------------------------------ segments
  /** Load a descriptor cache directly (callers did the checks). limit is byte-granular. */
  loadSegCache(seg: number, sel: number, base: number, limit: number, ar: number): void {
    this.segSel[seg] = sel;
    this.segBase[seg] = base;
    this.segLimit[seg] = limit;
    this.segAr[seg] = ar;
    this.computeSegBounds(seg);
    if (seg === CS) {
      const c32 = (ar & AR_DB) !== 0 && !this.isV86() && (this.cr0 & CR0_PE) !== 0;
      if (c32 !== this.code32) { this.code32 = c32; this.brk = true; }
      this.brk = true;
    } else if (seg === SS) {
      this.stack32 = (ar & AR_DB) !== 0 && (this.cr0 & CR0_PE) !== 0 && !this.isV86();
    }
  }

  /** Real-mode / v86 segment load: base = sel << 4; limit and attributes kept as the cache had them in real mode. */
  loadRealSeg(seg: number, sel: number): void {
    sel &= 0xffff;
    if (this.isV86()) {
      this.loadSegCache(seg, sel, sel << 4, 0xffff, AR_P | AR_S | (3 << AR_DPL_SHIFT) | (seg === CS ? 0xb : 0x3));
    } else if (seg === CS) {
      // Real mode keeps CS's limit; a far transfer makes it a 16-bit code segment.
      this.loadSegCache(seg, sel, sel << 4, this.segLimit[CS] === 0 ? 0xffff : this.segLimit[CS], AR_P | AR_S | 0xb);
    } else {
      // Unreal mode: the cached limit and attributes survive a real-mode load.
      const ar = this.segAr[seg] & AR_UNUSABLE ? AR_P | AR_S | 0x3 : this.segAr[seg];
      this.loadSegCache(seg, sel, sel << 4, this.segLimit[seg] === 0 && ar === (AR_P | AR_S | 0x3) ? 0xffff : this.segLimit[seg], ar);
    }
  }

  private computeSegBounds(seg: number): void {
    const ar = this.segAr[seg];
    const limit = this.segLimit[seg] >>> 0;
    let rlo = 0, rhi = limit, wlo = 0, whi = limit;
    if (!(this.cr0 & CR0_PE) || this.isV86()) {
      // real and v86 mode: every segment is readable and writable up to its limit
    } else if (ar & AR_UNUSABLE || !(ar & AR_P)) {
      rlo = wlo = 1; rhi = whi = 0;
    } else if (ar & AR_S) {
      const type = ar & 0xf;
      if (type & 8) {
        // code: readable if R, never writable
        if (!(type & 2)) { rlo = 1; rhi = 0; }
        wlo = 1; whi = 0;
      } else {
        if (type & 4) {
          // expand-down: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF
          const top = ar & AR_DB ? 0xffffffff : 0xffff;
          rlo = wlo = limit + 1; rhi = whi = top;
        }
        if (!(type & 2)) { wlo = 1; whi = 0; }
      }
    } else {
      rlo = wlo = 1; rhi = whi = 0;
    }
    this.segRLo[seg] = rlo; this.segRHi[seg] = rhi;
    this.segWLo[seg] = wlo; this.segWHi[seg] = whi;
  }

  /** Recompute everything derived from CR0/EFLAGS.VM/CS (after mode changes). */
  updateMode(): void {
    for (let s = 0; s < 6; s++) this.computeSegBounds(s);
    const pe = (this.cr0 & CR0_PE) !== 0, v86 = this.isV86();
    const c32 = pe && !v86 && (this.segAr[CS] & AR_DB) !== 0;
    this.code32 = c32;
    this.stack32 = pe && !v86 && (this.segAr[SS] & AR_DB) !== 0;
    if (v86) this.cpl = 3;
    else if (!pe) this.cpl = 0;
    this.selectTlb();
    this.brk = true;
  }

  setCpl(cpl: number, cause: string): void {
    const from = this.cpl;
    this.cpl = cpl;
    this.selectTlb();
    if (from !== cpl) {
      this.brk = true;
      this.hooks.event?.(this, { kind: 'cpl', from, to: cpl, cause });
    }
  }

  /**
   * Pick the TLB tables for the current privilege. With alignment checking on (CPL 3, CR0.AM, EFLAGS.AC)
   * empty tables are selected instead, so every access takes the slow path, which checks alignment:
   * the check costs nothing otherwise.
   */
  selectTlb(): void {
    this.acActive = this.cpl === 3 && (this.cr0 & CR0_AM) !== 0 && (this.flags & AC) !== 0;
    if (this.acActive) this.tlb.selectEmpty();
    else this.tlb.selectPrivilege(this.cpl === 3);
  }
  /** Alignment checking is active (see selectTlb). */
  acActive = false;

  isV86(): boolean { return (this.flags & VM) !== 0; }
  isProtected(): boolean { return (this.cr0 & CR0_PE) !== 0; }
  pagingOn(): boolean { return (this.cr0 & CR0_PG) !== 0 && (this.cr0 & CR0_PE) !== 0; }

  /** Report a slow-path event to the hooks (the debugger's, then the hypervisor's). */
  emit(e: CpuEvent): void {
    this.hooks.event?.(this, e);
    this.vmm.event?.(this, e);
  }

  // ------------------------------------------------------------------ faults
  /** Raise an exception: unwinds the current instruction. */
  fault(vector: number, errorCode = 0, hasError = false): never {
    this.faultVector = vector;
    this.faultError = errorCode;
    this.faultHasError = hasError;
    throw CPU_FAULT;
  }
  gp(code = 0): never { return this.fault(13, code, true); }
  ud(): never { return this.fault(6); }

  /** A segment-limit or type violation on a data access: #SS for SS, #GP otherwise (error code 0). */
  segFault(seg: number, _off: number, _size: number, _write: boolean): never {
    if (!this.isProtected() || this.isV86()) return seg === SS ? this.fault(12, 0, false) : this.fault(13, 0, false);
    return seg === SS ? this.fault(12, 0, true) : this.fault(13, 0, true);
  }

  // ------------------------------------------------------------------ memory by segment:offset
  read8(seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRLo[seg] || o > this.segRHi[seg]) this.segFault(seg, o, 1, false);
    const lin = (this.segBase[seg] + off) | 0;
    const e = this.tlb.r[lin >>> 12];
    if ((e & 3) === TLB_VALID) return this.mem[(e & ~0xfff) | (lin & 0xfff)];
    return this.readSlow(lin, 1);
  }
  read16(seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRLo[seg] || o + 1 > this.segRHi[seg]) this.segFault(seg, o, 2, false);
    const lin = (this.segBase[seg] + off) | 0;
    const e = this.tlb.r[lin >>> 12];
    if ((e & 3) === TLB_VALID && (lin & 0xfff) < 0xfff) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      return p & 1 ? this.dv.getUint16(p, true) : this.mem16[p >>> 1];
    }
    return this.readSlow(lin, 2);
  }
  read32(seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRLo[seg] || o + 3 > this.segRHi[seg]) this.segFault(seg, o, 4, false);
    const lin = (this.segBase[seg] + off) | 0;
    const e = this.tlb.r[lin >>> 12];
    if ((e & 3) === TLB_VALID && (lin & 0xfff) < 0xffd) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      return p & 3 ? this.dv.getInt32(p, true) : this.mem32[p >>> 2];
    }
    return this.readSlow(lin, 4);
  }
  write8(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o > this.segWHi[seg]) this.segFault(seg, o, 1, true);
    const lin = (this.segBase[seg] + off) | 0;
    const e = this.tlb.w[lin >>> 12];
    if ((e & 3) === TLB_VALID) { this.mem[(e & ~0xfff) | (lin & 0xfff)] = v; return; }
    this.writeSlow(lin, 1, v);
  }
  write16(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o + 1 > this.segWHi[seg]) this.segFault(seg, o, 2, true);
    const lin = (this.segBase[seg] + off) | 0;
    const e = this.tlb.w[lin >>> 12];
    if ((e & 3) === TLB_VALID && (lin & 0xfff) < 0xfff) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if (p & 1) this.dv.setUint16(p, v, true); else this.mem16[p >>> 1] = v;
      return;
    }
    this.writeSlow(lin, 2, v);
  }
  write32(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o + 3 > this.segWHi[seg]) this.segFault(seg, o, 4, true);
    const lin = (this.segBase[seg] + off) | 0;
    const e = this.tlb.w[lin >>> 12];
    if ((e & 3) === TLB_VALID && (lin & 0xfff) < 0xffd) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if (p & 3) this.dv.setInt32(p, v, true); else this.mem32[p >>> 2] = v;
      return;
    }
    this.writeSlow(lin, 4, v);
  }
  /** Size-generic forms (size in bytes: 1, 2, 4). */
  readN(seg: number, off: number, size: number): number {
    return size === 4 ? this.read32(seg, off) : size === 2 ? this.read16(seg, off) : this.read8(seg, off);
  }
  writeN(seg: number, off: number, size: number, v: number): void {
    if (size === 4) this.write32(seg, off, v); else if (size === 2) this.write16(seg, off, v); else this.write8(seg, off, v);
  }
  /** Check that a write would succeed (segment and paging) without writing: for read-modify-write atomicity. */
  probeWrite(seg: number, off: number, size: number): void {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o + size - 1 > this.segWHi[seg]) this.segFault(seg, o, size, true);
    const lin = (this.segBase[seg] + off) | 0;
    this.translate(lin, ACC_WRITE, this.cpl === 3);
    if (((lin & 0xfff) + size) > 0x1000) this.translate((lin + size - 1) | 0, ACC_WRITE, this.cpl === 3);
  }

  // ------------------------------------------------------------------ memory by linear address
  /** Linear read with the current privilege (user if CPL 3). */
  readLin(lin: number, size: number): number { return this.readSlow(lin | 0, size); }
  writeLin(lin: number, size: number, v: number): void { this.writeSlow(lin | 0, size, v); }
  /** Implicit supervisor-mode accesses (descriptor tables, TSS, IDT): privilege checks as for CPL 0. */
  readSys(lin: number, size: number): number { return readLinear(this, lin | 0, size, false); }
  writeSys(lin: number, size: number, v: number): void { writeLinear(this, lin | 0, size, v, false); }

  readSlow(lin: number, size: number): number { return readLinear(this, lin, size, this.cpl === 3); }
  writeSlow(lin: number, size: number, v: number): void { writeLinear(this, lin, size, v, this.cpl === 3); }

  /**
   * Translate a linear address for an access; fills the TLB. Returns the TLB entry (host-physical page | flags).
   * Raises #PF (or a hypervisor exit through gpaToHpa) when the access is not allowed.
   */
  translate(lin: number, access: number, user: boolean): number {
    const page = lin >>> 12;
    const tbl = access === ACC_WRITE ? (user ? this.tlb.wUser : this.tlb.wSup) : user ? this.tlb.rUser : this.tlb.rSup;
    const cached = tbl[page];
    if (cached & TLB_VALID && !(access === ACC_EXEC && cached & TLB_NX)) return cached;
    // Only a miss can fault: past a task switch's commit point its faults are resolved in place.
    if (this.resolveInPlace !== 0) return translateResolving(this, lin, access, user);
    let gpa: number, wf = WALK_WRITABLE | WALK_DIRTY;
    this.xlatLin = lin;
    if (this.pagingOn()) {
      gpa = walk(this, lin, access, user);
      wf = this.walkFlags;
    } else {
      gpa = lin & this.a20Mask;
    }
    gpa &= this.a20Mask;
    const hpa = this.gpaToHpa(gpa & ~0xfff, access);
    let e: number;
    if (hpa < 0) {
      e = this.tlb.mmioEntry(gpa & ~0xfff);
    } else {
      e = (hpa & ~0xfff) | TLB_VALID;
      if (this.tlb.pageWatched(page) || (access === ACC_WRITE && (this.code.pageHasCode(hpa >>> 12) || this.ptPages[hpa >>> 12] !== 0))) e |= TLB_SLOW;
    }
    if (wf & WALK_GLOBAL) e |= TLB_GLOBAL;
    if (wf & WALK_NX) e |= TLB_NX;
    this.tlb.fill(tbl, page, e);
    // A read walk of a writable, already-dirty page can fill the write entry too (saves a walk).
    if (access !== ACC_WRITE && (wf & (WALK_WRITABLE | WALK_DIRTY)) === (WALK_WRITABLE | WALK_DIRTY) && !(e & TLB_SLOW) && !(hpa >= 0 && (this.code.pageHasCode(hpa >>> 12) || this.ptPages[hpa >>> 12] !== 0))) {
      this.tlb.fill(user ? this.tlb.wUser : this.tlb.wSup, page, e & ~TLB_NX);
    }
    return e;
  }
  /** Run `f` with hypervisor-resolved page faults retried in place (see translateResolving). */
  resolvingFaults(f: () => void): void {
    this.resolveInPlace++;
    try { f(); } finally { this.resolveInPlace--; }
  }

  /** The walker read a table from host page `page`: from now on writes to it take the slow path. */
  markTablePage(page: number): void {
    if (page >= this.ptPages.length || this.ptPages[page]) return;
    this.ptPages[page] = 1;
    this.tlb.flushAll(); // write entries cached for it before must now take the slow path
  }

  /** Something outside the CPU (loader, BIOS disk read, debugger) wrote guest frame `gfn`. */
  noteExternalWrite(gfn: number): void {
    const page = gfn + (this.ramBase >>> 12);
    if (this.code.pageHasCode(page)) this.code.invalidatePage(page);
    if (page < this.ptPages.length && this.ptPages[page]) this.tlb.tablesWritten = true;
    this.vmm.externalWrite?.(this, gfn);
  }

  /** Set by walk(): WALK_* bits of the last translation. */
  walkFlags = 0;

  /** Debugger/tools: translate without side effects; -1 if not mapped. Returns guest-physical. */
  peekTranslate(lin: number): number { return peekLinear(this, lin); }

  // ------------------------------------------------------------------ code fetch (decoder)
  /** Fetch one code byte at CS:off (limit-checked), for the decoder. */
  fetchCodeByte(off: number): number {
    const o = off >>> 0;
    if (o > (this.segLimit[CS] >>> 0)) this.gp(0);
    const lin = (this.segBase[CS] + off) | 0;
    const e = this.translate(lin, ACC_EXEC, this.cpl === 3);
    const p = (e & ~0xfff) | (lin & 0xfff);
    return physRead(this, p, 1, e) & 0xff;
  }

  // ------------------------------------------------------------------ stack helpers
  push16(v: number): void {
    if (this.stack32) {
      const sp = (this.r32[4] - 2) | 0;
      this.write16(SS, sp, v);
      this.r32[4] = sp;
    } else {
      const sp = (this.r16[8] - 2) & 0xffff;
      this.write16(SS, sp, v);
      this.r16[8] = sp;
    }
  }
  push32(v: number): void {
    if (this.stack32) {
      const sp = (this.r32[4] - 4) | 0;
      this.write32(SS, sp, v);
      this.r32[4] = sp;
    } else {
      const sp = (this.r16[8] - 4) & 0xffff;
      this.write32(SS, sp, v);
      this.r16[8] = sp;
    }
  }
  pop16(): number {
    if (this.stack32) {
      const v = this.read16(SS, this.r32[4]);
      this.r32[4] = (this.r32[4] + 2) | 0;
      return v;
    }
    const v = this.read16(SS, this.r16[8]);
    this.r16[8] = (this.r16[8] + 2) & 0xffff;
    return v;
  }
  pop32(): number {
    if (this.stack32) {
      const v = this.read32(SS, this.r32[4]);
      this.r32[4] = (this.r32[4] + 4) | 0;
      return v;
    }
    const v = this.read32(SS, this.r16[8]);
    this.r16[8] = (this.r16[8] + 4) & 0xffff;
    return v;
  }
  push(size: number, v: number): void { if (size === 4) this.push32(v); else this.push16(v); }
  pop(size: number): number { return size === 4 ? this.pop32() : this.pop16(); }
  /** Current stack pointer value as an offset in SS. */
  getSp(): number { return this.stack32 ? this.r32[4] : this.r16[8]; }
  setSp(v: number): void { if (this.stack32) this.r32[4] = v; else this.r16[8] = v; }

  // ------------------------------------------------------------------ hooks configuration
  /** The hypervisor's intercepts: instruction classes (vmm.beforeInsn) and exception vectors (vmm.exception). */
  setVmmIntercepts(classes: number, exceptions: number): void {
    this.vmmExceptions = exceptions;
    if (classes === this.vmmClasses) return;
    this.vmmClasses = classes;
    this.code.flushAll();
    this.brk = true;
  }

  /** Change which instruction classes / addresses call hooks.beforeInsn; decoded records are rebuilt. */
  setIntercepts(classes: number, addrs?: Iterable<number>): void {
    this.interceptClasses = classes;
    if (addrs) {
      this.hookAddrs.clear();
      for (const a of addrs) this.hookAddrs.add(a);
    }
    this.code.flushAll();
    this.brk = true;
  }

  requestStop(reason = 'pause'): void {
    this.stopRequested = true;
    this.stopReason = reason;
    this.brk = true;
  }

  // ------------------------------------------------------------------ run loop
  /**
   * Run up to `budget` instructions. Returns why it stopped. Faults are delivered to the guest; a triple
   * fault shuts the CPU down ('shutdown').
   */
  run(budget: number): StopReason {
    const limit = this.icount + budget;
    // Idle time counts against the budget too, so a halted CPU that devices keep waking to no
    // effect (a masked timer) still hands control back.
    const timeLimit = this.icount + this.idleTicks + budget;
    // A yielding REP chunk retires as one instruction: its elements count too (16 per instruction).
    const workLimit = this.repWork + budget * 16;
    this.stopRequested = false;
    while (true) {
      if (this.shutdown) return 'shutdown';
      if (this.stopRequested) return 'stop';
      // (idleTicks only grows, so this also ends the run when icount reaches limit)
      if (this.icount + this.idleTicks >= timeLimit || this.repWork >= workLimit) return 'limit';
      if (this.icount >= this.nextEventAt) this.host.serviceDevices(this);
      if (!this.shadow) {
        if (this.nmiPending && !this.nmiBlocked) {
          this.nmiPending = false;
          this.halted = false;
          this.safely(() => deliverNmi(this));
          continue;
        }
        // A hypervisor may hold the interrupt (a trap-and-emulate guest with its virtual IF clear).
        if (this.intrLine && this.flags & IF && this.vmm.interrupt?.(this) !== false) {
          this.halted = false;
          const vec = this.host.acknowledgeInterrupt();
          if (vec >= 0) this.safely(() => deliverExternalInterrupt(this, vec));
          continue;
        }
      }
      if (this.halted) {
        if (!(this.flags & IF) && !this.nmiPending) return 'halt';
        // Idle: virtual time jumps to the next device event.
        if (this.nextEventAt > this.icount && this.nextEventAt !== Infinity) {
          this.idleTicks += this.nextEventAt - this.icount;
          this.nextEventAt = this.icount;
          continue;
        }
        if (this.nextEventAt === Infinity) return 'halt';
        continue;
      }
      this.runBlock(limit);
    }
  }

  /** Execute the block at CS:EIP (or one instruction after an interrupt shadow). */
  private runBlock(limit: number): void {
    // Single-step, resume flag and guest execute breakpoints: one instruction at a time (slow path).
    if (this.flags & (TF | RF) || this.drExec) { this.stepOne(); return; }
    let b: Block;
    this.curEip = this.eip; // a fetch fault belongs to the instruction being fetched
    try {
      b = this.code.lookup();
    } catch (e) {
      this.catchFault(e);
      return;
    }
    const insns = b.insns;
    let n = b.n;
    // A hot block of 32-bit code runs compiled, when it runs whole from its first instruction.
    if (b.fn === undefined && ++b.runs >= this.jitThreshold && this.code32) b.fn = compileBlock(b);
    if (b.fn) {
      if (!this.shadow && n <= limit - this.icount && this.eip === insns[0].eip) {
        this.brk = false;
        try {
          // Chain straight into the next compiled block while nothing needs the outer loop.
          let blk: Block | undefined = b;
          do {
            blk.fn!(this, blk.insns, limit);
            if (this.brk || this.icount >= this.nextEventAt || this.shadow || this.dbPending !== 0 || this.flags & (TF | RF) || this.drExec) break;
            blk = this.code.nextCompiled(limit - this.icount);
          } while (blk !== undefined);
        } catch (e) {
          this.catchFault(e);
        }
        if (this.dbPending !== 0 && !this.ssShadow) this.safely(() => deliverDebugTrap(this));
        return;
      }
    }
    if (n > limit - this.icount) n = limit - this.icount;
    if (this.shadow) { n = 1; this.shadow = false; this.ssShadow = false; }
    const ipMask = this.code32 ? -1 : 0xffff;
    this.brk = false;
    try {
      for (let k = 0; k < n; k++) {
        const i = insns[k];
        this.curEip = this.eip;
        this.eip = (this.eip + i.len) & ipMask;
        if (i.fast !== 0) runFast(this, i);
        else i.exec(this, i);
        this.icount++;
        if (this.brk) break;
      }
    } catch (e) {
      this.catchFault(e);
    }
    // Data-breakpoint and task-switch traps follow the instruction (after MOV SS, the next one).
    if (this.dbPending !== 0 && !this.ssShadow) this.safely(() => deliverDebugTrap(this));
  }

  /**
   * One instruction with the debug checks: a guest instruction breakpoint (unless RF) faults before it;
   * RF clears once it starts; TF set at its start traps after it (a TF set by POPF/IRET traps only after
   * the next instruction, one cleared by it still traps); MOV SS holds the trap back one instruction.
   */
  private stepOne(): void {
    const f = this.flags;
    if (this.drExec && !(f & RF) && !this.shadow) {
      let hit = false;
      this.safely(() => { hit = checkInsnBreakpoint(this); });
      if (hit) return;
    }
    let b: Block;
    this.curEip = this.eip;
    try {
      b = this.code.lookup();
    } catch (e) {
      this.catchFault(e);
      return;
    }
    this.shadow = false;
    this.ssShadow = false;
    if (f & RF) this.flags &= ~RF;
    const i = b.insns[0];
    this.brk = false;
    this.trapsDiscarded = false;
    try {
      this.curEip = this.eip;
      this.eip = (this.eip + i.len) & (this.code32 ? -1 : 0xffff);
      i.exec(this, i);
      this.icount++;
    } catch (e) {
      if (e === CPU_STOP && f & RF) this.flags |= RF; // the instruction did not start: RF still applies
      this.catchFault(e);
      return;
    }
    if (f & TF && !this.ssShadow && !this.trapsDiscarded) this.dbPending |= DR6_BS;
    if (this.dbPending !== 0 && !this.ssShadow) this.safely(() => deliverDebugTrap(this));
  }

  private catchFault(e: unknown): void {
    this.dbPending = 0; // traps of an instruction that did not complete are dropped
    if (e === CPU_FAULT) {
      this.eip = this.curEip;
      this.safely(() => deliverException(this, this.faultVector, this.faultError, this.faultHasError, false));
    } else if (e === CPU_STOP) {
      this.eip = this.curEip;
      this.stopRequested = true;
    } else {
      throw e;
    }
  }

  /** Run event delivery; faults during delivery are handled by interrupts.ts (double/triple fault). */
  private safely(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (e === CPU_STOP) { this.stopRequested = true; return; }
      if (e !== CPU_FAULT) throw e;
      // deliverException handles nesting itself; a fault escaping it means shutdown.
      this.enterShutdown(this.faultVector);
    }
  }

  enterShutdown(vector: number): void {
    this.shutdown = true;
    this.brk = true;
    this.hooks.event?.(this, { kind: 'triple-fault', vector });
  }

  /** Flags that matter to the decoded-block key. */
  flagsKeepRF(): number { return this.flags & RF; }
}

export { ARITH };
