// What user mode may only try: undefined opcodes, software interrupts, privileged and I/O
// instructions (all #UD or #GP at CPL 3 with IOPL 0), LOCK where it is not allowed, the
// 15-byte limit, redundant and ignored prefixes, self-modifying code, alignment checks.
import { form, hex8 } from './util.mjs';
import { REGS32, AC } from '../cases.mjs';

const forms = [];
const always = { faults: 'always' };

forms.push(form('ud2', 'ud2', always));
forms.push(form('ud0 r32, r/m32', 'ud0 {r32}, {r32}', always));
forms.push(form('ud1 r32, r/m32', 'ud1 {r32}, {r32}', always));
forms.push(form('rsm (#UD outside SMM)', 'rsm', always));
// INT n at CPL 3 through a DPL 0 gate: #GP with error code (n << 3) | 2 (IDT, external clear).
forms.push(form('int imm8 (DPL 0 gate)', (ctx) => {
  let n;
  do n = ctx.below(256); while (n === 3 || n === 4 || n === 0x80);
  return `int ${n}`;
}, always));

// Privileged instructions: #GP(0) at CPL 3.
const PRIV = [
  'hlt', 'cli', 'sti', 'clts', 'invd', 'wbinvd', 'rdmsr', 'wrmsr',
  'lgdt [{m}]', 'lidt [{m}]', 'lldt {r16}', 'ltr {r16}', 'lmsw {r16}', 'invlpg [{m}]',
  'mov cr0, {r32}', 'mov {r32}, cr0', 'mov {r32}, cr2', 'mov cr3, {r32}', 'mov {r32}, cr4',
  'mov {r32}, dr7', 'mov dr0, {r32}',
];
for (const p of PRIV) {
  const asm = p.replace('[{m}]', '{m}');
  forms.push(form(`${p.replace(/\{(\w+)\}/g, '$1').replace('[m]', 'm')} (#GP at CPL 3)`, asm, { ...always, memBytes: 6 }));
}
// I/O without IOPL and without an I/O bitmap: #GP(0).
const IO = ['in al, {i8}', 'in eax, {i8}', 'out {i8}, al', 'in al, dx', 'in ax, dx', 'out dx, eax', 'insb', 'insd', 'outsb', 'outsw', 'rep insb', 'rep outsd'];
for (const p of IO) forms.push(form(`${p.replace(/\{(\w+)\}/g, 'imm8')} (#GP, IOPL 0)`, p, always));

// LOCK on instructions that cannot be locked.
forms.push(form('lock nop (#UD)', 'lock nop', always));
forms.push(form('lock mov m32, r32 (#UD)', 'lock mov {m32}, {r32}', always));
forms.push(form('lock inc r32 (#UD)', 'db 0xf0, 0x40 ; lock inc eax', always));
forms.push(form('lock lea (#UD)', 'lock lea {r32}, {m}', { ...always, memBytes: 4 }));

// Instruction length: 15 bytes run, 16 raise #GP(0).
forms.push(form('15-byte instruction (14 prefixes)', (ctx) => `times 13 db 0x66\ndb 0x3e\nnop`));
forms.push(form('16-byte instruction (#GP)', (ctx) => `times 14 db ${hex8(ctx.pick([0x66, 0x3e, 0x26, 0x36, 0xf3]))}\ndb 0x66\nnop`, always));
forms.push(form('15-byte add with imm32 and SIB (prefixes)', (ctx) =>
  `times ${ctx.pick([4, 4, 5])} db 0x3e\nadd dword [eax+ecx*1+0x12345678], strict dword {i32}`, {
    faults: 'sometimes',
    setup: (ctx) => { ctx.setReg('ecx', 0); ctx.setReg('eax', (ctx.dataAddr - 0x12345678 + ctx.below(120)) >>> 0); },
  }));

// Prefixes that change nothing here: segment overrides on register operands, repeated
// operand-size prefixes, REP/REPNE on non-string one-byte instructions, branch hints.
forms.push(form('segment prefix on register add', (ctx) => `db ${hex8(ctx.pick([0x26, 0x2e, 0x36, 0x3e]))}\nadd {r32}, {r32}`));
forms.push(form('repeated 66 prefixes', 'db 0x66, 0x66\nadd {r16}, {r16}'));
forms.push(form('rep prefix on add', (ctx) => `db ${hex8(ctx.pick([0xf2, 0xf3]))}\nadd {r32}, {r32}`));
forms.push(form('branch hint prefixes on jcc', (ctx) => {
  const r = REGS32[ctx.freeReg()];
  return `db ${hex8(ctx.pick([0x2e, 0x3e]))}\n${ctx.pick(['jz', 'jnz', 'jc', 'jnc', 'jo', 'js'])} short .t\nlea ${r}, [${r}+1]\n.t:`;
}, { text: 'ds jcc .t' }));
forms.push(form('segment overrides on memory add', (ctx) => `${ctx.pick(['ds', 'es', 'ss', 'cs'])} add {r32}, {m32}`));
forms.push(form('cs: override on a memory write (#GP)', 'cs add {m32}, {r32}', always));
forms.push(form('66 and 67 together on lea', 'lea {r16}, {m}', { memBytes: 4, low: true }));

// Self-modifying code: a store into the next instruction must be seen when it runs.
forms.push(form('store into the next instruction (SMC)', (ctx) => {
  const r = REGS32[ctx.freeReg()];
  return `mov byte [DG_ABS(.p)+${ctx.pick([1, 2, 3, 4])}], {i8}\n.p: mov ${r}, strict dword 0x11223344`;
}));
forms.push(form('store over the next opcode (SMC)', (ctx) => {
  const r = REGS32[ctx.freeReg()];
  // replace "add r, r" by "sub r, r" (or xor, and...) just before it runs
  const op = ctx.pick([0x01, 0x09, 0x21, 0x29, 0x31]);
  return `mov byte [DG_ABS(.p)], ${hex8(op)}\n.p: add ${r}, {r32}`;
}));

// The kind of access in a #PF error code (W bit): read-modify-write and write-only
// instructions fault as writes even when they would not change memory (CMPXCHG always writes).
const RMW = ['add dword {U}, {r32}', 'sbb byte {U}, {r8}', 'and word {U}, {i16}', 'xor dword {U}, byte {s8}', 'inc dword {U}',
  'neg byte {U}', 'not word {U}', 'shl dword {U}, 1', 'rcr byte {U}, cl', 'shld dword {U}, {r32}, 3', 'xchg dword {U}, {r32}',
  'xadd dword {U}, {r32}', 'cmpxchg dword {U}, {r32}', 'cmpxchg8b qword {U}', 'bts dword {U}, 5', 'btc word {U}, {r16}',
  'lock add dword {U}, {r32}', 'lock cmpxchg byte {U}, {r8}', 'sete byte {U}', 'mov dword {U}, {r32}', 'mov byte {U}, {i8}',
  'pop dword {U}', 'stosd', 'movsb'];
const READS = ['cmp dword {U}, {r32}', 'test byte {U}, {r8}', 'mov {r32}, dword {U}', 'bt dword {U}, 7', 'push dword {U}',
  'movzx {r32}, word {U}', 'lodsb', 'imul {r32}, dword {U}', 'div dword {U}', 'bound {r32}, {U}', 'lar {r32}, word {U}',
  'cmovz {r32}, dword {U}', 'jmp dword {U}', 'lds {r32}, {U}', 'xlatb'];
function unmapped(list) {
  return (ctx) => {
    const t = ctx.pick(list);
    const a = 0x00400000 + ctx.below(0x2000);
    if (/stos|movs|lods|xlat/.test(t)) {
      ctx.setReg('edi', a); ctx.setReg('esi', /movs/.test(t) ? ctx.dataAddr : a); ctx.setReg('ebx', a - 3); ctx.setReg('eax', 3);
    }
    return t.replace('{U}', `[0x${a.toString(16)}]`);
  };
}
forms.push(form('write or read-modify-write to an unmapped page (#PF, W=1)', unmapped(RMW), { ...always, keep: [0, 3, 6, 7], text: 'rmw [unmapped]' }));
forms.push(form('read from an unmapped page (#PF, W=0)', unmapped(READS), { ...always, keep: [0, 3, 6, 7], text: 'read [unmapped]' }));

// Alignment checking: CR0.AM is set by the host kernel, so EFLAGS.AC=1 at CPL 3 makes a
// misaligned access raise #AC(0).
forms.push(form('misaligned load with EFLAGS.AC=1 (#AC)', 'mov {r32}, {m32}', {
  faults: 'sometimes',
  memOpts: { noStack: true },
  setup: (ctx) => ctx.setFlags(AC),
}));
forms.push(form('misaligned word store with EFLAGS.AC=1 (#AC)', 'mov {m16}, {r16}', {
  faults: 'sometimes',
  memOpts: { noStack: true },
  setup: (ctx) => ctx.setFlags(AC),
}));

export default { name: 'misc', forms };
