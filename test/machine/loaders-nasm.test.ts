import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { assemble, findNasm, parseNasmDiagnostics } from '../../adapter/machine/nasm';
import { GuestLoadError, NasmError } from '../../adapter/machine/loaders/errors';
import { countListingData, lineForAddress, addressesForLine, parseNasmMap } from '../../adapter/machine/loaders/listing';
import { loadGuest } from '../../adapter/machine/loaders/image';
import { scratchDir, write, NO_NASM } from './loaders-fixtures';

test('nasm missing: RINGSIDE_NASM pointing nowhere says how to install it', () => {
  const dir = scratchDir();
  write(dir, 'x.asm', 'nop\n');
  const env = { ...process.env, RINGSIDE_NASM: '/nonexistent/nasm' };
  assert.throws(
    () => loadGuest({ program: 'x.asm', cwd: dir, env }),
    (e: unknown) =>
      e instanceof GuestLoadError &&
      e.message === 'nasm not found: RINGSIDE_NASM is /nonexistent/nasm, which is not an executable file; install it (apt-get install nasm on Debian/Ubuntu) or set RINGSIDE_NASM or the launch attribute nasmPath to its path',
  );
  // nasmPath, and an empty PATH.
  const noEnv = { PATH: '' };
  assert.throws(() => findNasm('/nope/nasm', noEnv), /nasm not found: nasmPath is \/nope\/nasm/);
  assert.throws(() => findNasm(undefined, noEnv), /^GuestLoadError: nasm not found on the PATH; install it \(apt-get install nasm/);
});

test('nasm diagnostics parse into file, line, severity, message, with macro notes', () => {
  const d = parseNasmDiagnostics(
    [
      'sp ace/k.asm:6: error: invalid combination of opcode and operands',
      'sp ace/k.asm:4: ... from macro `BAD\' defined here',
      'inc/u.inc:2: warning: label alone on a line without a colon might be in error [-w+label-orphan]',
      'nasm: fatal: unable to open input file `x.asm\' No such file or directory',
    ].join('\n'),
  );
  assert.deepEqual(
    d.map((x) => [x.file, x.line, x.severity, x.message]),
    [
      ['sp ace/k.asm', 6, 'error', 'invalid combination of opcode and operands'],
      ['inc/u.inc', 2, 'warning', 'label alone on a line without a colon might be in error [-w+label-orphan]'],
      ['', 0, 'error', "unable to open input file `x.asm' No such file or directory"],
    ],
  );
  assert.deepEqual(d[0].notes, [{ file: 'sp ace/k.asm', line: 4, message: "from macro `BAD' defined here" }]);
});

test('a nasm error is reported with file and line, in the main file and in an included one', { skip: NO_NASM }, () => {
  const dir = scratchDir();
  write(dir, 'src/main.asm', 'bits 32\nnop\n  movx eax, 1\n');
  assert.throws(
    () => loadGuest({ program: 'src/main.asm', cwd: dir }),
    (e: unknown) =>
      e instanceof NasmError &&
      e.message === 'src/main.asm:3: error: parser: instruction expected' &&
      e.diagnostics[0].file === path.join(dir, 'src/main.asm') &&
      e.diagnostics[0].line === 3 &&
      e.diagnostics[0].severity === 'error',
  );
  // The include sits next to the source, not in nasm's working directory: still found, and its
  // error points into it with an absolute path for the editor.
  write(dir, 'src/lib.inc', 'nop\nmov eax, ebx, ecx\n');
  write(dir, 'src/main2.asm', 'bits 32\n%include "lib.inc"\n');
  try {
    assemble({ source: 'src/main2.asm', cwd: dir });
    assert.fail('expected a NasmError');
  } catch (e) {
    assert.ok(e instanceof NasmError);
    assert.match(e.message, /lib\.inc:2: error: /);
    assert.equal(e.diagnostics[0].file, path.join(dir, 'src/lib.inc'));
    assert.equal(e.diagnostics[0].line, 2);
  }
});

test('warnings come back as diagnostics of a successful assembly', { skip: NO_NASM }, () => {
  const dir = scratchDir();
  write(dir, 'w.asm', 'bits 32\nnop\n%warning look here\n');
  const r = assemble({ source: 'w.asm', cwd: dir });
  assert.equal(r.diagnostics.length, 1);
  assert.equal(r.diagnostics[0].severity, 'warning');
  assert.equal(r.diagnostics[0].line, 3);
  assert.match(r.diagnostics[0].message, /look here/);
});

test('a missing source is one clear line', () => {
  const dir = scratchDir();
  assert.throws(() => loadGuest({ program: 'nothere.asm', cwd: dir }), (e: unknown) => e instanceof GuestLoadError && e.message === 'nothere.asm: no such file');
});

const INC = `; helpers
helper:
    mov eax, 1
    ret
%macro TWO 0
    nop
    inc ebx
%endmacro
`;
const MAIN = `    bits 32
    org 0x100000
%include "helpers.inc"
%macro THREE 1
    mov ecx, %1
    TWO
%endmacro
start:
    cli
    THREE 5
    call helper
%rep 2
    inc eax
%endrep

    jmp start
section .data
msg: db "a string long enough to continue on several listing lines", 0
section .text
%if 0
section .data
%endif
tail:
    ret
`;

test('listing line map: %include, a macro expanding to several instructions, %rep, sections', { skip: NO_NASM }, () => {
  const dir = scratchDir();
  write(dir, 'helpers.inc', INC);
  const main = write(dir, 'main.asm', MAIN);
  const inc = path.join(dir, 'helpers.inc');
  const r = assemble({ source: 'main.asm', cwd: dir });
  const lm = r.lineMap!;
  const at = (file: string, line: number) => addressesForLine(lm, file, line);
  const sym = (n: string) => r.symbols.find((s) => s.name === n)!.addr;

  // Included code maps to the included file.
  assert.deepEqual(at(inc, 3), [0x100000]);
  assert.deepEqual(at(inc, 4), [0x100005]);
  assert.equal(sym('helper'), 0x100000);
  assert.equal(sym('start'), 0x100006);
  assert.deepEqual(at(main, 9), [0x100006]);
  // THREE 5 = mov ecx,5 (5 bytes) + nop + inc ebx, all on the invoking line 10, even the part
  // that comes from a macro defined in the include.
  assert.deepEqual(at(main, 10), [0x100007, 0x10000c, 0x10000d]);
  assert.deepEqual(lm.entries.filter((e) => e.line === 10).map((e) => e.length), [5, 1, 1]);
  assert.deepEqual(at(inc, 6), [], 'macro body lines in the include get no code of their own');
  assert.deepEqual(at(main, 11), [0x10000e]);
  // %rep bodies land on the body line, once per repetition.
  assert.deepEqual(at(main, 13), [0x100013, 0x100014]);
  assert.deepEqual(at(main, 16), [0x100015]);
  // .data follows .text; the long string's continuation lines add to its length.
  const data = lm.entries.find((e) => e.line === 18)!;
  assert.equal(data.section, '.data');
  assert.equal(data.addr, sym('msg'));
  assert.equal(data.length, 'a string long enough to continue on several listing lines'.length + 1);
  assert.equal(r.binary[data.offset], 'a'.charCodeAt(0));
  // The untaken %if branch does not drag `ret` into .data.
  const ret = lm.entries.find((e) => e.line === 24)!;
  assert.equal(ret.section, '.text');
  assert.equal(ret.addr, sym('tail'));
  assert.equal(r.binary[ret.offset], 0xc3);
  // Address -> line.
  assert.deepEqual([lineForAddress(lm, 0x10000d)?.line, lineForAddress(lm, 0x100003)?.file], [10, inc]);
  assert.equal(lineForAddress(lm, 0x200000), undefined);
  // Every entry's bytes are where the map says: entries tile the code without gaps or overlaps.
  const text = lm.entries.filter((e) => e.section === '.text');
  for (let i = 1; i < text.length; i++) assert.equal(text[i].addr, text[i - 1].addr + text[i - 1].length, `entry ${i} follows entry ${i - 1}`);
  assert.deepEqual(lm.files.sort(), [inc, main].sort());
});

test('listing data fields count bytes the way nasm writes them', () => {
  assert.equal(countListingData('B8[00000000]').length, 5);
  assert.equal(countListingData('00<rep 1E5h>').length, 0x1e5);
  assert.equal(countListingData('90<rep 5h>').length, 5);
  assert.equal(countListingData('<bin 18h>').length, 0x18);
  assert.equal(countListingData('<res 10h>').length, 16);
  assert.equal(countListingData('????').length, 2);
  assert.equal(countListingData('E8(F4FFFFFF)').length, 5);
  assert.equal(countListingData('612076657279206C6F-').length, 9);
  assert.equal(countListingData('<zero 20h>').length, 32);
});

test('map files give origin, sections and symbols', () => {
  const map = parseNasmMap(`
- NASM Map file ---------------------------------------------------------------

-- Program origin -------------------------------------------------------------

00001000

-- Sections (summary) ---------------------------------------------------------

Vstart            Start             Stop              Length    Class     Name
            1000              1000              1036  00000036  progbits  .text
            1040              1040              1050  00000010  nobits    .bss

-- Symbols --------------------------------------------------------------------

---- No Section ---------------------------------------------------------------

Value     Name
00000006  pt_size
00005000  abs1


---- Section .text ------------------------------------------------------------

Real              Virtual           Name
            1000              1000  incfn
            1022              1022  ..@10.strucstart
`);
  assert.equal(map.origin, 0x1000);
  assert.deepEqual(map.sections.map((s) => [s.name, s.vstart, s.length, s.progbits]), [['.text', 0x1000, 0x36, true], ['.bss', 0x1040, 0x10, false]]);
  assert.deepEqual(map.symbols, [
    { name: 'pt_size', addr: 6, kind: 'absolute' },
    { name: 'abs1', addr: 0x5000, kind: 'absolute' },
    { name: 'incfn', addr: 0x1000, kind: 'label' },
    { name: '..@10.strucstart', addr: 0x1022, kind: 'label', internal: true },
  ]);
});

test('nasmArgs reach nasm (a -D define), and the flat guest loads at the source org', { skip: NO_NASM }, () => {
  const dir = scratchDir();
  write(dir, 'f.asm', 'bits 32\norg 0x200000\n%ifdef FAST\nstart: nop\n%else\nstart: hlt\n%endif\n');
  const g = loadGuest({ program: 'f.asm', cwd: dir, nasmArgs: ['-DFAST'] });
  assert.equal(g.format, 'flat');
  const chunk = g.chunks.find((c) => c.what === 'flat binary')!;
  assert.equal(chunk.addr, 0x200000);
  assert.equal(chunk.bytes[0], 0x90);
  assert.equal(g.initial.eip, 0x200000);
  assert.deepEqual(g.symbols.map((s) => [s.name, s.addr]), [['start', 0x200000]]);
});

test('extra symbol files: a nasm map and an ELF object add their symbols to a binary guest', { skip: NO_NASM }, () => {
  const dir = scratchDir();
  write(dir, 'p.asm', 'bits 32\norg 0x100000\nentry_point: nop\nloop_here: jmp loop_here\n');
  const kept = assemble({ source: 'p.asm', cwd: dir, outDir: 'build' });
  assert.ok(kept.outputs?.map && kept.outputs.binary.endsWith('p.bin'));
  write(dir, 'o.asm', 'bits 32\nglobal from_object\nfrom_object: ret\n');
  assemble({ source: 'o.asm', cwd: dir, nasmArgs: ['-f', 'elf32'], outDir: 'build' });
  const g = loadGuest({ program: 'build/p.bin', cwd: dir, format: 'flat', symbols: ['build/p.map', 'build/o.o'] });
  assert.deepEqual(g.symbols.map((s) => [s.name, s.addr]), [['from_object', 0], ['entry_point', 0x100000], ['loop_here', 0x100001]]);
  write(dir, 'junk.sym', 'nothing');
  assert.throws(() => loadGuest({ program: 'build/p.bin', cwd: dir, format: 'flat', symbols: ['junk.sym'] }), /^GuestLoadError: junk\.sym: not a symbol file \(expected an ELF file or a nasm map file\)$/);
});
