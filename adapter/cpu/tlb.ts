// The software TLB: flat tables of 2^20 entries indexed by linear page, one per privilege
// (supervisor/user) and access (read-or-fetch / write). An entry is the host-physical page address
// with flag bits in the low 12 bits; zero means "not cached". Slow-path bits route MMIO, watched pages
// and writes to code pages off the fast path, so those checks cost nothing elsewhere.

export const TLB_VALID = 1;
/** Access must take the slow path (MMIO, watched page, write to a code page). */
export const TLB_SLOW = 2;
/** Not executable (NX). Only in read tables; checked on fetch. */
export const TLB_NX = 4;
/** Global page: survives CR3 reloads. */
export const TLB_GLOBAL = 8;
/** The address bits hold a guest-physical page outside RAM: the access goes to the host's MMIO. */
export const TLB_MMIO = 16;

const PAGES = 1 << 20;
const LIST_MAX = 1 << 16;

export class Tlb {
  readonly rSup = new Int32Array(PAGES);
  readonly wSup = new Int32Array(PAGES);
  readonly rUser = new Int32Array(PAGES);
  readonly wUser = new Int32Array(PAGES);
  /** Tables for the current privilege (user when CPL 3). */
  r = this.rSup;
  w = this.wSup;
  /** Linear pages with possibly valid entries, so a flush touches only those. */
  private readonly list = new Int32Array(LIST_MAX);
  private count = 0;
  private overflow = false;
  /** Watched linear ranges [start, end) and the pages they touch (reference counts). */
  private readonly watched = new Map<number, number>();
  private ranges: { start: number; end: number }[] = [];
  /** Bumped by every flush: cached linear-address lookups (the block cache's) are stale after one. */
  epoch = 0;
  /** Counters for statistics. */
  fills = 0;
  flushes = 0;

  selectPrivilege(user: boolean): void {
    this.r = user ? this.rUser : this.rSup;
    this.w = user ? this.wUser : this.wSup;
  }
  /** Select tables that are never filled: every access goes to the slow path (alignment checking). */
  selectEmpty(): void {
    if (!this.empty) this.empty = new Int32Array(PAGES);
    this.r = this.w = this.empty;
  }
  private empty: Int32Array<ArrayBuffer> | null = null;

  /**
   * A page-table page was written since the last flush, so cached entries may differ from what a walk
   * would give now. While it is clear, a reload of the same CR3 keeps the entries: refilling them
   * would produce exactly the same ones (A/D bits are already set in the tables for what is cached).
   * KVM's shadow MMU relies on the same write tracking to keep shadow tables across CR3 loads.
   */
  tablesWritten = false;
  /** Allow that reuse (off: every CR3 load flushes, as hardware without PCID does). */
  reuseOnSameRoot = true;
  /** CR3 loads that kept the TLB. */
  reuses = 0;
  /** Some entry filled since the last full flush is global. */
  private anyGlobal = false;
  /** Pages currently in `list` (so a fill checks one byte, not four tables). */
  private readonly listed = new Uint8Array(PAGES);

  fill(tbl: Int32Array, page: number, e: number): void {
    if (this.listed[page] === 0) {
      this.listed[page] = 1;
      if (this.count < LIST_MAX) this.list[this.count++] = page;
      else this.overflow = true;
    }
    tbl[page] = e;
    if (e & TLB_GLOBAL) this.anyGlobal = true;
    this.fills++;
  }

  mmioEntry(gpaPage: number): number {
    return (gpaPage & ~0xfff) | TLB_VALID | TLB_SLOW | TLB_MMIO;
  }
  isMmioEntry(e: number): boolean { return (e & TLB_MMIO) !== 0; }
  /** For MMIO entries the page bits are guest-physical, so the computed address is already the GPA. */
  mmioAddress(_e: number, p: number): number { return p; }

  flushPage(page: number): void {
    this.epoch++;
    this.rSup[page] = this.wSup[page] = this.rUser[page] = this.wUser[page] = 0;
  }

  /** INVLPG-like flush of every entry (global ones too). */
  flushAll(): void {
    this.epoch++;
    this.tablesWritten = false;
    this.flushes++;
    if (this.overflow) {
      this.rSup.fill(0); this.wSup.fill(0); this.rUser.fill(0); this.wUser.fill(0);
      this.listed.fill(0);
    } else {
      const l = this.list;
      for (let k = 0; k < this.count; k++) {
        const p = l[k];
        this.rSup[p] = this.wSup[p] = this.rUser[p] = this.wUser[p] = 0;
        this.listed[p] = 0;
      }
    }
    this.count = 0;
    this.overflow = false;
    this.anyGlobal = false;
  }

  /** MOV CR3 (or a task switch): `sameRoot` when the new value equals the old one. */
  reloadRoot(sameRoot: boolean): void {
    if (sameRoot && this.reuseOnSameRoot && !this.tablesWritten) {
      this.reuses++;
      return;
    }
    this.flushNonGlobal();
  }

  /** CR3 reload: drop every entry that is not global. */
  flushNonGlobal(): void {
    this.tablesWritten = false;
    this.epoch++;
    this.flushes++;
    if (this.overflow || !this.anyGlobal) { this.flushAll(); return; }
    const l = this.list;
    let keep = 0;
    for (let k = 0; k < this.count; k++) {
      const p = l[k];
      const g = (this.rSup[p] | this.wSup[p] | this.rUser[p] | this.wUser[p]) & TLB_GLOBAL;
      if (g) {
        if (!(this.rSup[p] & TLB_GLOBAL)) this.rSup[p] = 0;
        if (!(this.wSup[p] & TLB_GLOBAL)) this.wSup[p] = 0;
        if (!(this.rUser[p] & TLB_GLOBAL)) this.rUser[p] = 0;
        if (!(this.wUser[p] & TLB_GLOBAL)) this.wUser[p] = 0;
        l[keep++] = p;
      } else {
        this.rSup[p] = this.wSup[p] = this.rUser[p] = this.wUser[p] = 0;
        this.listed[p] = 0;
      }
    }
    this.count = keep;
  }

  /** Entries currently cached, for the debugger/panel: [linear page, entry] pairs of one table. */
  *entries(tbl: Int32Array): Generator<[number, number]> {
    for (let k = 0; k < this.count; k++) {
      const p = this.list[k];
      if (tbl[p]) yield [p, tbl[p]];
    }
  }

  // ---- watched linear ranges (debugger data breakpoints, guest debug registers) ----
  setWatchRanges(ranges: { start: number; end: number }[]): void {
    this.ranges = ranges.map((r) => ({ start: r.start >>> 0, end: r.end >>> 0 }));
    this.rebuildWatched();
  }
  /** The guest's own data breakpoints (DR0-3): their pages take the slow path too, alongside the debugger's. */
  setGuestWatchRanges(ranges: { start: number; end: number }[]): void {
    this.guestRanges = ranges.map((r) => ({ start: r.start >>> 0, end: r.end >>> 0 }));
    this.rebuildWatched();
  }
  private guestRanges: { start: number; end: number }[] = [];
  private rebuildWatched(): void {
    this.watched.clear();
    for (const r of [...this.ranges, ...this.guestRanges]) {
      for (let p = r.start >>> 12; p <= (r.end - 1) >>> 12; p++) this.watched.set(p, (this.watched.get(p) ?? 0) + 1);
    }
    this.flushAll();
  }
  pageWatched(page: number): boolean { return this.watched.size > 0 && this.watched.has(page); }
  isWatched(lin: number, size: number): boolean {
    const s = lin >>> 0, e = s + size;
    for (const r of this.ranges) if (s < r.end && e > r.start) return true;
    return false;
  }
}
