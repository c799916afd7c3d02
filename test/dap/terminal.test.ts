// "serial": "terminal": COM1 in an integrated terminal started through runInTerminal (the test plays
// the client: it runs the command it is given, types into it and reads it), the fallback to the Debug
// Console when the client cannot open a terminal, and cancelling the wait for one.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startClient, onReverseRequest, guestSource, multiboot } from './client';

// Interrupt-driven echo: COM1's receive interrupt (IRQ4, vector 0x24) echoes each byte in upper case;
// '.' ends the guest. Between interrupts it waits in HLT.
const ECHO_GUEST = multiboot(`    lidt [idtr]
    mov eax, com1_irq
    mov [idt + 0x24 * 8], ax
    mov word [idt + 0x24 * 8 + 2], 0x08
    mov word [idt + 0x24 * 8 + 4], 0x8e00
    shr eax, 16
    mov [idt + 0x24 * 8 + 6], ax
    mov al, 0x11                        ; PIC: vectors 0x20-0x27, only IRQ4 unmasked
    out 0x20, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x01
    out 0x21, al
    mov al, 0xef
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    mov dx, 0x3f9                       ; IER: interrupt on received data
    mov al, 1
    out dx, al
    mov esi, banner
.print:
    lodsb
    test al, al
    jz .ready
    call putc
    jmp .print
.ready:
    sti
idle:
    hlt
    jmp idle
com1_irq:
    mov dx, 0x3fd
    in al, dx
    test al, 1
    jz .done
    mov dx, 0x3f8
    in al, dx
    cmp al, '.'
    je exit
    cmp al, 'a'
    jb .echo
    cmp al, 'z'
    ja .echo
    sub al, 0x20
.echo:
    call putc
    jmp com1_irq
.done:
    mov al, 0x20
    out 0x20, al
    iret
putc:
    push edx
    push eax
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, 0x3f8
    out dx, al
    pop edx
    ret
`, `idtr: dw 256 * 8 - 1
    dd idt
banner: db 'echo ready', 13, 10, 0
idt: times 256 * 8 db 0
`);

/** Resolves when `text` shows up in what `read()` returns, polling; rejects after `ms`. */
async function until(read: () => string, text: string | RegExp, ms = 10000): Promise<void> {
  const t0 = Date.now();
  while (!(typeof text === 'string' ? read().includes(text) : text.test(read()))) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${text}; have ${JSON.stringify(read())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function outputs(dc: DebugClient): DebugProtocol.OutputEvent[] {
  const list: DebugProtocol.OutputEvent[] = [];
  dc.on('output', (e) => list.push(e as DebugProtocol.OutputEvent));
  return list;
}

describe('COM1 in an integrated terminal', () => {
  test('runInTerminal starts the COM1 terminal: the guest\'s output goes there and keys typed there reach the guest', async () => {
    const src = guestSource('echo.asm', ECHO_GUEST);
    const dc = await startClient({ supportsRunInTerminalRequest: true });
    const out = outputs(dc);
    let request: DebugProtocol.RunInTerminalRequestArguments | undefined;
    let requests = 0;
    let child: ChildProcess | undefined;
    let screen = '';
    onReverseRequest(dc, async (command, args: DebugProtocol.RunInTerminalRequestArguments) => {
      assert.equal(command, 'runInTerminal');
      request = args;
      requests++;
      child = spawn(args.args[0], args.args.slice(1), { cwd: args.cwd, env: { ...process.env, ...(args.env ?? {}) } as NodeJS.ProcessEnv, stdio: 'pipe' });
      child.stdout!.on('data', (d: Buffer) => { screen += d.toString('latin1'); });
      return { success: true, body: { processId: child.pid } };
    });
    const stops: string[] = [];
    dc.on('stopped', (e) => stops.push(e.body.description ?? e.body.reason));
    try {
      await dc.launchRequest({ program: src, virtualization: 'none', stopOnEntry: false, serial: 'terminal' } as DebugProtocol.LaunchRequestArguments);
      assert.equal(request?.kind, 'integrated');
      assert.match(request!.title!, /COM1/);
      assert.equal(path.basename(request!.args[1]), 'serial-terminal.js');
      await dc.configurationDoneRequest();
      await until(() => screen, 'echo ready\r\n');
      // The guest now waits in HLT for input: that is not a stop while a terminal can type.
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(stops, []);
      child!.stdin!.write('hello, ring 0\r');
      await until(() => screen, 'HELLO, RING 0\r');
      // A restart boots the guest again in the same terminal.
      await dc.restartRequest({});
      await until(() => screen, /HELLO, RING 0\recho ready\r\n$/);
      child!.stdin!.write('x');
      await until(() => screen, /echo ready\r\nX$/);
      assert.equal(requests, 1, 'no second terminal');
      const exited = dc.waitForEvent('exited');
      child!.stdin!.write('.');
      assert.equal((await exited).body.exitCode, 1);
      const console = out.filter((o) => o.body.category === 'stdout').map((o) => o.body.output).join('');
      assert.equal(console, '', 'COM1 did not go to the Debug Console');
    } finally {
      await dc.stop();
    }
    // The session is over: the terminal program says so and ends; the socket's folder is gone.
    if (child!.exitCode === null) await new Promise((r) => child!.once('exit', r));
    assert.equal(child!.exitCode, 0);
    assert.match(screen, /the debug session ended/);
    assert.equal(fs.existsSync(path.dirname(request!.args[2])), false);
  });

  test('a client without runInTerminal gets COM1 in the Debug Console, with a message saying so', async () => {
    const src = guestSource('echo.asm', ECHO_GUEST);
    const dc = await startClient();
    const out = outputs(dc);
    try {
      await dc.launchRequest({ program: src, virtualization: 'none', stopOnEntry: false, serial: 'terminal' } as DebugProtocol.LaunchRequestArguments);
      await dc.configurationDoneRequest();
      const note = out.find((o) => o.body.category === 'important');
      assert.match(note!.body.output, /"serial": "terminal" needs a client that can open a terminal .*COM1 goes to the Debug Console instead \(type >text there/);
      const stdout = () => out.filter((o) => o.body.category === 'stdout').map((o) => o.body.output).join('');
      await until(stdout, 'echo ready\r\n');
      // The guest waits in HLT (its timer masked): pause it and type from the console.
      const stopped = dc.waitForEvent('stopped');
      await dc.pauseRequest({ threadId: 1 });
      await stopped;
      await dc.evaluateRequest({ expression: '>abc.', context: 'repl' });
      const exited = dc.waitForEvent('exited');
      await dc.continueRequest({ threadId: 1 });
      assert.equal((await exited).body.exitCode, 1);
      assert.match(out.filter((o) => o.body.category === 'stdout').map((o) => o.body.output).join(''), /^echo ready\r\nABC$/);
    } finally {
      await dc.stop();
    }
  });

  test('a terminal the client refuses, or one cancelled while it starts, falls back to the Debug Console', async () => {
    const src = guestSource('echo.asm', ECHO_GUEST);
    // Refused.
    let dc = await startClient({ supportsRunInTerminalRequest: true });
    let out = outputs(dc);
    onReverseRequest(dc, async () => ({ success: false, message: 'no terminals here' }));
    try {
      await dc.launchRequest({ program: src, virtualization: 'none', serial: 'terminal' } as DebugProtocol.LaunchRequestArguments);
      assert.match(out.find((o) => o.body.category === 'important')!.body.output, /the COM1 terminal could not be started \(no terminals here\); COM1 goes to the Debug Console/);
    } finally {
      await dc.stop();
    }
    // Started (so the client says), never connects; the user cancels the progress.
    dc = await startClient({ supportsRunInTerminalRequest: true });
    out = outputs(dc);
    onReverseRequest(dc, async () => ({ success: true, body: {} }));
    try {
      const progress = new Promise<DebugProtocol.ProgressStartEvent>((resolve) => dc.on('progressStart', (e) => { if (/COM1/.test(e.body.title + e.body.message)) resolve(e as DebugProtocol.ProgressStartEvent); }));
      const launched = dc.launchRequest({ program: src, virtualization: 'none', serial: 'terminal' } as DebugProtocol.LaunchRequestArguments);
      const p = await progress;
      assert.equal(p.body.cancellable, true);
      const ended = dc.waitForEvent('progressEnd');
      await dc.customRequest('cancel', { progressId: p.body.progressId });
      await launched;
      assert.equal((await ended).body.progressId, p.body.progressId);
      assert.match(out.find((o) => o.body.category === 'important')!.body.output, /opening the COM1 terminal was cancelled; COM1 goes to the Debug Console/);
      const stopped = dc.waitForEvent('stopped');
      await dc.configurationDoneRequest();
      assert.equal((await stopped).body.reason, 'entry', 'the session goes on');
    } finally {
      await dc.stop();
    }
  });
});
