import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortBus } from '../../adapter/machine/ports';
import { VgaText, CP437 } from '../../adapter/machine/vga';

function setup() {
  const ram = new Uint8Array(1024 * 1024);
  const vga = new VgaText(() => ram);
  const bus = new PortBus();
  vga.register(bus);
  const put = (row: number, col: number, text: string, attr = 0x07) => {
    for (let i = 0; i < text.length; i++) {
      const a = 0xb8000 + 2 * (row * 80 + col + i);
      ram[a] = text.charCodeAt(i);
      ram[a + 1] = attr;
    }
  };
  return { ram, vga, bus, put };
}

test('screenText reads the text buffer at 0xB8000: 25 lines, trailing spaces trimmed', () => {
  const { vga, put, ram } = setup();
  for (let i = 0; i < 4000; i += 2) ram[0xb8000 + i] = 0x20;
  put(0, 0, 'Hello, world   ');
  put(24, 70, 'bottom');
  const lines = vga.screenText();
  assert.equal(lines.length, 25);
  assert.equal(lines[0], 'Hello, world');
  assert.equal(lines[1], '');
  assert.equal(lines[24], ' '.repeat(70) + 'bottom');
});

test('code page 437 maps to Unicode', () => {
  const { vga, ram } = setup();
  const codes = [0xc9, 0xcd, 0xbb, 0x01, 0x03, 0xb0, 0xdb, 0xe1, 0x9c, 0xf8, 0x00, 0x41];
  codes.forEach((c, i) => (ram[0xb8000 + 2 * i] = c));
  assert.equal(vga.screenText()[0], '╔═╗☺♥░█ß£° A');
  assert.equal(CP437[0xff], ' ');
  assert.equal(CP437[0x7f], '⌂');
  assert.equal(new Set(CP437).size, 254, 'every code has its own character but 0x00, 0x20 and 0xFF: blanks');
});

test('cursor location and shape through the CRTC, with byte and word OUTs', () => {
  const { vga, bus } = setup();
  assert.deepEqual(vga.cursor(), { row: 0, col: 0 });
  const pos = 12 * 80 + 34;
  bus.write(0x3d4, 1, 0x0e);
  bus.write(0x3d5, 1, pos >> 8);
  bus.write(0x3d4, 2, ((pos & 0xff) << 8) | 0x0f); // out dx, ax: index in AL, data in AH
  assert.deepEqual(vga.cursor(), { row: 12, col: 34 });
  bus.write(0x3d4, 1, 0x0f);
  assert.equal(bus.read(0x3d5, 1), pos & 0xff);
  assert.deepEqual(vga.cursorShape(), { start: 0x0d, end: 0x0e, visible: true });
  bus.write(0x3d4, 2, 0x200a); // cursor disable bit
  assert.equal(vga.cursorShape().visible, false);
});

test('display start address scrolls what screenText shows', () => {
  const { vga, bus, put } = setup();
  put(1, 0, 'second line');
  bus.write(0x3d4, 2, 0x000c);
  bus.write(0x3d4, 2, (80 << 8) | 0x0d);
  assert.equal(vga.screenText()[0], 'second line');
});

test('input status 1 toggles retrace so both wait loops end; misc output reads back', () => {
  const { bus } = setup();
  const a = bus.read(0x3da, 1);
  const b = bus.read(0x3da, 1);
  assert.equal(a & 0x08, 0x08);
  assert.equal(b & 0x08, 0x00);
  // while (inb(0x3da) & 8); while (!(inb(0x3da) & 8));
  let n = 0;
  while (bus.read(0x3da, 1) & 8) n++;
  while (!(bus.read(0x3da, 1) & 8)) n++;
  assert.ok(n < 4);
  assert.equal(bus.read(0x3cc, 1), 0x67);
  bus.write(0x3c2, 1, 0x63);
  assert.equal(bus.read(0x3cc, 1), 0x63);
});

test('attribute controller flip-flop is reset by reading 0x3DA; sequencer and DAC keep values', () => {
  const { bus } = setup();
  bus.read(0x3da, 1);
  bus.write(0x3c0, 1, 0x10); // index: mode control
  assert.equal(bus.read(0x3c1, 1), 0x0c);
  bus.write(0x3c0, 1, 0x08); // data
  bus.write(0x3c0, 1, 0x30); // index again (with the palette-address-source bit)
  bus.write(0x3c0, 1, 0x20); // data for 0x10: the flip-flop alternates
  bus.read(0x3da, 1); // back to index state
  bus.write(0x3c0, 1, 0x10);
  assert.equal(bus.read(0x3c1, 1), 0x20);
  bus.write(0x3c4, 2, 0x0f02);
  assert.equal(bus.read(0x3c5, 1), 0x0f);
  bus.write(0x3c8, 1, 5);
  for (const v of [1, 2, 3]) bus.write(0x3c9, 1, v);
  bus.write(0x3c7, 1, 5);
  assert.deepEqual([0, 1, 2].map(() => bus.read(0x3c9, 1)), [1, 2, 3]);
});

test('cells() gives character, code and attribute of every cell', () => {
  const { vga, put } = setup();
  put(3, 5, 'X', 0x1f);
  const cells = vga.cells();
  assert.equal(cells.length, 25);
  assert.equal(cells[3].length, 80);
  assert.deepEqual(cells[3][5], { ch: 'X', code: 0x58, attr: 0x1f });
});

test('snapshot/restore of the registers', () => {
  const { vga, bus } = setup();
  bus.write(0x3d4, 2, 0x050f);
  const snap = JSON.parse(JSON.stringify(vga.snapshot()));
  bus.write(0x3d4, 2, 0x000f);
  vga.restore(snap);
  assert.deepEqual(vga.cursor(), { row: 0, col: 5 });
});
