// The debugger over the hypervisor, through the real adapter process: the VM-exit event filter stops
// on exits in every vtx mode, a privileged-instruction stop names the exit the instruction causes, and
// the panel's custom requests answer with the hypervisor's structures.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startClient, launchStopped, SAMPLES, continueTo, topFrame, lineOf } from '../dap/client';

const KERNEL = path.join(SAMPLES, 'kernel.asm');

async function stopOn(dc: DebugClient, args: Record<string, unknown>, filterOptions: DebugProtocol.ExceptionFilterOptions[]): Promise<DebugProtocol.StoppedEvent> {
  await launchStopped(dc, { program: KERNEL, ...args }, () => dc.setExceptionBreakpointsRequest({ filters: [], filterOptions }));
  return continueTo(dc);
}

async function withClient(f: (dc: DebugClient) => Promise<void>): Promise<void> {
  const dc = await startClient();
  try { await f(dc); } finally { await dc.stop(); }
}

describe('VM-exit breakpoints', () => {
  const cases: { memory: 'ept' | 'shadow'; condition: string; description: RegExp; line?: string }[] = [
    { memory: 'ept', condition: 'reason == EPT_VIOLATION', description: /^VM exit 48 EPT_VIOLATION: guest-physical 0x100000; fetch access, EPT permissions ---, translation of the linear address$/ },
    { memory: 'ept', condition: 'reason == CR_ACCESS', description: /^VM exit 28 CR_ACCESS: mov cr4, eax/ },
    { memory: 'shadow', condition: 'reason == INVLPG', description: /^VM exit 14 INVLPG: invlpg \[/ },
    { memory: 'shadow', condition: 'reason == 0 && qualification == 0x50000010', description: /^VM exit 0 EXCEPTION_NMI: #PF at 0x50000010 reflected to the guest/ },
    { memory: 'shadow', condition: 'reason == CPUID', description: /^VM exit 10 CPUID: cpuid/ },
  ];
  for (const c of cases) {
    test(`vtx+${c.memory}: ${c.condition}`, () => withClient(async (dc) => {
      const s = await stopOn(dc, { virtualization: 'vtx', memoryVirtualization: c.memory }, [{ filterId: 'vmexit', condition: c.condition }]);
      assert.equal(s.body.reason, 'exception');
      assert.match(s.body.description!, c.description);
      const info = await dc.exceptionInfoRequest({ threadId: 1 });
      assert.equal(info.body.details?.fullTypeName, 'vmexit');
      // The panel's data at the stop: the exit is the last one recorded.
      const exits = (await dc.customRequest('ringside/exits', { recent: 5 })).body;
      assert.equal(exits.available, true);
      const last = exits.recent[exits.recent.length - 1];
      assert.equal(`${last.reason}`, /^VM exit (\d+)/.exec(s.body.description!)![1]);
      assert.ok(exits.counts.length >= 1 && exits.total >= exits.recent.length);
    }));
  }

  test('a privileged-instruction stop names the exit it is about to cause', () => withClient(async (dc) => {
    const s = await stopOn(dc, { virtualization: 'vtx', memoryVirtualization: 'shadow' }, [{ filterId: 'cr', condition: 'cr == 3 && write' }]);
    assert.equal(s.body.description, 'privileged instruction: mov cr3, eax (VM exit 28 CR_ACCESS)');
    assert.equal((await topFrame(dc)).line, lineOf(KERNEL, '    mov cr3, eax'));
  }));

  test('with EPT the same MOV CR3 causes no exit, and the stop says nothing of one', () => withClient(async (dc) => {
    const s = await stopOn(dc, { virtualization: 'vtx', memoryVirtualization: 'ept' }, [{ filterId: 'cr', condition: 'cr == 3 && write' }]);
    assert.equal(s.body.description, 'privileged instruction: mov cr3, eax');
  }));
});

describe('the panel\'s hypervisor requests', () => {
  test('vtx+ept: VMCS, EPT; no shadow tables', () => withClient(async (dc) => {
    await stopOn(dc, { virtualization: 'vtx', memoryVirtualization: 'ept' }, [{ filterId: 'vmexit', condition: 'reason == HLT' }]);
    const vmcs = (await dc.customRequest('ringside/vmcs')).body;
    assert.equal(vmcs.available, true);
    const fields = new Map<string, { value: number; decoded?: string }>(vmcs.sections.flatMap((s: { fields: { name: string }[] }) => s.fields.map((f) => [f.name, f])));
    assert.match(fields.get('Primary processor-based VM-execution controls')!.decoded!, /\bhlt\b.*\bioBitmaps\b/);
    assert.equal(fields.get('Exit reason')!.value, 12);
    assert.match(fields.get('Secondary processor-based VM-execution controls')!.decoded!, /\bept\b/);
    const ept = (await dc.customRequest('ringside/ept', {})).body;
    assert.equal(ept.available, true);
    assert.ok(ept.mappings.some((m: { gpa: number; size: number }) => m.gpa <= 0x100000 && m.gpa + m.size > 0x100000), 'the kernel is mapped');
    const sh = (await dc.customRequest('ringside/shadow', {})).body;
    assert.deepEqual(sh, { available: false, reason: 'vtx+ept has no shadow page tables' });
  }));

  test('vtx+shadow: shadow mappings with their guest PTEs, and the consistency check', () => withClient(async (dc) => {
    await stopOn(dc, { virtualization: 'vtx', memoryVirtualization: 'shadow' }, [{ filterId: 'vmexit', condition: 'reason == HLT' }]);
    const sh = (await dc.customRequest('ringside/shadow', {})).body;
    assert.equal(sh.available, true);
    assert.ok(sh.mappings.length > 0 && sh.root > 0);
    assert.ok(sh.mappings.every((m: { outOfSync: boolean }) => !m.outOfSync));
    const c = (await dc.customRequest('ringside/consistency')).body;
    assert.deepEqual(c.issues, []);
    assert.ok(c.checked > 0);
  }));
});

describe('trap-and-emulate in the debugger', () => {
  test('a monitor trap stops the VM-exit filter; privileged stops name the trap; holes are a request away', () => withClient(async (dc) => {
    // #PF traps carry the faulting address as their qualification; #GP traps none.
    const s = await stopOn(dc, { virtualization: 'trap-and-emulate' }, [{ filterId: 'vmexit', condition: 'reason == 0 && qualification == 0' }]);
    assert.match(s.body.description!, /^VM exit 0 EXCEPTION_NMI: #GP: cli emulated/, "the kernel's first instruction traps");
    const cpu = (await dc.customRequest('ringside/cpu')).body;
    assert.equal(cpu.virtualization, 'trap-and-emulate');
    await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'cr', condition: 'cr == 3 && write' }] });
    const cr = await continueTo(dc);
    assert.equal(cr.body.description, 'privileged instruction: mov cr3, eax (trap to the monitor: #GP, emulated)');
    await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'hlt' }] });
    await continueTo(dc);
    await continueTo(dc); // past the first tick: its handler's IRET has run
    const holes = (await dc.customRequest('ringside/holes', { recent: 50 })).body;
    assert.equal(holes.available, true);
    assert.ok(holes.recent.some((h: { instruction: string; saw: string }) => h.instruction.startsWith('iret') && /IF stays 0/.test(h.saw)));
    const vmcs = (await dc.customRequest('ringside/vmcs')).body;
    assert.deepEqual(vmcs, { available: false, reason: 'trap-and-emulate has no VMCS' });
  }));
});

describe('binary translation in the debugger', () => {
  test('the translation cache request lists kernel blocks with their rewritten instructions', () => withClient(async (dc) => {
    await stopOn(dc, { virtualization: 'binary-translation' }, [{ filterId: 'hlt' }]);
    const tc = (await dc.customRequest('ringside/tcache', {})).body;
    assert.equal(tc.available, true);
    const ins = tc.blocks.flatMap((b: { instructions: { text: string; rewritten?: string }[] }) => b.instructions);
    assert.ok(ins.some((i: { text: string; rewritten?: string }) => i.text.startsWith('lgdt') && i.rewritten));
    const s = await continueTo(dc);
    assert.match(s.body.description!, /^HLT: hlt \(translated into a monitor call\)$/);
    const holes = (await dc.customRequest('ringside/holes', {})).body;
    assert.ok(holes.recent.every((h: { instruction: string }) => h.instruction.startsWith('(')), 'no instruction holes in kernel code');
  }));
});

describe('binary translation and breakpoints', () => {
  test('setting a breakpoint keeps the translation cache: the same blocks, none counted as dropped', () => withClient(async (dc) => {
    await stopOn(dc, { virtualization: 'binary-translation' }, [{ filterId: 'hlt' }]);
    type Tc = { blocks: { guest: number }[]; invalidations: number };
    const before = (await dc.customRequest('ringside/tcache', {})).body as Tc;
    assert.ok(before.blocks.length > 20, 'the kernel has been translated up to its first HLT');
    // A breakpoint makes the emulator rebuild its decoded records; the modelled cache must not notice.
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'lidt' }] });
    const after = (await dc.customRequest('ringside/tcache', {})).body as Tc;
    assert.deepEqual(after.blocks.map((b) => b.guest), before.blocks.map((b) => b.guest));
    assert.equal(after.invalidations, before.invalidations);
    await continueTo(dc);
    const later = (await dc.customRequest('ringside/tcache', {})).body as Tc;
    assert.equal(later.invalidations, before.invalidations, 'running on retranslates nothing already translated');
  }));
});

describe('paravirt in the debugger', () => {
  test('hypercalls stop the VM-exit filter and are listed by request', () => withClient(async (dc) => {
    const program = path.join(SAMPLES, 'pvkernel.asm');
    const s = await stopOn(dc, { program, virtualization: 'paravirt' }, [{ filterId: 'vmexit', condition: 'reason == VMCALL' }]);
    assert.match(s.body.description!, /^VM exit 18 VMCALL: hypercall console_write/);
    const hc = (await dc.customRequest('ringside/hypercalls')).body;
    assert.deepEqual(hc.calls.map((c: { name: string; count: number; lastResult: number }) => [c.name, c.count, c.lastResult]), [['console_write', 1, 60]]);
    await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [] });
    const done = dc.waitForEvent('exited');
    await dc.continueRequest({ threadId: 1 });
    await done;
  }));
});
