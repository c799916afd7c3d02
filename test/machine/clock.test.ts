import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, NS_PER_INSTRUCTION, VIRTUAL_EPOCH_MS, earliestEventNs } from '../../adapter/machine/clock';

test('virtual time is 10 ns per retired instruction and starts at 2026-01-01 UTC', () => {
  const c = new Clock();
  assert.equal(NS_PER_INSTRUCTION, 10);
  assert.equal(c.nowNs(), 0);
  c.setInstructionCount(123_456_789);
  assert.equal(c.nowNs(), 1_234_567_890);
  assert.equal(new Date(VIRTUAL_EPOCH_MS).toISOString(), '2026-01-01T00:00:00.000Z');
  assert.equal(c.wallTimeMs(), VIRTUAL_EPOCH_MS + 1234.56789);
});

test('instructionCountAt: the first instruction boundary at or after an event', () => {
  const c = new Clock();
  assert.equal(c.instructionCountAt(0), 0);
  assert.equal(c.instructionCountAt(1), 1);
  assert.equal(c.instructionCountAt(10), 1);
  assert.equal(c.instructionCountAt(11), 2);
  assert.equal(c.instructionCountAt(10_000_152.8), 1_000_016);
  assert.equal(c.instructionCountAt(Infinity), Infinity);
});

test('a bound instruction counter is read live', () => {
  const c = new Clock();
  let n = 5;
  c.bindInstructionCounter(() => n);
  assert.equal(c.nowNs(), 50);
  n = 7;
  assert.equal(c.nowNs(), 70);
  assert.deepEqual(c.snapshot(), { mode: 'virtual', instructions: 7 });
});

test('realtime mode follows host time, not instructions', async () => {
  const c = new Clock('realtime');
  c.setInstructionCount(1e9);
  const a = c.nowNs();
  await new Promise((r) => setTimeout(r, 20));
  const b = c.nowNs();
  assert.ok(b - a >= 15e6, `advanced ${b - a} ns`);
  assert.ok(a < 1e9);
  assert.ok(Math.abs(c.wallTimeMs() - Date.now()) < 100);
});

test('earliestEventNs picks the soonest device event', () => {
  const dev = (t: number) => ({ nextEventNs: () => t, tick: () => {} });
  assert.equal(earliestEventNs([dev(50), dev(20), dev(Infinity)]), 20);
  assert.equal(earliestEventNs([]), Infinity);
});
