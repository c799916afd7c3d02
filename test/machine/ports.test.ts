import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortBus, type PortDevice, type PortSize } from '../../adapter/machine/ports';

/** A byte-wide register file that logs accesses. */
function regs(base: number, log: string[], name: string): PortDevice & { mem: Uint8Array } {
  const mem = new Uint8Array(16);
  return {
    mem,
    read(port: number, size: PortSize) {
      log.push(`${name} r${size} ${port.toString(16)}`);
      return mem[port - base];
    },
    write(port: number, size: PortSize, v: number) {
      log.push(`${name} w${size} ${port.toString(16)}=${v.toString(16)}`);
      mem[port - base] = v;
    },
  };
}

test('unmapped ports read as all ones of the access size and ignore writes', () => {
  const bus = new PortBus();
  assert.equal(bus.read(0x1234, 1), 0xff);
  assert.equal(bus.read(0x1234, 2), 0xffff);
  assert.equal(bus.read(0x1234, 4), 0xffffffff);
  bus.write(0x1234, 4, 0); // no throw
  assert.equal(bus.nameAt(0x1234), undefined);
});

test('wide accesses to a byte device split into bytes on consecutive ports', () => {
  const log: string[] = [];
  const bus = new PortBus();
  const a = regs(0x100, log, 'a');
  bus.register(0x100, 3, a, 'a');
  bus.write(0x100, 2, 0xbbaa);
  assert.deepEqual(log, ['a w1 100=aa', 'a w1 101=bb']);
  log.length = 0;
  // A dword at 0x101 covers 0x101, 0x102 (device) and 0x103, 0x104 (unmapped: 0xff each).
  assert.equal(bus.read(0x101, 4), 0xffff00bb);
  assert.deepEqual(log, ['a r1 101', 'a r1 102']);
});

test('a split access reaches two different devices', () => {
  const log: string[] = [];
  const bus = new PortBus();
  bus.register(0x3d4, 1, regs(0x3d4, log, 'index'), 'index');
  bus.register(0x3d5, 1, regs(0x3d5, log, 'data'), 'data');
  bus.write(0x3d4, 2, 0x200a);
  assert.deepEqual(log, ['index w1 3d4=a', 'data w1 3d5=20']);
  assert.equal(bus.nameAt(0x3d5), 'data');
});

test('devices that take wide accesses get them whole; values are masked to the size', () => {
  const got: [number, number][] = [];
  const bus = new PortBus();
  bus.register(0xcf8, 4, {
    accessSizes: 1 | 2 | 4,
    read: (_p, size) => (size === 4 ? -1 : 0x12345678),
    write: (_p, size, v) => got.push([size, v]),
  }, 'wide');
  bus.write(0xcf8, 4, 0x80000000);
  bus.write(0xcf8, 2, 0x123456);
  assert.deepEqual(got, [[4, 0x80000000], [2, 0x3456]]);
  assert.equal(bus.read(0xcf8, 4), 0xffffffff, 'unsigned 32-bit result');
  assert.equal(bus.read(0xcf8, 1), 0x78);
});

test('a split access wraps at port 0xFFFF; overlapping registrations are refused', () => {
  const log: string[] = [];
  const bus = new PortBus();
  bus.register(0xffff, 1, regs(0xffff, log, 'top'), 'top');
  bus.register(0x0000, 1, regs(0x0000, log, 'zero'), 'zero');
  bus.write(0xffff, 2, 0x0201);
  assert.deepEqual(log, ['top w1 ffff=1', 'zero w1 0=2']);
  assert.throws(() => bus.register(0xfff0, 16, regs(0, log, 'x'), 'x'), /overlaps top/);
  assert.throws(() => bus.register(0xffff, 2, regs(0, log, 'x'), 'x'), RangeError);
  assert.deepEqual(bus.ranges().map((r) => r.name), ['top', 'zero']);
});
