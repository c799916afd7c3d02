// Function breakpoints `vmexit NAME` / `vmexit NUMBER` (what the panel's "Break on this exit" sets),
// through the real adapter process: the verdict the Breakpoints view shows, the stop with the exit's
// reason, conditions and hit counts, and the refusals (unknown reason, no hypervisor).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startClient, launchStopped, SAMPLES, continueTo, topFrame, lineOf } from './client';

const KERNEL = path.join(SAMPLES, 'kernel.asm');

async function withClient(f: (dc: DebugClient) => Promise<void>): Promise<void> {
  const dc = await startClient();
  try { await f(dc); } finally { await dc.stop(); }
}

/** Launches kernel.asm stopped on entry with these function breakpoints; returns their verdicts. */
async function launchWith(dc: DebugClient, args: Record<string, unknown>, bps: DebugProtocol.FunctionBreakpoint[]): Promise<DebugProtocol.Breakpoint[]> {
  let verdicts: DebugProtocol.Breakpoint[] = [];
  await launchStopped(dc, { program: KERNEL, ...args }, async () => {
    verdicts = (await dc.setFunctionBreakpointsRequest({ breakpoints: bps })).body.breakpoints;
  });
  return verdicts;
}

async function exitCount(dc: DebugClient, reason: number): Promise<number> {
  const exits = (await dc.customRequest('ringside/exits', { recent: 1 })).body as { counts: { reason: number; count: number }[] };
  return exits.counts.find((c) => c.reason === reason)?.count ?? 0;
}

describe('vmexit function breakpoints', () => {
  test('vtx+shadow: "vmexit cr_access" stops on MOV CR3 with the exit named, as the VM-exit filter would', () => withClient(async (dc) => {
    // Qualification bits 3:0 are the control register: only MOV CR3 (CR0/CR4 writes exit too under shadow).
    const [bp] = await launchWith(dc, { virtualization: 'vtx', memoryVirtualization: 'shadow' }, [{ name: 'vmexit cr_access', condition: '(qualification & 0xf) == 3' }]);
    assert.equal(bp.verified, true);
    assert.equal(bp.message, 'stops on every VM exit CR_ACCESS (28)');
    const s = await continueTo(dc);
    assert.equal(s.body.reason, 'exception');
    assert.match(s.body.description!, /^VM exit 28 CR_ACCESS: mov cr3, eax/);
    assert.deepEqual(s.body.hitBreakpointIds, [bp.id]);
    // The stop comes after the hypervisor handled the exit: the guest is past MOV CR3.
    assert.equal((await topFrame(dc)).line, lineOf(KERNEL, '    mov cr3, eax') + 1);
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    assert.equal(info.body.exceptionId, 'vmexit CR_ACCESS', 'the widget is titled with the breakpoint');
    assert.equal(info.body.details?.fullTypeName, 'vmexit');
  }));

  test('vtx+ept: "VMEXIT 12" with a hit count stops on the second HLT exit', () => withClient(async (dc) => {
    const [bp] = await launchWith(dc, { virtualization: 'vtx', memoryVirtualization: 'ept' }, [{ name: 'VMEXIT 12', hitCondition: '2' }]);
    assert.equal(bp.verified, true);
    assert.equal(bp.message, 'stops on every VM exit HLT (12)');
    const s = await continueTo(dc);
    assert.match(s.body.description!, /^VM exit 12 HLT: hlt/);
    assert.deepEqual(s.body.hitBreakpointIds, [bp.id]);
    assert.equal(await exitCount(dc, 12), 2, 'the panel counts two HLT exits at this stop');
    // Removing the breakpoint lets the kernel run to its end.
    await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
    const exited = dc.waitForEvent('exited');
    await dc.continueRequest({ threadId: 1 });
    assert.equal((await exited).body.exitCode, 1);
  }));

  test('a name and a number of the same reason, beside a label breakpoint; misspellings are refused with the spelling', () => withClient(async (dc) => {
    const bps = await launchWith(dc, { virtualization: 'vtx' }, [
      { name: 'vmexit hlt' }, { name: 'vmexit CR_ACESS' }, { name: 'vmexit' }, { name: 'vmexit 5' }, { name: 'setup_idt' },
    ]);
    assert.equal(bps[0].verified, true);
    for (const k of [1, 2, 3]) {
      assert.equal(bps[k].verified, false, `breakpoint ${k}`);
      assert.match(bps[k].message!, /"vmexit CR_ACCESS".*"vmexit 28"/);
    }
    assert.match(bps[1].message!, /^'CR_ACESS' is not a VM exit reason/);
    assert.match(bps[3].message!, /^'5' is not a VM exit reason/);
    assert.equal(bps[4].verified, true);
    // The label comes first, then the HLT exit.
    assert.equal((await continueTo(dc)).body.reason, 'function breakpoint');
    const s = await continueTo(dc);
    assert.match(s.body.description!, /^VM exit 12 HLT/);
    assert.deepEqual(s.body.hitBreakpointIds, [bps[0].id]);
  }));

  test('plain emulation has no VM exits: the breakpoint stays unverified and says so', () => withClient(async (dc) => {
    const [bp] = await launchWith(dc, { virtualization: 'none' }, [{ name: 'vmexit HLT' }]);
    assert.equal(bp.verified, false);
    assert.match(bp.message!, /^no VM exits under plain emulation/);
    const exited = dc.waitForEvent('exited');
    await dc.continueRequest({ threadId: 1 });
    assert.equal((await exited).body.exitCode, 1);
  }));

  test('trap-and-emulate: the monitor\'s exits break too (its shadow tables fill on #PF exits)', () => withClient(async (dc) => {
    const [bp] = await launchWith(dc, { virtualization: 'trap-and-emulate' }, [{ name: 'vmexit exception_nmi' }]);
    assert.equal(bp.message, 'stops on every VM exit EXCEPTION_NMI (0)');
    const s = await continueTo(dc);
    assert.match(s.body.description!, /^VM exit 0 EXCEPTION_NMI: #PF at 0x[0-9a-f]+: shadow entry built/);
    assert.deepEqual(s.body.hitBreakpointIds, [bp.id]);
  }));
});
