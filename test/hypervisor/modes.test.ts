// The same guest prints the same bytes under every mode: plain emulation, vtx with EPT and vtx with
// shadow paging (DESIGN.md idea 3). Samples, the CPU benchmark workloads and the guest tests; the
// retired-instruction count matches too (an exit handler's emulated instruction retires once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleFile, haveNasm, repoRoot, runGuest, MODES, type RunResult } from './harness';
import type { FormatChoice } from '../../adapter/machine/loaders/types';

const nasm = haveNasm();

function same(image: string, format: FormatChoice): RunResult[] {
  const runs = MODES.map((m) => runGuest(image, format, m));
  const [base, ...others] = runs;
  assert.ok(base.output.length > 0, 'the guest printed something');
  assert.equal(base.exitStatus, 1, `the guest ended through port 0xF4 (stop: ${base.stop})`);
  others.forEach((r, k) => {
    const mode = MODES[k + 1];
    assert.equal(r.output, base.output, `${mode}: byte-identical console output`);
    assert.equal(r.exitStatus, base.exitStatus, `${mode}: same exit status`);
    assert.equal(r.icount, base.icount, `${mode}: same retired instructions`);
    assert.ok(r.vm && r.vm.stats.total > 0, `${mode}: the hypervisor saw exits`);
    if (mode === 'shadow') assert.deepEqual(r.vm!.consistency()!.issues, [], 'shadow tables consistent at the end');
  });
  return runs;
}

test('samples: same output under none, vtx+ept, vtx+shadow', { skip: !nasm && 'nasm not installed' }, () => {
  same(assembleFile(join(repoRoot, 'samples/kernel.asm')), 'multiboot');
  same(assembleFile(join(repoRoot, 'samples/hello-boot.asm')), 'boot');
  same(assembleFile(join(repoRoot, 'samples/floppy-pm.asm')), 'floppy');
});

test('CPU benchmark workloads: same output under every mode', { skip: !nasm && 'nasm not installed' }, () => {
  for (const w of ['alu', 'memory', 'paging', 'call']) {
    const image = assembleFile(join(repoRoot, 'bench/guests', `${w}.asm`), join(repoRoot, 'bench/guests') + '/');
    if (w === 'paging') {
      // A few iterations: each one reloads CR3 and walks 4096 pages.
      const b = readFileSync(image);
      assert.equal(b.toString('latin1', 0x1f0, 0x1f4), 'RSBI');
      b.writeUInt32LE(3, 0x1f4);
      writeFileSync(image, b);
    }
    const runs = same(image, 'floppy');
    assert.match(runs[0].output, new RegExp(`RSBENCH ${w} iter=`));
  }
});

test('guest tests: same output under every mode', { skip: !nasm && 'nasm not installed' }, () => {
  const dir = join(repoRoot, 'test/guests');
  const guests = readdirSync(dir).filter((f) => f.endsWith('.asm')).sort();
  assert.ok(guests.length >= 10);
  for (const g of guests) {
    const image = assembleFile(join(dir, g), dir + '/');
    const head = readFileSync(image).subarray(0, 0x2000);
    // Multiboot kernels only (the boot-sector guests share the samples' path).
    if (!head.includes(Buffer.from([0x02, 0xb0, 0xad, 0x1b]))) continue;
    same(image, 'multiboot');
  }
});
