// The HLE BIOS: lays out the IVT, the BIOS data area and a ROM of small stubs at F000:E000 as a
// real BIOS leaves them, so guests can hook and chain vectors. Each stub is
//   sti; hlt; <service>; [int 1Ch]; iret
// and the IVT points at <service>: a one-byte NOP whose execution runs the service in TypeScript.
// A service that must wait (a key, say) moves EIP back to the `sti; hlt` pair and is retried after
// the next interrupt. The pushed FLAGS image carries CF/ZF results back through IRET.
// As on a PC with a VGA card, INT 10h lives in a video option ROM at C000:0000, and the vectors
// kept for programs (60h-66h) and 79h start out null (checked against SeaBIOS: bios-vectors).
import type { Cpu } from '../../cpu/cpu';
import { type BiosEnv, setCarry } from './env';
import { Video } from './video';
import { DiskServices, DISKETTE_TABLE, disketteTable } from './disk';
import { SystemServices } from './services';
import { memLowerKiB } from '../loaders/e820';

const ROM_SEG = 0xf000;
const STUB_BASE = 0xe000;
const STUB_SIZE = 8;
/** Offset of the service byte within a stub. */
const SERVICE = 2;
/** The video option ROM: signature, size in 512-byte blocks, init entry (RETF), INT 10h stub. */
const VIDEO_ROM = 0xc0000;
const VIDEO_ROM_SIZE = 512;
const VIDEO_INT10 = 0x100;
/** Vectors a BIOS leaves null: 60h-66h (for programs) and 79h. */
const NULL_VECTORS = [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x79];

export class Bios {
  readonly video: Video;
  readonly disk: DiskServices;
  readonly sys: SystemServices;
  /** INT counts by vector, for --stats and the debugger. */
  readonly calls = new Map<number, number>();

  constructor(private readonly env: BiosEnv) {
    this.video = new Video(env);
    this.disk = new DiskServices(env);
    this.sys = new SystemServices(env);
  }

  /** Guest-physical address of the service byte for a vector. */
  static entry(vector: number): number {
    return ROM_SEG * 16 + STUB_BASE + vector * STUB_SIZE + SERVICE;
  }

  install(): void {
    const { cpu } = this.env;
    const m = this.env.ram;
    const w16 = (a: number, v: number) => { m[a] = v & 0xff; m[a + 1] = (v >> 8) & 0xff; };
    // ROM area: HLT everywhere, then the stubs.
    m.fill(0xf4, 0xf0000, 0x100000);
    for (let v = 0; v < 256; v++) {
      const base = 0xf0000 + STUB_BASE + v * STUB_SIZE;
      const tail = v === 0x08 ? [0xcd, 0x1c, 0xcf] : [0xcf];
      m.set([0xfb, 0xf4, 0x90, ...tail], base);
      w16(v * 4, STUB_BASE + v * STUB_SIZE + SERVICE);
      w16(v * 4 + 2, ROM_SEG);
      cpu.hle.set(base + SERVICE, (c) => this.service(c, v));
    }
    m.fill(0, VIDEO_ROM, VIDEO_ROM + VIDEO_ROM_SIZE);
    m.set([0x55, 0xaa, VIDEO_ROM_SIZE / 512, 0xcb], VIDEO_ROM);
    m.set([0xfb, 0xf4, 0x90, 0xcf], VIDEO_ROM + VIDEO_INT10);
    let sum = 0;
    for (let a = VIDEO_ROM; a < VIDEO_ROM + VIDEO_ROM_SIZE - 1; a++) sum += m[a];
    m[VIDEO_ROM + VIDEO_ROM_SIZE - 1] = -sum & 0xff; // option ROMs sum to 0
    cpu.hle.set(VIDEO_ROM + VIDEO_INT10 + SERVICE, (c) => this.service(c, 0x10));
    w16(0x10 * 4, VIDEO_INT10 + SERVICE);
    w16(0x10 * 4 + 2, VIDEO_ROM >>> 4);
    for (const v of NULL_VECTORS) { w16(v * 4, 0); w16(v * 4 + 2, 0); }
    // Reset vector: jump to the boot sector again.
    m.set([0xea, 0x00, 0x7c, 0x00, 0x00], 0xffff0);
    m.set([0x30, 0x34, 0x2f, 0x30, 0x31, 0x2f, 0x32, 0x36], 0xffff5); // BIOS date "04/01/26"
    m[0xffffe] = 0xfc; // model byte: AT
    m.set(disketteTable(18), DISKETTE_TABLE);
    w16(0x1e * 4, DISKETTE_TABLE - 0xf0000);
    // BIOS data area.
    m.fill(0, 0x400, 0x500);
    w16(0x400, 0x3f8); // COM1
    const floppies = this.env.disks.filter((d) => !(d.drive & 0x80)).length;
    w16(0x410, 0x0220 | (floppies ? 0x01 | ((floppies - 1) << 6) : 0)); // equipment: 80x25 colour, one serial port
    w16(0x413, memLowerKiB(this.env.ramSize)); // conventional memory in KiB (1 KiB EBDA below 640K)
    w16(0x40e, 0x9fc0); // EBDA segment
    m[0x475] = this.env.disks.filter((d) => d.drive & 0x80).length;
    w16(0x41a, 0x1e); w16(0x41c, 0x1e); w16(0x480, 0x1e); w16(0x482, 0x3e); // keyboard buffer
    m.fill(0, 0x9fc00, 0xa0000);
    m[0x9fc00] = 1; // EBDA size in KiB
    this.video.reset();
    // PIC: master at 08h, slave at 70h, as a PC BIOS leaves them; timer, keyboard and cascade unmasked.
    const p = this.env.ports;
    p.write(0x20, 1, 0x11); p.write(0x21, 1, 0x08); p.write(0x21, 1, 0x04); p.write(0x21, 1, 0x01);
    p.write(0xa0, 1, 0x11); p.write(0xa1, 1, 0x70); p.write(0xa1, 1, 0x02); p.write(0xa1, 1, 0x01);
    p.write(0x21, 1, 0xb8); p.write(0xa1, 1, 0x8e);
    // PIT channel 0: mode 3, divisor 65536 (18.2 Hz).
    p.write(0x43, 1, 0x36); p.write(0x40, 1, 0); p.write(0x40, 1, 0);
    for (let a = 0; a < 0x100000; a += 0x1000) if (cpu.code.pageHasCode(a >>> 12)) cpu.code.invalidatePage(a >>> 12);
  }

  private service(c: Cpu, vector: number): void {
    this.calls.set(vector, (this.calls.get(vector) ?? 0) + 1);
    switch (vector) {
      case 0x08: this.sys.int08(); return;
      case 0x09: this.sys.int09(); return;
      case 0x10: this.video.int10(c); return;
      case 0x11: this.sys.int11(c); return;
      case 0x12: this.sys.int12(c); return;
      case 0x13: this.disk.int13(c); return;
      case 0x15: this.sys.int15(c); return;
      case 0x16:
        if (!this.sys.int16(c)) c.eip = (c.curEip - SERVICE) & 0xffff; // wait: sti; hlt; retry
        return;
      case 0x1a: this.sys.int1a(c); return;
      case 0x14: case 0x17: setCarry(c, true); return; // serial/printer services: not provided
      case 0x18: case 0x19: this.boot(c); return;
      default:
        if (vector >= 0x0a && vector <= 0x0f) this.sys.irq(vector - 8);
        else if (vector >= 0x70 && vector <= 0x77) this.sys.irq(vector - 0x70 + 8);
    }
  }

  /** INT 19h: load the first sector of the boot drive at 0000:7C00 again and jump there. */
  private boot(c: Cpu): void {
    const d = this.env.disks[0];
    if (!d) return;
    this.env.writePhys(0x7c00, d.bytes.subarray(0, 512));
    c.loadRealSeg(1, 0);
    c.eip = 0x7c00;
    c.r8[8] = d.drive;
  }
}
