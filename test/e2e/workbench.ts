// A real VS Code workbench for the end-to-end tests: code-server 4.96.4 (installed outside the
// extension's dependencies by scripts/e2e-setup.sh) served on loopback, opened in Debian's Chromium
// through playwright-core, with this repository loaded as the extension under development.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..', '..');
export const ARTIFACTS = path.join(ROOT, 'artifacts');
export const CHROMIUM = process.env.RINGSIDE_CHROMIUM ?? '/usr/bin/chromium';

/** The code-server package folder, installing it first when missing. */
export function codeServerDir(): string {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'e2e-setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('scripts/e2e-setup.sh failed');
  const dir = r.stdout.trim().split('\n').pop()!;
  if (!fs.existsSync(path.join(dir, 'out', 'node', 'entry.js'))) throw new Error(`no code-server at ${dir}`);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface Workbench {
  url: string;
  port: number;
  scratch: string;
  workspace: string;
  server: ChildProcess;
  log: string;
  stop(): Promise<void>;
  /** The URL that opens the workspace with this repository as the extension under development (dev false: installed extensions only). */
  openUrl(extra?: [string, string][], dev?: boolean): string;
}

/** Copies samples/ into a scratch workspace so the tests never touch the repository's files. */
export function scratchWorkspace(scratch: string, extra: Record<string, string> = {}): string {
  const ws = path.join(scratch, 'samples');
  fs.mkdirSync(ws, { recursive: true });
  for (const f of fs.readdirSync(path.join(ROOT, 'samples'))) {
    const src = path.join(ROOT, 'samples', f);
    if (fs.statSync(src).isFile()) fs.copyFileSync(src, path.join(ws, f));
  }
  for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(ws, name), text);
  return ws;
}

export async function startWorkbench(opts: { workspace?: string; env?: Record<string, string>; settings?: Record<string, unknown>; extensionsDir?: string } = {}): Promise<Workbench> {
  const cs = codeServerDir();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-e2e-'));
  const home = path.join(scratch, 'home');
  const userData = path.join(scratch, 'user-data');
  const extensions = opts.extensionsDir ?? path.join(scratch, 'extensions');
  for (const d of [home, path.join(userData, 'User'), extensions]) fs.mkdirSync(d, { recursive: true });
  const workspace = opts.workspace ?? scratchWorkspace(scratch);
  // A quiet workbench: no trust prompt, welcome page, tips, telemetry or update checks.
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'git.enabled': false,
    'workbench.colorTheme': 'Default Dark Modern',
    'window.commandCenter': false,
    'chat.commandCenter.enabled': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'editor.minimap.enabled': false,
    'debug.openDebug': 'openOnDebugBreak',
    ...opts.settings,
  }, null, 2));
  const port = await freePort();
  const env = {
    ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'), TMPDIR: path.join(scratch, 'tmp'), ...opts.env,
  };
  fs.mkdirSync(env.TMPDIR!, { recursive: true });
  const server = spawn(process.execPath, [path.join(cs, 'out', 'node', 'entry.js'), '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', userData, '--extensions-dir', extensions, workspace],
  { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const wb: Workbench = {
    url: `http://127.0.0.1:${port}/`, port, scratch, workspace, server, log: '',
    async stop() {
      // The server's process group holds the extension host too: end the whole group.
      if (server.pid && server.exitCode === null) {
        try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ }
        await new Promise((r) => setTimeout(r, 300));
        try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    },
    openUrl(extra: [string, string][] = [], dev = true) {
      const remote = (p: string) => `vscode-remote://127.0.0.1:${port}${p}`;
      const payload = [...(dev ? [['extensionDevelopmentPath', remote(ROOT)]] : []), ...extra.map(([k, v]) => [k, v.startsWith('/') ? remote(v) : v])];
      return `${this.url}?folder=${encodeURIComponent(workspace)}${payload.length ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;
    },
  };
  server.stdout!.on('data', (d) => { wb.log += d; });
  server.stderr!.on('data', (d) => { wb.log += d; });
  const deadline = Date.now() + 30000;
  while (!/HTTP server listening/.test(wb.log)) {
    if (server.exitCode !== null) throw new Error(`code-server exited:\n${wb.log}`);
    if (Date.now() > deadline) { await wb.stop(); throw new Error(`code-server did not start:\n${wb.log}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return wb;
}

export async function launchBrowser(scratch: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const home = path.join(scratch, 'chromium-home');
  fs.mkdirSync(home, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, HOME: home } as Record<string, string>,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
}

/** Waits for the workbench to be up (the status bar and an editor area exist). */
export async function waitForWorkbench(page: Page): Promise<void> {
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  await page.waitForSelector('.statusbar', { timeout: 60000 });
}

/** Runs a command from the command palette, retrying while the extension's commands register. */
export async function runCommand(page: Page, title: string, attempts = 10): Promise<void> {
  for (let k = 0; k < attempts; k++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input[type=text]');
    await input.waitFor({ state: 'visible', timeout: 10000 });
    await input.fill('>' + title);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ state: 'visible', timeout: 2500 });
      await row.click();
      return;
    } catch {
      await page.keyboard.press('Escape');
      await page.waitForTimeout(700);
    }
  }
  throw new Error(`command '${title}' did not appear in the palette`);
}

/** Opens a workspace file with Quick Open. */
export async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input[type=text]');
  await input.waitFor({ state: 'visible' });
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 10000 });
  await page.keyboard.press('Enter');
  await page.locator(`.tabs-container .tab.active`, { hasText: name }).waitFor({ timeout: 10000 });
}
