import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortBus } from '../../adapter/machine/ports';
import { DebugPorts } from '../../adapter/machine/debugports';

function setup() {
  const dev = new DebugPorts();
  const bus = new PortBus();
  dev.register(bus);
  const bytes: number[] = [];
  const exits: { status: number; reason: string }[] = [];
  dev.onByte = (b) => bytes.push(b);
  dev.onExit = (status, reason) => exits.push({ status, reason });
  const outs = (port: number, s: string) => {
    for (const c of s) bus.write(port, 1, c.charCodeAt(0));
  };
  return { dev, bus, bytes, exits, outs };
}

test('port 0xE9 debug console: bytes to onByte, reads return 0xE9', () => {
  const { bus, bytes, outs } = setup();
  outs(0xe9, 'ok\n');
  assert.equal(Buffer.from(bytes).toString(), 'ok\n');
  assert.equal(bus.read(0xe9, 1), 0xe9);
  bus.write(0xe9, 2, 0x4241); // out dx, ax: only AL reaches the byte-wide port, as on QEMU
  assert.equal(bytes.at(-1), 0x41);
  assert.equal(bytes.length, 4);
});

test('port 0x80 POST codes: distinct values in order of first appearance, and the last', () => {
  const { dev, bus } = setup();
  assert.equal(dev.lastPostCode(), -1);
  for (const v of [0x10, 0x20, 0x10, 0x00, 0x00, 0x20, 0x55]) bus.write(0x80, 1, v);
  assert.deepEqual(dev.postCodes(), [0x10, 0x20, 0x00, 0x55]);
  assert.equal(dev.lastPostCode(), 0x55);
  assert.equal(bus.read(0x80, 1), 0xff);
  const snap = JSON.parse(JSON.stringify(dev.snapshot()));
  dev.reset();
  assert.deepEqual(dev.postCodes(), []);
  dev.restore(snap);
  bus.write(0x80, 1, 0x10);
  assert.deepEqual(dev.postCodes(), [0x10, 0x20, 0x00, 0x55]);
});

test('isa-debug-exit at 0xF4: a byte v ends the run with status (v << 1) | 1', () => {
  for (const v of [0x00, 0x01, 0x10, 0x31, 0x7f, 0xff]) {
    const { bus, exits } = setup();
    bus.write(0xf4, 1, v);
    assert.equal(exits.length, 1);
    assert.equal(exits[0].status, (v << 1) | 1);
    assert.match(exits[0].reason, /isa-debug-exit/);
  }
});

test('isa-debug-exit takes the whole value of a word or dword write, on any of 0xF4-0xF7', () => {
  const { bus, exits } = setup();
  bus.write(0xf4, 2, 0x1234);
  bus.write(0xf4, 4, 0x80000001);
  bus.write(0xf6, 1, 0x02);
  assert.deepEqual(exits.map((e) => e.status), [0x2469, 0x100000003, 5]);
  // A process keeps the low 8 bits: 0x69, 0x03, 0x05.
  assert.deepEqual(exits.map((e) => e.status & 0xff), [0x69, 0x03, 0x05]);
  assert.equal(bus.read(0xf4, 1), 0);
});

test('"Shutdown" to 0x8900 ends the run with status 0; anything else restarts the match', () => {
  const { exits, outs } = setup();
  outs(0x8900, 'Shutdow');
  assert.equal(exits.length, 0);
  outs(0x8900, 'X');
  outs(0x8900, 'n');
  assert.equal(exits.length, 0, 'a broken match does not resume');
  outs(0x8900, 'ShutShutdown');
  assert.equal(exits.length, 1, "an 'S' in the middle starts a new match");
  assert.equal(exits[0].status, 0);
  assert.match(exits[0].reason, /Shutdown/);
  outs(0x8900, 'SShutdown');
  assert.equal(exits.length, 2);
  outs(0x8900, 'shutdown');
  assert.equal(exits.length, 2, 'case matters');
});
