// The packaged extension: `npm run package` builds ringside.vsix, code-server installs it like a
// user's VS Code would, and a workbench with no development path opens kernel.asm: the language is
// recognised, F5 boots the guest through the installed adapter and stops on entry, and the panel's
// command is there.
//   node --import tsx test/e2e/vsix.ts
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, ARTIFACTS, codeServerDir, startWorkbench, launchBrowser, waitForWorkbench, openFile, runCommand } from './workbench';

export async function runVsixTest(): Promise<number> {
  const t0 = Date.now();
  const pkg = spawnSync('npm', ['run', 'package'], { cwd: ROOT, encoding: 'utf8' });
  const vsix = path.join(ROOT, 'ringside.vsix');
  if (pkg.status !== 0 || !fs.existsSync(vsix)) { console.error(pkg.stdout + pkg.stderr); console.log('not ok - npm run package'); return 1; }
  console.log(`ok - npm run package: ${(fs.statSync(vsix).size / 1024).toFixed(0)} KiB`);
  const cs = codeServerDir();
  const extensions = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-vsix-ext-'));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-vsix-home-'));
  const inst = spawnSync(process.execPath, [path.join(cs, 'out', 'node', 'entry.js'), '--extensions-dir', extensions, '--install-extension', vsix],
    { encoding: 'utf8', env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share') } });
  const installed = fs.readdirSync(extensions).find((d) => d.startsWith('ringside.ringside-'));
  if (inst.status !== 0 || !installed) { console.error(inst.stdout + inst.stderr); console.log('not ok - code-server --install-extension ringside.vsix'); return 1; }
  console.log(`ok - installed into code-server as ${installed}`);
  const wb = await startWorkbench({ extensionsDir: extensions });
  const browser = await launchBrowser(wb.scratch);
  let failed = 0;
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(wb.openUrl([], false));
    await waitForWorkbench(page);
    await openFile(page, 'kernel.asm');
    await page.locator('.statusbar-item', { hasText: 'Guest Assembly (NASM)' }).first().waitFor({ timeout: 30000 });
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().waitFor();
    await page.locator('.editor-group-container .tab', { hasText: 'kernel.asm' }).first().click();
    await page.keyboard.press('F5');
    await page.locator('.debug-call-stack .monaco-list-row', { hasText: 'start' }).first().waitFor({ timeout: 30000 });
    console.log('ok - the installed extension boots kernel.asm with F5 and stops on entry');
    await runCommand(page, 'Ringside: Show Hypervisor Panel');
    await page.locator('.tab', { hasText: 'Ringside: Hypervisor' }).first().waitFor({ timeout: 10000 });
    console.log('ok - the installed extension opens the hypervisor panel');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'vsix-installed.png') });
  } catch (e) {
    failed = 1;
    console.log(`not ok - the installed extension works: ${e instanceof Error ? e.message.split('\n')[0] : e}`);
  } finally {
    await browser.close();
    await wb.stop();
    fs.rmSync(extensions, { recursive: true, force: true });
  }
  console.log(`vsix test: ${failed ? 0 : 4} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return failed;
}

if (require.main === module) {
  runVsixTest().then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); });
}
