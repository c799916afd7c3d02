// INT 13h: disk services on the loaded image (CHS and the EDD extensions). Writes stay in memory
// (the image is marked dirty; the runner's --save-disk writes it out).
//
// Results follow SeaBIOS under QEMU, checked by test/guests/bios-disk.asm and bios-edd.asm:
// - bad parameters (sector 0, count 0 or > 128, C/H/S outside the geometry, an EDD LBA past the
//   end, an unknown drive) give status 01h and leave AL and the DAP count alone;
// - floppies answer only 00h-05h, 08h, 15h and 16h (no EDD), report their change line as active
//   (16h: 06h) and refuse a transfer whose buffer crosses a 64 KiB boundary (09h, DMA limit);
// - a hard disk keeps its last cylinder for diagnostics: 08h and 15h leave it out.
import type { Cpu } from '../../cpu/cpu';
import { DS, ES } from '../../cpu/insn';
import { floppyKind } from '../loaders/bootimage';
import { type BiosEnv, type Disk, ah, al, bx, ch, cl, dh, dl, si, setAX, setBX, setCX, setDX, setAH, status, linear } from './env';

const SECTOR = 512;
const BDA_FLOPPY_STATUS = 0x441, BDA_DISK_STATUS = 0x474, BDA_HD_COUNT = 0x475;
/** Diskette parameter table address (F000:EFC7, where PC BIOSes keep it). */
export const DISKETTE_TABLE = 0xfefc7;

const OK = 0x00, EPARAM = 0x01, ESECTOR = 0x04, ECHANGED = 0x06, EBOUNDARY = 0x09, ENOTREMOVABLE = 0xb2;
/** The functions a floppy drive answers; the rest (EDD included) are refused with 01h. */
const FLOPPY_FUNCTIONS = new Set([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x15, 0x16]);
/** EDD drive parameter table (AH=48h) as filled here: the EDD 1.x part. */
const EDD_PARAMS_SIZE = 26;

export class DiskServices {
  constructor(private readonly env: BiosEnv) {}

  private find(drive: number): Disk | undefined {
    return this.env.disks.find((d) => d.drive === drive);
  }

  private finish(c: Cpu, drive: number, code: number): void {
    this.env.ram[drive & 0x80 ? BDA_DISK_STATUS : BDA_FLOPPY_STATUS] = code;
    status(c, code);
  }

  private totalSectors(d: Disk): number {
    return Math.floor(d.bytes.length / SECTOR);
  }

  /**
   * Copy sectors between the image and guest memory; returns the count done. An image shorter
   * than its geometry (a lone boot sector served as a 2.88 MB floppy) reads as zeros past its
   * end, and grows when the guest writes there, as a raw image file does under QEMU.
   */
  private transfer(d: Disk, lba: number, count: number, addr: number, write: boolean): number {
    const total = Math.max(this.totalSectors(d), d.cylinders * d.heads * d.sectors);
    let done = 0;
    for (; done < count && lba + done < total; done++) {
      const off = (lba + done) * SECTOR;
      const at = addr + done * SECTOR;
      if (write) {
        if (off + SECTOR > d.bytes.length) {
          const grown = new Uint8Array(off + SECTOR);
          grown.set(d.bytes);
          d.bytes = grown;
        }
        d.bytes.set(this.env.readPhys(at, SECTOR), off);
        d.dirty = true;
      } else if (off + SECTOR <= d.bytes.length) {
        this.env.writePhys(at, d.bytes.subarray(off, off + SECTOR));
      } else {
        this.env.writePhys(at, new Uint8Array(SECTOR));
      }
    }
    return done;
  }

  int13(c: Cpu): void {
    const drive = dl(c);
    const d = this.find(drive);
    const fn = ah(c);
    const floppy = !(drive & 0x80);
    if (!d || (floppy && !FLOPPY_FUNCTIONS.has(fn))) { this.finish(c, drive, EPARAM); return; }
    switch (fn) {
      case 0x00: case 0x09: case 0x0c: case 0x0d: case 0x10: case 0x11: case 0x14:
        this.finish(c, drive, OK); // reset, seek, recalibrate, ready, diagnostics: nothing to do
        return;
      case 0x01: { // last status; AL is left alone
        const st = this.env.ram[floppy ? BDA_FLOPPY_STATUS : BDA_DISK_STATUS];
        status(c, st);
        return;
      }
      case 0x02: case 0x03: case 0x04: this.chs(c, d, fn); return;
      case 0x08: this.geometry(c, d); return;
      case 0x15:
        this.finish(c, drive, OK);
        if (floppy) setAH(c, 0x01); // diskette drive (SeaBIOS reports no change-line support)
        else {
          const sectors = (d.cylinders - 1) * d.heads * d.sectors;
          setCX(c, sectors >>> 16);
          setDX(c, sectors & 0xffff);
          setAH(c, 0x03);
        }
        return;
      case 0x16: this.finish(c, drive, floppy ? ECHANGED : EPARAM); return;
      case 0x41:
        if (bx(c) !== 0x55aa) { this.finish(c, drive, EPARAM); return; }
        setBX(c, 0xaa55);
        setCX(c, 0x0007); // fixed-disk access (42h-44h, 47h, 48h), removable-drive functions, EDD
        this.finish(c, drive, OK);
        setAH(c, 0x30); // EDD 3.0
        return;
      case 0x42: case 0x43: case 0x44: case 0x47: this.extended(c, d, fn); return;
      case 0x45: case 0x49: this.finish(c, drive, OK); return; // lock, media change: fixed disk
      case 0x46: this.finish(c, drive, ENOTREMOVABLE); return;
      case 0x48: this.finish(c, drive, this.eddParams(c, d)); return;
      case 0x4e: this.finish(c, drive, [0x01, 0x03, 0x04, 0x06].includes(al(c)) ? OK : EPARAM); return;
      default: this.finish(c, drive, EPARAM);
    }
  }

  /** AH=02h read, 03h write, 04h verify: AL sectors at CH/CL/DH to ES:BX. */
  private chs(c: Cpu, d: Disk, fn: number): void {
    const count = al(c);
    const cyl = ch(c) | ((cl(c) & 0xc0) << 2);
    const sector = cl(c) & 0x3f;
    const head = dh(c);
    if (count === 0 || count > 128 || sector === 0 || sector > d.sectors || head >= d.heads || cyl >= d.cylinders) {
      this.finish(c, d.drive, EPARAM);
      return;
    }
    const lba = (cyl * d.heads + head) * d.sectors + sector - 1;
    const addr = linear(c, ES, bx(c));
    // The floppy controller's DMA channel cannot cross a 64 KiB page.
    if (!(d.drive & 0x80) && fn !== 0x04 && (addr >>> 16) !== ((addr + count * SECTOR - 1) >>> 16)) {
      setAX(c, EBOUNDARY << 8);
      this.finish(c, d.drive, EBOUNDARY);
      return;
    }
    const done = fn === 0x04 ? Math.min(count, this.totalSectors(d) - lba) : this.transfer(d, lba, count, addr, fn === 0x03);
    setAX(c, done);
    this.finish(c, d.drive, done === count ? OK : ESECTOR);
  }

  /** AH=08h: last cylinder/head, sectors per track, drive count; floppies also type and table. */
  private geometry(c: Cpu, d: Disk): void {
    const floppy = !(d.drive & 0x80);
    const maxCyl = d.cylinders - (floppy ? 1 : 2);
    const count = floppy ? this.env.disks.filter((x) => !(x.drive & 0x80)).length : this.env.ram[BDA_HD_COUNT];
    setAX(c, 0);
    setCX(c, ((maxCyl & 0xff) << 8) | ((maxCyl >> 2) & 0xc0) | d.sectors);
    if (floppy) {
      setBX(c, floppyType(d));
      c.loadRealSeg(ES, 0xf000); // ES:DI -> parameter table
      c.r16[14] = DISKETTE_TABLE - 0xf0000;
    }
    this.finish(c, d.drive, OK);
    setDX(c, ((d.heads - 1) << 8) | count);
  }

  /** AH=42h read, 43h write, 44h verify, 47h seek, through the address packet at DS:SI. */
  private extended(c: Cpu, d: Disk, fn: number): void {
    const dap = linear(c, DS, si(c));
    const b = this.env.readPhys(dap, 16);
    const dv = new DataView(b.buffer, b.byteOffset, 16);
    const count = dv.getUint16(2, true);
    const off = dv.getUint16(4, true), seg = dv.getUint16(6, true);
    const lba = dv.getUint32(8, true) + dv.getUint32(12, true) * 2 ** 32;
    if (lba >= this.totalSectors(d)) { this.finish(c, d.drive, EPARAM); return; }
    if (count === 0) { this.finish(c, d.drive, OK); return; }
    const addr = (((seg << 4) + off) & c.a20Mask) >>> 0;
    const done = fn === 0x42 || fn === 0x43
      ? this.transfer(d, lba, count, addr, fn === 0x43)
      : Math.min(count, this.totalSectors(d) - lba);
    const w = new Uint8Array(2);
    new DataView(w.buffer).setUint16(0, done, true);
    this.env.writePhys(dap + 2, w);
    this.finish(c, d.drive, done === count ? OK : ESECTOR);
  }

  /** AH=48h: the EDD 1.x drive parameters (size, flags, C/H/S, sectors, bytes per sector). */
  private eddParams(c: Cpu, d: Disk): number {
    const buf = linear(c, DS, si(c));
    const size = this.env.readPhys(buf, 2);
    if ((size[0] | (size[1] << 8)) < EDD_PARAMS_SIZE) return EPARAM;
    const out = new Uint8Array(EDD_PARAMS_SIZE);
    const dv = new DataView(out.buffer);
    const sectors = this.totalSectors(d);
    dv.setUint16(0, EDD_PARAMS_SIZE, true);
    const chsValid = sectors <= d.sectors * d.heads * 0x3fff;
    dv.setUint16(2, chsValid ? 0x0002 : 0, true); // CHS information valid
    dv.setUint32(4, chsValid ? d.cylinders : 0x3fff, true);
    dv.setUint32(8, d.heads, true);
    dv.setUint32(12, d.sectors, true);
    dv.setUint32(16, sectors >>> 0, true);
    dv.setUint32(20, Math.floor(sectors / 2 ** 32), true);
    dv.setUint16(24, SECTOR, true);
    this.env.writePhys(buf, out);
    return OK;
  }
}

/** AH=08h's BL: the CMOS type of the drive that holds this medium (as the loader chose it). */
function floppyType(d: Disk): number {
  return floppyKind(d.cylinders * d.heads * d.sectors * SECTOR).type;
}

/** The 11-byte diskette parameter table for a 1.44 MB drive. */
export function disketteTable(sectors: number): Uint8Array {
  return Uint8Array.from([0xaf, 0x02, 0x25, 0x02, sectors, 0x1b, 0xff, 0x6c, 0xf6, 0x0f, 0x08]);
}
