// CMOS RAM and MC146818 real-time clock at 0x70 (index, bit 7 = NMI disable) / 0x71 (data).
//
// The time of day comes from the Clock: in deterministic mode it starts at 2026-01-01 00:00:00
// UTC at virtual time 0 and advances with retired instructions; in realtime mode it is the host's
// UTC time. A guest may set the time (SET bit, then registers 0-9 and 0x32); the RTC then keeps an
// offset from the Clock. Registers follow status B: BCD or binary (DM), 24 or 12 hour. Status A's
// UIP bit is high for the last 244 us before each second changes. Periodic, alarm and update-ended
// interrupts raise IRQ8 (onIrq) and are scheduled exactly while enabled.
//
// The configuration bytes are those a PC BIOS finds: base memory 640 KiB (0x15/0x16), extended
// memory above 1 MiB in KiB capped at 0xFFFF (0x17/0x18 and 0x30/0x31), memory above 16 MiB in
// 64 KiB blocks (0x34/0x35), floppy type (0x10), equipment (0x14), century (0x32), and the
// checksum of 0x10-0x2D (0x2E/0x2F).

import type { Clock, TimedDevice } from './clock';
import type { PortDevice, PortSize } from './ports';

export interface CmosOptions {
  /** Guest RAM size in bytes. */
  ramBytes: number;
  /** A 1.44 MB drive A: is present. */
  floppy?: boolean;
  /** An x87 is present (equipment byte bit 1); default true. */
  fpu?: boolean;
}

export interface CmosSnapshot {
  ram: number[];
  index: number;
  nmiMasked: boolean;
  adjustSec: number;
  heldSec: number;
  flags: number;
  lastPeriod: number;
  lastSec: number;
  irq: boolean;
}

const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;
const B_SET = 0x80;
const B_PIE = 0x40;
const B_AIE = 0x20;
const B_UIE = 0x10;
const B_DM = 0x04; // binary instead of BCD
const B_24H = 0x02;
const C_IRQF = 0x80;
const C_PF = 0x40;
const C_AF = 0x20;
const C_UF = 0x10;

/** UIP is high this long before each second update, in ns. */
const UIP_NS = 244_000;
const SEC_NS = 1e9;

const toBcd = (v: number): number => ((Math.floor(v / 10) % 10) << 4) | (v % 10);
const fromBcd = (v: number): number => (v >> 4) * 10 + (v & 15);

export class Cmos implements PortDevice, TimedDevice {
  /** IRQ8 line (status C's IRQF). */
  onIrq: (level: boolean) => void = () => {};

  readonly accessSizes = 1;
  nmiMasked = false;

  private ram = new Uint8Array(128);
  private index = 0;
  private readonly baseSec: number; // whole seconds since 1970 at Clock time 0
  private readonly baseFracNs: number; // and the fraction of that second
  private adjustSec = 0; // set by the guest
  private heldSec = 0; // time frozen while SET is on
  private flags = 0; // status C
  private lastPeriod = 0;
  private lastSec = 0;
  private irq = false;

  constructor(private readonly clock: Clock, private readonly opts: CmosOptions) {
    const epochMs = clock.wallTimeMs() - clock.nowNs() / 1e6;
    this.baseSec = Math.floor(epochMs / 1000);
    this.baseFracNs = Math.round((epochMs - this.baseSec * 1000) * 1e6);
    this.reset();
  }

  reset(): void {
    const r = new Uint8Array(128);
    r[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    r[REG_B] = B_24H; // BCD, 24 hour
    r[REG_D] = 0x80; // valid RAM and time
    const ram = this.opts.ramBytes;
    const kb = Math.floor(ram / 1024);
    const base = Math.min(640, kb);
    const ext = Math.min(0xffff, Math.max(0, kb - 1024));
    const above16 = Math.min(0xffff, Math.max(0, Math.floor((ram - 16 * 1024 * 1024) / 65536)));
    const above4g = Math.max(0, Math.floor((ram - 4 * 1024 * 1024 * 1024) / 65536));
    const floppy = this.opts.floppy ?? false;
    r[0x10] = floppy ? 0x40 : 0x00; // drive A: type 4 (1.44 MB), no drive B:
    r[0x14] = (floppy ? 0x01 : 0) | ((this.opts.fpu ?? true) ? 0x02 : 0); // VGA, one drive if any
    r[0x15] = base & 0xff;
    r[0x16] = base >> 8;
    r[0x17] = r[0x30] = ext & 0xff;
    r[0x18] = r[0x31] = ext >> 8;
    r[0x34] = above16 & 0xff;
    r[0x35] = above16 >> 8;
    r[0x5b] = above4g & 0xff;
    r[0x5c] = (above4g >> 8) & 0xff;
    r[0x5d] = (above4g >> 16) & 0xff;
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += r[i];
    r[0x2e] = (sum >> 8) & 0xff;
    r[0x2f] = sum & 0xff;
    this.ram = r;
    this.index = 0;
    this.nmiMasked = false;
    this.adjustSec = 0;
    this.heldSec = 0;
    this.flags = 0;
    const now = this.clock.nowNs();
    this.lastPeriod = this.periodIndex(now);
    this.lastSec = this.rawSec(now);
    r[0x37] = this.toReg(Math.floor(new Date(this.currentSec() * 1000).getUTCFullYear() / 100));
    this.setIrq(false);
  }

  /** The guest-visible date and time (UTC fields), for the debugger. */
  dateTime(): Date {
    return new Date(this.currentSec() * 1000);
  }

  /** A CMOS byte as the guest would read it (without side effects on status C). */
  peek(reg: number): number {
    return reg === REG_C ? this.flags : this.readReg(reg & 0x7f);
  }

  // ---- ports

  read(port: number, _size: PortSize): number {
    if (port !== 0x71) return 0xff; // the index register is write-only
    if (this.index === REG_C) {
      this.updateFlags(this.clock.nowNs());
      const v = this.flags;
      this.flags = 0;
      this.setIrq(false);
      return v;
    }
    return this.readReg(this.index);
  }

  write(port: number, _size: PortSize, value: number): void {
    if (port === 0x70) {
      this.index = value & 0x7f;
      this.nmiMasked = (value & 0x80) !== 0;
      return;
    }
    if (port === 0x71) this.writeReg(this.index, value);
  }

  // ---- TimedDevice: periodic, alarm and update-ended interrupts

  nextEventNs(): number {
    const b = this.ram[REG_B];
    if ((b & (B_PIE | B_AIE | B_UIE)) === 0) return Infinity;
    const now = this.clock.nowNs();
    let t = Infinity;
    const period = this.periodTicks();
    if (b & B_PIE && period > 0) t = ns32k((this.lastPeriod + 1) * period);
    if (b & (B_AIE | B_UIE) && (b & B_SET) === 0) {
      const next = (Math.floor((now + this.baseFracNs) / SEC_NS) + 1) * SEC_NS - this.baseFracNs;
      if (next < t) t = next;
    }
    return t;
  }

  tick(nowNs: number): void {
    this.updateFlags(nowNs);
  }

  snapshot(): CmosSnapshot {
    return {
      ram: Array.from(this.ram), index: this.index, nmiMasked: this.nmiMasked, adjustSec: this.adjustSec,
      heldSec: this.heldSec, flags: this.flags, lastPeriod: this.lastPeriod, lastSec: this.lastSec, irq: this.irq,
    };
  }

  restore(s: CmosSnapshot): void {
    this.ram = Uint8Array.from(s.ram);
    this.index = s.index;
    this.nmiMasked = s.nmiMasked;
    this.adjustSec = s.adjustSec;
    this.heldSec = s.heldSec;
    this.flags = s.flags;
    this.lastPeriod = s.lastPeriod;
    this.lastSec = s.lastSec;
    this.irq = s.irq;
  }

  // ---- time keeping

  private rawSec(nowNs: number): number {
    return this.baseSec + Math.floor((nowNs + this.baseFracNs) / SEC_NS);
  }

  private currentSec(): number {
    if (this.ram[REG_B] & B_SET) return this.heldSec;
    return this.rawSec(this.clock.nowNs()) + this.adjustSec;
  }

  /** Periodic interrupt interval in 32.768 kHz ticks (0: off). Rates 1 and 2 act as 8 and 9. */
  private periodTicks(): number {
    let rate = this.ram[REG_A] & 0x0f;
    if (rate === 0) return 0;
    if (rate < 3) rate += 7;
    return 1 << (rate - 1);
  }

  private periodIndex(nowNs: number): number {
    const p = this.periodTicks();
    return p === 0 ? 0 : Math.floor(ticks32k(nowNs) / p);
  }

  private updateFlags(nowNs: number): void {
    let f = this.flags;
    if (this.periodTicks() > 0) {
      const idx = this.periodIndex(nowNs);
      if (idx > this.lastPeriod) f |= C_PF;
      this.lastPeriod = idx;
    }
    const sec = this.rawSec(nowNs);
    if (sec > this.lastSec && (this.ram[REG_B] & B_SET) === 0) {
      f |= C_UF;
      if (this.alarmMatches()) f |= C_AF;
    }
    this.lastSec = sec;
    const b = this.ram[REG_B];
    if ((f & C_PF && b & B_PIE) || (f & C_AF && b & B_AIE) || (f & C_UF && b & B_UIE)) f |= C_IRQF;
    this.flags = f;
    if (f & C_IRQF) this.setIrq(true);
  }

  private alarmMatches(): boolean {
    for (const [alarm, time] of [[1, 0], [3, 2], [5, 4]]) {
      const a = this.ram[alarm];
      if ((a & 0xc0) !== 0xc0 && a !== this.readReg(time)) return false;
    }
    return true;
  }

  private setIrq(level: boolean): void {
    if (level === this.irq) return;
    this.irq = level;
    this.onIrq(level);
  }

  // ---- register file

  private toReg(v: number): number {
    return this.ram[REG_B] & B_DM ? v : toBcd(v);
  }

  private fromReg(v: number): number {
    return this.ram[REG_B] & B_DM ? v : fromBcd(v);
  }

  private readReg(reg: number): number {
    switch (reg) {
      case 0: case 2: case 4: case 6: case 7: case 8: case 9: case 0x32:
        return this.timeField(reg, new Date(this.currentSec() * 1000));
      case REG_A: {
        const now = this.clock.nowNs();
        const frac = (now + this.baseFracNs) % SEC_NS;
        const uip = (this.ram[REG_B] & B_SET) === 0 && frac >= SEC_NS - UIP_NS;
        return (this.ram[REG_A] & 0x7f) | (uip ? 0x80 : 0);
      }
      case REG_C:
        return this.flags;
      default:
        return this.ram[reg];
    }
  }

  private timeField(reg: number, d: Date): number {
    switch (reg) {
      case 0: return this.toReg(d.getUTCSeconds());
      case 2: return this.toReg(d.getUTCMinutes());
      case 4: {
        const h = d.getUTCHours();
        if (this.ram[REG_B] & B_24H) return this.toReg(h);
        return this.toReg(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0);
      }
      case 6: return this.toReg(d.getUTCDay() + 1); // Sunday = 1
      case 7: return this.toReg(d.getUTCDate());
      case 8: return this.toReg(d.getUTCMonth() + 1);
      case 9: return this.toReg(d.getUTCFullYear() % 100);
      default: return this.toReg(Math.floor(d.getUTCFullYear() / 100)); // 0x32 century
    }
  }

  private writeReg(reg: number, value: number): void {
    switch (reg) {
      case 0: case 2: case 4: case 7: case 8: case 9: case 0x32:
        this.setTimeField(reg, value);
        return;
      case 6:
        return; // the day of week follows from the date here
      case REG_A: {
        this.ram[REG_A] = value & 0x7f;
        this.lastPeriod = this.periodIndex(this.clock.nowNs()); // a new rate starts a new phase
        return;
      }
      case REG_B: {
        const old = this.ram[REG_B];
        const now = this.clock.nowNs();
        if (value & B_SET && !(old & B_SET)) {
          this.heldSec = this.currentSec();
          value &= ~B_UIE; // setting SET clears UIE
        } else if (!(value & B_SET) && old & B_SET) {
          this.adjustSec = this.heldSec - this.rawSec(now);
          this.lastSec = this.rawSec(now);
        }
        this.updateFlags(now);
        this.ram[REG_B] = value;
        this.updateFlags(now); // newly enabled interrupts may see flags already set
        return;
      }
      case REG_C: case REG_D:
        return; // read-only
      default:
        this.ram[reg] = value;
    }
  }

  private setTimeField(reg: number, value: number): void {
    const d = new Date(this.currentSec() * 1000);
    let [y, mo, day, h, mi, s] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
    switch (reg) {
      case 0: s = this.fromReg(value); break;
      case 2: mi = this.fromReg(value); break;
      case 4:
        if (this.ram[REG_B] & B_24H) h = this.fromReg(value);
        else h = (this.fromReg(value & 0x7f) % 12) + (value & 0x80 ? 12 : 0);
        break;
      case 7: day = this.fromReg(value); break;
      case 8: mo = this.fromReg(value) - 1; break;
      case 9: y = Math.floor(y / 100) * 100 + this.fromReg(value); break;
      default: y = this.fromReg(value) * 100 + (y % 100); break;
    }
    const sec = Math.floor(Date.UTC(y, mo, day, h, mi, s) / 1000);
    if (this.ram[REG_B] & B_SET) this.heldSec = sec;
    else this.adjustSec += sec - this.currentSec();
  }
}

/** 32.768 kHz ticks at virtual time ns (exact below 2^53). */
function ticks32k(ns: number): number {
  const s = Math.floor(ns / SEC_NS);
  return s * 32768 + Math.floor(((ns - s * SEC_NS) * 32768) / SEC_NS);
}

/** First ns at which `ticks` 32.768 kHz ticks have elapsed. */
function ns32k(ticks: number): number {
  const s = Math.floor(ticks / 32768);
  return s * SEC_NS + Math.ceil(((ticks - s * 32768) * SEC_NS) / 32768);
}
