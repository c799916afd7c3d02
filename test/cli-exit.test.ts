// How `ringside run` ends, through the real built runner (dist/cli.js: `npm run build` first;
// `npm test` does): the guest's exit ports, the runner's own endings with their documented statuses
// (README, adapter/cli.ts STATUS), the console streams, --vga and --stats, and every bad input the
// foundation issue lists: one clear line on stderr, status 2, never a stack trace.
//
// The guests are tiny boot sectors written here and assembled by the runner itself (a .asm guest);
// when QEMU is installed, the exit-port statuses and COM1 bytes are checked against it too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, haveNasm, haveQemu, runQemu } from './guests/emulators';
import { buildElf, multibootHeader } from './machine/loaders-fixtures';

/** The statuses the README documents (adapter/cli.ts STATUS). */
const TRIPLE_FAULT = 70, HALTED_FOREVER = 71, INSTRUCTION_LIMIT = 72, BAD_INPUT = 2;

const NASM = haveNasm();
const NO_NASM = NASM ? false : 'nasm is not installed';
const dir = mkdtempSync(join(tmpdir(), 'ringside-cli-exit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run { status: number | null; stdout: Buffer; stderr: string }

/** `node dist/cli.js run ARGS` in the scratch folder. */
function ringside(args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  assert.ok(existsSync(cliPath), `${cliPath} is missing: run \`npm run build\` first`);
  const r = spawnSync(process.execPath, [cliPath, 'run', ...args], { cwd: dir, env, timeout: 60_000 });
  assert.ok(!r.error, `the runner did not run: ${r.error}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

/**
 * A boot sector: real mode at 0000:7C00 with interrupts off and flat segments, then `body`; should
 * the body fall through, the guest halts for good (status 71), which a test expecting any other
 * ending reports plainly.
 */
function bootGuest(name: string, body: string, data = ''): string {
  const src = `org 0x7c00
bits 16
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
${body}
fall_through:
  cli
  hlt
  jmp fall_through
${data}
times 510-($-$$) db 0
dw 0xaa55
`;
  const file = `${name}.asm`;
  writeFileSync(join(dir, file), src);
  return file;
}

/** COM1 setup (115200 8N1, FIFOs on) and `putc`: send AL once the transmitter is empty. */
const SERIAL = `
serial_init:
  mov dx, 0x3fb
  mov al, 0x80
  out dx, al
  mov dx, 0x3f8
  mov al, 1
  out dx, al
  mov dx, 0x3f9
  xor al, al
  out dx, al
  mov dx, 0x3fb
  mov al, 3
  out dx, al
  mov dx, 0x3fa
  mov al, 7
  out dx, al
  ret
putc:
  push ax
  mov dx, 0x3fd
.wait:
  in al, dx
  test al, 0x40
  jz .wait
  pop ax
  mov dx, 0x3f8
  out dx, al
  ret
`;

/** A guest that prints `text` on COM1 (waiting for the transmitter each time), then runs `then`. */
function printThen(name: string, text: string, then: string): string {
  const bytes = [...Buffer.from(text, 'latin1')].join(', ');
  return bootGuest(name, `
  call serial_init
  mov si, msg
.next:
  cmp si, msg_end
  je .done
  lodsb
  call putc
  jmp .next
.done:
  mov dx, 0x3fd
.drain:
  in al, dx
  test al, 0x40
  jz .drain
${then}`, `${SERIAL}\nmsg:${bytes ? ` db ${bytes}` : ''}\nmsg_end:`);
}

/** Exactly one line on stderr, naming the problem, and no stack trace. */
function oneLine(r: Run, pattern: RegExp, what: string): void {
  assert.match(r.stderr, /^ringside: [^\n]+\n$/, `${what}: want exactly one line on stderr, got:\n${r.stderr}`);
  assert.match(r.stderr, pattern, `${what}: stderr does not say what happened`);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, `${what}: a stack trace or internal error`);
}

const exitValues: [string, string, number][] = [
  // [label, code writing to port 0xF4, status]: (v << 1) | 1, of which a process keeps the low 8 bits
  ['byte 0', 'mov al, 0\n  out 0xf4, al', 1],
  ['byte 1', 'mov al, 1\n  out 0xf4, al', 3],
  ['byte 0x2a', 'mov al, 0x2a\n  out 0xf4, al', 0x55],
  ['byte 0x7f', 'mov al, 0x7f\n  out 0xf4, al', 0xff],
  ['byte 0x80 (bit 7 falls off the status)', 'mov al, 0x80\n  out 0xf4, al', 1],
  ['byte 0xc3 through DX', 'mov dx, 0xf4\n  mov al, 0xc3\n  out dx, al', 0x87],
  ['word 0x0102', 'mov dx, 0xf4\n  mov ax, 0x0102\n  out dx, ax', 5],
];

test('a value v written to port 0xF4 ends the run with status (v << 1) | 1', { skip: NO_NASM }, () => {
  exitValues.forEach(([label, code, status], k) => {
    const r = ringside([bootGuest(`f4-${k}`, `  ${code}`)]);
    assert.equal(r.status, status, `${label}: status ${r.status}, want ${status}; stderr: ${r.stderr}`);
    assert.equal(r.stderr, '', `${label}: a guest's own exit is not the runner's to report`);
  });
});

test('"Shutdown" written to port 0x8900 ends the run with status 0; anything short of it does not', { skip: NO_NASM }, () => {
  const shutdown = (name: string, text: string) => bootGuest(name, `
  mov si, str
  mov dx, 0x8900
.next:
  cmp si, str_end
  je .done
  lodsb
  out dx, al
  jmp .next
.done:`, `str: db ${JSON.stringify(text)}\nstr_end:`);
  // a false start ("Shut" then "x") is forgotten; the full word then counts
  let r = ringside([shutdown('shutdown', 'ShutxShutdown')]);
  assert.equal(r.status, 0, `stderr: ${r.stderr}`);
  assert.equal(r.stderr, '');
  r = ringside([shutdown('shutdow', 'Shutdow')]);
  assert.equal(r.status, HALTED_FOREVER, 'an unfinished "Shutdow" must not end the run');
});

test('a triple fault: one line on stderr, status 70, the console output before it kept', { skip: NO_NASM }, () => {
  // An empty real-mode IDT: INT 3 cannot be delivered, nor can #GP or #DF after it.
  const r = ringside([printThen('triple', 'before', '  lidt [cs:empty_idt]\n  int 3\nempty_idt: dw 0\n  dd 0')]);
  assert.equal(r.status, TRIPLE_FAULT);
  oneLine(r, /triple fault/, 'triple fault');
  assert.equal(r.stdout.toString('latin1'), 'before');
});

test('HLT with interrupts disabled and nothing pending: one line on stderr, status 71', { skip: NO_NASM }, () => {
  const r = ringside([printThen('halt', 'halting', '  cli\n  hlt')]);
  assert.equal(r.status, HALTED_FOREVER);
  oneLine(r, /halted .*interrupts disabled/, 'HLT with IF=0');
  assert.equal(r.stdout.toString('latin1'), 'halting');
});

test('--max-instructions: one line on stderr naming the limit, status 72, exactly N instructions retired', { skip: NO_NASM }, () => {
  const guest = printThen('spin', 'spinning', 'spin:\n  jmp spin');
  let r = ringside([guest, '--max-instructions', '100000']);
  assert.equal(r.status, INSTRUCTION_LIMIT);
  oneLine(r, /--max-instructions 100000/, '--max-instructions');
  assert.equal(r.stdout.toString('latin1'), 'spinning');
  r = ringside([guest, '--max-instructions', '123457', '--stats']);
  assert.equal(r.status, INSTRUCTION_LIMIT);
  assert.match(r.stderr, /^retired instructions: +123457$/m, r.stderr);
});

const allBytes = () => bootGuest('bytes', `
  call serial_init
  xor cx, cx
.next:
  mov al, cl
  call putc
  inc cx
  cmp cx, 256
  jne .next
  mov dx, 0x3fd
.drain:
  in al, dx
  test al, 0x40
  jz .drain
  mov al, 0
  out 0xf4, al`, SERIAL);

test('COM1 output reaches stdout byte for byte: every value 0..255, NUL, CR, LF and bytes >= 0x80 untouched', { skip: NO_NASM }, () => {
  const r = ringside([allBytes()]);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual([...r.stdout], Array.from({ length: 256 }, (_, k) => k));
});

const DEBUGCON = `
  call serial_init
  mov al, 'A'
  call putc
  mov dx, 0x3fd
.d1:
  in al, dx
  test al, 0x40
  jz .d1
  mov al, 'B'
  out 0xe9, al
  mov al, 'C'
  call putc
  mov dx, 0x3fd
.d2:
  in al, dx
  test al, 0x40
  jz .d2
  mov al, 0xff
  out 0xe9, al
  mov al, 0
  out 0xe9, al
  mov al, 0x0a
  out 0xe9, al
  mov al, 0
  out 0xf4, al`;

test('port 0xE9 goes to stdout in order with COM1, or to a file with --debugcon FILE', { skip: NO_NASM }, () => {
  const guest = bootGuest('debugcon', DEBUGCON, SERIAL);
  let r = ringside([guest]);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual([...r.stdout], [0x41, 0x42, 0x43, 0xff, 0x00, 0x0a]);
  const file = join(dir, 'e9.out');
  r = ringside([guest, '--debugcon', file]);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout.toString('latin1'), 'AC', 'with --debugcon, stdout carries COM1 alone');
  assert.deepEqual([...readFileSync(file)], [0x42, 0xff, 0x00, 0x0a]);
});

test('--vga prints the final 80x25 text screen (on stderr, so stdout stays the serial console)', { skip: NO_NASM }, () => {
  const text = (row: number, col: number) => `  mov di, ${(row * 80 + col) * 2}\n  mov si, s${row}\n  call show`;
  const guest = bootGuest('vga', `
  mov ax, 0xb800
  mov es, ax
${text(0, 0)}
${text(12, 30)}
${text(24, 70)}
  mov al, 0
  out 0xf4, al`, `
show:
  lodsb
  test al, al
  jz .done
  mov ah, 0x1f
  stosw
  jmp show
.done:
  ret
s0: db 'Ringside --vga', 0
s12: db 'middle of the screen', 0
s24: db 'last cell>', 0`);
  const r = ringside([guest, '--vga']);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout.length, 0);
  const lines = r.stderr.split('\n');
  const bar = '+' + '-'.repeat(80) + '+';
  const start = lines.indexOf(bar);
  assert.ok(start >= 0, `no screen frame on stderr:\n${r.stderr}`);
  const rows = lines.slice(start + 1, start + 26);
  assert.equal(lines[start + 26], bar, 'a frame of 25 rows');
  assert.ok(rows.every((l) => l.length === 82 && l.startsWith('|') && l.endsWith('|')), 'rows of 80 cells');
  const row = (n: number) => rows[n].slice(1, -1);
  assert.equal(row(0), 'Ringside --vga'.padEnd(80));
  assert.equal(row(12), ' '.repeat(30) + 'middle of the screen'.padEnd(50));
  assert.equal(row(24), ' '.repeat(70) + 'last cell>');
  for (const n of [1, 11, 13, 23]) assert.equal(row(n), ' '.repeat(80), `row ${n} is blank`);
});

test('--stats prints retired instructions, MIPS, wall time and the POST codes written to port 0x80', { skip: NO_NASM }, () => {
  // 6 set-up instructions, 8 POST writes, 2 to exit: 16 retired.
  const guest = bootGuest('post', ['0x11', '0x22', '0x11', '0x33'].map((v) => `  mov al, ${v}\n  out 0x80, al`).join('\n') +
    '\n  mov al, 0\n  out 0xf4, al');
  let r = ringside([guest, '--stats']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^retired instructions: +16$/m, r.stderr);
  assert.match(r.stderr, /^POST codes: +0x11 0x22 0x33$/m, 'distinct codes in the order first written');
  assert.match(r.stderr, /^MIPS: +\d+\.\d$/m);
  assert.match(r.stderr, /^wall time: +\d+\.\d{3} s$/m);
  // MIPS is the retired count over the wall time
  r = ringside([printThen('mips', '', 'spin:\n  jmp spin'), '--max-instructions', '3000000', '--stats']);
  const n = Number(/^retired instructions: +(\d+)$/m.exec(r.stderr)?.[1]);
  const secs = Number(/^wall time: +([\d.]+) s$/m.exec(r.stderr)?.[1]);
  const mips = Number(/^MIPS: +([\d.]+)$/m.exec(r.stderr)?.[1]);
  assert.equal(n, 3_000_000, r.stderr);
  assert.ok(secs > 0, r.stderr);
  assert.ok(Math.abs(mips - n / 1e6 / secs) <= 0.1 + 0.05 * mips, `MIPS ${mips} is not ${n} / ${secs} s:\n${r.stderr}`);
  assert.match(r.stderr, /^POST codes: +\(none\)$/m);
});

test('QEMU agrees: the same images end with the same 0xF4 statuses and COM1 bytes', { skip: !NASM ? NO_NASM : !haveQemu() && 'qemu-system-i386 is not installed' }, async () => {
  // QEMU boots them as floppies: the boot sector padded to 1.44 MB, assembled here.
  const floppy = (asm: string): string => {
    const img = join(dir, asm.replace(/\.asm$/, '.img'));
    const r = spawnSync(process.env.RINGSIDE_NASM ?? 'nasm', ['-f', 'bin', '-o', img, join(dir, asm)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const bytes = new Uint8Array(1474560);
    bytes.set(readFileSync(img));
    writeFileSync(img, bytes);
    return img;
  };
  for (const [k, [label, code, status]] of exitValues.entries()) {
    const q = await runQemu(floppy(bootGuest(`f4-${k}`, `  ${code}`)), 'floppy');
    assert.equal(q.status, status, `QEMU, ${label}: status ${q.status}, the runner test wants ${status}`);
  }
  const q = await runQemu(floppy(allBytes()), 'floppy');
  const r = ringside([allBytes()]);
  assert.equal(q.status, 1);
  assert.equal(r.stdout.toString('latin1'), q.stdout, 'COM1 bytes differ from QEMU');
});

// ------------------------------------------------------------------ bad input

function refused(what: string, args: string[], pattern: RegExp, env?: NodeJS.ProcessEnv): void {
  const r = ringside(args, env);
  assert.equal(r.status, BAD_INPUT, `${what}: status ${r.status}, want ${BAD_INPUT}; stderr: ${r.stderr}`);
  oneLine(r, pattern, what);
  assert.equal(r.stdout.length, 0, `${what}: nothing on stdout`);
}

test('bad input: missing file, unknown format, a file whose format cannot be told', () => {
  refused('missing file', ['no-such-guest.img'], /no-such-guest\.img: no such file/);
  writeFileSync(join(dir, 'sector.img'), Uint8Array.from({ length: 512 }, (_, k) => (k === 510 ? 0x55 : k === 511 ? 0xaa : 0xf4)));
  refused('unknown format', ['sector.img', '--format', 'pe'], /--format 'pe' is not valid/);
  writeFileSync(join(dir, 'blob.bin'), new Uint8Array(1000).fill(0x41));
  refused('undetectable format', ['blob.bin'], /cannot tell the format of blob\.bin; pass --format/);
});

test('bad input: nasm missing (RINGSIDE_NASM pointing nowhere, or not on PATH)', () => {
  writeFileSync(join(dir, 'any.asm'), 'org 0x7c00\nhlt\ntimes 510-($-$$) db 0\ndw 0xaa55\n');
  refused('RINGSIDE_NASM missing', ['any.asm'], /nasm not found/, { ...process.env, RINGSIDE_NASM: join(dir, 'no-nasm-here') });
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: join(dir, 'empty-path') };
  delete env.RINGSIDE_NASM;
  refused('nasm not on PATH', ['any.asm'], /nasm not found.*install/, env);
});

test('bad input: a nasm error is reported with file and line', { skip: NO_NASM }, () => {
  writeFileSync(join(dir, 'broken.asm'), 'org 0x7c00\nbits 16\n  mov ax, 1\n  frobnicate ax\ntimes 510-($-$$) db 0\ndw 0xaa55\n');
  refused('nasm error', ['broken.asm'], /broken\.asm:4: error: /);
});

test('bad input: malformed and truncated ELF files', () => {
  const { bytes, segmentOffsets } = buildElf({ entry: 0x100000, segments: [{ vaddr: 0x100000, data: new Uint8Array(64).fill(0xf4) }] });
  const put = (name: string, b: Uint8Array) => { writeFileSync(join(dir, name), b); return name; };
  refused('ELF cut inside its header', [put('cut-header.elf', bytes.slice(0, 30))], /cut-header\.elf: truncated ELF/);
  refused('ELF cut inside its program headers', [put('cut-ph.elf', bytes.slice(0, 60))], /cut-ph\.elf: truncated ELF/);
  refused('ELF cut inside a segment', [put('cut-seg.elf', bytes.slice(0, segmentOffsets[0] + 10)), '--format', 'elf'], /cut-seg\.elf: truncated ELF/);
  const wide = bytes.slice();
  wide[4] = 2; // ELFCLASS64
  refused('64-bit ELF', [put('wide.elf', wide)], /wide\.elf: .*64-bit/);
  const arm = bytes.slice();
  arm[18] = 40; // EM_ARM
  refused('ELF for another machine', [put('arm.elf', arm)], /arm\.elf: .*machine/i);
  const badPh = bytes.slice();
  badPh[42] = 16; // e_phentsize
  refused('ELF with a bad program header size', [put('phentsize.elf', badPh)], /phentsize\.elf: bad program header size/);
});

test('bad input: a multiboot header with a bad checksum', () => {
  const img = new Uint8Array(4096).fill(0x90);
  img.set(multibootHeader(0x00010003, [0x100000, 0x100000, 0x101000, 0x101000, 0x100020], 0x12345678), 0);
  writeFileSync(join(dir, 'badsum.bin'), img);
  refused('bad multiboot checksum', ['badsum.bin'], /badsum\.bin: multiboot header at offset 0x0 has a bad checksum/);
});

test('bad input: an image larger than RAM, --ram out of range, an unknown option', () => {
  writeFileSync(join(dir, 'big.bin'), new Uint8Array(3 << 20));
  refused('image larger than RAM', ['big.bin', '--format', 'flat', '--ram', '2'], /big\.bin: image larger than RAM/);
  refused('--ram 0', ['big.bin', '--ram', '0'], /--ram 0 is out of range/);
  refused('--ram 3073', ['big.bin', '--ram', '3073'], /--ram 3073 is out of range/);
  refused('unknown option', ['big.bin', '--frobnicate'], /unknown option '--frobnicate'/);
});
