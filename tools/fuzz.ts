// Runs many hostile guests (test/robustness) under every virtualization mode and reports what broke:
// an exception escaping the CPU or the hypervisor, a run that hangs the host, a run that is not
// deterministic, a faithful mode (vtx+ept, vtx+shadow, binary translation) disagreeing with plain
// emulation, shadow tables left inconsistent. The guests run in a child process, so a hang is
// caught (after --timeout seconds) and the run goes on with the next seed.
//
//   node --import tsx tools/fuzz.ts [--seeds N | RINGSIDE_FUZZ_SEEDS=N] [--from S] [--seed S]
//        [--max-instructions N] [--modes none,ept,...] [--once] [--timeout S] [--verbose]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generate, describe } from '../test/robustness/hostile';
import { runHostile, summary, ALL_MODES, FAITHFUL_MODES, type Mode, type Outcome } from '../test/robustness/run';
import { judge } from '../test/robustness/verdict';

interface Job { seeds: number[]; modes: Mode[]; max: number; twice: boolean; verbose: boolean }
type Msg = { kind: 'start'; seed: number; mode: Mode } | { kind: 'done'; seed: number; text: string; bad: boolean; tally: [string, number][] };

/** Every check on one seed; returns the report lines. */
function check(seed: number, job: Job): Msg & { kind: 'done' } {
  const g = generate(seed);
  const outs = new Map<Mode, Outcome>();
  const lines: string[] = [];
  const tally = new Map<string, number>();
  const count = (k: string) => tally.set(k, (tally.get(k) ?? 0) + 1);
  for (const mode of job.modes) {
    process.send?.({ kind: 'start', seed, mode } satisfies Msg);
    let o: Outcome;
    try {
      o = runHostile(g, mode, { maxInstructions: job.max });
    } catch (e) {
      lines.push(`${mode}: CRASH ${e instanceof Error ? e.stack?.split('\n').slice(0, 6).join('\n    ') : String(e)}`);
      continue;
    }
    outs.set(mode, o);
    count(`${mode} ${o.end}`);
    if (job.verbose) lines.push(`${mode}: ${summary(o)} (${o.message})`);
    if (job.twice) {
      try {
        const again = runHostile(g, mode, { maxInstructions: job.max });
        if (summary(again) !== summary(o) || again.output !== o.output) lines.push(`${mode}: NOT DETERMINISTIC: ${summary(o)}, then ${summary(again)}`);
      } catch (e) {
        lines.push(`${mode}: CRASH on the second run: ${String(e)}`);
      }
    }
    if (o.consistency?.length) lines.push(`${mode}: SHADOW INCONSISTENT: ${o.consistency.slice(0, 3).join('; ')}`);
  }
  const base = outs.get('none');
  if (base) for (const mode of FAITHFUL_MODES) {
    const o = outs.get(mode);
    if (!o) continue;
    const v = judge(g, mode, base, o, job.max);
    if (v.kind === 'diverged') lines.push(`${mode}: DIVERGES from none: ${v.why}`);
    else count(`${mode} vs none: ${v.kind}`);
  }
  const bad = lines.some((l) => /CRASH|NOT DET|DIVERGES|INCONSISTENT/.test(l));
  return { kind: 'done', seed, bad, text: bad || job.verbose ? `${describe(g)}\n  ${lines.join('\n  ')}` : '', tally: [...tally] };
}

if (process.env.RINGSIDE_FUZZ_JOB) {
  const job = JSON.parse(process.env.RINGSIDE_FUZZ_JOB) as Job;
  for (const seed of job.seeds) process.send!(check(seed, job));
  process.disconnect();
} else {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string) => { const k = args.indexOf(name); return k >= 0 ? args[k + 1] : dflt; };
  const count = Number(opt('--seeds', process.env.RINGSIDE_FUZZ_SEEDS ?? '200'));
  const from = Number(opt('--from', '1'));
  const seeds = args.includes('--seed') ? [Number(opt('--seed', '1'))] : Array.from({ length: count }, (_, k) => from + k);
  const job: Job = {
    seeds, modes: opt('--modes', ALL_MODES.join(',')).split(',') as Mode[], max: Number(opt('--max-instructions', '60000')),
    twice: !args.includes('--once'), verbose: args.includes('--verbose'),
  };
  const timeoutMs = Number(opt('--timeout', '60')) * 1000;
  const tally = new Map<string, number>();
  let problems = 0, done = 0;
  const t0 = Date.now();
  const runFrom = (k: number): void => {
    if (k >= seeds.length) return finish();
    const w = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, RINGSIDE_FUZZ_JOB: JSON.stringify({ ...job, seeds: seeds.slice(k) }) } });
    let at: { seed: number; mode: Mode } | undefined, next = k, timer: NodeJS.Timeout | undefined;
    const arm = () => { clearTimeout(timer); timer = setTimeout(() => {
      w.removeAllListeners();
      w.kill();
      problems++;
      console.log(`seed ${at?.seed}: HANG under ${at?.mode} (no answer in ${timeoutMs / 1000} s)`);
      next++; done++;
      runFrom(next);
    }, timeoutMs); };
    arm();
    w.on('message', (m: Msg) => {
      if (m.kind === 'start') { at = m; return; }
      arm();
      next++; done++;
      for (const [key, n] of m.tally) tally.set(key, (tally.get(key) ?? 0) + n);
      if (m.bad) problems++;
      if (m.text) console.log(m.text);
      if (next >= seeds.length) { clearTimeout(timer); finish(); }
    });
    w.on('exit', (code, signal) => {
      if (next >= seeds.length) return;
      clearTimeout(timer);
      w.removeAllListeners();
      problems++;
      console.log(`seed ${at?.seed}: the process died under ${at?.mode} (${signal ?? `status ${code}`})`);
      next++; done++;
      runFrom(next);
    });
  };
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    console.log(`\n${done} seeds x ${job.modes.length} modes (${job.max} instructions each${job.twice ? ', each run twice' : ''}) in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${problems} seeds with problems`);
    for (const [key, n] of [...tally.entries()].sort()) console.log(`  ${key.padEnd(40)} ${n}`);
    process.exitCode = problems ? 1 : 0;
  };
  runFrom(0);
}
