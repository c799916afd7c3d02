// Focused checks of integer-instruction semantics that random differential vectors reach rarely:
// carry chains, #DE cases, BT's signed bit offsets, REP runs (long ones, overrides, faults part way),
// ENTER nesting, POP [ESP], CMPXCHG8B, and that a faulting read-modify-write leaves state untouched.
// Code bytes were assembled with nasm (the source is beside each).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeFlatCpu, type FlatCpu } from './harness';
import { ES, CS, SS, DS, FS, GS } from '../../adapter/cpu/insn';
import { AR_P, AR_S, AR_DB, AR_G, AR_DPL_SHIFT, CR0_ET } from '../../adapter/cpu/cpu';

const CF = 0x1, ZF = 0x40, SF = 0x80, AF = 0x10, OF = 0x800, DF = 0x400;
const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
const CODE = 0x1000, DATA = 0x20000, STACK = 0x80000;

const hex = (s: string): number[] => (s.match(/../g) ?? []).map((b) => parseInt(b, 16));

interface Init { regs?: Record<number, number>; eflags?: number; mem?: [number, number[]][] }

let shared: FlatCpu | null = null;
function cpu(): FlatCpu {
  shared ??= makeFlatCpu();
  return shared;
}

/** Run the code bytes once from CODE with the given state; returns the fault vector (or null). */
function run(f: FlatCpu, code: string, init: Init = {}): number | null {
  const bytes = hex(code);
  f.writeMem(CODE, [...bytes, 0x90]);
  const regs = [0, 0, 0, 0, STACK, 0, 0, 0];
  for (const [k, v] of Object.entries(init.regs ?? {})) regs[Number(k)] = v;
  f.setRegs(regs);
  f.setEflags(init.eflags ?? 0x202);
  for (const [addr, b] of init.mem ?? []) f.writeMem(addr, b);
  return f.run(CODE, CODE + bytes.length, 1_000_000).fault;
}

const u32 = (f: FlatCpu, addr: number): number => new DataView(f.readMem(addr, 4).buffer).getUint32(0, true);
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

test('ADD/ADC and SUB/SBB chain a 64-bit carry', () => {
  const f = cpu();
  // add eax, ecx ; adc edx, ebx: 0x00000001_ffffffff + 0x00000002_00000001
  run(f, '01c811da', { regs: { [EAX]: -1, [EDX]: 1, [ECX]: 1, [EBX]: 2 } });
  assert.deepEqual([f.getRegs()[EAX], f.getRegs()[EDX]], [0, 4]);
  // sub eax, ecx ; sbb edx, ebx: 0x00000004_00000000 - 0x00000002_00000001
  run(f, '29c819da', { regs: { [EAX]: 0, [EDX]: 4, [ECX]: 1, [EBX]: 2 } });
  assert.deepEqual([f.getRegs()[EAX], f.getRegs()[EDX]], [0xffffffff, 1]);
  assert.equal(f.getEflags() & CF, 0);
});

test('INC and DEC keep CF', () => {
  const f = cpu();
  run(f, 'f940', { regs: { [EAX]: 0x7fffffff } }); // stc ; inc eax
  assert.equal(f.getEflags() & (CF | OF | SF | ZF), CF | OF | SF);
  run(f, '01c84a', { regs: { [EAX]: -1, [ECX]: 1, [EDX]: 1 } }); // add eax, ecx (carry) ; dec edx
  assert.equal(f.getEflags() & (CF | ZF), CF | ZF);
});

test('DIV and IDIV: exact 64/32 quotients, #DE on zero divisor and overflow with registers untouched', () => {
  const f = cpu();
  assert.equal(run(f, 'f7f1', { regs: { [EDX]: 2, [EAX]: 5, [ECX]: 3 } }), null); // div ecx
  assert.deepEqual([f.getRegs()[EAX], f.getRegs()[EDX]], [0xaaaaaaac, 1]); // 0x2_00000005 / 3
  assert.equal(run(f, 'f7f1', { regs: { [EDX]: 0xfffffffe, [EAX]: 0xffffffff, [ECX]: 0xffffffff } }), null);
  assert.deepEqual([f.getRegs()[EAX], f.getRegs()[EDX]], [0xffffffff, 0xfffffffe]);
  assert.equal(run(f, 'f7f1', { regs: { [EDX]: 1, [EAX]: 0, [ECX]: 0 } }), 0);
  assert.equal(run(f, 'f7f1', { regs: { [EDX]: 3, [EAX]: 0, [ECX]: 3 } }), 0); // quotient needs 33 bits
  assert.deepEqual([f.getRegs()[EAX], f.getRegs()[EDX]], [0, 3]);
  // idiv ecx: -2^63 + 1 ... and INT_MIN / -1
  assert.equal(run(f, 'f7f9', { regs: { [EDX]: -1, [EAX]: 0x80000000, [ECX]: -1 } }), 0);
  assert.equal(run(f, 'f7f9', { regs: { [EDX]: -1, [EAX]: 0, [ECX]: 0x10000 } }), null); // -2^32 / 65536
  assert.deepEqual([f.getRegs()[EAX] | 0, f.getRegs()[EDX]], [-65536, 0]);
  assert.equal(run(f, 'f7f9', { regs: { [EDX]: -1, [EAX]: -7, [ECX]: 2 } }), null);
  assert.deepEqual([f.getRegs()[EAX] | 0, f.getRegs()[EDX] | 0], [-3, -1]); // remainder takes the dividend's sign
  assert.equal(run(f, 'd400'), 0); // aam 0
});

test('MUL, IMUL and BSR results', () => {
  const f = cpu();
  run(f, 'f7e1', { regs: { [EAX]: 0xffffffff, [ECX]: 0xffffffff } }); // mul ecx
  assert.deepEqual([f.getRegs()[EAX], f.getRegs()[EDX]], [1, 0xfffffffe]);
  assert.equal(f.getEflags() & (CF | OF), CF | OF);
  run(f, '6bc1f9', { regs: { [ECX]: 0x23456789 } }); // imul eax, ecx, -7
  assert.equal(f.getRegs()[EAX], Math.imul(0x23456789, -7) >>> 0);
  assert.equal(f.getEflags() & (CF | OF), CF | OF);
  run(f, '0fbdc1', { regs: { [EAX]: 77, [ECX]: 0x00801000 } }); // bsr eax, ecx
  assert.equal(f.getRegs()[EAX], 23);
  run(f, '0fbdc1', { regs: { [EAX]: 77, [ECX]: 0 } });
  assert.equal(f.getRegs()[EAX], 77, 'a zero source leaves the destination');
  assert.equal(f.getEflags() & ZF, ZF);
});

test('BT/BTS with a register offset address memory beyond the operand, negative offsets below it', () => {
  const f = cpu();
  f.writeMem(DATA - 8, new Array(16).fill(0));
  run(f, '0fab0e', { regs: { [ESI]: DATA, [ECX]: -1 } }); // bts dword [esi], ecx: bit 31 of [esi-4]
  assert.equal(u32(f, DATA - 4), 0x80000000);
  assert.equal(f.getEflags() & CF, 0);
  run(f, '0fa30e', { regs: { [ESI]: DATA - 8, [ECX]: 63 } }); // bt dword [esi], ecx: bit 31 of [esi+4]
  assert.equal(f.getEflags() & CF, CF);
  run(f, '0fab0e', { regs: { [ESI]: DATA, [ECX]: 37 } }); // bit 5 of [esi+4]
  assert.equal(u32(f, DATA + 4), 0x20);
});

test('REP MOVSB copies forwards and backwards, including runs longer than one slice', () => {
  const f = cpu();
  const src = Array.from({ length: 10000 }, (_, k) => (k * 7) & 0xff);
  f.writeMem(DATA, src);
  run(f, 'fcf3a4', { regs: { [ESI]: DATA, [EDI]: DATA + 0x10000, [ECX]: src.length } }); // cld ; rep movsb
  assert.deepEqual(Array.from(f.readMem(DATA + 0x10000, src.length)), src);
  assert.deepEqual([f.getRegs()[ECX], f.getRegs()[ESI], f.getRegs()[EDI]], [0, DATA + src.length, DATA + 0x10000 + src.length]);
  run(f, 'fdf3a4', { regs: { [ESI]: DATA + 9, [EDI]: DATA + 0x20009, [ECX]: 10 } }); // std ; rep movsb
  assert.deepEqual(Array.from(f.readMem(DATA + 0x20000, 10)), src.slice(0, 10));
  assert.deepEqual([f.getRegs()[ESI], f.getRegs()[EDI]], [DATA - 1, DATA + 0x1ffff]);
});

test('REP MOVS/STOS in bulk: overlapping copies repeat bytes, unaligned runs cross pages', () => {
  const f = cpu();
  f.writeMem(DATA, [7, 8, 9]);
  run(f, 'fcf3a4', { regs: { [ESI]: DATA, [EDI]: DATA + 1, [ECX]: 100 } }); // dst = src + 1: a byte fill
  assert.deepEqual(Array.from(f.readMem(DATA, 101)), new Array(101).fill(7));
  run(f, 'f366ab', { regs: { [EAX]: 0xbeef, [EDI]: DATA + 0xfff, [ECX]: 3000 } }); // rep stosw at an odd address
  const words = new DataView(f.readMem(DATA + 0xfff, 6000).buffer);
  assert.ok(Array.from({ length: 3000 }, (_, k) => words.getUint16(2 * k, true)).every((w) => w === 0xbeef));
  const src = Array.from({ length: 20000 }, (_, k) => (k * 13 + 5) & 0xff);
  f.writeMem(DATA + 0x10010, src);
  run(f, 'fcf3a5', { regs: { [ESI]: DATA + 0x10010, [EDI]: DATA + 0x23003, [ECX]: 5000 } }); // rep movsd
  assert.deepEqual(Array.from(f.readMem(DATA + 0x23003, 20000)), src);
  assert.deepEqual([f.getRegs()[ECX], f.getRegs()[EDI]], [0, DATA + 0x23003 + 20000]);
});

test('REP STOSD, REPE CMPSB and REPNE SCASB stop where the SDM says', () => {
  const f = cpu();
  run(f, 'f3ab', { regs: { [EAX]: 0x11223344, [EDI]: DATA, [ECX]: 3 } }); // rep stosd
  assert.deepEqual([u32(f, DATA), u32(f, DATA + 8), f.getRegs()[EDI]], [0x11223344, 0x11223344, DATA + 12]);
  f.writeMem(DATA, [1, 2, 3, 4, 5]);
  f.writeMem(DATA + 0x100, [1, 2, 9, 4, 5]);
  run(f, 'f3a6', { regs: { [ESI]: DATA, [EDI]: DATA + 0x100, [ECX]: 5 } }); // repe cmpsb
  assert.deepEqual([f.getRegs()[ECX], f.getRegs()[ESI], f.getRegs()[EDI]], [2, DATA + 3, DATA + 0x103]);
  assert.equal(f.getEflags() & ZF, 0);
  f.writeMem(DATA, [...Buffer.from('hello'), 0]);
  run(f, 'f2ae', { regs: { [EAX]: 0, [EDI]: DATA, [ECX]: -1 } }); // repne scasb (strlen)
  assert.equal(~f.getRegs()[ECX] - 1, 5);
  assert.equal(f.getEflags() & ZF, ZF);
});

test('string sources honour segment overrides and 16-bit address size uses SI/DI/CX', () => {
  const f = cpu();
  const ar = AR_P | AR_S | AR_DB | AR_G | (3 << AR_DPL_SHIFT) | 3;
  f.cpu.loadSegCache(FS, 0x2b, 0x40000, -1, ar);
  f.writeMem(0x40000 + 0x10, [0xab]);
  run(f, '64ac', { regs: { [ESI]: 0x10 } }); // fs lodsb
  assert.equal(f.getRegs()[EAX] & 0xff, 0xab);
  // a16 rep movsb: only SI/DI/CX step (their high halves stay)
  f.writeMem(0x8000, [1, 2, 3]);
  run(f, 'f367a4', { regs: { [ESI]: 0x55558000, [EDI]: 0x66669000, [ECX]: 0x77770003 } });
  assert.deepEqual(Array.from(f.readMem(0x9000, 3)), [1, 2, 3]);
  assert.deepEqual([f.getRegs()[ECX], f.getRegs()[ESI], f.getRegs()[EDI]], [0x77770000, 0x55558003, 0x66669003]);
});

test('ENTER with nesting copies the enclosing frame pointers; LEAVE undoes it', () => {
  const f = cpu();
  const oldBp = STACK - 0x40;
  f.writeMem(oldBp - 8, [...le32(0xaaaa0001), ...le32(0xbbbb0002)]); // [ebp-8], [ebp-4]
  run(f, 'c8080003', { regs: { [EBP]: oldBp } }); // enter 8, 3
  const frame = STACK - 4;
  const r = f.getRegs();
  assert.equal(r[EBP], frame);
  assert.equal(r[ESP], frame - 12 - 8);
  assert.deepEqual([u32(f, frame), u32(f, frame - 4), u32(f, frame - 8), u32(f, frame - 12)], [oldBp, 0xbbbb0002, 0xaaaa0001, frame]);
  f.setRegs(r);
  f.writeMem(CODE, [0xc9, 0x90]); // leave
  f.run(CODE, CODE + 1);
  assert.deepEqual([f.getRegs()[ESP], f.getRegs()[EBP]], [STACK, oldBp]);
});

test('POP r/m computes an ESP-based address after the increment', () => {
  const f = cpu();
  f.writeMem(STACK - 8, [...le32(0x12345678), ...le32(0), ...le32(0)]);
  run(f, '8f0424', { regs: { [ESP]: STACK - 8 } }); // pop dword [esp]
  assert.equal(u32(f, STACK - 4), 0x12345678);
  assert.equal(f.getRegs()[ESP], STACK - 4);
});

test('PUSHA/POPA round trip; POPA skips the saved ESP', () => {
  const f = cpu();
  run(f, '60', { regs: { [EAX]: 1, [ECX]: 2, [EDX]: 3, [EBX]: 4, [EBP]: 6, [ESI]: 7, [EDI]: 8 } });
  assert.equal(u32(f, STACK - 20), STACK, 'the original ESP is stored');
  f.writeMem(STACK - 20, le32(0xdead));
  run(f, '61', { regs: { [ESP]: STACK - 32 } });
  assert.deepEqual(f.getRegs(), [1, 2, 3, 4, STACK, 6, 7, 8]);
});

test('CMPXCHG8B, CMPXCHG and XADD', () => {
  const f = cpu();
  f.writeMem(DATA, [...le32(5), ...le32(6)]);
  run(f, '0fc70e', { regs: { [ESI]: DATA, [EAX]: 5, [EDX]: 6, [EBX]: 7, [ECX]: 8 } }); // equal: store ECX:EBX
  assert.deepEqual([u32(f, DATA), u32(f, DATA + 4), f.getEflags() & ZF], [7, 8, ZF]);
  run(f, '0fc70e', { regs: { [ESI]: DATA, [EAX]: 1, [EDX]: 2 } }); // unequal: load EDX:EAX
  assert.deepEqual([f.getRegs()[EAX], f.getRegs()[EDX], f.getEflags() & ZF], [7, 8, 0]);
  run(f, '0fb10e', { regs: { [ESI]: DATA, [EAX]: 3, [ECX]: 99 } }); // cmpxchg [esi], ecx: unequal
  assert.deepEqual([u32(f, DATA), f.getRegs()[EAX]], [7, 7]);
  run(f, '0fc106', { regs: { [ESI]: DATA, [EAX]: 10 } }); // xadd [esi], eax
  assert.deepEqual([u32(f, DATA), f.getRegs()[EAX]], [17, 7]);
});

test('BOUND raises #BR outside the signed bounds', () => {
  const f = cpu();
  f.writeMem(DATA, [...le32(-5), ...le32(5)]);
  assert.equal(run(f, '6206', { regs: { [ESI]: DATA, [EAX]: -5 } }), null);
  assert.equal(run(f, '6206', { regs: { [ESI]: DATA, [EAX]: 6 } }), 5);
});

test('RCL through CF and SHLD by CL', () => {
  const f = cpu();
  run(f, 'd2d0', { regs: { [EAX]: 0x81, [ECX]: 9 }, eflags: 0x202 | CF }); // rcl al, 9: a full turn
  assert.equal(f.getRegs()[EAX] & 0xff, 0x81);
  run(f, 'd2d0', { regs: { [EAX]: 0x81, [ECX]: 1 }, eflags: 0x202 | CF }); // rcl al, 1
  assert.deepEqual([f.getRegs()[EAX] & 0xff, f.getEflags() & CF], [0x03, CF]);
  run(f, '0fa5d0', { regs: { [EAX]: 0x12345678, [EDX]: 0x9abcdef0, [ECX]: 8 } }); // shld eax, edx, cl
  assert.equal(f.getRegs()[EAX], 0x3456789a);
});

/** A CPU with paging on: pages identity-mapped user read/write, except `readOnly` (user read-only). */
function pagedCpu(readOnly: number): FlatCpu {
  const f = makeFlatCpu();
  const dv = new DataView(f.mem.buffer);
  const PD = 0x300000, PT = 0x301000;
  for (let t = 0; t < 2; t++) {
    dv.setUint32(PD + t * 4, (PT + t * 0x1000) | 7, true);
    for (let p = 0; p < 1024; p++) {
      const addr = (t << 22) | (p << 12);
      dv.setUint32(PT + t * 0x1000 + p * 4, addr | (addr === readOnly ? 5 : 7), true);
    }
  }
  f.cpu.cr3 = PD;
  f.cpu.cr0 |= 0x80000000;
  f.cpu.updateMode();
  f.cpu.tlb.flushAll();
  return f;
}

test('a read-modify-write that faults on a read-only page leaves flags and memory unchanged', () => {
  const RO = 0x30000;
  const f = pagedCpu(RO);
  f.writeMem(RO, le32(0xffffffff));
  const flags = 0x202 | ZF | AF;
  assert.equal(run(f, '0106', { regs: { [ESI]: RO, [EAX]: 1 }, eflags: flags }), 14); // add [esi], eax
  assert.equal(f.getEflags() & 0xfff, flags & 0xfff);
  assert.equal(u32(f, RO), 0xffffffff);
});

test('REP MOVSB that faults part way leaves ECX/ESI/EDI at the faulting element', () => {
  const RO = 0x30000;
  const f = pagedCpu(RO);
  // copy 32 bytes to RO-16: the first 16 land, the 17th faults
  assert.equal(run(f, 'fcf3a4', { regs: { [ESI]: DATA, [EDI]: RO - 16, [ECX]: 32 }, eflags: 0x202 | DF }), 14);
  assert.deepEqual([f.getRegs()[ECX], f.getRegs()[ESI], f.getRegs()[EDI]], [16, DATA + 16, RO]);
});

/** A CPU in real mode: CS=0 (code at CODE), SS=0x1000 with SP=0x100, DS=0x2000, ES=0x3000. */
function realCpu(): FlatCpu {
  const f = makeFlatCpu();
  const c = f.cpu;
  c.cr0 = CR0_ET;
  c.cpl = 0;
  c.setEflags(0x2);
  const sel = [0x3000, 0, 0x1000, 0x2000, 0, 0];
  for (const s of [ES, CS, SS, DS, FS, GS]) c.loadSegCache(s, sel[s], sel[s] << 4, 0xffff, AR_P | AR_S | (s === CS ? 0xb : 3));
  c.updateMode();
  return f;
}
function run16(f: FlatCpu, code: string, regs: Record<number, number>): number | null {
  const bytes = hex(code);
  f.writeMem(CODE, [...bytes, 0x90]);
  const r = [0, 0, 0, 0, 0x100, 0, 0, 0];
  for (const [k, v] of Object.entries(regs)) r[Number(k)] = v;
  f.setRegs(r);
  return f.run(CODE, CODE + bytes.length).fault;
}

test('real mode: 16-bit pushes and pops, ENTER/LEAVE, LES, MOV DS and SI wrapping at 64 KiB', () => {
  const f = realCpu();
  run16(f, '506834125b59', { [EAX]: 0xabcd }); // push ax ; push word 0x1234 ; pop bx ; pop cx
  assert.deepEqual([f.getRegs()[EBX], f.getRegs()[ECX], f.getRegs()[ESP]], [0x1234, 0xabcd, 0x100]);
  assert.equal(u32(f, 0x10000 + 0xfc) >>> 16, 0xabcd, 'SS base 0x10000');
  run16(f, '666844332211665a', {}); // push dword 0x11223344 ; pop edx (66 prefixes)
  assert.deepEqual([f.getRegs()[EDX], f.getRegs()[ESP]], [0x11223344, 0x100]);
  f.writeMem(0x10000 + 0x7e, [0x22, 0x11]);
  run16(f, 'c8040002', { [EBP]: 0x80 }); // enter 4, 2
  assert.deepEqual([f.getRegs()[EBP], f.getRegs()[ESP]], [0xfe, 0xf6]);
  assert.deepEqual(Array.from(f.readMem(0x10000 + 0xfa, 6)), [0xfe, 0, 0x22, 0x11, 0x80, 0]);
  run16(f, 'c9', { [EBP]: 0xfe, [ESP]: 0xf6 }); // leave
  assert.deepEqual([f.getRegs()[EBP], f.getRegs()[ESP]], [0x80, 0x100]);
  f.writeMem(0x20010, [0x78, 0x56, 0x00, 0x40]);
  run16(f, 'c437', { [EBX]: 0x10 }); // les si, [bx]
  assert.deepEqual([f.getRegs()[ESI], f.cpu.segSel[ES], f.cpu.segBase[ES]], [0x5678, 0x4000, 0x40000]);
  f.writeMem(0x50010, [0x99]);
  run16(f, '8ed8a01000', { [EAX]: 0x5000 }); // mov ds, ax ; mov al, [0x10]
  assert.equal(f.getRegs()[EAX], 0x5099);
  f.cpu.loadSegCache(DS, 0x2000, 0x20000, 0xffff, AR_P | AR_S | 3);
  f.cpu.loadSegCache(ES, 0x3000, 0x30000, 0xffff, AR_P | AR_S | 3);
  f.writeMem(0x2fffe, [1, 2]);
  f.writeMem(0x20000, [3, 4]);
  run16(f, 'f3a4', { [ESI]: 0xfffe, [EDI]: 0x100, [ECX]: 4 }); // rep movsb
  assert.deepEqual(Array.from(f.readMem(0x30100, 4)), [1, 2, 3, 4]);
  assert.equal(f.getRegs()[ESI], 2);
});
