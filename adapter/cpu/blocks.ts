// Decoded blocks: straight-line runs of decoded instructions, cached by host-physical address and
// code size, and invalidated when their page is written (self-modifying code, loaders, devices).
// Breakpoints and intercepted instruction classes are compiled into the records here.
import type { Cpu } from './cpu';
import { CPU_FAULT } from './cpu';
import { CS, type Insn } from './insn';
import { ACC_EXEC } from './paging';
import { TLB_MMIO } from './tlb';
import { decode } from './decoder';
import { OpFlag } from './opcodes';
import { classify } from './fastpath';
import type { BlockFn } from './jit';

export interface Block {
  insns: Insn[];
  /** Instructions still valid (set to 0 when invalidated). */
  n: number;
  key: number;
  /** Host-physical pages the block's bytes come from. */
  pages: number[];
  /** Host-physical byte ranges [start, end) of the block's instructions, one per page touched. */
  ranges: number[];
  /** Where it was last found by linear address (the fast lookup's tag). */
  lin: number;
  epoch: number;
  code32: boolean;
  user: boolean;
  /** Runs through the interpreter, and the compiled form (null: not compilable; undefined: not yet). */
  runs: number;
  fn: BlockFn | null | undefined;
}

/** Direct-mapped lookup by linear EIP, valid until the next TLB flush (epoch). */
const FAST_SLOTS = 4096;

/** Code is tracked in 128-byte lines: a write elsewhere on a code page invalidates nothing. */
const LINE_SHIFT = 7;

const MAX_BLOCK = 64;

/** Wrapper that lets the hypervisor or debugger see an instruction before it executes. */
function hooked(cpu: Cpu, i: Insn): void {
  const h = cpu.hooks.beforeInsn;
  if (h && h(cpu, i)) return;
  i.inner(cpu, i);
}

/** The hypervisor's exit check: its handler emulates the instruction, or it runs natively. */
function vmmHooked(cpu: Cpu, i: Insn): void {
  const h = cpu.vmm.beforeInsn;
  if (h && h(cpu, i)) return;
  i.native(cpu, i);
}

/** Runs the HLE service registered at this address instead of the instruction; the block ends after it. */
function hleService(cpu: Cpu, i: Insn): void {
  cpu.hle.get(i.phys)?.(cpu);
  cpu.brk = true;
}

export class CodeCache {
  private readonly blocks = new Map<number, Block>();
  private readonly byPage = new Map<number, Block[]>();
  /** Host-physical pages holding decoded code: writes to them take the TLB slow path. */
  private codePages = new Uint8Array(0);
  /** Statistics. */
  decodedBlocks = 0;
  invalidations = 0;

  constructor(private readonly cpu: Cpu) {}

  pageHasCode(page: number): boolean {
    return page < this.codePages.length && this.codePages[page] !== 0;
  }

  private readonly fast: (Block | undefined)[] = new Array(FAST_SLOTS).fill(undefined);

  /** The block at CS:EIP, decoding it if needed. Raises fetch faults for its first instruction. */
  lookup(): Block {
    const cpu = this.cpu;
    const eip = cpu.eip;
    if ((eip >>> 0) > (cpu.segLimit[CS] >>> 0)) cpu.gp(0);
    const lin = (cpu.segBase[CS] + eip) | 0;
    const slot = (lin ^ (lin >>> 12)) & (FAST_SLOTS - 1);
    const f = this.fast[slot];
    if (f !== undefined && f.lin === lin && f.epoch === cpu.tlb.epoch && f.n > 0 && f.code32 === cpu.code32 && f.user === (cpu.cpl === 3)) return f;
    const b = this.lookupSlow(eip, lin);
    if (b.key >= 0) {
      b.lin = lin;
      b.epoch = cpu.tlb.epoch;
      b.code32 = cpu.code32;
      b.user = cpu.cpl === 3;
      this.fast[slot] = b;
    }
    return b;
  }

  /** The compiled block at CS:EIP if the fast table has it and it fits in `budget` instructions. */
  nextCompiled(budget: number): Block | undefined {
    const cpu = this.cpu;
    const eip = cpu.eip;
    const lin = (cpu.segBase[CS] + eip) | 0;
    const f = this.fast[(lin ^ (lin >>> 12)) & (FAST_SLOTS - 1)];
    if (f === undefined || f.lin !== lin || f.epoch !== cpu.tlb.epoch || !f.fn || f.n === 0 || f.n > budget) return undefined;
    if (f.code32 !== cpu.code32 || f.user !== (cpu.cpl === 3) || f.insns[0].eip !== eip || (eip >>> 0) > (cpu.segLimit[CS] >>> 0)) return undefined;
    return f;
  }

  private lookupSlow(eip: number, lin: number): Block {
    const cpu = this.cpu;
    let e = cpu.tlb.r[lin >>> 12];
    if ((e & 7) !== 1) e = cpu.translate(lin, ACC_EXEC, cpu.cpl === 3);
    if (e & TLB_MMIO) return this.decodeBlock(-1, eip); // code from MMIO: decoded every time
    const phys = (e & ~0xfff) | (lin & 0xfff);
    const key = phys * 2 + (cpu.code32 ? 1 : 0);
    const b = this.blocks.get(key);
    if (b !== undefined && b.n > 0) return b;
    return this.decodeBlock(key, eip);
  }

  private decodeBlock(key: number, eip: number): Block {
    const cpu = this.cpu;
    const insns: Insn[] = [];
    const pages: number[] = [];
    const ranges: number[] = [];
    const startPage = key >= 0 ? Math.floor(key / 2) >>> 12 : -1;
    const code32 = cpu.code32;
    let off = eip;
    for (let k = 0; k < MAX_BLOCK; k++) {
      let i: Insn;
      try {
        i = decode(cpu, off, code32);
      } catch (err) {
        if (err === CPU_FAULT && k > 0) break; // fault belongs to a later instruction: end the block before it
        throw err;
      }
      i.eip = off;
      const lin = (cpu.segBase[CS] + off) | 0;
      const firstPhys = this.physOf(lin);
      // HLE entry points and breakpoints are guest-physical addresses.
      const gpa = cpu.hpaToGpa(firstPhys);
      i.phys = gpa;
      const lastPhys = this.physOf((lin + i.len - 1) | 0);
      if (k > 0 && (firstPhys >>> 12) !== startPage) break; // next instruction starts on another page
      for (const p of [firstPhys >>> 12, lastPhys >>> 12]) if (p >= 0 && !pages.includes(p)) pages.push(p);
      if (firstPhys >= 0) addRange(ranges, firstPhys, (firstPhys >>> 12) === (lastPhys >>> 12) ? lastPhys + 1 : (firstPhys | 0xfff) + 1);
      if (lastPhys >= 0 && (firstPhys >>> 12) !== (lastPhys >>> 12)) addRange(ranges, lastPhys & ~0xfff, lastPhys + 1);
      if (cpu.hle.has(gpa)) i.exec = i.inner = i.native = hleService;
      else i.native = i.inner;
      // The hypervisor's wrapper goes innermost, so whatever the debugger runs "natively" still exits.
      // A record that faults as decoded (a LOCK the instruction refuses: #UD) faults before any exit.
      if ((i.entry.cls & cpu.vmmClasses) !== 0 && i.native !== hleService && i.fault === 0) i.exec = i.inner = vmmHooked;
      if ((i.entry.cls & cpu.interceptClasses) !== 0 || cpu.hookAddrs.has(gpa)) i.exec = hooked;
      i.fast = i.exec === i.inner && i.inner === i.native ? classify(i) : 0;
      insns.push(i);
      off = code32 ? (off + i.len) | 0 : (off + i.len) & 0xffff;
      if ((lastPhys >>> 12) !== startPage) break;
      if (i.entry.flags & OpFlag.EndsBlock) {
        // A direct CALL or JMP to a forward address on the same page continues the block at its target
        // (the handler sets EIP there, so the next record is the right one); anything else ends it.
        const t = followTarget(cpu, i, off, insns);
        if (t < 0) break;
        off = t;
      }
    }
    const b: Block = { insns, n: insns.length, key, pages, ranges, lin: 0, epoch: -1, code32, user: false, runs: 0, fn: undefined };
    if (key >= 0) {
      this.blocks.set(key, b);
      for (const p of pages) this.markCode(p, b);
    }
    this.decodedBlocks++;
    cpu.vmm.blockDecoded?.(cpu, b);
    return b;
  }

  private physOf(lin: number): number {
    const e = this.cpu.translate(lin, ACC_EXEC, this.cpu.cpl === 3);
    return (e & TLB_MMIO) ? -1 : (e & ~0xfff) | (lin & 0xfff);
  }

  private markCode(page: number, b: Block): void {
    for (let r = 0; r < b.ranges.length; r += 2) {
      if ((b.ranges[r] >>> 12) !== page) continue;
      for (let l = (b.ranges[r] & 0xfff) >>> LINE_SHIFT; l <= ((b.ranges[r + 1] - 1) & 0xfff) >>> LINE_SHIFT; l++) this.lineMask(page, l);
    }
    if (page >= this.codePages.length) {
      const n = new Uint8Array(Math.max(page + 1, this.cpu.mem.length >>> 12));
      n.set(this.codePages);
      this.codePages = n;
    }
    let list = this.byPage.get(page);
    if (!list) {
      list = [];
      this.byPage.set(page, list);
    }
    list.push(b);
    if (!this.codePages[page]) {
      this.codePages[page] = 1;
      // Write entries cached before the page held code must now take the slow path.
      this.cpu.tlb.flushAll();
    }
  }

  private lineMask(page: number, line: number): void {
    this.lines.set(page, (this.lines.get(page) ?? 0) | (1 << line));
  }
  /** Per code page: bit n set when 128-byte line n holds decoded code. */
  private readonly lines = new Map<number, number>();

  /**
   * A write of `size` bytes at host-physical `p` on a code page: drop the blocks whose bytes it
   * overlaps (the running block stops after this instruction). Writes to other lines cost a check.
   */
  write(p: number, size: number): void {
    const page = p >>> 12;
    const mask = this.lines.get(page) ?? 0;
    const first = (p & 0xfff) >>> LINE_SHIFT, last = ((p + size - 1) & 0xfff) >>> LINE_SHIFT;
    let hit = false;
    for (let l = first; l <= last && l < 32; l++) if (mask & (1 << l)) hit = true;
    if (!hit && (p + size - 1) >>> 12 === page) return;
    const list = this.byPage.get(page);
    if (!list) return;
    const end = p + size;
    const keep: Block[] = [];
    let dropped = 0;
    for (const b of list) {
      let overlap = false;
      for (let r = 0; r < b.ranges.length; r += 2) if (p < b.ranges[r + 1] && end > b.ranges[r]) overlap = true;
      if (overlap) { this.drop(b); dropped++; } else keep.push(b);
    }
    if (!dropped) return;
    this.invalidations++;
    this.cpu.brk = true;
    if (keep.length === 0) { this.invalidatePage(page); return; }
    this.byPage.set(page, keep);
    let m = 0;
    for (const b of keep) for (let r = 0; r < b.ranges.length; r += 2) {
      if ((b.ranges[r] >>> 12) !== page) continue;
      for (let l = (b.ranges[r] & 0xfff) >>> LINE_SHIFT; l <= ((b.ranges[r + 1] - 1) & 0xfff) >>> LINE_SHIFT; l++) m |= 1 << l;
    }
    this.lines.set(page, m);
  }

  private drop(b: Block): void {
    b.n = 0;
    if (this.blocks.get(b.key) === b) this.blocks.delete(b.key);
    this.cpu.vmm.blockDropped?.(this.cpu, b);
  }

  /** Drop every block on a page (loaders and devices writing whole pages). */
  invalidatePage(page: number): void {
    const list = this.byPage.get(page);
    this.codePages[page] = 0;
    this.lines.delete(page);
    if (!list) return;
    this.byPage.delete(page);
    for (const b of list) this.drop(b);
    this.invalidations++;
    this.cpu.brk = true;
  }

  flushAll(): void {
    for (const list of this.byPage.values()) for (const b of list) b.n = 0;
    this.cpu.vmm.blocksFlushed?.(this.cpu);
    this.blocks.clear();
    this.byPage.clear();
    this.lines.clear();
    this.fast.fill(undefined);
    this.codePages.fill(0);
  }

  /** Decoded block count (for statistics and the panel). */
  size(): number { return this.blocks.size; }
}

function addRange(ranges: number[], start: number, end: number): void {
  const n = ranges.length;
  if (n >= 2 && ranges[n - 1] === start) ranges[n - 1] = end;
  else ranges.push(start, end);
}

/** Target of a direct near CALL/JMP that the block may continue at, or -1. */
function followTarget(cpu: Cpu, i: Insn, next: number, insns: Insn[]): number {
  if (i.fast === 0 || i.osize !== 4 || !cpu.code32) return -1;
  const key = i.entry.handler, op0 = i.entry.operands[0];
  if (!((key === 'call' && op0 === 'Jz') || (key === 'jmp' && (op0 === 'Jz' || op0 === 'Jb')))) return -1;
  const t = (next + i.imm) | 0;
  if ((t >>> 0) > (cpu.segLimit[CS] >>> 0)) return -1;
  // Same linear page as the instruction, and not back into the block (that is a loop).
  if (((cpu.segBase[CS] + t) >>> 12) !== ((cpu.segBase[CS] + i.eip) >>> 12)) return -1;
  for (const x of insns) if (x.eip === t) return -1;
  return t;
}
