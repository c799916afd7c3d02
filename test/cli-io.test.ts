// The runner's input and disk output: stdin feeds COM1; --save-disk writes the image with the
// guest's INT 13h writes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, haveNasm } from './guests/emulators';

const NO_NASM = haveNasm() ? false : 'nasm is not installed';
const dir = mkdtempSync(join(tmpdir(), 'ringside-cli-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function guest(name: string, body: string, floppy = false): string {
  const file = join(dir, `${name}.asm`);
  const pad = floppy ? 'times 1474560-($-$$) db 0\n' : '';
  writeFileSync(file, `bits 16\norg 0x7c00\n${body}\ntimes 510-($-$$) db 0\ndw 0xaa55\n${pad}`);
  return file;
}

test('stdin feeds COM1: an echo guest sends back what it reads, byte for byte', { skip: NO_NASM }, () => {
  const src = guest('echo', `
        mov dx, 0x3fd
.wait:  in al, dx
        test al, 1
        jz .wait
        mov dx, 0x3f8
        in al, dx
        mov bl, al
        mov dx, 0x3fd
.tx:    in al, dx
        test al, 0x20
        jz .tx
        mov dx, 0x3f8
        mov al, bl
        out dx, al
        mov dx, 0x3fd
        cmp bl, 10
        jne .wait
        mov al, 0
        out 0xf4, al`);
  const input = Buffer.from('line one\xff\x00 two\n', 'latin1');
  const r = spawnSync(process.execPath, [cliPath, 'run', src], { input, timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr.toString());
  assert.deepEqual(r.stdout, input);
});

test('--save-disk writes the floppy with the sector the guest wrote through INT 13h', { skip: NO_NASM }, () => {
  const src = guest('writer', `
        xor ax, ax
        mov es, ax
        mov bx, payload
        mov ax, 0x0301          ; write 1 sector
        mov cx, 0x0002          ; cylinder 0, sector 2
        xor dh, dh              ; head 0 (DL = boot drive from the BIOS)
        int 0x13
        setc al
        out 0xf4, al
payload: db 'RINGSIDE wrote this sector'
        times 200 db 0x5a`, true);
  const out = join(dir, 'saved.img');
  const r = spawnSync(process.execPath, [cliPath, 'run', src, '--save-disk', out], { timeout: 60_000 });
  assert.equal(r.status, 1, `INT 13h reported an error or the run failed: ${r.stderr}`);
  const img = readFileSync(out);
  assert.equal(img.length, 1474560);
  assert.equal(img.subarray(512, 538).toString('latin1'), 'RINGSIDE wrote this sector');
  assert.equal(img[512 + 100], 0x5a);
  assert.equal(img.readUInt16LE(510), 0xaa55, 'the boot sector itself is kept');
});
