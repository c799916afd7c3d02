import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock } from '../../adapter/machine/clock';
import { PortBus } from '../../adapter/machine/ports';
import { Pit, PIT_HZ, nsAtPitTick, pitTicksAt } from '../../adapter/machine/pit';
import { Pic } from '../../adapter/machine/pic';
import { SystemControlPortB, REFRESH_TOGGLE_NS } from '../../adapter/machine/sysctl';
import { runUntil } from './timeline';

function setup() {
  const clock = new Clock('virtual');
  const pit = new Pit(clock);
  const bus = new PortBus();
  bus.register(0x40, 4, pit, 'pit');
  const portB = new SystemControlPortB(clock, pit);
  bus.register(0x61, 1, portB, 'port-b');
  const edges: { level: boolean; ns: number }[] = [];
  pit.onIrq = (level) => edges.push({ level, ns: clock.nowNs() });
  return { clock, pit, bus, edges };
}

test('tick conversion is exact: the first ns of each PIT tick maps back to it', () => {
  for (const k of [0, 1, 2, 11932, 1193181, 1193182, 1193183, 987654321, 4e12 + 7]) {
    const ns = nsAtPitTick(k);
    assert.equal(pitTicksAt(ns), k, `tick ${k}`);
    assert.equal(pitTicksAt(ns - 1), k - 1, `tick ${k} - 1ns`);
  }
  assert.equal(pitTicksAt(1e9), PIT_HZ);
});

test('channel 0 mode 2 with divisor 11932 raises IRQ0 every 11932/1.193182 MHz, 999 times in 10 s', () => {
  const { clock, pit, bus, edges } = setup();
  clock.setInstructionCount(12345); // program it in the middle of a run
  const t0 = pitTicksAt(clock.nowNs());
  bus.write(0x43, 1, 0x34); // channel 0, LSB then MSB, mode 2, binary
  bus.write(0x40, 1, 11932 & 0xff);
  bus.write(0x40, 1, 11932 >> 8);
  edges.length = 0;
  runUntil(clock, [pit], clock.nowNs() + 10e9);
  const rising = edges.filter((e) => e.level);
  const falling = edges.filter((e) => !e.level);
  // Rising edges at t0 + k*11932 ticks, k = 1.. while within 10 s of 1193182 ticks each.
  assert.equal(rising.length, Math.floor((10 * PIT_HZ) / 11932));
  assert.equal(rising.length, 999);
  assert.equal(falling.length, 999);
  for (let k = 1; k <= rising.length; k++) {
    const due = nsAtPitTick(t0 + k * 11932);
    const got = rising[k - 1].ns;
    // Delivered on the first instruction boundary (10 ns apart) at or after the edge.
    assert.ok(got >= due && got < due + 10, `edge ${k}: due ${due}, got ${got}`);
    // OUT went low one input clock earlier.
    const low = nsAtPitTick(t0 + k * 11932 - 1);
    assert.ok(falling[k - 1].ns >= low && falling[k - 1].ns < low + 10);
  }
  const period = rising[500].ns - rising[499].ns;
  assert.ok(Math.abs(period - (11932 / PIT_HZ) * 1e9) <= 10, `period ${period}`);
});

test('IRQ0 through the PIC: one interrupt per period, none while masked', () => {
  const { clock, pit, bus } = setup();
  const pic = new Pic();
  bus.register(0x20, 2, pic, 'pic');
  pit.onIrq = (l) => pic.setLine(0, l);
  bus.write(0x21, 1, 0xfe); // only IRQ0
  bus.write(0x43, 1, 0x34);
  bus.write(0x40, 1, 0x9c);
  bus.write(0x40, 1, 0x2e);
  let delivered = 0;
  // 1 s of virtual time; the "CPU" acknowledges and EOIs after every edge.
  const end = 1e9;
  while (clock.nowNs() < end) {
    const next = Math.min(pit.nextEventNs(), end);
    clock.setInstructionCount(clock.instructionCountAt(next));
    pit.tick(clock.nowNs());
    if (pic.output()) {
      assert.equal(pic.acknowledge(), 0x08);
      delivered++;
      bus.write(0x20, 1, 0x20);
    }
  }
  assert.equal(delivered, 99); // floor(1193182 / 11932)
  bus.write(0x21, 1, 0xff);
  runUntil(clock, [pit], 2e9);
  assert.equal(pic.output(), false);
});

test('mode 0 one-shot: OUT rises once after the count, counter keeps counting down', () => {
  const { clock, pit, bus, edges } = setup();
  bus.write(0x43, 1, 0x30); // ch0 lohi mode 0
  assert.deepEqual(edges.at(-1)?.level, false); // the control word drives OUT low
  bus.write(0x40, 1, 0x00);
  bus.write(0x40, 1, 0x10); // 4096
  edges.length = 0;
  runUntil(clock, [pit], 1e8);
  assert.equal(edges.length, 1);
  assert.equal(edges[0].level, true);
  assert.ok(edges[0].ns >= nsAtPitTick(4096) && edges[0].ns < nsAtPitTick(4096) + 10);
  assert.equal(pit.nextEventNs(), Infinity);
});

test('latch command freezes the count for an LSB/MSB read', () => {
  const { clock, bus } = setup();
  bus.write(0x43, 1, 0x34);
  bus.write(0x40, 1, 0x00);
  bus.write(0x40, 1, 0x00); // 65536
  clock.setInstructionCount(clock.instructionCountAt(nsAtPitTick(1000)));
  bus.write(0x43, 1, 0x00); // latch channel 0
  clock.setInstructionCount(clock.instructionCountAt(nsAtPitTick(5000)));
  const lo = bus.read(0x40, 1);
  const hi = bus.read(0x40, 1);
  assert.equal((hi << 8) | lo, 65536 - 1000);
  // Unlatched, the live count.
  const lo2 = bus.read(0x40, 1);
  const hi2 = bus.read(0x40, 1);
  assert.equal((hi2 << 8) | lo2, 65536 - 5000);
});

test('read-back command latches status and count of several channels', () => {
  const { bus } = setup();
  bus.write(0x43, 1, 0xb6); // ch2 lohi mode 3 binary
  bus.write(0x42, 1, 0x34);
  bus.write(0x42, 1, 0x12);
  bus.write(0x43, 1, 0xc0 | 0x08 | 0x02); // read-back count+status of ch0 and ch2
  // ch0 after reset: mode 2, lohi, OUT high.
  assert.equal(bus.read(0x40, 1), 0x80 | 0x30 | 0x04);
  assert.equal(bus.read(0x42, 1), 0x80 | 0x30 | 0x06); // gate low: mode 3 OUT high
  assert.equal(bus.read(0x42, 1), 0x34); // then the latched count, not yet counting
  assert.equal(bus.read(0x42, 1), 0x12);
});

test('BCD counting: a count of 0x0100 is one hundred ticks, read back in BCD', () => {
  const { clock, bus, edges, pit } = setup();
  bus.write(0x43, 1, 0x31); // ch0 lohi mode 0 BCD
  bus.write(0x40, 1, 0x00);
  bus.write(0x40, 1, 0x01);
  clock.setInstructionCount(clock.instructionCountAt(nsAtPitTick(37)));
  bus.write(0x43, 1, 0x00);
  assert.equal(bus.read(0x40, 1), 0x63); // 100 - 37 = 63, in BCD
  assert.equal(bus.read(0x40, 1), 0x00);
  edges.length = 0;
  runUntil(clock, [pit], 1e6);
  assert.equal(edges.filter((e) => e.level).length, 1);
  assert.ok(edges[0].ns >= nsAtPitTick(100) && edges[0].ns < nsAtPitTick(100) + 10);
});

test('channel 2 through port 0x61: gate, OUT readback for a delay, as guests calibrate', () => {
  const { clock, bus } = setup();
  bus.write(0x61, 1, 0x00); // gate off
  bus.write(0x43, 1, 0xb0); // ch2 lohi mode 0
  bus.write(0x42, 1, 0x9c);
  bus.write(0x42, 1, 0x2e); // 11932 ticks: 10 ms
  clock.setInstructionCount(clock.instructionCountAt(20e6));
  assert.equal(bus.read(0x61, 1) & 0x20, 0, 'gate low: not counting');
  const start = clock.nowNs();
  bus.write(0x61, 1, 0x01); // gate on
  // Poll bit 5 every 100 instructions (1 us).
  while ((bus.read(0x61, 1) & 0x20) === 0) clock.setInstructionCount(clock.instructionCount() + 100);
  const waited = clock.nowNs() - start;
  assert.ok(waited >= 10e6 && waited < 10e6 + 2000, `waited ${waited} ns`);
  assert.equal(bus.read(0x61, 1) & 0x03, 0x01, 'bits 0-1 read back');
});

test('channel 2 mode 3 square wave seen on port 0x61 bit 5', () => {
  const { clock, bus } = setup();
  bus.write(0x43, 1, 0xb6);
  bus.write(0x42, 1, 100);
  bus.write(0x42, 1, 0);
  bus.write(0x61, 1, 0x03); // gate and speaker on
  const base = pitTicksAt(clock.nowNs());
  const at = (tick: number) => {
    clock.setInstructionCount(clock.instructionCountAt(nsAtPitTick(base + tick)));
    return (bus.read(0x61, 1) & 0x20) !== 0;
  };
  assert.equal(at(0), true);
  assert.equal(at(49), true);
  assert.equal(at(50), false);
  assert.equal(at(99), false);
  assert.equal(at(100), true);
  assert.equal(at(1050), false);
});

test('port 0x61 bit 4 flips every 15.085 us of virtual time', () => {
  const { clock, bus } = setup();
  const bit = () => (bus.read(0x61, 1) >> 4) & 1;
  clock.setInstructionCount(0);
  assert.equal(bit(), 0);
  clock.setInstructionCount(Math.floor((REFRESH_TOGGLE_NS - 1) / 10));
  assert.equal(bit(), 0);
  clock.setInstructionCount(Math.ceil(REFRESH_TOGGLE_NS / 10));
  assert.equal(bit(), 1);
  clock.setInstructionCount(Math.ceil((2 * REFRESH_TOGGLE_NS) / 10));
  assert.equal(bit(), 0);
  // Counting flips over 1 ms: 1e6 / 15085 = 66.3
  let flips = 0;
  let last = bit();
  const start = clock.instructionCount();
  for (let n = start; n < start + 100000; n++) {
    clock.setInstructionCount(n);
    const b = bit();
    if (b !== last) flips++;
    last = b;
  }
  assert.ok(flips === 66 || flips === 67, `flips ${flips}`);
});

test('snapshot and restore give the same future', () => {
  const { clock, pit, bus, edges } = setup();
  bus.write(0x43, 1, 0x36); // mode 3, 1024: a 858 us period
  bus.write(0x40, 1, 0x00);
  bus.write(0x40, 1, 0x04);
  runUntil(clock, [pit], 5e6);
  const snap = JSON.parse(JSON.stringify(pit.snapshot()));
  const count = clock.instructionCount();
  edges.length = 0;
  runUntil(clock, [pit], 20e6);
  const first = edges.map((e) => `${e.level}@${e.ns}`);
  pit.restore(snap);
  clock.setInstructionCount(count);
  edges.length = 0;
  runUntil(clock, [pit], 20e6);
  assert.deepEqual(edges.map((e) => `${e.level}@${e.ns}`), first);
  assert.ok(first.length > 10);
});
