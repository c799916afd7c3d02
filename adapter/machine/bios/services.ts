// INT 08h/09h (timer and keyboard IRQs), 11h, 12h, 15h, 16h, 1Ah: system services of the HLE BIOS.
import type { Cpu } from '../../cpu/cpu';
import { ES } from '../../cpu/insn';
import { e820Map, memUpperKiB, type E820Entry } from '../loaders/e820';
import { type BiosEnv, ah, al, bx, cx, dx, setAX, setBX, setCX, setDX, setAH, setAL, setCarry, setZero, status, linear } from './env';

const BDA_TICKS = 0x46c, BDA_MIDNIGHT = 0x470, BDA_KBD_FLAGS = 0x417;
const BDA_KBD_HEAD = 0x41a, BDA_KBD_TAIL = 0x41c, BDA_KBD_START = 0x480, BDA_KBD_END = 0x482;
const TICKS_PER_DAY = 0x1800b0;
const SMAP = 0x534d4150;
const MB = 0x100000;

/** Set-1 make codes -> [unshifted, shifted] ASCII (0 = no character). */
const KEYMAP: Record<number, [number, number]> = {};
const rows: [number, string, string][] = [
  [0x02, '1234567890-=', '!@#$%^&*()_+'],
  [0x10, 'qwertyuiop[]', 'QWERTYUIOP{}'],
  [0x1e, "asdfghjkl;'`", 'ASDFGHJKL:"~'],
  [0x2b, '\\zxcvbnm,./', '|ZXCVBNM<>?'],
];
for (const [start, lo, hi] of rows) for (let k = 0; k < lo.length; k++) KEYMAP[start + k] = [lo.charCodeAt(k), hi.charCodeAt(k)];
KEYMAP[0x01] = [0x1b, 0x1b]; KEYMAP[0x0e] = [0x08, 0x08]; KEYMAP[0x0f] = [0x09, 0x09];
KEYMAP[0x1c] = [0x0d, 0x0d]; KEYMAP[0x39] = [0x20, 0x20];

export class SystemServices {
  private shift = false;
  private ctrl = false;

  constructor(private readonly env: BiosEnv) {}

  private get mem(): Uint8Array { return this.env.ram; }
  private rd16(a: number): number { return this.mem[a] | (this.mem[a + 1] << 8); }
  private wr16(a: number, v: number): void { this.mem[a] = v & 0xff; this.mem[a + 1] = (v >> 8) & 0xff; }

  private eoi(irq: number): void {
    if (irq >= 8) this.env.ports.write(0xa0, 1, 0x20);
    this.env.ports.write(0x20, 1, 0x20);
  }

  /** Spurious/unused hardware IRQ: acknowledge it. */
  irq(irq: number): void { this.eoi(irq); }

  /** INT 08h (IRQ0): the 18.2 Hz tick count at 0040:006C. */
  int08(): void {
    let t = (this.rd16(BDA_TICKS) | (this.rd16(BDA_TICKS + 2) << 16)) >>> 0;
    if (++t >= TICKS_PER_DAY) { t = 0; this.mem[BDA_MIDNIGHT] = 1; }
    this.wr16(BDA_TICKS, t & 0xffff);
    this.wr16(BDA_TICKS + 2, t >>> 16);
    this.eoi(0);
  }

  /** INT 09h (IRQ1): scancode from the controller into the BIOS keyboard buffer. */
  int09(): void {
    const code = this.env.ports.read(0x60, 1);
    const make = code & 0x7f, released = (code & 0x80) !== 0;
    if (make === 0x2a || make === 0x36) this.shift = !released;
    else if (make === 0x1d) this.ctrl = !released;
    else if (!released) {
      const m = KEYMAP[make];
      let ascii = m ? m[this.shift ? 1 : 0] : 0;
      if (this.ctrl && ascii >= 0x61 && ascii <= 0x7a) ascii -= 0x60;
      this.enqueue((make << 8) | ascii);
    }
    this.mem[BDA_KBD_FLAGS] = (this.shift ? 0x02 : 0) | (this.ctrl ? 0x04 : 0);
    this.eoi(1);
  }

  private enqueue(key: number): void {
    const start = this.rd16(BDA_KBD_START), end = this.rd16(BDA_KBD_END);
    const tail = this.rd16(BDA_KBD_TAIL);
    let next = tail + 2;
    if (next >= end) next = start;
    if (next === this.rd16(BDA_KBD_HEAD)) return; // buffer full
    this.wr16(0x400 + tail, key);
    this.wr16(BDA_KBD_TAIL, next);
  }

  private dequeue(remove: boolean): number {
    const head = this.rd16(BDA_KBD_HEAD);
    if (head === this.rd16(BDA_KBD_TAIL)) return -1;
    const key = this.rd16(0x400 + head);
    if (remove) {
      let next = head + 2;
      if (next >= this.rd16(BDA_KBD_END)) next = this.rd16(BDA_KBD_START);
      this.wr16(BDA_KBD_HEAD, next);
    }
    return key;
  }

  /** INT 16h. Returns false when the call must wait for a key (the stub halts and retries). */
  int16(c: Cpu): boolean {
    switch (ah(c)) {
      case 0x00: case 0x10: {
        const k = this.dequeue(true);
        if (k < 0) return false;
        setAX(c, k);
        return true;
      }
      case 0x01: case 0x11: {
        const k = this.dequeue(false);
        setZero(c, k < 0);
        if (k >= 0) setAX(c, k);
        return true;
      }
      case 0x02: case 0x12: setAL(c, this.mem[BDA_KBD_FLAGS]); return true;
      default: return true;
    }
  }

  int11(c: Cpu): void { setAX(c, this.rd16(0x410)); }
  int12(c: Cpu): void { setAX(c, this.rd16(0x413)); }

  /** The E820 map this BIOS reports (the same one the multiboot loader hands over). */
  e820(): E820Entry[] {
    return e820Map(this.env.ramSize);
  }

  /** End of the usable RAM that starts at 1 MiB (the E820 map keeps the top 128 KiB back). */
  private ramTop(): number {
    return MB + memUpperKiB(this.env.ramSize) * 1024;
  }

  int15(c: Cpu): void {
    const fn = ah(c);
    if (c.r32[0] === 0xe820 && c.r32[2] === SMAP) {
      const map = this.e820();
      const idx = c.r32[3];
      if (idx < 0 || idx >= map.length || (c.r32[1] >>> 0) < 20) { status(c, 0x86); return; }
      const e = map[idx];
      const out = new Uint8Array(20);
      const dv = new DataView(out.buffer);
      dv.setUint32(0, e.base >>> 0, true);
      dv.setUint32(8, e.length >>> 0, true);
      dv.setUint32(16, e.type, true);
      this.env.writePhys(linear(c, ES, c.r16[14]), out);
      c.r32[0] = SMAP;
      c.r32[1] = 20;
      c.r32[3] = idx + 1 < map.length ? idx + 1 : 0;
      setCarry(c, false);
      return;
    }
    switch (fn) {
      case 0x24:
        switch (al(c)) {
          case 0x00: this.env.setA20(false); status(c, 0); return;
          case 0x01: this.env.setA20(true); status(c, 0); return;
          case 0x02: setAL(c, this.env.getA20() ? 1 : 0); status(c, 0); return;
          case 0x03: setBX(c, 0x0003); status(c, 0); return;
          default: status(c, 0x86); return;
        }
      case 0x86: setCarry(c, false); return; // wait: virtual time is not stretched for it
      case 0x87: status(c, 0x86); return;
      case 0x88: { // KiB above 1 MiB, at most 63 MiB (what real machines report)
        const top = this.ramTop();
        setAX(c, top > 64 * MB ? 63 * 1024 : (top - MB) / 1024);
        setCarry(c, false);
        return;
      }
      case 0xe8:
        if (al(c) === 0x01) { // KiB from 1 to 16 MiB, 64 KiB blocks above 16 MiB
          const top = this.ramTop();
          const below16 = top > 16 * MB ? 15 * 1024 : (top - MB) / 1024;
          const above16 = top > 16 * MB ? Math.min(0xffff, Math.floor((top - 16 * MB) / 0x10000)) : 0;
          setAX(c, below16); setCX(c, below16);
          setBX(c, above16); setDX(c, above16);
          setCarry(c, false);
          return;
        }
        status(c, 0x86);
        return;
      case 0x4f: setCarry(c, true); return; // keyboard intercept: keep the scancode
      default:
        status(c, 0x86);
    }
    void bx; void cx; void dx;
  }

  private cmos(reg: number): number {
    this.env.ports.write(0x70, 1, reg);
    return this.env.ports.read(0x71, 1);
  }

  int1a(c: Cpu): void {
    switch (ah(c)) {
      case 0x00: {
        const t = this.rd16(BDA_TICKS) | (this.rd16(BDA_TICKS + 2) << 16);
        setCX(c, t >>> 16); setDX(c, t & 0xffff);
        setAL(c, this.mem[BDA_MIDNIGHT]);
        this.mem[BDA_MIDNIGHT] = 0;
        setCarry(c, false);
        return;
      }
      case 0x01: {
        const t = (cx(c) << 16) | dx(c);
        this.wr16(BDA_TICKS, t & 0xffff); this.wr16(BDA_TICKS + 2, t >>> 16);
        setCarry(c, false);
        return;
      }
      case 0x02:
        setCX(c, (this.cmos(4) << 8) | this.cmos(2));
        setDX(c, this.cmos(0) << 8);
        setCarry(c, false);
        return;
      case 0x04:
        setCX(c, (this.cmos(0x32) << 8) | this.cmos(9));
        setDX(c, (this.cmos(8) << 8) | this.cmos(7));
        setCarry(c, false);
        return;
      default:
        setAH(c, 0x86);
        setCarry(c, true);
    }
  }
}
