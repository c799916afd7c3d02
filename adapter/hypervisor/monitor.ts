// Trap-and-emulate: a classic monitor in the manner of the first x86 VMMs. Once the guest is in
// protected mode its kernel runs deprivileged at ring 1 ("ring compression"), on shadow descriptor
// tables in the monitor's window (shadowdesc.ts) and shadow page tables (shadow.ts). Its privileged
// instructions raise #GP, which the monitor takes and emulates against the virtual CPU state
// (privemul.ts); page faults of the shadow are resolved or reflected; interrupts are reflected
// through the shadow IDT while the guest's virtual IF allows. The sensitive but unprivileged
// instructions cannot trap: they behave as the hardware makes them behave at ring 1, and each time
// that differs from what the guest would see at ring 0 the monitor records a virtualization hole
// (holes.ts). Real mode is not deprivileged: it runs directly until the guest enters protected mode
// (a real monitor needs virtual-8086 mode or binary translation for it). The guest's LDT is shadowed
// like its GDT, PAE paging gets PAE-format shadow tables, its hardware task switches are emulated
// against its TSSs (taskswitch.ts) and its virtual-8086 tasks run at ring 3 with the monitor taking
// their IOPL-sensitive instructions and events (v86.ts).
import type { Cpu } from '../cpu/cpu';
import { CR0_PE, CR0_PG, CR0_WP, CR4_PSE, CR4_PAE, CR4_PGE, EFER_NXE, AR_S, AR_DPL_SHIFT, AR_UNUSABLE } from '../cpu/cpu';
import type { CpuEvent } from '../cpu/bus';
import type { Insn } from '../cpu/insn';
import { CS, SS } from '../cpu/insn';
import { IF } from '../cpu/flags';
import { OpFlag } from '../cpu/opcodes';
import { formatInsn } from '../cpu/disasm';
import type { Machine } from '../machine/pc';
import { HostPages, PAGE } from './hostpages';
import { ShadowMmu } from './shadow';
import { guestWalk, ACCESS_WRITE, type GuestView } from './gwalk';
import { checkShadow, type ConsistencyReport } from './consistency';
import { ExitStats, EXIT, type ExitRecord, describeQualification, interruptionInfo, INTR_EXTERNAL, INTR_HW_EXCEPTION } from './exits';
import { exitReasonLabel } from './exitreasons';
import { shadowFault, type ShadowHost } from './shadowfaults';
import { MonitorWindow, WINDOW_PDE_INDEX, GDT_LIN, IDT_LIN, TSS_LIN, TSS_LIMIT, LDT_LIN } from './shadowdesc';
import { emulatePrivileged, reflecting } from './privemul';
import { taskTrap, exceptionThroughTaskGate } from './taskswitch';
import { deliverFromV86, taskToV86, V86Event } from './v86';
import { kernelFrame } from './frames';
import { Holes, HOLE_CLASSES } from './holes';
import { TranslationCache, BT_CLASSES, monitorCall } from './translation';
import { Paravirt } from './paravirt';
import { HC_NAMES } from './hypercalls';
import { Cls } from '../cpu/opcodes';

/** The runner's exit status when the hypervisor stops the guest (an unsupported feature, a misconfiguration). */
export const HYPERVISOR_STOP_STATUS = 73;

/** The virtual CPU state the monitor keeps where the processor's differs. */
export interface VirtualCpu {
  gdtBase: number; gdtLimit: number;
  idtBase: number; idtLimit: number;
  trSel: number; trBase: number; trLimit: number;
  /** The guest's TSS descriptor type (busy: 3 for a 16-bit TSS, 11 for a 32-bit one). */
  trType: number;
  /** The guest's LDTR: its selector, and the base and byte limit of the guest's own table. */
  ldtrSel: number; ldtrBase: number; ldtrLimit: number;
  sysenterCs: number; sysenterEsp: number; sysenterEip: number;
  /** The guest's interrupt flag (in virtual-8086 mode, its v86 task's). */
  vif: boolean;
  /** The IOPL of the guest's v86 task (the processor's stays 0 in v86 mode, so IOPL-sensitive instructions trap). */
  v86Iopl: number;
}

export class Monitor implements ShadowHost {
  readonly cpu: Cpu;
  readonly pages: HostPages;
  readonly window: MonitorWindow;
  readonly shadow: ShadowMmu;
  readonly stats = new ExitStats(256);
  readonly counters = { emulatedInstructions: 0, mmioAccesses: 0, emulatedPrivileged: 0, reflectedFaults: 0, injectedInterrupts: 0, injectedExceptions: 0, tableCopies: 0 };
  readonly guest = { cr0: 0, cr2: 0, cr3: 0, cr4: 0, pdpte: new Int32Array(8) };
  readonly v: VirtualCpu = { gdtBase: 0, gdtLimit: 0, idtBase: 0, idtLimit: 0, trSel: 0, trBase: 0, trLimit: 0, trType: 11, ldtrSel: 0, ldtrBase: 0, ldtrLimit: 0, sysenterCs: 0, sysenterEsp: 0, sysenterEip: 0, vif: false, v86Iopl: 0 };
  readonly guestView: GuestView;
  readonly holes: Holes;
  /** Instructions the monitor emulated (after a #GP, or as a monitor call), by mnemonic. */
  readonly emulated = new Map<string, number>();
  /** Binary translation: the guest kernel's code goes through the translator (translation.ts). */
  readonly translate: boolean;
  readonly translations?: TranslationCache;
  /** Paravirtualization: the guest's hypercalls (paravirt.ts). */
  readonly pv?: Paravirt;
  readonly memory = 'shadow' as const;
  /** The guest is in protected mode, its kernel at ring 1. */
  deprivileged = false;
  /** Why the monitor stopped the guest, when it did. */
  fatal?: string;
  inHandler = false;
  /** The monitor is switching the guest's task (taskswitch.ts): the task-switch event is its own. */
  taskSwitching = false;
  emulationFailures = 0;
  emulationFailureKey = '';

  constructor(readonly machine: Machine, opts: { translate?: boolean; paravirt?: boolean } = {}) {
    const cpu = (this.cpu = machine.cpu);
    this.translate = opts.translate ?? false;
    if (this.translate) this.translations = new TranslationCache(this);
    // The CPU now addresses host memory: the monitor's structures come from the pages under guest RAM.
    cpu.attachHost(machine.hostMem, machine.ramBase);
    this.pages = new HostPages(cpu, PAGE, machine.ramBase);
    this.window = new MonitorWindow(cpu, this.pages);
    const g = this.guest, ram = machine.ramBytes, base = machine.ramBase;
    this.guestView = {
      get paging() { return (g.cr0 & CR0_PG) !== 0 && (g.cr0 & CR0_PE) !== 0; },
      get cr3() { return g.cr3; },
      get wp() { return (g.cr0 & CR0_WP) !== 0; },
      get pse() { return (g.cr4 & CR4_PSE) !== 0; },
      // PAE paging (with paging off the monitor's direct root is a 32-bit one).
      get pae() { return (g.cr0 & CR0_PG) !== 0 && (g.cr0 & CR0_PE) !== 0 && (g.cr4 & CR4_PAE) !== 0; },
      get pge() { return (g.cr4 & CR4_PGE) !== 0; },
      get nxe() { return (cpu.efer & EFER_NXE) !== 0; },
      pdpte: g.pdpte,
      read32: (gpa) => ((gpa >>> 0) + 4 <= ram ? cpu.dv.getInt32(base + (gpa >>> 0), true) : -1),
      write32: (gpa, v) => {
        if ((gpa >>> 0) + 4 > ram) return;
        const hpa = base + (gpa >>> 0);
        cpu.dv.setInt32(hpa, v, true);
        if (cpu.code.pageHasCode(hpa >>> 12)) cpu.code.write(hpa, 4);
      },
    };
    this.shadow = new ShadowMmu(cpu, this.pages, ram, base, this.guestView);
    this.shadow.reserved = { index: WINDOW_PDE_INDEX, entry: this.window.pde(), paeEntry: this.window.pdePae() };
    this.holes = new Holes(this);
    if (opts.paravirt) this.pv = new Paravirt(this);
    this.install();
  }

  private install(): void {
    const cpu = this.cpu;
    const tc = this.translations, pv = this.pv;
    cpu.vmm = {
      // Kernel code under binary translation: the rewritten instruction is a monitor call.
      beforeInsn: tc ? (c, i) => (this.deprivileged && c.cpl === 1 ? monitorCall(this, c, i) : this.holes.observe(c, i))
        : pv ? (c, i) => (this.deprivileged && c.cpl === 1 && i.entry.handler === 'vmx' && i.entry.sub === 0 ? this.hypercall(i) : this.holes.observe(c, i))
        : (c, i) => this.holes.observe(c, i),
      exception: (c, v, err, has, delivering) => this.onException(c, v, err, has, delivering),
      interrupt: () => this.onInterrupt(),
      event: (_c, e) => this.onEvent(e),
      exitFor: (c, i) => (!this.deprivileged || c.cpl !== 1 ? undefined
        : tc ? (i.entry.cls & BT_CLASSES ? 'translated into a monitor call' : undefined)
        : i.entry.flags & OpFlag.Cpl0 ? 'trap to the monitor: #GP, emulated' : undefined),
      peekTranslate: (_c, lin) => this.peekGuest(lin),
      guestCr: (_c, n) => this.guestCr(n),
      guestRing: () => this.guestRing(),
      setGuestCr: (_c, n, v) => { if (!this.deprivileged) return false; if (n === 0) this.setGuestCr0(v); else if (n === 3) this.setGuestCr3(v); else this.setGuestCr4(v); return true; },
      guestTables: () => (this.deprivileged ? this.v : undefined),
      externalWrite: (c, page) => { if (this.shadow.isTracked(page)) { this.shadow.zapFrame(page); c.tlb.flushAll(); } },
    };
    if (tc) {
      cpu.vmm.blockDecoded = (c, b) => tc.decoded(c, b);
      cpu.vmm.blockDropped = (_c, b) => tc.dropped(b);
      cpu.vmm.blocksFlushed = () => tc.flushed();
    }
    this.classes = (tc ? HOLE_CLASSES | BT_CLASSES : HOLE_CLASSES) | (pv ? Cls.Vmx : 0);
    this.updateIntercepts();
    // Until the guest enters protected mode, guest-physical goes to host-physical through the memory slot.
    const mmu = this.shadow;
    cpu.gpaPeek = (gpa) => mmu.hostAddress(gpa);
    cpu.gpaToHpa = (gpa) => mmu.hostAddress(gpa);
    if (cpu.cr0 & CR0_PE) this.enterProtected();
  }

  private classes = 0;

  /**
   * The exceptions the monitor takes: #GP (privileged instructions) and #PF (the shadow MMU); #NP and
   * #TS, behind which a task switch may hide (taskswitch.ts); every vector the guest's IDT sends
   * through a task gate; all of them in virtual-8086 mode.
   */
  updateIntercepts(): void {
    let vectors = (1 << 10) | (1 << 11) | (1 << 13) | (1 << 14);
    for (let v = 0; v < 32; v++) if (this.window.taskGate[v]) vectors |= 1 << v;
    if (this.cpu.isV86()) vectors = -1; // every event out of v86 mode is the monitor's to deliver (v86.ts)
    this.cpu.setVmmIntercepts(this.classes, vectors);
  }

  // ------------------------------------------------------------------ exits (traps into the monitor)

  exit(reason: number, f: Partial<ExitRecord> = {}): ExitRecord {
    const cpu = this.cpu;
    const r: ExitRecord = {
      seq: 0, icount: cpu.icount, reason, qualification: f.qualification ?? 0, guestLinear: f.guestLinear ?? -1, guestPhysical: f.guestPhysical ?? -1,
      instructionLength: f.instructionLength ?? 0, instructionInfo: 0, interruptionInfo: f.interruptionInfo ?? 0, errorCode: f.errorCode ?? 0,
      cs: cpu.segSel[CS], eip: f.eip ?? cpu.curEip >>> 0, text: f.text ?? '',
    };
    this.stats.add(r);
    if (cpu.hooks.event) {
      const q = describeQualification(reason, r.qualification);
      cpu.emit({ kind: 'vmexit', reason, qualification: r.qualification, text: [r.text, q].filter(Boolean).join('; ') });
    }
    return r;
  }

  /** The mode's name, as the launch configuration spells it. */
  get modeName(): 'trap-and-emulate' | 'binary-translation' | 'paravirt' {
    return this.pv ? 'paravirt' : this.translate ? 'binary-translation' : 'trap-and-emulate';
  }

  /** A VMCALL from the guest kernel: the hypercall, performed; EIP is already past it. */
  private hypercall(i: Insn): boolean {
    const c = this.cpu;
    const nr = c.r32[0] >>> 0;
    this.exit(EXIT.VMCALL, { instructionLength: i.len, text: `hypercall ${HC_NAMES[nr] ?? nr}` });
    this.inHandler = true;
    try { this.pv!.calls.dispatch(this.pv!); } finally { this.inHandler = false; }
    c.brk = true;
    return true;
  }

  /** Stop the guest for a reason the monitor cannot handle. */
  stop(reason: string): void {
    this.fatal ??= `${this.modeName}: ${reason}`;
    this.machine.stop(HYPERVISOR_STOP_STATUS, this.fatal);
  }

  insnText(i: Insn): string {
    return formatInsn(i, {}).replace(/,(?=\S)/g, ', ');
  }

  // ------------------------------------------------------------------ entering and leaving protected mode

  /** Deprivilege a guest that is (now) in protected mode at CPL 0. */
  enterProtected(): void {
    const c = this.cpu, v = this.v;
    if (c.isV86()) { this.stop('virtual-8086 mode is not supported when the monitor starts in it'); return; }
    v.gdtBase = c.gdtrBase >>> 0; v.gdtLimit = c.gdtrLimit & 0xffff;
    v.idtBase = c.idtrBase >>> 0; v.idtLimit = c.idtrLimit & 0xffff;
    v.trSel = c.trSel; v.trBase = c.trBase >>> 0; v.trLimit = c.trLimit >>> 0; v.trType = c.trAr & 0xf;
    v.ldtrSel = c.ldtrSel; v.ldtrBase = c.ldtrBase >>> 0; v.ldtrLimit = c.ldtrLimit >>> 0;
    if (c.ldtrAr & AR_UNUSABLE) v.ldtrSel &= 3;
    v.sysenterCs = c.sysenterCs; v.sysenterEsp = c.sysenterEsp; v.sysenterEip = c.sysenterEip;
    v.vif = (c.flags & IF) !== 0;
    this.guest.cr0 = c.cr0; this.guest.cr2 = c.cr2; this.guest.cr3 = c.cr3; this.guest.cr4 = c.cr4;
    this.guest.pdpte.set(c.pdpte); // with PAE paging on, what the guest's last CR3 load gave
    if (this.pv && c.cr4 & CR4_PAE) { this.stop('PAE paging is not supported under paravirt (its page-table updates are 32-bit entries)'); return; }
    c.sysenterCs = 0; // SYSENTER faults to the monitor, which enters the guest kernel at ring 1
    this.deprivileged = true;
    // The processor always pages (shadow tables, or a direct root while the guest does not), with WP on.
    c.cr0 = (this.guest.cr0 | CR0_PG | CR0_WP) >>> 0 | 0;
    this.configurePaging(true);
    this.loadShadowTables();
    // The processor's TR is always the shadow TSS (also before the guest loads one): its I/O map denies
    // every port, so the guest's port accesses trap whatever TSS the guest has.
    c.trBase = TSS_LIN | 0; c.trLimit = TSS_LIMIT; c.trAr = 0x8b;
    if (v.trSel & 0xfffc) this.syncTss();
    // Ring compression: the CPL-0 segment caches become ring 1.
    for (let s = 0; s < 6; s++) {
      let ar = c.segAr[s], sel = c.segSel[s];
      if (ar & AR_S && ((ar >>> AR_DPL_SHIFT) & 3) === 0) ar |= 1 << AR_DPL_SHIFT;
      if (s === CS || s === SS) sel = (sel & ~3) | 1;
      c.loadSegCache(s, sel, c.segBase[s], c.segLimit[s], ar);
    }
    c.updateMode();
    c.setCpl(1, 'deprivileged by the monitor');
    c.setEflags(c.getEflags() | IF); // the monitor keeps taking interrupts; the guest's IF is virtual
    c.brk = true;
  }

  /** A task switch into a virtual-8086 task (EFLAGS.VM in the new TSS). */
  enterV86Task(eflags: number, segs: number[]): void {
    taskToV86(this, eflags, segs);
  }

  /** The guest cleared CR0.PE: back to real mode, which runs directly. */
  leaveProtected(cr0: number): void {
    const c = this.cpu, v = this.v;
    this.deprivileged = false;
    c.gdtrBase = v.gdtBase; c.gdtrLimit = v.gdtLimit;
    c.idtrBase = v.idtBase; c.idtrLimit = v.idtLimit;
    c.trSel = v.trSel; c.trBase = v.trBase; c.trLimit = v.trLimit;
    if (v.ldtrSel & 0xfffc) { c.ldtrBase = v.ldtrBase; c.ldtrLimit = v.ldtrLimit; }
    c.sysenterCs = v.sysenterCs;
    this.guest.cr0 = cr0;
    c.cr0 = cr0;
    c.cr3 = this.guest.cr3;
    c.cr4 = this.guest.cr4;
    c.pdpte.set(this.guest.pdpte);
    const mmu = this.shadow;
    c.gpaToHpa = (gpa) => mmu.hostAddress(gpa);
    c.tlb.flushAll();
    c.updateMode();
    c.setEflags(v.vif ? c.getEflags() | IF : c.getEflags() & ~IF);
    c.emit({ kind: 'mode', what: 'real' });
  }

  /** The processor's descriptor-table registers point at the shadow tables built from the guest's. */
  loadShadowTables(): void {
    const c = this.cpu, v = this.v, read = (lin: number) => this.readGuest32(lin);
    if (!this.window.buildGdt(read, v.gdtBase, v.gdtLimit)) { this.unmappedTable('GDT', v.gdtBase); return; }
    if (!this.window.buildIdt(read, v.idtBase, v.idtLimit)) { this.unmappedTable('IDT', v.idtBase); return; }
    this.updateIntercepts();
    c.gdtrBase = GDT_LIN | 0; c.gdtrLimit = v.gdtLimit;
    c.idtrBase = IDT_LIN | 0; c.idtrLimit = v.idtLimit;
    if (v.ldtrSel & 0xfffc && !this.window.buildLdt(read, v.ldtrBase, v.ldtrLimit)) { this.unmappedTable('LDT', v.ldtrBase); return; }
    if (v.ldtrSel & 0xfffc) { c.ldtrBase = LDT_LIN | 0; c.ldtrLimit = v.ldtrLimit; }
    this.watchTables();
    this.pv?.installGate();
    this.holes.note('(descriptor tables)', 'the processor sets accessed bits in the shadow GDT; the guest\'s descriptors keep theirs clear', 'accessed bits set in the guest\'s GDT');
  }

  /** The monitor copies a descriptor table when the guest loads it; one the guest's tables do not map it cannot copy. */
  private unmappedTable(what: string, base: number): void {
    this.stop(`the ${what} at 0x${(base >>> 0).toString(16)} is not mapped, and a descriptor table the monitor cannot copy is not supported`);
  }

  /** The guest may edit its tables later: their frames (GDT, IDT, LDT) are write-protected, each write re-copied. */
  private watchTables(): void {
    const v = this.v;
    const frames: number[] = [];
    const tables = [[v.gdtBase, v.gdtLimit], [v.idtBase, v.idtLimit]];
    if (v.ldtrSel & 0xfffc) tables.push([v.ldtrBase, v.ldtrLimit]);
    for (const [base, limit] of tables) {
      for (let lin = base & ~0xfff; lin <= base + limit; lin += 0x1000) {
        const gpa = this.peekGuest(lin >>> 0);
        if (gpa >= 0) frames.push(gpa >>> 12);
      }
    }
    this.shadow.watchFrames(frames, () => this.tablesWritten());
  }

  /**
   * LLDT (and a task switch's LDT load) against the guest's GDT: the processor's LDTR keeps the guest's
   * selector and limit but its base is the shadow LDT. `vector` is the fault for a bad selector (#GP for
   * LLDT, #TS for a task switch); a not-present LDT is #NP for LLDT, #TS for a task switch.
   */
  loadLdt(sel: number, vector: number, ext = 0): void {
    const c = this.cpu, v = this.v;
    sel &= 0xffff;
    if ((sel & 0xfffc) === 0) {
      v.ldtrSel = sel; v.ldtrBase = 0; v.ldtrLimit = 0;
      c.ldtrSel = sel; c.ldtrBase = 0; c.ldtrLimit = 0; c.ldtrAr = AR_UNUSABLE;
      this.watchTables();
      return;
    }
    const err = (sel & 0xfffc) | ext;
    if (sel & 4 || (sel | 7) > v.gdtLimit) c.fault(vector, err, true);
    const at = (v.gdtBase + (sel & ~7)) >>> 0;
    const lo = this.readGuest32(at), hi = this.readGuest32((at + 4) >>> 0);
    if (lo === undefined || hi === undefined) { this.unmappedTable('GDT', v.gdtBase); return; }
    if (hi & 0x1000 || ((hi >>> 8) & 0xf) !== 2) c.fault(vector, err, true);
    if (!(hi & 0x8000)) c.fault(vector === 13 ? 11 : vector, err, true);
    let limit = (lo & 0xffff) | (hi & 0xf0000);
    if (hi & 0x800000) limit = ((limit << 12) | 0xfff) >>> 0;
    const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
    if (!this.window.buildLdt((lin) => this.readGuest32(lin), base, limit)) { this.unmappedTable('LDT', base); return; }
    v.ldtrSel = sel; v.ldtrBase = base; v.ldtrLimit = limit;
    c.ldtrSel = sel; c.ldtrBase = LDT_LIN | 0; c.ldtrLimit = limit | 0; c.ldtrAr = (hi >>> 8) & 0xf0ff;
    this.watchTables();
  }

  /** The guest wrote its GDT, IDT or LDT: copy them again (the shadow TSS descriptor keeps its busy bit). */
  private tablesWritten(): void {
    const v = this.v, read = (lin: number) => this.readGuest32(lin);
    this.window.buildGdt(read, v.gdtBase, v.gdtLimit);
    this.window.buildIdt(read, v.idtBase, v.idtLimit);
    this.updateIntercepts();
    if (v.ldtrSel & 0xfffc) this.window.buildLdt(read, v.ldtrBase, v.ldtrLimit);
    if (v.trSel & 0xfffc) {
      const [sl, sh] = this.window.readGdt(v.trSel >>> 3);
      this.window.writeGdt(v.trSel >>> 3, sl, sh | 0x200);
    }
    this.counters.tableCopies++;
    this.pv?.installGate();
  }

  /** The shadow TSS's ring-1 stack follows the guest TSS's ring-0 stack. */
  syncTss(): void {
    const b = this.v.trBase;
    const esp0 = this.readGuest32((b + 4) >>> 0), ss0 = this.readGuest32((b + 8) >>> 0);
    if (esp0 !== undefined && ss0 !== undefined) this.window.setKernelStack(ss0 & 0xffff, esp0);
  }

  /** A dword of guest memory by linear address, through the guest's own translation. */
  readGuest32(lin: number): number | undefined {
    let v = 0;
    for (let k = 3; k >= 0; k--) {
      const gpa = this.peekGuest((lin + k) >>> 0);
      if (gpa < 0 || gpa >= this.machine.ramBytes) return undefined;
      v = (v << 8) | this.machine.ram[gpa];
    }
    return v | 0;
  }
  /**
   * Guest memory by linear address for the monitor's own emulation of a ring-0 access (a TSS, a
   * descriptor table, a stack): the guest's translation with its accessed and dirty bits, or the
   * guest's #PF (CR2 set, as the shadow's fault path expects) where its tables refuse.
   */
  guestAccess(lin: number, size: number, write: boolean, value = 0): number {
    const c = this.cpu, ram = this.machine.ram;
    let out = 0;
    for (let k = 0; k < size; k++) {
      const a = (lin + k) >>> 0;
      let gpa = a & c.a20Mask;
      if (this.guestView.paging) {
        const w = guestWalk(this.guestView, a, write ? ACCESS_WRITE : 0, false);
        if (!w.ok) { c.cr2 = a | 0; c.fault(14, w.error, true); }
        gpa = w.gfn * 4096 + (a & 0xfff);
      }
      if (gpa < 0 || gpa >= this.machine.ramBytes) { if (!write) out |= 0xff << (8 * k); continue; }
      if (write) {
        ram[gpa] = (value >>> (8 * k)) & 0xff;
        const hpa = this.machine.ramBase + gpa;
        if (c.code.pageHasCode(hpa >>> 12)) c.code.write(hpa, 1);
        if (this.shadow.isTracked(gpa >>> 12) && !this.shadow.isWatched(gpa >>> 12)) { this.shadow.zapFrame(gpa >>> 12); c.tlb.flushAll(); }
      } else out |= ram[gpa] << (8 * k);
    }
    return size === 4 ? out | 0 : out;
  }

  writeGuest(lin: number, size: number, value: number): boolean {
    for (let k = 0; k < size; k++) {
      const gpa = this.peekGuest((lin + k) >>> 0);
      if (gpa < 0 || gpa >= this.machine.ramBytes) return false;
      this.machine.ram[gpa] = (value >>> (8 * k)) & 0xff;
      const hpa = this.machine.ramBase + gpa;
      if (this.cpu.code.pageHasCode(hpa >>> 12)) this.cpu.code.write(hpa, 1);
    }
    return true;
  }

  // ------------------------------------------------------------------ paging

  /** The processor walks the shadow of the guest's tables, or a direct root while the guest has paging off. */
  configurePaging(reset: boolean): void {
    const c = this.cpu, host = this.machine.hostMem.length;
    if (reset) this.shadow.reset();
    // The shadow is in the guest's format: PAE while the guest pages with PAE, else 32-bit.
    c.cr4 = this.guestView.pae ? this.guest.cr4 | CR4_PAE : this.guest.cr4 & ~CR4_PAE;
    c.gpaToHpa = (a) => ((a >>> 0) < host ? a >>> 0 : -1);
    this.shadow.activateRoot();
    this.shadow.changed = false;
    c.tlb.flushAll();
    c.brk = true;
  }

  setGuestCr0(value: number): void {
    const c = this.cpu;
    const v = (value & 0xe005003f) | 0x10;
    if (v & CR0_PG && !(v & CR0_PE)) c.gp(0);
    if (v & 0x20000000 && !(v & 0x40000000)) c.gp(0);
    if (!(v & CR0_PE)) { this.leaveProtected(v); return; }
    const old = this.guest.cr0;
    // Enabling PAE paging loads the PDPTEs from the guest's CR3 (a bad one is #GP before anything changes).
    if (v & CR0_PG && !(old & CR0_PG) && this.guest.cr4 & CR4_PAE) this.loadGuestPdptes(this.guest.cr3);
    this.guest.cr0 = v;
    c.cr0 = (v | CR0_PG | CR0_WP) >>> 0 | 0;
    if ((old ^ v) & CR0_PG) c.emit({ kind: 'mode', what: v & CR0_PG ? 'paging-on' : 'paging-off' });
    // Paging turned on or off (a different root) or WP changed (part of every shadow page's role).
    if ((old ^ v) & (CR0_PG | CR0_WP)) this.configurePaging((old ^ v) & CR0_PG ? true : false);
    if (this.pv && v & CR0_PG) this.checkTables();
  }

  /** Paravirt: the tables the guest pages with must be read-only to it. */
  private checkTables(): void {
    const problem = this.pv!.validateTables();
    if (problem) this.stop(problem);
  }

  setGuestCr3(value: number): void {
    const c = this.cpu, mmu = this.shadow;
    if (this.guestView.pae) this.loadGuestPdptes(value);
    this.guest.cr3 = value;
    if (!this.guestView.paging) return;
    if (this.pv) this.checkTables();
    const before = mmu.root;
    mmu.activateRoot();
    if (before === mmu.root && !mmu.changed && c.tlb.reuseOnSameRoot) c.tlb.reuses++;
    else c.tlb.flushNonGlobal();
    mmu.changed = false;
  }

  setGuestCr4(value: number): void {
    const c = this.cpu;
    if (value & ~0x1bf) c.gp(0);
    if (this.pv && value & CR4_PAE) { this.stop('PAE paging is not supported under paravirt (its page-table updates are 32-bit entries)'); return; }
    const old = this.guest.cr4;
    // A change of paging mode into PAE loads the PDPTEs (#GP before anything changes).
    if (this.guestView.paging && value & CR4_PAE && (old ^ value) & (CR4_PAE | CR4_PSE | CR4_PGE)) this.loadGuestPdptes(this.guest.cr3);
    this.guest.cr4 = value;
    c.cr4 = this.guestView.pae ? value : value & ~CR4_PAE;
    c.brk = true;
    if ((old ^ value) & (CR4_PSE | CR4_PGE | CR4_PAE)) this.configurePaging(true);
  }

  /** PAE: the guest's four PDPTEs from its CR3, with the reserved-bit check of MOV CR3 (#GP(0)). */
  private loadGuestPdptes(cr3: number): void {
    const vals = new Int32Array(8);
    for (let k = 0; k < 4; k++) {
      const a = ((cr3 & ~0x1f) >>> 0) + k * 8;
      const lo = this.guestView.read32(a), hi = this.guestView.read32(a + 4);
      if (lo & 1 && (lo & 0x1e6 || hi & 0xfffffff0)) this.cpu.gp(0);
      vals[2 * k] = lo; vals[2 * k + 1] = hi;
    }
    this.guest.pdpte.set(vals);
  }

  // ------------------------------------------------------------------ traps

  private onException(_c: Cpu, v: number, err: number, has: boolean, delivering: boolean): number {
    if (!this.deprivileged) return err;
    const info = interruptionInfo(v, INTR_HW_EXCEPTION, has);
    let out = err;
    const v86 = this.cpu.isV86();
    if (v === 14 && this.inWindow(this.cpu.cr2 >>> 0)) {
      // The guest's own use of the top 4 MiB, where the monitor's window lies: nothing the monitor can give it.
      this.stop(`the guest's use of 0x${(this.cpu.cr2 >>> 0).toString(16)}, in the top 4 MiB where the monitor's window lies, is not supported`);
      this.cpu.cr2 = this.guest.cr2;
      return err;
    }
    if (v === 14) out = shadowFault(this, err, info, delivering);
    else if (v === 13 && !delivering) out = emulatePrivileged(this, err, info);
    else if ((v === 10 || v === 11) && !delivering && !this.inHandler && !v86 && !reflecting()) out = taskTrap(this, v, err, info);
    // (emulatePrivileged counts the #GPs it reflects, the shadow its #PFs)
    if (out !== -1 && v !== 14 && !(v === 13 && !delivering) && !this.window.taskGate[v] && !v86) this.counters.reflectedFaults++;
    if (out === -1) return -1;
    if (v86) {
      // Out of virtual-8086 mode: the monitor delivers it to the guest's ring-0 handler (v86.ts).
      deliverFromV86(this, v, out, has, v === 3 || v === 4 ? V86Event.SoftException : v === 1 ? V86Event.Trap : V86Event.Fault);
      return -1;
    }
    if (!this.window.taskGate[v]) return out;
    // The guest's gate for this vector is a task gate: the monitor switches tasks (taskswitch.ts).
    if (delivering) { this.stop('a fault while delivering an event, through a task gate, is not supported'); return out; }
    exceptionThroughTaskGate(this, v, out, has, false);
    return -1;
  }

  /** A #PF in the monitor's window that the guest's own tables would not raise (it maps the address, or does not page). */
  private inWindow(lin: number): boolean {
    if (lin >>> 22 !== WINDOW_PDE_INDEX) return false;
    return !this.guestView.paging || guestWalk(this.guestView, lin, 0, false, true).ok;
  }

  /** An interrupt for the guest: held while the guest kernel has its (virtual) IF clear. */
  private onInterrupt(): boolean {
    const c = this.cpu;
    if (this.pv && this.deprivileged) return this.pv.onIrq();
    if (this.deprivileged && (c.cpl === 1 || c.isV86()) && !this.v.vif) return false;
    if (this.deprivileged && c.isV86()) {
      const ack = c.host.acknowledgeInterrupt();
      if (ack >= 0) deliverFromV86(this, ack, 0, false, V86Event.External);
      return false;
    }
    const vec = this.machine.pic.pendingVector();
    if (this.deprivileged && vec >= 0 && this.window.taskGate[vec]) {
      // Through the guest's task gate: acknowledged and delivered by the monitor's task switch.
      const ack = c.host.acknowledgeInterrupt();
      if (ack >= 0) exceptionThroughTaskGate(this, ack, 0, false, true);
      return false;
    }
    if (this.deprivileged) {
      this.exit(EXIT.EXTERNAL_INTERRUPT, { interruptionInfo: vec >= 0 ? interruptionInfo(vec, INTR_EXTERNAL, false) : 0, eip: c.eip >>> 0, text: `IRQ reflected to the guest's vector ${vec}` });
      this.counters.injectedInterrupts++;
    }
    return true;
  }

  private onEvent(e: CpuEvent): void {
    switch (e.kind) {
      case 'interrupt':
        kernelFrame(this, this.cpu, e.vector, e.errorCode, e.fromCs); // with the guest's IF before the gate clears it
        // Delivery through the guest's interrupt gate clears its IF (the shadow gate is a trap gate).
        if (this.deprivileged && this.window.interruptGate[e.vector]) this.v.vif = false;
        if (this.deprivileged && e.source === 'exception') this.counters.injectedExceptions++;
        return;
      case 'cpl':
        if (this.deprivileged && e.to === 3) this.syncTss();
        return;
      case 'mode':
        if (e.what === 'protected' && !this.deprivileged) this.enterProtected();
        return;
      case 'task-switch':
        // The processor's own TR is the shadow TSS: only the monitor may switch the guest's tasks.
        if (this.deprivileged && !this.taskSwitching) this.stop('a task switch by the processor itself is not supported');
        return;
      case 'triple-fault':
        this.exit(EXIT.TRIPLE_FAULT, { text: `triple fault (vector ${e.vector})` });
        return;
    }
  }

  // ------------------------------------------------------------------ views

  /** The guest's translation of a linear address (its own tables; identity with paging off). */
  peekGuest(lin: number): number {
    if (!this.guestView.paging) return lin & this.cpu.a20Mask;
    const w = guestWalk(this.guestView, lin, 0, false, true);
    return w.ok && w.gfn >= 0 ? w.gfn * 4096 + (lin & 0xfff) : -1;
  }

  guestCr(n: number): number {
    const c = this.cpu;
    if (!this.deprivileged) return (n === 0 ? c.cr0 : n === 2 ? c.cr2 : n === 3 ? c.cr3 : c.cr4) >>> 0;
    return (n === 0 ? this.guest.cr0 : n === 2 ? c.cr2 : n === 3 ? this.guest.cr3 : this.guest.cr4) >>> 0;
  }

  /** The ring the guest believes it runs in. */
  guestRing(): number {
    return this.deprivileged && this.cpu.cpl === 1 ? 0 : this.cpu.cpl;
  }

  consistency(): ConsistencyReport {
    return checkShadow(this.shadow, this.guestView);
  }

  statsLines(): string[] {
    const s = this.stats, c = this.counters, m = this.shadow.counters, z = this.shadow.size();
    const lines = [`monitor traps:        ${s.total} (${this.modeName})`];
    for (const r of s.byReason()) lines.push(`  ${exitReasonLabel(r.reason).padEnd(24)} ${String(r.count).padStart(9)} ${((100 * r.count) / Math.max(s.total, 1)).toFixed(1).padStart(5)}%`);
    lines.push(`emulated:             ${c.emulatedPrivileged} privileged instructions; reflected ${c.injectedInterrupts} interrupts, ${c.injectedExceptions} exceptions`);
    lines.push(`shadow MMU:           ${z.pages} shadow pages, ${m.fills} fills, ${m.reflected} faults reflected, ${m.emulatedWrites} table writes emulated`);
    const pv = this.pv;
    if (pv) {
      lines.push(`hypercalls:           ${pv.calls.total} (${pv.calls.list().map((h) => `${h.name} x${h.count}`).join(', ') || 'none'})`);
      lines.push(`                      ${pv.counters.mmuUpdates} page-table updates (${pv.counters.mmuRefused} refused), ${pv.counters.upcalls} upcalls, balloon ${pv.counters.ballooned} pages out / ${pv.counters.reclaimed} back`);
    }
    const t = this.translations;
    if (t) lines.push(`translation cache:    ${t.translations} kernel blocks translated, ${t.rewritten} instructions rewritten into monitor calls, ${t.invalidations} translations dropped`);
    lines.push(...this.holes.statsLines());
    return lines;
  }
}
