// The x86 I/O port space: 65536 byte-addressed ports, dispatched through a flat table.
//
// A device claims a range of ports. Accesses wider than the device handles are split into byte
// accesses on consecutive ports, as the ISA bus of a PC splits them, so `out dx, ax` to 0x3D4
// reaches the CRTC index (0x3D4) and data (0x3D5) registers in turn.

export type PortSize = 1 | 2 | 4;

export interface PortDevice {
  read?(port: number, size: PortSize): number;
  write?(port: number, size: PortSize, value: number): void;
  /** Bit mask of the access sizes the device takes whole (1 | 2 | 4); default 1 = bytes only. */
  readonly accessSizes?: number;
}

export interface PortRange {
  first: number;
  count: number;
  name: string;
}

interface Entry {
  dev: PortDevice;
  name: string;
  first: number;
  count: number;
  sizes: number;
}

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff];
const MASK = ALL_ONES;

export class PortBus {
  // Index into `entries` per port; 0 means unmapped.
  private readonly map = new Uint16Array(65536);
  private readonly entries: (Entry | undefined)[] = [undefined];

  register(first: number, count: number, dev: PortDevice, name: string): void {
    if (!Number.isInteger(first) || !Number.isInteger(count) || count < 1 || first < 0 || first + count > 65536) {
      throw new RangeError(`ports: bad range ${first}+${count} for ${name}`);
    }
    for (let p = first; p < first + count; p++) {
      const other = this.map[p];
      if (other !== 0) {
        throw new Error(`ports: ${name} overlaps ${this.entries[other]!.name} at port 0x${p.toString(16)}`);
      }
    }
    const idx = this.entries.length;
    this.entries.push({ dev, name, first, count, sizes: dev.accessSizes ?? 1 });
    this.map.fill(idx, first, first + count);
  }

  read(port: number, size: PortSize): number {
    port &= 0xffff;
    const e = this.entries[this.map[port]];
    if (e !== undefined && (e.sizes & size) !== 0) {
      return e.dev.read ? (e.dev.read(port, size) & MASK[size]) >>> 0 : ALL_ONES[size];
    }
    if (size === 1) return ALL_ONES[1];
    // Split into bytes, each dispatched on its own port (which may belong to another device).
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte((port + i) & 0xffff) << (8 * i);
    return v >>> 0;
  }

  write(port: number, size: PortSize, value: number): void {
    port &= 0xffff;
    const e = this.entries[this.map[port]];
    if (e !== undefined && (e.sizes & size) !== 0) {
      if (e.dev.write) e.dev.write(port, size, (value & MASK[size]) >>> 0);
      return;
    }
    if (size === 1) return;
    for (let i = 0; i < size; i++) this.writeByte((port + i) & 0xffff, (value >>> (8 * i)) & 0xff);
  }

  /** Name of the device at a port, or undefined when unmapped (for the debugger and traces). */
  nameAt(port: number): string | undefined {
    return this.entries[this.map[port & 0xffff]]?.name;
  }

  /** The registered ranges, in registration order. */
  ranges(): PortRange[] {
    const out: PortRange[] = [];
    for (const e of this.entries) if (e) out.push({ first: e.first, count: e.count, name: e.name });
    return out;
  }

  private readByte(port: number): number {
    const e = this.entries[this.map[port]];
    if (e === undefined || !e.dev.read) return 0xff;
    return e.dev.read(port, 1) & 0xff;
  }

  private writeByte(port: number, value: number): void {
    const e = this.entries[this.map[port]];
    if (e !== undefined && e.dev.write) e.dev.write(port, 1, value);
  }
}
