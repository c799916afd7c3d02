// "A guest that triple-faults or runs away gets a clear error and loses nothing; the adapter never
// crashes because of anything a guest does": hostile guests (hostile.ts, from fixed seeds) under
// every virtualization mode. Each run ends in one of the runner's documented ways and nothing else
// escapes; a second run of the same seed ends identically; vtx with EPT, vtx with shadow paging and
// binary translation, which run the guest's own instructions at its own privilege, agree with
// plain emulation (verdict.ts); shadow tables are consistent at the end.
// RINGSIDE_FUZZ_SEEDS=N runs seeds 1..N instead (tools/fuzz.ts runs many more, with hang detection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, describe } from './hostile';
import { runHostile, summary, ALL_MODES, FAITHFUL_MODES, type Mode, type Outcome } from './run';
import { judge } from './verdict';

/** A spread of shapes: flat, real mode and real-to-protected boots; paging off, 4K, PSE and PAE; ring 0
 *  and 3; with and without the timer; gadgets, table instructions and raw bytes; every kind of end. */
const SEEDS = [1, 5, 7, 9, 12, 13, 15, 17, 18, 20, 22, 24, 25, 27, 31, 32, 33, 36, 37, 38, 39, 43, 44, 45, 46, 48, 51, 53, 54, 56, 57, 58, 60];
const MAX = 30_000;

const count = Number(process.env.RINGSIDE_FUZZ_SEEDS ?? 0);
const seeds = count > 0 ? Array.from({ length: count }, (_, k) => k + 1) : SEEDS;

/** The statuses `ringside run` gives each end (cli.ts): the exit port's odd values or a reset's 0, then 70-73. */
function checkEnd(o: Outcome, mode: Mode, what: string): void {
  switch (o.end) {
    case 'exit': assert.ok(o.status === 0 || o.status % 2 === 1, `${what}: exit status ${o.status}`); break;
    case 'triple-fault': assert.equal(o.status, 70); break;
    case 'halted': assert.equal(o.status, 71); break;
    case 'limit': assert.equal(o.status, 72); assert.ok(o.icount >= MAX || o.idleTicks > 0, what); break;
    case 'hypervisor-stop':
      assert.equal(o.status, 73);
      assert.notEqual(mode, 'none');
      assert.match(o.message, /\S/, `${what}: the stop says why`);
      break;
  }
  assert.ok(o.message.length > 0, `${what}: a message for the user`);
}

for (const seed of seeds) {
  test(`hostile guest, seed ${seed}, under every mode`, () => {
    const g = generate(seed);
    const name = describe(g);
    const runs = new Map<Mode, Outcome>();
    for (const mode of ALL_MODES) {
      let o: Outcome;
      try {
        o = runHostile(g, mode, { maxInstructions: MAX });
      } catch (e) {
        assert.fail(`${name} under ${mode}: ${e instanceof Error ? e.stack : String(e)}`);
      }
      checkEnd(o, mode, `${name} under ${mode}`);
      if (mode === 'shadow') assert.deepEqual(o.consistency, [], `${name}: shadow tables consistent at the end`);
      runs.set(mode, o);
    }
    // Deterministic: the same seed again, under one of the modes in turn.
    const again = ALL_MODES[seed % ALL_MODES.length];
    const second = runHostile(g, again, { maxInstructions: MAX });
    assert.equal(summary(second), summary(runs.get(again)!), `${name} under ${again}: a second run ends the same`);
    assert.equal(second.output, runs.get(again)!.output, `${name} under ${again}: the same output twice`);
    const base = runs.get('none')!;
    for (const mode of FAITHFUL_MODES) {
      const v = judge(g, mode, base, runs.get(mode)!, MAX);
      assert.notEqual(v.kind, 'diverged', `${name}: ${mode} disagrees with plain emulation: ${'why' in v ? v.why : ''}`);
    }
  });
}
