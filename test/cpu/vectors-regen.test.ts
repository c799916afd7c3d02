// The committed CPU vectors are reproducible: where nasm and gcc -m32 are installed (CI installs
// them), regenerate every family on this host CPU and compare with the committed data. Flags the
// SDM leaves undefined may differ on a CPU of another vendor; only those differences are tolerated
// (the replay masks them anyway).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const tools = ['nasm -v', 'gcc -m32 --version'].every((c) => {
  const [cmd, ...args] = c.split(' ');
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
});

test('committed vectors regenerate identically on the host CPU', { skip: tools ? false : 'nasm or gcc -m32 missing', timeout: 600_000 }, () => {
  const r = spawnSync(process.execPath, ['tools/diffgen/check.mjs', '--max', '10'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const summary = /check: (\d+) committed vectors compared; (\d+) differ, (\d+) differ only in arithmetic flags/.exec(r.stdout);
  assert.ok(summary, `check.mjs printed no summary (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  const [, total, differ] = summary.map(Number);
  assert.ok(total > 250_000, `only ${total} vectors compared`);
  assert.equal(differ, 0, r.stdout.split('\n').slice(0, 20).join('\n'));
});
