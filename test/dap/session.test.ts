// The adapter process end to end: launch validation and errors, capabilities, source, function,
// instruction and logpoint breakpoints (with %include and macros), threads, stack, scopes, output,
// terminate and restart.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startClient, capabilities, launchStopped, SAMPLES, topFrame, scopeVars, continueTo, lineOf, guestSource, multiboot, evalNum, ROOT } from './client';
import { EVENT_FILTERS } from '../../adapter/debugger/events';

const KERNEL = path.join(SAMPLES, 'kernel.asm');

async function launchError(args: Record<string, unknown>): Promise<{ message: string; outputs: DebugProtocol.OutputEvent[] }> {
  const dc = await startClient();
  const outputs: DebugProtocol.OutputEvent[] = [];
  dc.on('output', (e) => outputs.push(e as DebugProtocol.OutputEvent));
  try {
    await dc.launchRequest(args as DebugProtocol.LaunchRequestArguments);
    assert.fail('launch should have failed');
  } catch (e) {
    return { message: (e as Error).message, outputs };
  } finally {
    await dc.stop();
  }
}

describe('launch', () => {
  test('declares the capabilities and every event filter', async () => {
    const dc = await startClient();
    try {
      const c = capabilities.get(dc)!;
      for (const k of ['supportsConfigurationDoneRequest', 'supportsConditionalBreakpoints', 'supportsHitConditionalBreakpoints', 'supportsLogPoints',
        'supportsFunctionBreakpoints', 'supportsInstructionBreakpoints', 'supportsDataBreakpoints', 'supportsDataBreakpointBytes', 'supportsExceptionFilterOptions',
        'supportsSteppingGranularity', 'supportsDisassembleRequest', 'supportsReadMemoryRequest', 'supportsWriteMemoryRequest', 'supportsSetVariable',
        'supportsSetExpression', 'supportsEvaluateForHovers', 'supportsTerminateRequest', 'supportsRestartRequest', 'supportsValueFormattingOptions',
        'supportsLoadedSourcesRequest', 'supportsExceptionInfoRequest', 'supportsCancelRequest', 'supportsGotoTargetsRequest',
        'supportsBreakpointLocationsRequest', 'supportsCompletionsRequest'] as const) {
        assert.equal(c[k], true, k);
      }
      assert.deepEqual(c.exceptionBreakpointFilters!.map((f) => f.filter), EVENT_FILTERS.map((f) => f.id));
      assert.ok(c.exceptionBreakpointFilters!.every((f) => f.supportsCondition && f.conditionDescription));
    } finally {
      await dc.stop();
    }
  });

  test('package.json declares the same event filters and the launch attributes', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const dbg = pkg.contributes.debuggers[0];
    const props = dbg.configurationAttributes.launch.properties;
    for (const k of ['program', 'format', 'loadAddress', 'entry', 'cmdline', 'modules', 'virtualization', 'memoryVirtualization', 'ram', 'stopOnEntry', 'nasmPath', 'nasmArgs', 'symbols', 'serial', 'realtime', 'cwd']) {
      assert.ok(props[k]?.description, `launch attribute ${k} is declared with a description`);
    }
    assert.equal(props.virtualization.default, 'vtx');
    assert.deepEqual(props.virtualization.enum, ['none', 'vtx', 'trap-and-emulate', 'binary-translation', 'paravirt']);
    assert.equal(props.virtualization.enumDescriptions.length, 5);
  });

  test('assembling and loading report progress; a client without progress support gets none', async () => {
    const dc = await startClient();
    const events: DebugProtocol.Event[] = [];
    for (const k of ['progressStart', 'progressEnd']) dc.on(k, (e) => events.push(e));
    try {
      await launchStopped(dc, { program: KERNEL });
      const [start, end] = events;
      assert.equal(start.event, 'progressStart');
      assert.equal(start.body.message, 'Assembling kernel.asm with nasm and loading it');
      assert.equal(end.event, 'progressEnd');
      assert.equal(end.body.progressId, start.body.progressId);
    } finally {
      await dc.stop();
    }
    const quiet = await startClient({ supportsProgressReporting: false });
    let seen = 0;
    quiet.on('progressStart', () => seen++);
    try {
      await launchStopped(quiet, { program: KERNEL });
      assert.equal(seen, 0);
    } finally {
      await quiet.stop();
    }
  });

  test('a missing program is refused with a clear message', async () => {
    const r = await launchError({ virtualization: 'none' });
    assert.match(r.message, /'program' is required/);
  });

  test('a mode or a VMCS setting Ringside does not know is refused clearly', async () => {
    const r = await launchError({ program: KERNEL, virtualization: 'kvm' });
    assert.match(r.message, /'virtualization' must be one of "none", "vtx", "trap-and-emulate", "binary-translation", "paravirt"/);
    const v = await launchError({ program: KERNEL, virtualization: 'vtx', vmcs: { hlt: true } });
    assert.match(v.message, /'vmcs': unknown vmcs setting 'hlt'; known: /);
  });

  test('bad attributes name the attribute and what is accepted', async () => {
    assert.match((await launchError({ program: KERNEL, virtualization: 'none', ram: 0 })).message, /'ram' is guest RAM in MiB, a whole number from 1 to 3072/);
    assert.match((await launchError({ program: KERNEL, virtualization: 'none', format: 'exe' })).message, /'format' must be one of "auto", "boot"/);
    assert.match((await launchError({ program: KERNEL, virtualization: 'none', loadAddress: 'here' })).message, /'loadAddress' must be an address/);
    assert.match((await launchError({ program: KERNEL, virtualization: 'none', memoryVirtualization: 'ept' })).message, /applies only with "virtualization": "vtx"/);
    assert.match((await launchError({ program: '/nonexistent/x.asm', virtualization: 'none' })).message, /x\.asm/);
  });

  test('nasm errors come back as output events located in the source, and a missing nasm is named', async () => {
    const src = guestSource('bad.asm', 'bits 32\norg 0x100000\n    mov eax, ebx\n    mvo eax, 1\n');
    const r = await launchError({ program: src, virtualization: 'none' });
    assert.match(r.message, /bad\.asm:4/);
    const located = r.outputs.find((o) => o.body.source?.path === src);
    assert.ok(located, 'an output event carries the source');
    assert.equal(located!.body.line, 4);
    assert.equal(located!.body.category, 'stderr');
    const n = await launchError({ program: src, virtualization: 'none', nasmPath: '/nonexistent/nasm' });
    assert.match(n.message, /nasm not found: nasmPath is \/nonexistent\/nasm/);
  });
});

describe('a session on the kernel sample', () => {
  test('stops on entry with a source frame, threads are vCPUs, registers and every scope are there', async () => {
    const dc = await startClient();
    try {
      const s = await launchStopped(dc, { program: KERNEL });
      assert.equal(s.body.reason, 'entry');
      const th = await dc.threadsRequest();
      assert.deepEqual(th.body.threads.map((t) => t.name), ['vCPU 0']);
      const f = await topFrame(dc);
      assert.equal(f.source?.path, KERNEL);
      assert.equal(f.line, lineOf(KERNEL, '    cli') );
      assert.equal(f.name, 'start');
      const sc = await dc.scopesRequest({ frameId: f.id });
      assert.deepEqual(sc.body.scopes.map((x) => x.name), ['General', 'EFLAGS', 'Segments', 'Control and system', 'Privilege', 'Descriptor tables', 'MSRs', 'Page tables']);
      const g = await scopeVars(dc, 'General');
      assert.equal(g.get('eax')!.value, '0x2badb002');
      assert.equal(g.get('eip')!.value, '0x00100020 (start)');
      assert.equal(g.get('esp')!.memoryReference, '0x' + (parseInt(g.get('esp')!.value, 16)).toString(16));
      const fl = await scopeVars(dc, 'EFLAGS');
      assert.equal(fl.get('if')!.value, '0');
      assert.equal(fl.get('iopl')!.value, '0');
      const seg = await scopeVars(dc, 'Segments');
      assert.match(seg.get('cs')!.value, /^0x0008 \(code 32-bit, execute\/read.*, DPL 0\)$/);
      const parts = await dc.variablesRequest({ variablesReference: seg.get('cs')!.variablesReference });
      const byName = new Map(parts.body.variables.map((v) => [v.name, v.value]));
      assert.equal(byName.get('base'), '0x00000000');
      assert.equal(byName.get('limit'), '0xffffffff');
      const ctl = await scopeVars(dc, 'Control and system');
      assert.match(ctl.get('cr0')!.value, /PE/);
      const priv = await scopeVars(dc, 'Privilege');
      assert.equal(priv.get('CPL')!.value, '0 (ring 0)');
      assert.match(priv.get('mode')!.value, /protected mode, 32-bit code/);
      assert.match(priv.get('VMX')!.value, /no VMX operation/);
      const dec = await dc.variablesRequest({ variablesReference: sc.body.scopes[0].variablesReference, format: { hex: false } });
      assert.equal(dec.body.variables.find((v) => v.name === 'eax')!.value, String(0x2badb002));
    } finally {
      await dc.stop();
    }
  });

  test('source breakpoints: first instruction of a line, lines without code move down, macros, conditions, hit counts, logpoints', async () => {
    const dc = await startClient();
    const out: string[] = [];
    dc.on('output', (e) => out.push(e.body.output));
    try {
      const blank = lineOf(KERNEL, '; ----------------------------------------------------------------------------- GDT, TSS');
      const printLine = lineOf(KERNEL, '    print msg_gdt');
      let resp: DebugProtocol.SetBreakpointsResponse | undefined;
      await launchStopped(dc, { program: KERNEL }, async () => {
        resp = await dc.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: blank }, { line: printLine }, { line: 5 }] });
      });
      const [moved, macro, header] = resp!.body.breakpoints;
      assert.equal(moved.verified, true);
      assert.equal(moved.line, lineOf(KERNEL, '    mov eax, tss'), 'a comment line moves to the next line with code');
      assert.equal(macro.line, printLine);
      assert.equal(header.verified, true, 'the header comment moves to the first code line below');
      let s = await continueTo(dc);
      // The entry breakpoint on line 5 moved to the header dd's: never executed; setup_gdt's first line is hit.
      assert.equal(s.body.reason, 'breakpoint');
      assert.deepEqual(s.body.hitBreakpointIds, [moved.id]);
      assert.equal((await topFrame(dc)).line, moved.line);
      s = await continueTo(dc);
      assert.equal((await topFrame(dc)).line, printLine, 'a macro line stops on its first instruction');
      assert.equal((await topFrame(dc)).instructionPointerReference, macro.instructionReference);

      // Conditional and hit-count breakpoints on putc's OUT: the 3rd character written that is a 'd'.
      const putcOut = fs.readFileSync(KERNEL, 'utf8').split('\n').findIndex((l, k, a) => l === '    out dx, al' && a[k + 1] === '    pop edx') + 1;
      const r = await dc.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: putcOut, condition: "al == 'd'", hitCondition: '3' }] });
      assert.equal(r.body.breakpoints[0].verified, true);
      s = await continueTo(dc);
      assert.equal(s.body.reason, 'breakpoint');
      assert.equal(await evalNum(dc, 'al'), 'd'.charCodeAt(0));
      // Logpoint: no stop, a message with interpolated expressions.
      await dc.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: putcOut, logMessage: 'putc {al,d} at {eip}' }, { line: lineOf(KERNEL, '    call check_cpuid') }] });
      s = await continueTo(dc);
      assert.equal((await topFrame(dc)).line, lineOf(KERNEL, '    call check_cpuid'));
      assert.ok(out.some((o) => /^putc \d+ at 0x[0-9a-f]+\n$/.test(o)), 'the logpoint logged');
      // A broken condition is reported on the breakpoint.
      const bad = await dc.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: putcOut, condition: 'al ==' }] });
      assert.equal(bad.body.breakpoints[0].verified, false);
      assert.match(bad.body.breakpoints[0].message!, /incomplete/);
    } finally {
      await dc.stop();
    }
  });

  test('function breakpoints take labels and instruction patterns; instruction breakpoints take addresses', async () => {
    const dc = await startClient();
    try {
      let fb: DebugProtocol.SetFunctionBreakpointsResponse | undefined;
      await launchStopped(dc, { program: KERNEL }, async () => {
        fb = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'remap_pic' }, { name: 'lgdt' }, { name: 'add eax' }, { name: 'no_such_thing' }] });
      });
      assert.equal(fb!.body.breakpoints[0].verified, true);
      assert.equal(fb!.body.breakpoints[1].verified, true);
      assert.equal(fb!.body.breakpoints[2].verified, false);
      assert.match(fb!.body.breakpoints[2].message!, /event class/);
      assert.equal(fb!.body.breakpoints[3].verified, false);
      assert.match(fb!.body.breakpoints[3].message!, /neither a symbol of the guest nor an instruction/);
      let s = await continueTo(dc);
      assert.equal(s.body.reason, 'function breakpoint');
      assert.match(s.body.description!, /instruction lgdt: lgdt \[/);
      s = await continueTo(dc);
      assert.equal((await topFrame(dc)).name, 'remap_pic');
      // Instruction breakpoint at the address of print_dec.
      const addr = await evalNum(dc, 'print_dec');
      const ib = await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: '0x' + addr.toString(16) }] });
      assert.equal(ib.body.breakpoints[0].verified, true);
      await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
      s = await continueTo(dc);
      assert.equal(s.body.reason, 'instruction breakpoint');
      assert.equal((await topFrame(dc)).instructionPointerReference, '0x' + addr.toString(16));
    } finally {
      await dc.stop();
    }
  });

  test('COM1 output reaches the Debug Console as stdout; the exit port ends the session', async () => {
    const dc = await startClient();
    const out: DebugProtocol.OutputEvent[] = [];
    dc.on('output', (e) => out.push(e as DebugProtocol.OutputEvent));
    try {
      const exited = dc.waitForEvent('exited');
      const terminated = dc.waitForEvent('terminated');
      await dc.launchRequest({ program: KERNEL, virtualization: 'none', stopOnEntry: false } as DebugProtocol.LaunchRequestArguments);
      await dc.configurationDoneRequest();
      const ex = await exited;
      await terminated;
      assert.equal(ex.body.exitCode, 1);
      const stdout = out.filter((o) => o.body.category === 'stdout').map((o) => o.body.output).join('');
      assert.equal(stdout, fs.readFileSync(path.join(SAMPLES, 'expected', 'kernel.txt'), 'utf8'));
      assert.ok(out.some((o) => o.body.category === 'console' && /kernel\.asm loaded as multiboot/.test(o.body.output)), "the adapter's own messages are in their own category");
    } finally {
      await dc.stop();
    }
  });

  test('terminate ends the session; restart boots again and stops on entry', async () => {
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: KERNEL });
      await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'setup_idt' }] });
      await continueTo(dc);
      assert.equal((await topFrame(dc)).name, 'setup_idt');
      const stopped = dc.waitForEvent('stopped');
      await dc.restartRequest({});
      const s = await stopped;
      assert.equal(s.body.reason, 'entry');
      assert.equal((await topFrame(dc)).name, 'start');
      assert.equal(await evalNum(dc, 'eax'), 0x2badb002);
      const s2 = await continueTo(dc);
      assert.equal(s2.body.reason, 'function breakpoint', 'breakpoints survive a restart');
      const terminated = dc.waitForEvent('terminated');
      await dc.terminateRequest({});
      await terminated;
    } finally {
      await dc.stop();
    }
  });
});

describe('included files', () => {
  test('breakpoints on lines of an %include file, and loaded sources list it', async () => {
    const lib = 'double:                 ; EAX *= 2\n    add eax, eax\n    ret\n';
    const main = guestSource('main.asm', multiboot('    mov eax, 21\n    call double\n    mov [result], eax\n', '%include "lib.inc"\nresult: dd 0\n'), { 'lib.inc': lib });
    const inc = path.join(path.dirname(main), 'lib.inc');
    const dc = await startClient();
    try {
      let r: DebugProtocol.SetBreakpointsResponse | undefined;
      await launchStopped(dc, { program: main, cwd: path.dirname(main) }, async () => {
        r = await dc.setBreakpointsRequest({ source: { path: inc }, breakpoints: [{ line: 1 }] });
      });
      assert.equal(r!.body.breakpoints[0].verified, true);
      assert.equal(r!.body.breakpoints[0].line, 2, 'the label line moves to the instruction');
      const s = await continueTo(dc);
      assert.equal(s.body.reason, 'breakpoint');
      const f = await topFrame(dc);
      assert.equal(f.source?.path, inc);
      assert.equal(f.line, 2);
      assert.equal(await evalNum(dc, 'eax'), 21);
      const ls = await dc.customRequest('loadedSources', {});
      assert.ok(ls.body.sources.some((x: DebugProtocol.Source) => x.path === inc));
      const locs = await dc.customRequest('breakpointLocations', { source: { path: inc }, line: 1, endLine: 3 });
      assert.deepEqual(locs.body.breakpoints.map((b: { line: number }) => b.line), [2, 3]);
    } finally {
      await dc.stop();
    }
  });
});
