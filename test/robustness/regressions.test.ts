// Small guests, one per bug the hostile-guest fuzzer found (test/robustness/guests/*.asm): each ran
// differently (or hung the host, or threw) under a hypervisor mode. Under plain emulation, vtx with
// EPT and vtx with shadow paging each must now end the same way, with the same console output and
// retired-instruction count; under the monitor modes it must end in one of the runner's documented
// ways, without an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleFile, haveNasm, repoRoot } from '../hypervisor/harness';
import { runHostile, summary, ALL_MODES, type Mode, type RunnableGuest } from './run';

const nasm = haveNasm();
const dir = join(repoRoot, 'test/robustness/guests');

function guest(name: string): RunnableGuest {
  const image = new Uint8Array(readFileSync(assembleFile(join(dir, `${name}.asm`), dir + '/')));
  return { name, format: 'flat', image, loadAddress: 0x100000, shape: { ramMiB: 16 } };
}

/** What each guest prints and how it ends under plain emulation. */
const CASES: { name: string; output: string; end: string; status: number }[] = [
  { name: 'idt-on-mmio', output: 'P', end: 'triple-fault', status: 70 },
  { name: 'code-on-mmio', output: 'JU', end: 'exit', status: 5 },
  { name: 'pae-task-switch', output: 'AB', end: 'exit', status: 5 },
  { name: 'df-task-gate', output: 'AD', end: 'exit', status: 5 },
  { name: 'stack-on-page-directory', output: 'SI', end: 'exit', status: 5 },
  { name: 'a20-paging', output: 'L', end: 'exit', status: 5 },
  { name: 'far-pointer-on-mmio', output: 'FG', end: 'exit', status: 5 },
  { name: 'lock-lmsw', output: 'LU', end: 'exit', status: 5 },
];

for (const c of CASES) {
  test(`regression: ${c.name}`, { skip: !nasm && 'nasm not installed' }, () => {
    const g = guest(c.name);
    const base = runHostile(g, 'none', { maxInstructions: 100_000 });
    assert.equal(base.output, c.output, `${c.name}: what plain emulation prints`);
    assert.equal(base.end, c.end, `${c.name}: ${summary(base)} (${base.message})`);
    assert.equal(base.status, c.status);
    for (const mode of ALL_MODES.filter((m) => m !== 'none') as Mode[]) {
      const o = runHostile(g, mode, { maxInstructions: 100_000 });
      if (mode === 'ept' || mode === 'shadow') {
        assert.equal(summary(o), summary(base), `${c.name} under ${mode}: ${o.message}`);
        assert.equal(o.output, base.output, `${c.name} under ${mode}: the same output`);
        assert.deepEqual(o.consistency ?? [], [], `${c.name} under ${mode}: shadow tables consistent at the end`);
      } else {
        assert.ok(['exit', 'triple-fault', 'halted', 'limit', 'hypervisor-stop'].includes(o.end), `${c.name} under ${mode}: ${summary(o)}`);
        if (o.end === 'hypervisor-stop') assert.match(o.message, new RegExp(`^${mode}: `), 'the stop names the mode and says why');
      }
    }
  });
}
