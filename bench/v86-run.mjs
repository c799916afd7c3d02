// Boots one benchmark floppy image in v86 inside this Node process and prints
// one JSON line: wall time from the emulator's construction to the guest's
// write to the exit port 0xF4, the serial output, and v86's retired-instruction
// counter and the time at the guest's start and end markers (port 0x80). The
// counter is exact with --no-jit; the JIT updates it per block.
//
//   node bench/v86-run.mjs IMAGE [--no-jit] [--timeout SECONDS]
//
// Run by cpu.mjs as a child process so that each run starts from a fresh
// process, as the other engines do.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const args = process.argv.slice(2);
const image = args.find((a) => !a.startsWith('--'));
const noJit = args.includes('--no-jit');
const timeoutIdx = args.indexOf('--timeout');
const timeoutS = timeoutIdx >= 0 ? Number(args[timeoutIdx + 1]) : 600;
if (!image) {
  console.error('usage: node bench/v86-run.mjs IMAGE [--no-jit] [--timeout SECONDS]');
  process.exit(2);
}

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve('v86/package.json'));
const { V86 } = await import('v86');
const SEABIOS = '/usr/share/seabios';

const toArrayBuffer = (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
const fda = toArrayBuffer(readFileSync(image));
const bios = toArrayBuffer(readFileSync(`${SEABIOS}/bios.bin`));
const vga = toArrayBuffer(readFileSync(`${SEABIOS}/vgabios-stdvga.bin`));

let output = '';
const marks = {};
let done = false;

const t0 = performance.now();
const emulator = new V86({
  wasm_path: path.join(pkgDir, 'build', 'v86.wasm'),
  memory_size: 64 * 1024 * 1024,
  vga_memory_size: 2 * 1024 * 1024,
  bios: { buffer: bios },
  vga_bios: { buffer: vga },
  fda: { buffer: fda },
  boot_order: 0x321, // floppy first
  autostart: true,
  disable_jit: noJit,
  disable_keyboard: true,
  disable_mouse: true,
  disable_speaker: true,
});

const timer = setTimeout(() => finish('timeout'), timeoutS * 1000);

function finish(reason) {
  if (done) return;
  done = true;
  const ms = performance.now() - t0;
  clearTimeout(timer);
  try {
    emulator.stop();
  } catch {
    // already stopped
  }
  process.stdout.write(`${JSON.stringify({ reason, ms, output, marks })}\n`, () => process.exit(0));
}

emulator.add_listener('serial0-output-byte', (byte) => {
  output += String.fromCharCode(byte);
});

emulator.add_listener('emulator-loaded', () => {
  const io = emulator.v86.cpu.io;
  const dev = { name: 'ringside-bench' };
  // port 0xF4: the guest is done (QEMU's isa-debug-exit has no v86 twin)
  io.register_write(0xf4, dev, () => finish('exit'));
  // port 0x80: 1 = start of the measured part, 2 = end
  io.register_write(0x80, dev, (value) => {
    marks[value] = { instructions: emulator.get_instruction_counter(), ms: performance.now() - t0 };
  });
});
