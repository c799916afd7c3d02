// The 8259A programmable interrupt controller pair of a PC/AT: master at 0x20/0x21 (IRQ 0-7),
// slave at 0xA0/0xA1 (IRQ 8-15) cascaded on the master's IR2, plus the ELCR at 0x4D0/0x4D1.
//
// Inputs are edge-triggered unless ICW1.LTIM or the ELCR selects level for an input. reset() leaves
// the pair as a PC BIOS does (vectors 0x08/0x70, the masks QEMU's SeaBIOS leaves: 0xB8/0x8E), since
// no firmware runs before the guest.

import type { PortDevice, PortSize } from './ports';

export interface PicChipState {
  irr: number;
  isr: number;
  imr: number;
  /** Input levels currently driven by the devices (bit per IR line). */
  lines: number;
  vectorBase: number;
  elcr: number;
  initialized: boolean;
  autoEoi: boolean;
  specialMask: boolean;
  specialFullyNested: boolean;
  /** The input with the lowest priority (7 unless rotated). */
  lowestPriority: number;
  /** What a read of the command port returns. */
  readRegister: 'irr' | 'isr';
}

export interface PicState {
  master: PicChipState;
  slave: PicChipState;
  /** The INTR output to the CPU. */
  intr: boolean;
  /** The vector acknowledge() would return now, or -1 when INTR is low. */
  pendingVector: number;
}

interface ChipSnapshot {
  irr: number; isr: number; imr: number; lines: number; base: number; icw3: number; elcr: number;
  initStep: number; ic4: boolean; single: boolean; ltim: boolean; autoEoi: boolean; rotateOnAeoi: boolean;
  sfnm: boolean; specialMask: boolean; readIsr: boolean; poll: boolean; lowest: number;
}

export interface PicSnapshot {
  master: ChipSnapshot;
  slave: ChipSnapshot;
  intr: boolean;
}

/** One 8259A. */
class Chip {
  irr = 0;
  isr = 0;
  imr = 0;
  lines = 0;
  base = 0;
  icw3 = 0;
  elcr = 0;
  initStep = 0; // 0: operational; 2, 3, 4: expecting that ICW on the data port
  ic4 = false;
  single = false;
  ltim = false;
  autoEoi = false;
  rotateOnAeoi = false;
  sfnm = false;
  specialMask = false;
  readIsr = false;
  poll = false;
  lowest = 7;

  constructor(readonly isMaster: boolean, private readonly elcrMask: number) {}

  private levelMask(): number {
    return this.ltim ? 0xff : this.elcr;
  }

  setLine(irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (level) {
      if ((this.levelMask() & bit) !== 0 || (this.lines & bit) === 0) this.irr |= bit;
      this.lines |= bit;
    } else {
      this.lines &= ~bit;
      // A level-sensitive request goes away with its line; an edge stays latched.
      if ((this.levelMask() & bit) !== 0) this.irr &= ~bit;
    }
  }

  /** Highest-priority request not masked and not blocked by an in-service level, or -1. */
  highestPending(): number {
    const req = this.irr & ~this.imr;
    if (req === 0) return -1;
    let blocking = this.specialMask ? this.isr & ~this.imr : this.isr;
    // Special fully nested: the slave's input may interrupt its own in-service level.
    if (this.sfnm && this.isMaster) blocking &= ~this.icw3;
    for (let i = 1; i <= 8; i++) {
      const irq = (this.lowest + i) & 7;
      const bit = 1 << irq;
      if (blocking & bit) return -1;
      if (req & bit) return irq;
    }
    return -1;
  }

  /** INTA: the input being serviced, or -1 for a spurious request (reported as IR7). */
  acknowledge(): number {
    const irq = this.highestPending();
    if (irq < 0) return -1;
    const bit = 1 << irq;
    if (this.autoEoi) {
      if (this.rotateOnAeoi) this.lowest = irq;
    } else {
      this.isr |= bit;
    }
    if ((this.levelMask() & bit) === 0) this.irr &= ~bit;
    return irq;
  }

  private highestInService(): number {
    for (let i = 1; i <= 8; i++) {
      const irq = (this.lowest + i) & 7;
      if (this.isr & (1 << irq)) return irq;
    }
    return -1;
  }

  writeCommand(v: number): void {
    if (v & 0x10) {
      // ICW1: starts initialization. The edge-sense latches are reset too, so an input that is
      // high counts as a new edge when its device next raises it (as QEMU does).
      this.ic4 = (v & 1) !== 0;
      this.single = (v & 2) !== 0;
      this.ltim = (v & 8) !== 0;
      this.imr = 0;
      this.isr = 0;
      this.irr = 0;
      this.lines = 0;
      this.lowest = 7;
      this.specialMask = false;
      this.readIsr = false;
      this.poll = false;
      this.autoEoi = false;
      this.rotateOnAeoi = false;
      this.sfnm = false;
      this.initStep = 2;
      return;
    }
    if (v & 0x08) {
      // OCW3
      if (v & 0x04) this.poll = true;
      if (v & 0x02) this.readIsr = (v & 0x01) !== 0;
      if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
      return;
    }
    // OCW2
    const level = v & 7;
    switch (v >> 5) {
      case 0: this.rotateOnAeoi = false; break;
      case 4: this.rotateOnAeoi = true; break;
      case 1: case 5: { // non-specific EOI (5: and rotate)
        const irq = this.highestInService();
        if (irq >= 0) {
          this.isr &= ~(1 << irq);
          if (v >> 5 === 5) this.lowest = irq;
        }
        break;
      }
      case 3: this.isr &= ~(1 << level); break; // specific EOI
      case 7: this.isr &= ~(1 << level); this.lowest = level; break; // rotate on specific EOI
      case 6: this.lowest = level; break; // set priority
      default: break; // 2: no operation
    }
  }

  writeData(v: number): void {
    switch (this.initStep) {
      case 2:
        this.base = v & 0xf8;
        this.initStep = this.single ? (this.ic4 ? 4 : 0) : 3;
        return;
      case 3:
        this.icw3 = v;
        this.initStep = this.ic4 ? 4 : 0;
        return;
      case 4:
        this.autoEoi = (v & 2) !== 0;
        this.sfnm = (v & 0x10) !== 0;
        this.initStep = 0;
        return;
      default:
        this.imr = v;
    }
  }

  readCommand(): number {
    if (this.poll) {
      this.poll = false;
      const irq = this.acknowledge();
      return irq < 0 ? 0 : 0x80 | irq;
    }
    return this.readIsr ? this.isr : this.irr;
  }

  readData(): number {
    if (this.poll) return this.readCommand();
    return this.imr;
  }

  setElcr(v: number): void {
    this.elcr = v & this.elcrMask;
    // Inputs turned level-sensitive follow their lines from now on.
    this.irr = (this.irr & ~this.elcr) | (this.lines & this.elcr);
  }

  state(): PicChipState {
    return {
      irr: this.irr, isr: this.isr, imr: this.imr, lines: this.lines, vectorBase: this.base,
      elcr: this.elcr, initialized: this.initStep === 0, autoEoi: this.autoEoi,
      specialMask: this.specialMask, specialFullyNested: this.sfnm, lowestPriority: this.lowest,
      readRegister: this.readIsr ? 'isr' : 'irr',
    };
  }

  snapshot(): ChipSnapshot {
    return {
      irr: this.irr, isr: this.isr, imr: this.imr, lines: this.lines, base: this.base, icw3: this.icw3,
      elcr: this.elcr, initStep: this.initStep, ic4: this.ic4, single: this.single, ltim: this.ltim,
      autoEoi: this.autoEoi, rotateOnAeoi: this.rotateOnAeoi, sfnm: this.sfnm,
      specialMask: this.specialMask, readIsr: this.readIsr, poll: this.poll, lowest: this.lowest,
    };
  }

  restore(s: ChipSnapshot): void {
    Object.assign(this, s);
  }
}

export class Pic implements PortDevice {
  /** Called whenever the INTR output to the CPU changes level. */
  onOutput: (level: boolean) => void = () => {};

  private readonly master = new Chip(true, 0xf8); // IRQ 0-2 are always edge-triggered
  private readonly slave = new Chip(false, 0xde); // so are IRQ 8 and 13
  private intr = false;

  constructor() {
    this.reset();
  }

  /** The state a PC BIOS leaves: ICW1 0x11, vectors 0x08 and 0x70, cascade on IR2, 8086 mode. */
  reset(masterMask = 0xb8, slaveMask = 0x8e): void {
    const init = (c: Chip, base: number, icw3: number, mask: number): void => {
      c.writeCommand(0x11);
      c.writeData(base);
      c.writeData(icw3);
      c.writeData(0x01);
      c.writeData(mask);
    };
    init(this.master, 0x08, 0x04, masterMask);
    init(this.slave, 0x70, 0x02, slaveMask);
    this.master.setElcr(0x00);
    this.slave.setElcr(0x0c);
    this.update();
  }

  /** A device drives its IRQ line (0-15) high. Edge-triggered inputs latch on the rising edge. */
  raise(irq: number): void {
    this.setLine(irq, true);
  }

  lower(irq: number): void {
    this.setLine(irq, false);
  }

  /** Convenience for devices that report a level. */
  setLine(irq: number, level: boolean): void {
    if (irq < 8) this.master.setLine(irq, level);
    else this.slave.setLine(irq & 7, level);
    this.update();
  }

  /**
   * The CPU's interrupt acknowledge cycle: returns the vector and moves the request in service.
   * When the request went away between INTR and INTA the chip answers with its IR7 vector and sets
   * no in-service bit (a spurious IRQ 7, or 15 when the slave had nothing: the master's IR2 is then
   * in service and the guest must EOI the master only).
   */
  acknowledge(): number {
    let vector: number;
    const irq = this.master.acknowledge();
    if (irq < 0) {
      vector = this.master.base + 7;
    } else if (!this.master.single && (this.master.icw3 & (1 << irq)) !== 0) {
      const sirq = this.slave.acknowledge();
      vector = this.slave.base + (sirq < 0 ? 7 : sirq);
    } else {
      vector = this.master.base + irq;
    }
    this.update();
    return vector;
  }

  /** The vector an acknowledge would return now, or -1 when INTR is low. No side effects. */
  pendingVector(): number {
    const irq = this.master.highestPending();
    if (irq < 0) return -1;
    if (!this.master.single && (this.master.icw3 & (1 << irq)) !== 0) {
      const sirq = this.slave.highestPending();
      return this.slave.base + (sirq < 0 ? 7 : sirq);
    }
    return this.master.base + irq;
  }

  /** The INTR output level. */
  output(): boolean {
    return this.intr;
  }

  readonly accessSizes = 1;

  read(port: number, _size: PortSize): number {
    let v: number;
    switch (port) {
      case 0x20: v = this.master.readCommand(); break;
      case 0x21: v = this.master.readData(); break;
      case 0xa0: v = this.slave.readCommand(); break;
      case 0xa1: v = this.slave.readData(); break;
      case 0x4d0: return this.master.elcr;
      case 0x4d1: return this.slave.elcr;
      default: return 0xff;
    }
    this.update(); // a poll read acknowledges
    return v;
  }

  write(port: number, _size: PortSize, value: number): void {
    switch (port) {
      case 0x20: this.master.writeCommand(value); break;
      case 0x21: this.master.writeData(value); break;
      case 0xa0: this.slave.writeCommand(value); break;
      case 0xa1: this.slave.writeData(value); break;
      case 0x4d0: this.master.setElcr(value); break;
      case 0x4d1: this.slave.setElcr(value); break;
      default: return;
    }
    this.update();
  }

  state(): PicState {
    return {
      master: this.master.state(), slave: this.slave.state(), intr: this.intr,
      pendingVector: this.pendingVector(),
    };
  }

  snapshot(): PicSnapshot {
    return { master: this.master.snapshot(), slave: this.slave.snapshot(), intr: this.intr };
  }

  restore(s: PicSnapshot): void {
    this.master.restore(s.master);
    this.slave.restore(s.slave);
    this.intr = s.intr;
    this.update();
  }

  private update(): void {
    // The slave's INT output drives the master's IR2. While it is high every update counts as an
    // edge, so a request that arrives while IR2 is in service is not lost (QEMU does the same).
    const slaveInt = this.slave.highestPending() >= 0;
    const cascade = 1 << 2;
    if (slaveInt) {
      this.master.irr |= cascade;
      this.master.lines |= cascade;
    } else {
      this.master.lines &= ~cascade;
    }
    const out = this.master.highestPending() >= 0;
    if (out !== this.intr) {
      this.intr = out;
      this.onOutput(out);
    }
  }
}
