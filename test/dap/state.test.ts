// Memory, data breakpoints, disassembly, expressions, setVariable/setExpression, completions and the
// ringside/* custom requests, on the kernel sample.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { startClient, launchStopped, SAMPLES, topFrame, continueTo, evalNum, lineOf, scopeVars } from './client';

const KERNEL = path.join(SAMPLES, 'kernel.asm');

async function atPagingOn(dc: DebugClient): Promise<void> {
  await launchStopped(dc, { program: KERNEL });
  await dc.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: lineOf(KERNEL, '    call remap_demo') }] });
  await continueTo(dc);
  await dc.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [] });
}

describe('memory and data', () => {
  test('read and write memory, linear and physical; unmapped bytes are unreadable, not errors', async () => {
    const dc = await startClient();
    try {
      await atPagingOn(dc);
      const frameB = await evalNum(dc, 'frame_b');
      // 0x40000000 maps frame_a before remap_demo runs.
      let r = await dc.customRequest('readMemory', { memoryReference: '0x40000000', count: 8 });
      assert.equal(Buffer.from(r.body.data, 'base64').toString('latin1'), 'frame A\0');
      r = await dc.customRequest('readMemory', { memoryReference: `phys:0x${frameB.toString(16)}`, count: 7 });
      assert.equal(Buffer.from(r.body.data, 'base64').toString('latin1'), 'frame B');
      // The demand page is not mapped yet.
      r = await dc.customRequest('readMemory', { memoryReference: '0x50000000', count: 16 });
      assert.equal(r.body.unreadableBytes, 16);
      assert.ok(!r.body.data);
      r = await dc.customRequest('readMemory', { memoryReference: '0x7ffff8', offset: 0, count: 16 });
      assert.equal(Buffer.from(r.body.data, 'base64').length, 8, 'bytes up to the end of the mapping');
      assert.equal(r.body.unreadableBytes, 8);
      const w = await dc.customRequest('writeMemory', { memoryReference: '0x40000000', data: Buffer.from('FRAME').toString('base64') });
      assert.equal(w.body.bytesWritten, 5);
      r = await dc.customRequest('readMemory', { memoryReference: '0x40000000', count: 7 });
      assert.equal(Buffer.from(r.body.data, 'base64').toString('latin1'), 'FRAME A');
      await assert.rejects(dc.customRequest('writeMemory', { memoryReference: '0x50000000', data: 'AA==' }), /not backed/);
      // The guest prints what the debugger wrote.
      const out: string[] = [];
      dc.on('output', (e) => { if (e.body.category === 'stdout') out.push(e.body.output); });
      await dc.setBreakpointsRequest({ source: { path: KERNEL }, breakpoints: [{ line: lineOf(KERNEL, '    call timer_demo') }] });
      await continueTo(dc);
      assert.match(out.join(''), /"FRAME A" read at 0x40000000/);
    } finally {
      await dc.stop();
    }
  });

  test('a data breakpoint catches a write and names the instruction, address and values', async () => {
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: KERNEL });
      const info = await dc.dataBreakpointInfoRequest({ name: 'dword [ticks]' });
      assert.ok(info.body.dataId);
      assert.deepEqual(info.body.accessTypes, ['read', 'write', 'readWrite']);
      const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'write' }] });
      assert.equal(set.body.breakpoints[0].verified, true);
      const s = await continueTo(dc);
      assert.equal(s.body.reason, 'data breakpoint');
      assert.deepEqual(s.body.hitBreakpointIds, [set.body.breakpoints[0].id]);
      assert.match(s.body.description!, /^data breakpoint: write of 4 bytes at 0x[0-9a-f]+ \(ticks\) by inc dword \[dword 0x[0-9a-f]+\] at 0x[0-9a-f]+, old 0x0 -> new 0x1$/);
      assert.equal((await topFrame(dc)).line, lineOf(KERNEL, '    inc dword [ticks]') + 1, 'stopped after the writing instruction');
      // From the Variables view: a register that holds an address.
      const g = await scopeVars(dc, 'General');
      const sc = await dc.scopesRequest({ frameId: (await topFrame(dc)).id });
      const byReg = await dc.dataBreakpointInfoRequest({ variablesReference: sc.body.scopes[0].variablesReference, name: 'esp' });
      assert.equal(byReg.body.dataId, `lin:${g.get('esp')!.memoryReference}:4`);
      const phys = await dc.dataBreakpointInfoRequest({ name: '0x1000', asAddress: true, bytes: 4096 });
      assert.equal(phys.body.dataId, 'lin:0x1000:4096');
    } finally {
      await dc.stop();
    }
  });

  test('disassembly around an address, with instructions before it, symbols and source lines', async () => {
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: KERNEL });
      const puts = await evalNum(dc, 'puts');
      const d = await dc.disassembleRequest({ memoryReference: '0x' + puts.toString(16), instructionOffset: -3, instructionCount: 6 });
      const ins = d.body!.instructions;
      assert.equal(ins.length, 6);
      assert.equal(ins[3].address, '0x' + puts.toString(16));
      assert.equal(ins[3].symbol, 'puts');
      assert.equal(ins[3].instruction, 'push eax');
      assert.equal(ins[2].instruction, 'ret', 'the instruction before puts is putc\'s ret');
      assert.equal(ins[3].line, lineOf(KERNEL, '; puts: send') + 2);
      assert.equal(ins[4].instruction, 'push esi');
      assert.ok(ins.some((i) => i.location?.path === KERNEL));
    } finally {
      await dc.stop();
    }
  });
});

describe('expressions and registers', () => {
  test('the expression language: NASM numbers, registers, flags, symbols, memory, operators', async () => {
    const dc = await startClient();
    try {
      await atPagingOn(dc);
      const ev = async (e: string) => (await dc.evaluateRequest({ expression: e, context: 'watch' })).body.result;
      assert.equal(await ev('0x10 + 10h + $10 + 10q + 0b10 + 10b + 0d10'), '0x00000046');
      assert.equal(await ev('1_000 * 2'), '0x000007d0');
      assert.equal(await ev('cr0 >> 31'), '0x00000001');
      assert.equal(await ev('pf | zf << 1'), await ev('(eflags >> 2 & 1) | (eflags >> 6 & 1) << 1'));
      assert.equal(await ev('cs.dpl'), '0x00000000');
      assert.equal(await ev("byte [msg_banner] == 'R'"), '0x00000001');
      assert.equal(await ev('word [0x40000000]'), '0x7266');
      assert.equal(await ev('[cr3] & 1'), '0x00000001');
      assert.equal(await ev('-1'), '0xffffffff');
      assert.equal(await ev('3 > 2 && 2 >= 2 || 0'), '0x00000001');
      assert.match((await dc.evaluateRequest({ expression: 'puts', context: 'hover' })).body.result, /^0x[0-9a-f]{8} \(address; dword there: 0x/);
      assert.equal((await dc.evaluateRequest({ expression: 'eax', context: 'hover', format: { hex: false } })).body.result, String(await evalNum(dc, 'eax')));
      // A hover in the editor carries its line: `.emit` is the local label of the routine on that line.
      const hover = async (expression: string, marker: string) => (await dc.evaluateRequest({ expression, context: 'hover', source: { path: KERNEL }, line: lineOf(KERNEL, marker), column: 10 })).body;
      const inHex = await hover('.emit', '    jbe .emit');
      assert.equal(parseInt(inHex.result, 16), await evalNum(dc, 'print_hex_digits.emit'));
      assert.equal(inHex.memoryReference, '0x' + (await evalNum(dc, 'print_hex_digits.emit')).toString(16));
      assert.equal(parseInt((await hover('.emit', '    loop .emit')).result, 16), await evalNum(dc, 'print_dec.emit'));
      assert.equal((await hover('COM1', '    mov dx, COM1')).result, '0x000003f8 (constant)', 'an equ is a number, not an address');
      await assert.rejects(dc.evaluateRequest({ expression: 'nosuch + 1', context: 'watch' }), /'nosuch' is not a register, symbol or variable/);
      await assert.rejects(dc.evaluateRequest({ expression: '[0x50000000]', context: 'watch' }), /not readable/);
      // Assignment in the console; setExpression from the Watch view.
      await dc.evaluateRequest({ expression: 'ebx = 0x1234', context: 'repl' });
      assert.equal(await evalNum(dc, 'ebx'), 0x1234);
      await dc.customRequest('setExpression', { expression: 'dword [0x40000000]', value: '0x41424344' });
      assert.equal(await ev('byte [0x40000000]'), '0x44');
      const c = await dc.completionsRequest({ text: 'print_h', column: 8 });
      assert.deepEqual(c.body.targets.map((t) => t.label).sort(), ['print_hex32', 'print_hex8', 'print_hex_digits', 'print_hex_digits.digit', 'print_hex_digits.emit']);
      const c2 = await dc.completionsRequest({ text: 'cr', column: 3 });
      assert.ok(['cr0', 'cr2', 'cr3', 'cr4'].every((r) => c2.body.targets.some((t) => t.label === r)));
    } finally {
      await dc.stop();
    }
  });

  test('setVariable validates: CR0 with PG but not PE is refused; registers and flags change', async () => {
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: KERNEL });
      const sc = await dc.scopesRequest({ frameId: (await topFrame(dc)).id });
      const ref = (n: string) => sc.body.scopes.find((s) => s.name === n)!.variablesReference;
      await dc.variablesRequest({ variablesReference: ref('General') });
      const r = await dc.setVariableRequest({ variablesReference: ref('General'), name: 'ecx', value: '0x42' });
      assert.equal(r.body.value, '0x00000042');
      await dc.variablesRequest({ variablesReference: ref('Control and system') });
      await assert.rejects(dc.setVariableRequest({ variablesReference: ref('Control and system'), name: 'cr0', value: '0x80000000' }), /refused: CR0.PG set with CR0.PE clear/);
      await assert.rejects(dc.setVariableRequest({ variablesReference: ref('Control and system'), name: 'cr4', value: '0x40000' }), /refused/);
      await dc.variablesRequest({ variablesReference: ref('EFLAGS') });
      await dc.setVariableRequest({ variablesReference: ref('EFLAGS'), name: 'cf', value: '1' });
      assert.equal(await evalNum(dc, 'cf'), 1);
      await assert.rejects(dc.setVariableRequest({ variablesReference: ref('EFLAGS'), name: 'zf', value: '2' }), /one bit/);
    } finally {
      await dc.stop();
    }
  });
});

describe('inspectors and custom requests', () => {
  test('descriptor tables, page tables and MSRs in Variables; ringside/translate, pagetables, gdt, cpu', async () => {
    const dc = await startClient();
    try {
      await atPagingOn(dc);
      const dt = await scopeVars(dc, 'Descriptor tables');
      const gdt = await dc.variablesRequest({ variablesReference: dt.get('GDT')!.variablesReference });
      assert.equal(gdt.body.variables.length, 6);
      assert.match(gdt.body.variables[3].value, /^code 32-bit, execute\/read.*DPL 3/);
      assert.match(gdt.body.variables[5].value, /^TSS 32-bit \(busy\)/);
      const idt = await dc.variablesRequest({ variablesReference: dt.get('IDT')!.variablesReference });
      assert.match(idt.body.variables[0x80].value, /^interrupt gate 32-bit -> 0x0008:0x[0-9a-f]+, DPL 3 \(syscall_handler\)$/);
      const pt = await scopeVars(dc, 'Page tables');
      const pd = await dc.variablesRequest({ variablesReference: pt.get('page directory')!.variablesReference });
      assert.deepEqual(pd.body.variables.map((v) => v.name.split(' ').slice(0, 2).join(' ')), ['PDE [0]', 'PDE [1]', 'PDE [256]', 'PDE [320]']);
      assert.match(pd.body.variables[1].value, /^frame 0x400000 P RW S .*PS G/);
      const ptes = await dc.variablesRequest({ variablesReference: pd.body.variables[0].variablesReference });
      assert.equal(ptes.body.variables.length, 1024);
      const msrs = await scopeVars(dc, 'MSRs');
      assert.equal(msrs.get('IA32_SYSENTER_CS (0x174)')!.value, '0x0000000000000008');

      const t = await dc.customRequest('ringside/translate', { address: '0x40000123' });
      assert.equal(t.body.paging, '32-bit');
      assert.deepEqual(t.body.steps.map((s: { level: string }) => s.level), ['PDE', 'PTE']);
      assert.equal(t.body.physical, (await evalNum(dc, 'frame_a')) + 0x123);
      assert.equal(t.body.steps[0].entryAddress, (await evalNum(dc, 'cr3')) + 256 * 4);
      const miss = await dc.customRequest('ringside/translate', { address: 0x50000010 });
      assert.match(miss.body.fault, /PTE 0 is not present/);
      const big = await dc.customRequest('ringside/translate', { address: 0x400010 });
      assert.equal(big.body.pageSize, 0x400000);
      const maps = await dc.customRequest('ringside/pagetables', {});
      // The 4 MiB page continues the identity-mapped global kernel pages below it: one merged range.
      assert.ok(maps.body.mappings.some((m: { linear: number; size: number; physical: number }) => m.linear <= 0x400000 && m.linear + m.size === 0x800000 && m.physical === m.linear));
      assert.ok(maps.body.mappings.some((m: { linear: number; user: boolean }) => m.linear === 0x40000000 && !m.user));
      const g = await dc.customRequest('ringside/gdt', {});
      assert.equal(g.body.entries.length, 6);
      assert.equal(g.body.entries[1].dpl, 0);
      const gates = await dc.customRequest('ringside/gdt', { table: 'idt' });
      assert.equal(gates.body.entries[0x80].target.symbol, 'syscall_handler');
      const cpu = await dc.customRequest('ringside/cpu', {});
      assert.equal(cpu.body.paging, '32-bit');
      assert.equal(cpu.body.virtualization, 'none');
      assert.equal(cpu.body.vmx, 'none');
    } finally {
      await dc.stop();
    }
  });
});
