// The extension-host suite in VS Code desktop through @vscode/test-electron, for machines where the
// VS Code build can be downloaded (it cannot on Ringside's CI machines: there, scripts/e2e.mjs runs
// the same suite inside code-server).
//   node scripts/e2e-electron.mjs [--vscode-version 1.96.4]
import { build } from 'esbuild';
import { runTests } from '@vscode/test-electron';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const versionArg = process.argv.indexOf('--vscode-version');
const version = versionArg > 0 ? process.argv[versionArg + 1] : 'stable';
const suite = path.join(root, 'out', 'extension-tests', 'index.js');
await build({ entryPoints: [path.join(root, 'test', 'extension', 'index.ts')], outfile: suite, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['vscode'], sourcemap: 'inline', logLevel: 'warning' });
// A scratch copy of the samples: the suite writes files and sets breakpoints there.
const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-electron-'));
for (const f of fs.readdirSync(path.join(root, 'samples'))) {
  const src = path.join(root, 'samples', f);
  if (fs.statSync(src).isFile()) fs.copyFileSync(src, path.join(ws, f));
}
try {
  await runTests({
    version,
    extensionDevelopmentPath: root,
    extensionTestsPath: suite,
    launchArgs: [ws, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
    extensionTestsEnv: { RINGSIDE_TEST_REPORT: path.join(root, 'out', 'extension-tests', 'report-electron.txt') },
  });
} catch (e) {
  console.error(`extension-host suite failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
