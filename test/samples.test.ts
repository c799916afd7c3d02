// The three samples in samples/ boot and print their expected console under `ringside run`,
// and, when qemu-system-i386 is installed, QEMU prints the same bytes (issue 2, item 2). QEMU
// runs with its default CPU, as a user would start it.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type BootKind, type RunResult, assemble, describeMismatch, exitPortStatus, haveNasm, haveQemu, limiter,
  repoRoot, runQemu, runRingside, scratchDir,
} from './guests/emulators';

const samples: Array<{ name: string; kind: BootKind; size?: number }> = [
  { name: 'hello-boot', kind: 'boot', size: 512 },
  { name: 'kernel', kind: 'multiboot' },
  { name: 'floppy-pm', kind: 'floppy', size: 1474560 },
];
const nasm = haveNasm();
const qemu = haveQemu();
const dir = scratchDir('samples');
const pool = limiter(2);
const runs = new Map<string, { ringside: Promise<RunResult>; qemu?: Promise<RunResult> }>();
const OK_STATUS = exitPortStatus(0);

function image(name: string): string {
  return join(dir, `${name}.img`);
}

before(() => {
  if (!nasm) return;
  for (const s of samples) {
    assemble(join(repoRoot, 'samples', `${s.name}.asm`), image(s.name));
    runs.set(s.name, {
      ringside: pool(() => runRingside(image(s.name), s.kind)),
      qemu: qemu ? pool(() => runQemu(image(s.name), s.kind)) : undefined,
    });
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('samples', { skip: nasm ? false : 'nasm is not installed' }, () => {
  for (const s of samples) {
    const expected = readFileSync(join(repoRoot, 'samples', 'expected', `${s.name}.txt`), 'latin1');
    describe(s.name, () => {
      if (s.size !== undefined) {
        test(`assembles to ${s.size} bytes`, () => {
          assert.equal(readFileSync(image(s.name)).length, s.size);
        });
      }

      test('prints its expected console under ringside run and exits with status 1', async () => {
        const r = await runs.get(s.name)!.ringside;
        const mismatch = describeMismatch(`${s.name} under Ringside`, expected, r);
        assert.ok(mismatch === null, mismatch ?? '');
        assert.equal(r.status, OK_STATUS, `exit status ${r.status}\nstderr: ${r.stderr}`);
      });

      test('QEMU prints the same bytes', { skip: qemu ? false : 'qemu-system-i386 is not installed' }, async () => {
        const q = await runs.get(s.name)!.qemu!;
        const mismatch = describeMismatch(`${s.name} under QEMU`, expected, q);
        assert.ok(mismatch === null, mismatch ?? '');
        assert.equal(q.status, OK_STATUS, `exit status ${q.status}\nstderr: ${q.stderr}`);
      });
    });
  }
});
