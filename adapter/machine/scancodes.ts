// Host text to PC keyboard scan code set 1 (what a guest reads from port 0x60 with the 8042's
// translation on): a make code when a key goes down, the make code | 0x80 when it comes up.
// US layout. Upper-case letters and shifted symbols are wrapped in Left Shift make/break,
// control characters in Left Ctrl; terminal escape sequences for the cursor and editing keys
// become their 0xE0-prefixed codes.

const LSHIFT = 0x2a;
const LCTRL = 0x1d;
const ENTER = 0x1c;
const ESC = 0x01;

// Unshifted and shifted characters of each key, by make code.
const KEYS: [number, string, string][] = [
  [0x02, '1', '!'], [0x03, '2', '@'], [0x04, '3', '#'], [0x05, '4', '$'], [0x06, '5', '%'],
  [0x07, '6', '^'], [0x08, '7', '&'], [0x09, '8', '*'], [0x0a, '9', '('], [0x0b, '0', ')'],
  [0x0c, '-', '_'], [0x0d, '=', '+'], [0x0e, '\b', ''], [0x0f, '\t', ''],
  [0x10, 'q', 'Q'], [0x11, 'w', 'W'], [0x12, 'e', 'E'], [0x13, 'r', 'R'], [0x14, 't', 'T'],
  [0x15, 'y', 'Y'], [0x16, 'u', 'U'], [0x17, 'i', 'I'], [0x18, 'o', 'O'], [0x19, 'p', 'P'],
  [0x1a, '[', '{'], [0x1b, ']', '}'], [ENTER, '\r', ''],
  [0x1e, 'a', 'A'], [0x1f, 's', 'S'], [0x20, 'd', 'D'], [0x21, 'f', 'F'], [0x22, 'g', 'G'],
  [0x23, 'h', 'H'], [0x24, 'j', 'J'], [0x25, 'k', 'K'], [0x26, 'l', 'L'], [0x27, ';', ':'],
  [0x28, "'", '"'], [0x29, '`', '~'], [0x2b, '\\', '|'],
  [0x2c, 'z', 'Z'], [0x2d, 'x', 'X'], [0x2e, 'c', 'C'], [0x2f, 'v', 'V'], [0x30, 'b', 'B'],
  [0x31, 'n', 'N'], [0x32, 'm', 'M'], [0x33, ',', '<'], [0x34, '.', '>'], [0x35, '/', '?'],
  [0x39, ' ', ''],
];

/** char code -> make code, with bit 8 set when Shift is needed. */
const BY_CHAR = new Map<number, number>();
for (const [code, plain, shifted] of KEYS) {
  BY_CHAR.set(plain.charCodeAt(0), code);
  if (shifted) BY_CHAR.set(shifted.charCodeAt(0), code | 0x100);
}
BY_CHAR.set(0x0a, ENTER); // LF from a terminal in raw mode or a pipe
BY_CHAR.set(0x7f, 0x0e); // DEL: what terminals send for Backspace
BY_CHAR.set(0x1b, ESC);

// Final bytes of "ESC [" sequences, and "ESC [ n ~" numbers, to extended (0xE0) keys.
const CSI_LETTER: Record<string, number> = { A: 0x48, B: 0x50, C: 0x4d, D: 0x4b, H: 0x47, F: 0x4f };
const CSI_TILDE: Record<string, number> = { '1': 0x47, '2': 0x52, '3': 0x53, '4': 0x4f, '5': 0x49, '6': 0x51 };

function tap(out: number[], code: number): void {
  out.push(code, code | 0x80);
}

/** Make and break codes for one character (empty for characters with no key). */
export function charToScancodes(ch: number): number[] {
  const out: number[] = [];
  const k = BY_CHAR.get(ch);
  if (k !== undefined) {
    if (k & 0x100) {
      out.push(LSHIFT);
      tap(out, k & 0xff);
      out.push(LSHIFT | 0x80);
    } else {
      tap(out, k);
    }
  } else if (ch >= 1 && ch <= 26) {
    // Ctrl-A .. Ctrl-Z
    out.push(LCTRL);
    tap(out, BY_CHAR.get(0x60 + ch)!);
    out.push(LCTRL | 0x80);
  }
  return out;
}

/** Translate host input (text or raw bytes from stdin) into set-1 scan codes. */
export function asciiToScancodes(input: string | Uint8Array | number): number[] {
  if (typeof input === 'number') return charToScancodes(input & 0xff);
  const bytes = typeof input === 'string' ? Array.from(input, (c) => c.charCodeAt(0)) : Array.from(input);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x1b && bytes[i + 1] === 0x5b /* [ */ && i + 2 < bytes.length) {
      const c = String.fromCharCode(bytes[i + 2]);
      if (CSI_LETTER[c] !== undefined) {
        out.push(0xe0, CSI_LETTER[c], 0xe0, CSI_LETTER[c] | 0x80);
        i += 2;
        continue;
      }
      if (CSI_TILDE[c] !== undefined && bytes[i + 3] === 0x7e /* ~ */) {
        out.push(0xe0, CSI_TILDE[c], 0xe0, CSI_TILDE[c] | 0x80);
        i += 3;
        continue;
      }
    }
    out.push(...charToScancodes(bytes[i]));
  }
  return out;
}
