// A 16550A UART (COM1 at 0x3F8, IRQ4 on a PC).
//
// Transmission is instant: a byte written to THR goes to onTransmit at once, so LSR always shows
// THRE and TEMT, and a THR-empty interrupt becomes pending right after each write. Input from the
// host waits in a backlog and moves into the receive FIFO (16 bytes, or the 1-byte holding
// register with the FIFO off) when the guest looks at the UART; the host is thus flow-controlled
// and no input is lost to overrun, and a FIFO reset during the guest's UART setup drops nothing
// the guest could not yet have seen. With the FIFO on and fewer bytes than the trigger level the
// character-timeout interrupt (IIR 0x0C) is reported at once rather than after four character
// times. The IRQ output is not gated by MCR OUT2, as in QEMU (set gateIrqWithOut2 to gate it).

import type { PortDevice, PortSize } from './ports';

const IIR_NONE = 0x01;
const IIR_MSR = 0x00;
const IIR_THRE = 0x02;
const IIR_RDA = 0x04;
const IIR_RLS = 0x06;
const IIR_TIMEOUT = 0x0c;

const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

const TRIGGER_LEVELS = [1, 4, 8, 14];

export interface UartSnapshot {
  ier: number; lcr: number; mcr: number; scr: number; dll: number; dlm: number;
  fifoEnabled: boolean; trigger: number; thrPending: boolean; overrun: boolean;
  msr: number; rbr: number; fifo: number[]; backlog: number[]; irq: boolean;
}

export class Uart implements PortDevice {
  /** A byte the guest transmitted. */
  onTransmit: (byte: number) => void = () => {};
  /** The interrupt output; reported on every re-evaluation (the PIC keeps only edges). */
  onIrq: (level: boolean) => void = () => {};
  /** Real PCs gate the UART's interrupt with MCR OUT2; QEMU does not. */
  gateIrqWithOut2 = false;

  readonly accessSizes = 1;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  private fifoEnabled = false;
  private trigger = 1;
  private thrPending = false;
  private overrun = false;
  private msr = 0; // bits 0-3 deltas, 4-7 lines
  private rbr = 0; // last byte read (a read of an empty RBR returns it again)
  private fifo: number[] = [];
  private backlog: number[] = [];
  private irq = false;

  constructor(readonly base = 0x3f8) {
    this.reset();
  }

  /** The state SeaBIOS leaves COM1 in: 9600 baud divisor, OUT2 set, CTS/DSR/DCD asserted. */
  reset(): void {
    this.ier = 0;
    this.lcr = 0;
    this.mcr = 0x08;
    this.scr = 0;
    this.dll = 0x0c;
    this.dlm = 0;
    this.fifoEnabled = false;
    this.trigger = 1;
    this.thrPending = false;
    this.overrun = false;
    this.msr = 0xb0;
    this.rbr = 0;
    this.fifo = [];
    this.backlog = [];
    this.update();
  }

  /** Input from the host: bytes the guest will read from RBR, in order. */
  receive(bytes: Uint8Array | readonly number[] | number): void {
    if (typeof bytes === 'number') this.backlog.push(bytes & 0xff);
    else for (const b of bytes) this.backlog.push(b & 0xff);
    this.update();
  }

  /** Bytes received and not yet read by the guest. */
  pendingInput(): number {
    return this.fifo.length + this.backlog.length;
  }

  /** The divisor latch (115200 / divisor = baud). */
  divisor(): number {
    return (this.dlm << 8) | this.dll;
  }

  read(port: number, _size: PortSize): number {
    switch (port - this.base) {
      case 0: {
        if (this.lcr & 0x80) return this.dll;
        this.pull();
        if (this.fifo.length > 0) this.rbr = this.fifo.shift()!;
        this.update();
        return this.rbr;
      }
      case 1:
        return this.lcr & 0x80 ? this.dlm : this.ier;
      case 2: {
        this.pull();
        const id = this.interruptId();
        if (id === IIR_THRE) this.thrPending = false; // reading IIR acknowledges THRE
        this.update();
        return id | (this.fifoEnabled ? 0xc0 : 0);
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        this.pull();
        const v = (this.fifo.length > 0 ? LSR_DR : 0) | (this.overrun ? LSR_OE : 0) | LSR_THRE | LSR_TEMT;
        this.overrun = false;
        this.update();
        return v;
      }
      case 6: {
        const v = this.msr;
        this.msr &= 0xf0;
        this.update();
        return v;
      }
      case 7:
        return this.scr;
      default:
        return 0xff;
    }
  }

  write(port: number, _size: PortSize, value: number): void {
    switch (port - this.base) {
      case 0:
        if (this.lcr & 0x80) {
          this.dll = value;
          return;
        }
        this.transmit(value);
        break;
      case 1:
        if (this.lcr & 0x80) {
          this.dlm = value;
          return;
        }
        // Enabling the THRE interrupt while THR is empty (always, here) makes it pending.
        if ((value & 2) !== 0 && (this.ier & 2) === 0) this.thrPending = true;
        this.ier = value & 0x0f;
        break;
      case 2: {
        const enable = (value & 1) !== 0;
        if (enable !== this.fifoEnabled) this.fifo = []; // toggling the FIFO clears it
        this.fifoEnabled = enable;
        if (enable) {
          if (value & 2) this.fifo = [];
          this.trigger = TRIGGER_LEVELS[value >> 6];
        }
        break;
      }
      case 3:
        this.lcr = value;
        return;
      case 4:
        this.setMcr(value & 0x1f);
        break;
      case 7:
        this.scr = value;
        return;
      default:
        return; // LSR and MSR are read-only
    }
    this.update();
  }

  snapshot(): UartSnapshot {
    return {
      ier: this.ier, lcr: this.lcr, mcr: this.mcr, scr: this.scr, dll: this.dll, dlm: this.dlm,
      fifoEnabled: this.fifoEnabled, trigger: this.trigger, thrPending: this.thrPending,
      overrun: this.overrun, msr: this.msr, rbr: this.rbr, fifo: [...this.fifo],
      backlog: [...this.backlog], irq: this.irq,
    };
  }

  restore(s: UartSnapshot): void {
    Object.assign(this, { ...s, fifo: [...s.fifo], backlog: [...s.backlog] });
  }

  private loopback(): boolean {
    return (this.mcr & 0x10) !== 0;
  }

  private capacity(): number {
    return this.fifoEnabled ? 16 : 1;
  }

  /** Host input arrives as room frees up (not in loopback, where the input is disconnected). */
  private pull(): void {
    if (this.loopback()) return;
    const cap = this.capacity();
    while (this.fifo.length < cap && this.backlog.length > 0) this.fifo.push(this.backlog.shift()!);
  }

  private transmit(byte: number): void {
    if (this.loopback()) {
      if (this.fifo.length < this.capacity()) this.fifo.push(byte);
      else this.overrun = true;
    } else {
      this.onTransmit(byte);
    }
    this.thrPending = true; // THR is empty again at once
  }

  private setMcr(value: number): void {
    this.mcr = value;
    // In loopback the modem inputs follow the outputs: CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2.
    const lines = this.loopback()
      ? ((value & 2) << 3) | ((value & 1) << 5) | ((value & 4) << 4) | ((value & 8) << 4)
      : 0xb0;
    const old = this.msr & 0xf0;
    let delta = this.msr & 0x0f;
    const changed = old ^ lines;
    if (changed & 0x10) delta |= 0x01;
    if (changed & 0x20) delta |= 0x02;
    if (old & 0x40 && !(lines & 0x40)) delta |= 0x04; // RI trailing edge
    if (changed & 0x80) delta |= 0x08;
    this.msr = lines | delta;
  }

  /** IIR bits 0-3, by priority: line status, received data / timeout, THR empty, modem status. */
  private interruptId(): number {
    if (this.ier & 4 && this.overrun) return IIR_RLS;
    if (this.ier & 1 && this.fifo.length > 0) {
      return this.fifoEnabled && this.fifo.length < this.trigger ? IIR_TIMEOUT : IIR_RDA;
    }
    if (this.ier & 2 && this.thrPending) return IIR_THRE;
    if (this.ier & 8 && this.msr & 0x0f) return IIR_MSR;
    return IIR_NONE;
  }

  private update(): void {
    if (this.ier & 1) this.pull(); // a received-data interrupt needs the data to have arrived
    let level = this.interruptId() !== IIR_NONE;
    if (this.gateIrqWithOut2 && (this.mcr & 0x08) === 0) level = false;
    this.irq = level;
    this.onIrq(level);
  }
}
