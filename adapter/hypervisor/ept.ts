// Extended page tables: four-level tables in Intel's format in host memory (PML4 -> PDPT -> PD -> PT,
// 512 eight-byte entries each). Entry bits: 0 read, 1 write, 2 execute, 5:3 memory type (leaf),
// 6 ignore PAT (leaf), 7 large page (PDPTE: 1 GiB, PDE: 2 MiB), 8 accessed, 9 dirty (leaf; both only
// when the EPTP enables them), 51:12 address. Bit 62 (ignored by the processor) marks the entries the
// hypervisor leaves misconfigured on purpose over MMIO, so each access there exits (EPT_MISCONFIG)
// and reaches the device model, as KVM does.
//
// walk() is what the processor does on every guest-physical access (each TLB fill and each guest
// page-table read): it returns the host physical address or reports a violation or misconfiguration
// with what the exit needs (permissions walked, the level that failed).
import type { Cpu } from '../cpu/cpu';
import type { HostPages } from './hostpages';

export const EPT_R = 1, EPT_W = 2, EPT_X = 4, EPT_RWX = 7;
export const EPT_LARGE = 0x80, EPT_ACCESSED = 0x100, EPT_DIRTY = 0x200, EPT_IGNORE_PAT = 0x40;
export const MT_UC = 0, MT_WB = 6;
/** High-dword bit 30 (entry bit 62): a deliberate MMIO misconfiguration. */
const MMIO_MARK_HI = 0x40000000;
/** Entry bits 51:36 (MAXPHYADDR 36) in the high dword are reserved. */
const RSVD_HI = 0x000ffff0;

export type EptPageSize = '4k' | '2m' | '1g';
const SIZE_BYTES: Record<EptPageSize, number> = { '4k': 0x1000, '2m': 0x200000, '1g': 0x40000000 };

export interface EptOptions {
  /** EPTP bit 6: the walk sets accessed flags, and dirty flags on writes. */
  accessedDirty: boolean;
  /** Map all of guest RAM when the VM starts instead of on the first violation. */
  eager: boolean;
  /** Largest page the hypervisor maps RAM with. */
  pageSize: EptPageSize;
}

export const WALK_OK = 0, WALK_VIOLATION = 1, WALK_MISCONFIG = 2;

/** One mapping, for the panel and the tests. */
export interface EptMapping {
  gpa: number;
  hpa: number;
  size: number;
  rwx: number;
  memoryType: number;
  ignorePat: boolean;
  accessed: boolean;
  dirty: boolean;
  mmio: boolean;
}

export class Ept {
  readonly pml4: number;
  /** Result of the last walk: WALK_* status, AND of R/W/X over the entries walked, the level that ended it. */
  status = WALK_OK;
  rwx = 0;
  level = 0;
  /** Host address of the entry where the last walk stopped (for the misconfiguration report). */
  entryAddr = 0;
  /** Statistics. */
  tables = 1;
  mapped = { '4k': 0, '2m': 0, '1g': 0 };
  invalidations = 0;
  private readonly walked = new Int32Array(4);

  /** Guest RAM is the host range [ramBase, ramBase + ramBytes) (the memory slot). */
  constructor(private readonly cpu: Cpu, private readonly pages: HostPages, readonly ramBytes: number, readonly ramBase: number, readonly opts: EptOptions) {
    this.pml4 = pages.allocOrThrow('EPT PML4');
    if (opts.eager) this.mapRange(0, ramBytes);
  }

  /** The EPT pointer: memory type WB, page-walk length 4 (encoded 3), A/D enable, PML4 address. */
  eptp(): number {
    return (this.pml4 | MT_WB | (3 << 3) | (this.opts.accessedDirty ? 0x40 : 0)) >>> 0;
  }

  /** Host address of a guest-physical RAM address (the memory slot), or -1 outside RAM. */
  slot(gpa: number): number {
    return (gpa >>> 0) < this.ramBytes ? this.ramBase + (gpa >>> 0) : -1;
  }

  private lo(a: number): number { return this.cpu.dv.getInt32(a, true); }
  private hi(a: number): number { return this.cpu.dv.getInt32(a + 4, true); }

  /**
   * The processor's walk for an access (EPT_R, EPT_W or EPT_X); `tableAccess` marks the guest's own
   * paging-structure accesses, which the A/D flags count as writes. Returns the host address, or -1
   * with status/rwx/level set. `peek` leaves the A/D flags alone.
   */
  walk(gpa: number, access: number, tableAccess: boolean, peek: boolean): number {
    gpa >>>= 0;
    let table = this.pml4, rwx = EPT_RWX, n = 0;
    for (let level = 4; level >= 1; level--) {
      const shift = level === 4 ? 39 : level === 3 ? 30 : level === 2 ? 21 : 12;
      const index = level === 4 ? 0 : level === 3 ? Math.floor(gpa / 0x40000000) & 0x1ff : (gpa >>> shift) & 0x1ff;
      const at = table + index * 8;
      const lo = this.lo(at), hi = this.hi(at);
      this.entryAddr = at;
      this.level = level;
      rwx &= lo & EPT_RWX;
      if ((lo & EPT_RWX) === 0) return this.fail(WALK_VIOLATION, rwx);
      const leaf = level === 1 || ((level === 2 || level === 3) && (lo & EPT_LARGE) !== 0);
      if (this.misconfigured(lo, hi, level, leaf)) return this.fail(WALK_MISCONFIG, rwx);
      this.walked[n++] = at;
      if (leaf) {
        if ((access & rwx) !== access) return this.fail(WALK_VIOLATION, rwx);
        if (this.opts.accessedDirty && !peek) {
          for (let k = 0; k < n; k++) {
            const a = this.walked[k];
            const v = this.lo(a);
            const want = v | EPT_ACCESSED | (k === n - 1 && (access & EPT_W || tableAccess) ? EPT_DIRTY : 0);
            if (want !== v) this.cpu.dv.setInt32(a, want, true);
          }
        }
        this.status = WALK_OK;
        this.rwx = rwx;
        const size = level === 1 ? 0x1000 : level === 2 ? 0x200000 : 0x40000000;
        return ((lo & ~0xfff & ~(size - 1)) >>> 0) + (gpa & (size - 1));
      }
      table = lo & ~0xfff;
    }
    return this.fail(WALK_VIOLATION, 0);
  }

  private fail(status: number, rwx: number): number {
    this.status = status;
    this.rwx = rwx;
    return -1;
  }

  /** The SDM's EPT misconfiguration conditions for one entry. */
  private misconfigured(lo: number, hi: number, level: number, leaf: boolean): boolean {
    if ((lo & EPT_R) === 0 && lo & EPT_W) return true; // write without read
    if (hi & RSVD_HI) return true;
    if (level === 4 && lo & 0xf8) return true; // PML4E bits 7:3 reserved
    if (!leaf) return (lo & 0x78) !== 0; // bits 6:3 reserved in a non-leaf entry
    const mt = (lo >>> 3) & 7;
    if (mt === 2 || mt === 3 || mt === 7) return true;
    if (level === 2 && lo & 0x1ff000) return true; // 2 MiB page: address bits 20:12 reserved
    if (level === 3 && lo & 0x3ffff000) return true; // 1 GiB page: address bits 29:12 reserved
    return false;
  }

  /** Whether the entry where the last walk stopped is one of the hypervisor's MMIO markers. */
  stoppedAtMmio(): boolean {
    return (this.hi(this.entryAddr) & MMIO_MARK_HI) !== 0;
  }

  // ------------------------------------------------------------------ building

  /** The table below entry `at`, created if absent (null when host memory ran out). */
  private child(at: number, what: string): number {
    const lo = this.lo(at);
    if (lo & EPT_RWX && !(lo & EPT_LARGE)) return lo & ~0xfff;
    const t = this.pages.alloc(what);
    if (t < 0) return -1;
    this.tables++;
    // Non-leaf entries allow everything: permissions are decided at the leaf.
    this.cpu.dv.setInt32(at, t | EPT_RWX, true);
    this.cpu.dv.setInt32(at + 4, 0, true);
    return t;
  }

  /** Map one page of `size` at gpa -> hpa (both aligned) with permissions; returns false without memory. */
  mapPage(gpa: number, hpa: number, size: EptPageSize, rwx: number, memoryType = MT_WB): boolean {
    gpa >>>= 0;
    const pdpt = this.child(this.pml4, 'EPT PDPT');
    if (pdpt < 0) return false;
    const pdpte = pdpt + (Math.floor(gpa / 0x40000000) & 0x1ff) * 8;
    const leafBits = rwx | (memoryType << 3) | EPT_IGNORE_PAT;
    if (size === '1g') return this.setLeaf(pdpte, hpa, leafBits | EPT_LARGE, size);
    const pd = this.child(pdpte, 'EPT page directory');
    if (pd < 0) return false;
    const pde = pd + ((gpa >>> 21) & 0x1ff) * 8;
    if (size === '2m') return this.setLeaf(pde, hpa, leafBits | EPT_LARGE, size);
    const pt = this.child(pde, 'EPT page table');
    if (pt < 0) return false;
    return this.setLeaf(pt + ((gpa >>> 12) & 0x1ff) * 8, hpa, leafBits, size);
  }

  private setLeaf(at: number, hpa: number, bits: number, size: EptPageSize): boolean {
    this.cpu.dv.setInt32(at, (hpa & ~0xfff) | bits, true);
    this.cpu.dv.setInt32(at + 4, 0, true);
    this.mapped[size]++;
    return true;
  }

  /** Leave a misconfigured entry (write-only, marked) over an MMIO page: its accesses exit with EPT_MISCONFIG. */
  markMmio(gpa: number): boolean {
    gpa >>>= 0;
    const pdpt = this.child(this.pml4, 'EPT PDPT');
    if (pdpt < 0) return false;
    const pd = this.child(pdpt + (Math.floor(gpa / 0x40000000) & 0x1ff) * 8, 'EPT page directory');
    if (pd < 0) return false;
    const pt = this.child(pd + ((gpa >>> 21) & 0x1ff) * 8, 'EPT page table');
    if (pt < 0) return false;
    const at = pt + ((gpa >>> 12) & 0x1ff) * 8;
    this.cpu.dv.setInt32(at, EPT_W, true);
    this.cpu.dv.setInt32(at + 4, MMIO_MARK_HI, true);
    return true;
  }

  /**
   * The largest page that maps `gpa` wholly inside RAM, up to the configured size. Its host address
   * must be aligned to the page size as well: with RAM at 16 MiB, 1 GiB pages never fit.
   */
  granuleFor(gpa: number): EptPageSize {
    for (const s of ['1g', '2m'] as const) {
      if (SIZE_BYTES[s] > SIZE_BYTES[this.opts.pageSize]) continue;
      const base = Math.floor(gpa / SIZE_BYTES[s]) * SIZE_BYTES[s];
      if (base + SIZE_BYTES[s] <= this.ramBytes && this.slot(base) % SIZE_BYTES[s] === 0) return s;
    }
    return '4k';
  }

  /** Map guest RAM [start, end) with the largest pages that fit; read, write and execute. */
  mapRange(start: number, end: number): boolean {
    let gpa = start >>> 0;
    while (gpa < end) {
      const s = this.granuleFor(gpa);
      const size = SIZE_BYTES[s];
      const base = Math.floor(gpa / size) * size;
      if (!this.mapPage(base, this.slot(base), s, EPT_RWX)) return false;
      gpa = base + size;
    }
    return true;
  }

  /** Map the RAM granule holding `gpa` (lazy building on a violation). */
  mapRamAt(gpa: number): boolean {
    const s = this.granuleFor(gpa);
    const size = SIZE_BYTES[s];
    const base = Math.floor((gpa >>> 0) / size) * size;
    return this.mapPage(base, this.slot(base), s, EPT_RWX);
  }

  /**
   * Make the 4 KiB page at `gpa` its own leaf: a 2 MiB (or 1 GiB) page mapping it is split into 4 KiB
   * pages with the same attributes first. Returns false without host memory.
   */
  splitAt(gpa: number): boolean {
    gpa >>>= 0;
    for (let level = 3; level >= 2; level--) {
      this.walk(gpa, 0, false, true);
      if (this.status !== WALK_OK || this.level !== level) continue;
      const at = this.entryAddr;
      const lo = this.lo(at);
      const span = level === 3 ? 0x40000000 : 0x200000, step = level === 3 ? 0x200000 : 0x1000;
      const t = this.pages.alloc(level === 3 ? 'EPT page directory' : 'EPT page table');
      if (t < 0) return false;
      this.tables++;
      const base = (lo & ~0xfff & ~(span - 1)) >>> 0;
      const attrs = lo & 0xfff & ~EPT_LARGE;
      for (let k = 0; k < 512; k++) {
        this.cpu.dv.setInt32(t + k * 8, (base + k * step) | attrs | (level === 3 ? EPT_LARGE : 0), true);
        this.cpu.dv.setInt32(t + k * 8 + 4, 0, true);
      }
      this.cpu.dv.setInt32(at, t | EPT_RWX, true);
      this.mapped[level === 3 ? '1g' : '2m']--;
      this.mapped[level === 3 ? '2m' : '4k'] += 512;
    }
    return true;
  }

  /** Change or clear the leaf that maps `gpa` (0 clears it); the caller invalidates (INVEPT). */
  setLeafBits(gpa: number, rwx: number): boolean {
    this.walk(gpa, 0, false, true);
    const at = this.entryAddr;
    const lo = this.lo(at);
    if (!(lo & EPT_RWX) && !(this.hi(at) & MMIO_MARK_HI)) return false;
    this.cpu.dv.setInt32(at, rwx ? (lo & ~EPT_RWX) | rwx : 0, true);
    if (!rwx) this.cpu.dv.setInt32(at + 4, 0, true);
    return true;
  }

  /** Write a raw 64-bit entry at the level-1..4 position for gpa (tests, and the debugger's experiments). */
  entryAddress(gpa: number, level: number): number {
    gpa >>>= 0;
    let table = this.pml4;
    for (let l = 4; l > level; l--) {
      const index = l === 4 ? 0 : l === 3 ? Math.floor(gpa / 0x40000000) & 0x1ff : (gpa >>> 21) & 0x1ff;
      const at = table + index * 8;
      const lo = this.lo(at);
      if (!(lo & EPT_RWX) || lo & EPT_LARGE) return -1;
      table = lo & ~0xfff;
    }
    const index = level === 4 ? 0 : level === 3 ? Math.floor(gpa / 0x40000000) & 0x1ff : level === 2 ? (gpa >>> 21) & 0x1ff : (gpa >>> 12) & 0x1ff;
    return table + index * 8;
  }

  // ------------------------------------------------------------------ inspection

  /** Every leaf mapping, in GPA order (MMIO markers included). */
  mappings(): EptMapping[] {
    const out: EptMapping[] = [];
    const visit = (table: number, level: number, base: number) => {
      for (let i = 0; i < 512; i++) {
        const at = table + i * 8;
        const lo = this.lo(at), hi = this.hi(at);
        const span = level === 4 ? 0x8000000000 : level === 3 ? 0x40000000 : level === 2 ? 0x200000 : 0x1000;
        const gpa = base + i * span;
        if (gpa >= 0x100000000) break;
        if (hi & MMIO_MARK_HI) {
          out.push({ gpa, hpa: -1, size: span, rwx: lo & EPT_RWX, memoryType: 0, ignorePat: false, accessed: false, dirty: false, mmio: true });
          continue;
        }
        if (!(lo & EPT_RWX)) continue;
        if (level === 1 || (level <= 3 && lo & EPT_LARGE)) {
          out.push({
            gpa, hpa: (lo & ~0xfff) >>> 0, size: span, rwx: lo & EPT_RWX, memoryType: (lo >>> 3) & 7, ignorePat: (lo & EPT_IGNORE_PAT) !== 0,
            accessed: (lo & EPT_ACCESSED) !== 0, dirty: (lo & EPT_DIRTY) !== 0, mmio: false,
          });
        } else {
          visit(lo & ~0xfff, level - 1, gpa);
        }
      }
    };
    visit(this.pml4, 4, 0);
    return out;
  }

  /** The entries a walk of `gpa` reads, level by level (for the translation picture). */
  walkEntries(gpa: number): { level: number; address: number; lo: number; hi: number }[] {
    gpa >>>= 0;
    const out: { level: number; address: number; lo: number; hi: number }[] = [];
    let table = this.pml4;
    for (let level = 4; level >= 1; level--) {
      const index = level === 4 ? 0 : level === 3 ? Math.floor(gpa / 0x40000000) & 0x1ff : level === 2 ? (gpa >>> 21) & 0x1ff : (gpa >>> 12) & 0x1ff;
      const at = table + index * 8;
      const lo = this.lo(at), hi = this.hi(at);
      out.push({ level, address: at, lo: lo >>> 0, hi: hi >>> 0 });
      if (!(lo & EPT_RWX) || level === 1 || lo & EPT_LARGE) break;
      table = lo & ~0xfff;
    }
    return out;
  }
}
