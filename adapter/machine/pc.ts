// The PC: host physical memory with guest RAM in it, the CPU, the port bus and the devices, wired
// together; the HLE BIOS for boot images; and applying a loaded guest to it.
import { Cpu, AR_P, AR_S, AR_DB, AR_G, AR_DPL_SHIFT } from '../cpu/cpu';
import type { CpuHost } from '../cpu/bus';
import { ES, CS, SS, DS, FS, GS } from '../cpu/insn';
import { PortBus } from './ports';
import { Clock, type TimedDevice, earliestEventNs } from './clock';
import { Pic } from './pic';
import { Pit } from './pit';
import { Uart } from './uart';
import { Cmos } from './cmos';
import { SystemControlPortB } from './sysctl';
import { Ps2Controller, FastA20 } from './ps2';
import { VgaText } from './vga';
import { DebugPorts } from './debugports';
import { Bios } from './bios/rom';
import type { Disk } from './bios/env';
import type { LoadedGuest, SegmentInit } from './loaders/types';

export const MiB = 1 << 20;

/**
 * The layout of host physical memory, as a hypervisor sees it:
 *
 *   0x0000000 - 0x0FFFFFF   the hypervisor's own structures (VMCS, I/O and MSR bitmaps, EPT tables,
 *                           shadow page tables, shadow descriptor tables); host page 0 stays unused
 *   0x1000000 - +RAM        guest RAM: guest-physical 0 is host-physical GUEST_RAM_BASE
 *
 * Guest RAM is one memory slot (as KVM calls it) at a base that is not 0, so an EPT entry or shadow
 * PTE shows a host address that differs from the guest one, and code that uses a guest-physical
 * address as a host-physical one reads the wrong bytes instead of working by accident. Under
 * virtualization "none" there is no host: the CPU addresses guest RAM alone (Machine.ram).
 */
export const HOST_RESERVE = 16 * MiB;
export const GUEST_RAM_BASE = HOST_RESERVE;

export interface MachineOptions {
  ramBytes: number;
  realtime?: boolean;
}

export interface MachineExit {
  status: number;
  reason: string;
}

export class Machine implements CpuHost {
  readonly ramBytes: number;
  /** Host physical memory: the hypervisor's structures, then guest RAM at ramBase. */
  readonly hostMem: Uint8Array;
  /** Host-physical address of guest-physical 0. */
  readonly ramBase = GUEST_RAM_BASE;
  /** Guest RAM by guest-physical address (a view of hostMem): devices, the BIOS and loaders use it. */
  readonly ram: Uint8Array;
  readonly cpu: Cpu;
  readonly ports = new PortBus();
  readonly clock: Clock;
  readonly pic = new Pic();
  readonly pit: Pit;
  readonly uart = new Uart(0x3f8);
  readonly cmos: Cmos;
  readonly sysctl: SystemControlPortB;
  readonly ps2: Ps2Controller;
  readonly vga: VgaText;
  readonly debug = new DebugPorts();
  bios?: Bios;
  readonly disks: Disk[] = [];
  private readonly timed: TimedDevice[];
  private a20 = true;
  /** Set when the guest ended the run (exit port, shutdown string). */
  exit?: MachineExit;

  constructor(opts: MachineOptions) {
    this.ramBytes = opts.ramBytes;
    this.hostMem = new Uint8Array(this.ramBase + opts.ramBytes);
    this.ram = this.hostMem.subarray(this.ramBase, this.ramBase + opts.ramBytes);
    // Plain emulation: the CPU sees guest RAM only. A hypervisor hands it all of host memory (Cpu.attachHost).
    this.cpu = new Cpu(this, this.ram, opts.ramBytes);
    this.clock = new Clock(opts.realtime ? 'realtime' : 'virtual');
    const cpu = this.cpu;
    this.clock.bindInstructionCounter(() => cpu.icount + cpu.idleTicks);
    this.pit = new Pit(this.clock);
    this.cmos = new Cmos(this.clock, { ramBytes: opts.ramBytes });
    this.sysctl = new SystemControlPortB(this.clock, this.pit);
    this.ps2 = new Ps2Controller();
    this.vga = new VgaText(() => this.ram);
    this.timed = [this.pit, this.cmos];

    this.pic.onOutput = (level) => { cpu.intrLine = level; if (level) cpu.brk = true; };
    this.pit.onIrq = (level) => this.pic.setLine(0, level);
    this.uart.onIrq = (level) => this.pic.setLine(4, level);
    this.ps2.onIrq = (level) => this.pic.setLine(1, level);
    this.cmos.onIrq = (level) => this.pic.setLine(8, level);
    this.ps2.onA20 = (on) => this.setA20(on);
    this.ps2.onReset = () => this.stop(0, 'reset requested by the guest (keyboard controller)');
    const fastA20 = new FastA20(this.ps2);
    this.ps2.onIrq12 = (level) => this.pic.setLine(12, level);
    fastA20.onA20 = (on) => this.setA20(on);
    fastA20.onReset = () => this.stop(0, 'reset requested by the guest (port 0x92)');
    this.debug.onExit = (status, reason) => this.stop(status, reason);

    const p = this.ports;
    p.register(0x20, 2, this.pic, 'pic-master');
    p.register(0xa0, 2, this.pic, 'pic-slave');
    p.register(0x4d0, 2, this.pic, 'elcr');
    p.register(0x40, 4, this.pit, 'pit');
    p.register(0x61, 1, this.sysctl, 'port-b');
    p.register(0x60, 1, this.ps2, 'ps2-data');
    p.register(0x64, 1, this.ps2, 'ps2-status');
    p.register(0x92, 1, fastA20, 'fast-a20');
    p.register(0x70, 2, this.cmos, 'cmos');
    p.register(0x3f8, 8, this.uart, 'com1');
    p.register(0x3c0, 0x20, this.vga, 'vga');
    this.debug.register(p);
    this.cpu.nextEventAt = 0;
  }

  // ---------------------------------------------------------------- CpuHost
  portRead(port: number, size: 1 | 2 | 4): number {
    return this.ports.read(port, size);
  }
  portWrite(port: number, size: 1 | 2 | 4, value: number): void {
    this.ports.write(port, size, value);
    // A reprogrammed timer may now be due sooner: poll the devices at the next block boundary.
    this.cpu.nextEventAt = this.cpu.icount;
  }
  mmioRead(_gpa: number, size: 1 | 2 | 4): number {
    return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
  }
  mmioWrite(): void {
    /* nothing is mapped outside RAM */
  }
  acknowledgeInterrupt(): number {
    return this.pic.acknowledge();
  }
  serviceDevices(cpu: Cpu): void {
    const now = this.clock.nowNs();
    for (const d of this.timed) d.tick(now);
    const next = this.clock.instructionCountAt(earliestEventNs(this.timed)) - cpu.idleTicks;
    // Realtime mode re-polls often since host time moves on its own.
    const cap = this.clock.mode === 'realtime' ? cpu.icount + 20000 : Infinity;
    cpu.nextEventAt = Math.max(cpu.icount + 1, Math.min(next, cap));
  }

  // ---------------------------------------------------------------- memory
  /** Guest-physical write that keeps decoded code coherent (loaders, BIOS disk reads). */
  writePhys(gpa: number, bytes: Uint8Array): void {
    const end = gpa + bytes.length;
    if (gpa < 0 || end > this.ramBytes) throw new RangeError(`guest write 0x${gpa.toString(16)}+${bytes.length} is outside RAM`);
    this.ram.set(bytes, gpa);
    for (let p = gpa >>> 12; p <= (end - 1) >>> 12; p++) this.cpu.noteExternalWrite(p);
  }
  readPhys(gpa: number, len: number): Uint8Array {
    const out = new Uint8Array(len).fill(0xff);
    const end = Math.min(gpa + len, this.ramBytes);
    if (gpa < end) out.set(this.ram.subarray(gpa, end));
    return out;
  }

  setA20(on: boolean): void {
    if (on === this.a20) return;
    this.a20 = on;
    this.cpu.a20Mask = on ? -1 : ~(1 << 20);
    this.cpu.tlb.flushAll();
    this.cpu.vmm.a20Changed?.(this.cpu);
  }
  getA20(): boolean {
    return this.a20;
  }

  /** End the run with a status (exit devices, resets). */
  stop(status: number, reason: string): void {
    if (!this.exit) this.exit = { status, reason };
    this.cpu.requestStop('exit');
  }

  // ---------------------------------------------------------------- loading
  load(g: LoadedGuest): void {
    for (const c of g.chunks) this.writePhys(c.addr, c.bytes);
    if (g.disk) {
      const geo = g.disk.geometry;
      this.disks.push({ bytes: g.disk.bytes, drive: g.disk.drive, cylinders: geo.cylinders, heads: geo.heads, sectors: geo.sectorsPerTrack, dirty: false });
    }
    const needsBios = g.initial.mode === 'real';
    if (needsBios) {
      this.bios = new Bios({
        cpu: this.cpu, ports: this.ports, ram: this.ram, ramSize: this.ramBytes, disks: this.disks,
        readPhys: (a, n) => this.readPhys(a, n), writePhys: (a, b) => this.writePhys(a, b),
        setA20: (on) => this.setA20(on), getA20: () => this.getA20(),
      });
      this.bios.install();
      // Loader chunks go in after the BIOS laid out low memory.
      for (const c of g.chunks) this.writePhys(c.addr, c.bytes);
    }
    this.applyInitialState(g);
  }

  private applyInitialState(g: LoadedGuest): void {
    const cpu = this.cpu;
    const s = g.initial;
    const r = s.regs;
    const regs = [r.eax, r.ecx, r.edx, r.ebx, r.esp, r.ebp, r.esi, r.edi];
    for (let n = 0; n < 8; n++) cpu.r32[n] = regs[n];
    cpu.cr0 = s.cr0;
    cpu.gdtrBase = s.gdtr.base;
    cpu.gdtrLimit = s.gdtr.limit;
    const seg = (n: number, x: SegmentInit) => {
      const ar = (x.access & 0xff) | (x.big ? AR_DB : 0) | ((x.limit >>> 0) > 0xfffff ? AR_G : 0);
      cpu.loadSegCache(n, x.selector, x.base, x.limit, ar);
    };
    const ss = s.segments;
    seg(ES, ss.es); seg(CS, ss.cs); seg(SS, ss.ss); seg(DS, ss.ds); seg(FS, ss.fs); seg(GS, ss.gs);
    cpu.setEflags(s.eflags);
    cpu.eip = s.eip;
    cpu.cpl = s.mode === 'real' ? 0 : (ss.cs.access >> 5) & 3;
    cpu.updateMode();
    void AR_P; void AR_S; void AR_DPL_SHIFT;
  }

  /** Guest RAM as a view, by guest-physical address (for inspectors). */
  guestRam(): Uint8Array {
    return this.ram;
  }
}
