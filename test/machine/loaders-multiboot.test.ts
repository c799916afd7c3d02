import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadMultiboot, findMultibootHeader, MB_INFO_ADDR, MB_MMAP_ADDR } from '../../adapter/machine/loaders/multiboot';
import { loadGuest } from '../../adapter/machine/loaders/image';
import { GuestLoadError } from '../../adapter/machine/loaders/errors';
import { e820Map, memUpperKiB } from '../../adapter/machine/loaders/e820';
import type { LoadedGuest } from '../../adapter/machine/loaders/types';
import {
  buildElf, multibootHeader, u32, cStringAt, memoryFrom, scratchDir, write, run,
  HAVE_NASM, HAVE_LD, HAVE_QEMU,
} from './loaders-fixtures';

const MiB = 1024 * 1024;

function loadError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof GuestLoadError, `expected a GuestLoadError, got ${e instanceof Error ? e.stack : e}`);
    assert.ok(!e.message.includes('\n'));
    return e.message;
  }
  assert.fail('expected an error');
}

/** An a.out-kludge kernel: 0x40 bytes of code-ish filler, header at offset 8, loaded at 1 MiB. */
function aoutKernel(opts: { bss?: number; loadEnd?: number } = {}): Uint8Array {
  const size = 0x40;
  const img = new Uint8Array(size);
  img.fill(0x90);
  const load = 0x100000;
  img.set(multibootHeader(0x00010003, [load + 8, load, opts.loadEnd ?? load + size, opts.bss ?? load + 0x1800, load + 0x30]), 8);
  return img;
}

test('a header with a bad checksum is refused with a message naming file and offset', () => {
  const img = new Uint8Array(64);
  img.set(multibootHeader(3, [], 0x12345678), 16);
  assert.equal(
    loadError(() => findMultibootHeader(img, 'kernel.bin')),
    'kernel.bin: multiboot header at offset 0x10 has a bad checksum 0x12345678 (magic + flags + checksum must be 0; expected 0xe4524ffb)',
  );
  // Through loadGuest with format auto: the magic makes it multiboot, the checksum stops it.
  const dir = scratchDir();
  write(dir, 'bad.bin', img);
  assert.match(loadError(() => loadGuest({ program: 'bad.bin', cwd: dir })), /^bad\.bin: multiboot header at offset 0x10 has a bad checksum/);
});

test('the header must sit in the first 8 KiB, 4-aligned', () => {
  const img = new Uint8Array(9000);
  img.set(multibootHeader(0x10003), 8192);
  assert.equal(findMultibootHeader(img, 'k'), undefined);
  const odd = new Uint8Array(64);
  odd.set(multibootHeader(0x3), 6);
  assert.equal(findMultibootHeader(odd, 'k'), undefined);
  const cut = multibootHeader(0x10003, [1, 2]);
  assert.match(loadError(() => findMultibootHeader(cut, 'k')), /cut short by the end of the file/);
});

test('unknown required flags are refused; a flat file without the a.out kludge is refused', () => {
  const img = new Uint8Array(64);
  img.set(multibootHeader(0x8 | 0x3), 0);
  assert.match(loadError(() => loadMultiboot(img, 'k.bin', { kernelName: 'k.bin', ramBytes: 64 * MiB })), /required flag bits 0x8/);
  const noKludge = new Uint8Array(64);
  noKludge.set(multibootHeader(0x3), 0);
  assert.match(loadError(() => loadMultiboot(noKludge, 'k.bin', { kernelName: 'k.bin', ramBytes: 64 * MiB })), /without the a\.out kludge \(flag bit 16\) needs an ELF file/);
});

test('a.out kludge: image from header_addr/load_addr, bss zeroed up to bss_end, entry_addr', () => {
  const img = aoutKernel();
  const mb = loadMultiboot(img, 'k.bin', { kernelName: 'k.bin', ramBytes: 64 * MiB });
  const kernel = mb.chunks.find((c) => c.what === 'multiboot kernel')!;
  assert.equal(kernel.addr, 0x100000);
  assert.deepEqual([...kernel.bytes.subarray(0, 0x40)], [...img]);
  assert.ok(kernel.bytes.subarray(0x40, 0x1800).every((b) => b === 0), 'bss zeroed');
  assert.equal(mb.summary.bssEnd, 0x101800);
  assert.equal(mb.initial.eip, 0x100030);
  assert.equal(mb.initial.mode, 'protected');
  assert.equal(mb.initial.regs.eax, 0x2badb002);
  assert.equal(mb.initial.regs.ebx, MB_INFO_ADDR);
  assert.equal(mb.initial.segments.cs.selector, 0x08);
  assert.equal(mb.initial.segments.cs.big, true);
  assert.equal(mb.initial.segments.ds.limit, 0xffffffff);
  assert.equal(mb.initial.eflags & 0x200, 0, 'interrupts off');
  assert.equal(mb.initial.cr0 & 0x80000001, 1, 'protected mode, paging off');

  // Header fields that contradict each other get their own message.
  const bad = img.slice();
  new DataView(bad.buffer).setUint32(8 + 16, 0x100100, true); // load_addr above header_addr
  assert.match(loadError(() => loadMultiboot(bad, 'k.bin', { kernelName: 'k.bin', ramBytes: 64 * MiB })), /header_addr 0x100008 is below load_addr 0x100100/);
  assert.match(loadError(() => loadMultiboot(aoutKernel({ loadEnd: 0x100400 }), 'k.bin', { kernelName: 'k.bin', ramBytes: 64 * MiB })), /load_end_addr 0x100400 asks for 1024 bytes but the file holds 64/);
  assert.match(loadError(() => loadMultiboot(aoutKernel({ bss: 0x100010 }), 'k.bin', { kernelName: 'k.bin', ramBytes: 64 * MiB })), /bss_end_addr 0x100010 is below the end of the loaded image/);
});

test('the info block holds what QEMU 7.2 gives (values measured with the dump kernel)', () => {
  const mb = loadMultiboot(aoutKernel(), 'kernel.bin', {
    kernelName: 'kernel.bin', cmdline: 'hello world', ramBytes: 64 * MiB,
    modules: [
      { path: 'mod1.txt', cmdline: 'arg1 arg2', bytes: new TextEncoder().encode('MODDATA1\n') },
      { path: 'mod2.bin', bytes: new TextEncoder().encode('XYZW\n') },
    ],
  });
  const mem = memoryFrom(mb.chunks, 0x110000);
  const info = (i: number) => u32(mem, MB_INFO_ADDR + 4 * i);
  assert.equal(info(0), 0x24f, 'flags: mem, boot_device, cmdline, mods, mmap, loader name');
  assert.equal(info(1), 639, 'mem_lower = 639 KiB (SeaBIOS EBDA at 0x9FC00)');
  assert.equal(info(2), 0xfb80, 'mem_upper = 64 MiB - 1 MiB - 128 KiB');
  assert.equal(info(3), 0x8000ffff, 'boot_device');
  // Same addresses QEMU used for this layout: kernel+bss fits in 0x2000, so the module list is at
  // 0x102000, strings from 0x102020, modules page-aligned after.
  assert.equal(info(5), 2);
  assert.equal(info(6), 0x102000);
  assert.equal(info(4), 0x10203c);
  assert.equal(cStringAt(mb.chunks, info(4)), 'kernel.bin hello world');
  assert.equal(info(16), 0x102053);
  assert.equal(cStringAt(mb.chunks, info(16)), 'Ringside');
  assert.deepEqual([u32(mem, 0x102000), u32(mem, 0x102004), u32(mem, 0x102008)], [0x103000, 0x103009, 0x102020]);
  assert.deepEqual([u32(mem, 0x102010), u32(mem, 0x102014), u32(mem, 0x102018)], [0x104000, 0x104005, 0x102033]);
  assert.equal(cStringAt(mb.chunks, 0x102020), 'mod1.txt arg1 arg2');
  assert.equal(cStringAt(mb.chunks, 0x102033), 'mod2.bin');
  assert.equal(new TextDecoder().decode(mem.subarray(0x103000, 0x103009)), 'MODDATA1\n');
  // Memory map: 6 entries of 24 bytes at 0x9000.
  assert.equal(info(11), 0x90);
  assert.equal(info(12), MB_MMAP_ADDR);
  const entries = [];
  for (let o = MB_MMAP_ADDR; o < MB_MMAP_ADDR + 0x90; o += 24) entries.push([u32(mem, o), u32(mem, o + 4), u32(mem, o + 12), u32(mem, o + 20)]);
  assert.deepEqual(entries, [
    [20, 0, 0x9fc00, 1],
    [20, 0x9fc00, 0x400, 2],
    [20, 0xf0000, 0x10000, 2],
    [20, 0x100000, 0x3ee0000, 1],
    [20, 0x3fe0000, 0x20000, 2],
    [20, 0xfffc0000, 0x40000, 2],
  ]);
  assert.deepEqual(mb.summary.modules.map((m) => [m.start, m.end]), [[0x103000, 0x103009], [0x104000, 0x104005]]);
});

test('without -append QEMU passes "<kernel> " (with the space); so do we', () => {
  const mb = loadMultiboot(aoutKernel(), 'dir/k.bin', { kernelName: 'dir/k.bin', ramBytes: 64 * MiB });
  assert.equal(cStringAt(mb.chunks, u32(memoryFrom(mb.chunks, 0x110000), MB_INFO_ADDR + 16)), 'dir/k.bin ');
});

test('mem_upper follows the RAM size as QEMU computes it', () => {
  assert.equal(memUpperKiB(2 * MiB), 0x380);
  assert.equal(memUpperKiB(16 * MiB), 0x3b80);
  assert.equal(memUpperKiB(128 * MiB), 0x1fb80);
  assert.equal(memUpperKiB(3072 * MiB), 0x2ffb80);
  assert.deepEqual(e820Map(3072 * MiB)[3], { base: 0x100000, length: 0xbfee0000, type: 1 });
});

test('an ELF multiboot kernel loads at its lowest segment, info placed after the highest', () => {
  const code = new Uint8Array(0x20).fill(0x90);
  code.set(multibootHeader(0x3), 0);
  const { bytes } = buildElf({
    entry: 0x10000c,
    segments: [
      { vaddr: 0x100000, data: code, flags: 5 },
      { vaddr: 0x101000, data: Uint8Array.of(7), memsz: 0x2000, flags: 6 },
    ],
    symbols: [{ name: '_start', value: 0x10000c, type: 2 }],
  });
  const mb = loadMultiboot(bytes, 'k.elf', { kernelName: 'k.elf', ramBytes: 64 * MiB });
  assert.equal(mb.summary.aoutKludge, false);
  assert.equal(mb.summary.loadAddr, 0x100000);
  assert.equal(mb.initial.eip, 0x10000c);
  assert.equal(u32(memoryFrom(mb.chunks, 0x110000), MB_INFO_ADDR + 24), 0x103000, 'module list after pageAlign(0x3000)');
  assert.deepEqual(mb.symbols.map((s) => s.name), ['_start']);
});

test('a kernel or module beyond RAM is "image larger than RAM"', () => {
  const big = aoutKernel({ bss: 0x100000 + 8 * MiB });
  assert.match(loadError(() => loadMultiboot(big, 'k.bin', { kernelName: 'k.bin', ramBytes: 4 * MiB })), /^k\.bin: image larger than RAM: the multiboot kernel ends at 0x900000 \(9\.0 MiB\) but the guest has 4 MiB; give it more RAM \(--ram 10\)$/);
  const mod = { path: 'initrd', bytes: new Uint8Array(3 * MiB) };
  assert.match(loadError(() => loadMultiboot(aoutKernel(), 'k.bin', { kernelName: 'k.bin', ramBytes: 4 * MiB, modules: [mod] })), /image larger than RAM: the last multiboot module ends at/);
});

// ---- Cross-check with QEMU: the dump kernel prints the same under QEMU as our loader predicts.

const hex8 = (n: number) => (n >>> 0).toString(16).toUpperCase().padStart(8, '0') + ' ';

/** What the dump kernel prints, computed from the loader's output instead of running it. */
function predictedDump(g: LoadedGuest): string {
  const mem = memoryFrom(g.chunks, Math.max(...g.chunks.map((c) => c.addr + c.bytes.length)));
  const r = g.initial.regs;
  const s = g.initial.segments;
  const info = (i: number) => u32(mem, r.ebx + 4 * i);
  let out = 'regs ' + [r.eax, r.ebx, r.ecx, r.edx, r.esp - 4, r.edi, g.initial.eflags].map(hex8).join('') + '\n';
  out += 'segs ' + [s.cs, s.ds, s.es, s.fs, s.gs, s.ss].map((x) => hex8(x.selector)).join('') + hex8(g.initial.gdtr.limit) + hex8(g.initial.cr0) + '\n';
  for (let i = 0; i < 22; i++) out += hex8(info(i));
  out += '\ncmdline ' + cStringAt(g.chunks, info(4)) + '\n';
  out += 'loader ' + cStringAt(g.chunks, info(16)) + '\n';
  for (let m = 0; m < info(5); m++) {
    const at = info(6) + 16 * m;
    out += hex8(u32(mem, at)) + hex8(u32(mem, at + 4)) + hex8(u32(mem, at + 8)) + cStringAt(g.chunks, u32(mem, at + 8)) + ' ' + hex8(u32(mem, u32(mem, at))) + '\n';
  }
  for (let o = info(12); o < info(12) + info(11); o += 24) {
    for (let k = 0; k < 6; k++) out += hex8(u32(mem, o + 4 * k));
    out += '\n';
  }
  return out + 'end\n';
}

/** EDX and EDI on entry are leftovers of QEMU's option ROM that vary between runs; mask them. */
const maskLeftovers = (dump: string) => dump.replace(/^(regs (?:\S+ ){3})\S+ (\S+ )\S+/m, '$1-------- $2--------');

function qemuDump(dir: string, kernel: string, extra: string[]): string {
  const r = spawnSync('qemu-system-i386', ['-accel', 'tcg', '-m', '64', '-display', 'none', '-serial', 'stdio',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-kernel', kernel, ...extra], { cwd: dir, encoding: 'latin1', timeout: 60_000 });
  assert.equal(r.status, 1, `QEMU ended with status 1 (the kernel wrote 0 to port 0xF4); stderr: ${r.stderr}`);
  return r.stdout;
}

const SOURCE = path.join(import.meta.dirname, 'loaders-mbdump.asm');

test('QEMU cross-check: a.out kludge kernel with cmdline and modules', { skip: !(HAVE_QEMU && HAVE_NASM) && 'needs qemu-system-i386 and nasm' }, () => {
  const dir = scratchDir();
  fs.copyFileSync(SOURCE, path.join(dir, 'mbdump.asm'));
  run('nasm', ['-f', 'bin', '-o', 'mbdump.bin', 'mbdump.asm'], dir);
  write(dir, 'mod1.txt', 'MODDATA1\n');
  write(dir, 'mod2.bin', 'XYZW\n');
  const ours = loadGuest({
    program: 'mbdump.bin', cwd: dir, ramMiB: 64, cmdline: 'hello world', bootLoaderName: 'qemu',
    modules: [{ path: 'mod1.txt', cmdline: 'arg1 arg2' }, { path: 'mod2.bin' }],
  });
  assert.equal(ours.format, 'multiboot');
  const theirs = qemuDump(dir, 'mbdump.bin', ['-append', 'hello world', '-initrd', 'mod1.txt arg1 arg2,mod2.bin']);
  assert.equal(maskLeftovers(predictedDump(ours)), maskLeftovers(theirs));
});

test('QEMU cross-check: ELF kernel linked by ld, no cmdline', { skip: !(HAVE_QEMU && HAVE_NASM && HAVE_LD) && 'needs qemu-system-i386, nasm and ld' }, () => {
  const dir = scratchDir();
  fs.copyFileSync(SOURCE, path.join(dir, 'mbdump.asm'));
  run('nasm', ['-f', 'elf32', '-DELF', '-o', 'mbdump.o', 'mbdump.asm'], dir);
  run('ld', ['-m', 'elf_i386', '-Ttext', '0x100000', '-o', 'mbdump.elf', 'mbdump.o'], dir);
  const ours = loadGuest({ program: 'mbdump.elf', cwd: dir, ramMiB: 64, bootLoaderName: 'qemu' });
  assert.equal(ours.format, 'multiboot');
  assert.ok(ours.symbols.some((s) => s.name === '_start'), 'ELF symbols kept');
  const theirs = qemuDump(dir, 'mbdump.elf', []);
  assert.equal(maskLeftovers(predictedDump(ours)), maskLeftovers(theirs));
});
