// Hostile guests through the real adapter process (dist/adapter.js), one per virtualization mode:
// launch, continue, and the run ends in a stop or a termination that says why; then every request
// the client can make, at garbage addresses and with garbage arguments, is answered (an error is a
// fine answer), and the adapter is still alive at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startClient, launchStopped } from '../dap/client';
import { generate, describe } from './hostile';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-hostile-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

/** A guest per mode, among them one that triple-faults, one that runs away, one the monitor stops, real-mode ones. */
const CASES: { mode: string; launch: Record<string, unknown>; seed: number }[] = [
  { mode: 'none', launch: { virtualization: 'none' }, seed: 26 },
  { mode: 'vtx+ept', launch: { virtualization: 'vtx', memoryVirtualization: 'ept' }, seed: 7 },
  { mode: 'vtx+shadow', launch: { virtualization: 'vtx', memoryVirtualization: 'shadow' }, seed: 3 },
  { mode: 'trap-and-emulate', launch: { virtualization: 'trap-and-emulate' }, seed: 27 },
  { mode: 'binary-translation', launch: { virtualization: 'binary-translation' }, seed: 12 },
  { mode: 'paravirt', launch: { virtualization: 'paravirt' }, seed: 9 },
];

type Answer = { ok: true; body: unknown } | { ok: false; message: string };

/** A request that must be answered, success or error (the client's timeout fails the test). */
async function answer(dc: DebugClient, command: string, args: unknown): Promise<Answer> {
  try {
    const r = await dc.send(command, args);
    return { ok: true, body: r.body };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (process.env.RINGSIDE_DEBUG_ANSWERS) process.stderr.write(`${command} ${JSON.stringify(args)}: ${message}\n`);
    assert.doesNotMatch(message, /timeout|timed out/i, `${command}: no answer`);
    assert.doesNotMatch(message, /internal error/i, `${command}: ${message}`);
    return { ok: false, message };
  }
}

/** Waits for the guest to stop or the session to end, pausing a guest that runs on. */
async function settle(dc: DebugClient): Promise<{ stopped?: DebugProtocol.StoppedEvent; terminated: boolean }> {
  const stopped = dc.waitForEvent('stopped', 1500).then((e) => ({ stopped: e as DebugProtocol.StoppedEvent, terminated: false }), () => undefined);
  const terminated = dc.waitForEvent('terminated', 1500).then(() => ({ terminated: true }), () => undefined);
  const first = await Promise.race([stopped, terminated]);
  if (first) return first;
  // Still running (a runaway guest): a pause must stop it.
  const paused = dc.waitForEvent('stopped', 5000) as Promise<DebugProtocol.StoppedEvent>;
  await dc.pauseRequest({ threadId: 1 });
  return { stopped: await paused, terminated: false };
}

async function garbage(dc: DebugClient): Promise<void> {
  await answer(dc, 'threads', {});
  for (const threadId of [1, 42]) await answer(dc, 'stackTrace', { threadId, startFrame: 0, levels: 20 });
  const st = await answer(dc, 'stackTrace', { threadId: 1 });
  const frames = st.ok ? (st.body as DebugProtocol.StackTraceResponse['body']).stackFrames : [];
  const refs = [1, 2, 3, 99999];
  for (const frameId of [frames[0]?.id ?? 0, 0, 123456]) {
    const sc = await answer(dc, 'scopes', { frameId });
    if (sc.ok) for (const s of (sc.body as DebugProtocol.ScopesResponse['body']).scopes) refs.push(s.variablesReference);
  }
  for (const variablesReference of refs) {
    const v = await answer(dc, 'variables', { variablesReference });
    // One level down into whatever has children (descriptor tables, page walks...).
    if (v.ok) for (const x of (v.body as DebugProtocol.VariablesResponse['body']).variables.slice(0, 8)) {
      if (x.variablesReference) await answer(dc, 'variables', { variablesReference: x.variablesReference });
    }
  }
  for (const memoryReference of ['0xfffffff0', '0x0', 'phys:0xffffff00', '0x7ffffffff', 'not-an-address', frames[0]?.instructionPointerReference ?? '0']) {
    await answer(dc, 'disassemble', { memoryReference, instructionOffset: -25, instructionCount: 50, resolveSymbols: true });
    await answer(dc, 'disassemble', { memoryReference, offset: 0x7ffffff0, instructionCount: 3 });
    await answer(dc, 'readMemory', { memoryReference, offset: -16, count: 64 });
    await answer(dc, 'readMemory', { memoryReference, count: 1 << 20 });
  }
  for (const expression of ['dword [0xffffffff]', 'byte [phys:0xfffffffe]', ')(', 'cr3 + esp * 0', '[[[esp]]]']) {
    await answer(dc, 'evaluate', { expression, context: 'watch', frameId: frames[0]?.id });
  }
  await answer(dc, 'exceptionInfo', { threadId: 1 });
  await answer(dc, 'ringside/cpu', {});
  await answer(dc, 'ringside/translate', { address: 'garbage' });
  await answer(dc, 'ringside/translate', { address: '0xffffffff' });
  await answer(dc, 'ringside/pagetables', { from: -1, to: 2 ** 40 });
  await answer(dc, 'ringside/gdt', { table: 'ldt' });
  await answer(dc, 'ringside/gdt', { table: 'idt', processor: true });
  await answer(dc, 'ringside/exits', { recent: -5 });
  await answer(dc, 'ringside/ept', { gpa: 'x', level: 99 });
  await answer(dc, 'ringside/shadow', { root: -1 });
  for (const c of ['ringside/vmcs', 'ringside/consistency', 'ringside/holes', 'ringside/tcache', 'ringside/hypercalls']) await answer(dc, c, {});
}

for (const c of CASES) {
  test(`adapter: a hostile guest under ${c.mode} ends clearly and every request is answered`, async () => {
    const g = generate(c.seed);
    const file = path.join(dir, `hostile-${c.seed}.${g.format === 'flat' ? 'bin' : 'img'}`);
    fs.writeFileSync(file, g.image);
    const format = g.format === 'flat' ? { format: 'flat', loadAddress: g.loadAddress } : { format: 'floppy' };
    const dc = await startClient();
    const said: string[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => said.push(e.body.output));
    try {
      await launchStopped(dc, { program: file, ...format, ...c.launch });
      const first = settle(dc);
      await dc.continueRequest({ threadId: 1 });
      const end = await first;
      const name = `${describe(g)} under ${c.mode}`;
      if (process.env.RINGSIDE_DEBUG_ANSWERS) process.stderr.write(`END ${name}: ${end.terminated ? said.filter((x) => /ended/.test(x)).join("") : end.stopped!.body.description}\n`);
      if (end.terminated) {
        assert.match(said.join(''), /Ringside: the guest ended: .+ \(status \d+\)/, `${name}: the termination says why`);
      } else {
        const d = end.stopped!.body.description ?? '';
        assert.match(d, /\S/, `${name}: the stop says why`);
        assert.doesNotMatch(d, /internal error/, `${name}: ${d}`);
      }
      await garbage(dc);
      if (!end.terminated) {
        // And it goes on: a step, then a continue with the same requests while the guest runs, and
        // the run still stops or ends.
        let next = settle(dc);
        await answer(dc, 'next', { threadId: 1 });
        if (!(await next).terminated) {
          next = settle(dc);
          await answer(dc, 'continue', { threadId: 1 });
          await garbage(dc);
          await next;
        }
        await garbage(dc);
      }
      assert.ok((await answer(dc, 'threads', {})).ok, `${name}: the adapter still answers`);
      assert.doesNotMatch(said.join(''), /internal error/, `${name}: no internal error reported`);
    } finally {
      await dc.stop();
    }
  });
}

test('adapter: a REP OUTSB of 2^32 bytes does not hold the adapter: pause stops it at once', async () => {
  // mov ecx, -1; mov dx, 0x80; rep outsb; jmp $ — loaded at 1 MiB. A REP chunk retires as one
  // instruction, so its elements count against each run slice (cpu.repWork).
  const file = path.join(dir, 'rep-outsb.bin');
  fs.writeFileSync(file, Uint8Array.from([0xb9, 0xff, 0xff, 0xff, 0xff, 0x66, 0xba, 0x80, 0x00, 0xf3, 0x6e, 0xeb, 0xfe]));
  const dc = await startClient();
  try {
    await launchStopped(dc, { program: file, format: 'flat', loadAddress: 0x100000 });
    await dc.continueRequest({ threadId: 1 });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const paused = dc.waitForEvent('stopped', 3000) as Promise<DebugProtocol.StoppedEvent>;
    await dc.pauseRequest({ threadId: 1 });
    assert.equal((await paused).body.reason, 'pause');
    assert.ok(Date.now() - t0 < 3000, 'the pause was answered within 3 s');
    const st = await dc.stackTraceRequest({ threadId: 1 });
    assert.match(st.body.stackFrames[0].name, /\S/);
  } finally {
    await dc.stop();
  }
});
