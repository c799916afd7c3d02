// The VS Code side's end-to-end tests in a real workbench, as one command for CI:
//   node scripts/e2e.mjs            (installs code-server and Debian packages when missing)
// 1. the extension-host suite inside code-server (test/extension/ via extensionTestsPath),
// 2. the Playwright scenario (test/e2e/scenario.ts), screenshots in artifacts/,
// 3. the packaged .vsix installed into code-server (test/e2e/vsix.ts).
// Exits non-zero when any part fails.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const t0 = Date.now();
const run = (what, cmd, args) => {
  const t = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  const s = ((Date.now() - t) / 1000).toFixed(1);
  console.log(`e2e: ${what}: ${r.status === 0 ? 'passed' : 'FAILED'} (${s} s)`);
  return r.status === 0;
};

if (!run('install code-server (when missing)', 'bash', ['scripts/e2e-setup.sh'])) process.exit(1);
if (!run('build', process.execPath, ['scripts/build.mjs'])) process.exit(1);
const parts = [
  ['extension-host suite in code-server', 'test/e2e/hostsuite.ts'],
  ['workbench scenario (Playwright)', 'test/e2e/scenario.ts'],
  ['packaged .vsix in code-server', 'test/e2e/vsix.ts'],
];
let passed = 0, failed = 0;
for (const [what, file] of parts) {
  if (run(what, process.execPath, ['--import', 'tsx', file])) passed++; else failed++;
}
console.log(`e2e: ${passed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
