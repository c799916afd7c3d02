// The 8254 programmable interval timer at 0x40-0x43, clocked at 1.193182 MHz.
//
// Channel 0's OUT drives IRQ0; channel 2's gate and OUT are reached through port 0x61 (sysctl.ts);
// channel 1 (DRAM refresh on old PCs) counts but drives nothing. Counters are not stepped: each
// channel remembers the input-clock tick at which its count was loaded, and its OUT level and
// counter value at any later tick follow from the mode arithmetic. Channel 0's OUT changes are
// scheduled exactly (nextEventNs), so IRQ0 edges land on the same instruction in every run.
//
// Simplifications, documented: a count is loaded on the tick it is written (a real 8254 loads on
// the next input clock, so OUT in mode 0 rises one tick later); a new count written to a running
// channel in mode 2 or 3 restarts it at once instead of at the end of the current period (as QEMU
// does). Channels 0 and 1 have their gate tied high, so in modes 1 and 5 writing the count is what
// triggers them.

import type { Clock, TimedDevice } from './clock';
import type { PortDevice, PortSize } from './ports';

/** Input clock of the 8254 on a PC, in Hz. */
export const PIT_HZ = 1193182;

/** Input-clock ticks elapsed at virtual time ns: floor(ns * PIT_HZ / 1e9), exact below 2^53. */
export function pitTicksAt(ns: number): number {
  const s = Math.floor(ns / 1e9);
  const r = ns - s * 1e9;
  return s * PIT_HZ + Math.floor((r * PIT_HZ) / 1e9);
}

/** The first virtual ns (integer) at which `tick` input-clock ticks have elapsed. */
export function nsAtPitTick(tick: number): number {
  if (tick === Infinity) return Infinity;
  const s = Math.floor(tick / PIT_HZ);
  const b = tick - s * PIT_HZ;
  return s * 1e9 + Math.ceil((b * 1e9) / PIT_HZ);
}

interface Channel {
  mode: number; // 0-5
  rw: number; // 1 LSB, 2 MSB, 3 LSB then MSB; 0 until programmed
  bcd: boolean;
  reload: number; // the count register as written (16 bits, BCD digits when bcd)
  armed: boolean; // a count has been loaded since the control word
  gate: boolean;
  triggered: boolean; // modes 1 and 5: a gate edge (or, on channels 0/1, the load) started it
  start: number; // input-clock tick at which counting from the full count began
  pausedAt: number; // modes 0/4 with the gate low: elapsed ticks frozen; -1 when counting
  writeHi: boolean; // LSB-then-MSB: the next write is the MSB
  lowByte: number;
  readHi: boolean;
  latch: number[]; // latched count bytes still to be read
  status: number; // latched status byte, -1 when none
  nullCount: boolean;
}

export interface PitSnapshot {
  channels: Channel[];
  out0: boolean;
  lastTick0: number;
}

export interface PitChannelState {
  mode: number;
  access: 'unprogrammed' | 'lsb' | 'msb' | 'lsb-msb';
  bcd: boolean;
  reload: number;
  count: number;
  out: boolean;
  gate: boolean;
  /** Period or one-shot length in ns (the full count at the input clock). */
  periodNs: number;
}

const ACCESS = ['unprogrammed', 'lsb', 'msb', 'lsb-msb'] as const;

function bcdToBin(v: number): number {
  return ((v >> 12) & 15) * 1000 + ((v >> 8) & 15) * 100 + ((v >> 4) & 15) * 10 + (v & 15);
}

function binToBcd(v: number): number {
  return ((Math.floor(v / 1000) % 10) << 12) | ((Math.floor(v / 100) % 10) << 8) | ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}

function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}

export class Pit implements PortDevice, TimedDevice {
  /** Channel 0's OUT, i.e. the IRQ0 line; called on each level change. */
  onIrq: (level: boolean) => void = () => {};

  readonly accessSizes = 1;
  private channels: Channel[] = [];
  private out0 = false;
  private lastTick0 = 0; // channel 0 edges up to this tick have been reported

  constructor(private readonly clock: Clock) {
    this.reset();
  }

  /**
   * The state a PC BIOS leaves: channel 0 in mode 2 with count 0 (65536, 18.2 Hz) running from
   * now, channels 1 and 2 in mode 3 with count 65536; channel 2's gate low (port 0x61 bit 0).
   */
  reset(): void {
    const t = this.ticks();
    const ch = (mode: number, rw: number, gate: boolean): Channel => ({
      mode, rw, bcd: false, reload: 0, armed: true, gate, triggered: true, start: t, pausedAt: -1,
      writeHi: false, lowByte: 0, readHi: false, latch: [], status: -1, nullCount: false,
    });
    this.channels = [ch(2, 3, true), ch(3, 0, true), ch(3, 0, false)];
    this.lastTick0 = t;
    this.out0 = this.outAt(this.channels[0], t);
    this.onIrq(this.out0);
  }

  // ---- TimedDevice

  nextEventNs(): number {
    return nsAtPitTick(this.nextChange(this.channels[0], this.lastTick0));
  }

  tick(nowNs: number): void {
    this.catchUp(pitTicksAt(nowNs));
  }

  // ---- port 0x61 side of channel 2

  setGate2(level: boolean): void {
    this.setGate(2, level);
  }

  out2(): boolean {
    return this.outAt(this.channels[2], this.ticks());
  }

  // ---- ports 0x40-0x43

  read(port: number, _size: PortSize): number {
    const n = port - 0x40;
    if (n < 0 || n > 2) return 0xff; // the control word register cannot be read
    const c = this.channels[n];
    if (c.status >= 0) {
      const s = c.status;
      c.status = -1;
      return s;
    }
    if (c.latch.length > 0) return c.latch.shift()!;
    const v = this.countAt(c, this.ticks());
    switch (c.rw) {
      case 1: return v & 0xff;
      case 2: return v >> 8;
      default: {
        const hi = c.readHi;
        c.readHi = !hi;
        return hi ? v >> 8 : v & 0xff;
      }
    }
  }

  write(port: number, _size: PortSize, value: number): void {
    const t = this.ticks();
    this.catchUp(t);
    if (port === 0x43) this.writeControl(value, t);
    else if (port >= 0x40 && port <= 0x42) this.writeCount(port - 0x40, value, t);
    this.syncOut0(t);
  }

  // ---- inspection and history

  channelState(n: number): PitChannelState {
    const c = this.channels[n];
    const t = this.ticks();
    return {
      mode: c.mode, access: ACCESS[c.rw], bcd: c.bcd, reload: c.reload, count: this.countAt(c, t),
      out: this.outAt(c, t), gate: c.gate, periodNs: (this.fullCount(c) * 1e9) / PIT_HZ,
    };
  }

  snapshot(): PitSnapshot {
    return {
      channels: this.channels.map((c) => ({ ...c, latch: [...c.latch] })),
      out0: this.out0,
      lastTick0: this.lastTick0,
    };
  }

  restore(s: PitSnapshot): void {
    this.channels = s.channels.map((c) => ({ ...c, latch: [...c.latch] }));
    this.out0 = s.out0;
    this.lastTick0 = s.lastTick0;
  }

  // ---- internals

  private ticks(): number {
    return pitTicksAt(this.clock.nowNs());
  }

  private fullCount(c: Channel): number {
    if (c.bcd) {
      const v = bcdToBin(c.reload);
      return v === 0 ? 10000 : v;
    }
    return c.reload === 0 ? 0x10000 : c.reload;
  }

  /** Ticks counted since the full count was loaded, or -1 when the channel is not counting. */
  private elapsed(c: Channel, t: number): number {
    if (!c.armed) return -1;
    const d = Math.max(0, t - c.start);
    if (c.mode === 1 || c.mode === 5) return c.triggered ? d : -1;
    if (c.mode === 0 || c.mode === 4) return c.pausedAt >= 0 ? c.pausedAt : d;
    return c.gate ? d : -1; // modes 2 and 3 stop with the gate low
  }

  private outAt(c: Channel, t: number): boolean {
    const d = this.elapsed(c, t);
    if (d < 0) return c.mode !== 0; // mode 0 holds OUT low until a count is loaded
    const n = this.fullCount(c);
    switch (c.mode) {
      case 0:
      case 1:
        return d >= n;
      case 2:
        return n < 2 || mod(d, n) !== n - 1;
      case 3:
        return mod(d, n) < Math.ceil(n / 2);
      default: // 4, 5: one tick low at terminal count
        return d !== n;
    }
  }

  /** First tick after `after` at which the channel's OUT changes, or Infinity. */
  private nextChange(c: Channel, after: number): number {
    const d = this.elapsed(c, after);
    if (d < 0) return Infinity;
    if (c.pausedAt >= 0 && (c.mode === 0 || c.mode === 4)) return Infinity;
    const n = this.fullCount(c);
    switch (c.mode) {
      case 0:
      case 1:
        return d < n ? after + (n - d) : Infinity;
      case 2: {
        if (n < 2) return Infinity;
        const p = mod(d, n);
        return p < n - 1 ? after + (n - 1 - p) : after + 1;
      }
      case 3: {
        if (n < 2) return Infinity;
        const h = Math.ceil(n / 2);
        const p = mod(d, n);
        return p < h ? after + (h - p) : after + (n - p);
      }
      default:
        if (d < n) return after + (n - d);
        if (d === n) return after + 1;
        return Infinity;
    }
  }

  private countAt(c: Channel, t: number): number {
    const d = this.elapsed(c, t);
    const n = this.fullCount(c);
    const m = c.bcd ? 10000 : 0x10000;
    let v: number;
    if (!c.armed) v = c.reload;
    else if (d < 0) v = n; // waiting for a trigger or a gate
    else if (c.mode === 2) v = n - mod(d, n);
    else if (c.mode === 3) {
      // Decrements by two, through each half period in turn.
      const h = Math.ceil(n / 2);
      const p = mod(d, n);
      v = n - 2 * (p < h ? p : p - h);
      v -= v & 1;
    } else v = mod(n - d, m);
    v = mod(v, m);
    return c.bcd ? binToBcd(v) : v;
  }

  private writeControl(v: number, t: number): void {
    const sc = v >> 6;
    if (sc === 3) {
      // Read-back: bit 5 low latches counts, bit 4 low latches status, bits 1-3 select channels.
      for (let n = 0; n < 3; n++) {
        if ((v & (2 << n)) === 0) continue;
        const c = this.channels[n];
        if ((v & 0x20) === 0) this.latchCount(c, t);
        if ((v & 0x10) === 0 && c.status < 0) {
          c.status = (this.outAt(c, t) ? 0x80 : 0) | (c.nullCount ? 0x40 : 0) | (c.rw << 4) | (c.mode << 1) | (c.bcd ? 1 : 0);
        }
      }
      return;
    }
    const c = this.channels[sc];
    const rw = (v >> 4) & 3;
    if (rw === 0) {
      this.latchCount(c, t);
      return;
    }
    let mode = (v >> 1) & 7;
    if (mode > 5) mode -= 4; // 6 and 7 are aliases of 2 and 3
    c.mode = mode;
    c.rw = rw;
    c.bcd = (v & 1) !== 0;
    c.armed = false;
    c.triggered = false;
    c.pausedAt = -1;
    c.writeHi = false;
    c.readHi = false;
    c.latch = [];
    c.status = -1;
    c.nullCount = true;
  }

  private latchCount(c: Channel, t: number): void {
    if (c.latch.length > 0) return; // a second latch before reading is ignored
    const v = this.countAt(c, t);
    if (c.rw === 1) c.latch = [v & 0xff];
    else if (c.rw === 2) c.latch = [v >> 8];
    else c.latch = [v & 0xff, v >> 8];
  }

  private writeCount(n: number, value: number, t: number): void {
    const c = this.channels[n];
    if (c.rw === 0) return; // unprogrammed
    if (c.rw === 1) c.reload = value;
    else if (c.rw === 2) c.reload = value << 8;
    else if (!c.writeHi) {
      c.lowByte = value;
      c.writeHi = true;
      if (c.mode === 0) c.armed = false; // writing the first byte stops a mode 0 count
      return;
    } else {
      c.reload = c.lowByte | (value << 8);
      c.writeHi = false;
    }
    this.load(n, c, t);
  }

  private load(n: number, c: Channel, t: number): void {
    c.armed = true;
    c.nullCount = false;
    c.start = t;
    c.pausedAt = -1;
    if (c.mode === 0 || c.mode === 4) {
      if (!c.gate) c.pausedAt = 0;
    } else if (c.mode === 1 || c.mode === 5) {
      c.triggered = n !== 2; // channels 0 and 1 have no gate edge to wait for
    }
  }

  private setGate(n: number, level: boolean): void {
    const c = this.channels[n];
    if (c.gate === level) return;
    const t = this.ticks();
    if (n === 0) this.catchUp(t);
    if (c.armed) {
      if (c.mode === 0 || c.mode === 4) {
        if (level && c.pausedAt >= 0) {
          c.start = t - c.pausedAt;
          c.pausedAt = -1;
        } else if (!level) {
          c.pausedAt = t - c.start;
        }
      } else if (level) {
        // Rising edge: modes 1 and 5 trigger, modes 2 and 3 reload.
        c.start = t;
        c.triggered = true;
      }
    }
    c.gate = level;
    if (n === 0) this.syncOut0(t);
  }

  /** Report channel 0's OUT edges up to tick t, in order. */
  private catchUp(t: number): void {
    const c = this.channels[0];
    let at = this.nextChange(c, this.lastTick0);
    // If the machine fell far behind (realtime mode, a long stop), edges that only repeat would be
    // merged by the edge-triggered PIC anyway: keep the last two periods.
    const n = this.fullCount(c);
    if ((c.mode === 2 || c.mode === 3) && at <= t && t - this.lastTick0 > 2 * n + 2) {
      this.lastTick0 = t - 2 * n - 2;
      at = this.nextChange(c, this.lastTick0);
    }
    while (at <= t) {
      const level = this.outAt(c, at);
      if (level !== this.out0) {
        this.out0 = level;
        this.onIrq(level);
      }
      this.lastTick0 = at;
      at = this.nextChange(c, at);
    }
    if (t > this.lastTick0) this.lastTick0 = t;
  }

  private syncOut0(t: number): void {
    const level = this.outAt(this.channels[0], t);
    if (level !== this.out0) {
      this.out0 = level;
      this.onIrq(level);
    }
    if (t > this.lastTick0) this.lastTick0 = t;
  }
}
