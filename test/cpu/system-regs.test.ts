// System registers and instructions: CPUID's documented feature set, MSRs (#GP for unknown ones and
// reserved bits), the deterministic TSC and CR4.TSD, CR0/CR4 validity checks, PAE PDPTE registers,
// the guest's debug registers (instruction breakpoints with RF, data breakpoints, general detect),
// TF single-step with the MOV SS shadow, CLI/STI/POPF under IOPL, the I/O permission bitmap, LAR/LSL,
// SYSENTER/SYSEXIT, and the hot near transfers with a 16-bit operand size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Guest, asm, assemble, haveNasm, gate, seg, GDT, IDT, TSS, K_CODE, K_DATA, U_CODE, U_DATA } from './system-guest';
import { cpuid, LEAF1_EDX } from '../../adapter/cpu/cpuid';
import { CS } from '../../adapter/cpu/insn';

const opts = { skip: haveNasm ? false : 'nasm is not installed' };
const CODE = 0x10000;

/**
 * Flat guest at ring `cpl` running `body` at CODE; handlers for #DB #UD #NM #GP #PF #AC record (vector,
 * error, EIP) at 0x600.. and halt. `labels` holds the body's label addresses.
 */
let labels: Record<string, number> = {};
function kernel(body: string, cpl: 0 | 3 = 0): Guest {
  const g = new Guest();
  g.flatGdt();
  const a = assemble(`bits 32\norg ${CODE}\n${body}`);
  labels = a.labels;
  g.load(CODE, a.bytes);
  for (const [v, hasErr] of [[1, 0], [6, 0], [7, 0], [13, 1], [14, 1], [17, 1]] as const) {
    const at = CODE + 0x800 + v * 0x20;
    g.load(at, asm(`bits 32
org ${at}
    mov dword [0x600], ${v}
    ${hasErr ? 'pop dword [0x604]' : 'mov dword [0x604], 0xffffffff'}
    pop dword [0x608]
    hlt`));
    g.entry(IDT, v, gate(K_CODE, at, 0xe, 0));
  }
  g.w32(0x600, -1);
  g.protectedMode(CODE, cpl, 0x8000);
  return g;
}
function caught(g: Guest): { vector: number; error: number; eip: number } {
  return { vector: g.r32(0x600) | 0, error: g.r32(0x604) | 0, eip: g.r32(0x608) };
}

test('CPUID: GenuineIntel, family 6, leaf-1 EDX and NX exactly as documented', () => {
  const [max, b, c, d] = cpuid(0);
  const vendor = [b, d, c].map((r) => String.fromCharCode(r & 0xff, (r >> 8) & 0xff, (r >> 16) & 0xff, (r >>> 24) & 0xff)).join('');
  assert.equal(vendor, 'GenuineIntel');
  assert.equal(max, 2);
  const [sig, , ecx1, edx1] = cpuid(1);
  assert.equal((sig >> 8) & 0xf, 6, 'family 6');
  assert.equal(ecx1, 0);
  assert.equal(edx1, LEAF1_EDX);
  assert.equal(edx1 & 1, 0, 'no x87 unit');
  assert.equal(edx1 & (1 << 23 | 1 << 25 | 1 << 26), 0, 'no MMX/SSE/SSE2');
  for (const bit of [2, 3, 4, 5, 6, 8, 11, 13, 15]) assert.ok(edx1 & (1 << bit), `leaf 1 EDX bit ${bit}`);
  assert.equal(cpuid(0x80000001)[3], 1 << 20, 'NX');
  assert.deepEqual(cpuid(0x40), cpuid(2), 'leaves above the maximum answer as the highest basic leaf');
});

test('MSRs: SYSENTER_CS round-trips, unknown MSR and EFER reserved bits are #GP(0), TSC write sets the count', opts, () => {
  const g = kernel(`
    mov ecx, 0x174
    mov eax, 0x1234
    xor edx, edx
    wrmsr
    xor eax, eax
    rdmsr
    mov [0x700], eax
    mov ecx, 0x10
    mov eax, 1000000
    xor edx, edx
    wrmsr
    rdtsc
    mov [0x704], eax
    mov [0x708], edx
    mov ecx, 0xc0000080
    mov eax, 0x800
    wrmsr
    rdmsr
    mov [0x70c], eax
    mov eax, 0x801
bad: wrmsr`);
  assert.equal(g.run(), 'halt');
  assert.equal(g.r32(0x700), 0x1234);
  assert.ok(g.r32(0x704) >= 1000000 && g.r32(0x704) < 1000010, 'TSC continues from the written value');
  assert.equal(g.r32(0x70c), 0x800, 'EFER.NXE writable');
  assert.deepEqual(caught(g), { vector: 13, error: 0, eip: labels.bad }, 'EFER.SCE: #GP(0) at the WRMSR');
  const u = kernel('mov ecx, 0x12345678\n    rdmsr');
  u.run();
  assert.equal(caught(u).vector, 13);
});

test('RDTSC is deterministic and #GP(0) at CPL 3 with CR4.TSD', opts, () => {
  const runOnce = () => {
    const g = kernel('nop\n    nop\n    rdtsc\n    hlt');
    g.run();
    return [g.cpu.r32[0], g.cpu.r32[2]];
  };
  assert.deepEqual(runOnce(), runOnce());
  const g = kernel('rdtsc', 3);
  g.cpu.cr4 |= 4;
  g.run();
  assert.deepEqual(caught(g), { vector: 13, error: 0, eip: CODE });
});

test('CR0 and CR4 writes: PG without PE and unknown CR4 bits are #GP(0); CR3 load flushes the TLB', opts, () => {
  const g = kernel('mov eax, 0x80000000\nbad: mov cr0, eax');
  g.run();
  assert.deepEqual(caught(g), { vector: 13, error: 0, eip: labels.bad });
  const h = kernel('mov eax, 0x200\n    mov cr4, eax'); // OSFXSR: no FXSR here
  h.run();
  assert.equal(caught(h).vector, 13);
  const p = kernel('mov eax, 0x90\n    mov cr4, eax\n    mov eax, cr4\n    hlt'); // PSE | PGE
  p.run();
  assert.equal(p.cpu.r32[0], 0x90);
});

test('privileged instructions at CPL 3 raise #GP(0)', opts, () => {
  for (const insn of ['hlt', 'cli', 'mov eax, cr0', 'mov cr3, eax', 'lgdt [0]', 'lidt [0]', 'lmsw ax', 'clts', 'invd',
    'wbinvd', 'invlpg [0]', 'rdmsr', 'wrmsr', 'mov eax, dr7', 'in al, 0x80', 'out 0x80, al', 'lldt ax', 'ltr ax']) {
    const g = kernel(insn, 3);
    g.run();
    assert.deepEqual(caught(g), { vector: 13, error: 0, eip: CODE }, insn);
  }
});

test('x87 with CR0.EM or TS: #NM; without: #UD (no FPU); FWAIT only with MP and TS', opts, () => {
  const em = kernel('fninit');
  em.cpu.cr0 |= 4;
  em.run();
  assert.equal(caught(em).vector, 7);
  const none = kernel('fld1');
  none.run();
  assert.equal(caught(none).vector, 6);
  const wait = kernel('wait\n    hlt');
  wait.cpu.cr0 |= 8;
  wait.run();
  assert.equal(caught(wait).vector, -1, 'FWAIT with TS but not MP runs');
});

test('instruction breakpoint: DR0 faults before the instruction; RF set by the handler lets it run once', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.load(CODE, asm(`bits 32
org ${CODE}
    mov eax, target
    mov dr0, eax
    mov eax, 0x1          ; L0, execute, 1 byte
    mov dr7, eax
    xor ecx, ecx
target:
    inc ecx
    inc ecx
    mov eax, dr6
    hlt
    at 0x80
db_handler:
    inc dword [0x700]
    mov ebx, [esp]
    or dword [esp + 8], 0x10000   ; RF
    iretd`));
  g.entry(IDT, 1, gate(K_CODE, CODE + 0x80, 0xe, 0));
  g.protectedMode(CODE, 0, 0x8000);
  assert.equal(g.run(), 'halt');
  assert.equal(g.r32(0x700), 1, 'one #DB');
  assert.equal(g.cpu.r32[1], 2, 'both INCs ran');
  assert.equal(g.cpu.r32[0] & 0xf, 1, 'DR6.B0');
  assert.equal(g.cpu.getEflags() & 0x10000, 0, 'RF cleared after one instruction');
});

test('data breakpoint: a write to a watched dword traps after the instruction with DR6.B1', opts, () => {
  const g = new Guest();
  g.flatGdt();
  const a = assemble(`bits 32
org ${CODE}
    mov eax, 0x5000
    mov dr1, eax
    mov eax, 0x00d00004   ; L1, R/W=01 (write), LEN=11 (4 bytes)
    mov dr7, eax
    mov ebx, [0x5000]     ; read: no trap
    mov dword [0x5002], 7 ; write overlapping the dword
after: mov esi, 1
    hlt
    at 0x80
    mov edx, [esp]
    mov edi, dr6
    iretd`);
  g.load(CODE, a.bytes);
  g.entry(IDT, 1, gate(K_CODE, CODE + 0x80, 0xe, 0));
  g.protectedMode(CODE, 0, 0x8000);
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r32[2], a.labels.after, 'trap reported after the MOV');
  assert.equal(g.cpu.r32[7] & 0xf, 2, 'B1');
  assert.equal(g.cpu.r32[6], 1);
});

test('DR7.GD: MOV from a debug register faults #DB with DR6.BD, GD cleared for the handler', opts, () => {
  const g = kernel(`
    mov eax, 0x2000
    mov dr7, eax
bad: mov eax, dr0`);
  g.run();
  assert.deepEqual(caught(g), { vector: 1, error: -1, eip: labels.bad });
  assert.ok(g.cpu.dr[6] & 0x2000, 'BD');
  assert.equal(g.cpu.dr[7] & 0x2000, 0, 'GD cleared');
});

test('TF: trap after each instruction; MOV SS holds the trap back one instruction', opts, () => {
  const g = new Guest();
  g.flatGdt();
  g.load(CODE, asm(`bits 32
org ${CODE}
    pushfd
    or dword [esp], 0x100
    popfd
    nop                   ; trap 1 (after it)
    mov ax, ${K_DATA}
    mov ss, ax            ; no trap here
    nop                   ; trap 2 reports EIP after this NOP
    pushfd
    and dword [esp], ~0x100
    popfd                 ; traps 3, 4 (PUSHFD, AND) and 5 (POPFD that clears TF)
    hlt
    at 0x80
    mov ebx, [0x700]
    mov edx, [esp]
    mov [0x704 + ebx*4], edx
    inc dword [0x700]
    iretd`));
  g.entry(IDT, 1, gate(K_CODE, CODE + 0x80, 0xe, 0));
  g.protectedMode(CODE, 0, 0x8000);
  assert.equal(g.run(), 'halt');
  const n = g.r32(0x700);
  const eips = Array.from({ length: n }, (_, k) => g.r32(0x704 + k * 4) - CODE);
  assert.deepEqual(eips, [0x0a, 0x0e, 0x11, 0x12, 0x19, 0x1a], 'after NOP, MOV AX, (not MOV SS) NOP, PUSHFD, AND, POPFD');
});

test('STI shadow: a pending interrupt waits one instruction after STI', opts, () => {
  const g = new Guest();
  g.flatGdt();
  let pending = true;
  (g.cpu.host as { acknowledgeInterrupt: () => number }).acknowledgeInterrupt = () => { pending = false; g.cpu.intrLine = false; return 0x30; };
  g.load(CODE, asm(`bits 32
org ${CODE}
    sti
    mov eax, 1            ; runs before the interrupt
    mov eax, 2
    hlt
    at 0x40
    mov ebx, eax
    mov ecx, [esp]
    cli
    hlt`));
  g.entry(IDT, 0x30, gate(K_CODE, CODE + 0x40, 0xe, 0));
  g.protectedMode(CODE, 0, 0x8000);
  g.cpu.intrLine = true;
  assert.equal(g.run(), 'halt');
  assert.equal(pending, false);
  assert.equal(g.cpu.r32[3], 1, 'the instruction after STI ran first');
  assert.equal(g.cpu.r32[1], CODE + 6, 'interrupted before the second MOV');
});

test('IOPL and the I/O bitmap: CLI at CPL 3 needs IOPL 3; IN needs the bitmap bit clear', opts, () => {
  const g = kernel('in al, 0x80\nbad: in al, 0x81', 3);
  // TSS I/O map at 0x68; port 0x80 allowed, 0x81 denied; the map ends within the TSS limit
  g.dv.setUint16(TSS + 0x66, 0x68, true);
  g.mem.fill(0xff, TSS + 0x68, TSS + 0x68 + 0x20);
  g.mem[TSS + 0x68 + 0x10] = 0xfe;
  g.entry(GDT, 5, seg(TSS, 0x68 + 0x20, 0x0b, 0, false, false));
  g.cpu.trLimit = 0x68 + 0x20;
  g.run();
  assert.deepEqual(caught(g), { vector: 13, error: 0, eip: labels.bad });
  assert.equal(g.cpu.r32[0] & 0xff, 0x5a, 'port 0x80 was read');
  const c = kernel('cli\nh: hlt', 3);
  c.cpu.setEflags(c.cpu.getEflags() | 0x3000);
  c.run();
  assert.equal(caught(c).eip, labels.h, 'CLI allowed at IOPL 3 (the HLT after it faults)');
});

test('POPF at CPL 3 does not change IF or IOPL; at CPL 0 it does', opts, () => {
  const user = kernel('push dword 0x3002\n    popfd\n    pushfd\n    pop eax\n    int3', 3);
  user.entry(IDT, 3, gate(K_CODE, CODE + 0x7f0, 0xe, 3));
  user.load(CODE + 0x7f0, asm('hlt'));
  user.cpu.setEflags(0x202);
  user.run();
  assert.equal(user.cpu.r32[0] & 0x3200, 0x200, 'IF kept, IOPL not loaded');
  const k = kernel('push dword 0x3002\n    popfd\n    pushfd\n    pop eax\n    hlt');
  k.cpu.setEflags(0x202);
  k.run();
  assert.equal(k.cpu.r32[0] & 0x3200, 0x3000);
});

test('LAR/LSL report rights and limits; an invisible selector clears ZF', opts, () => {
  const g = kernel(`
    mov ax, ${U_DATA}
    lar ebx, ax
    lsl ecx, ax
    mov ax, 0x400
    mov esi, 0x77
    lar esi, ax
    hlt`, 0);
  g.run();
  assert.equal(g.cpu.r32[3], g.r32(GDT + 4 * 8 + 4) & 0x00ffff00, 'LAR: the access-rights bytes (and limit 19:16) of the descriptor');
  assert.equal(g.cpu.r32[3] & 0x00fff600, 0x00cff200, 'G, D, limit 19:16, P, DPL 3, writable data');
  assert.equal(g.cpu.r32[1] >>> 0, 0xffffffff);
  assert.equal(g.cpu.r32[6], 0x77, 'unchanged when ZF is clear');
  assert.equal(g.cpu.getEflags() & 0x40, 0);
});

test('SYSENTER/SYSEXIT: flat ring-0 entry from MSRs, exit to ring 3 at EDX with ESP = ECX', opts, () => {
  const g = kernel(`
    mov ecx, 0x174
    mov eax, ${K_CODE}
    xor edx, edx
    wrmsr
    mov ecx, 0x175
    mov eax, 0x9000
    wrmsr
    mov ecx, 0x176
    mov eax, entry
    wrmsr
    mov edx, user
    mov ecx, 0x7000
    sysexit
user:
    mov ebp, cs
    sysenter
entry:
    mov edi, cs
    mov esi, esp
    hlt`);
  g.run();
  assert.equal(g.cpu.r32[5], 0x1b, 'ring 3 CS = SYSENTER_CS + 16 | 3');
  assert.equal(g.cpu.r32[7], K_CODE);
  assert.equal(g.cpu.r32[6], 0x9000);
  assert.equal(g.cpu.cpl, 0);
  void U_CODE;
});

test('near transfers with a 16-bit operand size truncate EIP; LOOP with a 16-bit address size counts CX', opts, () => {
  const g = new Guest();
  g.load(0x7c00, asm(`bits 16
org 0x7c00
    xor ax, ax
    mov ss, ax
    mov sp, 0x7000
    mov ecx, 0x10003
    xor dx, dx
.l: inc dx
    loop .l
    call near sub1
    hlt
sub1:
    mov bx, 0x42
    ret`));
  g.realMode(0x7c00);
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r16[4], 3, 'three iterations: CX only');
  assert.equal(g.cpu.r32[1] >>> 0, 0x10000, 'ECX upper half untouched');
  assert.equal(g.cpu.r16[6], 0x42);
  assert.equal(g.cpu.r16[8], 0x7000);
  // 32-bit code: a 16-bit JMP wraps EIP to 16 bits
  const p = kernel('o16 jmp word 0x1234');
  p.load(0x1234, Uint8Array.of(0xf4));
  p.run();
  assert.equal(caught(p).vector, -1);
  assert.equal(p.cpu.eip >>> 0, 0x1235, 'halted at 0x1234');
  void CS;
});

test('PAE: PDPTEs are loaded by MOV CR3; a change in memory is seen only after the next load', opts, () => {
  const g = new Guest(16);
  g.flatGdt();
  // PDPT at 0x100000; PD0 identity 2 MiB pages for the first 4 MiB; PDPTE1 -> PD_A (1 GiB -> frame 0x200000)
  const pdpt = 0x100000, pd0 = 0x101000, pdA = 0x102000, pdB = 0x103000;
  g.w32(pdpt, pd0 | 1);
  g.w32(pd0, 0x83 | 0); g.w32(pd0 + 8, 0x200083);
  g.w32(pdpt + 8, pdA | 1);
  g.w32(pdA, 0x400083); g.w32(pdB, 0x600083);
  g.w32(0x400000, 0xaaaaaaaa); g.w32(0x600000, 0xbbbbbbbb);
  g.load(CODE, asm(`bits 32
org ${CODE}
    mov eax, 0x20
    mov cr4, eax
    mov eax, ${pdpt}
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov ebx, [0x40000000]
    mov dword [${pdpt + 8}], ${pdB | 1}
    invlpg [0x40000000]
    mov ecx, [0x40000000]
    mov eax, ${pdpt}
    mov cr3, eax
    mov edx, [0x40000000]
    hlt`));
  g.protectedMode(CODE, 0, 0x8000);
  assert.equal(g.run(), 'halt');
  assert.equal(g.cpu.r32[3] >>> 0, 0xaaaaaaaa);
  assert.equal(g.cpu.r32[1] >>> 0, 0xaaaaaaaa, 'INVLPG does not reload PDPTEs');
  assert.equal(g.cpu.r32[2] >>> 0, 0xbbbbbbbb, 'MOV CR3 does');
  void GDT; void TSS;
});

test('I/O breakpoint (CR4.DE, R/W = 10): OUT to the port traps after the instruction', opts, () => {
  const g = new Guest();
  g.flatGdt();
  const a = assemble(`bits 32
org ${CODE}
    mov eax, 8            ; CR4.DE
    mov cr4, eax
    mov eax, 0xe9
    mov dr2, eax
    mov eax, 0x02000020   ; L2, R/W2 = 10 (I/O), LEN2 = 00
    mov dr7, eax
    mov al, 'x'
    out 0x80, al          ; another port: no trap
    out 0xe9, al
after: nop
    hlt
    at 0x80
    mov edx, [esp]
    mov edi, dr6
    iretd`);
  g.load(CODE, a.bytes);
  g.entry(IDT, 1, gate(K_CODE, CODE + 0x80, 0xe, 0));
  g.protectedMode(CODE, 0, 0x8000);
  assert.equal(g.run(), 'halt');
  assert.equal(g.text(), 'x');
  assert.equal(g.cpu.r32[2], a.labels.after, 'trap after the OUT');
  assert.equal(g.cpu.r32[7] & 0xf, 4, 'B2');
});
