// The I/O bitmaps (A: ports 0000-7FFF, B: 8000-FFFF, one bit per port, set = exit) and the MSR
// bitmap page (read-low, read-high, write-low, write-high quarters of 1 KiB: MSRs 00000000-00001FFF
// and C0000000-C0001FFF, set = exit; any other MSR always exits), in host memory in the SDM's layout.
import type { Cpu } from '../cpu/cpu';
import type { HostPages } from './hostpages';

/** Inclusive ranges, e.g. parsed from "0x80,0x3f8-0x3ff". */
export type Ranges = { first: number; last: number }[];

export class IoBitmaps {
  readonly a: number;
  readonly b: number;

  constructor(private readonly cpu: Cpu, pages: HostPages) {
    this.a = pages.allocOrThrow('I/O bitmap A');
    this.b = pages.allocOrThrow('I/O bitmap B');
  }

  private at(port: number): number {
    port &= 0xffff;
    return (port < 0x8000 ? this.a : this.b) + ((port & 0x7fff) >>> 3);
  }

  set(port: number, exit: boolean): void {
    const p = this.at(port);
    const bit = 1 << (port & 7);
    this.cpu.mem[p] = exit ? this.cpu.mem[p] | bit : this.cpu.mem[p] & ~bit;
  }

  /** Exit on every port, then let `passThrough` ports reach the device without an exit. */
  fill(exitAll: boolean, passThrough: Ranges): void {
    this.cpu.mem.fill(exitAll ? 0xff : 0, this.a, this.a + 4096);
    this.cpu.mem.fill(exitAll ? 0xff : 0, this.b, this.b + 4096);
    for (const r of passThrough) for (let p = r.first; p <= r.last; p++) this.set(p, !exitAll);
  }

  /** An access of `size` bytes at `port` exits when the bit of any port it touches is set (wrapping at FFFF exits). */
  exits(port: number, size: number): boolean {
    if (port + size - 1 > 0xffff) return true;
    for (let k = 0; k < size; k++) {
      const p = port + k;
      if (this.cpu.mem[this.at(p)] & (1 << (p & 7))) return true;
    }
    return false;
  }
}

export class MsrBitmap {
  readonly hpa: number;

  constructor(private readonly cpu: Cpu, pages: HostPages) {
    this.hpa = pages.allocOrThrow('MSR bitmap');
  }

  /** Byte and bit of an MSR in the read quarter (write quarter is +0x800), or -1 when not covered. */
  private at(msr: number): number {
    msr >>>= 0;
    if (msr <= 0x1fff) return msr;
    if (msr >= 0xc0000000 && msr <= 0xc0001fff) return 0x2000 + (msr - 0xc0000000);
    return -1;
  }

  set(msr: number, write: boolean, exit: boolean): void {
    const bitNo = this.at(msr);
    if (bitNo < 0) return;
    const p = this.hpa + (write ? 0x800 : 0) + (bitNo >>> 3);
    const bit = 1 << (bitNo & 7);
    this.cpu.mem[p] = exit ? this.cpu.mem[p] | bit : this.cpu.mem[p] & ~bit;
  }

  fill(exitAll: boolean, passRead: Ranges, passWrite: Ranges): void {
    this.cpu.mem.fill(exitAll ? 0xff : 0, this.hpa, this.hpa + 4096);
    for (const r of passRead) for (let m = r.first; m <= r.last; m++) this.set(m, false, !exitAll);
    for (const r of passWrite) for (let m = r.first; m <= r.last; m++) this.set(m, true, !exitAll);
  }

  exits(msr: number, write: boolean): boolean {
    const bitNo = this.at(msr);
    if (bitNo < 0) return true;
    return (this.cpu.mem[this.hpa + (write ? 0x800 : 0) + (bitNo >>> 3)] & (1 << (bitNo & 7))) !== 0;
  }
}
