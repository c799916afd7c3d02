// The second part of the workbench scenario: the panel in each virtualization mode. "Break on this
// exit" in the Exits tab stops the guest on that exit; then sessions under binary-translation
// (Translation cache tab), paravirt (Hypercalls tab), trap-and-emulate (rings view: real ring 1, the
// guest believes 0) and vtx+shadow (shadow page tables), each showing only the tabs its mode has.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page, Frame } from 'playwright-core';
import { ROOT, runCommand, type Workbench } from './workbench';
import { step, screenshot, lineIn, waitForStopAt, goToLine, panelFrame, debugToolbar } from './steps';

/** The paravirtual sample kernel: in samples/ once moved there, else the hypervisor tests' guest. */
function pvKernel(): string {
  const samples = path.join(ROOT, 'samples');
  for (const f of fs.readdirSync(samples).filter((n) => n.endsWith('.asm')).sort()) {
    const text = fs.readFileSync(path.join(samples, f), 'utf8');
    if (/paravirt/i.test(text) && /\bvmcall\b/i.test(text)) return path.join(samples, f);
  }
  return path.join(ROOT, 'test', 'hypervisor', 'guests', 'pvkernel.asm');
}

const CONFIGS = {
  bt: 'kernel.asm under binary-translation',
  pv: 'paravirtual kernel under paravirt',
  te: 'kernel.asm under trap-and-emulate',
  shadow: 'kernel.asm under vtx+shadow',
};

function writeLaunchJson(ws: string, pv: string): void {
  const cfg = (name: string, program: string, extra: Record<string, unknown>) => ({ type: 'ringside', request: 'launch', name, program: `\${workspaceFolder}/${program}`, stopOnEntry: false, ...extra });
  fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(ws, '.vscode', 'launch.json'), JSON.stringify({
    version: '0.2.0',
    configurations: [
      cfg(CONFIGS.bt, 'kernel.asm', { virtualization: 'binary-translation' }),
      cfg(CONFIGS.pv, pv, { virtualization: 'paravirt', stopOnEntry: true }),
      cfg(CONFIGS.te, 'kernel.asm', { virtualization: 'trap-and-emulate' }),
      cfg(CONFIGS.shadow, 'kernel.asm', { virtualization: 'vtx', memoryVirtualization: 'shadow' }),
    ],
  }, null, 2));
}

async function stopSession(page: Page): Promise<void> {
  await runCommand(page, 'Debug: Stop');
  await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 15000 });
}

/** Starts a launch.json configuration by name (picked in the Run and Debug view) and waits for the session. */
async function startConfig(page: Page, name: string, ws: string): Promise<void> {
  const select = page.locator('.start-debug-action-item select').first();
  const options = () => select.evaluate((s: HTMLSelectElement) => Array.from(s.options).map((o) => o.text)).catch(() => [] as string[]);
  const t0 = Date.now();
  let label: string | undefined, seen: string[] = [], touched = false;
  // launch.json was just written: the workbench may not have read it yet.
  while (!label && Date.now() - t0 < 30000) {
    seen = await options();
    label = seen.find((t) => t.startsWith(name));
    if (label) break;
    if (!touched && Date.now() - t0 > 8000) {
      // A file event can be missed: write it again, and make sure the Run and Debug view shows.
      touched = true;
      fs.writeFileSync(path.join(ws, '.vscode', 'launch.json'), fs.readFileSync(path.join(ws, '.vscode', 'launch.json')));
      await runCommand(page, 'View: Show Run and Debug');
    }
    await page.waitForTimeout(300);
  }
  if (!label) throw new Error(`configuration '${name}' is not offered; the Run and Debug view offers: ${seen.join(' | ') || 'nothing'}`);
  await select.selectOption({ label });
  await page.locator('.start-debug-action-item .codicon-debug-start').first().click();
  await debugToolbar(page);
}

/**
 * A breakpoint on a line (the command, with the cursor there). The kernel.asm sessions run to one
 * rather than to the cursor: Run to Cursor removes its breakpoint after the stop, and a breakpoint
 * change recompiles the decoded blocks, which would empty the translation cache under the panel.
 */
async function breakpointAt(page: Page, line: number, file: string): Promise<void> {
  await goToLine(page, line, file);
  await runCommand(page, 'Debug: Toggle Breakpoint');
  await page.locator('.editor-group-container.active .monaco-editor .codicon-debug-breakpoint, .editor-group-container.active .monaco-editor .codicon-debug-breakpoint-unverified').first().waitFor({ timeout: 10000 });
}

/** The editors' group (not the panel's) becomes the active one: a session opens its source there. */
async function focusEditors(page: Page): Promise<void> {
  await page.locator('.editor-group-container .tab', { hasText: 'kernel.asm' }).first().click();
}

/** The panel's tab buttons that show, by id. */
async function visibleTabs(f: Frame): Promise<string[]> {
  return f.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('.tabs .tab')).filter((b) => !b.hidden).map((b) => b.dataset.tab ?? ''));
}

async function expectTabs(f: Frame, want: string[]): Promise<void> {
  const end = Date.now() + 10000;
  let got: string[] = [];
  while (Date.now() < end) {
    got = await visibleTabs(f);
    if (got.join() === want.join()) return;
    await f.page().waitForTimeout(200);
  }
  throw new Error(`the panel shows tabs ${got.join(', ')}; this mode has ${want.join(', ')}`);
}

async function showPanel(page: Page): Promise<Frame> {
  await runCommand(page, 'Ringside: Show Hypervisor Panel');
  return panelFrame(page);
}

/** Gives the panel's editor group about 60% of the editor area (its tables are wide). */
async function widenPanel(page: Page): Promise<void> {
  const group = page.locator('.editor-group-container', { has: page.locator('.tab', { hasText: 'Ringside: Hypervisor' }) }).first();
  const g = await group.boundingBox();
  const area = await page.locator('.part.editor').first().boundingBox();
  if (!g || !area || g.x <= area.x + 10) return;
  const y = g.y + g.height / 2;
  await page.mouse.move(g.x - 1, y);
  await page.mouse.down();
  await page.mouse.move(area.x + area.width * 0.4, y, { steps: 5 });
  await page.mouse.up();
}

export async function runModeSteps(page: Page, wb: Workbench): Promise<void> {
  await step('"Break on this exit" in the Exits tab stops on that exit', async () => {
    const f = await showPanel(page);
    await expectTabs(f, ['overview', 'exits', 'memory', 'translate', 'vmcs']);
    await f.locator('#tab-exits').click();
    const row = f.locator('tr', { has: f.locator('button.break-exit') }).filter({ hasText: 'IO_INSTRUCTION' }).first();
    await row.waitFor({ timeout: 10000 });
    await row.locator('button.break-exit').click();
    // The extension adds the function breakpoint and tells the panel, which marks the row.
    await row.locator('button.break-exit.set').waitFor({ timeout: 10000 });
    const bp = page.locator('.debug-breakpoints .monaco-list-row', { hasText: 'vmexit IO_INSTRUCTION' }).first();
    // Room for the Breakpoints view: function breakpoints come after the many event filters.
    const rings = page.locator('.pane-header[aria-expanded=true]', { hasText: /^Rings/i }).first();
    if (await rings.count()) await rings.click();
    const header = page.locator('.pane-header', { hasText: /^Breakpoints/i }).first();
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    await page.locator('.debug-breakpoints .monaco-list').first().hover();
    await page.mouse.wheel(0, 3000);
    await bp.waitFor({ timeout: 10000 });
    const total = async () => (await f.locator('#page-exits h2').first().innerText()).replace(/\D/g, '');
    const before = await total();
    await page.locator('.debug-toolbar .codicon-debug-continue').first().click();
    const widget = page.locator('.exception-widget');
    await widget.waitFor({ timeout: 15000 });
    // The panel refreshes at the stop: one more exit.
    const end = Date.now() + 10000;
    while (await total() === before && Date.now() < end) await page.waitForTimeout(150);
    if (Number(await total()) !== Number(before) + 1) throw new Error(`the panel counted ${before} exits before and ${await total()} at the stop`);
    const reason = (await widget.innerText()).replace(/\s+/g, ' ');
    if (!/VM exit 30 IO_INSTRUCTION/.test(reason)) throw new Error(`the stop reads '${reason}'`);
    console.log(`    reason: ${reason.slice(0, 160)}`);
    await screenshot(page, 'break-on-exit');
    // A second click removes it.
    await row.locator('button.break-exit').click();
    await bp.waitFor({ state: 'detached', timeout: 10000 });
    // The gutter breakpoint of the first part goes too (the Breakpoints view's "Remove All").
    await header.hover();
    await header.locator('.action-label[aria-label*="Remove All Breakpoints"]').click();
    await page.locator('.debug-breakpoints .monaco-list-row .codicon-debug-breakpoint').first().waitFor({ state: 'detached', timeout: 5000 }).catch(() => undefined);
    await stopSession(page);
  });

  const pv = pvKernel();
  const pvName = path.basename(pv);
  if (!fs.existsSync(path.join(wb.workspace, pvName))) fs.copyFileSync(pv, path.join(wb.workspace, pvName));
  writeLaunchJson(wb.workspace, pvName);
  // Lines from the workspace's copies: the samples may change while the scenario runs.
  const wsLine = (file: string, text: string) => lineIn(path.join(wb.workspace, file), text);
  const done = wsLine('kernel.asm', '    print msg_done');

  await step('binary-translation: the Translation cache tab shows blocks with rewritten instructions', async () => {
    // The panel's tables get the editor area's height (the Debug Console goes) and more of its width.
    await page.setViewportSize({ width: 1920, height: 1080 });
    await runCommand(page, 'View: Hide Panel');
    await widenPanel(page);
    await focusEditors(page);
    await breakpointAt(page, done, 'kernel.asm');
    await startConfig(page, CONFIGS.bt, wb.workspace);
    await waitForStopAt(page, done);
    const f = await showPanel(page);
    await expectTabs(f, ['overview', 'exits', 'memory', 'translate', 'tcache']);
    await f.locator('#tab-tcache').click();
    const rewritten = f.locator('details.block[open] tr.rewritten').first();
    await rewritten.waitFor({ timeout: 15000 }).catch(async (e) => {
      const text = await f.locator('#page-tcache').innerText().catch(() => '?');
      throw new Error(`no rewritten instruction shows (${String(e).split('\n')[0]}); tabs ${(await visibleTabs(f)).join(', ')}; the page reads: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
    });
    const text = (await rewritten.innerText()).replace(/\s+/g, ' ');
    if (!(await rewritten.locator('.monitor-call').count())) throw new Error(`a rewritten instruction reads '${text}' with no monitor call`);
    const title = await f.locator('#page-tcache h2').first().innerText();
    console.log(`    ${title}; e.g. ${text}`);
    await screenshot(page, 'panel-translation-cache');
    await stopSession(page);
  });

  await step('paravirt: the Hypercalls tab counts the calls by name', async () => {
    await focusEditors(page);
    await startConfig(page, CONFIGS.pv, wb.workspace);
    await page.locator('.editor-group-container.active .tab.active', { hasText: pvName }).waitFor({ timeout: 15000 });
    await waitForStopAt(page, wsLine(pvName, 'mov esp,'));
    const pvDone = wsLine(pvName, 'pvkernel: done');
    await breakpointAt(page, pvDone, pvName);
    await page.locator('.debug-toolbar .codicon-debug-continue').first().click();
    await waitForStopAt(page, pvDone);
    const f = await showPanel(page);
    await expectTabs(f, ['overview', 'exits', 'memory', 'translate', 'hypercalls']);
    await f.locator('#tab-hypercalls').click();
    const count = async (name: string) => Number((await f.locator('#page-hypercalls tr', { has: f.locator('td', { hasText: new RegExp(`^${name}$`) }) }).first().locator('td').nth(2).innerText({ timeout: 10000 })).replace(/,/g, ''));
    const calls = { console_write: await count('console_write'), set_timer: await count('set_timer'), yield: await count('yield'), balloon: await count('balloon') };
    console.log(`    hypercalls: ${JSON.stringify(calls)}`);
    if (!(calls.console_write > 10 && calls.set_timer === 3 && calls.yield === 3 && calls.balloon === 2)) throw new Error(`unexpected counts ${JSON.stringify(calls)}`);
    await screenshot(page, 'panel-hypercalls');
    await stopSession(page);
  });

  await step('trap-and-emulate: the rings view shows real ring 1, and the ring the guest believes, 0', async () => {
    await focusEditors(page);
    await startConfig(page, CONFIGS.te, wb.workspace);
    await waitForStopAt(page, done);
    await runCommand(page, 'Ringside: Show Rings View');
    const view = page.locator('.pane:has(.pane-header:has-text("Rings"))').first();
    await view.locator('.monaco-list-row', { hasText: /Ring 1.*current/ }).first().waitFor({ timeout: 10000 });
    await view.locator('.monaco-list-row', { hasText: /Ring 0.*believes/ }).first().waitFor({ timeout: 10000 });
    await view.locator('.monaco-list-row', { hasText: /real 1, believed 0/ }).first().waitFor({ timeout: 10000 });
    await view.locator('.monaco-list-row', { hasText: /VMX.*no VMX/ }).first().waitFor({ timeout: 10000 });
    console.log(`    rings view: ${(await view.innerText()).replace(/\s+/g, ' ').slice(0, 240)}`);
    const f = await showPanel(page);
    await expectTabs(f, ['overview', 'exits', 'memory', 'translate']);
    await f.locator('#tab-overview').click();
    await f.locator('.ring.believed').waitFor({ timeout: 10000 });
    await screenshot(page, 'rings-trap-and-emulate');
    await stopSession(page);
  });

  await step('vtx+shadow: the Memory tab shows the shadow page tables and the translation uses them', async () => {
    await focusEditors(page);
    await startConfig(page, CONFIGS.shadow, wb.workspace);
    await waitForStopAt(page, done);
    const f = await showPanel(page);
    await expectTabs(f, ['overview', 'exits', 'memory', 'translate', 'vmcs']);
    await f.locator('#tab-memory').click();
    if (await f.locator('.segmented button[data-kind=ept]').isVisible()) throw new Error('vtx+shadow offers an EPT table');
    await f.locator('.segmented button[data-kind=shadow]').click();
    // GVA 0x40000000 -> its guest frame -> host memory, with the guest PTE it came from.
    const row = f.locator('.vlist-row:not([hidden])', { hasText: /^0x40000000/ }).first();
    await row.waitFor({ timeout: 15000 });
    const cells = await row.locator('span').allInnerTexts();
    console.log(`    shadow row: ${cells.join(' | ')}`);
    if (cells.length !== 6 || !cells.slice(1, 3).every((c) => /^0x[0-9A-F]{8}$/.test(c)) || !/^0x[0-9A-F]{8} @ 0x[0-9A-F]{8}$/.test(cells[5])) throw new Error(`the shadow row reads ${cells.join(' | ')}`);
    const head = (await f.locator('.mem-title').innerText()).trim();
    console.log(`    ${head}`);
    await screenshot(page, 'panel-shadow-tables');
    await f.locator('#tab-translate').click();
    await f.locator('input.gva').fill('0x40000000');
    await f.locator('input.gva').press('Enter');
    await f.locator('svg.walk .walk-result').first().waitFor({ timeout: 15000 });
    await screenshot(page, 'panel-translate-shadow');
    await stopSession(page);
  });
}
