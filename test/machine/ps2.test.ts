import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortBus } from '../../adapter/machine/ports';
import { Ps2Controller, FastA20, asciiToScancodes } from '../../adapter/machine/ps2';

function setup() {
  const kbc = new Ps2Controller();
  const fast = new FastA20(kbc);
  const bus = new PortBus();
  bus.register(0x60, 1, kbc, 'ps2-data');
  bus.register(0x64, 1, kbc, 'ps2-status');
  bus.register(0x92, 1, fast, 'fast-a20');
  const a20: boolean[] = [];
  const resets: string[] = [];
  const irq1: boolean[] = [];
  kbc.onA20 = (on) => a20.push(on);
  fast.onA20 = (on) => a20.push(on);
  kbc.onReset = () => resets.push('kbc');
  fast.onReset = () => resets.push('92');
  kbc.onIrq = (l) => irq1.push(l);
  const inb = (p: number) => bus.read(p, 1);
  const outb = (p: number, v: number) => bus.write(p, 1, v);
  /** Wait for OBF and read a byte, as a guest does. */
  const readData = () => {
    assert.equal(inb(0x64) & 1, 1, 'output buffer full');
    return inb(0x60);
  };
  return { kbc, fast, bus, a20, resets, irq1, inb, outb, readData };
}

test('reset state: status 0x1C, command byte 0x61, output port 0xCF, A20 on', () => {
  const { inb, outb, readData } = setup();
  assert.equal(inb(0x64), 0x1c);
  outb(0x64, 0x20);
  assert.equal(readData(), 0x61);
  outb(0x64, 0xd0);
  assert.equal(readData(), 0xcf);
  assert.equal(inb(0x92), 0x02);
});

test('controller self test 0xAA -> 0x55, interface tests -> 0x00', () => {
  const { outb, readData, inb } = setup();
  outb(0x64, 0xaa);
  assert.equal(readData(), 0x55);
  outb(0x64, 0xab);
  assert.equal(readData(), 0x00);
  outb(0x64, 0xa9);
  assert.equal(readData(), 0x00);
  assert.equal(inb(0x64) & 1, 0);
});

test('A20 through the output port (0xD1), read back with 0xD0, and 0xDD/0xDF', () => {
  const { kbc, outb, readData, a20, inb } = setup();
  outb(0x64, 0xd1);
  outb(0x60, 0xdd); // bit 1 clear: A20 off (bit 0 set: no reset)
  assert.deepEqual(a20, [false]);
  assert.equal(kbc.a20Enabled(), false);
  outb(0x64, 0xd0);
  assert.equal(readData() & 0x02, 0);
  assert.equal(inb(0x92) & 0x02, 0, 'port 0x92 sees the same line');
  outb(0x64, 0xd1);
  outb(0x60, 0xdf);
  assert.deepEqual(a20, [false, true]);
  outb(0x64, 0xdd);
  outb(0x64, 0xdf);
  assert.deepEqual(a20, [false, true, false, true]);
});

test('A20 and fast reset through port 0x92', () => {
  const { kbc, outb, inb, readData, a20, resets } = setup();
  outb(0x92, 0x00);
  assert.deepEqual(a20, [false]);
  assert.equal(inb(0x92), 0x00);
  outb(0x64, 0xd0);
  assert.equal(readData() & 0x02, 0, 'the 8042 output port shows the shared line');
  outb(0x92, inb(0x92) | 0x02); // the usual "fast A20" enable
  assert.deepEqual(a20, [false, true]);
  assert.equal(kbc.a20Enabled(), true);
  assert.deepEqual(resets, []);
  outb(0x92, 0x03);
  assert.deepEqual(resets, ['92']);
  assert.equal(inb(0x92) & 1, 0);
});

test('pulse reset line: 0xFE, and 0xD1 with bit 0 clear', () => {
  const { outb, resets } = setup();
  outb(0x64, 0xfe);
  assert.deepEqual(resets, ['kbc']);
  outb(0x64, 0xff); // bit 0 set: no pulse on the reset line
  assert.deepEqual(resets, ['kbc']);
  outb(0x64, 0xd1);
  outb(0x60, 0x02);
  assert.deepEqual(resets, ['kbc', 'kbc']);
});

test('command byte write (0x60) controls IRQ1; typed keys arrive as set-1 make/break codes', () => {
  const { kbc, outb, inb, irq1, readData } = setup();
  outb(0x64, 0x60);
  outb(0x60, 0x60); // IRQ1 off, translation on
  kbc.pressKey('A');
  assert.deepEqual(irq1, []);
  const got: number[] = [];
  while (inb(0x64) & 1) got.push(inb(0x60));
  assert.deepEqual(got, [0x2a, 0x1e, 0x9e, 0xaa]);
  outb(0x64, 0x60);
  outb(0x60, 0x61); // IRQ1 on
  kbc.pressKey('b');
  assert.deepEqual(irq1, [true]);
  // Each byte read drops the line and raises it again for the next: one edge per byte.
  assert.equal(readData(), 0x30);
  assert.deepEqual(irq1, [true, false, true]);
  assert.equal(readData(), 0xb0);
  assert.deepEqual(irq1, [true, false, true, false]);
});

test('0xAD holds keyboard bytes back until 0xAE', () => {
  const { kbc, outb, inb } = setup();
  outb(0x64, 0xad);
  kbc.sendScancodes([0x1c, 0x9c]);
  assert.equal(inb(0x64) & 1, 0);
  outb(0x64, 0xae);
  assert.equal(inb(0x64) & 1, 1);
  assert.equal(inb(0x60), 0x1c);
});

test('a controller reply goes ahead of a pending key', () => {
  const { kbc, outb, readData } = setup();
  kbc.sendScancodes([0x10, 0x90]);
  outb(0x64, 0x20);
  assert.equal(readData(), 0x61);
  assert.equal(readData(), 0x10);
  assert.equal(readData(), 0x90);
});

test('keyboard commands: reset, enable, disable, LEDs, scan code set, identify, echo', () => {
  const { kbc, outb, readData, inb } = setup();
  const cmd = (...bytes: number[]) => {
    for (const b of bytes) outb(0x60, b);
    const out: number[] = [];
    while (inb(0x64) & 1) out.push(inb(0x60));
    return out;
  };
  kbc.sendScancodes([0x01]);
  assert.deepEqual(cmd(0xff), [0xfa, 0xaa], 'reset drops pending keys and passes its self test');
  assert.deepEqual(cmd(0xf5), [0xfa]);
  kbc.pressKey('x');
  assert.equal(inb(0x64) & 1, 0, 'scanning disabled: keys not sent');
  assert.deepEqual(cmd(0xf4), [0xfa]);
  kbc.pressKey('x');
  assert.deepEqual([readData(), readData()], [0x2d, 0xad]);
  assert.deepEqual(cmd(0xed, 0x07), [0xfa, 0xfa]);
  assert.equal(kbc.keyboardLeds(), 7);
  assert.deepEqual(cmd(0xf0, 0x00), [0xfa, 0xfa, 0x41], 'ACKs, then set 2 as seen through translation');
  assert.deepEqual(cmd(0xf0, 0x01), [0xfa, 0xfa]);
  assert.deepEqual(cmd(0xf2), [0xfa, 0xab, 0x41], 'MF2 keyboard, translated id');
  outb(0x64, 0x60);
  outb(0x60, 0x21); // translation off
  assert.deepEqual(cmd(0xf2), [0xfa, 0xab, 0x83]);
  assert.deepEqual(cmd(0xee), [0xee]);
  assert.deepEqual(cmd(0x12), [0xfe], 'unknown command: resend');
});

test('ASCII to set-1 scan codes: shift, control, enter, arrows', () => {
  assert.deepEqual(asciiToScancodes('a'), [0x1e, 0x9e]);
  assert.deepEqual(asciiToScancodes('!'), [0x2a, 0x02, 0x82, 0xaa]);
  assert.deepEqual(asciiToScancodes('\r'), [0x1c, 0x9c]);
  assert.deepEqual(asciiToScancodes('\n'), [0x1c, 0x9c]);
  assert.deepEqual(asciiToScancodes(' '), [0x39, 0xb9]);
  assert.deepEqual(asciiToScancodes('\x03'), [0x1d, 0x2e, 0xae, 0x9d], 'Ctrl-C');
  assert.deepEqual(asciiToScancodes('\x7f'), [0x0e, 0x8e], 'DEL from a terminal is Backspace');
  assert.deepEqual(asciiToScancodes('\x1b[A'), [0xe0, 0x48, 0xe0, 0xc8], 'up arrow');
  assert.deepEqual(asciiToScancodes('\x1b'), [0x01, 0x81], 'a lone Escape');
  assert.deepEqual(asciiToScancodes(0x5a), [0x2a, 0x2c, 0xac, 0xaa], 'a byte: Z');
  assert.deepEqual(asciiToScancodes(new Uint8Array([0x7e])), [0x2a, 0x29, 0xa9, 0xaa], '~');
  assert.deepEqual(asciiToScancodes('\x00'), [], 'no key for NUL');
});

test('snapshot and restore keep queued keys and the A20 line', () => {
  const { kbc, outb, readData } = setup();
  kbc.pressKey('q');
  outb(0x64, 0xdd);
  const snap = JSON.parse(JSON.stringify(kbc.snapshot()));
  readData();
  outb(0x64, 0xdf);
  kbc.restore(snap);
  assert.equal(kbc.a20Enabled(), false);
  assert.equal(readData(), 0x10);
  assert.equal(readData(), 0x90);
});
