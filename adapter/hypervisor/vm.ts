// A VM with one vCPU under hardware-assisted virtualization (vtx): the Machine's CPU runs the guest
// in "non-root mode", and the execution controls in the VMCS decide which events leave it. Exits
// ride on the CPU's own mechanisms: intercepted instruction classes (cpu.vmmClasses, compiled into
// the decoded records), the exception bitmap (cpu.vmmExceptions), guest-physical accesses
// (cpu.gpaToHpa: the EPT walk), the interrupt line, and task-switch / triple-fault events. Each exit
// is recorded (exits.ts), saved into the VMCS exit-information fields with the guest state, shown to
// the debugger as a 'vmexit' event, then handled: emulated and resumed, or reflected to the guest.
import type { Cpu } from '../cpu/cpu';
import { CR0_PG, CR0_WP, CR4_PSE, CR4_PAE, CR4_PGE, EFER_NXE, AR_UNUSABLE } from '../cpu/cpu';
import type { CpuEvent } from '../cpu/bus';
import type { Insn } from '../cpu/insn';
import { CS } from '../cpu/insn';
import { ACC_WRITE, ACC_EXEC, ACC_TABLE } from '../cpu/paging';
import { formatInsn } from '../cpu/disasm';
import type { Machine } from '../machine/pc';
import { HostPages, PAGE } from './hostpages';
import { Vmcs, PIN, PROC2 } from './vmcs';
import { IoBitmaps, MsrBitmap } from './bitmaps';
import { Ept, EPT_R, EPT_W, EPT_X, EPT_RWX, WALK_MISCONFIG } from './ept';
import { ShadowMmu } from './shadow';
import { guestWalk, type GuestView } from './gwalk';
import { checkShadow, type ConsistencyReport } from './consistency';
import {
  ExitStats, EXIT, type ExitRecord, eptQualification, interruptionInfo, describeQualification, taskQualification,
  INTR_EXTERNAL, INTR_HW_EXCEPTION, INTR_SW_EXCEPTION, TASK_CALL, TASK_IRET, TASK_JMP, TASK_IDT,
} from './exits';
import { exitReasonLabel } from './exitreasons';
import type { VmxSettings, MemoryVirtualization } from './controls';
import { decideExit, silentAccess, interceptClasses } from './handlers';
import { shadowFault } from './shadowfaults';
import { HYPERVISOR_STOP_STATUS } from './monitor';
import { Hypercalls } from './hypercalls';
import { VtxCalls } from './vtxcalls';
import { setGuestCr0, setGuestCr3, setGuestCr4 } from './crs';

/** VMCS keys of the segment fields (ES CS SS DS FS GS) and PDPTEs, built once. */
const SEG_KEYS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'].map((n) => [`guest_${n}_selector`, `guest_${n}_base`, `guest_${n}_limit`, `guest_${n}_access_rights`]);
const PDPTE_KEYS = [0, 1, 2, 3].map((k) => `guest_pdpte${k}`);

export interface VmOptions {
  memory: MemoryVirtualization;
  settings: VmxSettings;
}

/** What the guest believes its control registers hold, where the hypervisor keeps them apart. */
export interface GuestControl {
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  /** PAE: the PDPTEs the guest's last CR3 load gave (the processor's hold the shadow root's). */
  pdpte: Int32Array;
}

export class Vm {
  readonly cpu: Cpu;
  readonly pages: HostPages;
  readonly vmcs: Vmcs;
  readonly io: IoBitmaps;
  readonly msr: MsrBitmap;
  readonly ept?: Ept;
  readonly shadow?: ShadowMmu;
  readonly stats: ExitStats;
  readonly settings: VmxSettings;
  readonly memory: MemoryVirtualization;
  readonly guest: GuestControl;
  /** The guest's view for the shadow MMU's walks. */
  readonly guestView: GuestView;
  /** Counters beside the exit counts. */
  readonly counters = { injectedInterrupts: 0, reflectedExceptions: 0, vpidFlushes: 0, mmioAccesses: 0, pleExits: 0, emulatedInstructions: 0 };
  /** Why the hypervisor stopped the guest, when it did. */
  fatal?: string;
  /** The guest's hypercalls (VMCALL exits) and what serves them. */
  readonly calls = new Hypercalls();
  readonly vtxCalls: VtxCalls;
  /** Set while an exit handler runs: interrupts raised meanwhile are injected at the next entry, no exit. */
  inHandler = false;
  private pendingIrq: { windowNeeded: boolean } | null = null;
  private picLevel = false;
  /** Pause-loop tracking (instruction counts stand in for TSC cycles). */
  pleLast = -Infinity;
  pleStart = 0;
  /** Repeated failures to emulate the same instruction (shadowfaults.ts stops a loop that makes no progress). */
  emulationFailures = 0;
  emulationFailureKey = '';

  constructor(readonly machine: Machine, opts: VmOptions) {
    const cpu = (this.cpu = machine.cpu);
    this.memory = opts.memory;
    this.settings = opts.settings;
    this.stats = new ExitStats(opts.settings.traceSize);
    // The CPU now addresses host memory: the structures below come from the pages under guest RAM.
    cpu.attachHost(machine.hostMem, machine.ramBase);
    this.pages = new HostPages(cpu, PAGE, machine.ramBase);
    this.vmcs = new Vmcs(this.pages);
    this.io = new IoBitmaps(cpu, this.pages);
    this.msr = new MsrBitmap(cpu, this.pages);
    this.guest = { cr0: cpu.cr0, cr2: cpu.cr2, cr3: cpu.cr3, cr4: cpu.cr4, pdpte: new Int32Array(8) };
    const g = this.guest, ram = machine.ramBytes, base = machine.ramBase;
    this.guestView = {
      get cr3() { return g.cr3; },
      get wp() { return (g.cr0 & CR0_WP) !== 0; },
      get pse() { return (g.cr4 & CR4_PSE) !== 0; },
      get pae() { return (g.cr4 & CR4_PAE) !== 0; },
      get pge() { return (g.cr4 & CR4_PGE) !== 0; },
      get nxe() { return (cpu.efer & EFER_NXE) !== 0; },
      get a20Mask() { return cpu.a20Mask; },
      pdpte: g.pdpte,
      read32: (gpa) => ((gpa >>> 0) + 4 <= ram ? cpu.dv.getInt32(base + (gpa >>> 0), true) : -1),
      write32: (gpa) => void gpa, // replaced below (needs code-cache coherence)
    };
    this.guestView.write32 = (gpa, v) => this.writeGuest32(gpa, v);
    this.programVmcs();
    if (this.memory === 'ept') this.ept = new Ept(cpu, this.pages, ram, base, this.settings.ept);
    else this.shadow = new ShadowMmu(cpu, this.pages, ram, base, this.guestView);
    this.vtxCalls = new VtxCalls(this);
    this.install();
  }

  // ------------------------------------------------------------------ setup

  private programVmcs(): void {
    const s = this.settings, v = this.vmcs;
    v.write('pin_controls', s.pin);
    v.write('proc_controls', s.proc);
    v.write('proc2_controls', s.proc2);
    v.write('exit_controls', s.exitControls);
    v.write('entry_controls', s.entryControls);
    v.write('exception_bitmap', s.exceptionBitmap);
    v.write('cr0_mask', s.cr0Mask);
    v.write('cr4_mask', s.cr4Mask);
    v.write('cr0_shadow', this.guest.cr0);
    v.write('cr4_shadow', this.guest.cr4);
    v.write('vpid', s.proc2 & PROC2.vpid ? s.vpid : 0);
    v.write('ple_gap', s.pleGap);
    v.write('ple_window', s.pleWindow);
    v.write('tsc_offset', s.tscOffset);
    v.write('io_bitmap_a', this.io.a);
    v.write('io_bitmap_b', this.io.b);
    v.write('msr_bitmap', this.msr.hpa);
    this.io.fill(true, s.ioPassThrough);
    this.msr.fill(true, s.msrPassRead, s.msrPassWrite);
    v.write('host_cr0', 0x80050033);
    v.write('host_cr4', 0x2000); // VMXE
  }

  private install(): void {
    const cpu = this.cpu;
    cpu.tscOffset = BigInt(this.settings.tscOffset);
    if (this.ept) this.vmcs.write('eptp', this.ept.eptp());
    cpu.vmm = {
      beforeInsn: (c, i) => this.beforeInsn(c, i),
      exception: (c, v, err, has, delivering) => this.onException(c, v, err, has, delivering),
      interrupt: () => this.onInterrupt(),
      event: (_c, e) => this.onEvent(e),
      exitFor: (_c, i) => this.exitFor(i),
      guestCr: (_c, n) => this.guestCr(n),
      setGuestCr: (_c, n, v) => { if (n === 0) setGuestCr0(this, v); else if (n === 3) setGuestCr3(this, v); else setGuestCr4(this, v); return true; },
    };
    if (this.shadow) {
      const mmu = this.shadow;
      cpu.vmm.peekTranslate = (_c, lin) => this.peekGuest(lin);
      // A write that bypassed the shadow's write protection (the debugger, a device): resynchronize that frame.
      cpu.vmm.externalWrite = (c, page) => { if (mmu.isTracked(page)) { mmu.zapFrame(page); c.tlb.flushAll(); } };
      // The A20 gate changes every guest-physical address with bit 20: the composed translations go.
      cpu.vmm.a20Changed = () => { if (this.guest.cr0 & CR0_PG && this.guest.cr0 & 1) this.configureShadow(true); };
    }
    cpu.setVmmIntercepts(interceptClasses(this), this.settings.exceptionBitmap >>> 0);
    if (this.ept) {
      const ept = this.ept;
      cpu.gpaToHpa = (gpa, access) => this.eptAccess(gpa, access);
      cpu.gpaPeek = (gpa) => { const h = ept.walk(gpa, 0, false, true); return h >= 0 ? h : ept.slot(gpa); };
    } else {
      const mmu = this.shadow!;
      cpu.gpaPeek = (gpa) => mmu.hostAddress(gpa);
      this.configureShadow(true);
    }
    const pic = this.machine.pic;
    const wired = pic.onOutput;
    pic.onOutput = (level) => { wired(level); this.onPicOutput(level); };
    cpu.tlb.flushAll();
    cpu.code.flushAll();
    this.saveGuestState();
  }

  /** Intercepts follow the controls: call after changing settings at run time. */
  refreshIntercepts(): void {
    this.programVmcs();
    this.cpu.setVmmIntercepts(interceptClasses(this), this.settings.exceptionBitmap >>> 0);
  }

  control(field: 'pin' | 'proc' | 'proc2', bit: number): boolean {
    return (this.settings[field] & bit) !== 0;
  }

  // ------------------------------------------------------------------ exits

  /**
   * Record an exit: the trace and counts, the VMCS exit-information fields and guest-state area, a
   * 'vmexit' event for the debugger. Without VPID the transition flushes the TLB.
   */
  exit(reason: number, f: Partial<ExitRecord> = {}, insn?: Insn): ExitRecord {
    const cpu = this.cpu;
    const r: ExitRecord = {
      seq: 0, icount: cpu.icount, reason, qualification: f.qualification ?? 0,
      guestLinear: f.guestLinear ?? -1, guestPhysical: f.guestPhysical ?? -1,
      instructionLength: insn ? insn.len : f.instructionLength ?? 0, instructionInfo: f.instructionInfo ?? 0,
      interruptionInfo: f.interruptionInfo ?? 0, errorCode: f.errorCode ?? 0,
      cs: cpu.segSel[CS], eip: insn ? cpu.curEip >>> 0 : f.eip ?? cpu.curEip >>> 0,
      text: f.text ?? (insn ? formatInsn(insn, {}).replace(/,(?=\S)/g, ', ') : ''),
    };
    this.stats.add(r);
    const v = this.vmcs;
    v.write('exit_reason', reason);
    v.write('exit_qualification', r.qualification);
    v.write('guest_linear_address', r.guestLinear < 0 ? 0 : r.guestLinear);
    v.write('guest_physical_address', r.guestPhysical < 0 ? 0 : r.guestPhysical);
    v.write('exit_instruction_length', r.instructionLength);
    v.write('exit_instruction_info', r.instructionInfo);
    v.write('exit_interruption_info', r.interruptionInfo);
    v.write('exit_interruption_error', r.errorCode);
    this.saveGuestState();
    if (!(this.settings.proc2 & PROC2.vpid)) {
      cpu.tlb.flushAll();
      this.counters.vpidFlushes++;
    }
    if (cpu.hooks.event) {
      const q = describeQualification(reason, r.qualification);
      cpu.emit({ kind: 'vmexit', reason, qualification: r.qualification, text: [r.text, q && q !== r.text ? q : ''].filter(Boolean).join('; ') });
    }
    return r;
  }

  /** The guest-state area, as the processor saves it at an exit. */
  saveGuestState(): void {
    const c = this.cpu, v = this.vmcs;
    v.write('guest_cr0', c.cr0);
    v.write('guest_cr3', c.cr3);
    v.write('guest_cr4', c.cr4);
    v.write('guest_dr7', c.dr[7]);
    v.write('guest_rsp', c.r32[4]);
    v.write('guest_rip', c.curEip);
    v.write('guest_rflags', c.getEflags());
    for (let s = 0; s < 6; s++) {
      const k = SEG_KEYS[s];
      v.write(k[0], c.segSel[s]);
      v.write(k[1], c.segBase[s]);
      v.write(k[2], c.segLimit[s]);
      v.write(k[3], c.segAr[s]);
    }
    v.write('guest_ldtr_selector', c.ldtrSel);
    v.write('guest_ldtr_base', c.ldtrBase);
    v.write('guest_ldtr_limit', c.ldtrLimit);
    v.write('guest_ldtr_access_rights', c.ldtrAr || AR_UNUSABLE);
    v.write('guest_tr_selector', c.trSel);
    v.write('guest_tr_base', c.trBase);
    v.write('guest_tr_limit', c.trLimit);
    v.write('guest_tr_access_rights', c.trAr);
    v.write('guest_gdtr_base', c.gdtrBase);
    v.write('guest_gdtr_limit', c.gdtrLimit);
    v.write('guest_idtr_base', c.idtrBase);
    v.write('guest_idtr_limit', c.idtrLimit);
    v.write('guest_sysenter_cs', c.sysenterCs);
    v.write('guest_sysenter_esp', c.sysenterEsp);
    v.write('guest_sysenter_eip', c.sysenterEip);
    v.write('guest_efer', c.efer);
    for (let k = 0; k < 4; k++) v.write(PDPTE_KEYS[k], (c.pdpte[2 * k] >>> 0) + (c.pdpte[2 * k + 1] >>> 0) * 0x100000000);
    v.write('guest_interruptibility', (c.shadow ? (c.ssShadow ? 2 : 1) : 0) | (c.nmiBlocked ? 8 : 0));
    v.write('guest_activity_state', c.shutdown ? 2 : c.halted ? 1 : 0);
  }

  // ------------------------------------------------------------------ instructions

  private beforeInsn(cpu: Cpu, i: Insn): boolean {
    const x = decideExit(this, cpu, i);
    if (!x) return silentAccess(this, cpu, i);
    this.exit(x.reason, x, i);
    this.inHandler = true;
    try {
      x.emulate(this, cpu, i);
    } finally {
      this.inHandler = false;
    }
    return true;
  }

  private exitFor(i: Insn): string | undefined {
    try {
      const x = decideExit(this, this.cpu, i, true);
      return x ? `VM exit ${exitReasonLabel(x.reason)}` : undefined;
    } catch {
      return undefined; // the instruction would fault before any exit
    }
  }

  // ------------------------------------------------------------------ exceptions

  /** The exception bitmap's exits. Returns -1 when resolved (not delivered), else the error code to deliver. */
  private onException(cpu: Cpu, v: number, err: number, hasErr: boolean, delivering: boolean): number {
    const soft = (v === 3 || v === 4) && cpu.eip !== cpu.curEip; // INT3/INTO: EIP is past the instruction
    const info = interruptionInfo(v, soft ? INTR_SW_EXCEPTION : INTR_HW_EXCEPTION, hasErr);
    if (v === 14 && this.shadow && cpu.pagingOn()) return this.shadowFault(err, info, delivering);
    this.exit(EXIT.EXCEPTION_NMI, { interruptionInfo: info, errorCode: hasErr ? err : 0, qualification: v === 14 ? cpu.cr2 >>> 0 : 0, text: `exception ${v} reflected to the guest` });
    this.counters.reflectedExceptions++;
    this.stats.injected++;
    return err;
  }

  // ------------------------------------------------------------------ interrupts

  /** The virtual PIC's output: a rising edge while the guest runs is an external-interrupt exit. */
  private onPicOutput(level: boolean): void {
    const rising = level && !this.picLevel;
    this.picLevel = level;
    if (!rising) return;
    const cpu = this.cpu;
    const open = (cpu.flags & 0x200) !== 0 && !cpu.shadow;
    this.pendingIrq = { windowNeeded: !open };
    if (!cpu.halted && !this.inHandler && this.control('pin', PIN.externalInterrupt)) {
      const vec = this.machine.pic.pendingVector();
      this.exit(EXIT.EXTERNAL_INTERRUPT, { interruptionInfo: vec >= 0 ? interruptionInfo(vec, INTR_EXTERNAL, false) : 0, eip: cpu.eip >>> 0, text: `IRQ for vector ${vec}` });
    }
  }

  /** The CPU takes the interrupt: the hypervisor injects it (after an interrupt-window exit if it had to wait for IF). */
  private onInterrupt(): void {
    const vec = this.machine.pic.pendingVector();
    const p = this.pendingIrq;
    this.pendingIrq = null;
    // The guest opened the window (STI, POPF, IRET): an interrupt-window exit. Not after HLT: the HLT
    // exit already gave the hypervisor the vCPU, which injects when it wakes.
    if (p?.windowNeeded && !this.cpu.halted) this.exit(EXIT.INTERRUPT_WINDOW, { eip: this.cpu.eip >>> 0, text: `window open: inject vector ${vec}` });
    if (vec >= 0) this.vmcs.write('entry_interruption_info', interruptionInfo(vec, INTR_EXTERNAL, false));
    this.counters.injectedInterrupts++;
  }

  // ------------------------------------------------------------------ CPU events

  private onEvent(e: CpuEvent): void {
    if (e.kind === 'task-switch') {
      const src = /iret/i.test(e.cause) ? TASK_IRET : /jmp/i.test(e.cause) ? TASK_JMP : /call/i.test(e.cause) ? TASK_CALL : TASK_IDT;
      // The processor switched tasks (the handler's emulation); its CR3 load came through setGuestCr.
      this.exit(EXIT.TASK_SWITCH, { qualification: taskQualification(e.to, src), eip: this.cpu.eip >>> 0, text: e.cause });
    } else if (e.kind === 'triple-fault') {
      this.exit(EXIT.TRIPLE_FAULT, { text: `triple fault (vector ${e.vector})` });
    }
  }

  // ------------------------------------------------------------------ EPT

  /** cpu.gpaToHpa under EPT: the walk, and the violation and misconfiguration exits. */
  private eptAccess(gpa: number, access: number): number {
    const ept = this.ept!;
    const table = (access & ACC_TABLE) !== 0;
    const kind = access & 3;
    // With EPT accessed/dirty flags on, the processor's accesses to guest paging structures count as
    // writes (SDM): they need write permission and set the dirty flag.
    const asWrite = kind === ACC_WRITE || (table && ept.opts.accessedDirty);
    const want = asWrite ? EPT_W : kind === ACC_EXEC ? EPT_X : EPT_R;
    for (let attempt = 0; attempt < 3; attempt++) {
      const h = ept.walk(gpa, want, table, false);
      if (h >= 0) return h;
      const cpu = this.cpu;
      const linearValid = cpu.pagingOn() || !table;
      if (ept.status === WALK_MISCONFIG) {
        this.exit(EXIT.EPT_MISCONFIG, { guestPhysical: gpa >>> 0, guestLinear: linearValid ? cpu.xlatLin >>> 0 : -1, text: ept.stoppedAtMmio() ? 'MMIO access' : `misconfigured EPT entry at host 0x${ept.entryAddr.toString(16)}` });
        if (ept.stoppedAtMmio()) { this.counters.mmioAccesses++; return -1; }
        // A misconfiguration the hypervisor did not make: the VM cannot go on (KVM reports it to user space).
        this.stop(`EPT misconfiguration at guest-physical 0x${(gpa >>> 0).toString(16)} (entry at host 0x${ept.entryAddr.toString(16)})`);
        return -1;
      }
      const q = eptQualification(want, ept.rwx, linearValid, !table);
      this.exit(EXIT.EPT_VIOLATION, { qualification: q, guestPhysical: gpa >>> 0, guestLinear: linearValid ? cpu.xlatLin >>> 0 : -1, text: `guest-physical 0x${(gpa >>> 0).toString(16)}` });
      this.inHandler = true;
      try {
        if (ept.slot(gpa) < 0) {
          // Not RAM: leave a misconfigured marker so later accesses exit quickly, and let the device model answer.
          ept.markMmio(gpa & ~0xfff);
          this.counters.mmioAccesses++;
          return -1;
        }
        if (ept.rwx === 0) {
          // A page the guest ballooned out comes back as a fresh page; any other is mapped as RAM.
          if (!this.vtxCalls.repopulate(gpa) && !ept.mapRamAt(gpa)) throw new Error('hypervisor: out of host memory for EPT tables');
        } else {
          // Permissions were taken away (a test, dirty logging): give them back, then INVEPT.
          ept.setLeafBits(gpa, EPT_RWX);
          this.invept();
        }
      } finally {
        this.inHandler = false;
      }
    }
    return -1;
  }

  /** INVEPT (single context): cached guest-physical translations of this EPTP go. */
  invept(): void {
    this.cpu.tlb.flushAll();
    if (this.ept) this.ept.invalidations++;
  }

  // ------------------------------------------------------------------ shadow paging

  /**
   * Guest paging on or off, WP or paging-mode changes: the processor walks the shadow root (paging
   * on: CR3 = root, CR0.WP forced on so write-protected guest tables trap in supervisor mode too) or
   * nothing (paging off: guest-physical goes to host-physical through the memory slot).
   */
  configureShadow(reset: boolean): void {
    const cpu = this.cpu, mmu = this.shadow!;
    const host = this.machine.hostMem.length;
    if (reset) mmu.reset();
    if ((this.guest.cr0 & CR0_PG) !== 0 && (this.guest.cr0 & 1) !== 0) {
      // The processor walks shadow tables, whose entries already hold host addresses.
      cpu.gpaToHpa = (a) => ((a >>> 0) < host ? a >>> 0 : -1);
      cpu.cr0 |= CR0_WP;
      mmu.activateRoot();
    } else {
      cpu.gpaToHpa = (gpa) => mmu.hostAddress(gpa);
      cpu.cr3 = this.guest.cr3;
    }
    mmu.changed = false;
    cpu.tlb.flushAll();
    cpu.brk = true;
  }

  /** The guest loaded CR3 (MOV CR3 exit, task switch): switch shadow roots. */
  guestCr3Loaded(v: number): void {
    const cpu = this.cpu, mmu = this.shadow!;
    this.guest.cr3 = v;
    if (!cpu.pagingOn()) { cpu.cr3 = v; return; }
    if (this.guest.cr4 & CR4_PAE) this.loadGuestPdptes(v);
    const before = mmu.root;
    mmu.activateRoot();
    // The same root with nothing dropped since the last flush keeps the TLB (as for native paging).
    if (before === mmu.root && !mmu.changed && cpu.tlb.reuseOnSameRoot) cpu.tlb.reuses++;
    else cpu.tlb.flushNonGlobal();
    mmu.changed = false;
  }

  /** The guest's PDPTEs from its CR3 (PAE), with the reserved-bit check MOV CR3 makes (#GP). */
  loadGuestPdptes(cr3: number): void {
    const vals = new Int32Array(8);
    for (let k = 0; k < 4; k++) {
      const a = ((((cr3 & ~0x1f) >>> 0) + k * 8) & this.cpu.a20Mask) >>> 0;
      const lo = this.guestView.read32(a), hi = this.guestView.read32(a + 4);
      if (lo & 1 && (lo & 0x1e6 || hi & 0xfffffff0)) this.cpu.gp(0);
      vals[2 * k] = lo; vals[2 * k + 1] = hi;
    }
    this.guest.pdpte.set(vals);
  }

  /** A #PF from the shadow (shadowfaults.ts). */
  private shadowFault(err: number, info: number, delivering: boolean): number {
    return shadowFault(this, err, info, delivering);
  }

  /** The guest's translation of a linear address (its own tables), for the debugger. */
  peekGuest(lin: number): number {
    if (!(this.guest.cr0 & CR0_PG) || !(this.guest.cr0 & 1)) return lin & this.cpu.a20Mask;
    const w = guestWalk(this.guestView, lin, 0, false, true);
    return w.ok && w.gfn >= 0 ? w.gfn * 4096 + (lin & 0xfff) : -1;
  }

  /** A guest-physical dword write by the hypervisor itself (accessed/dirty bits), keeping decoded code coherent. */
  private writeGuest32(gpa: number, v: number): void {
    gpa >>>= 0;
    if (gpa + 4 > this.machine.ramBytes) return;
    const hpa = this.machine.ramBase + gpa;
    this.cpu.dv.setInt32(hpa, v, true);
    if (this.cpu.code.pageHasCode(hpa >>> 12)) this.cpu.code.write(hpa, 4);
  }

  /** The control register the guest believes it has. */
  guestCr(n: number): number {
    const c = this.cpu;
    switch (n) {
      case 0: return ((c.cr0 & ~this.settings.cr0Mask) | (this.guest.cr0 & this.settings.cr0Mask)) >>> 0;
      case 2: return c.cr2 >>> 0;
      case 3: return (this.shadow && c.pagingOn() ? this.guest.cr3 : c.cr3) >>> 0;
      case 4: return ((c.cr4 & ~this.settings.cr4Mask) | (this.guest.cr4 & this.settings.cr4Mask)) >>> 0;
    }
    return 0;
  }

  /** Stop the guest for a reason the hypervisor cannot handle; the runner and the debugger show `fatal`. */
  stop(reason: string): void {
    this.fatal ??= reason;
    this.machine.stop(HYPERVISOR_STOP_STATUS, this.fatal);
  }

  // ------------------------------------------------------------------ inspection

  consistency(): ConsistencyReport | undefined {
    if (!this.shadow) return undefined;
    // Guest paging off: the processor runs on the memory slot, and the shadow (kept for when paging
    // comes back, then rebuilt) is not in use.
    if (!(this.guest.cr0 & CR0_PG) || !(this.guest.cr0 & 1)) return { checked: 0, issues: [] };
    return checkShadow(this.shadow, this.guestView);
  }

  /** Lines for `ringside run --stats`. */
  statsLines(): string[] {
    const lines: string[] = [];
    const s = this.stats;
    lines.push(`VM exits:             ${s.total} (${this.memory === 'ept' ? 'vtx+ept' : 'vtx+shadow'})`);
    for (const r of s.byReason()) {
      const pct = ((100 * r.count) / Math.max(s.total, 1)).toFixed(1).padStart(5);
      lines.push(`  ${exitReasonLabel(r.reason).padEnd(24)} ${String(r.count).padStart(9)} ${pct}%  last at eip 0x${(r.lastEip >>> 0).toString(16)}`);
    }
    const c = this.counters;
    lines.push(`injected:             ${c.injectedInterrupts} interrupts, ${s.injected} exceptions reflected`);
    if (this.ept) {
      const e = this.ept;
      lines.push(`EPT:                  ${e.tables} tables, mapped ${e.mapped['4k']}x4K ${e.mapped['2m']}x2M ${e.mapped['1g']}x1G, ${e.invalidations} INVEPT, EPTP 0x${e.eptp().toString(16)}`);
    }
    if (this.shadow) {
      const m = this.shadow.counters, z = this.shadow.size();
      lines.push(`shadow MMU:           ${z.pages} shadow pages, ${z.tracked} guest tables write-protected`);
      lines.push(`                      ${m.fills} fills, ${m.reflected} faults reflected, ${m.emulatedWrites} table writes emulated, ${m.zapped} entries dropped`);
      lines.push(`                      ${m.rootSwitches} root switches, ${m.rootReuses} root reuses, ${m.invlpg} INVLPG, ${m.unshadowed} unshadowed, ${m.resets} resets`);
    }
    if (this.calls.total) lines.push(`hypercalls:           ${this.calls.total} (${this.calls.list().map((h) => `${h.name} x${h.count}`).join(', ')})`);
    const b = this.vtxCalls.counters;
    if (b.freed || b.reclaimed) lines.push(`balloon:              ${b.unmapped} pages unmapped from ${this.ept ? 'EPT' : 'the shadow'}, ${b.freed} freed in the host, ${b.reclaimed} taken back, ${b.repopulated} repopulated on access`);
    lines.push(`host pages:           ${this.pages.inUse()} in use for VMCS, bitmaps and ${this.ept ? 'EPT' : 'shadow tables'}`);
    if (c.vpidFlushes) lines.push(`TLB flushes at exits: ${c.vpidFlushes} (VPID off)`);
    return lines;
  }
}
