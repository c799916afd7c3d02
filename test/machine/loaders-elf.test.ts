import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseElf, elfGuestSymbols, elfLoadChunks, elfPhysicalEntry } from '../../adapter/machine/loaders/elf';
import { GuestLoadError } from '../../adapter/machine/loaders/errors';
import { loadGuest } from '../../adapter/machine/loaders/image';
import { buildElf, scratchDir, write, run, HAVE_NASM, HAVE_LD } from './loaders-fixtures';

const code = Uint8Array.from([0xb8, 1, 0, 0, 0, 0xf4, 0xeb, 0xfd]);
const data = Uint8Array.from([1, 2, 3, 4]);
const good = () =>
  buildElf({
    entry: 0x100000,
    segments: [
      { vaddr: 0x100000, data: code, flags: 5 },
      { vaddr: 0x101000, data, memsz: 0x20, flags: 6 },
    ],
    symbols: [
      { name: 'start', value: 0x100000, type: 2, size: 8 },
      { name: 'table', value: 0x101000, type: 1, size: 4, shndx: 2 },
      { name: 'local_label', value: 0x100005, bind: 0 },
      { name: 'SOME_CONST', value: 42, shndx: 0xfff1 },
      { name: 'undefined_ref', value: 0, shndx: 0 },
    ],
  });

/** The message of the GuestLoadError `fn` throws; fails if it throws anything else. */
function loadError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof GuestLoadError, `expected a GuestLoadError, got ${e instanceof Error ? e.stack : e}`);
    assert.ok(!e.message.includes('\n'), `message is one line: ${e.message}`);
    return e.message;
  }
  assert.fail('expected an error');
}

test('a well-formed ELF: segments at their addresses, bss zeroed, entry, symbols', () => {
  const { bytes } = good();
  const elf = parseElf(bytes, 'k.elf');
  assert.equal(elf.entry, 0x100000);
  const chunks = elfLoadChunks(elf, bytes);
  assert.deepEqual(chunks.map((c) => [c.addr, c.bytes.length]), [[0x100000, 8], [0x101000, 0x20]]);
  assert.deepEqual([...chunks[0].bytes], [...code]);
  assert.deepEqual([...chunks[1].bytes.subarray(0, 4)], [1, 2, 3, 4]);
  assert.ok(chunks[1].bytes.subarray(4).every((b) => b === 0), 'bss is zero-filled');
  const syms = elfGuestSymbols(elf);
  assert.deepEqual(
    syms.map((s) => [s.name, s.addr, s.kind, s.size]),
    [
      ['start', 0x100000, 'function', 8],
      ['table', 0x101000, 'object', 4],
      ['local_label', 0x100005, 'label', undefined],
      ['SOME_CONST', 42, 'absolute', undefined],
    ],
  );
  const raw = elf.symbols.find((s) => s.name === 'local_label')!;
  assert.equal(raw.binding, 0);
  assert.equal(elf.symbols.find((s) => s.name === 'start')!.binding, 1);
  assert.equal(elf.sections.find((s) => s.name === '.text')?.addr, 0x100000);
});

test('a higher-half ELF loads at its physical addresses and enters at the physical entry', () => {
  const { bytes } = buildElf({ entry: 0xc0100004, segments: [{ vaddr: 0xc0100000, paddr: 0x100000, data: code, flags: 5 }] });
  const elf = parseElf(bytes, 'hh.elf');
  assert.equal(elfLoadChunks(elf, bytes)[0].addr, 0x100000);
  assert.equal(elfPhysicalEntry(elf), 0x100004);
});

test('wrong class, endianness, machine and type are named', () => {
  const mutate = (f: (b: Uint8Array, dv: DataView) => void) => {
    const b = good().bytes.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  assert.match(loadError(() => parseElf(mutate((b) => (b[4] = 2)), 'k.elf')), /^k\.elf: is a 64-bit ELF \(ELFCLASS64\)/);
  assert.match(loadError(() => parseElf(mutate((b) => (b[5] = 2)), 'k.elf')), /^k\.elf: is a big-endian ELF/);
  assert.match(loadError(() => parseElf(mutate((_, dv) => dv.setUint16(18, 62, true)), 'k.elf')), /^k\.elf: is an ELF for x86-64 \(e_machine 62\)/);
  assert.match(loadError(() => parseElf(mutate((_, dv) => dv.setUint16(18, 40, true)), 'k.elf')), /ARM/);
  assert.match(loadError(() => parseElf(mutate((_, dv) => dv.setUint16(16, 1, true)), 'k.elf')), /relocatable object \(ET_REL\).*link it first/);
  assert.match(loadError(() => parseElf(mutate((_, dv) => dv.setUint16(16, 3, true)), 'k.elf')), /position-independent \(ET_DYN\)/);
  assert.match(loadError(() => parseElf(mutate((_, dv) => dv.setUint16(16, 4, true)), 'k.elf')), /not an executable \(e_type ET_CORE/);
});

test('truncated ELF files say what is cut short', () => {
  const { bytes, phoff, shoff, segmentOffsets } = good();
  assert.match(loadError(() => parseElf(bytes.subarray(0, 40), 'k.elf')), /^k\.elf: truncated ELF: the header needs 52 bytes, the file has 40$/);
  assert.match(loadError(() => parseElf(bytes.subarray(0, phoff + 32 + 10), 'k.elf')), /^k\.elf: truncated ELF: program header 1 extends past end of file$/);
  assert.match(loadError(() => parseElf(bytes.subarray(0, segmentOffsets[1] + 2), 'k.elf')), /^k\.elf: truncated ELF: segment 1 data \(0x\w+\+0x4\) extends past end of file$/);
  assert.match(loadError(() => parseElf(bytes.subarray(0, shoff + 40 * 3 + 5), 'k.elf')), /^k\.elf: truncated ELF: section header 3 extends past end of file$/);
});

test('malformed headers: bad sizes, filesz > memsz, entry outside, no PT_LOAD, dynamic', () => {
  const mutate = (f: (dv: DataView, b: ReturnType<typeof good>) => void) => {
    const g = good();
    const b = g.bytes.slice();
    f(new DataView(b.buffer), { ...g, bytes: b });
    return b;
  };
  assert.match(loadError(() => parseElf(mutate((dv) => dv.setUint16(42, 16, true)), 'k.elf')), /bad program header size 16/);
  assert.match(loadError(() => parseElf(mutate((dv, g) => dv.setUint32(g.phoff + 20, 2, true)), 'k.elf')), /segment 0: file size 0x8 is larger than memory size 0x2/);
  assert.match(loadError(() => parseElf(mutate((dv) => dv.setUint32(24, 0x200000, true)), 'k.elf')), /entry point 0x200000 is outside every loadable segment/);
  assert.match(loadError(() => parseElf(mutate((dv) => dv.setUint16(44, 0, true)), 'k.elf')), /no program headers/);
  assert.match(loadError(() => parseElf(mutate((dv, g) => { dv.setUint32(g.phoff, 4, true); dv.setUint32(g.phoff + 32, 4, true); }), 'k.elf')), /no PT_LOAD segment/);
  assert.match(loadError(() => parseElf(mutate((dv, g) => dv.setUint32(g.phoff + 32, 3, true)), 'k.elf')), /dynamically linked \(has PT_INTERP\)/);
  assert.match(loadError(() => parseElf(mutate((dv) => dv.setUint32(28, 0xfffffff0, true)), 'k.elf')), /truncated ELF: program header 0 extends past end of file/);
  assert.match(loadError(() => parseElf(mutate((dv) => dv.setUint16(50, 200, true)), 'k.elf')), /section name table index 200 is out of range/);
  assert.match(loadError(() => parseElf(Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 1]), 'k.elf')), /truncated ELF: the identification bytes/);
});

test('no truncation or corruption of an ELF escapes as anything but a GuestLoadError', () => {
  const { bytes } = good();
  for (let len = 0; len < bytes.length; len++) {
    try {
      parseElf(bytes.subarray(0, len), 'k.elf');
    } catch (e) {
      assert.ok(e instanceof GuestLoadError, `length ${len}: ${e}`);
    }
  }
  // Deterministic pseudo-random corruption of header and table bytes.
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
  for (let round = 0; round < 3000; round++) {
    const b = bytes.slice();
    for (let k = 0; k < 1 + (round % 4); k++) b[rnd() % b.length] = rnd() & 0xff;
    try {
      const elf = parseElf(b, 'k.elf');
      elfLoadChunks(elf, b);
      elfGuestSymbols(elf);
    } catch (e) {
      assert.ok(e instanceof GuestLoadError, `round ${round}: ${e instanceof Error ? e.stack : e}`);
    }
  }
});

test('an ELF built by nasm and ld loads with its symbols, through loadGuest', { skip: !(HAVE_NASM && HAVE_LD) && 'needs nasm and ld' }, () => {
  const dir = scratchDir();
  write(dir, 'k.asm', `bits 32
section .text
global _start
_start:
  mov esp, stack_top
  call kmain
  hlt
kmain:
  ret
section .data
msg: db "hello", 0
section .bss
stack: resb 4096
stack_top:
`);
  run('nasm', ['-f', 'elf32', '-o', 'k.o', 'k.asm'], dir);
  run('ld', ['-m', 'elf_i386', '-Ttext', '0x100000', '-o', 'k.elf', 'k.o'], dir);
  const g = loadGuest({ program: 'k.elf', cwd: dir });
  assert.equal(g.format, 'elf');
  assert.equal(g.initial.mode, 'protected');
  assert.equal(g.initial.eip, 0x100000);
  const byName = new Map(g.symbols.map((s) => [s.name, s.addr]));
  assert.equal(byName.get('_start'), 0x100000);
  assert.equal(byName.get('kmain'), 0x10000b);
  assert.equal(byName.get('stack_top')! - byName.get('stack')!, 4096);
  const text = g.chunks.find((c) => c.addr === 0x100000)!;
  assert.equal(text.bytes[0], 0xbc, 'mov esp, imm32 at the entry');

  // The object file itself is refused with advice, and a truncated executable with a clear line.
  assert.match(loadError(() => loadGuest({ program: 'k.o', cwd: dir, format: 'elf' })), /^k\.o: is a relocatable object \(ET_REL\)/);
  const full = fs.readFileSync(path.join(dir, 'k.elf'));
  write(dir, 'cut.elf', full.subarray(0, 0x1005));
  assert.match(loadError(() => loadGuest({ program: 'cut.elf', cwd: dir })), /^cut\.elf: truncated ELF: /);
});
