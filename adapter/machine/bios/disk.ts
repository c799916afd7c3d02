// INT 13h: disk services on the loaded image (CHS and the EDD extensions). Writes stay in memory
// (the image is marked dirty; the runner's --save-disk writes it out).
import type { Cpu } from '../../cpu/cpu';
import { DS, ES } from '../../cpu/insn';
import { type BiosEnv, type Disk, ah, al, bx, ch, cl, dh, dl, si, setAX, setBX, setCX, setDX, setAH, setAL, status, setCarry, linear } from './env';

const SECTOR = 512;
const BDA_FLOPPY_STATUS = 0x441, BDA_DISK_STATUS = 0x474;
/** Diskette parameter table address (F000:EFC7, where PC BIOSes keep it). */
export const DISKETTE_TABLE = 0xfefc7;

export class DiskServices {
  constructor(private readonly env: BiosEnv) {}

  private find(drive: number): Disk | undefined {
    return this.env.disks.find((d) => d.drive === drive);
  }

  private finish(c: Cpu, drive: number, code: number): void {
    this.env.cpu.mem[drive & 0x80 ? BDA_DISK_STATUS : BDA_FLOPPY_STATUS] = code;
    status(c, code);
  }

  /** Copy sectors between the image and guest memory; returns the count done. */
  private transfer(d: Disk, lba: number, count: number, addr: number, write: boolean): number {
    const total = Math.floor(d.bytes.length / SECTOR);
    let done = 0;
    for (; done < count && lba + done < total; done++) {
      const off = (lba + done) * SECTOR;
      const at = addr + done * SECTOR;
      if (write) {
        d.bytes.set(this.env.readPhys(at, SECTOR), off);
        d.dirty = true;
      } else {
        this.env.writePhys(at, d.bytes.subarray(off, off + SECTOR));
      }
    }
    return done;
  }

  int13(c: Cpu): void {
    const drive = dl(c);
    const d = this.find(drive);
    const fn = ah(c);
    if (fn === 0x01) { // last status
      const st = this.env.cpu.mem[drive & 0x80 ? BDA_DISK_STATUS : BDA_FLOPPY_STATUS];
      setAL(c, st);
      status(c, st);
      return;
    }
    if (!d) {
      if (fn === 0x15 && !(drive & 0x80)) { setAH(c, 0); setCarry(c, false); return; } // no such drive
      if (fn === 0x08) { this.finish(c, drive, 0x01); return; }
      this.finish(c, drive, 0x01);
      return;
    }
    switch (fn) {
      case 0x00: this.finish(c, drive, 0); return;
      case 0x02: case 0x03: {
        const count = al(c);
        const cyl = ch(c) | ((cl(c) & 0xc0) << 2);
        const sector = cl(c) & 0x3f;
        const head = dh(c);
        if (sector === 0 || sector > d.sectors || head >= d.heads || cyl >= d.cylinders || count === 0) {
          setAL(c, 0);
          this.finish(c, drive, 0x04);
          return;
        }
        const lba = (cyl * d.heads + head) * d.sectors + sector - 1;
        const done = this.transfer(d, lba, count, linear(c, ES, bx(c)), fn === 0x03);
        setAL(c, done);
        this.finish(c, drive, done === count ? 0 : 0x04);
        return;
      }
      case 0x04: this.finish(c, drive, 0); return; // verify
      case 0x08: {
        const maxCyl = d.cylinders - 1;
        setAX(c, 0);
        setCX(c, ((maxCyl & 0xff) << 8) | ((maxCyl >> 2) & 0xc0) | d.sectors);
        const count = this.env.disks.filter((x) => (x.drive & 0x80) === (drive & 0x80)).length;
        setDX(c, ((d.heads - 1) << 8) | count);
        if (!(drive & 0x80)) {
          setBX(c, (bx(c) & 0xff00) | floppyType(d));
          c.loadRealSeg(ES, 0xf000); // ES:DI -> parameter table
          c.r16[14] = DISKETTE_TABLE - 0xf0000;
        }
        this.finish(c, drive, 0);
        return;
      }
      case 0x15: {
        if (drive & 0x80) {
          const sectors = Math.floor(d.bytes.length / SECTOR);
          setCX(c, sectors >>> 16);
          setDX(c, sectors & 0xffff);
          setAH(c, 0x03);
        } else {
          setAH(c, 0x02); // floppy with change-line support
        }
        setCarry(c, false);
        return;
      }
      case 0x16: this.finish(c, drive, 0); return; // media not changed
      case 0x41:
        if (bx(c) === 0x55aa) {
          setBX(c, 0xaa55);
          setAH(c, 0x30);
          setCX(c, 0x0001); // fixed-disk access subset (42h-44h, 47h, 48h)
          setCarry(c, false);
        } else this.finish(c, drive, 0x01);
        return;
      case 0x42: case 0x43: {
        const dap = linear(c, DS, si(c));
        const b = this.env.readPhys(dap, 16);
        const dv = new DataView(b.buffer, b.byteOffset, 16);
        if (b[0] < 0x10) { this.finish(c, drive, 0x01); return; }
        const count = dv.getUint16(2, true);
        const off = dv.getUint16(4, true), seg = dv.getUint16(6, true);
        const lba = dv.getUint32(8, true) + dv.getUint32(12, true) * 2 ** 32;
        const addr = (((seg << 4) + off) & c.a20Mask) >>> 0;
        const done = this.transfer(d, lba, count, addr, fn === 0x43);
        const w = new Uint8Array(2);
        new DataView(w.buffer).setUint16(0, done, true);
        this.env.writePhys(dap + 2, w);
        this.finish(c, drive, done === count ? 0 : 0x04);
        return;
      }
      case 0x44: case 0x47: this.finish(c, drive, 0); return;
      case 0x48: {
        const buf = linear(c, DS, si(c));
        const out = new Uint8Array(26);
        const dv = new DataView(out.buffer);
        dv.setUint16(0, 26, true);
        dv.setUint16(2, 0x0002, true); // CHS information valid
        dv.setUint32(4, d.cylinders, true);
        dv.setUint32(8, d.heads, true);
        dv.setUint32(12, d.sectors, true);
        const sectors = Math.floor(d.bytes.length / SECTOR);
        dv.setUint32(16, sectors >>> 0, true);
        dv.setUint32(20, Math.floor(sectors / 2 ** 32), true);
        dv.setUint16(24, SECTOR, true);
        this.env.writePhys(buf, out);
        this.finish(c, drive, 0);
        return;
      }
      default:
        this.finish(c, drive, 0x01);
    }
  }
}

function floppyType(d: Disk): number {
  const kb = d.bytes.length / 1024;
  return kb <= 360 ? 1 : kb <= 720 ? 3 : kb <= 1200 ? 2 : kb <= 1440 ? 4 : 6;
}

/** The 11-byte diskette parameter table for a 1.44 MB drive. */
export function disketteTable(sectors: number): Uint8Array {
  return Uint8Array.from([0xaf, 0x02, 0x25, 0x02, sectors, 0x1b, 0xff, 0x6c, 0xf6, 0x0f, 0x08]);
}
