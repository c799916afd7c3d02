// A bare CPU for instruction-level tests: flat 32-bit protected mode, paging off, at CPL 3 with the
// selectors a Linux i386 process sees (CS=0x23, DS=ES=SS=0x2b, GS=0x63), exceptions intercepted and
// reported instead of delivered. No devices: port reads return all ones.
import { Cpu, CPU_STOP, CR0_PE, CR0_ET, AR_P, AR_S, AR_DB, AR_G, AR_DPL_SHIFT, AR_UNUSABLE } from '../../adapter/cpu/cpu';
import type { CpuHost } from '../../adapter/cpu/bus';
import { ES, CS, SS, DS, FS, GS } from '../../adapter/cpu/insn';

export interface RunResult {
  /** Exception vector that stopped the run, or null when stopAt was reached. */
  fault: number | null;
  errorCode: number;
  eip: number;
  instructions: number;
}

export interface FlatCpu {
  cpu: Cpu;
  mem: Uint8Array;
  setRegs(regs: ArrayLike<number>): void;
  getRegs(): number[];
  setEflags(v: number): void;
  getEflags(): number;
  writeMem(addr: number, bytes: Uint8Array | number[]): void;
  readMem(addr: number, len: number): Uint8Array;
  /** Run from `start` until EIP reaches `stopAt`, an exception, or `max` instructions. */
  run(start: number, stopAt: number, max?: number): RunResult;
}

export interface FlatCpuOptions {
  ram?: number;
  cpl?: 0 | 3;
  /** Where the GDT is built in guest memory. */
  gdtBase?: number;
  /** Runs before a block is compiled (1: compile every block on first use; Infinity: interpret only). */
  jitThreshold?: number;
}

const nullHost = (): CpuHost => ({
  portRead: (_p, size) => (size === 4 ? -1 : size === 2 ? 0xffff : 0xff),
  portWrite: () => {},
  mmioRead: (_a, size) => (size === 4 ? -1 : size === 2 ? 0xffff : 0xff),
  mmioWrite: () => {},
  acknowledgeInterrupt: () => -1,
  serviceDevices: (cpu) => { cpu.nextEventAt = Infinity; },
});

function descriptor(base: number, limit: number, type: number, dpl: number, db: boolean, g: boolean): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((g ? 1 : 0) << 23) | ((db ? 1 : 0) << 22) | (limit & 0xf0000) |
    (1 << 15) | (dpl << 13) | (1 << 12) | (type << 8) | ((base >>> 16) & 0xff);
  return [lo, hi];
}

export function makeFlatCpu(opts: FlatCpuOptions = {}): FlatCpu {
  const ram = opts.ram ?? 8 << 20;
  const cpl = opts.cpl ?? 3;
  const gdtBase = opts.gdtBase ?? ram - 0x1000;
  const mem = new Uint8Array(ram);
  const cpu = new Cpu(nullHost(), mem, ram);
  if (opts.jitThreshold !== undefined) cpu.jitThreshold = opts.jitThreshold;
  const dv = new DataView(mem.buffer);
  // GDT: 0x08 ring-0 code, 0x10 ring-0 data, 0x23 ring-3 code, 0x2b ring-3 data, 0x63 ring-3 data (GS).
  const entries: [number, [number, number]][] = [
    [1, descriptor(0, 0xfffff, 0xb, 0, true, true)],
    [2, descriptor(0, 0xfffff, 0x3, 0, true, true)],
    [4, descriptor(0, 0xfffff, 0xb, 3, true, true)],
    [5, descriptor(0, 0xfffff, 0x3, 3, true, true)],
    [12, descriptor(0, 0xfffff, 0x3, 3, true, true)],
  ];
  for (const [idx, [lo, hi]] of entries) {
    dv.setUint32(gdtBase + idx * 8, lo >>> 0, true);
    dv.setUint32(gdtBase + idx * 8 + 4, hi >>> 0, true);
  }
  cpu.gdtrBase = gdtBase;
  cpu.gdtrLimit = 16 * 8 - 1;
  cpu.cr0 = CR0_PE | CR0_ET;
  const flatAr = (type: number, dpl: number) => AR_P | AR_S | AR_DB | AR_G | (dpl << AR_DPL_SHIFT) | type | 1; // accessed
  const rpl = cpl;
  const codeSel = cpl === 3 ? 0x23 : 0x08, dataSel = cpl === 3 ? 0x2b : 0x10;
  cpu.loadSegCache(CS, codeSel, 0, -1, flatAr(0xa, cpl));
  for (const s of [ES, SS, DS]) cpu.loadSegCache(s, dataSel, 0, -1, flatAr(0x2, cpl));
  cpu.loadSegCache(FS, 0, 0, 0, AR_UNUSABLE);
  cpu.loadSegCache(GS, cpl === 3 ? 0x63 : dataSel, 0, -1, flatAr(0x2, cpl));
  void rpl;
  cpu.cpl = cpl;
  cpu.updateMode();
  cpu.setEflags(0x202);

  let fault: number | null = null;
  let errorCode = 0;
  let stopPhys = -1;
  cpu.exceptionIntercepts = -1;
  cpu.hooks = {
    exception: (c, vector, err) => {
      fault = vector;
      errorCode = err;
      c.requestStop(`exception ${vector}`);
      return true;
    },
    beforeInsn: (_c, i) => {
      if (i.phys === stopPhys) throw CPU_STOP;
      return false;
    },
  };

  return {
    cpu,
    mem,
    setRegs(regs) { for (let n = 0; n < 8; n++) cpu.r32[n] = regs[n]; },
    getRegs() { return Array.from({ length: 8 }, (_, n) => cpu.r32[n] >>> 0); },
    setEflags(v) { cpu.setEflags(v); },
    getEflags() { return cpu.getEflags() >>> 0; },
    writeMem(addr, bytes) {
      mem.set(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes), addr);
      // loaders write behind the CPU's back: drop decoded code for those pages
      for (let p = addr >>> 12; p <= (addr + bytes.length - 1) >>> 12; p++) if (cpu.code.pageHasCode(p)) cpu.code.invalidatePage(p);
    },
    readMem(addr, len) { return mem.slice(addr, addr + len); },
    run(start, stopAt, max = 100000) {
      fault = null;
      errorCode = 0;
      if (stopPhys !== stopAt) {
        stopPhys = stopAt;
        cpu.setIntercepts(0, [stopAt]);
      }
      cpu.eip = start;
      cpu.shutdown = false;
      cpu.halted = false;
      const before = cpu.icount;
      cpu.run(max);
      return { fault, errorCode, eip: cpu.eip >>> 0, instructions: cpu.icount - before };
    },
  };
}
