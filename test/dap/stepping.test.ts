// Stepping and run control: step over a CALL and an INT, step in by line and by instruction, step
// out of an interrupt handler (whose frame the stack trace marks), pause in a tight loop, goto.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startClient, launchStopped, SAMPLES, topFrame, continueTo, guestSource, multiboot, evalNum, lineOf } from './client';

const KERNEL = path.join(SAMPLES, 'kernel.asm');

async function step(dc: DebugClient, kind: 'next' | 'stepIn' | 'stepOut', granularity?: DebugProtocol.SteppingGranularity): Promise<DebugProtocol.StoppedEvent> {
  const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
  if (kind === 'next') await dc.nextRequest({ threadId: 1, granularity });
  else if (kind === 'stepIn') await dc.stepInRequest({ threadId: 1, granularity });
  else await dc.stepOutRequest({ threadId: 1 });
  return stopped;
}

async function runToLine(dc: DebugClient, file: string, line: number): Promise<void> {
  await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line }] });
  await continueTo(dc);
  assert.equal((await topFrame(dc)).line, line);
  await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [] });
}

describe('stepping on the kernel sample', () => {
  test('step over a CALL and a macro that calls; step in enters the callee', async () => {
    const dc = await startClient();
    const out: string[] = [];
    dc.on('output', (e) => { if (e.body.category === 'stdout') out.push(e.body.output); });
    try {
      await launchStopped(dc, { program: KERNEL });
      await runToLine(dc, KERNEL, lineOf(KERNEL, '    call serial_init'));
      let s = await step(dc, 'next');
      assert.equal(s.body.reason, 'step');
      assert.equal((await topFrame(dc)).line, lineOf(KERNEL, '    print msg_banner'));
      s = await step(dc, 'next');
      assert.equal((await topFrame(dc)).line, lineOf(KERNEL, '    cmp dword [boot_magic], MULTIBOOT_BOOTED'));
      assert.equal(out.join(''), 'Ringside demo kernel\n', 'the called code ran during the step');
      // Step in goes into the callee.
      await runToLine(dc, KERNEL, lineOf(KERNEL, '    call setup_gdt'));
      s = await step(dc, 'stepIn');
      const f = await topFrame(dc);
      assert.equal(f.name, 'setup_gdt');
      assert.equal(f.line, lineOf(KERNEL, '    mov eax, tss'));
      // Instruction granularity: one instruction.
      const eip = await evalNum(dc, 'eip');
      await step(dc, 'stepIn', 'instruction');
      assert.equal(await evalNum(dc, 'eip'), eip + 5, 'mov eax, imm32 is 5 bytes');
      // Step out returns to the caller, after the CALL.
      await step(dc, 'stepOut');
      assert.equal((await topFrame(dc)).line, lineOf(KERNEL, '    call setup_idt'));
    } finally {
      await dc.stop();
    }
  });

  test('step over an INT 0x80 from ring 3 lands on the next user instruction', async () => {
    const dc = await startClient();
    const out: string[] = [];
    dc.on('output', (e) => { if (e.body.category === 'stdout') out.push(e.body.output); });
    try {
      await launchStopped(dc, { program: KERNEL });
      const intLine = lineOf(KERNEL, '    int 0x80');
      await runToLine(dc, KERNEL, intLine);
      assert.equal(await evalNum(dc, 'cpl'), 3);
      out.length = 0;
      await step(dc, 'next');
      assert.equal((await topFrame(dc)).line, intLine + 2, 'the blank line after INT is skipped to the next code line');
      assert.equal(await evalNum(dc, 'cpl'), 3);
      assert.match(out.join(''), /syscall write: hello from ring 3/);
    } finally {
      await dc.stop();
    }
  });

  test('inside the timer handler the stack shows the interrupt frame; step out returns to the interrupted code', async () => {
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: KERNEL });
      await runToLine(dc, KERNEL, lineOf(KERNEL, '    inc dword [ticks]'));
      const st = await dc.stackTraceRequest({ threadId: 1 });
      const frames = st.body.stackFrames;
      const irq = frames.find((f) => f.name.startsWith('[interrupt 0x20]'));
      assert.ok(irq, frames.map((f) => f.name).join(' | '));
      // The interrupted instruction is the one after HLT (the CPU woke there).
      assert.equal(irq!.line, lineOf(KERNEL, '    sti                                 ; STI') + 2);
      assert.ok(frames.some((f) => f.name.startsWith('run_user_task') === false && f.name.startsWith('start')), 'the call chain reaches start');
      await step(dc, 'stepOut');
      const f = await topFrame(dc);
      assert.equal(f.line, irq!.line);
      assert.equal(f.name, 'timer_demo.wait+0x2');
    } finally {
      await dc.stop();
    }
  });

  test('goto moves EIP to a line', async () => {
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: KERNEL });
      const line = lineOf(KERNEL, '    call setup_idt');
      const t = await dc.gotoTargetsRequest({ source: { path: KERNEL }, line });
      assert.equal(t.body.targets.length, 1);
      const stopped = dc.waitForEvent('stopped');
      await dc.gotoRequest({ threadId: 1, targetId: t.body.targets[0].id });
      assert.equal((await stopped).body.reason, 'goto');
      assert.equal((await topFrame(dc)).line, line);
    } finally {
      await dc.stop();
    }
  });
});

describe('pause', () => {
  test('pause answers within 100 ms in a tight loop', async () => {
    const src = guestSource('spin.asm', multiboot('spin:\n    inc eax\n    jmp spin\n'));
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: src });
      await dc.continueRequest({ threadId: 1 });
      await new Promise((r) => setTimeout(r, 300));
      const times: number[] = [];
      for (let k = 0; k < 5; k++) {
        const t0 = performance.now();
        const stopped = dc.waitForEvent('stopped');
        await dc.pauseRequest({ threadId: 1 });
        const s = await stopped;
        times.push(performance.now() - t0);
        assert.equal(s.body.reason, 'pause');
        assert.equal((await topFrame(dc)).source?.path, src);
        await dc.continueRequest({ threadId: 1 });
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(Math.max(...times) < 100, `pause took ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
      assert.ok((await (async () => { const st = dc.waitForEvent('stopped'); await dc.pauseRequest({ threadId: 1 }); await st; return evalNum(dc, 'eax'); })()) > 1000, 'the loop ran');
    } finally {
      await dc.stop();
    }
  });
});
