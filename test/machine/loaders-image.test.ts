import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGuest } from '../../adapter/machine/loaders/image';
import { loadBootImage, diskGeometry, floppyKind } from '../../adapter/machine/loaders/bootimage';
import { detectFormat, parseFormat, sourceHasBootOrg } from '../../adapter/machine/loaders/detect';
import { GuestLoadError } from '../../adapter/machine/loaders/errors';
import { spawnSync } from 'node:child_process';
import { scratchDir, write, run, multibootHeader, buildElf, NO_NASM, HAVE_QEMU } from './loaders-fixtures';

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

function bootSector(fill = 0x90): Uint8Array {
  const b = new Uint8Array(512).fill(fill);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

test('a missing guest file, a directory, an empty file', () => {
  const dir = scratchDir();
  assert.equal(loadError(() => loadGuest({ program: 'gone.img', cwd: dir })), 'gone.img: no such file');
  write(dir, 'sub/x', 'x');
  assert.equal(loadError(() => loadGuest({ program: 'sub', cwd: dir })), 'sub: is a directory, not a guest file');
  write(dir, 'empty.bin', new Uint8Array(0));
  assert.equal(loadError(() => loadGuest({ program: 'empty.bin', cwd: dir })), 'empty.bin: the file is empty');
});

test('an unknown format lists the valid ones', () => {
  const dir = scratchDir();
  write(dir, 'k.bin', bootSector());
  assert.equal(
    loadError(() => loadGuest({ program: 'k.bin', cwd: dir, format: 'pe' })),
    "unknown format 'pe'; valid formats: auto, boot, floppy, disk, flat, multiboot, elf",
  );
  assert.equal(parseFormat('ELF'), 'elf');
  assert.equal(parseFormat(undefined), 'auto');
});

test('a file whose format cannot be told asks for --format', () => {
  const dir = scratchDir();
  write(dir, 'blob.bin', new Uint8Array(1000).fill(0x41));
  assert.equal(
    loadError(() => loadGuest({ program: 'blob.bin', cwd: dir })),
    'cannot tell the format of blob.bin; pass --format (one of boot, floppy, disk, flat, multiboot, elf)',
  );
  // ...and with --format flat it loads at the default 1 MiB.
  const g = loadGuest({ program: 'blob.bin', cwd: dir, format: 'flat' });
  assert.deepEqual([g.chunks.at(-1)!.addr, g.initial.eip, g.initial.mode], [0x100000, 0x100000, 'protected']);
  const h = loadGuest({ program: 'blob.bin', cwd: dir, format: 'flat', loadAddress: 0x8000, entry: 0x8010 });
  assert.deepEqual([h.chunks.at(-1)!.addr, h.initial.eip], [0x8000, 0x8010]);
});

test('an image larger than RAM', () => {
  const dir = scratchDir();
  write(dir, 'big.bin', new Uint8Array(2 * 1024 * 1024));
  assert.equal(
    loadError(() => loadGuest({ program: 'big.bin', cwd: dir, format: 'flat', ramMiB: 2 })),
    'big.bin: image larger than RAM: the flat binary ends at 0x300000 (3.0 MiB) but the guest has 2 MiB; give it more RAM (--ram 4)',
  );
  const { bytes } = buildElf({ entry: 0x100000, segments: [{ vaddr: 0x100000, data: Uint8Array.of(0xf4), memsz: 0xfff00000 }] });
  write(dir, 'huge.elf', bytes);
  assert.match(loadError(() => loadGuest({ program: 'huge.elf', cwd: dir, ramMiB: 64 })), /^huge\.elf: image larger than RAM: the ELF segment 0 ends at 0x100000000 \(4096\.0 MiB\) but the guest has 64 MiB; more than the 3072 MiB a guest can have$/);
});

test('format auto: boot sector, floppy, disk, multiboot, ELF', () => {
  assert.equal(detectFormat(bootSector(), 'a'), 'boot');
  const floppy = new Uint8Array(1474560);
  assert.equal(detectFormat(floppy, 'a'), 'floppy', 'a 1.44 MB file is a floppy even without a signature');
  floppy.set(bootSector());
  assert.equal(detectFormat(floppy, 'a'), 'floppy');
  const small = new Uint8Array(4096);
  small.set(bootSector());
  assert.equal(detectFormat(small, 'a'), 'floppy', 'a few sectors with a signature: a floppy, as QEMU -fda takes it');
  const disk = new Uint8Array(4 * 1024 * 1024);
  disk.set(bootSector());
  assert.equal(detectFormat(disk, 'a'), 'disk');
  const mb = new Uint8Array(256);
  mb.set(multibootHeader(0x10003, [0, 0, 0, 0, 0]), 64);
  assert.equal(detectFormat(mb, 'a'), 'multiboot');
  const elf = buildElf({ entry: 0x100000, segments: [{ vaddr: 0x100000, data: Uint8Array.of(0xf4) }] }).bytes;
  assert.equal(detectFormat(elf, 'a'), 'elf');
  const mbElf = buildElf({ entry: 0x100000, segments: [{ vaddr: 0x100000, data: multibootHeader(3) }] }).bytes;
  assert.equal(detectFormat(mbElf, 'a'), 'multiboot');
  // Sources: org 0x7c00 or a signature make a boot image, else multiboot header, else flat.
  assert.equal(detectFormat(new Uint8Array(10), 'a.asm', '  org 0x7C00\n'), 'boot');
  assert.equal(detectFormat(small, 'a.asm', ''), 'floppy');
  assert.equal(detectFormat(new Uint8Array(10), 'a.asm', 'org 0x100000'), 'flat');
  assert.equal(detectFormat(mb, 'a.asm', ''), 'multiboot');
  assert.ok(sourceHasBootOrg('[ORG 7c00h]') && sourceHasBootOrg('org 31744 ; classic') && !sourceHasBootOrg('; org 0x7c00'));
});

test('boot sector: loaded at 0x7C00 in real mode, DL=0, served as a floppy with QEMU geometry', () => {
  const b = loadBootImage(bootSector(0xf4), 'boot.bin', 'boot');
  assert.deepEqual(b.chunks.map((c) => [c.addr, c.bytes.length]), [[0x7c00, 512]]);
  const s = b.initial;
  assert.deepEqual([s.mode, s.cs, s.eip, s.regs.edx & 0xff, s.regs.eax, s.regs.esp, s.eflags], ['real', 0, 0x7c00, 0, 0xaa55, 0x6f04, 0x202]);
  assert.equal(b.disk.drive, 0);
  assert.deepEqual(b.disk.geometry, { cylinders: 80, heads: 2, sectorsPerTrack: 36 }, 'odd sizes are 2.88 MB to QEMU');
  assert.deepEqual(floppyKind(1474560).geometry, { cylinders: 80, heads: 2, sectorsPerTrack: 18 });
  assert.deepEqual(floppyKind(737280).geometry, { cylinders: 80, heads: 2, sectorsPerTrack: 9 });
  assert.deepEqual(floppyKind(1228800).geometry, { cylinders: 80, heads: 2, sectorsPerTrack: 15 });
  assert.deepEqual(floppyKind(2949120).geometry, { cylinders: 80, heads: 2, sectorsPerTrack: 36 });
});

test('a boot sector, floppy or disk without its signature is refused (QEMU will not boot it either)', () => {
  const noSig = new Uint8Array(512).fill(0x90);
  assert.equal(loadError(() => loadBootImage(noSig, 'b.bin', 'boot')), 'b.bin: not bootable: no boot signature at offset 510 (bytes 510-511 are not 0x55 0xAA)');
  assert.equal(loadError(() => loadBootImage(new Uint8Array(100), 'b.bin', 'boot')), 'b.bin: not bootable: no boot signature at offset 510 (it is 100 bytes, shorter than one 512-byte sector)');
  assert.match(loadError(() => loadBootImage(new Uint8Array(1474560), 'f.img', 'floppy')), /^f\.img: not bootable: no boot signature at offset 510/);
  const big = new Uint8Array(4 * 1024 * 1024);
  big.set(bootSector());
  assert.match(loadError(() => loadBootImage(big, 'f.img', 'floppy')), /larger than any floppy \(2\.88 MB at most\); use --format disk/);
  const dir = scratchDir();
  write(dir, 'blank.img', new Uint8Array(1474560));
  assert.equal(loadError(() => loadGuest({ program: 'blank.img', cwd: dir })), 'blank.img: not bootable: no boot signature at offset 510 (bytes 510-511 are not 0x55 0xAA)');
});

test('a raw disk image: DL=0x80, 16 heads, 63 sectors, cylinders from the size', () => {
  const img = new Uint8Array(10 * 1024 * 1024);
  img.set(bootSector());
  const d = loadBootImage(img, 'hd.img', 'disk');
  assert.equal(d.disk.drive, 0x80);
  assert.equal(d.initial.regs.edx & 0xff, 0x80);
  assert.deepEqual(d.disk.geometry, { cylinders: 20, heads: 16, sectorsPerTrack: 63 });
  assert.deepEqual(diskGeometry(512 * 3), { cylinders: 2, heads: 16, sectorsPerTrack: 63 });
  const odd = new Uint8Array(1000);
  odd.set(bootSector());
  assert.equal(loadBootImage(odd, 'x', 'disk').disk.bytes.length, 1024, 'padded to whole sectors');
});

test('options that do not fit the format are refused', () => {
  const dir = scratchDir();
  write(dir, 'boot.bin', bootSector());
  assert.match(loadError(() => loadGuest({ program: 'boot.bin', cwd: dir, loadAddress: 0x1000 })), /a load address applies only to flat binaries \(this guest is boot\)/);
  assert.match(loadError(() => loadGuest({ program: 'boot.bin', cwd: dir, cmdline: 'x' })), /a command line applies only to multiboot kernels/);
  assert.match(loadError(() => loadGuest({ program: 'boot.bin', cwd: dir, modules: [{ path: 'm' }] })), /modules apply only to multiboot kernels/);
});

test('a missing module is named', () => {
  const dir = scratchDir();
  const k = new Uint8Array(64);
  k.set(multibootHeader(0x10003, [0x100000, 0x100000, 0, 0, 0x100020]), 0);
  write(dir, 'k.bin', k);
  assert.equal(loadError(() => loadGuest({ program: 'k.bin', cwd: dir, modules: [{ path: 'initrd.img' }] })), 'initrd.img: no such file (multiboot module)');
});

test('a boot sector assembled from source: format boot, line map and symbols at 0x7C00', { skip: NO_NASM }, () => {
  const dir = scratchDir();
  write(dir, 'hello.asm', `org 0x7c00
bits 16
start:
    mov si, msg
    hlt
msg: db "hi", 0
times 510-($-$$) db 0
dw 0xaa55
`);
  const g = loadGuest({ program: 'hello.asm', cwd: dir });
  assert.equal(g.format, 'boot');
  assert.equal(g.disk!.drive, 0);
  assert.deepEqual(g.symbols.map((s) => [s.name, s.addr]), [['start', 0x7c00], ['msg', 0x7c04]]);
  assert.deepEqual(g.lineMap!.entries.filter((e) => e.line === 5).map((e) => e.addr), [0x7c03]);
  // Forgetting the signature with org 0x7c00 is still a boot sector, and the message says why.
  write(dir, 'nosig.asm', 'org 0x7c00\nhlt\n');
  assert.match(loadError(() => loadGuest({ program: 'nosig.asm', cwd: dir })), /^nosig\.asm: not bootable: no boot signature at offset 510 \(it is 1 bytes/);
});

/** A boot sector that prints its entry registers (32-bit) and segments on COM1, then exits. */
const REGS_BOOT = `org 0x7c00
bits 16
    mov [cs:saved_sp], sp
    pushfd
    pushad
    mov bp, sp
    push ss
    push gs
    push fs
    push es
    push ds
    push cs
    mov cx, 6
.seg:
    pop ax
    call hex16
    loop .seg
    mov si, 28                  ; pushad: EDI ESI EBP ESP EBX EDX ECX EAX, then EFLAGS at +32
.reg:
    mov eax, [ss:bp + si]
    call hex32
    sub si, 4
    jns .reg
    mov eax, [ss:bp + 32]
    call hex32
    mov ax, [cs:saved_sp]
    call hex16
    mov dx, 0xf4
    mov al, 0
    out dx, al
hex32:
    ror eax, 16
    call hex16
    ror eax, 16
hex16:
    push cx
    mov cx, 4
.d: rol ax, 4
    push ax
    and al, 15
    add al, '0'
    cmp al, '9'
    jbe .o
    add al, 7
.o: mov dx, 0x3f8
    out dx, al
    pop ax
    loop .d
    push ax
    mov al, ' '
    out dx, al
    pop ax
    pop cx
    ret
saved_sp: dw 0
times 510-($-$$) db 0
dw 0xaa55
`;

test('QEMU cross-check: boot sector entry registers', { skip: !(HAVE_QEMU && !NO_NASM) && 'needs qemu-system-i386 and nasm' }, () => {
  const dir = scratchDir();
  write(dir, 'regs.asm', REGS_BOOT);
  run('nasm', ['-f', 'bin', '-o', 'regs.img', 'regs.asm'], dir);
  const g = loadGuest({ program: 'regs.img', cwd: dir });
  const r = spawnSync('qemu-system-i386', ['-accel', 'tcg', '-display', 'none', '-serial', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
    '-drive', 'file=regs.img,format=raw,if=floppy'], { cwd: dir, encoding: 'latin1', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  const s = g.initial;
  const h16 = (n: number) => (n & 0xffff).toString(16).toUpperCase().padStart(4, '0');
  const h32 = (n: number) => h16(n >>> 16) + ' ' + h16(n);
  // pushad's ESP is the value after pushfd (4 below entry); the saved SP is the entry value.
  const regs = [s.regs.eax, s.regs.ecx, s.regs.edx, s.regs.ebx, s.regs.esp - 4, s.regs.ebp, s.regs.esi, s.regs.edi];
  const segs = s.segments;
  const predicted = [segs.cs, segs.ds, segs.es, segs.fs, segs.gs, segs.ss].map((x) => h16(x.selector)).join(' ') + ' ' +
    regs.map(h32).join(' ') + ' ' + h32(s.eflags) + ' ' + h16(s.regs.esp) + ' ';
  assert.equal(r.stdout, predicted);
});
