// The user's scenario in a real VS Code workbench (code-server + Chromium, driven by Playwright):
// open the samples and kernel.asm, F5 stops on entry, a breakpoint set by clicking the gutter is
// reached, the registers are read in Variables, the "Privileged: control registers" filter stops on
// MOV CR3 with the reason shown, the hypervisor panel shows the page tables and the translation
// picture, and the rings view shows the rings; then the panel in every mode (test/e2e/modes.ts).
// A screenshot of each step goes to artifacts/.
//   node --import tsx test/e2e/scenario.ts
import { startWorkbench, launchBrowser, waitForWorkbench, runCommand, openFile } from './workbench';
import { steps, step, screenshot, kernelLine, stoppedLine, waitForStopAt, goToLine, panelFrame, debugToolbar, useSamplesFrom } from './steps';
import { runModeSteps } from './modes';

export async function runScenario(): Promise<number> {
  const t0 = Date.now();
  const wb = await startWorkbench({ settings: process.env.NO_LENS ? { 'ringside.privilegedLines.codeLens': false } : {} });
  useSamplesFrom(wb.workspace);
  const browser = await launchBrowser(wb.scratch);
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const consoleErrors: string[] = [];
  // Name-resolution failures are the workbench's own extension-gallery query (no network here); the
  // requestfailed listener names any other failed request.
  page.on('console', (m) => { if (m.type() === 'error' && !/vsda|favicon|NotFound|404|ERR_NAME_NOT_RESOLVED/.test(m.text())) consoleErrors.push(m.text()); });
  page.on('requestfailed', (r) => { if (!/vsda|\/gallery\//.test(r.url())) consoleErrors.push(`request failed: ${r.url().slice(0, 120)} (${r.failure()?.errorText})`); });
  let failed = 0;
  try {
    await step('open the samples workspace and kernel.asm', async () => {
      await page.goto(wb.openUrl());
      await waitForWorkbench(page);
      await openFile(page, 'kernel.asm');
      await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().waitFor();
      await screenshot(page, 'kernel-open');
    });

    const entry = kernelLine('    cli') ;
    await step('F5 stops on entry with the line highlighted', async () => {
      // The extension's language features register at activation: the status bar shows guest-asm first.
      await page.locator('.statusbar-item', { hasText: /Guest Assembly|guest-asm/ }).first().waitFor({ timeout: 30000 });
      await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click({ position: { x: 200, y: 10 } });
      await page.keyboard.press('F5');
      await debugToolbar(page);
      await waitForStopAt(page, entry);
      await page.locator('.debug-call-stack .monaco-list-row', { hasText: /start|0x/ }).first().waitFor({ timeout: 15000 });
      await screenshot(page, 'stopped-on-entry');
    });

    const bpLine = kernelLine('call check_cpuid');
    await step('a breakpoint set by clicking the gutter is reached', async () => {
      // The panel opened beside the editor at session start: work in the editor group.
      await page.locator('.editor-group-container .tab', { hasText: 'kernel.asm' }).first().click();
      await goToLine(page, bpLine);
      const num = page.locator('.editor-group-container.active .monaco-editor .margin .line-numbers', { hasText: new RegExp(`^${bpLine}$`) }).first();
      const box = await num.boundingBox();
      if (!box) throw new Error(`line ${bpLine} is not on screen`);
      const glyph = page.locator('.editor-group-container.active .monaco-editor .glyph-margin').first();
      const g = await glyph.boundingBox();
      await page.mouse.move(g!.x + g!.width / 2, box.y + box.height / 2);
      await page.mouse.click(g!.x + g!.width / 2, box.y + box.height / 2);
      await page.locator('.editor-group-container.active .monaco-editor .codicon-debug-breakpoint').first().waitFor({ timeout: 10000 });
      await page.keyboard.press('F5');
      await waitForStopAt(page, bpLine);
      await screenshot(page, 'breakpoint-hit');
    });

    await step('the registers are read in the Variables view', async () => {
      const vars = page.locator('.debug-variables');
      await vars.waitFor({ state: 'visible' });
      const general = vars.locator('.monaco-list-row', { hasText: 'General' }).first();
      await general.waitFor({ timeout: 10000 });
      if (!(await vars.locator('.monaco-list-row', { hasText: /^eax/i }).count())) {
        if ((await general.getAttribute('aria-expanded')) !== 'true') await general.click();
      }
      // Wait until Variables shows this stop, not the entry's values.
      await vars.locator('.monaco-list-row', { hasText: /eip.*setup/i }).first().waitFor({ timeout: 10000 });
      const eax = vars.locator('.monaco-list-row', { hasText: /eax/i }).first();
      await eax.waitFor({ timeout: 10000 });
      const text = (await eax.innerText()).replace(/\s+/g, ' ');
      if (!/eax.*0x[0-9a-f]{8}/i.test(text)) throw new Error(`EAX reads '${text}'`);
      const esp = (await vars.locator('.monaco-list-row', { hasText: /esp/i }).first().innerText()).replace(/\s+/g, ' ');
      console.log(`    Variables: ${text}; ${esp}`);
      await screenshot(page, 'variables');
    });

    await step('the "Privileged: control registers" filter stops on MOV CR3 with the reason shown', async () => {
      const row = page.locator('.debug-breakpoints .monaco-list-row', { hasText: 'Privileged: control registers' }).first();
      await row.waitFor({ timeout: 10000 });
      await row.locator('input[type=checkbox]').check();
      const cr3 = kernelLine('mov cr3, eax');
      // The filter stops on every CR access: MOV from CR4 and MOV to CR4 come before MOV to CR3.
      for (let k = 0; k < 5; k++) {
        await page.keyboard.press('F5');
        await page.waitForTimeout(400);
        const end = Date.now() + 15000;
        let line: number | undefined;
        while (Date.now() < end && !(line = await stoppedLine(page))) await page.waitForTimeout(150);
        if (line === cr3) break;
      }
      await waitForStopAt(page, cr3);
      const widget = page.locator('.exception-widget');
      await widget.waitFor({ timeout: 10000 });
      const reason = (await widget.innerText()).replace(/\s+/g, ' ');
      if (!/mov cr3/i.test(reason)) throw new Error(`the reason shown is '${reason}'`);
      console.log(`    reason: ${reason}`);
      await screenshot(page, 'stopped-on-mov-cr3');
    });

    await step('the hypervisor panel shows the page tables and the translation picture', async () => {
      // Step over MOV CR0 so paging is on, then look.
      const paging = kernelLine('print msg_paging');
      await page.locator('.debug-breakpoints .monaco-list-row', { hasText: 'Privileged: control registers' }).first().locator('input[type=checkbox]').uncheck();
      await page.locator('.editor-group-container .tab', { hasText: 'kernel.asm' }).first().click();
      await goToLine(page, paging);
      await runCommand(page, 'Run to Cursor');
      await waitForStopAt(page, paging);
      await runCommand(page, 'Ringside: Show Hypervisor Panel');
      const f = await panelFrame(page);
      await f.locator('#tab-memory').click();
      await f.locator('.vlist-row', { hasText: '0x40000000' }).first().waitFor({ timeout: 15000 });
      await screenshot(page, 'panel-page-tables');
      // EPT: its GPA -> HPA ranges under vtx+ept, else the reason this mode has none.
      await f.locator('.segmented button[data-kind=ept]').click();
      const ept = await Promise.race([
        f.locator('.vlist-row').first().waitFor({ timeout: 10000 }).then(() => 'rows'),
        f.locator('.mem-title .empty', { hasText: 'EPT' }).first().waitFor({ timeout: 10000 }).then(() => 'absent'),
      ]);
      console.log(`    EPT tab: ${ept === 'rows' ? 'mappings shown' : (await f.locator('.mem-title').innerText()).trim()}`);
      await screenshot(page, 'panel-ept');
      await f.locator('.segmented button[data-kind=guest]').click();
      await f.locator('#tab-translate').click();
      await f.locator('input.gva').fill('0x40000000');
      await f.locator('input.gva').press('Enter');
      await f.locator('svg.walk .walk-result').first().waitFor({ timeout: 15000 });
      const boxes = await f.locator('svg.walk .walk-box').count();
      if (boxes < 4) throw new Error(`the walk shows ${boxes} boxes`);
      await screenshot(page, 'panel-translate');
      await f.locator('#tab-overview').click();
      await screenshot(page, 'panel-overview');
    });

    await step('the memory list stays responsive with 1,000,000 mappings', async () => {
      const f = await panelFrame(page);
      const ms = await f.evaluate(() => (window as unknown as { ringsideSyntheticMappings(n: number): number }).ringsideSyntheticMappings(1_000_000));
      const rows = await f.locator('.vlist-row:not([hidden])').count();
      // Scroll to the far end and filter: each must answer quickly.
      const scrollMs = await f.evaluate(async () => {
        const el = document.querySelector('.vlist') as HTMLElement;
        const t = performance.now();
        el.scrollTop = el.scrollHeight;
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        return performance.now() - t;
      });
      const filterMs = await f.evaluate(async () => {
        const input = document.querySelector('input.filter') as HTMLInputElement;
        const t = performance.now();
        input.value = '0xABCDE000';
        input.dispatchEvent(new Event('input'));
        await new Promise((r) => setTimeout(r, 200));
        void t;
        return Number((document.querySelector('.count') as HTMLElement).dataset.ms ?? 'NaN');
      });
      const shown = await f.locator('.vlist-row:not([hidden])').count();
      if (shown !== 2) throw new Error(`the filter 0xABCDE000 shows ${shown} rows, not the 2 whose GVA or GPA range holds it`);
      console.log(`    1,000,000 mappings: first render ${ms.toFixed(0)} ms (${rows} row elements), scroll to end ${scrollMs.toFixed(0)} ms, filter ${filterMs.toFixed(0)} ms`);
      if (rows > 200) throw new Error(`${rows} row elements: the list is not virtual`);
      if (ms > 3000 || scrollMs > 500 || filterMs > 500) throw new Error('the list is too slow');
      await screenshot(page, 'panel-million-mappings');
    });

    await step('the panel follows the theme: light and high contrast', async () => {
      const f = await panelFrame(page);
      await f.locator('#tab-translate').click();
      const background = () => f.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const dark = await background();
      for (const [theme, name] of [['Light Modern', 'theme-light'], ['Dark High Contrast', 'theme-high-contrast']] as const) {
        await runCommand(page, 'Preferences: Color Theme');
        const input = page.locator('.quick-input-widget input[type=text]');
        await input.fill(theme);
        await page.locator('.quick-input-list .monaco-list-row', { hasText: theme }).first().waitFor();
        await page.keyboard.press('Enter');
        await page.waitForTimeout(800);
        const bg = await background();
        const cls = await f.evaluate(() => document.body.className);
        console.log(`    ${theme}: panel background ${bg}, body class ${cls}`);
        if (theme === 'Light Modern' && (bg === dark || !/vscode-light/.test(cls))) throw new Error(`the panel did not follow the light theme (${bg}, ${cls})`);
        if (theme !== 'Light Modern' && !/vscode-high-contrast/.test(cls)) throw new Error(`the panel did not follow the high-contrast theme (${cls})`);
        await screenshot(page, name);
      }
      await runCommand(page, 'Preferences: Color Theme');
      await page.locator('.quick-input-widget input[type=text]').fill('Dark Modern');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Dark Modern' }).first().waitFor();
      await page.keyboard.press('Enter');
    });

    await step('the rings view shows the rings, after the kernel drops to ring 3', async () => {
      const user = kernelLine('    mov eax, SYS_WRITE');
      await page.locator('.editor-group-container .tab', { hasText: 'kernel.asm' }).first().click();
      await goToLine(page, user);
      await runCommand(page, 'Run to Cursor');
      await waitForStopAt(page, user);
      // Make room: fold the other debug views.
      for (const name of ['Variables', 'Watch', 'Call Stack', 'Breakpoints', 'Loaded Scripts']) {
        const header = page.locator('.pane-header[aria-expanded=true]', { hasText: new RegExp(`^${name}`, 'i') }).first();
        if (await header.count()) await header.click();
      }
      await runCommand(page, 'Ringside: Show Rings View');
      const view = page.locator('.pane:has(.pane-header:has-text("Rings"))').first();
      await view.locator('.monaco-list-row', { hasText: /Ring 3.*current/ }).first().waitFor({ timeout: 10000 });
      await view.locator('.monaco-list-row', { hasText: /0 → 3/ }).first().waitFor({ timeout: 10000 });
      const text = (await view.innerText()).replace(/\s+/g, ' ');
      console.log(`    rings view: ${text.slice(0, 300)}`);
      await screenshot(page, 'rings-view');
    });

    await runModeSteps(page, wb);
  } catch {
    failed = 1;
    await screenshot(page, 'failure').catch(() => undefined);
  } finally {
    await browser.close();
    await wb.stop();
  }
  if (consoleErrors.length) console.log(`browser console errors:\n  ${consoleErrors.slice(0, 10).join('\n  ')}`);
  const passed = steps.filter((s) => s.ok).length;
  console.log(`workbench scenario: ${passed} passed, ${steps.length - passed + (failed && steps.every((s) => s.ok) ? 1 : 0)} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return failed;
}

if (require.main === module) {
  runScenario().then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); });
}
