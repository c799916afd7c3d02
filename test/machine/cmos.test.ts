import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock } from '../../adapter/machine/clock';
import { PortBus } from '../../adapter/machine/ports';
import { Cmos } from '../../adapter/machine/cmos';
import { runUntil } from './timeline';

const MiB = 1024 * 1024;

function setup(ramBytes = 64 * MiB, floppy = false) {
  const clock = new Clock('virtual');
  const cmos = new Cmos(clock, { ramBytes, floppy });
  const bus = new PortBus();
  bus.register(0x70, 2, cmos, 'cmos');
  const read = (reg: number) => {
    bus.write(0x70, 1, reg);
    return bus.read(0x71, 1);
  };
  const write = (reg: number, v: number) => {
    bus.write(0x70, 1, reg);
    bus.write(0x71, 1, v);
  };
  const at = (ns: number) => clock.setInstructionCount(Math.ceil(ns / 10));
  return { clock, cmos, bus, read, write, at };
}

test('memory size bytes for 64 MiB (the values QEMU + SeaBIOS show)', () => {
  const { read } = setup(64 * MiB);
  assert.deepEqual([0x15, 0x16].map(read), [0x80, 0x02]); // 640 KiB base
  assert.deepEqual([0x17, 0x18].map(read), [0x00, 0xfc]); // 63 MiB = 64512 KiB above 1 MiB
  assert.deepEqual([0x30, 0x31].map(read), [0x00, 0xfc]);
  assert.deepEqual([0x34, 0x35].map(read), [0x00, 0x03]); // 48 MiB = 768 x 64 KiB above 16 MiB
});

test('memory size bytes for 3072 MiB: extended KiB capped at 0xFFFF', () => {
  const { read } = setup(3072 * MiB);
  assert.deepEqual([0x15, 0x16].map(read), [0x80, 0x02]);
  assert.deepEqual([0x17, 0x18].map(read), [0xff, 0xff]);
  assert.deepEqual([0x30, 0x31].map(read), [0xff, 0xff]);
  assert.deepEqual([0x34, 0x35].map(read), [0x00, 0xbf]); // (3072 - 16) * 16 = 48896
  assert.deepEqual([0x5b, 0x5c, 0x5d].map(read), [0, 0, 0]);
});

test('small RAM: 1 MiB has no extended memory; 8 MiB nothing above 16 MiB', () => {
  assert.deepEqual([0x17, 0x18, 0x34, 0x35].map(setup(1 * MiB).read), [0, 0, 0, 0]);
  assert.deepEqual([0x17, 0x18, 0x34, 0x35].map(setup(8 * MiB).read), [0x00, 0x1c, 0, 0]);
});

test('floppy type, equipment byte, century and checksum', () => {
  const withFd = setup(64 * MiB, true);
  assert.equal(withFd.read(0x10), 0x40);
  assert.equal(withFd.read(0x14) & 0x03, 0x03); // floppy installed + FPU
  const noFd = setup(64 * MiB, false);
  assert.equal(noFd.read(0x10), 0x00);
  assert.equal(noFd.read(0x14) & 0x01, 0x00);
  assert.equal(noFd.read(0x32), 0x20);
  let sum = 0;
  for (let r = 0x10; r <= 0x2d; r++) sum += withFd.read(r);
  assert.equal((withFd.read(0x2e) << 8) | withFd.read(0x2f), sum);
});

test('the RTC starts at 2026-01-01 00:00:00 in BCD 24h and follows virtual time', () => {
  const { read, at } = setup();
  const time = () => [9, 8, 7, 4, 2, 0].map(read);
  assert.deepEqual(time(), [0x26, 0x01, 0x01, 0x00, 0x00, 0x00]);
  assert.equal(read(6), 5, 'a Thursday (Sunday = 1)');
  assert.equal(read(0x0b), 0x02);
  assert.equal(read(0x0a), 0x26);
  assert.equal(read(0x0d), 0x80);
  at((13 * 3600 + 59 * 60 + 58) * 1e9 + 5e8); // 13:59:58.5
  assert.deepEqual(time(), [0x26, 0x01, 0x01, 0x13, 0x59, 0x58]);
  at(40 * 86400e9); // 40 days later: 2026-02-10
  assert.deepEqual(time(), [0x26, 0x02, 0x10, 0x00, 0x00, 0x00]);
});

test('status B selects binary and 12-hour formats', () => {
  const { read, write, at } = setup();
  at((15 * 3600 + 7 * 60 + 9) * 1e9);
  write(0x0b, 0x06); // binary, 24h
  assert.deepEqual([4, 2, 0, 9].map(read), [15, 7, 9, 26]);
  write(0x0b, 0x00); // BCD, 12h
  assert.equal(read(4), 0x83, '3 PM');
  at(0);
  assert.equal(read(4), 0x12, 'midnight is 12 AM');
});

test('UIP is set in the last 244 us before each second and clear otherwise', () => {
  const { read, at } = setup();
  at(5e9 + 999_756_000 - 10);
  assert.equal(read(0x0a) & 0x80, 0);
  at(5e9 + 999_756_000);
  assert.equal(read(0x0a) & 0x80, 0x80);
  assert.equal(read(0), 0x05, 'still the old second while the update is in progress');
  at(6e9);
  assert.equal(read(0x0a) & 0x80, 0);
  assert.equal(read(0), 0x06);
});

test('the guest can set the time with SET, and it keeps running from there', () => {
  const { read, write, at } = setup();
  at(10e9);
  write(0x0b, 0x82); // SET
  write(4, 0x23);
  write(2, 0x59);
  write(0, 0x50);
  write(7, 0x31);
  write(8, 0x12);
  write(9, 0x99);
  write(0x32, 0x19);
  at(20e9);
  assert.equal(read(0), 0x50, 'frozen while SET');
  write(0x0b, 0x02);
  at(35e9); // 15 s later: 1999-12-31 23:59:50 + 15 s
  assert.deepEqual([0x32, 9, 8, 7, 4, 2, 0].map(read), [0x20, 0x00, 0x01, 0x01, 0x00, 0x00, 0x05]);
});

test('periodic interrupt at 1024 Hz on IRQ8: exact count over 1 s, status C read clears it', () => {
  const { clock, cmos, read, write } = setup();
  let raised = 0;
  cmos.onIrq = (level) => {
    if (level) {
      raised++;
      assert.equal(read(0x0c) & 0xc0, 0xc0); // the ISR reads C: IRQF | PF, and the line drops
    }
  };
  write(0x0b, 0x42); // PIE
  runUntil(clock, [cmos], 1e9 - 10); // the last instruction boundary before 1 s
  assert.equal(raised, 1023, 'edges at k/1024 s for k = 1..1023');
  write(0x0b, 0x02);
  assert.equal(cmos.nextEventNs(), Infinity);
});

test('update-ended interrupt once per second; alarm at a set time', () => {
  const { clock, cmos, read, write } = setup();
  const seen: number[] = [];
  cmos.onIrq = (level) => {
    if (level) seen.push(read(0x0c));
  };
  write(0x0b, 0x12); // UIE
  runUntil(clock, [cmos], 3.5e9);
  // IRQF | UF, no alarm (PF is set too: it runs whether or not PIE enables its interrupt).
  assert.deepEqual(seen.map((c) => c & 0xb0), [0x90, 0x90, 0x90]);
  seen.length = 0;
  write(0x0b, 0x22); // AIE
  write(1, 0x07); // alarm at xx:xx:07 (hours and minutes don't care)
  write(3, 0xc0);
  write(5, 0xc0);
  runUntil(clock, [cmos], 10e9);
  assert.equal(seen.length, 1);
  assert.equal(seen[0] & 0xa0, 0xa0);
  assert.equal(Math.floor(clock.nowNs() / 1e9), 10);
});

test('NMI mask bit in port 0x70; plain CMOS RAM is read/write; snapshot round trip', () => {
  const { cmos, bus, read, write } = setup();
  bus.write(0x70, 1, 0x0f);
  assert.equal(cmos.nmiMasked, false);
  bus.write(0x70, 1, 0x8f);
  assert.equal(cmos.nmiMasked, true);
  write(0x40, 0xa5);
  assert.equal(read(0x40), 0xa5);
  const snap = JSON.parse(JSON.stringify(cmos.snapshot()));
  write(0x40, 0x00);
  cmos.restore(snap);
  assert.equal(read(0x40), 0xa5);
});

test('realtime mode reads host UTC time', () => {
  const clock = new Clock('realtime');
  const cmos = new Cmos(clock, { ramBytes: 16 * MiB });
  const d = cmos.dateTime();
  assert.ok(Math.abs(d.getTime() - Date.now()) < 2000);
});
