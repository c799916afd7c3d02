// A minimal 8042 keyboard controller (data 0x60, status/command 0x64) with a PS/2 keyboard behind
// it, and the "fast A20" system control port A (0x92).
//
// The A20 gate is one line driven by two sources: output port bit 1 of the 8042 (command 0xD1,
// 0xDD, 0xDF) and port 0x92 bit 1. The last write from either sets it, as in QEMU, and both read
// back the line's current state. Replies to controller commands take the output buffer ahead of
// keyboard bytes, so a guest that asks for the command byte gets it even with keys pending.
// The A20 line of FastA20 (0x92) is shared with the 8042 when it is given the controller.
// No auxiliary (mouse) device is attached: bytes sent to it with 0xD4 are dropped.

import type { PortDevice, PortSize } from './ports';
import { asciiToScancodes } from './scancodes';

export { asciiToScancodes, charToScancodes } from './scancodes';

type Source = 'ctrl' | 'reply' | 'key';

interface OutByte {
  value: number;
  aux: boolean;
  src: Source;
}

const ST_OBF = 0x01;
const ST_SYS = 0x04;
const ST_CMD = 0x08;
const ST_UNLOCKED = 0x10;
const ST_AUX_OBF = 0x20;

const CB_KBD_INT = 0x01;
const CB_AUX_INT = 0x02;
const CB_SYS = 0x04;
const CB_KBD_DISABLED = 0x10;
const CB_AUX_DISABLED = 0x20;
const CB_TRANSLATE = 0x40;

const ACK = 0xfa;
const RESEND = 0xfe;

// What the 8042's set-2-to-set-1 translation does to the few keyboard replies that are not ACKs.
const TRANSLATED: Record<number, number> = { 0x01: 0x43, 0x02: 0x41, 0x03: 0x3f, 0x83: 0x41 };

export interface Ps2Snapshot {
  commandByte: number; outputPort: number; a20: boolean; sys: boolean; lastWasCommand: boolean;
  out: OutByte | null; ctrlQueue: OutByte[]; replies: number[]; keys: number[];
  pendingCommand: number; kbdPending: number; scanning: boolean; leds: number; scancodeSet: number;
  typematic: number; lastSent: number; ram: number[]; irq1: boolean; irq12: boolean;
}

export class Ps2Controller implements PortDevice {
  /** The A20 gate changed (from 0xD1, 0xDD, 0xDF here, or port 0x92). */
  onA20: (enabled: boolean) => void = () => {};
  /** The guest pulsed the CPU reset line (0xFE, 0xD1 with bit 0 clear, or port 0x92 bit 0). */
  onReset: () => void = () => {};
  /** IRQ1: a keyboard byte waits in the output buffer and the command byte enables its interrupt. */
  onIrq: (level: boolean) => void = () => {};
  /** IRQ12: the same for auxiliary-device bytes (only those placed with command 0xD3 here). */
  onIrq12: (level: boolean) => void = () => {};

  readonly accessSizes = 1;

  private commandByte = 0;
  private outputPort = 0;
  private a20 = true;
  private sys = true;
  private lastWasCommand = false;
  private out: OutByte | null = null;
  private ctrlQueue: OutByte[] = [];
  private replies: number[] = [];
  private keys: number[] = [];
  private pendingCommand = 0; // controller command waiting for its data byte
  private kbdPending = 0; // keyboard command waiting for its parameter
  private scanning = true;
  private leds = 0;
  private scancodeSet = 2;
  private typematic = 0x2b;
  private lastSent = 0;
  private ram = new Array<number>(32).fill(0);
  private irq1 = false;
  private irq12 = false;

  constructor() {
    this.reset();
  }

  /** The state SeaBIOS leaves: command byte 0x61 (IRQ1 on, mouse off, translation), A20 on. */
  reset(): void {
    this.commandByte = CB_KBD_INT | CB_AUX_DISABLED | CB_TRANSLATE;
    this.outputPort = 0xcf;
    this.sys = true;
    this.lastWasCommand = true;
    this.out = null;
    this.ctrlQueue = [];
    this.replies = [];
    this.keys = [];
    this.pendingCommand = 0;
    this.kbdPending = 0;
    this.resetKeyboard();
    this.ram = new Array<number>(32).fill(0);
    this.updateIrq();
    this.setA20(true);
  }

  // ---- host side

  /** Type text (or raw stdin bytes): translated to set-1 make/break codes and queued. */
  pressKey(text: string | Uint8Array): void {
    this.sendScancodes(asciiToScancodes(text));
  }

  /** Queue raw scan code bytes as if the keyboard sent them (dropped while scanning is off). */
  sendScancodes(bytes: readonly number[] | Uint8Array): void {
    if (!this.scanning) return;
    for (const b of bytes) this.keys.push(b & 0xff);
    this.fill();
  }

  /** Scan code bytes not yet read by the guest. */
  pendingKeys(): number {
    return this.keys.length + (this.out?.src === 'key' ? 1 : 0);
  }

  /** Current A20 gate state. */
  a20Enabled(): boolean {
    return this.a20;
  }

  /** Drive the A20 line; notifies onA20 when it changes. */
  setA20(enabled: boolean): void {
    const changed = enabled !== this.a20;
    this.a20 = enabled;
    if (changed) this.onA20(enabled);
  }

  /** Record an A20 change made by another source (port 0x92) without notifying onA20. */
  syncA20(enabled: boolean): void {
    this.a20 = enabled;
  }

  /** Keyboard LEDs as last set by the guest (bit 0 scroll, 1 num, 2 caps lock). */
  keyboardLeds(): number {
    return this.leds;
  }

  // ---- ports

  read(port: number, _size: PortSize): number {
    if (port === 0x64) return this.status();
    if (port !== 0x60) return 0xff;
    if (this.out === null) return this.lastSent; // reading an empty buffer repeats the last byte
    const v = this.out.value;
    this.lastSent = v;
    this.out = null;
    this.updateIrq(); // the line drops, and rises again if another byte is waiting: a new edge
    this.fill();
    return v;
  }

  write(port: number, _size: PortSize, value: number): void {
    if (port === 0x64) {
      this.lastWasCommand = true;
      this.command(value);
    } else if (port === 0x60) {
      this.lastWasCommand = false;
      this.data(value);
    }
  }

  snapshot(): Ps2Snapshot {
    return {
      commandByte: this.commandByte, outputPort: this.outputPort, a20: this.a20, sys: this.sys,
      lastWasCommand: this.lastWasCommand, out: this.out && { ...this.out },
      ctrlQueue: this.ctrlQueue.map((b) => ({ ...b })), replies: [...this.replies], keys: [...this.keys],
      pendingCommand: this.pendingCommand, kbdPending: this.kbdPending, scanning: this.scanning,
      leds: this.leds, scancodeSet: this.scancodeSet, typematic: this.typematic, lastSent: this.lastSent,
      ram: [...this.ram], irq1: this.irq1, irq12: this.irq12,
    };
  }

  restore(s: Ps2Snapshot): void {
    Object.assign(this, {
      ...s, out: s.out && { ...s.out }, ctrlQueue: s.ctrlQueue.map((b) => ({ ...b })),
      replies: [...s.replies], keys: [...s.keys], ram: [...s.ram],
    });
  }

  // ---- controller

  private status(): number {
    let v = ST_UNLOCKED;
    if (this.out) v |= this.out.aux ? ST_OBF | ST_AUX_OBF : ST_OBF;
    if (this.sys) v |= ST_SYS;
    if (this.lastWasCommand) v |= ST_CMD;
    return v;
  }

  private outputPortValue(): number {
    let v = this.outputPort & ~0x32;
    if (this.a20) v |= 0x02;
    if (this.out && !this.out.aux) v |= 0x10;
    if (this.out && this.out.aux) v |= 0x20;
    return v;
  }

  private reply(value: number, aux = false): void {
    // Controller replies go first: a keyboard byte not yet read waits behind them.
    if (this.out && this.out.src !== 'ctrl') {
      if (this.out.src === 'key') this.keys.unshift(this.out.value);
      else this.replies.unshift(this.out.value);
      this.out = null;
      this.updateIrq();
    }
    this.ctrlQueue.push({ value, aux, src: 'ctrl' });
    this.fill();
  }

  private command(cmd: number): void {
    this.pendingCommand = 0;
    if (cmd === 0x20) return this.reply(this.commandByte);
    if (cmd > 0x20 && cmd <= 0x3f) return this.reply(this.ram[cmd & 0x1f]);
    if (cmd >= 0x60 && cmd <= 0x7f) {
      this.pendingCommand = cmd;
      return;
    }
    switch (cmd) {
      case 0xa4: return this.reply(0xf1); // no password installed
      case 0xa7: this.setCommandByte(this.commandByte | CB_AUX_DISABLED); return;
      case 0xa8: this.setCommandByte(this.commandByte & ~CB_AUX_DISABLED); return;
      case 0xa9: return this.reply(0x00); // auxiliary interface test: OK
      case 0xaa:
        this.sys = true;
        return this.reply(0x55); // self test passed
      case 0xab: return this.reply(0x00); // keyboard interface test: OK
      case 0xad: this.setCommandByte(this.commandByte | CB_KBD_DISABLED); return;
      case 0xae: this.setCommandByte(this.commandByte & ~CB_KBD_DISABLED); return;
      case 0xc0: return this.reply(0x80); // input port: keyboard not inhibited
      case 0xd0: return this.reply(this.outputPortValue());
      case 0xd1: case 0xd2: case 0xd3: case 0xd4:
        this.pendingCommand = cmd;
        return;
      case 0xdd: this.setA20(false); return;
      case 0xdf: this.setA20(true); return;
      case 0xe0: return this.reply(0x00); // test inputs
      default:
        // 0xF0-0xFF pulse output port lines low for 6 us; bit 0 low pulses the CPU reset line.
        if (cmd >= 0xf0 && (cmd & 1) === 0) this.onReset();
    }
  }

  private data(v: number): void {
    const cmd = this.pendingCommand;
    this.pendingCommand = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
      if (cmd === 0x60) this.setCommandByte(v);
      else this.ram[cmd & 0x1f] = v;
      return;
    }
    switch (cmd) {
      case 0xd1:
        this.outputPort = v;
        this.setA20((v & 2) !== 0);
        if ((v & 1) === 0) this.onReset();
        return;
      case 0xd2: return this.reply(v);
      case 0xd3: return this.reply(v, true);
      case 0xd4: return; // no auxiliary device
      default: this.keyboardCommand(v);
    }
  }

  private setCommandByte(v: number): void {
    this.commandByte = v;
    this.ram[0] = v;
    if (v & CB_SYS) this.sys = true;
    this.updateIrq();
    this.fill(); // re-enabling the keyboard lets queued bytes through
  }

  // ---- keyboard

  private resetKeyboard(): void {
    this.scanning = true;
    this.leds = 0;
    this.scancodeSet = 2;
    this.typematic = 0x2b;
  }

  private kbdReply(...bytes: number[]): void {
    const translate = (this.commandByte & CB_TRANSLATE) !== 0;
    for (const b of bytes) this.replies.push(translate && b !== ACK ? (TRANSLATED[b] ?? b) : b);
    this.fill();
  }

  private keyboardCommand(v: number): void {
    const pending = this.kbdPending;
    this.kbdPending = 0;
    if (pending === 0xed) {
      this.leds = v & 7;
      return this.kbdReply(ACK);
    }
    if (pending === 0xf3) {
      this.typematic = v & 0x7f;
      return this.kbdReply(ACK);
    }
    if (pending === 0xf0) {
      if (v === 0) return this.kbdReply(ACK, this.scancodeSet);
      if (v <= 3) {
        this.scancodeSet = v;
        return this.kbdReply(ACK);
      }
      return this.kbdReply(RESEND);
    }
    switch (v) {
      case 0xed: case 0xf0: case 0xf3:
        this.kbdPending = v;
        return this.kbdReply(ACK);
      case 0xee: return this.kbdReply(0xee); // echo
      case 0xf2: return this.kbdReply(ACK, 0xab, 0x83); // MF2 keyboard
      case 0xf4:
        this.scanning = true;
        return this.kbdReply(ACK);
      case 0xf5:
        this.resetKeyboard();
        this.scanning = false;
        return this.kbdReply(ACK);
      case 0xf6:
        this.resetKeyboard();
        return this.kbdReply(ACK);
      case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
        return this.kbdReply(ACK); // set-3 key modes: accepted
      case 0xfe:
        this.replies.push(this.lastSent);
        return this.fill();
      case 0xff:
        this.keys = [];
        this.replies = [];
        if (this.out?.src === 'key') {
          this.out = null;
          this.updateIrq();
        }
        this.resetKeyboard();
        return this.kbdReply(ACK, 0xaa); // self test passed
      default:
        return this.kbdReply(RESEND);
    }
  }

  // ---- output buffer

  /** Load the output buffer if it is empty: controller replies, then keyboard replies, then keys. */
  private fill(): void {
    if (this.out) return;
    if (this.ctrlQueue.length > 0) this.out = this.ctrlQueue.shift()!;
    else if ((this.commandByte & CB_KBD_DISABLED) === 0) {
      if (this.replies.length > 0) this.out = { value: this.replies.shift()!, aux: false, src: 'reply' };
      else if (this.keys.length > 0) this.out = { value: this.keys.shift()!, aux: false, src: 'key' };
    }
    this.updateIrq();
  }

  private updateIrq(): void {
    const kbd = this.out !== null && !this.out.aux && (this.commandByte & CB_KBD_INT) !== 0;
    const aux = this.out !== null && this.out.aux && (this.commandByte & CB_AUX_INT) !== 0;
    if (kbd !== this.irq1) {
      this.irq1 = kbd;
      this.onIrq(kbd);
    }
    if (aux !== this.irq12) {
      this.irq12 = aux;
      this.onIrq12(aux);
    }
  }
}

export interface FastA20Snapshot {
  value: number;
  a20: boolean;
}

/**
 * System control port A (0x92): bit 1 = A20 gate, bit 0 = fast CPU reset (bit 0 reads back 0: the
 * reset it asks for happens at once). Linked to the 8042, it shares the A20 line: a write here
 * updates what 0xD0 reports and a 0xD1 write there shows here.
 */
export class FastA20 implements PortDevice {
  /** A write changed the A20 gate. */
  onA20: (enabled: boolean) => void = () => {};
  /** The guest set bit 0. */
  onReset: () => void = () => {};

  readonly accessSizes = 1;
  private value = 0;
  private a20 = true;

  constructor(private readonly kbc?: Ps2Controller) {}

  reset(): void {
    this.value = 0;
    this.a20 = true;
  }

  /** The A20 line as this port sees it. */
  a20Enabled(): boolean {
    return this.kbc ? this.kbc.a20Enabled() : this.a20;
  }

  read(_port: number, _size: PortSize): number {
    return (this.value & ~0x03) | (this.a20Enabled() ? 0x02 : 0);
  }

  write(_port: number, _size: PortSize, value: number): void {
    const on = (value & 0x02) !== 0;
    const changed = on !== this.a20Enabled();
    this.value = value & ~0x01;
    this.a20 = on;
    this.kbc?.syncA20(on);
    if (changed) this.onA20(on);
    if ((value & 0x01) !== 0) this.onReset();
  }

  snapshot(): FastA20Snapshot {
    return { value: this.value, a20: this.a20 };
  }

  restore(s: FastA20Snapshot): void {
    this.value = s.value;
    this.a20 = s.a20;
  }
}
