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

describe('stack trace on a broken stack', () => {
  test('garbage ESP/EBP and an EBP chain that loops give a short trace, never an error', async () => {
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: KERNEL });
      const frames = async () => (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
      // The stack pointer at the very top of the address space, where nothing is mapped.
      await dc.evaluateRequest({ expression: 'esp = 0xfffffffc', context: 'repl' });
      await dc.evaluateRequest({ expression: 'ebp = 0xfffffff8', context: 'repl' });
      let f = await frames();
      assert.equal(f[0].name, 'start');
      assert.ok(f.length <= 64);
      // An EBP chain that points at itself, holding a real return address (just after `call setup_gdt`,
      // i.e. the line `call setup_idt`): one caller, then the walk stops.
      const after = (await dc.gotoTargetsRequest({ source: { path: KERNEL }, line: lineOf(KERNEL, '    call setup_idt') })).body.targets[0];
      const link = 0x90000;
      await dc.evaluateRequest({ expression: `dword [${link}] = ${link}`, context: 'repl' });
      await dc.evaluateRequest({ expression: `dword [${link + 4}] = ${after.instructionPointerReference}`, context: 'repl' });
      await dc.evaluateRequest({ expression: `ebp = ${link}`, context: 'repl' });
      await dc.evaluateRequest({ expression: `esp = ${link - 16}`, context: 'repl' });
      f = await frames();
      assert.deepEqual(f.map((x) => x.line), [lineOf(KERNEL, '    cli'), lineOf(KERNEL, '    call setup_idt')], f.map((x) => x.name).join(' | '));
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

// IRQ0 is made pending with IF clear; STI's shadow lets one more instruction run, so from the line
// after it the interrupt comes in at the start of the next step.
const IRQ_GUEST = multiboot(`    lidt [idtr]
    mov eax, timer
    mov ebx, 0x20
    call set_gate
    mov eax, ud_handler
    mov ebx, 6
    call set_gate
    mov al, 0x11                        ; PIC: vectors 0x20-0x27, only IRQ0 unmasked
    out 0x20, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x01
    out 0x21, al
    mov al, 0xfe
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    mov al, 0x34                        ; PIT channel 0, rate generator, count 100
    out 0x43, al
    mov al, 100
    out 0x40, al
    xor al, al
    out 0x40, al
    mov ecx, 10000
wait_irq:
    loop wait_irq                       ; IRQ0 is pending by now
    sti                                 ; BP_STI
    nop                                 ; SHADOW
    inc esi                             ; INTERRUPTED
    inc edi                             ; AFTER
    cli
    ud2                                 ; UD_HERE
    jmp exit
set_gate:                               ; EAX handler, EBX vector
    mov [idt + ebx * 8], ax
    mov word [idt + ebx * 8 + 2], 0x08
    mov word [idt + ebx * 8 + 4], 0x8e00
    shr eax, 16
    mov [idt + ebx * 8 + 6], ax
    ret
timer:
    inc dword [ticks]                   ; TIMER_FIRST
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iret
ud_handler:
    add dword [esp], 2                  ; UD_FIRST
    iret
`, `idtr: dw 256 * 8 - 1
    dd idt
ticks: dd 0
idt: times 256 * 8 db 0
`);

describe('an interrupt delivered during a step', () => {
  /** Boots the guest and steps from STI to the line where IRQ0 comes in next. */
  async function toInterruptedLine(dc: DebugClient, src: string, restart = false): Promise<void> {
    if (restart) {
      const stopped = dc.waitForEvent('stopped');
      await dc.restartRequest({});
      await stopped;
    } else {
      await launchStopped(dc, { program: src }, () => dc.setBreakpointsRequest({ source: { path: src }, breakpoints: [{ line: lineOf(src, 'BP_STI') }] }));
    }
    await continueTo(dc);
    await step(dc, 'stepIn');
    assert.equal((await topFrame(dc)).line, lineOf(src, 'SHADOW'));
    await step(dc, 'stepIn');
    assert.equal((await topFrame(dc)).line, lineOf(src, 'INTERRUPTED'));
    assert.equal(await evalNum(dc, 'dword [ticks]'), 0, 'the shadow held the interrupt back');
  }

  test('step in stops at the handler\'s first instruction with the interrupt frame; step over runs through it', async () => {
    const src = guestSource('irq.asm', IRQ_GUEST);
    const dc = await startClient();
    try {
      await toInterruptedLine(dc, src);
      const s = await step(dc, 'stepIn');
      assert.match(s.body.description!, /^step to irq\.asm:\d+: entered the handler of interrupt 0x20$/);
      assert.equal(await evalNum(dc, 'eip'), await evalNum(dc, 'timer'), 'nothing of the handler ran yet');
      assert.equal(await evalNum(dc, 'dword [ticks]'), 0);
      const st = await dc.stackTraceRequest({ threadId: 1 });
      assert.equal(st.body.stackFrames[0].line, lineOf(src, 'TIMER_FIRST'));
      const irq = st.body.stackFrames.find((f) => f.name.startsWith('[interrupt 0x20]'));
      assert.ok(irq, st.body.stackFrames.map((f) => f.name).join(' | '));
      assert.equal(irq!.line, lineOf(src, 'INTERRUPTED'));
      await step(dc, 'stepOut');
      assert.equal((await topFrame(dc)).line, lineOf(src, 'INTERRUPTED'));
      assert.equal(await evalNum(dc, 'dword [ticks]'), 1);

      // Step over from the same place: the handler runs within the step.
      await toInterruptedLine(dc, src, true);
      const esi = await evalNum(dc, 'esi');
      const n = await step(dc, 'next');
      assert.match(n.body.description!, /^step to /);
      assert.equal((await topFrame(dc)).line, lineOf(src, 'AFTER'));
      assert.equal(await evalNum(dc, 'dword [ticks]'), 1, 'the handler ran');
      assert.equal(await evalNum(dc, 'esi'), esi + 1, 'the interrupted instruction ran once');

      // Instruction granularity enters the handler the same way.
      await toInterruptedLine(dc, src, true);
      await step(dc, 'stepIn', 'instruction');
      assert.equal(await evalNum(dc, 'eip'), await evalNum(dc, 'timer'));
    } finally {
      await dc.stop();
    }
  });

  test('a fault during a step stops at its handler\'s first instruction', async () => {
    const src = guestSource('irq.asm', IRQ_GUEST);
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: src }, () => dc.setBreakpointsRequest({ source: { path: src }, breakpoints: [{ line: lineOf(src, 'UD_HERE') }] }));
      await continueTo(dc);
      const s = await step(dc, 'next');
      assert.match(s.body.description!, /entered the handler of #UD invalid opcode$/);
      assert.equal(await evalNum(dc, 'eip'), await evalNum(dc, 'ud_handler'));
      const st = await dc.stackTraceRequest({ threadId: 1 });
      assert.equal(st.body.stackFrames[0].line, lineOf(src, 'UD_FIRST'));
      assert.ok(st.body.stackFrames.some((f) => f.name.startsWith('[#UD invalid opcode]') && f.line === lineOf(src, 'UD_HERE')), st.body.stackFrames.map((f) => f.name).join(' | '));
    } finally {
      await dc.stop();
    }
  });
});
