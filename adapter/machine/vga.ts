// VGA in 80x25 colour text mode (mode 03h).
//
// The character/attribute pairs live in guest RAM at 0xB8000 (read through the `memory` view, so
// they are part of memory snapshots); this device holds the registers: CRTC (0x3D4/0x3D5, mirrored
// at 0x3B4/0x3B5) with the cursor and the display start address, misc output (write 0x3C2, read
// 0x3CC), input status 1 (0x3DA), and the sequencer, graphics controller, attribute controller and
// DAC, whose values are kept and read back but change nothing: only text mode is displayed.
// Input status 1 toggles its retrace bits on every read, so both "wait for retrace" and "wait for
// the end of retrace" loops finish, the same way in every run.

import type { PortBus, PortDevice, PortSize } from './ports';

export const TEXT_BASE = 0xb8000;
export const COLS = 80;
export const ROWS = 25;

/** Code page 437 to Unicode: control codes show as CP437's glyphs, NUL and 0xFF as spaces. */
export const CP437: readonly string[] = (() => {
  const low = ' ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼';
  const high =
    'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»' +
    '░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
    'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ';
  const t: string[] = [];
  for (let i = 0; i < 256; i++) {
    if (i < 0x20) t.push(low[i]);
    else if (i < 0x7f) t.push(String.fromCharCode(i));
    else if (i === 0x7f) t.push('⌂');
    else t.push(high[i - 0x80]);
  }
  return t;
})();

export interface VgaCell {
  /** The character as Unicode. */
  ch: string;
  /** The CP437 code in memory. */
  code: number;
  /** Attribute byte: bits 0-3 foreground, 4-6 background, 7 blink (or bright background). */
  attr: number;
}

export interface VgaSnapshot {
  crtcIndex: number; crtc: number[]; misc: number; seqIndex: number; seq: number[];
  gcIndex: number; gc: number[]; attrIndex: number; attrFlip: boolean; attr: number[];
  dacWrite: number; dacRead: number; dacComponent: number; dacState: number; dac: number[];
  pelMask: number; feature: number; retrace: boolean;
}

// Mode 03h register values (the CRTC ones as SeaBIOS's VGA BIOS leaves them).
const CRTC_MODE3 = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
  0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
const SEQ_MODE3 = [0x03, 0x00, 0x03, 0x00, 0x02];
const GC_MODE3 = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff];
const ATTR_MODE3 = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x0c, 0x00, 0x0f, 0x08, 0x00,
];

export class VgaText implements PortDevice {
  readonly accessSizes = 1;

  private crtcIndex = 0;
  private crtc: number[] = [];
  private misc = 0x67;
  private seqIndex = 0;
  private seq: number[] = [];
  private gcIndex = 0;
  private gc: number[] = [];
  private attrIndex = 0;
  private attrFlip = false; // false: the next 0x3C0 write is an index
  private attr: number[] = [];
  private dacWrite = 0;
  private dacRead = 0;
  private dacComponent = 0;
  private dacState = 0; // 0x3C7 read: 0 = write mode, 3 = read mode
  private dac: number[] = [];
  private pelMask = 0xff;
  private feature = 0;
  private retrace = false;

  /** `memory` returns a view of guest RAM from physical address 0. */
  constructor(private readonly memory: () => Uint8Array) {
    this.reset();
  }

  reset(): void {
    this.crtcIndex = 0;
    this.crtc = [...CRTC_MODE3];
    this.misc = 0x67;
    this.seqIndex = 0;
    this.seq = [...SEQ_MODE3];
    this.gcIndex = 0;
    this.gc = [...GC_MODE3];
    this.attrIndex = 0x20;
    this.attrFlip = false;
    this.attr = [...ATTR_MODE3];
    this.dacWrite = 0;
    this.dacRead = 0;
    this.dacComponent = 0;
    this.dacState = 0;
    this.dac = new Array<number>(768).fill(0);
    this.pelMask = 0xff;
    this.feature = 0;
    this.retrace = false;
  }

  /** Register the VGA's ports on a bus. */
  register(bus: PortBus): void {
    bus.register(0x3b4, 2, this, 'vga-crtc-mono');
    bus.register(0x3ba, 1, this, 'vga-status-mono');
    bus.register(0x3c0, 16, this, 'vga');
    bus.register(0x3d4, 2, this, 'vga-crtc');
    bus.register(0x3da, 1, this, 'vga-status');
  }

  // ---- the screen

  /** Display start in characters (CRTC 0x0C/0x0D). */
  startAddress(): number {
    return (this.crtc[0x0c] << 8) | this.crtc[0x0d];
  }

  /** The 25 text lines, CP437 mapped to Unicode, trailing spaces trimmed. */
  screenText(): string[] {
    const mem = this.memory();
    const start = this.startAddress();
    const lines: string[] = [];
    for (let r = 0; r < ROWS; r++) {
      let s = '';
      for (let c = 0; c < COLS; c++) s += CP437[mem[this.cellAddress(start + r * COLS + c)] ?? 0];
      lines.push(s.replace(/ +$/, ''));
    }
    return lines;
  }

  /** Cursor position relative to the display start (may lie off screen when the guest puts it there). */
  cursor(): { row: number; col: number } {
    const pos = ((this.crtc[0x0e] << 8) | this.crtc[0x0f]) - this.startAddress();
    return { row: Math.floor(pos / COLS), col: ((pos % COLS) + COLS) % COLS };
  }

  /** Cursor shape (scan lines) and whether it is shown (CRTC 0x0A bit 5 hides it). */
  cursorShape(): { start: number; end: number; visible: boolean } {
    const start = this.crtc[0x0a] & 0x1f;
    const end = this.crtc[0x0b] & 0x1f;
    return { start, end, visible: (this.crtc[0x0a] & 0x20) === 0 && start <= end };
  }

  /** Every cell of the screen, row by row, for the panel. */
  cells(): VgaCell[][] {
    const mem = this.memory();
    const start = this.startAddress();
    const rows: VgaCell[][] = [];
    for (let r = 0; r < ROWS; r++) {
      const row: VgaCell[] = [];
      for (let c = 0; c < COLS; c++) {
        const a = this.cellAddress(start + r * COLS + c);
        const code = mem[a] ?? 0;
        row.push({ ch: CP437[code], code, attr: mem[a + 1] ?? 0 });
      }
      rows.push(row);
    }
    return rows;
  }

  /** Physical address of a character cell; the text window is the 32 KiB at 0xB8000. */
  private cellAddress(index: number): number {
    return TEXT_BASE + ((index * 2) & 0x7fff);
  }

  // ---- ports

  read(port: number, _size: PortSize): number {
    const mono = (this.misc & 1) === 0;
    switch (port) {
      case 0x3b5: return mono ? this.crtcRead() : 0xff;
      case 0x3d5: return mono ? 0xff : this.crtcRead();
      case 0x3b4: return mono ? this.crtcIndex : 0xff;
      case 0x3d4: return mono ? 0xff : this.crtcIndex;
      case 0x3ba: return mono ? this.inputStatus1() : 0xff;
      case 0x3da: return mono ? 0xff : this.inputStatus1();
      case 0x3c0: return this.attrIndex;
      case 0x3c1: return this.attr[this.attrIndex & 0x1f] ?? 0;
      case 0x3c2: return 0x10; // input status 0: switch sense
      case 0x3c4: return this.seqIndex;
      case 0x3c5: return this.seq[this.seqIndex] ?? 0xff;
      case 0x3c6: return this.pelMask;
      case 0x3c7: return this.dacState;
      case 0x3c8: return this.dacWrite;
      case 0x3c9: {
        const v = this.dac[this.dacRead * 3 + this.dacComponent];
        if (++this.dacComponent === 3) {
          this.dacComponent = 0;
          this.dacRead = (this.dacRead + 1) & 0xff;
        }
        return v;
      }
      case 0x3ca: return this.feature;
      case 0x3cc: return this.misc;
      case 0x3ce: return this.gcIndex;
      case 0x3cf: return this.gc[this.gcIndex] ?? 0xff;
      default: return 0xff;
    }
  }

  write(port: number, _size: PortSize, value: number): void {
    const mono = (this.misc & 1) === 0;
    switch (port) {
      case 0x3b4: if (mono) this.crtcIndex = value; return;
      case 0x3d4: if (!mono) this.crtcIndex = value; return;
      case 0x3b5: if (mono) this.crtcWrite(value); return;
      case 0x3d5: if (!mono) this.crtcWrite(value); return;
      case 0x3ba: case 0x3da:
        this.feature = value;
        return;
      case 0x3c0:
        if (!this.attrFlip) this.attrIndex = value & 0x3f;
        else if ((this.attrIndex & 0x1f) < this.attr.length) this.attr[this.attrIndex & 0x1f] = value;
        this.attrFlip = !this.attrFlip;
        return;
      case 0x3c2: this.misc = value; return;
      case 0x3c4: this.seqIndex = value & 7; return;
      case 0x3c5: if (this.seqIndex < this.seq.length) this.seq[this.seqIndex] = value; return;
      case 0x3c6: this.pelMask = value; return;
      case 0x3c7:
        this.dacRead = value;
        this.dacComponent = 0;
        this.dacState = 3;
        return;
      case 0x3c8:
        this.dacWrite = value;
        this.dacComponent = 0;
        this.dacState = 0;
        return;
      case 0x3c9:
        this.dac[this.dacWrite * 3 + this.dacComponent] = value & 0x3f;
        if (++this.dacComponent === 3) {
          this.dacComponent = 0;
          this.dacWrite = (this.dacWrite + 1) & 0xff;
        }
        return;
      case 0x3ce: this.gcIndex = value & 0x0f; return;
      case 0x3cf: if (this.gcIndex < this.gc.length) this.gc[this.gcIndex] = value; return;
      default: return;
    }
  }

  snapshot(): VgaSnapshot {
    return {
      crtcIndex: this.crtcIndex, crtc: [...this.crtc], misc: this.misc, seqIndex: this.seqIndex,
      seq: [...this.seq], gcIndex: this.gcIndex, gc: [...this.gc], attrIndex: this.attrIndex,
      attrFlip: this.attrFlip, attr: [...this.attr], dacWrite: this.dacWrite, dacRead: this.dacRead,
      dacComponent: this.dacComponent, dacState: this.dacState, dac: [...this.dac],
      pelMask: this.pelMask, feature: this.feature, retrace: this.retrace,
    };
  }

  restore(s: VgaSnapshot): void {
    Object.assign(this, {
      ...s, crtc: [...s.crtc], seq: [...s.seq], gc: [...s.gc], attr: [...s.attr], dac: [...s.dac],
    });
  }

  private crtcRead(): number {
    return this.crtc[this.crtcIndex] ?? 0xff;
  }

  private crtcWrite(value: number): void {
    const i = this.crtcIndex;
    if (i >= this.crtc.length) return;
    // CRTC 0x11 bit 7 write-protects registers 0-7 (except the line compare bit of 7).
    if (i <= 7 && this.crtc[0x11] & 0x80) {
      if (i === 7) this.crtc[7] = (this.crtc[7] & ~0x10) | (value & 0x10);
      return;
    }
    this.crtc[i] = value;
  }

  private inputStatus1(): number {
    this.attrFlip = false; // reading input status 1 resets the attribute controller flip-flop
    this.retrace = !this.retrace;
    return this.retrace ? 0x09 : 0x00; // bit 3 vertical retrace, bit 0 display disabled
  }
}
