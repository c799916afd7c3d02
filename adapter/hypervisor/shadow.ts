// Shadow paging, after KVM's shadow MMU. The processor walks shadow page tables that live in host
// memory, in the guest's own format (32-bit or PAE), with host physical addresses in their leaves;
// its CR3 holds the shadow root. One shadow page exists per guest table frame and role (level,
// CR0.WP, PAE, direct, and the access the upper levels allow). They are filled lazily: a #PF the
// shadow raises exits to the hypervisor, which walks the guest's tables (gwalk.ts) and either
// reflects the fault to the guest or builds the missing shadow entries (setting the guest's
// accessed/dirty bits as the processor would). Guest table frames are write-protected in the shadow;
// a guest write to one is emulated and the shadow entries it changes are dropped, so the shadow
// never disagrees with the guest's tables. A shadow leaf is writable only once the guest entry is
// dirty, so the first write to a clean page faults and sets the guest's dirty bit.
import type { Cpu } from '../cpu/cpu';
import type { HostPages } from './hostpages';
import { guestWalk, type GuestView, type GuestWalk, ACCESS_WRITE, PTE_P, PTE_RW, PTE_US, PTE_A, PTE_D, PTE_G } from './gwalk';

export const ROLE_LEVEL = 3, ROLE_WP = 4, ROLE_PAE = 8, ROLE_DIRECT = 16, ROLE_USER = 32, ROLE_WRITE = 64, ROLE_NX = 128;
/** PAE with a reserved window: the directory under the fourth PDPTE, which holds the window's entries. */
export const ROLE_TOP = 256;
/** Key frame of the direct root used while the guest has paging off (beyond any 32-bit frame). */
const DIRECT_ROOT_GFN = 0x100000;
/** Key frame of the window-only directory (PAE, the guest's fourth PDPTE not present). */
const WINDOW_DIR_GFN = 0x100001;
/** PAE: the reserved window is entries 510 and 511 of the top directory (the top 4 MiB). */
const PAE_RESERVED_FIRST = 510;
const pageKey = (gfn: number, role: number) => gfn * 512 + role;

export interface ShadowPage {
  hpa: number;
  /** Guest frame of the table it shadows; for a direct page, the first frame of the guest's large page. */
  gfn: number;
  level: number;
  role: number;
  /** Shadows a guest large page: no guest table behind it. */
  direct: boolean;
  /** Host addresses of the shadow entries that point at this page. */
  parents: Set<number>;
  /** Emulated guest writes to its frame since a fault last went through it (write flooding). */
  writes: number;
}

export type FaultOutcome =
  | { kind: 'fixed' }
  | { kind: 'reflect'; error: number }
  /** The write targets a write-protected guest table (or MMIO): emulate the instruction. */
  | { kind: 'emulate'; gfn: number; mmio: boolean };

/** Statistics shown by --stats and the panel. */
export interface ShadowCounters {
  fills: number;
  reflected: number;
  emulatedWrites: number;
  zapped: number;
  unshadowed: number;
  rootSwitches: number;
  rootReuses: number;
  resets: number;
  writeProtects: number;
  invlpg: number;
}

export class ShadowMmu {
  private readonly pages = new Map<number, ShadowPage>();
  private readonly byHpa = new Map<number, ShadowPage>();
  /** PAE roots, by guest CR3 (its PDPT is 32-byte aligned, several can share a frame). */
  private readonly paeRoots = new Map<number, ShadowPage>();
  /** Guest frames holding shadowed tables -> number of shadow pages (write-protected while > 0). */
  readonly tracked = new Map<number, number>();
  /** Reverse map: guest frame -> host addresses of shadow leaves mapping it. */
  private readonly rmap = new Map<number, Set<number>>();
  root: ShadowPage | null = null;
  /** Shadow entries changed or dropped since the TLB was last flushed (a CR3 reload then flushes). */
  changed = false;
  /**
   * A directory entry the hypervisor keeps in every 32-bit root for itself (a trap-and-emulate
   * monitor's window at the top 4 MiB of the address space): index and entry value; with PAE, entry
   * `paeEntry` at index 510 (and nothing at 511) of the directory under the fourth PDPTE, which is
   * present in the shadow PDPT even when the guest's is not. The guest's own entries there are not
   * shadowed.
   */
  reserved: { index: number; entry: number; paeEntry?: number } | null = null;
  /** Frames the guest may not map (ballooned out): a fault on one is reflected with the reserved bit. */
  refused: ((gfn: number) => boolean) | null = null;
  readonly counters: ShadowCounters = { fills: 0, reflected: 0, emulatedWrites: 0, zapped: 0, unshadowed: 0, rootSwitches: 0, rootReuses: 0, resets: 0, writeProtects: 0, invlpg: 0 };

  /** Guest RAM is the host range [ramBase, ramBase + ramBytes) (the memory slot). */
  constructor(private readonly cpu: Cpu, private readonly host: HostPages, readonly ramBytes: number, readonly ramBase: number, readonly guest: GuestView) {}

  // ------------------------------------------------------------------ formats and helpers

  private get pae(): boolean { return this.guest.pae; }
  private esz(): number { return this.pae ? 8 : 4; }
  private entries(): number { return this.pae ? 512 : 1024; }
  private rd(a: number): number { return this.cpu.dv.getInt32(a, true); }
  private wr(a: number, v: number): void { this.cpu.dv.setInt32(a, v, true); }
  private wrEntry(a: number, lo: number, hi = 0): void {
    this.wr(a, lo);
    if (this.pae) this.wr(a + 4, hi);
    this.changed = true;
  }

  /** Host address of a guest frame (in the memory slot), or -1 outside RAM. */
  slot(gfn: number): number {
    return gfn >= 0 && gfn * 4096 < this.ramBytes ? this.ramBase + gfn * 4096 : -1;
  }

  /** Host address of a guest-physical byte in RAM, or -1 (the debugger's view; paging-off accesses). */
  hostAddress(gpa: number): number {
    const h = this.slot(gpa >>> 12);
    return h < 0 ? -1 : h + (gpa & 0xfff);
  }

  /** The guest frame a shadow leaf maps (its host page, back in guest-physical terms). */
  private leafGfn(lo: number): number {
    return (((lo & ~0xfff) >>> 0) - this.ramBase) / 4096;
  }

  /** The hypervisor's own entry in a root (32-bit: every directory shadow is a root; PAE: the top directory), never the guest's. */
  isReserved(page: ShadowPage, index: number): boolean {
    if (this.reserved === null || page.level !== 2) return false;
    return this.pae ? (page.role & ROLE_TOP) !== 0 && index >= PAE_RESERVED_FIRST : index === this.reserved.index;
  }

  baseRole(): number {
    return (this.guest.wp ? ROLE_WP : 0) | (this.pae ? ROLE_PAE : 0);
  }

  pageAt(hpa: number): ShadowPage | undefined { return this.byHpa.get(hpa & ~0xfff); }
  allPages(): ShadowPage[] { return [...this.byHpa.values()]; }
  isTracked(gfn: number): boolean { return this.tracked.has(gfn); }

  /** The shadow page for (gfn, role), created if needed; null when host memory ran out. */
  private getPage(gfn: number, role: number): ShadowPage | null {
    const k = pageKey(gfn, role);
    const found = this.pages.get(k);
    if (found) return found;
    const hpa = this.host.alloc(role & ROLE_DIRECT ? 'shadow page (direct)' : `shadow page table level ${role & ROLE_LEVEL}`);
    if (hpa < 0) return null;
    const p: ShadowPage = { hpa, gfn, level: role & ROLE_LEVEL, role, direct: (role & ROLE_DIRECT) !== 0, parents: new Set(), writes: 0 };
    this.pages.set(k, p);
    this.byHpa.set(hpa, p);
    if (!p.direct) this.track(gfn);
    return p;
  }

  /** Write-protect a guest table frame: every shadow leaf that maps it loses its write permission. */
  private track(gfn: number): void {
    const n = this.tracked.get(gfn) ?? 0;
    this.tracked.set(gfn, n + 1);
    if (n > 0) return;
    const leaves = this.rmap.get(gfn);
    if (!leaves || leaves.size === 0) return;
    let any = false;
    for (const at of leaves) {
      const lo = this.rd(at);
      if (lo & PTE_RW) { this.wr(at, lo & ~(PTE_RW | PTE_D)); any = true; }
    }
    if (any) {
      this.counters.writeProtects++;
      this.changed = true;
      this.cpu.tlb.flushAll(); // writable translations of the frame may be cached
    }
  }

  private untrack(gfn: number): void {
    const n = this.tracked.get(gfn) ?? 0;
    if (n <= 1) this.tracked.delete(gfn); else this.tracked.set(gfn, n - 1);
  }

  private rmapAdd(gfn: number, at: number): void {
    let s = this.rmap.get(gfn);
    if (!s) { s = new Set(); this.rmap.set(gfn, s); }
    s.add(at);
  }
  private rmapRemove(gfn: number, at: number): void {
    const s = this.rmap.get(gfn);
    if (s) { s.delete(at); if (s.size === 0) this.rmap.delete(gfn); }
  }

  /** Drop one shadow entry (a leaf leaves the rmap; a link leaves the child's parent set). */
  private zapEntry(page: ShadowPage, index: number): void {
    if (this.isReserved(page, index)) return;
    const at = page.hpa + index * this.esz();
    const lo = this.rd(at);
    if (!(lo & PTE_P)) return;
    if (page.level > 1) this.byHpa.get(lo & ~0xfff)?.parents.delete(at);
    else this.rmapRemove(this.leafGfn(lo), at);
    this.wrEntry(at, 0, 0);
    this.counters.zapped++;
  }

  /** Free a shadow page: its entries, the links to it, its write protection. */
  private freePage(p: ShadowPage): void {
    const n = p.level === 3 ? 4 : this.entries();
    for (let i = 0; i < n; i++) this.zapEntry(p, i);
    for (const at of p.parents) this.wrEntry(at, 0, 0);
    p.parents.clear();
    this.pages.delete(pageKey(p.gfn, p.role));
    this.byHpa.delete(p.hpa);
    for (const [k, r] of this.paeRoots) if (r === p) this.paeRoots.delete(k);
    if (!p.direct && p.level < 3) this.untrack(p.gfn);
    if (this.root === p) this.root = null;
    this.host.release(p.hpa);
  }

  /** Drop everything (CR4 paging-mode changes, host memory exhausted). The caller loads a new root. */
  reset(): void {
    for (const p of [...this.byHpa.values()]) this.freePage(p);
    this.pages.clear();
    this.byHpa.clear();
    this.paeRoots.clear();
    this.tracked.clear();
    this.rmap.clear();
    this.root = null;
    this.counters.resets++;
    for (const g of this.watched.keys()) this.track(g);
    this.changed = true;
  }

  // ------------------------------------------------------------------ roots

  /**
   * The shadow root for the guest's CR3 and mode; returns its host address for the processor's CR3
   * (PAE: the shadow PDPT, whose four entries the caller loads as the PDPTE registers), or -1 when
   * host memory ran out even after dropping every shadow page.
   */
  loadRoot(): number {
    for (let attempt = 0; attempt < 2; attempt++) {
      // Paging off (a trap-and-emulate guest): one direct root maps linear = guest-physical.
      const r = this.guest.paging === false ? this.getPage(DIRECT_ROOT_GFN, 2 | ROLE_DIRECT | this.baseRole())
        : this.pae ? this.paeRoot() : this.getPage((this.guest.cr3 >>> 12) & 0xfffff, 2 | this.baseRole());
      if (r) {
        if (this.reserved && !this.pae) {
          const at = r.hpa + this.reserved.index * 4;
          const cur = this.rd(at);
          if ((cur >>> 0) !== this.reserved.entry >>> 0) {
            if (cur & PTE_P) this.zapEntry(r, this.reserved.index);
            this.wr(at, this.reserved.entry);
          }
        }
        if (this.root === r) this.counters.rootReuses++; else this.counters.rootSwitches++;
        this.root = r;
        return r.hpa;
      }
      this.reset();
    }
    return -1;
  }

  private paeRoot(): ShadowPage | null {
    const key = this.guest.cr3 >>> 0;
    let r = this.paeRoots.get(key);
    if (!r) {
      const hpa = this.host.alloc('shadow PDPT');
      if (hpa < 0) return null;
      r = { hpa, gfn: (key >>> 12) & 0xfffff, level: 3, role: 3 | this.baseRole(), direct: false, parents: new Set(), writes: 0 };
      this.paeRoots.set(key, r);
      this.byHpa.set(hpa, r);
    }
    // The PDPTEs were loaded from the guest at its CR3 load: point each at the shadow of its directory.
    for (let i = 0; i < 4; i++) {
      const lo = this.guest.pdpte[i * 2];
      const at = r.hpa + i * 8;
      const cur = this.rd(at);
      const top = i === 3 && this.reserved?.paeEntry !== undefined;
      if (!(lo & PTE_P) && !top) { if (cur & PTE_P) this.zapEntry(r, i); continue; }
      const pd = !(lo & PTE_P) ? this.getPage(WINDOW_DIR_GFN, 2 | ROLE_DIRECT | ROLE_TOP | this.baseRole())
        : this.getPage((lo >>> 12) & 0xfffff, 2 | this.baseRole() | (top ? ROLE_TOP : 0));
      if (!pd) return null;
      if (top) {
        // The window: entry 510 is the hypervisor's page table, 511 stays empty (the guest's own are not shadowed).
        this.wr(pd.hpa + PAE_RESERVED_FIRST * 8, this.reserved!.paeEntry!);
        this.wr(pd.hpa + PAE_RESERVED_FIRST * 8 + 4, 0);
        this.wr(pd.hpa + 511 * 8, 0);
        this.wr(pd.hpa + 511 * 8 + 4, 0);
      }
      if ((cur & ~0xfff) === pd.hpa && cur & PTE_P) continue;
      if (cur & PTE_P) this.zapEntry(r, i);
      this.wrEntry(at, pd.hpa | PTE_P, 0); // PDPTE bits 2:1 are reserved: present only
      pd.parents.add(at);
    }
    return r;
  }

  // ------------------------------------------------------------------ faults

  /**
   * A #PF the shadow raised for `lin` (error code bits say write/user/fetch). Walks the guest's tables:
   * a guest fault is reflected; otherwise the shadow entry is built.
   */
  handleFault(lin: number, error: number): FaultOutcome {
    const user = (error & 4) !== 0;
    const access = error & 2 ? ACCESS_WRITE : error & 16 ? 2 : 0;
    const w = guestWalk(this.guest, lin, access, user);
    if (!w.ok) {
      this.counters.reflected++;
      return { kind: 'reflect', error: w.error };
    }
    // The hypervisor's window: the guest's own mapping there is not honoured (a protection fault for it).
    if (this.reserved && lin >>> 22 === this.reserved.index && (!this.pae || this.reserved.paeEntry !== undefined)) {
      this.counters.reflected++;
      return { kind: 'reflect', error: 1 | (error & 0x16) };
    }
    if (this.refused?.(w.gfn)) {
      this.counters.reflected++;
      return { kind: 'reflect', error: 1 | 8 | (error & 0x16) };
    }
    if (w.gfn < 0 || this.slot(w.gfn) < 0) return { kind: 'emulate', gfn: w.gfn, mmio: true };
    if (access === ACCESS_WRITE && this.tracked.has(w.gfn)) return { kind: 'emulate', gfn: w.gfn, mmio: false };
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.root && this.fill(lin, w, access, user)) {
        this.counters.fills++;
        return { kind: 'fixed' };
      }
      // Host memory ran out: start over from an empty cache.
      this.reset();
      this.activateRoot();
      this.cpu.tlb.flushAll();
    }
    throw new Error('hypervisor: out of host memory for shadow page tables');
  }

  /** Point the processor at the root for the guest's current CR3: its CR3 and, with PAE, its PDPTE registers. */
  activateRoot(): void {
    const hpa = this.loadRoot();
    if (hpa < 0) throw new Error('hypervisor: out of host memory for shadow page tables');
    this.cpu.cr3 = hpa;
    this.loadShadowPdptes();
  }

  /** PAE: copy the shadow root's four entries into the processor's PDPTE registers. */
  loadShadowPdptes(): void {
    if (!this.pae || !this.root) return;
    for (let i = 0; i < 8; i++) this.cpu.pdpte[i] = this.rd(this.root.hpa + i * 4);
  }

  /** The page is the root or (PAE) one of the directories the root's PDPTEs point at. */
  private inUseAsRoot(p: ShadowPage): boolean {
    if (p === this.root) return true;
    if (!this.pae || !this.root) return false;
    for (const at of p.parents) if ((at & ~0xfff) === this.root.hpa) return true;
    return false;
  }

  /** Build the shadow path for one translation; false when host memory ran out. */
  private fill(lin: number, w: GuestWalk, access: number, user: boolean): boolean {
    const esz = this.esz();
    let dir = this.root!;
    if (this.pae) {
      const pi = lin >>> 30;
      const e = this.rd(dir.hpa + pi * 8);
      const pd = e & PTE_P ? this.byHpa.get(e & ~0xfff) : undefined;
      if (!pd) {
        if (this.paeRoot() === null) return false;
        this.loadShadowPdptes();
        return this.fillRetry(lin, w, access, user);
      }
      dir = pd;
    }
    dir.writes = 0;
    const di = this.pae ? (lin >>> 21) & 0x1ff : lin >>> 22;
    const dAt = dir.hpa + di * esz;
    // The access the directory entry allows is part of the child's role: its leaves combine both levels.
    const d = w.dirEntry;
    let role = 1 | this.baseRole() | (d & PTE_US ? ROLE_USER : 0) | (d & PTE_RW ? ROLE_WRITE : 0);
    if (w.dirNx) role |= ROLE_NX;
    let gfn: number;
    if (w.large) { role |= ROLE_DIRECT; gfn = w.largeGfn; } else gfn = w.tableGfns[1];
    const child = this.getPage(gfn, role);
    if (!child) return false;
    child.writes = 0;
    const cur = this.rd(dAt);
    if (!(cur & PTE_P) || (cur & ~0xfff) !== child.hpa) {
      if (cur & PTE_P) this.zapEntry(dir, di);
      this.wrEntry(dAt, child.hpa | PTE_P | PTE_RW | PTE_US | PTE_A, 0);
      child.parents.add(dAt);
    }
    const li = this.pae ? (lin >>> 12) & 0x1ff : (lin >>> 12) & 0x3ff;
    const at = child.hpa + li * esz;
    const old = this.rd(at);
    if (old & PTE_P) this.rmapRemove(this.leafGfn(old), at);
    const [lo, hi] = this.leafFor(w, access, user);
    this.wrEntry(at, lo, hi);
    this.rmapAdd(w.gfn, at);
    return true;
  }

  private fillRetry(lin: number, w: GuestWalk, access: number, user: boolean): boolean {
    const e = this.rd(this.root!.hpa + (lin >>> 30) * 8);
    return (e & PTE_P) !== 0 && this.byHpa.has(e & ~0xfff) && this.fill(lin, w, access, user);
  }

  /**
   * The shadow leaf for a guest translation: the host page, the guest's combined user and write
   * permission (write only once the guest entry is dirty and the frame is not a shadowed table), NX
   * and global as the guest has them. With guest CR0.WP clear a supervisor write to a read-only page
   * is allowed by the guest: the leaf becomes writable and supervisor-only (a later user access faults
   * and flips it back), as KVM does.
   */
  private leafFor(w: GuestWalk, access: number, user: boolean): [number, number] {
    let u = w.user, rw = w.writable;
    if (access === ACCESS_WRITE && !user && !rw && !this.guest.wp) { rw = true; u = false; }
    if (!w.dirty || this.tracked.has(w.gfn)) rw = false;
    const lo = this.slot(w.gfn) | PTE_P | PTE_A | (rw ? PTE_RW | PTE_D : 0) | (u ? PTE_US : 0) | (w.global ? PTE_G : 0);
    return [lo, this.pae && w.nx ? 0x80000000 | 0 : 0];
  }

  // ------------------------------------------------------------------ guest writes, INVLPG

  /**
   * The guest wrote its table frame `gfn` (an emulated write): every shadow page of that frame drops
   * the entries whose guest entry changed. `before` is the frame's content before the write.
   */
  afterGuestWrite(gfn: number, before: Int32Array): void {
    this.counters.emulatedWrites++;
    const base = this.slot(gfn);
    if (base < 0) return;
    const changedIdx: number[] = [];
    for (let k = 0; k < 1024; k++) if (before[k] !== this.rd(base + k * 4)) changedIdx.push(k);
    if (!changedIdx.length) return;
    this.watched.get(gfn)?.();
    for (const p of [...this.byHpa.values()]) {
      if (p.gfn !== gfn || p.direct || p.level === 3) continue;
      const seen = new Set<number>();
      for (const k of changedIdx) {
        const index = this.pae ? k >>> 1 : k;
        if (seen.has(index)) continue;
        seen.add(index);
        this.zapEntry(p, index);
      }
      // Write flooding: a frame written again and again is probably no longer a table.
      if (++p.writes >= 4 && !this.inUseAsRoot(p)) {
        this.freePage(p);
        this.counters.unshadowed++;
      }
    }
  }

  /** Drop every shadow leaf that maps a guest frame (a page the guest gave back). */
  unmapFrame(gfn: number): void {
    const leaves = this.rmap.get(gfn);
    if (!leaves) return;
    for (const at of [...leaves]) {
      const p = this.byHpa.get(at & ~0xfff);
      if (p) this.zapEntry(p, ((at & 0xfff) / this.esz()) | 0);
    }
  }

  /** Drop every entry of the shadow pages of a guest table frame written behind the shadow's back. */
  zapFrame(gfn: number): void {
    for (const p of [...this.byHpa.values()]) {
      if (p.gfn !== gfn || p.direct || p.level === 3) continue;
      for (let i = 0; i < this.entries(); i++) this.zapEntry(p, i);
    }
  }

  /**
   * Write-protect other guest frames the hypervisor keeps copies of (a trap-and-emulate monitor's
   * shadow descriptor tables): a guest write to one is emulated and then `onWrite` runs. Replaces the
   * previous set.
   */
  watchFrames(gfns: number[], onWrite: () => void): void {
    for (const g of this.watched.keys()) this.untrack(g);
    this.watched.clear();
    for (const g of new Set(gfns)) {
      if (this.slot(g) < 0) continue;
      this.watched.set(g, onWrite);
      this.track(g);
    }
  }
  private readonly watched = new Map<number, () => void>();
  /** A frame write-protected for watchFrames (a copied descriptor table), not for a shadowed page table. */
  isWatched(gfn: number): boolean { return this.watched.has(gfn); }

  /** Stop shadowing a frame (a write the hypervisor cannot emulate): its writes then go through. */
  unprotect(gfn: number): void {
    for (const p of [...this.byHpa.values()]) if (p.gfn === gfn && !p.direct && p.level < 3 && !this.inUseAsRoot(p)) this.freePage(p);
    this.counters.unshadowed++;
  }

  /** INVLPG: drop the shadow leaf for `lin` in the current root (the caller flushes the TLB). */
  invlpg(lin: number): void {
    this.counters.invlpg++;
    const leaf = this.leafLocation(lin);
    if (leaf) this.zapEntry(leaf.page, leaf.index);
  }

  /** The shadow page and index of the leaf that maps `lin` in the current root, if the path exists. */
  leafLocation(lin: number): { page: ShadowPage; index: number } | undefined {
    if (!this.root) return undefined;
    const esz = this.esz();
    let dir = this.root;
    if (this.pae) {
      const e = this.rd(dir.hpa + (lin >>> 30) * 8);
      const pd = e & PTE_P ? this.byHpa.get(e & ~0xfff) : undefined;
      if (!pd) return undefined;
      dir = pd;
    }
    const di = this.pae ? (lin >>> 21) & 0x1ff : lin >>> 22;
    const e = this.rd(dir.hpa + di * esz);
    const pt = e & PTE_P ? this.byHpa.get(e & ~0xfff) : undefined;
    if (!pt) return undefined;
    return { page: pt, index: this.pae ? (lin >>> 12) & 0x1ff : (lin >>> 12) & 0x3ff };
  }

  // ------------------------------------------------------------------ inspection

  /** Present shadow leaves of the current root: linear page -> host entry (for the panel and the check). */
  leaves(): { lin: number; entryAddr: number; lo: number; hi: number; page: ShadowPage }[] {
    const out: { lin: number; entryAddr: number; lo: number; hi: number; page: ShadowPage }[] = [];
    if (!this.root) return out;
    const esz = this.esz(), n = this.entries();
    const dirs: { page: ShadowPage; base: number }[] = [];
    if (this.pae) {
      for (let i = 0; i < 4; i++) {
        const e = this.rd(this.root.hpa + i * 8);
        const pd = e & PTE_P ? this.byHpa.get(e & ~0xfff) : undefined;
        if (pd) dirs.push({ page: pd, base: i * 0x40000000 });
      }
    } else dirs.push({ page: this.root, base: 0 });
    const span = this.pae ? 0x200000 : 0x400000;
    for (const { page, base } of dirs) {
      for (let di = 0; di < n; di++) {
        if (this.isReserved(page, di)) continue;
        const e = this.rd(page.hpa + di * esz);
        const pt = e & PTE_P ? this.byHpa.get(e & ~0xfff) : undefined;
        if (!pt) continue;
        for (let li = 0; li < n; li++) {
          const at = pt.hpa + li * esz;
          const lo = this.rd(at);
          if (lo & PTE_P) out.push({ lin: (base + di * span + li * 4096) >>> 0, entryAddr: at, lo: lo >>> 0, hi: this.pae ? this.rd(at + 4) >>> 0 : 0, page: pt });
        }
      }
    }
    return out;
  }

  /** Directory-level links of the current root: where each points (for the consistency check). */
  directoryLinks(): { dir: ShadowPage; index: number; lin: number; child: ShadowPage | undefined; raw: number }[] {
    const out: { dir: ShadowPage; index: number; lin: number; child: ShadowPage | undefined; raw: number }[] = [];
    if (!this.root) return out;
    const esz = this.esz(), n = this.entries();
    const dirs: { page: ShadowPage; base: number }[] = [];
    if (this.pae) {
      for (let i = 0; i < 4; i++) {
        const e = this.rd(this.root.hpa + i * 8);
        if (e & PTE_P) { const pd = this.byHpa.get(e & ~0xfff); if (pd) dirs.push({ page: pd, base: i * 0x40000000 }); else out.push({ dir: this.root, index: i, lin: i * 0x40000000, child: undefined, raw: e >>> 0 }); }
      }
    } else dirs.push({ page: this.root, base: 0 });
    const span = this.pae ? 0x200000 : 0x400000;
    for (const { page, base } of dirs) {
      for (let di = 0; di < n; di++) {
        if (this.isReserved(page, di)) continue;
        const e = this.rd(page.hpa + di * esz);
        if (e & PTE_P) out.push({ dir: page, index: di, lin: (base + di * span) >>> 0, child: this.byHpa.get(e & ~0xfff), raw: e >>> 0 });
      }
    }
    return out;
  }

  /** Shadow pages in use and the host memory they take. */
  size(): { pages: number; tracked: number } {
    return { pages: this.byHpa.size, tracked: this.tracked.size };
  }
}
