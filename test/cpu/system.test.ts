// System-level behaviour of the CPU core that user-mode vectors cannot reach: real-mode interrupts
// and far transfers, protected-mode interrupt delivery with stack switches, virtual-8086 entry and
// exit frames, double and triple faults, the exception intercept, task switches. Each test runs a
// small NASM-assembled guest on a bare Cpu (test/cpu/system-guest.ts) and checks what the guest or
// the SDM says the state must be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Guest, asm, haveNasm, gate, seg, GDT, IDT, TSS, TSS2, K_CODE, K_DATA, U_CODE, U_DATA, TSS_SEL, TSS2_SEL } from './system-guest';
import { CS, SS, DS, ES } from '../../adapter/cpu/insn';
import { AR_UNUSABLE } from '../../adapter/cpu/cpu';

const opts = { skip: haveNasm ? false : 'nasm is not installed' };
const CODE = 0x10000;

test('real mode: INT through the IVT, IRET, far JMP/CALL/RETF', opts, () => {
  const g = new Guest();
  g.load(0x7c00, asm(`bits 16
org 0x7c00
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [0x80*4], handler
    mov word [0x80*4+2], 0
    mov ax, 1
    stc
    int 0x80
    mov [result], ax
    pushf
    pop word [flags_after]
    jmp 0x0000:next
next:
    call 0x0000:farproc
    mov [sp_after], sp
    hlt
handler:
    inc ax
    pushf
    pop word [flags_in]
    iret
farproc:
    mov bx, 0x1234
    retf
result: dw 0
flags_after: dw 0
flags_in: dw 0
sp_after: dw 0
`));
  g.realMode(0x7c00);
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r16[0], 2, 'AX incremented by the handler');
  assert.equal(g.cpu.r16[6], 0x1234, 'BX set by the far procedure');
  assert.equal(g.cpu.r16[8], 0x7000, 'SP balanced after INT/IRET and CALL/RETF');
});

test('real mode: handler sees IF and TF cleared, IRET restores the caller flags', opts, () => {
  const g = new Guest();
  g.load(0x7c00, asm(`bits 16
org 0x7c00
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [0x81*4], handler
    mov word [0x81*4+2], 0
    sti
    stc
    int 0x81
    pushf
    pop cx
    cli
    hlt
handler:
    pushf
    pop dx
    iret
`));
  g.realMode(0x7c00);
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r16[4] & 0x200, 0, 'IF clear in the handler');
  assert.equal(g.cpu.r16[2] & 0x201, 0x201, 'IF and CF back after IRET');
});

/** Ring-3 code at CODE+0x1000 that runs `body`, with ring-0 handlers placed by the test. */
function ring3Setup(g: Guest, user: string, kernel: string): { user: number; kernel: number } {
  g.flatGdt();
  const u = CODE + 0x1000, k = CODE;
  g.load(k, asm(`bits 32\norg ${k}\n${kernel}`));
  g.load(u, asm(`bits 32\norg ${u}\n${user}`));
  g.protectedMode(u, 3, 0x8000);
  return { user: u, kernel: k };
}

test('protected mode: INT from ring 3 switches to TSS.SS0:ESP0 and pushes SS, ESP, EFLAGS, CS, EIP', opts, () => {
  const g = new Guest();
  const { user } = ring3Setup(g, `
    mov eax, 0x11
    int 0x40
    jmp $`, `
handler:
    mov eax, [esp]        ; EIP
    mov ebx, [esp + 4]    ; CS
    mov ecx, [esp + 8]    ; EFLAGS
    mov edx, [esp + 12]   ; ESP
    mov esi, [esp + 16]   ; SS
    mov edi, esp
    hlt`);
  g.entry(IDT, 0x40, gate(K_CODE, CODE, 0xe, 3));
  g.cpu.setEflags(0x202);
  assert.equal(g.run(), 'halt');
  const r = g.cpu.r32;
  assert.equal(r[0] >>> 0, user + 7, 'return EIP after the INT');
  assert.equal(r[3], U_CODE);
  assert.equal(r[1] & 0x3ff, 0x202, 'EFLAGS image');
  assert.equal(r[2], 0x8000, 'ring-3 ESP');
  assert.equal(r[6], U_DATA, 'ring-3 SS');
  assert.equal(r[7], 0x9000 - 20, 'frame on the ring-0 stack from the TSS');
  assert.equal(g.cpu.cpl, 0);
  assert.equal(g.cpu.segSel[SS], K_DATA);
  assert.equal(g.cpu.getEflags() & 0x200, 0, 'interrupt gate clears IF');
});

test('protected mode: INT n to a gate with DPL < CPL raises #GP(vector*8+2) at the INT', opts, () => {
  const g = new Guest();
  const { user } = ring3Setup(g, `
    int 0x41`, `
gp:
    mov eax, [esp]        ; error code
    mov ebx, [esp + 4]    ; EIP
    hlt`);
  g.entry(IDT, 0x41, gate(K_CODE, CODE + 0x100, 0xe, 0));
  g.entry(IDT, 13, gate(K_CODE, CODE, 0xe, 0));
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r32[0], 0x41 * 8 + 2);
  assert.equal(g.cpu.r32[3], user, 'fault reported at the INT instruction');
});

test('faults push EFLAGS with RF set; traps and software interrupts do not', opts, () => {
  const g = new Guest();
  ring3Setup(g, `
    int 0x40
    mov ax, 0x50
    mov ds, ax`, `
soft:
    mov esi, [esp + 8]
    iretd
    at 0x40
gp:
    mov edi, [esp + 12]
    hlt`);
  g.entry(IDT, 0x40, gate(K_CODE, CODE, 0xe, 3));
  g.entry(IDT, 13, gate(K_CODE, CODE + 0x40, 0xe, 0));
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r32[6] & 0x10000, 0, 'INT n: RF clear');
  assert.equal(g.cpu.r32[7] & 0x10000, 0x10000, '#GP: RF set');
});

test('double fault: #GP whose gate is absent becomes #DF(0); a fault delivering #DF shuts down', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.load(CODE, asm(`bits 32
org ${CODE}
    mov ax, 0x50
    mov ds, ax
    at 0x40
df:
    mov eax, [esp]
    mov ebx, [esp + 4]
    hlt`));
  g.protectedMode(CODE, 0, 0x8000);
  g.entry(IDT, 13, gate(K_CODE, CODE, 0xe, 0, 0, false));
  g.entry(IDT, 8, gate(K_CODE, CODE + 0x40, 0xe, 0));
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r32[0], 0, '#DF error code 0');
  assert.equal(g.cpu.r32[3], CODE + 4, 'return address: the MOV DS that faulted first');

  const t = new Guest();
  t.flatGdt();
  t.load(CODE, asm(`bits 32\norg ${CODE}\n    mov ax, 0x50\n    mov ds, ax\n    hlt`));
  t.protectedMode(CODE, 0, 0x8000);
  t.entry(IDT, 13, gate(K_CODE, CODE, 0xe, 0, 0, false));
  t.entry(IDT, 8, gate(K_CODE, CODE, 0xe, 0, 0, false));
  assert.equal(t.run(), 'shutdown');
  assert.ok(t.events.some((e) => e.includes('triple-fault')), 'triple fault reported to the machine');
});

test('benign then contributory: #NP while delivering an external-class #UD is delivered as #NP with EXT', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.load(CODE, asm(`bits 32
org ${CODE}
    ud2
    at 0x40
np:
    mov eax, [esp]
    hlt`));
  g.protectedMode(CODE, 0, 0x8000);
  g.entry(IDT, 6, gate(K_CODE, CODE, 0xe, 0, 0, false));
  g.entry(IDT, 11, gate(K_CODE, CODE + 0x40, 0xe, 0));
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r32[0], 6 * 8 + 2 + 1, 'IDT bit and EXT bit in the #NP error code');
});

test('hooks.exception intercepts a vector before delivery', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.load(CODE, asm(`bits 32\norg ${CODE}\n    ud2\n    hlt`));
  g.protectedMode(CODE, 0, 0x8000);
  const seen: number[] = [];
  g.cpu.exceptionIntercepts = 1 << 6;
  g.cpu.hooks.exception = (c, v) => { seen.push(v); c.eip = (c.eip + 2) | 0; return true; };
  assert.equal(g.run(), 'halt');
  assert.deepEqual(seen, [6]);
  assert.equal(g.cpu.eip >>> 0, CODE + 3, 'the hook skipped UD2 and the guest halted after it');
});

test('virtual-8086: IRET enters v86; INT n with IOPL 0 exits with #GP(0) and the v86 frame', opts, () => {
  const g = new Guest();
  g.flatGdt();
  // v86 code at 0x2000:0x0100 (linear 0x20100)
  g.load(0x20100, asm(`bits 16\norg 0x100\n    mov ax, 0x1234\n    int 0x21`));
  g.load(CODE, asm(`bits 32
org ${CODE}
    push dword 0x66       ; GS
    push dword 0x55       ; FS
    push dword 0x44       ; DS
    push dword 0x33       ; ES
    push dword 0x3000     ; SS
    push dword 0xfffe     ; ESP
    push dword 0x20002    ; EFLAGS: VM, IOPL 0
    push dword 0x2000     ; CS
    push dword 0x100      ; EIP
    iretd
    at 0x40
gp:
    mov eax, [esp]        ; error code
    mov ebx, [esp + 4]    ; EIP
    mov ecx, [esp + 8]    ; CS
    mov edx, [esp + 12]   ; EFLAGS
    mov esi, [esp + 24]   ; ES
    mov edi, [esp + 36]   ; GS
    hlt`));
  g.protectedMode(CODE, 0, 0x8000);
  g.entry(IDT, 13, gate(K_CODE, CODE + 0x40, 0xe, 0));
  assert.equal(g.run(), 'halt');
  const r = g.cpu.r32;
  assert.equal(r[0], 0, '#GP(0)');
  assert.equal(r[3], 0x103, 'EIP of the INT in v86');
  assert.equal(r[1], 0x2000, 'v86 CS');
  assert.equal(r[2] & 0x20000, 0x20000, 'VM in the pushed EFLAGS');
  assert.equal(r[6], 0x33, 'ES pushed');
  assert.equal(r[7], 0x66, 'GS pushed');
  assert.equal(g.cpu.cpl, 0);
  assert.ok(g.cpu.segAr[DS] & AR_UNUSABLE, 'DS null in the handler');
  assert.ok(g.cpu.segAr[ES] & AR_UNUSABLE, 'ES null in the handler');
});

test('task switch: CALL to a TSS sets NT, the back-link and busy bits; IRET returns', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.load(CODE, asm(`bits 32
org ${CODE}
    call ${TSS2_SEL}:0
    mov esi, 0xaaaa
    hlt
    at 0x40
task2:
    pushfd
    pop dword [0x600]
    str word [0x604]
    iretd
    jmp task2`));
  const task2 = CODE + 0x40;
  // TSS2: EIP, EFLAGS, ESP, segments, CR3
  g.w32(TSS2 + 0x20, task2);
  g.w32(TSS2 + 0x24, 0x2);
  g.w32(TSS2 + 0x38, 0x7000);
  for (const [off, sel] of [[0x48, K_DATA], [0x4c, K_CODE], [0x50, K_DATA], [0x54, K_DATA], [0x58, K_DATA], [0x5c, K_DATA]]) g.w32(TSS2 + off, sel);
  g.protectedMode(CODE, 0, 0x8000);
  assert.equal(g.run(), 'halt');
  const r = g.cpu.r32;
  assert.equal(g.r32(0x600) & 0x4000, 0x4000, 'NT set in the called task');
  assert.equal(g.r16(0x604), TSS2_SEL, 'TR named the new task inside it');
  assert.equal(g.r16(TSS2), TSS_SEL, 'back-link to the caller');
  assert.equal(r[6], 0xaaaa, 'IRET resumed the caller after the CALL');
  assert.equal(g.cpu.trSel, TSS_SEL);
  assert.equal(g.mem[GDT + 6 * 8 + 5] & 2, 0, 'returned-from TSS no longer busy');
  assert.equal(g.mem[GDT + 5 * 8 + 5] & 2, 2, 'caller TSS busy');
  assert.equal(g.cpu.getEflags() & 0x4000, 0, 'caller NT clear');
  assert.ok(g.cpu.cr0 & 8, 'CR0.TS set by the switch');
  assert.ok(g.events.some((e) => e.includes('task-switch')));
});

test('far CALL through a call gate to ring 0 copies parameters; RETF n returns to ring 3', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.entry(GDT, 7, gate(K_CODE, CODE, 0xc, 3, 2)); // 32-bit call gate, 2 dword parameters
  g.load(CODE, asm(`bits 32
org ${CODE}
    mov eax, [esp + 8]    ; parameter 1 (pushed last)
    mov ebx, [esp + 12]   ; parameter 2
    mov ecx, [esp + 16]   ; caller ESP
    mov edx, [esp + 20]   ; caller SS
    mov esi, esp
    retf 8`));
  g.load(CODE + 0x1000, asm(`bits 32
org ${CODE + 0x1000}
    push dword 0x2222
    push dword 0x1111
    call 0x3b:0
    mov edi, esp
    mov ebp, cs
    int3`));
  g.entry(IDT, 3, gate(K_CODE, CODE + 0x800, 0xe, 3));
  g.load(CODE + 0x800, asm('hlt'));
  g.protectedMode(CODE + 0x1000, 3, 0x8000);
  assert.equal(g.run(), 'halt');
  const r = g.cpu.r32;
  assert.equal(r[0], 0x1111);
  assert.equal(r[3], 0x2222);
  assert.equal(r[1], 0x8000 - 8, 'caller ESP after its pushes');
  assert.equal(r[2], U_DATA);
  assert.equal(r[6], 0x9000 - 4 * 4 - 8, 'ring-0 frame: SS ESP params CS EIP');
  assert.equal(r[7], 0x8000, 'RETF 8 released the parameters on the caller stack');
  assert.equal(r[5], U_CODE, 'back in ring 3');
});

test('null selector: DS may be null (use faults #GP(0)), SS may not', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.load(CODE, asm(`bits 32
org ${CODE}
    xor eax, eax
    mov ds, ax
    mov ebx, [0x100]
    at 0x40
gp:
    mov ecx, [esp]
    mov edx, [esp + 4]
    hlt`));
  g.protectedMode(CODE, 0, 0x8000);
  g.entry(IDT, 13, gate(K_CODE, CODE + 0x40, 0xe, 0));
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r32[1], 0, '#GP(0)');
  assert.equal(g.cpu.r32[2], CODE + 4, 'at the access, not the load');

  const s = new Guest();
  s.flatGdt();
  s.load(CODE, asm(`bits 32\norg ${CODE}\n    xor eax, eax\n    mov ss, ax\n    hlt\n    at 0x40\n    mov ecx, [esp]\n    hlt`));
  s.protectedMode(CODE, 0, 0x8000);
  s.entry(IDT, 13, gate(K_CODE, CODE + 0x40, 0xe, 0));
  assert.equal(s.run(), 'halt');
  assert.equal(s.cpu.eip >>> 0, CODE + 0x44, 'the #GP handler ran');
  assert.equal(s.cpu.r32[1], 0, '#GP(0) for a null SS');
  assert.equal(s.cpu.segSel[SS], K_DATA, 'SS unchanged');
});

test('descriptor checks: #GP(sel) for a code segment in DS-load with no read permission, #NP(sel) not present', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.entry(GDT, 8, seg(0, 0xfffff, 0x18, 0)); // execute-only code
  g.entry(GDT, 9, [seg(0, 0xfffff, 0x12, 0)[0], seg(0, 0xfffff, 0x12, 0)[1] & ~0x8000]); // not present
  g.load(CODE, asm(`bits 32
org ${CODE}
    mov ax, 0x40
    mov ds, ax
    mov ax, 0x4b
    mov es, ax
    hlt
    at 0x40
h:
    pop eax
    push eax
    mov [0x500 + ebx*4], eax
    inc ebx
    add dword [esp + 4], 2
    add esp, 4
    iretd`));
  g.protectedMode(CODE, 0, 0x8000);
  g.entry(IDT, 13, gate(K_CODE, CODE + 0x40, 0xe, 0));
  g.entry(IDT, 11, gate(K_CODE, CODE + 0x40, 0xe, 0));
  g.cpu.r32[3] = 0;
  assert.equal(g.run(), 'halt');
  assert.equal(g.r32(0x500), 0x40, '#GP(0x40)');
  assert.equal(g.r32(0x504), 0x48, '#NP(0x48): RPL cleared');
  void CS;
});

test('VME: INT n with a clear redirection bit runs the v86 IVT handler; CLI/STI work on VIF; IRET returns', opts, () => {
  const g = new Guest();
  g.flatGdt();
  // TSS I/O map base 0x88: redirection bitmap at TSS+0x68..0x87 (all clear: every vector redirected)
  g.dv.setUint16(TSS + 0x66, 0x88, true);
  g.entry(GDT, 5, seg(TSS, 0x88, 0x0b, 0, false, false));
  g.mem[TSS + 0x68 + (0x40 >> 3)] = 1; // vector 0x40 is not redirected
  // v86 IVT entry 0x21 -> 0x2000:0x0200
  g.w32(0x21 * 4, 0x20000200);
  g.load(0x20100, asm(`bits 16\norg 0x100\n    mov ax, 0x1234\n    cli\n    int 0x21\n    pushf\n    pop dx\n    int 0x40`));
  g.load(0x20200, asm(`bits 16\norg 0x200\n    pushf\n    pop bx\n    mov cx, ax\n    sti\n    iret`));
  g.load(CODE, asm(`bits 32
org ${CODE}
    push dword 0
    push dword 0
    push dword 0
    push dword 0
    push dword 0x3000     ; SS
    push dword 0xfffe     ; ESP
    push dword 0xa0202    ; EFLAGS: VM, VIF, IF, IOPL 0
    push dword 0x2000     ; CS
    push dword 0x100      ; EIP
    iretd
    at 0x40
    hlt`));
  g.protectedMode(CODE, 0, 0x8000);
  g.cpu.trLimit = 0x88;
  g.cpu.cr4 |= 1; // VME
  g.entry(IDT, 0x40, gate(K_CODE, CODE + 0x40, 0xe, 3));
  g.entry(IDT, 13, gate(K_CODE, CODE + 0x40, 0xe, 0));
  assert.equal(g.run(), 'halt');
  const r = g.cpu.r32;
  assert.equal(r[1] & 0xffff, 0x1234, 'redirected handler ran');
  assert.equal(r[3] & 0x3200, 0x3000, 'handler FLAGS image: IOPL reads 3, IF = VIF = 0 after CLI');
  assert.equal(r[2] & 0x3200, 0x3000, 'after IRET: VIF comes back from the image (0), not from the handler STI');
  const esp = r[4] >>> 0;
  assert.deepEqual([g.r32(esp), g.r32(esp + 4), g.r32(esp + 8)], [0, 0x108, 0x2000], 'INT 0x40 (bit set, IOPL 0): #GP(0) at the INT');
});

test('16-bit TSS: JMP to it loads 16-bit state; JMP back saves it in the 16-bit layout', opts, () => {
  const g = new Guest();
  g.flatGdt();
  const T16 = 0x3400;
  g.entry(GDT, 7, seg(T16, 0x2b, 0x01, 0, false, false)); // available 16-bit TSS, selector 0x38
  g.load(CODE, asm(`bits 32
org ${CODE}
    jmp 0x38:0
    mov edi, 0xdddd
    hlt
    at 0x40
bits 16
    mov si, 0x1616
    jmp ${0x28}:0
`));
  // 16-bit TSS: IP 0x0e, FLAGS 0x10, AX..DI 0x12.., ES CS SS DS 0x22..
  g.dv.setUint16(T16 + 0x0e, 0x40, true);
  g.dv.setUint16(T16 + 0x10, 0x2, true);
  g.dv.setUint16(T16 + 0x12 + 4 * 2, 0x7000, true); // SP
  // a 16-bit code segment based at CODE (selector 0x40) and the flat data selector
  g.entry(GDT, 8, seg(CODE, 0xffff, 0x1a, 0, false, false));
  for (const [off, sel] of [[0x22, K_DATA], [0x24, 0x40], [0x26, K_DATA], [0x28, K_DATA]]) g.dv.setUint16(T16 + off, sel, true);
  g.protectedMode(CODE, 0, 0x8000);
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r32[7], 0xdddd, 'back in the 32-bit task after its JMP');
  assert.equal(g.dv.getUint16(T16 + 0x12 + 6 * 2, true), 0x1616, 'SI saved in the 16-bit TSS');
  assert.equal(g.dv.getUint16(T16 + 0x0e, true), 0x40 + 3 + 5, 'IP saved after the JMP');
  assert.equal(g.mem[GDT + 7 * 8 + 5] & 0xf, 1, '16-bit TSS available again');
});

test('external interrupt through a not-present gate: #NP with the IDT and EXT bits', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.load(CODE, asm(`bits 32
org ${CODE}
    sti
    nop
    nop
    hlt
    at 0x40
    mov eax, [esp]
    mov ebx, [esp + 4]
    hlt`));
  g.entry(IDT, 0x30, gate(K_CODE, CODE, 0xe, 0, 0, false));
  g.entry(IDT, 11, gate(K_CODE, CODE + 0x40, 0xe, 0));
  let acks = 0;
  (g.cpu.host as { acknowledgeInterrupt: () => number }).acknowledgeInterrupt = () => { acks++; g.cpu.intrLine = false; return 0x30; };
  g.protectedMode(CODE, 0, 0x8000);
  g.cpu.intrLine = true;
  assert.equal(g.run(), 'halt');
  assert.equal(acks, 1);
  assert.equal(g.cpu.r32[0], 0x30 * 8 + 3, '#NP(vector*8 + IDT + EXT)');
  assert.equal(g.cpu.r32[3], CODE + 2, 'at the instruction the interrupt preceded');
});

test('NMI is delivered through vector 2 and blocked until IRET', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.load(CODE, asm(`bits 32
org ${CODE}
    nop
    nop
    nop
    hlt
    at 0x40
    inc dword [0x700]
    iretd`));
  g.entry(IDT, 2, gate(K_CODE, CODE + 0x40, 0xe, 0));
  g.protectedMode(CODE, 0, 0x8000);
  g.cpu.nmiPending = true;
  assert.equal(g.run(), 'halt');
  assert.equal(g.r32(0x700), 1);
  assert.equal(g.cpu.nmiBlocked, false, 'IRET unblocked NMIs');
});

test('unreal mode: a 4 GiB DS limit loaded in protected mode survives the return to real mode', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.load(0x7c00, asm(`bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp ${K_CODE - 0}:pm
bits 32
pm: mov ax, ${K_DATA}
    mov ds, ax
    mov eax, cr0
    and al, ~1
    mov cr0, eax
    jmp 0:rm
bits 16
rm: xor ax, ax
    mov ds, ax
    mov dword [dword 0x200000], 0x600df00d
    mov ebx, [dword 0x200000]
    mov ax, 0x1234
    mov es, ax
    mov cx, [es:0xfffe]          ; ES keeps its 64 KiB real-mode limit
    hlt`));
  g.realMode(0x7c00);
  // K_CODE is a 32-bit flat segment: the JMP to pm lands in 32-bit code
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r32[3] >>> 0, 0x600df00d, 'DS reaches 2 MiB in real mode');
  assert.equal(g.r32(0x200000) >>> 0, 0x600df00d);
  assert.equal(g.cpu.isProtected(), false);
});
