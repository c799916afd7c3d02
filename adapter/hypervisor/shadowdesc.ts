// The trap-and-emulate monitor's window: the top 4 MiB of every address space (as VMware's monitor
// took it), mapped supervisor-only by the shadow roots, holding the shadow descriptor tables the
// processor really uses while the guest kernel runs deprivileged at ring 1:
//   0xFFC00000  shadow GDT (up to 64 KiB): the guest's descriptors with DPL 0 turned into DPL 1, its
//               TSS descriptors pointing at the shadow TSS;
//   0xFFC10000  shadow IDT: the guest's gates with DPL 0 turned into DPL 1, interrupt gates into trap
//               gates (the processor's IF stays set for the monitor; the guest's IF is virtual), task
//               gates not present (taskswitch.ts);
//   0xFFC11000  shadow TSS: SS1:ESP1 = the guest TSS's SS0:ESP0, so a ring-3 -> kernel transition
//               lands on the guest kernel's stack, at ring 1;
//   0xFFC20000  shadow LDT (up to 64 KiB, once the guest loads one): the guest's current LDT,
//               compressed as the GDT is.
// The window's page table exists in both formats: 32-bit (the root's entry 1023) and PAE (entry 510
// of the directory the root's fourth PDPTE points at).
import type { Cpu } from '../cpu/cpu';
import type { HostPages } from './hostpages';

export const WINDOW_BASE = 0xffc00000;
export const WINDOW_PDE_INDEX = 1023;
/** PAE: the window is entries 510 and 511 of the fourth directory (the shadow maps only 510). */
export const WINDOW_PAE_PDE_INDEX = 510;
export const GDT_LIN = WINDOW_BASE, IDT_LIN = WINDOW_BASE + 0x10000, TSS_LIN = WINDOW_BASE + 0x11000, LDT_LIN = WINDOW_BASE + 0x20000;
export const TSS_LIMIT = 0x67;
const GDT_PAGES = 16, LDT_PAGES = 16;

/** Reads the guest's memory by linear address (its own translation), or undefined where unmapped. */
export type GuestReader = (lin: number) => number | undefined;

export class MonitorWindow {
  /** Host page of the window's page table, and of its PAE twin. */
  readonly pt: number;
  readonly ptPae: number;
  private readonly gdtPages: number[] = [];
  /** The shadow LDT's pages, allocated when the guest first loads an LDT. */
  private readonly ldtPages: number[] = [];
  private readonly idtPage: number;
  readonly tssPage: number;
  /** Per vector: the guest's gate is an interrupt gate (delivery clears the guest's virtual IF). */
  readonly interruptGate = new Uint8Array(256);
  /** Per vector: the guest's gate is a present task gate (the monitor switches tasks for it). */
  readonly taskGate = new Uint8Array(256);
  /** Entries written by the last GDT and LDT builds (to clear when the next one is smaller). */
  private gdtEntries = 0;
  private ldtEntries = 0;

  constructor(private readonly cpu: Cpu, private readonly pages: HostPages) {
    this.pt = pages.allocOrThrow('monitor page table');
    this.ptPae = pages.allocOrThrow('monitor page table (PAE)');
    for (let k = 0; k < GDT_PAGES; k++) this.gdtPages.push(pages.allocOrThrow('shadow GDT'));
    this.idtPage = pages.allocOrThrow('shadow IDT');
    this.tssPage = pages.allocOrThrow('shadow TSS');
    this.gdtPages.forEach((h, k) => this.map(GDT_LIN + k * 0x1000, h));
    this.map(IDT_LIN, this.idtPage);
    this.map(TSS_LIN, this.tssPage);
    // The I/O map base lies beyond the limit: every I/O access from ring 3 with IOPL < 3 faults to the monitor.
    this.cpu.dv.setUint16(this.tssPage + 0x66, 0x68, true);
  }

  /** Map one page of the window in both page tables: present, writable, accessed, dirty, supervisor. */
  private map(lin: number, hpa: number): void {
    this.cpu.dv.setInt32(this.pt + ((lin >>> 12) & 0x3ff) * 4, hpa | 0x63, true);
    this.cpu.dv.setInt32(this.ptPae + ((lin >>> 12) & 0x1ff) * 8, hpa | 0x63, true);
  }

  /** The directory entry every shadow root holds for the window (present, writable, supervisor). */
  pde(): number {
    return this.pt | 0x23;
  }
  /** The same in PAE format, for the directory under the fourth PDPTE (low dword; the high one is 0). */
  pdePae(): number {
    return this.ptPae | 0x23;
  }

  private gdtAddr(offset: number): number {
    return this.gdtPages[offset >>> 12] + (offset & 0xfff);
  }

  readGdt(index: number): [number, number] {
    const a = this.gdtAddr(index * 8);
    return [this.cpu.dv.getInt32(a, true), this.cpu.dv.getInt32(a + 4, true)];
  }
  writeGdt(index: number, lo: number, hi: number): void {
    const a = this.gdtAddr(index * 8);
    this.cpu.dv.setInt32(a, lo, true);
    this.cpu.dv.setInt32(a + 4, hi, true);
  }

  /** The descriptor the processor uses for a guest descriptor: ring 0 compressed into ring 1. */
  static shadowDescriptor(lo: number, hi: number): [number, number] {
    const present = (hi & 0x8000) !== 0;
    const dpl = (hi >>> 13) & 3, s = (hi & 0x1000) !== 0, type = (hi >>> 8) & 0xf;
    // Code and data, present or not (a not-present one must still fault with #NP, not a privilege #GP).
    if (s) return [lo, dpl === 0 ? hi | (1 << 13) : hi];
    if (!present) return [lo, hi];
    if (type === 1 || type === 3 || type === 9 || type === 11) {
      // A TSS: the shadow TSS, 32-bit, keeping the busy bit.
      const busy = type === 3 || type === 11 ? 2 : 0;
      const base = TSS_LIN;
      return [((base & 0xffff) << 16) | TSS_LIMIT, (base & 0xff000000) | ((base >>> 16) & 0xff) | ((0x89 | busy) << 8)];
    }
    if ((type === 4 || type === 12) && dpl === 0) return [lo, hi | (1 << 13)]; // call gates
    // A task gate names the null selector: JMP/CALL through it faults (#GP(0)) into the monitor,
    // which switches tasks against the guest's TSS.
    if (type === 5) return [lo & 0xffff, dpl === 0 ? hi | (1 << 13) : hi];
    return [lo, hi];
  }

  /** Rebuild the shadow GDT from the guest's (read through `read`, dword by dword). Returns false if unreadable. */
  buildGdt(read: GuestReader, base: number, limit: number): boolean {
    const n = Math.min(8192, Math.floor((limit + 1) / 8));
    for (let k = 0; k < n; k++) {
      const lo = read((base + k * 8) >>> 0), hi = read((base + k * 8 + 4) >>> 0);
      if (lo === undefined || hi === undefined) return false;
      const [sl, sh] = MonitorWindow.shadowDescriptor(lo, hi);
      this.writeGdt(k, sl, sh);
    }
    for (let k = n; k < this.gdtEntries; k++) this.writeGdt(k, 0, 0);
    this.gdtEntries = n;
    return true;
  }

  private ldtAddr(offset: number): number {
    return this.ldtPages[offset >>> 12] + (offset & 0xfff);
  }

  readLdt(index: number): [number, number] {
    if (index * 8 >= this.ldtPages.length * 4096) return [0, 0];
    const a = this.ldtAddr(index * 8);
    return [this.cpu.dv.getInt32(a, true), this.cpu.dv.getInt32(a + 4, true)];
  }
  writeLdt(index: number, lo: number, hi: number): void {
    const a = this.ldtAddr(index * 8);
    this.cpu.dv.setInt32(a, lo, true);
    this.cpu.dv.setInt32(a + 4, hi, true);
  }

  /**
   * Rebuild the shadow LDT from the guest's current one (base, byte limit). Returns false if unreadable.
   * Its pages are allocated (and mapped) the first time an LDT is loaded.
   */
  buildLdt(read: GuestReader, base: number, limit: number): boolean {
    if (!this.ldtPages.length) {
      for (let k = 0; k < LDT_PAGES; k++) {
        const h = this.pages.allocOrThrow('shadow LDT');
        this.ldtPages.push(h);
        this.map(LDT_LIN + k * 0x1000, h);
      }
      this.cpu.tlb.flushAll();
    }
    const n = Math.min(8192, Math.floor(((limit >>> 0) + 1) / 8));
    for (let k = 0; k < n; k++) {
      const lo = read((base + k * 8) >>> 0), hi = read((base + k * 8 + 4) >>> 0);
      if (lo === undefined || hi === undefined) return false;
      const [sl, sh] = MonitorWindow.shadowDescriptor(lo, hi);
      this.writeLdt(k, sl, sh);
    }
    for (let k = n; k < this.ldtEntries; k++) this.writeLdt(k, 0, 0);
    this.ldtEntries = n;
    return true;
  }

  /** Rebuild the shadow IDT from the guest's. Returns false if unreadable. */
  buildIdt(read: GuestReader, base: number, limit: number): boolean {
    const n = Math.min(256, Math.floor((limit + 1) / 8));
    this.interruptGate.fill(0);
    this.taskGate.fill(0);
    for (let v = 0; v < 256; v++) {
      let lo = 0, hi = 0;
      if (v < n) {
        const l = read((base + v * 8) >>> 0), h = read((base + v * 8 + 4) >>> 0);
        if (l === undefined || h === undefined) return false;
        lo = l; hi = h;
        const type = (hi >>> 8) & 0x1f; // with S (0 for gates)
        if (type === 6 || type === 14) { this.interruptGate[v] = 1; hi |= 0x100; } // interrupt -> trap gate
        // A task gate is not present in the shadow: INT n through it raises #NP into the monitor.
        if (type === 5 && hi & 0x8000) { this.taskGate[v] = 1; hi &= ~0x8000; }
        // DPL 0 -> 1, present or not: INT n from the guest kernel must reach the presence check (#NP).
        if (((hi >>> 13) & 3) === 0 && (type === 5 || type === 6 || type === 7 || type === 14 || type === 15)) hi |= 1 << 13;
      }
      this.cpu.dv.setInt32(this.idtPage + v * 8, lo, true);
      this.cpu.dv.setInt32(this.idtPage + v * 8 + 4, hi, true);
    }
    return true;
  }

  /** A gate of the monitor's own in the shadow IDT (the paravirtual upcall): a 32-bit trap gate, DPL 1. */
  setGate(vector: number, selector: number, offset: number, clearsIf: boolean): void {
    this.cpu.dv.setInt32(this.idtPage + vector * 8, ((selector & 0xffff) << 16) | (offset & 0xffff), true);
    this.cpu.dv.setInt32(this.idtPage + vector * 8 + 4, (offset & 0xffff0000) | 0xaf00, true); // P, DPL 1, 32-bit trap gate
    this.interruptGate[vector] = clearsIf ? 1 : 0;
  }

  /** The ring-1 stack of the shadow TSS: the guest kernel's ring-0 stack, selector RPL 1. */
  setKernelStack(ss0: number, esp0: number): void {
    this.cpu.dv.setUint16(this.tssPage + 0x10, (ss0 & 0xfffc) | 1, true); // SS1
    this.cpu.dv.setInt32(this.tssPage + 0x0c, esp0, true); // ESP1
  }
}
