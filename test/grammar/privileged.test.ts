// The knowledge behind hovers and privileged-line marks (src/language/virtualization.ts): each
// instruction form classified from its text, its privilege from the opcode table, and what each
// virtualization mode does with it, with exit reasons named as the hypervisor's table names them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classify, behaviour, summary, privilegedLines, instructionText, exit, MODES, MNEMONICS } from '../../src/language/virtualization';
import { describe } from '../../src/language/descriptions';
import { EXIT_REASONS } from '../../adapter/hypervisor/exitreasons';
import { allEntries, OpFlag } from '../../adapter/cpu/opcodes';

test('the hover line for MOV to CR3 reads as the issue asks', () => {
  assert.equal(
    summary(classify('mov cr3, eax')!),
    'MOV to CR3 — CPL 0 only. vtx+ept: no exit by default. vtx+shadow: exits (28 CR_ACCESS) so the hypervisor switches shadow roots. trap-and-emulate: #GP at ring 1, emulated by the monitor against the virtual CR.',
  );
});

test('operands decide MOV and PUSH; the table decides the rest', () => {
  assert.equal(classify('mov eax, ebx')!.privilege, 'none');
  assert.equal(classify('mov cr0, eax')!.title, 'MOV to CR0');
  assert.equal(classify('mov eax, cr2')!.title, 'MOV from CR2');
  assert.equal(classify('mov dr7, eax')!.privilege, 'cpl0');
  assert.equal(classify('mov ax, cs')!.privilege, 'sensitive');
  assert.equal(classify('push cs')!.privilege, 'sensitive');
  assert.equal(classify('push eax')!.privilege, 'none');
  assert.equal(classify('lgdt [gdtr]')!.privilege, 'cpl0');
  assert.equal(classify('cli')!.privilege, 'iopl');
  assert.equal(classify('rep outsb')!.privilege, 'iopl');
  assert.equal(classify('popfd')!.privilege, 'sensitive');
  assert.equal(classify('cpuid')!.privilege, 'none');
  assert.equal(classify('label_only'), undefined);
});

test('every CPL-0 entry of the opcode table is privileged for the editor too', () => {
  for (const e of allEntries()) {
    if (!(e.flags & OpFlag.Cpl0) || e.flags & OpFlag.Invalid) continue;
    const info = MNEMONICS[e.mnemonic];
    assert.ok(info, e.mnemonic);
    assert.ok(info.privilege === 'cpl0' || info.formsPrivilege === 'cpl0', `${e.mnemonic} is CPL 0 in the table`);
  }
});

test('exit reasons quoted in the behaviour table exist in the hypervisor\'s exit table', () => {
  const names = new Set(EXIT_REASONS.map((r) => r.name));
  for (const text of ['hlt', 'cpuid', 'out dx, al', 'wrmsr', 'rdmsr', 'invlpg [x]', 'mov cr3, eax', 'vmcall', 'invd', 'pause', 'lgdt [x]', 'mwait', 'rdtsc', 'mov dr0, eax']) {
    const b = behaviour(classify(text)!);
    for (const m of MODES) {
      for (const [, n, name] of b[m].matchAll(/\((\d+) ([A-Z_]+)\)/g)) {
        assert.ok(names.has(name), `${name} (${text}, ${m})`);
        assert.equal(EXIT_REASONS.find((r) => r.name === name)!.number, Number(n));
      }
    }
  }
  assert.throws(() => exit('NO_SUCH_EXIT'));
});

test('the sensitive instructions are the holes of trap-and-emulate', () => {
  for (const text of ['sgdt [x]', 'sidt [x]', 'smsw ax', 'pushfd', 'popfd', 'str ax', 'lar eax, ebx', 'push cs']) {
    assert.match(behaviour(classify(text)!)['trap-and-emulate'], /NOT trap/, text);
  }
  assert.match(behaviour(classify('hlt')!)['vtx+ept'], /12 HLT/);
  assert.match(behaviour(classify('invlpg [eax]')!)['vtx+shadow'], /14 INVLPG/);
  assert.match(behaviour(classify('invlpg [eax]')!)['vtx+ept'], /no exit/);
  assert.match(behaviour(classify('vmcall')!).paravirt, /18 VMCALL/);
});

test('privileged lines of the demo kernel: labels, comments and ordinary MOVs aside', () => {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', 'samples', 'kernel.asm'), 'utf8');
  const lines = text.split('\n');
  const found = privilegedLines(text).map((p) => lines[p.line].trim());
  for (const want of ['mov cr3, eax', 'lgdt [gdt_descriptor]', 'ltr ax', 'wrmsr', 'hlt', 'sysexit', 'invlpg [REMAP_VIRTUAL]']) {
    assert.ok(found.some((l) => l.startsWith(want)), want);
  }
  assert.ok(!found.some((l) => /^mov (esp|eax, ebx|\[)/.test(l)));
  assert.ok(!found.some((l) => l.startsWith(';')));
  assert.equal(instructionText('.halt:   cli   ; stop'), 'cli');
  assert.equal(instructionText('msg: db "a;b", 0'), 'db "a;b", 0');
  assert.equal(instructionText('%define X 1'), undefined);
});

test('every mnemonic has a one-line description', () => {
  for (const mn of Object.keys(MNEMONICS)) assert.ok(describe(mn).length >= 3, mn);
  assert.equal(describe('lgdt'), 'Load the global descriptor table register');
  assert.equal(describe('jnz'), 'Jump if the condition holds');
});
