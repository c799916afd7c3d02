// Runs the extension-host suite (test/extension/) inside code-server: the workbench is opened with
// the payload's extensionTestsPath, the suite's run() executes in the extension host, and its result
// arrives through window.codeAutomationExit. Exits non-zero when the suite fails.
//   node --import tsx test/e2e/hostsuite.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { ROOT, ARTIFACTS, startWorkbench, launchBrowser } from './workbench';

export async function bundleSuite(): Promise<string> {
  const out = path.join(ROOT, 'out', 'extension-tests', 'index.js');
  await build({ entryPoints: [path.join(ROOT, 'test', 'extension', 'index.ts')], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['vscode'], sourcemap: 'inline', logLevel: 'warning' });
  return out;
}

export async function runHostSuite(): Promise<number> {
  const t0 = Date.now();
  const suite = await bundleSuite();
  const report = path.join(ROOT, 'out', 'extension-tests', 'report.txt');
  fs.rmSync(report, { force: true });
  const wb = await startWorkbench({ env: { RINGSIDE_TEST_REPORT: report } });
  const browser = await launchBrowser(wb.scratch);
  let code = 1;
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const exited = new Promise<number>((resolve) => { void page.exposeFunction('codeAutomationExit', (c: number) => resolve(c)); });
    await page.goto(wb.openUrl([['extensionTestsPath', suite]]));
    code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(124), 240000))]);
    if (code === 124) console.error('extension-host suite: timed out');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'extension-host-suite.png') }).catch(() => undefined);
  } finally {
    await browser.close();
    await wb.stop();
  }
  if (fs.existsSync(report)) process.stdout.write(fs.readFileSync(report, 'utf8'));
  else console.error(`extension-host suite: no report; code-server said:\n${wb.log.slice(-4000)}`);
  console.log(`extension-host suite: exit ${code} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return code;
}

if (require.main === module) {
  runHostSuite().then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); });
}
