// Steps of the workbench scenarios and what they share: timed steps, numbered screenshots in
// artifacts/, where the debugger's current-line marker is, moving the cursor, the panel's webview.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page, Frame } from 'playwright-core';
import { ARTIFACTS } from './workbench';

export const steps: { name: string; ms: number; ok: boolean; error?: string }[] = [];
let shot = 0;

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // A fresh run: the numbered screenshots of an earlier one (whose steps may differ) go first.
  if (shot === 0) for (const f of fs.readdirSync(ARTIFACTS)) if (/^\d\d-.*\.png$/.test(f)) fs.rmSync(path.join(ARTIFACTS, f));
  const file = path.join(ARTIFACTS, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export async function step(name: string, fn: () => Promise<void>): Promise<void> {
  const t0 = Date.now();
  try {
    await fn();
    steps.push({ name, ms: Date.now() - t0, ok: true });
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    steps.push({ name, ms: Date.now() - t0, ok: false, error: String(e instanceof Error ? e.stack : e) });
    console.log(`not ok - ${name} (${Date.now() - t0} ms)\n    ${String(e instanceof Error ? e.message : e).split('\n').join('\n    ')}`);
    throw e;
  }
}

/** The 1-based line of the first line of a file holding `text`. */
export function lineIn(file: string, text: string): number {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const k = lines.findIndex((l) => l.includes(text));
  if (k < 0) throw new Error(`${text} not in ${path.basename(file)}`);
  return k + 1;
}

/** The workbench's copy of the samples: line numbers come from it, as the repository's may change meanwhile. */
let samplesDir = path.join(__dirname, '..', '..', 'samples');
export function useSamplesFrom(dir: string): void {
  samplesDir = dir;
}

export function kernelLine(text: string): number {
  return lineIn(path.join(samplesDir, 'kernel.asm'), text);
}

/** The 1-based line the debugger's current-statement marker is on in the active editor. */
export async function stoppedLine(page: Page): Promise<number | undefined> {
  return page.evaluate(() => {
    const ed = document.querySelector('.editor-group-container.active .monaco-editor') ?? document.querySelector('.monaco-editor');
    if (!ed) return undefined;
    const marker = ed.querySelector('.codicon-debug-stackframe, .codicon-debug-stackframe-focused, .debug-top-stack-frame-column');
    const top = (marker as HTMLElement | null)?.closest('[style*="top"]') as HTMLElement | null;
    if (!top) return undefined;
    const y = top.getBoundingClientRect().top;
    const nums = Array.from(ed.querySelectorAll('.line-numbers')) as HTMLElement[];
    const hit = nums.find((n) => Math.abs(n.getBoundingClientRect().top - y) < 4);
    return hit ? Number(hit.textContent) : undefined;
  });
}

export async function waitForStopAt(page: Page, line: number, timeout = 30000): Promise<void> {
  const end = Date.now() + timeout;
  let last: number | undefined;
  while (Date.now() < end) {
    last = await stoppedLine(page);
    if (last === line) return;
    await page.waitForTimeout(200);
  }
  throw new Error(`expected to stop at line ${line}, the marker is at ${last}`);
}

/** Puts the cursor on a line of an open editor (kernel.asm unless another file is named). */
export async function goToLine(page: Page, line: number, file = 'kernel.asm'): Promise<void> {
  const input = page.locator('.quick-input-widget input[type=text]');
  // Quick Open may not open when the keystroke lands while focus moves (a webview, a notification): retry.
  for (let k = 0; ; k++) {
    await page.locator('.editor-group-container .tab', { hasText: file }).first().click();
    await page.keyboard.press('Control+P');
    if (await input.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) break;
    if (k === 3) throw new Error('Quick Open did not open');
    await page.keyboard.press('Escape');
  }
  await input.fill(`:${line}`);
  await page.waitForTimeout(200);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(300);
}

/** The webview frame holding the hypervisor panel's page. */
export async function panelFrame(page: Page): Promise<Frame> {
  const end = Date.now() + 20000;
  while (Date.now() < end) {
    for (const f of page.frames()) {
      if (await f.locator('#tab-memory').count().catch(() => 0)) return f;
    }
    await page.waitForTimeout(250);
  }
  throw new Error('the hypervisor panel webview did not appear');
}

export async function debugToolbar(page: Page): Promise<void> {
  await page.locator('.debug-toolbar').waitFor({ state: 'visible', timeout: 30000 });
}

