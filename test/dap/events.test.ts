// Event breakpoints (exception filters with conditions) and instruction patterns: each stops on the
// right instruction with a reason naming what happened.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startClient, launchStopped, SAMPLES, topFrame, continueTo, guestSource, multiboot, evalNum, lineOf, scopeVars } from './client';

const KERNEL = path.join(SAMPLES, 'kernel.asm');

/** Current instruction text, from the disassembly at EIP. */
async function currentInsn(dc: DebugClient): Promise<string> {
  const f = await topFrame(dc);
  const d = await dc.disassembleRequest({ memoryReference: f.instructionPointerReference!, instructionCount: 1 });
  return d.body!.instructions[0].instruction;
}

/** Boots `program` with event filters set, continues once, returns the stop. */
async function stopWith(dc: DebugClient, program: string, filterOptions: DebugProtocol.ExceptionFilterOptions[]): Promise<DebugProtocol.StoppedEvent> {
  let resp: DebugProtocol.SetExceptionBreakpointsResponse | undefined;
  await launchStopped(dc, { program }, async () => {
    resp = await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions });
  });
  assert.ok(resp!.body!.breakpoints!.every((b) => b.verified), JSON.stringify(resp!.body));
  return continueTo(dc);
}

interface Case { filter: string; condition?: string; insn: RegExp; reason: RegExp; line?: string; check?: (dc: DebugClient) => Promise<void> }

const KERNEL_CASES: Case[] = [
  { filter: 'cr', condition: 'cr == 3 && write', insn: /^mov cr3, eax$/, reason: /^privileged instruction: mov cr3, eax$/, line: '    mov cr3, eax' },
  { filter: 'desc', insn: /^lgdt \[/, reason: /^descriptor table: lgdt \[/, line: '    lgdt [gdt_descriptor]' },
  { filter: 'io', condition: 'port == 0xf4', insn: /^out 0xf4, al$/, reason: /^port I\/O: out 0xf4, al$/ },
  { filter: 'msr', condition: 'ecx == 0x176 && write', insn: /^wrmsr$/, reason: /^MSR access: wrmsr$/, check: async (dc) => assert.equal(await evalNum(dc, 'ecx'), 0x176) },
  { filter: 'cpuid', condition: 'leaf == 1', insn: /^cpuid$/, reason: /^CPUID: cpuid$/, check: async (dc) => assert.equal(await evalNum(dc, 'eax'), 1) },
  { filter: 'hlt', insn: /^hlt$/, reason: /^HLT: hlt$/ },
  { filter: 'if', condition: 'to == 1', insn: /^sti$/, reason: /^interrupt flag: sti$/ },
  { filter: 'tlb', insn: /^invlpg \[/, reason: /^TLB and cache: invlpg/, line: '    invlpg [REMAP_VIRTUAL]' },
  { filter: 'softint', condition: 'vector == 0x80', insn: /^int 0x80$/, reason: /^software interrupt: int 0x80$/ },
];

describe('event filters on the kernel sample', () => {
  for (const c of KERNEL_CASES) {
    test(`${c.filter}${c.condition ? ` (${c.condition})` : ''}`, async () => {
      const dc = await startClient();
      try {
        const s = await stopWith(dc, KERNEL, [{ filterId: c.filter, condition: c.condition }]);
        assert.equal(s.body.reason, 'exception');
        assert.match(s.body.description!, c.reason);
        assert.match(await currentInsn(dc), c.insn);
        if (c.line) assert.equal((await topFrame(dc)).line, lineOf(KERNEL, c.line));
        await c.check?.(dc);
        const info = await dc.exceptionInfoRequest({ threadId: 1 });
        assert.equal(info.body.details?.fullTypeName, c.filter);
        assert.ok(info.body.details?.message);
      } finally {
        await dc.stop();
      }
    });
  }

  test('#PF with conditions on CR2 and the error code; continuing delivers it to the guest', async () => {
    const dc = await startClient();
    try {
      const s = await stopWith(dc, KERNEL, [{ filterId: 'pf', condition: 'error_code & 4 && cr2 == 0x50000010' }]);
      assert.match(s.body.description!, /^exception #PF page fault, error code 0x6, CR2 0x50000010 \(not present, write, user\) at mov dword \[dword 0x50000010\], 0x12345678$/);
      assert.equal((await topFrame(dc)).line, lineOf(KERNEL, '    mov dword [DEMAND_VIRTUAL + 0x10], 0x12345678'));
      assert.equal(await evalNum(dc, 'cr2'), 0x50000010);
      // The kernel's handler maps the page and the run completes.
      const exited = dc.waitForEvent('exited');
      await dc.continueRequest({ threadId: 1 });
      assert.equal((await exited).body.exitCode, 1);
    } finally {
      await dc.stop();
    }
  });

  test('ring transitions: stop after IRET to ring 3, with registers and privilege of ring 3', async () => {
    const dc = await startClient();
    try {
      const s = await stopWith(dc, KERNEL, [{ filterId: 'ring', condition: 'to == 3' }]);
      assert.match(s.body.description!, /^ring transition: ring 0 -> ring 3 \(iret\)$/);
      const f = await topFrame(dc);
      assert.equal(f.name, 'user_task');
      const priv = await scopeVars(dc, 'Privilege');
      assert.equal(priv.get('CPL')!.value, '3 (ring 3)');
      const recent = await dc.variablesRequest({ variablesReference: priv.get('recent ring transitions')!.variablesReference });
      assert.match(recent.body.variables[0].value, /ring 0 -> ring 3: iret/);
      const seg = await scopeVars(dc, 'Segments');
      assert.match(seg.get('cs')!.value, /^0x001b \(code 32-bit.*DPL 3\)$/);
      assert.match(seg.get('ss')!.value, /^0x0023 /);
      assert.equal(await evalNum(dc, 'cpl'), 3);
      const state = await dc.customRequest('ringside/cpu');
      assert.equal(state.body.cpl, 3);
      assert.deepEqual(state.body.transitions.at(-1), { ...state.body.transitions.at(-1), from: 0, to: 3, cause: 'iret' });
      // Back to ring 0 on the system call: `from` and `to` in the condition.
      await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'ring', condition: 'from == 3 && to == 0' }] });
      const s2 = await continueTo(dc);
      assert.match(s2.body.description!, /ring 3 -> ring 0 \(int 128\)/);
      assert.equal((await topFrame(dc)).name, 'syscall_handler');
    } finally {
      await dc.stop();
    }
  });

  test('mode switches: paging on, stopped after MOV CR0', async () => {
    const dc = await startClient();
    try {
      const s = await stopWith(dc, KERNEL, [{ filterId: 'mode', condition: 'paging' }]);
      assert.equal(s.body.description, 'mode switch: paging on');
      const f = await topFrame(dc);
      assert.equal(f.line, lineOf(KERNEL, '    mov cr0, eax') + 1, 'stops after the instruction that switched');
    } finally {
      await dc.stop();
    }
  });

  test('instruction patterns: mov cr3, wrmsr, out 0x3f8, int 0x80, lgdt', async () => {
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: KERNEL }, async () => {
        const r = await dc.setFunctionBreakpointsRequest({ breakpoints: ['mov cr3', 'wrmsr', 'out 0x3f8', 'int 0x80', 'lgdt'].map((name) => ({ name })) });
        assert.ok(r.body.breakpoints.every((b) => b.verified));
      });
      const seen: string[] = [];
      for (let k = 0; k < 6; k++) {
        const s = await continueTo(dc);
        assert.equal(s.body.reason, 'function breakpoint');
        seen.push(s.body.description!);
      }
      // Serial setup writes COM1+1 and COM1+3 too; only writes to 0x3F8 itself match.
      assert.ok(seen.every((d) => d === 'instruction out 0x3f8: out dx, al'), seen.join('; '));
      assert.match(seen[0], /^instruction out 0x3f8: out dx, al$/);
      assert.equal(await evalNum(dc, 'dx'), 0x3f8);
      // Drop the chatty port pattern and meet the others in order.
      await dc.setFunctionBreakpointsRequest({ breakpoints: ['mov cr3', 'wrmsr', 'int 0x80', 'lgdt'].map((name) => ({ name })) });
      const order: string[] = [];
      for (let k = 0; k < 6; k++) order.push((await continueTo(dc)).body.description!.replace(/:.*/, ''));
      assert.deepEqual(order, ['instruction lgdt', 'instruction wrmsr', 'instruction wrmsr', 'instruction wrmsr', 'instruction mov cr3', 'instruction int 0x80']);
    } finally {
      await dc.stop();
    }
  });
});

const EXC_GUEST = multiboot(`    lidt [idtr]
    mov eax, df_handler                 ; only gate 8 is present
    mov [idt + 8 * 8], ax
    mov word [idt + 8 * 8 + 2], 0x08
    mov word [idt + 8 * 8 + 4], 0x8E00
    shr eax, 16
    mov [idt + 8 * 8 + 6], ax
    ud2                                 ; #UD -> no gate 6: #GP -> no gate 13: #DF
df_handler:
    mov al, 5
    out 0xf4, al
`, `idtr: dw 256 * 8 - 1
    dd idt
idt: times 256 * 8 db 0
`);

// A JMP to a TSS descriptor: the CPU saves the current task into its TSS (TR 0x18) and loads the
// task in the TSS at selector 0x20, whose EIP is task_entry.
const TASK_GUEST = multiboot(`    lgdt [gdtr]
    jmp 0x08:reload
reload:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, tss_main
    mov ebx, 0x18
    call set_tss
    mov eax, tss_task
    mov ebx, 0x20
    call set_tss
    mov dword [tss_task + 32], task_entry   ; EIP
    mov dword [tss_task + 36], 0x2          ; EFLAGS
    mov dword [tss_task + 56], task_stack   ; ESP
    mov word [tss_task + 72], 0x10          ; ES
    mov word [tss_task + 76], 0x08          ; CS
    mov word [tss_task + 80], 0x10          ; SS
    mov word [tss_task + 84], 0x10          ; DS
    mov ax, 0x18
    ltr ax
    jmp 0x20:0                              ; TASK_JMP
task_entry:
    mov al, 7                               ; TASK_FIRST
    out 0xf4, al
set_tss:                                    ; EAX base, EBX selector: a 32-bit TSS, limit 0x67
    mov word [gdt + ebx], 0x67
    mov [gdt + ebx + 2], ax
    shr eax, 16
    mov [gdt + ebx + 4], al
    mov byte [gdt + ebx + 5], 0x89
    mov byte [gdt + ebx + 6], 0
    mov [gdt + ebx + 7], ah
    ret
`, `gdtr: dw 5 * 8 - 1
    dd gdt
    align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff, 0, 0
tss_main: times 104 db 0
tss_task: times 104 db 0
    times 256 db 0
task_stack:
`);

describe('guest exceptions and the triple fault', () => {
  test('#UD, then #GP during its delivery, then #DF, each stopped and then delivered', async () => {
    const src = guestSource('exc.asm', EXC_GUEST);
    const dc = await startClient();
    try {
      const s = await stopWith(dc, src, [{ filterId: 'ud' }, { filterId: 'gp', condition: 'error_code == 0x33' }, { filterId: 'df' }]);
      assert.match(s.body.description!, /^exception #UD invalid opcode at ud2$/);
      assert.equal(await currentInsn(dc), 'ud2');
      const gp = await continueTo(dc);
      assert.match(gp.body.description!, /^exception #GP general protection, error code 0x33 at ud2$/);
      const df = await continueTo(dc);
      assert.match(df.body.description!, /^exception #DF double fault, error code 0x0 at ud2$/);
      const exited = dc.waitForEvent('exited');
      await dc.continueRequest({ threadId: 1 });
      assert.equal((await exited).body.exitCode, 11, 'the #DF handler ran');
    } finally {
      await dc.stop();
    }
  });

  test('a triple fault always stops, with reason "triple fault", and the state stays inspectable', async () => {
    const src = guestSource('triple.asm', multiboot('    lidt [idtr]\n    ud2\n', 'idtr: dw 0\n    dd 0\n'));
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: src });
      const s = await continueTo(dc);
      assert.equal(s.body.reason, 'exception');
      assert.equal(s.body.description, 'triple fault');
      const info = await dc.exceptionInfoRequest({ threadId: 1 });
      assert.match(info.body.details!.message!, /triple fault: .*the CPU shut down/);
      assert.equal(await currentInsn(dc), 'ud2');
      const ctl = await scopeVars(dc, 'Control and system');
      assert.match(ctl.get('idtr')!.value, /limit 0x0/);
      const again = await continueTo(dc);
      assert.equal(again.body.description, 'triple fault', 'continuing a shut-down CPU stops again, the adapter stays up');
      assert.equal((await dc.threadsRequest()).body.threads.length, 1);
    } finally {
      await dc.stop();
    }
  });

  test('hardware task switch: a JMP to a TSS stops in the new task, TR and busy bits switched', async () => {
    const src = guestSource('task.asm', TASK_GUEST);
    const dc = await startClient();
    try {
      const s = await stopWith(dc, src, [{ filterId: 'task', condition: 'from == 0x18 && to == 0x20' }]);
      assert.equal(s.body.reason, 'exception');
      assert.equal(s.body.description, 'task switch: TSS 0x18 -> 0x20 (jmp)');
      assert.equal((await topFrame(dc)).line, lineOf(src, 'TASK_FIRST'), 'stops after the JMP, on the new task\'s first instruction');
      assert.equal(await evalNum(dc, 'tr'), 0x20);
      assert.equal(await evalNum(dc, 'esp'), await evalNum(dc, 'task_stack'), 'registers come from the new TSS');
      assert.equal(await evalNum(dc, 'dword [tss_main + 32]'), await evalNum(dc, 'task_entry'), 'the old task was saved, its EIP just after the JMP');
      assert.equal(await evalNum(dc, 'byte [gdt + 0x20 + 5]'), 0x8b, 'the new TSS is busy');
      assert.equal(await evalNum(dc, 'byte [gdt + 0x18 + 5]'), 0x89, 'a JMP leaves the old TSS available');
      const info = await dc.exceptionInfoRequest({ threadId: 1 });
      assert.equal(info.body.details?.fullTypeName, 'task');
    } finally {
      await dc.stop();
    }
  });

  test('a task switch filter whose condition does not hold lets the guest run', async () => {
    const src = guestSource('task.asm', TASK_GUEST);
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: src }, () => dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'task', condition: 'to == 0x28' }] }));
      const exited = dc.waitForEvent('exited');
      await dc.continueRequest({ threadId: 1 });
      assert.equal((await exited).body.exitCode, (7 << 1) | 1, 'the new task ran to its exit (status 7 through the exit port)');
    } finally {
      await dc.stop();
    }
  });

  test('hypercall filter stops on VMCALL with the number in EAX', async () => {
    const src = guestSource('vmcall.asm', multiboot('    mov eax, 7\n    vmcall\n'));
    const dc = await startClient();
    try {
      const s = await stopWith(dc, src, [{ filterId: 'hypercall', condition: 'nr == 7' }]);
      assert.equal(s.body.description, 'hypercall: vmcall');
    } finally {
      await dc.stop();
    }
  });

  test('a condition that does not parse is refused on the filter', async () => {
    const dc = await startClient();
    try {
      await launchStopped(dc, { program: KERNEL }, async () => {
        const r = await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'io', condition: 'port ==' }, { filterId: 'hlt' }] });
        assert.equal(r.body!.breakpoints![0].verified, false);
        assert.match(r.body!.breakpoints![0].message!, /incomplete/);
        assert.equal(r.body!.breakpoints![1].verified, true);
      });
    } finally {
      await dc.stop();
    }
  });
});
