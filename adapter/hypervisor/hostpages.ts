// Host physical pages for the hypervisor's own structures (VMCS, I/O and MSR bitmaps, EPT tables,
// shadow page tables, shadow descriptor tables). They come from the low host memory the machine
// keeps below guest RAM (machine/pc.ts draws the layout), so each structure has a real host
// physical address, apart from every guest-physical one, in the same ArrayBuffer the CPU reads.
import type { Cpu } from '../cpu/cpu';

export const PAGE = 4096;

export class HostPages {
  /** First and one-past-last host physical address of the pool. */
  readonly start: number;
  readonly end: number;
  private next: number;
  private readonly free: number[] = [];
  /** What each allocated page holds (for the panel and for statistics), by host page number. */
  readonly owner = new Map<number, string>();
  /** Pages allocated and freed so far. */
  allocated = 0;
  freed = 0;

  constructor(private readonly cpu: Cpu, start: number, end: number) {
    this.start = (start + PAGE - 1) & ~(PAGE - 1);
    this.end = end & ~(PAGE - 1);
    this.next = this.start;
  }

  /** A zeroed page, or -1 when the pool is exhausted. */
  alloc(what: string): number {
    let hpa = this.free.pop();
    if (hpa === undefined) {
      if (this.next >= this.end) return -1;
      hpa = this.next;
      this.next += PAGE;
    }
    this.cpu.mem.fill(0, hpa, hpa + PAGE);
    this.owner.set(hpa >>> 12, what);
    this.allocated++;
    return hpa;
  }

  /** Like alloc, but an exhausted pool is an error (structures that must exist: VMCS, bitmaps). */
  allocOrThrow(what: string): number {
    const hpa = this.alloc(what);
    if (hpa < 0) throw new Error(`hypervisor: out of host memory for ${what}`);
    return hpa;
  }

  release(hpa: number): void {
    if (!this.owner.delete(hpa >>> 12)) return;
    this.free.push(hpa);
    this.freed++;
  }

  /** Pages in use. */
  inUse(): number { return this.owner.size; }
  /** Pages still available. */
  available(): number { return this.free.length + ((this.end - this.next) >>> 12); }

  // ---- little-endian access to host memory (entries of 64-bit tables are two dwords) ----
  read32(hpa: number): number { return this.cpu.dv.getInt32(hpa, true); }
  write32(hpa: number, v: number): void { this.cpu.dv.setInt32(hpa, v, true); }
}
