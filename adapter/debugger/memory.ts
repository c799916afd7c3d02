// Guest memory as the debugger sees it: linear addresses translated through the guest's tables
// without side effects (no accessed/dirty bits, no CR2, no faults), physical addresses directly.
// Unmapped or unbacked bytes are reported as such, never as errors.
import type { Cpu } from '../cpu/cpu';

export type AddressSpace = 'linear' | 'physical';

/** Physical memory behind the CPU: guest RAM (the machine keeps code caches coherent on writes). */
export interface PhysicalMemory {
  ramBytes: number;
  /** Guest-physical write of bytes already checked to be in RAM. */
  writePhys(gpa: number, bytes: Uint8Array): void;
}

export interface MemoryRead {
  bytes: Uint8Array;
  /** Parallel to bytes: false where the byte is not readable (unmapped page, no RAM). */
  readable: boolean[];
}

export class GuestMemory {
  constructor(private readonly cpu: Cpu, private readonly phys: PhysicalMemory) {}

  /** Guest-physical address of a linear address now, or -1 when it is not mapped. */
  linearToPhysical(lin: number): number {
    return this.cpu.peekTranslate(lin >>> 0);
  }

  /** Host offset of a guest-physical byte, or -1 when there is no RAM there. */
  private hostOf(gpa: number): number {
    if (gpa < 0 || gpa >= this.phys.ramBytes) return -1;
    const page = this.cpu.gpaPeek(gpa & ~0xfff); // no exits, no accessed/dirty bits: the debugger only looks
    return page < 0 ? -1 : (page & ~0xfff) | (gpa & 0xfff);
  }

  read(addr: number, length: number, space: AddressSpace = 'linear'): MemoryRead {
    const bytes = new Uint8Array(length);
    const readable: boolean[] = new Array(length).fill(false);
    let k = 0;
    while (k < length) {
      const a = (addr + k) >>> 0;
      const chunk = Math.min(length - k, 0x1000 - (a & 0xfff));
      const gpa = space === 'physical' ? a : this.linearToPhysical(a);
      const host = gpa < 0 ? -1 : this.hostOf(gpa);
      if (host >= 0) {
        const n = Math.min(chunk, this.phys.ramBytes - gpa);
        bytes.set(this.cpu.mem.subarray(host, host + n), k);
        for (let j = 0; j < n; j++) readable[k + j] = true;
      }
      k += chunk;
    }
    return { bytes, readable };
  }

  /** Reads a little-endian value; undefined when any byte is unreadable. */
  readValue(addr: number, size: 1 | 2 | 4, space: AddressSpace = 'linear'): number | undefined {
    const r = this.read(addr, size, space);
    if (r.readable.some((x) => !x)) return undefined;
    let v = 0;
    for (let j = size - 1; j >= 0; j--) v = v * 256 + r.bytes[j];
    return v >>> 0;
  }

  /** Writes bytes; returns how many were written (stops at the first unwritable byte). */
  write(addr: number, data: Uint8Array, space: AddressSpace = 'linear'): number {
    let k = 0;
    while (k < data.length) {
      const a = (addr + k) >>> 0;
      const chunk = Math.min(data.length - k, 0x1000 - (a & 0xfff));
      const gpa = space === 'physical' ? a : this.linearToPhysical(a);
      if (gpa < 0 || this.hostOf(gpa) < 0) break;
      const n = Math.min(chunk, this.phys.ramBytes - gpa);
      this.phys.writePhys(gpa, data.subarray(k, k + n));
      // The TLB may hold a write entry that skips the code check; the machine invalidated decoded code.
      k += n;
      if (n < chunk) break;
    }
    return k;
  }

  writeValue(addr: number, size: 1 | 2 | 4, value: number, space: AddressSpace = 'linear'): boolean {
    const b = new Uint8Array(size);
    for (let j = 0; j < size; j++) b[j] = (value >>> (8 * j)) & 0xff;
    return this.write(addr, b, space) === size;
  }
}
