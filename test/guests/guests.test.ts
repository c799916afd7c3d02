// Guest tests for what user mode cannot reach: each test/guests/NAME.asm is a multiboot
// kernel, or a boot image for the BIOS tests (bios-*.asm, marked `; image: floppy|disk`), that
// prints one line per check on COM1 and ends through port 0xF4.
//
// Expected output:
//   expected/NAME.txt       QEMU TCG's output, recorded (`node --import tsx test/guests/record.ts`)
//   NAME.expected.txt       only where QEMU departs from the Intel SDM: the SDM's output, which
//                           Ringside must print; NAME.deviations.md explains each differing line
// Checks, per guest:
//   - Ringside prints NAME.expected.txt (or expected/NAME.txt) byte for byte, exit status 1;
//   - when qemu-system-i386 is on PATH: QEMU still prints expected/NAME.txt, and Ringside's
//     output equals QEMU's live output on every line where QEMU follows the SDM.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  GUEST_CPU, assemble, describeMismatch, exitPortStatus, guestKind, haveNasm, haveQemu, limiter, repoRoot,
  runQemu, runRingside, scratchDir, type BootKind, type RunResult,
} from './emulators';

const guestDir = join(repoRoot, 'test', 'guests');
const guests = readdirSync(guestDir).filter((f) => f.endsWith('.asm')).map((f) => f.slice(0, -4)).sort();
const nasm = haveNasm();
const qemu = haveQemu();
const OK_STATUS = exitPortStatus(0);

function read(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'latin1') : null;
}

interface Guest {
  name: string;
  kind: BootKind;                         // multiboot kernel, or a floppy/disk boot image
  image: string;
  qemuText: string | null;                // expected/NAME.txt
  sdmText: string | null;                 // NAME.expected.txt
  deviationsDoc: string | null;           // NAME.deviations.md
}

const dir = scratchDir('guests');
const table = new Map<string, Guest>();
for (const name of guests) {
  table.set(name, {
    name,
    kind: guestKind(join(guestDir, `${name}.asm`)),
    image: join(dir, `${name}.bin`),
    qemuText: read(join(guestDir, 'expected', `${name}.txt`)),
    sdmText: read(join(guestDir, `${name}.expected.txt`)),
    deviationsDoc: read(join(guestDir, `${name}.deviations.md`)),
  });
}

// Runs start as soon as the images exist, two at a time each (2-core machines).
const qemuPool = limiter(2);
const ringsidePool = limiter(2);
const qemuRuns = new Map<string, Promise<RunResult>>();
const ringsideRuns = new Map<string, Promise<RunResult>>();
const assembleErrors = new Map<string, string>();

before(() => {
  if (!nasm) return;
  for (const g of table.values()) {
    try {
      assemble(join(guestDir, `${g.name}.asm`), g.image);
    } catch (e) {
      assembleErrors.set(g.name, (e as Error).message);
      continue;
    }
    if (qemu) qemuRuns.set(g.name, qemuPool(() => runQemu(g.image, g.kind, GUEST_CPU)));
    ringsideRuns.set(g.name, ringsidePool(() => runRingside(g.image, g.kind)));
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** The output Ringside must print: the SDM's where QEMU deviates, else QEMU's. */
function wanted(g: Guest): string {
  const text = g.sdmText ?? g.qemuText;
  assert.ok(text !== null, `no expected output for ${g.name}: record it with \`node --import tsx test/guests/record.ts ${g.name}\``);
  return text;
}

/** Line numbers where the SDM output and QEMU's recorded output differ. */
function deviatingLines(g: Guest): Set<number> {
  const out = new Set<number>();
  if (g.sdmText === null || g.qemuText === null) return out;
  const sdm = g.sdmText.split('\n');
  const q = g.qemuText.split('\n');
  sdm.forEach((line, i) => {
    if (line !== q[i]) out.add(i);
  });
  return out;
}

function checkStatus(what: string, r: RunResult): void {
  assert.equal(r.status, OK_STATUS, `${what}: exit status ${r.status}, expected ${OK_STATUS} (the guest writes 0 to port 0xF4)` +
    (r.timedOut ? ' (killed by the timeout)' : '') + (r.stderr.trim() ? `\nstderr: ${r.stderr.trim()}` : '') +
    `\nstdout:\n${r.stdout}`);
}

describe('guest tests', { skip: nasm ? false : 'nasm is not installed' }, () => {
  for (const name of guests) {
    const g = table.get(name)!;
    describe(name, () => {
      test('prints the expected checks under ringside run', async () => {
        assert.ok(!assembleErrors.has(name), assembleErrors.get(name));
        const r = await ringsideRuns.get(name)!;
        const mismatch = describeMismatch(`${name} under Ringside`, wanted(g), r);
        assert.ok(mismatch === null, mismatch ?? '');
        checkStatus(`${name} under Ringside`, r);
      });

      test('QEMU still prints its recorded output', { skip: qemu ? false : 'qemu-system-i386 is not installed' }, async () => {
        assert.ok(!assembleErrors.has(name), assembleErrors.get(name));
        assert.ok(g.qemuText !== null, `expected/${name}.txt is missing: record it with \`node --import tsx test/guests/record.ts ${name}\``);
        const r = await qemuRuns.get(name)!;
        const mismatch = describeMismatch(`${name} under QEMU (re-record if the guest changed)`, g.qemuText, r);
        assert.ok(mismatch === null, mismatch ?? '');
        checkStatus(`${name} under QEMU`, r);
      });

      test('Ringside equals QEMU wherever QEMU follows the SDM', { skip: qemu ? false : 'qemu-system-i386 is not installed' }, async () => {
        assert.ok(!assembleErrors.has(name), assembleErrors.get(name));
        const [q, r] = await Promise.all([qemuRuns.get(name)!, ringsideRuns.get(name)!]);
        // QEMU's live lines, with its documented deviations replaced by the SDM's lines.
        const deviations = deviatingLines(g);
        const sdm = (g.sdmText ?? '').split('\n');
        const reference = q.stdout.split('\n').map((line, i) => (deviations.has(i) ? sdm[i] : line)).join('\n');
        const mismatch = describeMismatch(`${name}: Ringside against QEMU (deviation lines from ${name}.expected.txt)`,
          reference, r);
        assert.ok(mismatch === null, mismatch ?? '');
        assert.equal(r.status, q.status, `${name}: Ringside ended with status ${r.status}, QEMU with ${q.status}`);
      });

      if (g.sdmText !== null) {
        test('its QEMU deviations are documented line by line', () => {
          assert.ok(g.qemuText !== null, `expected/${name}.txt is missing`);
          assert.equal(g.sdmText!.split('\n').length, g.qemuText.split('\n').length,
            `${name}.expected.txt and expected/${name}.txt must have the same lines (one per check)`);
          assert.ok(g.deviationsDoc !== null, `${name}.deviations.md must explain why ${name}.expected.txt differs from QEMU`);
          const deviations = deviatingLines(g);
          assert.ok(deviations.size > 0, `${name}.expected.txt equals QEMU's output: delete it and ${name}.deviations.md`);
          const sdm = g.sdmText!.split('\n');
          for (const i of deviations) {
            assert.ok(g.deviationsDoc!.includes(sdm[i]), `${name}.deviations.md does not mention the SDM line "${sdm[i]}"`);
          }
        });
      }
    });
  }
});
