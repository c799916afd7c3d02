// A small bare machine for the system-level CPU tests: a Cpu with RAM, a port bus that records
// port 0xE9 output, NASM-assembled code snippets, and helpers that build GDT/IDT/TSS entries in guest
// memory and put the CPU straight into protected mode at a chosen ring (as if a boot stub had run).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cpu, CR0_PE, CR0_ET } from '../../adapter/cpu/cpu';
import type { CpuHost } from '../../adapter/cpu/bus';
import { ES, CS, SS, DS, FS, GS } from '../../adapter/cpu/insn';
import { Descriptor, readDescriptor, loadCache } from '../../adapter/cpu/segments';

export const haveNasm = spawnSync('nasm', ['-v']).status === 0;

/** Assemble NASM source (bits/org given by the source) to bytes. `at N` pads with NOPs to offset N. */
export function asm(src: string): Uint8Array {
  return assemble(src).bytes;
}

/** Assemble and return the labels' addresses too (from NASM's map file). */
export function assemble(src: string): { bytes: Uint8Array; labels: Record<string, number> } {
  const dir = mkdtempSync(join(tmpdir(), 'sys-asm-'));
  try {
    const map = join(dir, 'a.map');
    writeFileSync(join(dir, 'a.asm'), `%macro at 1\n  times (%1) - ($ - $$) nop\n%endmacro\n[map symbols ${map}]\n${src}\n`);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')], { stdio: 'pipe' });
    const labels: Record<string, number> = {};
    for (const line of readFileSync(map, 'latin1').split('\n')) {
      const m = /^\s*([0-9A-Fa-f]+)\s+[0-9A-Fa-f]+\s+(\S+)\s*$/.exec(line);
      if (m) labels[m[2]] = parseInt(m[1], 16);
    }
    return { bytes: new Uint8Array(readFileSync(join(dir, 'a.bin'))), labels };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Raw descriptor dwords. type includes S (0x10) for code/data: 0x1a code, 0x12 data, 0x09 TSS... */
export function seg(base: number, limit: number, type: number, dpl: number, big = true, gran = limit > 0xfffff): [number, number] {
  const lim = gran ? limit >>> 12 : limit;
  const lo = ((base & 0xffff) << 16) | (lim & 0xffff);
  const hi = (base & 0xff000000) | (gran ? 1 << 23 : 0) | (big ? 1 << 22 : 0) | (lim & 0xf0000) |
    (1 << 15) | (dpl << 13) | (type << 8) | ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}
/** Gate descriptor: type 4/12 call gate, 5 task gate, 6/14 interrupt gate, 7/15 trap gate. */
export function gate(sel: number, off: number, type: number, dpl: number, params = 0, present = true): [number, number] {
  const lo = (sel << 16) | (off & 0xffff);
  const hi = (off & 0xffff0000) | (present ? 1 << 15 : 0) | (dpl << 13) | (type << 8) | (params & 0x1f);
  return [lo | 0, hi | 0];
}

export const GDT = 0x1000, IDT = 0x2000, TSS = 0x3000, TSS2 = 0x3200;
/** Standard selectors built by flatGdt(). */
export const K_CODE = 0x08, K_DATA = 0x10, U_CODE = 0x1b, U_DATA = 0x23, TSS_SEL = 0x28, TSS2_SEL = 0x30;

export class Guest {
  readonly mem: Uint8Array;
  readonly dv: DataView;
  readonly cpu: Cpu;
  readonly out: number[] = [];
  readonly events: string[] = [];

  constructor(ramMiB = 4) {
    const ram = ramMiB << 20;
    this.mem = new Uint8Array(ram);
    this.dv = new DataView(this.mem.buffer);
    const host: CpuHost = {
      portRead: (port, size) => (port === 0x80 ? 0x5a : size === 4 ? -1 : size === 2 ? 0xffff : 0xff),
      portWrite: (port, _size, v) => { if (port === 0xe9) this.out.push(v & 0xff); },
      mmioRead: (_a, size) => (size === 4 ? -1 : size === 2 ? 0xffff : 0xff),
      mmioWrite: () => {},
      acknowledgeInterrupt: () => -1,
      serviceDevices: (cpu) => { cpu.nextEventAt = Infinity; },
    };
    this.cpu = new Cpu(host, this.mem, ram);
    this.cpu.hooks = { event: (_c, e) => this.events.push(JSON.stringify(e)) };
  }

  load(addr: number, bytes: Uint8Array): void {
    this.mem.set(bytes, addr);
    for (let p = addr >>> 12; p <= (addr + bytes.length - 1) >>> 12; p++) if (this.cpu.code.pageHasCode(p)) this.cpu.code.invalidatePage(p);
  }
  w32(addr: number, v: number): void { this.dv.setInt32(addr, v, true); }
  r32(addr: number): number { return this.dv.getUint32(addr, true); }
  r16(addr: number): number { return this.dv.getUint16(addr, true); }
  entry(table: number, index: number, d: [number, number]): void {
    this.w32(table + index * 8, d[0]);
    this.w32(table + index * 8 + 4, d[1]);
  }

  /** Real mode at 0000:ip. */
  realMode(ip: number): void {
    this.cpu.loadRealSeg(CS, 0);
    this.cpu.eip = ip;
  }

  /**
   * GDT: 1 ring-0 code, 2 ring-0 data, 3 ring-3 code, 4 ring-3 data (flat 4 GiB), 5 and 6 32-bit TSSs
   * at TSS and TSS2 (TSS.SS0:ESP0 = K_DATA:0x9000). IDT at IDT with 256 empty entries.
   */
  flatGdt(): void {
    this.entry(GDT, 1, seg(0, 0xffffffff, 0x1a, 0));
    this.entry(GDT, 2, seg(0, 0xffffffff, 0x12, 0));
    this.entry(GDT, 3, seg(0, 0xffffffff, 0x1a, 3));
    this.entry(GDT, 4, seg(0, 0xffffffff, 0x12, 3));
    this.entry(GDT, 5, seg(TSS, 0x67, 0x09, 0, false, false));
    this.entry(GDT, 6, seg(TSS2, 0x67, 0x09, 0, false, false));
    this.cpu.gdtrBase = GDT;
    this.cpu.gdtrLimit = 16 * 8 - 1;
    this.cpu.idtrBase = IDT;
    this.cpu.idtrLimit = 256 * 8 - 1;
    this.w32(TSS + 4, 0x9000);
    this.w32(TSS + 8, K_DATA);
    this.dv.setUint16(TSS + 0x66, 0x68, true); // no I/O bitmap
    this.dv.setUint16(TSS2 + 0x66, 0x68, true);
  }

  /** Protected mode at ring `cpl` with the flat selectors, TR loaded with TSS_SEL; ESP = esp. */
  protectedMode(eip: number, cpl: 0 | 3, esp: number): void {
    const cpu = this.cpu;
    cpu.cr0 = CR0_PE | CR0_ET;
    cpu.updateMode();
    const d = new Descriptor();
    const load = (s: number, sel: number) => {
      if (!readDescriptor(cpu, sel, d)) throw new Error(`no descriptor ${sel}`);
      loadCache(cpu, s, sel, d);
    };
    const code = cpl === 3 ? U_CODE : K_CODE, data = cpl === 3 ? U_DATA : K_DATA;
    load(CS, code);
    for (const s of [ES, SS, DS, FS, GS]) load(s, data);
    readDescriptor(cpu, TSS_SEL, d);
    this.dv.setUint8(GDT + 5 * 8 + 5, this.mem[GDT + 5 * 8 + 5] | 2); // busy
    cpu.trSel = TSS_SEL; cpu.trBase = TSS; cpu.trLimit = 0x67; cpu.trAr = d.ar | 2;
    cpu.cpl = cpl;
    cpu.updateMode();
    cpu.r32[4] = esp;
    cpu.eip = eip;
  }

  run(max = 100000): string {
    this.cpu.halted = false;
    return this.cpu.run(max);
  }
  text(): string { return String.fromCharCode(...this.out); }
}
