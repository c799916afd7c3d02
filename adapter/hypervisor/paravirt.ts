// Paravirtualization: the guest kernel knows it runs on a hypervisor and asks for privileged work
// through hypercalls (hypercalls.ts) instead of leaning on instructions that would trap or misbehave.
// It still runs at ring 1 on the monitor (monitor.ts). Its page tables are its own and read-only to
// it, as under Xen: every update goes through mmu_update, which the hypervisor validates (no
// writable mapping of a page-table frame, no frame outside the guest's memory). Interrupts become
// upcalls: the guest registers a callback and a virtual IF, and a timer it sets fires as an upcall
// on vector 0xF0 of the shadow IDT (the processor's PIT and PIC are the hypervisor's). Pages the guest
// balloons out are unmapped from the shadow and refused afterwards.
import { CPU_FAULT, CR0_WP, CR4_PSE } from '../cpu/cpu';
import { CS } from '../cpu/insn';
import { deliverExternalInterrupt } from '../cpu/interrupts';
import { Hypercalls, E_INVAL, type HypercallHost } from './hypercalls';
import type { Monitor } from './monitor';

/** The upcall vector in the shadow IDT. */
export const VIRQ = 0xf0;
const PIT_HZ = 1193182;

export class Paravirt implements HypercallHost {
  readonly calls = new Hypercalls();
  callback = 0;
  private callbackCs = 0;
  virqPending = false;
  readonly ballooned = new Set<number>();
  readonly counters = { upcalls: 0, timers: 0, mmuUpdates: 0, mmuRefused: 0, ballooned: 0, reclaimed: 0 };

  constructor(private readonly m: Monitor) {
    m.shadow.refused = (gfn) => this.ballooned.has(gfn);
  }

  get cpu() { return this.m.cpu; }

  readGuestBytes(lin: number, len: number): Uint8Array | undefined {
    const out = new Uint8Array(len);
    for (let k = 0; k < len; k++) {
      const gpa = this.m.peekGuest((lin + k) >>> 0);
      if (gpa < 0 || gpa >= this.m.machine.ramBytes) return undefined;
      out[k] = this.m.machine.ram[gpa];
    }
    return out;
  }

  console(bytes: Uint8Array): void {
    const sink = this.m.machine.debug.onDebugByte;
    for (const b of bytes) sink(b);
  }

  timeUs(): number {
    return Math.floor(this.m.machine.clock.nowNs() / 1000);
  }

  // ------------------------------------------------------------------ page tables

  /** A dword of guest RAM by guest-physical address. */
  private rd(gpa: number): number { return this.cpu.dv.getInt32(this.m.machine.ramBase + gpa, true); }

  /** Frames of the guest's current page directory and the page tables it points at. */
  tableFrames(): Set<number> {
    const pd = (this.m.guest.cr3 >>> 12) & 0xfffff;
    const out = new Set([pd]);
    if (pd * 4096 >= this.m.machine.ramBytes) return out;
    for (let i = 0; i < 1024; i++) {
      const e = this.rd(pd * 4096 + i * 4);
      if (e & 1 && !(e & 0x80 && this.m.guest.cr4 & CR4_PSE)) out.add((e >>> 12) & 0xfffff);
    }
    return out;
  }

  /** Whether the guest's current tables map any frame in `frames` writable. */
  private mappedWritable(frames: Set<number>): number {
    const pd = (this.m.guest.cr3 >>> 12) & 0xfffff, ram = this.m.machine.ramBytes;
    for (let i = 0; i < 1024; i++) {
      const e = this.rd(pd * 4096 + i * 4);
      if (!(e & 1) || !(e & 2)) continue;
      if (e & 0x80 && this.m.guest.cr4 & CR4_PSE) {
        const base = (e >>> 12) & 0xffc00;
        for (const f of frames) if (f >= base && f < base + 1024) return f;
        continue;
      }
      const pt = (e >>> 12) & 0xfffff;
      if (pt * 4096 >= ram) continue;
      for (let k = 0; k < 1024; k++) {
        const p = this.rd(pt * 4096 + k * 4);
        if (p & 3 && (p & 3) === 3 && frames.has((p >>> 12) & 0xfffff)) return (p >>> 12) & 0xfffff;
      }
    }
    return -1;
  }

  /** The guest's tables as loaded by CR0.PG or CR3: read-only to it, and WP on. Returns the problem, if any. */
  validateTables(): string | undefined {
    if (!(this.m.guest.cr0 & CR0_WP)) return 'CR0.WP must be set (the guest kernel must not write read-only pages)';
    const f = this.mappedWritable(this.tableFrames());
    return f >= 0 ? `the page tables map their own frame 0x${f.toString(16)} writable (they must be read-only to the guest)` : undefined;
  }

  /** mmu_update: one validated write of a page-table entry. */
  mmuUpdate(gpa: number, value: number): number {
    const m = this.m, ram = m.machine.ramBytes;
    gpa >>>= 0;
    const refuse = () => { this.counters.mmuRefused++; return E_INVAL; };
    if (gpa & 3 || gpa + 4 > ram) return refuse();
    const frame = gpa >>> 12;
    const tables = this.tableFrames();
    if (!tables.has(frame)) return refuse();
    const pd = (m.guest.cr3 >>> 12) & 0xfffff;
    if (value & 1) {
      const target = (value >>> 12) & 0xfffff;
      if (target * 4096 >= ram || this.ballooned.has(target)) return refuse();
      const large = frame === pd && value & 0x80 && m.guest.cr4 & CR4_PSE;
      if (frame === pd && !large) {
        // A new page table: nothing may map it writable.
        if (this.mappedWritable(new Set([target])) >= 0) return refuse();
      } else if (value & 2) {
        const first = large ? target & ~0x3ff : target, n = large ? 1024 : 1;
        for (let f = first; f < first + n; f++) if (tables.has(f)) return refuse();
      }
    }
    const base = m.shadow.slot(frame), hpa = base + (gpa & 0xfff);
    const before = new Int32Array(this.cpu.mem.buffer.slice(this.cpu.mem.byteOffset + base, this.cpu.mem.byteOffset + base + 4096));
    this.cpu.dv.setInt32(hpa, value, true);
    if (this.cpu.code.pageHasCode(hpa >>> 12)) this.cpu.code.write(hpa, 4);
    m.shadow.afterGuestWrite(frame, before);
    this.counters.mmuUpdates++;
    return 0;
  }

  // ------------------------------------------------------------------ virtual interrupts

  setVif(on: boolean): number {
    const old = this.m.v.vif ? 1 : 0;
    this.m.v.vif = on;
    if (on) this.deliverPending();
    return old;
  }

  setCallback(lin: number): number {
    this.callback = lin >>> 0;
    this.callbackCs = this.cpu.segSel[CS] & ~3;
    this.installGate();
    return 0;
  }

  /** The upcall gate (the shadow IDT is rebuilt from the guest's on LIDT: put it back each time). */
  installGate(): void {
    if (!this.callback) return;
    this.m.window.setGate(VIRQ, this.callbackCs | 1, this.callback, true);
    if ((this.cpu.idtrLimit & 0xffff) < VIRQ * 8 + 7) this.cpu.idtrLimit = VIRQ * 8 + 7;
  }

  /** set_timer: the PIT (the hypervisor's) counts down once, then the upcall. */
  setTimer(us: number): number {
    const ports = this.m.machine.ports;
    if (us === 0) { ports.write(0x21, 1, ports.read(0x21, 1) | 1); return 0; }
    const count = Math.max(1, Math.min(0xffff, Math.round((us * PIT_HZ) / 1e6)));
    ports.write(0x43, 1, 0x30); // channel 0, lobyte/hibyte, mode 0: interrupt on terminal count
    ports.write(0x40, 1, count & 0xff);
    ports.write(0x40, 1, count >>> 8);
    ports.write(0x21, 1, ports.read(0x21, 1) & ~1);
    this.counters.timers++;
    this.cpu.nextEventAt = this.cpu.icount;
    return 0;
  }

  yieldCpu(): number {
    if (!this.m.v.vif || !this.callback) return E_INVAL; // nothing could wake it
    this.cpu.halted = true;
    this.cpu.brk = true;
    return 0;
  }

  /** The PIC raised the timer's line: acknowledge it here and make it an upcall. Never the guest's own vector. */
  onIrq(): false {
    const c = this.cpu, ports = this.m.machine.ports;
    c.host.acknowledgeInterrupt();
    ports.write(0x20, 1, 0x20); // EOI
    ports.write(0x21, 1, ports.read(0x21, 1) | 1); // one-shot: mask it again
    this.virqPending = true;
    this.deliverPending();
    return false;
  }

  /** Deliver a pending upcall if the guest's virtual IF allows. */
  deliverPending(): void {
    if (!this.virqPending || !this.m.v.vif || !this.callback) return;
    const c = this.cpu;
    this.virqPending = false;
    c.halted = false;
    this.counters.upcalls++;
    try {
      deliverExternalInterrupt(c, VIRQ);
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      c.enterShutdown(c.faultVector);
    }
  }

  // ------------------------------------------------------------------ balloon

  balloon(give: boolean, gpa: number, pages: number): number {
    const m = this.m, ram = m.machine.ramBytes;
    gpa >>>= 0;
    if (gpa & 0xfff || pages <= 0 || gpa + pages * 4096 > ram) return E_INVAL;
    const first = gpa >>> 12;
    const tables = this.tableFrames();
    for (let f = first; f < first + pages; f++) if (give ? tables.has(f) || m.shadow.isTracked(f) : !this.ballooned.has(f)) return E_INVAL;
    for (let f = first; f < first + pages; f++) {
      if (give) {
        m.shadow.unmapFrame(f);
        const hpa = m.shadow.slot(f);
        this.cpu.mem.fill(0, hpa, hpa + 4096); // the host takes the page back
        if (this.cpu.code.pageHasCode(hpa >>> 12)) this.cpu.code.invalidatePage(hpa >>> 12);
        this.ballooned.add(f);
        this.counters.ballooned++;
      } else {
        this.ballooned.delete(f);
        this.counters.reclaimed++;
      }
    }
    if (give) this.cpu.tlb.flushAll();
    return pages;
  }
}
