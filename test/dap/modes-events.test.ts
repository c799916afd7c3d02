// The debugger under every virtualization mode, through the real adapter process, on samples/kernel.asm:
// the privileged control-register filter stops on MOV CR3 with the exit (or trap) it causes named, the
// VM-exit filter stops (or says there are none under plain emulation), and the views show what the
// guest believes — the CR3 it loaded, its GDT, its ring — with the processor's own values (the
// shadow root, the shadow GDT, CPL 1) beside them only where the hypervisor keeps them apart.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startClient, launchStopped, SAMPLES, continueTo, topFrame, lineOf, scopeVars, evalNum } from './client';

const KERNEL = path.join(SAMPLES, 'kernel.asm');

interface Mode {
  name: string;
  launch: Record<string, unknown>;
  /** What the MOV CR3 stop adds after the instruction. */
  crSuffix: string;
  /** The processor's CR3 is a shadow root (and CR0 carries forced bits): "cr3 (real)" is shown. */
  shadow: boolean;
  /** The guest kernel runs deprivileged at ring 1 on shadow descriptor tables. */
  monitor: boolean;
  /** Why the run stops before the kernel's HLT, when it does. */
  noHlt?: string;
}

const MODES: Mode[] = [
  { name: 'none', launch: { virtualization: 'none' }, crSuffix: '', shadow: false, monitor: false },
  { name: 'vtx+ept', launch: { virtualization: 'vtx', memoryVirtualization: 'ept' }, crSuffix: '', shadow: false, monitor: false },
  { name: 'vtx+shadow', launch: { virtualization: 'vtx', memoryVirtualization: 'shadow' }, crSuffix: ' (VM exit 28 CR_ACCESS)', shadow: true, monitor: false },
  { name: 'trap-and-emulate', launch: { virtualization: 'trap-and-emulate' }, crSuffix: ' (trap to the monitor: #GP, emulated)', shadow: true, monitor: true },
  { name: 'binary-translation', launch: { virtualization: 'binary-translation' }, crSuffix: ' (translated into a monitor call)', shadow: true, monitor: true },
  {
    name: 'paravirt', launch: { virtualization: 'paravirt' }, crSuffix: ' (trap to the monitor: #GP, emulated)', shadow: true, monitor: true,
    noHlt: "kernel.asm is not a paravirtual kernel: its page tables map themselves writable, which paravirt refuses when it turns paging on",
  },
];

const num = (v: DebugProtocol.Variable | undefined) => Number(v?.value.split(' ')[0]);

async function stepInstruction(dc: DebugClient): Promise<void> {
  const stopped = dc.waitForEvent('stopped');
  await dc.stepInRequest({ threadId: 1, granularity: 'instruction' });
  await stopped;
}

/** CR3 as the Control scope, the expression language and ringside/cpu give it, with the real one where shown. */
async function checkCr3(dc: DebugClient, m: Mode, pageDirectory: number, where: string): Promise<void> {
  const ctl = await scopeVars(dc, 'Control and system');
  assert.equal(num(ctl.get('cr3')), pageDirectory, `${where}: the Control scope shows the CR3 the guest loaded`);
  assert.equal(await evalNum(dc, 'cr3'), pageDirectory, `${where}: $cr3 in expressions is the guest's`);
  const cpu = (await dc.customRequest('ringside/cpu')).body;
  assert.equal(cpu.cr3, pageDirectory, `${where}: ringside/cpu gives the guest's CR3`);
  const real = ctl.get('cr3 (real)');
  if (!m.shadow) {
    assert.equal(real, undefined, `${where}: no second CR3 where the processor's is the guest's`);
    assert.equal(cpu.real, undefined);
    return;
  }
  assert.ok(real, `${where}: the processor's CR3 is shown beside the guest's`);
  assert.equal(real.evaluateName, 'real.cr3');
  assert.equal(await evalNum(dc, 'real.cr3'), num(real));
  assert.equal(cpu.real.cr3, num(real));
}

describe('event breakpoints and views in every mode (kernel.asm)', () => {
  for (const m of MODES) {
    test(m.name, async (ctx) => {
      const dc = await startClient();
      try {
        await launchStopped(dc, { program: KERNEL, ...m.launch }, () => dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'cr', condition: 'cr == 3 && write' }] }));
        const pageDirectory = await evalNum(dc, 'page_directory');
        const gdt = await evalNum(dc, 'gdt');

        // The privileged control-register filter: the stop names the instruction and what it causes here.
        const cr = await continueTo(dc);
        assert.equal(cr.body.description, `privileged instruction: mov cr3, eax${m.crSuffix}`);
        assert.equal((await topFrame(dc)).line, lineOf(KERNEL, '    mov cr3, eax'));
        await stepInstruction(dc);
        await checkCr3(dc, m, pageDirectory, 'after MOV CR3');

        // The ring and the descriptor tables as the guest believes them.
        const cpu = (await dc.customRequest('ringside/cpu')).body;
        assert.equal(cpu.guestRing, 0, 'the guest kernel believes it runs at ring 0');
        assert.equal(cpu.cpl, m.monitor ? 1 : 0);
        const priv = await scopeVars(dc, 'Privilege');
        assert.equal(priv.get('CPL')!.value.split(' ')[0], String(cpu.cpl));
        assert.match(priv.get('guest believes')!.value, /^ring 0\b/);
        assert.equal(await evalNum(dc, 'guest.ring'), 0);
        const table = (await dc.customRequest('ringside/gdt', { table: 'gdt' })).body;
        assert.equal(table.base, gdt, "ringside/gdt reads the guest's GDT");
        assert.ok(table.entries.some((d: { summary?: string }) => /^TSS 32-bit/.test(d.summary ?? '')), 'the guest\'s TSS descriptor is there');
        assert.equal(await evalNum(dc, 'gdtr.base'), gdt);
        const tables = await scopeVars(dc, 'Descriptor tables');
        assert.match(tables.get('GDT')!.value, new RegExp(`^base 0x${gdt.toString(16)},`));
        if (m.monitor) {
          const shadow = (await dc.customRequest('ringside/gdt', { table: 'gdt', processor: true })).body;
          assert.notEqual(shadow.base, gdt, 'the processor runs on the monitor\'s shadow GDT');
          // The guest's kernel code descriptor (DPL 0) is DPL 1 in the shadow copy.
          const guestCode = table.entries.find((d: { summary?: string }) => /^code 32-bit.*DPL 0/.test(d.summary ?? ''));
          const shadowCode = shadow.entries.find((d: { index: number }) => d.index === guestCode.index);
          assert.match(shadowCode.summary, /DPL 1/);
          assert.ok(tables.get('shadow GDT (real)'), 'the shadow GDT is in the Descriptor tables scope too');
        } else {
          await assert.rejects(dc.customRequest('ringside/gdt', { table: 'gdt', processor: true }), /no shadow copy/);
        }

        // The VM-exit filter.
        const set = await dc.setExceptionBreakpointsRequest({ filters: ['vmexit'] });
        if (m.name === 'none') {
          assert.equal(set.body?.breakpoints?.[0].verified, false);
          assert.match(set.body!.breakpoints![0].message!, /no VM exits under plain emulation/);
        } else {
          assert.notEqual(set.body?.breakpoints?.[0].verified, false);
          const exit = await continueTo(dc);
          assert.match(exit.body.description!, /^VM exit \d+ [A-Z_]+/);
          const info = await dc.exceptionInfoRequest({ threadId: 1 });
          assert.equal(info.body.details?.fullTypeName, 'vmexit');
        }
        if (m.noHlt) { ctx.diagnostic(`${m.name}: no checks with paging on: ${m.noHlt}`); return; }

        // With paging on (the kernel's first HLT): the guest's tables, walked from the guest's CR3.
        await dc.setExceptionBreakpointsRequest({ filters: ['hlt'] });
        await continueTo(dc);
        await checkCr3(dc, m, pageDirectory, 'at HLT, paging on');
        const ctl = await scopeVars(dc, 'Control and system');
        if (m.shadow) {
          assert.notEqual(num(ctl.get('cr3 (real)')), pageDirectory, 'the processor walks a shadow root');
          assert.match(ctl.get('cr3 (real)')!.value, /shadow page tables/);
        }
        const start = await evalNum(dc, 'start');
        const t = (await dc.customRequest('ringside/translate', { address: 'start' })).body;
        assert.equal(t.cr3, pageDirectory);
        assert.equal(t.paging, '32-bit');
        assert.equal(t.physical, start, 'the kernel is identity-mapped by the guest\'s tables');
        assert.equal(t.steps[0].table, pageDirectory);
        if (m.shadow) {
          assert.equal(t.shadowRoot, num(ctl.get('cr3 (real)')));
          assert.ok(t.shadowSteps.length >= 1 && t.shadowSteps[0].table !== pageDirectory);
        } else assert.equal(t.shadowSteps, undefined);
        if (m.name === 'vtx+ept') {
          assert.equal(t.eptWalks.length, t.steps.length + 1, 'each guest table read and the final GPA go through EPT');
          assert.ok(t.eptWalks.every((w: { hpa?: number; fault?: string }) => w.hpa !== undefined || w.fault));
        } else assert.equal(t.eptWalks, undefined);
        const pt = await scopeVars(dc, 'Page tables');
        assert.match(pt.get('page directory')!.value, new RegExp(`^at 0x${pageDirectory.toString(16)},`));
        assert.equal(pt.has('shadow page tables (real)'), m.shadow);
        const maps = (await dc.customRequest('ringside/pagetables', { from: start, to: start + 1 })).body;
        assert.equal(maps.cr3, pageDirectory);
        assert.ok(maps.mappings.some((r: { linear: number; physical: number; size: number }) => r.linear <= start && start < r.linear + r.size && r.physical === r.linear));

        // Writing CR3 from the Variables view is the guest's MOV: under shadow paging the hypervisor
        // switches roots, and the processor's CR3 stays a shadow root. The processor's is read-only.
        const scopes = (await dc.scopesRequest({ frameId: (await topFrame(dc)).id })).body.scopes;
        const ref = scopes.find((s) => s.name === 'Control and system')!.variablesReference;
        await dc.variablesRequest({ variablesReference: ref });
        const w = await dc.setVariableRequest({ variablesReference: ref, name: 'cr3', value: `0x${pageDirectory.toString(16)}` });
        assert.equal(Number(w.body.value.split(' ')[0]), pageDirectory);
        await checkCr3(dc, m, pageDirectory, 'after setVariable cr3');
        if (m.shadow) {
          assert.notEqual(await evalNum(dc, 'real.cr3'), pageDirectory);
          await assert.rejects(dc.evaluateRequest({ expression: 'real.cr3 = 0x1000', context: 'repl' }), /real\.cr3 is the hypervisor's/);
        }
        // The guest runs on to its end as before.
        await dc.setExceptionBreakpointsRequest({ filters: [] });
        const exited = dc.waitForEvent('exited');
        await dc.continueRequest({ threadId: 1 });
        await exited;
      } finally {
        await dc.stop();
      }
    });
  }
});
