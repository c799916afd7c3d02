// INT 10h: text-mode video services on the 80x25 buffer at 0xB8000, cursor kept in the BIOS data
// area and mirrored to the CRTC so the VGA device (and --vga) shows it.
import type { Cpu } from '../../cpu/cpu';
import { ES } from '../../cpu/insn';
import { type BiosEnv, ah, al, bh, bl, bx, ch, cl, cx, dh, dl, dx, setAX, setBX, setCX, setDX, linear } from './env';

const TEXT = 0xb8000, COLS = 80, ROWS = 25;
const BDA_CURSOR = 0x450, BDA_MODE = 0x449, BDA_COLS = 0x44a, BDA_PAGE = 0x462, BDA_CURSOR_SHAPE = 0x460;

export class Video {
  constructor(private readonly env: BiosEnv) {}

  private get mem(): Uint8Array { return this.env.ram; }

  /** Mode 03h: clear the screen and home the cursor. */
  reset(): void {
    const m = this.mem;
    for (let k = 0; k < COLS * ROWS; k++) { m[TEXT + 2 * k] = 0x20; m[TEXT + 2 * k + 1] = 0x07; }
    m[BDA_MODE] = 3;
    m[BDA_COLS] = COLS; m[BDA_COLS + 1] = 0;
    m[0x44c] = 0x00; m[0x44d] = 0x10; // page size 4096
    m[0x463] = 0xd4; m[0x464] = 0x03; // CRTC base 0x3D4
    m[0x484] = ROWS - 1;
    m[0x485] = 16;
    // Cursor lines 6-7 in CGA terms: what a VGA BIOS reports (AH=03h CX=0607h) for mode 03h.
    m[BDA_CURSOR_SHAPE] = 0x07; m[BDA_CURSOR_SHAPE + 1] = 0x06;
    m[BDA_PAGE] = 0;
    this.setCursor(0, 0);
    this.env.cpu.code.invalidatePage(TEXT >>> 12);
  }

  cursor(): { row: number; col: number } {
    return { col: this.mem[BDA_CURSOR], row: this.mem[BDA_CURSOR + 1] };
  }

  setCursor(row: number, col: number): void {
    this.mem[BDA_CURSOR] = col;
    this.mem[BDA_CURSOR + 1] = row;
    const pos = row * COLS + col;
    const p = this.env.ports;
    p.write(0x3d4, 1, 0x0e); p.write(0x3d5, 1, (pos >> 8) & 0xff);
    p.write(0x3d4, 1, 0x0f); p.write(0x3d5, 1, pos & 0xff);
  }

  private put(row: number, col: number, ch: number, attr?: number): void {
    const a = TEXT + 2 * (row * COLS + col);
    this.mem[a] = ch;
    if (attr !== undefined) this.mem[a + 1] = attr;
  }

  private scroll(top: number, left: number, bottom: number, right: number, lines: number, attr: number, up: boolean): void {
    const m = this.mem;
    const height = bottom - top + 1;
    if (lines === 0 || lines > height) lines = height;
    for (let k = 0; k < height; k++) {
      const row = up ? top + k : bottom - k;
      const src = up ? row + lines : row - lines;
      for (let col = left; col <= right; col++) {
        const d = TEXT + 2 * (row * COLS + col);
        if ((up && src <= bottom) || (!up && src >= top)) {
          const s = TEXT + 2 * (src * COLS + col);
          m[d] = m[s]; m[d + 1] = m[s + 1];
        } else {
          m[d] = 0x20; m[d + 1] = attr;
        }
      }
    }
  }

  /** Teletype output of one character (CR, LF, BS and BEL interpreted), scrolling at the bottom. */
  teletype(ch: number, attr?: number): void {
    let { row, col } = this.cursor();
    switch (ch) {
      case 0x0d: col = 0; break;
      case 0x0a: row++; break;
      case 0x08: if (col > 0) col--; break;
      case 0x07: break;
      default:
        this.put(row, col, ch, attr);
        if (++col >= COLS) { col = 0; row++; }
    }
    if (row >= ROWS) {
      this.scroll(0, 0, ROWS - 1, COLS - 1, 1, 0x07, true);
      row = ROWS - 1;
    }
    this.setCursor(row, col);
  }

  int10(c: Cpu): void {
    switch (ah(c)) {
      case 0x00: // set mode: every text mode becomes 80x25 colour here
        this.reset();
        break;
      case 0x01: this.mem[BDA_CURSOR_SHAPE] = cl(c); this.mem[BDA_CURSOR_SHAPE + 1] = ch(c); break;
      case 0x02: this.setCursor(Math.min(dh(c), ROWS - 1), Math.min(dl(c), COLS - 1)); break;
      case 0x03: {
        const { row, col } = this.cursor();
        setDX(c, (row << 8) | col);
        setCX(c, (this.mem[BDA_CURSOR_SHAPE + 1] << 8) | this.mem[BDA_CURSOR_SHAPE]);
        break;
      }
      case 0x05: break; // one page only
      case 0x06: case 0x07: {
        const attr = bh(c);
        this.scroll(Math.min(ch(c), ROWS - 1), Math.min(cl(c), COLS - 1), Math.min(dh(c), ROWS - 1), Math.min(dl(c), COLS - 1), al(c), attr, ah(c) === 0x06);
        break;
      }
      case 0x08: {
        const { row, col } = this.cursor();
        const a = TEXT + 2 * (row * COLS + col);
        setAX(c, (this.mem[a + 1] << 8) | this.mem[a]);
        break;
      }
      case 0x09: case 0x0a: {
        let { row, col } = this.cursor();
        for (let n = cx(c); n > 0 && row < ROWS; n--) {
          this.put(row, col, al(c), ah(c) === 0x09 ? bl(c) : undefined);
          if (++col >= COLS) { col = 0; row++; }
        }
        break;
      }
      case 0x0e: this.teletype(al(c)); break;
      case 0x0f: setAX(c, (COLS << 8) | this.mem[BDA_MODE]); setBX(c, (bx(c) & 0xff) | (this.mem[BDA_PAGE] << 8)); break;
      case 0x12: if (bl(c) === 0x10) { setBX(c, 0x0003); setCX(c, 0x0009); } break; // EGA info: colour, 256K
      case 0x13: { // write string ES:BP, CX chars, DH:DL position, AL mode
        const saved = this.cursor();
        this.setCursor(dh(c), dl(c));
        const withAttr = (al(c) & 2) !== 0;
        let p = c.r16[10];
        for (let n = cx(c); n > 0; n--) {
          const chr = this.env.readPhys(linear(c, ES, p), 1)[0];
          let attr = bl(c);
          if (withAttr) { attr = this.env.readPhys(linear(c, ES, p + 1), 1)[0]; p += 2; } else p += 1;
          this.teletype(chr, attr);
        }
        if (!(al(c) & 1)) this.setCursor(saved.row, saved.col);
        break;
      }
      case 0x1a: if (al(c) === 0) { setAX(c, 0x001a); setBX(c, 0x0008); } break; // VGA colour display
      default: break;
    }
    void dx;
  }
}
