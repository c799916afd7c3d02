// The guest-asm TextMate grammar, tokenized by the same engine VS Code uses (vscode-textmate with
// the Oniguruma regex library): scopes asserted on the sample files and on the samples/ guests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vsctm from 'vscode-textmate';
import * as oniguruma from 'vscode-oniguruma';
import { buildIsa, buildGrammar } from '../../scripts/gen-guest-asm';

const ROOT = path.resolve(__dirname, '..', '..');
const GRAMMAR = path.join(ROOT, 'syntaxes', 'guest-asm.tmLanguage.json');

let grammarPromise: Promise<vsctm.IGrammar> | undefined;
function grammar(): Promise<vsctm.IGrammar> {
  grammarPromise ??= (async () => {
    const wasm = fs.readFileSync(path.join(ROOT, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new vsctm.Registry({
      onigLib: Promise.resolve({ createOnigScanner: (s: string[]) => new oniguruma.OnigScanner(s), createOnigString: (s: string) => new oniguruma.OnigString(s) }),
      loadGrammar: async (scope) => (scope === 'source.guest-asm' ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR) : null),
    });
    const g = await registry.loadGrammar('source.guest-asm');
    if (!g) throw new Error('grammar did not load');
    return g;
  })();
  return grammarPromise;
}

/** Tokens of a text: [token text, innermost scope] per line. */
async function tokenize(text: string): Promise<{ text: string; scopes: string[] }[][]> {
  const g = await grammar();
  let state = vsctm.INITIAL;
  return text.split('\n').map((line) => {
    const r = g.tokenizeLine(line, state);
    state = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
}

/** The innermost scope of `word` on the first line containing `lineHas`. */
async function scopeOf(text: string, lineHas: string, word: string): Promise<string> {
  const lines = text.split('\n');
  const k = lines.findIndex((l) => l.includes(lineHas));
  assert.ok(k >= 0, `no line has ${lineHas}`);
  const toks = (await tokenize(text))[k];
  const t = toks.find((x) => x.text.trim() === word);
  assert.ok(t, `'${word}' is not a token of line ${k + 1}: ${JSON.stringify(toks.map((x) => x.text))}`);
  return t.scopes[t.scopes.length - 1];
}

const sample = fs.readFileSync(path.join(__dirname, 'samples', 'syntax.asm'), 'utf8');

test('the committed grammar and ISA data match what the opcode table generates', () => {
  const isa = buildIsa();
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(ROOT, 'src', 'language', 'isa.generated.json'), 'utf8')), JSON.parse(JSON.stringify(isa)));
  assert.deepEqual(JSON.parse(fs.readFileSync(GRAMMAR, 'utf8')), JSON.parse(JSON.stringify(buildGrammar(isa))));
});

test('privileged instructions get their own scope, MOV only in its control and debug register forms', async () => {
  assert.equal(await scopeOf(sample, 'lgdt', 'lgdt'), 'keyword.control.privileged.guest-asm');
  assert.equal(await scopeOf(sample, 'mov cr0, eax', 'mov'), 'keyword.control.privileged.guest-asm');
  assert.equal(await scopeOf(sample, 'mov cr3, ebx', 'cr3'), 'variable.language.register.system.guest-asm');
  assert.equal(await scopeOf(sample, 'mov eax, cr0', 'mov'), 'keyword.control.privileged.guest-asm');
  assert.equal(await scopeOf(sample, 'mov dr7, eax', 'mov'), 'keyword.control.privileged.guest-asm');
  assert.equal(await scopeOf(sample, 'mov ebx, eax', 'mov'), 'keyword.mnemonic.guest-asm');
  assert.equal(await scopeOf(sample, '    hlt', 'hlt'), 'keyword.control.privileged.guest-asm');
  assert.equal(await scopeOf(sample, 'vmlaunch', 'vmlaunch'), 'keyword.control.privileged.guest-asm');
  assert.equal(await scopeOf(sample, 'vmrun', 'vmrun'), 'keyword.control.privileged.guest-asm');
  assert.equal(await scopeOf(sample, 'invept', 'invept'), 'keyword.control.privileged.guest-asm');
});

test('IOPL-sensitive, sensitive-unprivileged and system instructions are told apart', async () => {
  assert.equal(await scopeOf(sample, '    cli', 'cli'), 'keyword.control.privileged.iopl.guest-asm');
  assert.equal(await scopeOf(sample, 'in al, dx', 'in'), 'keyword.control.privileged.iopl.guest-asm');
  assert.equal(await scopeOf(sample, 'pushfd', 'pushfd'), 'keyword.other.sensitive.guest-asm');
  assert.equal(await scopeOf(sample, 'sgdt', 'sgdt'), 'keyword.other.sensitive.guest-asm');
  assert.equal(await scopeOf(sample, 'cpuid', 'cpuid'), 'keyword.other.system.guest-asm');
  assert.equal(await scopeOf(sample, 'vmcall', 'vmcall'), 'keyword.other.system.guest-asm');
  assert.equal(await scopeOf(sample, 'jne .loop', 'jne'), 'keyword.mnemonic.guest-asm');
  assert.equal(await scopeOf(sample, 'rep movsb', 'rep'), 'keyword.control.prefix.guest-asm');
  assert.equal(await scopeOf(sample, 'rep movsb', 'movsb'), 'keyword.mnemonic.guest-asm');
});

test('every mnemonic of the opcode table is a keyword of some instruction scope', async () => {
  const isa = buildIsa();
  const names = Object.keys(isa.mnemonics).filter((m) => !m.startsWith('hint_nop'));
  const lines = await tokenize(names.map((m) => `    ${m}`).join('\n'));
  const missed = names.filter((m, k) => {
    const t = lines[k].find((x) => x.text === m);
    return !t || !/^keyword\.(control|other|mnemonic)/.test(t.scopes[t.scopes.length - 1]);
  });
  assert.deepEqual(missed, []);
});

test('registers: general, segment, control, debug', async () => {
  assert.equal(await scopeOf(sample, 'mov ax, ss', 'ss'), 'variable.language.register.segment.guest-asm');
  assert.equal(await scopeOf(sample, 'mov ax, ss', 'ax'), 'variable.language.register.guest-asm');
  assert.equal(await scopeOf(sample, 'mov dr7, eax', 'dr7'), 'variable.language.register.system.guest-asm');
  assert.equal(await scopeOf(sample, 'mov eax, cr0', 'cr0'), 'variable.language.register.system.guest-asm');
});

test('numbers in every NASM notation', async () => {
  const expect: [string, string][] = [
    ['123', 'decimal'], ['123d', 'decimal'], ['0d123', 'decimal'], ['0t123', 'decimal'], ['0x1F', 'hex'], ['1Fh', 'hex'], ['0h1F', 'hex'], ['$0F', 'hex'],
    ['777q', 'octal'], ['777o', 'octal'], ['0q777', 'octal'], ['0o777', 'octal'], ['1010b', 'binary'], ['1010y', 'binary'], ['0b1010', 'binary'],
    ['0y1_010', 'binary'], ['1.5', 'float'], ['1.5e-3', 'float'],
  ];
  for (const [n, kind] of expect) {
    const line = sample.split('\n').find((l) => l.includes(` ${n},`) || l.endsWith(` ${n}`))!;
    assert.equal(await scopeOf(sample, line, n), `constant.numeric.${kind}.guest-asm`, n);
  }
});

test('strings, comments, labels, directives and the preprocessor', async () => {
  assert.equal(await scopeOf(sample, '"double"', 'double'), 'string.quoted.double.guest-asm');
  assert.equal(await scopeOf(sample, '"double"', 'single'), 'string.quoted.single.guest-asm');
  assert.equal(await scopeOf(sample, '"double"', '\\n'), 'constant.character.escape.guest-asm');
  const first = (await tokenize(sample))[0][0];
  assert.equal(first.scopes.at(-1), 'comment.line.semicolon.guest-asm');
  assert.equal(await scopeOf(sample, 'start:', 'start'), 'entity.name.label.guest-asm');
  assert.equal(await scopeOf(sample, '.loop:', '.loop'), 'entity.name.label.local.guest-asm');
  assert.equal(await scopeOf(sample, 'jne .loop', '.loop'), 'entity.name.label.local.reference.guest-asm');
  assert.equal(await scopeOf(sample, '%%local:', '%%local'), 'entity.name.label.macro-local.guest-asm');
  assert.equal(await scopeOf(sample, 'value equ', 'value'), 'entity.name.label.guest-asm');
  assert.equal(await scopeOf(sample, 'value equ', 'equ'), 'keyword.control.directive.guest-asm');
  assert.equal(await scopeOf(sample, 'bits 32', 'bits'), 'keyword.control.directive.guest-asm');
  assert.equal(await scopeOf(sample, 'section .text', 'section'), 'keyword.control.directive.guest-asm');
  assert.equal(await scopeOf(sample, 'times 510', 'times'), 'keyword.control.directive.guest-asm');
  assert.equal(await scopeOf(sample, 'times 510', '$$'), 'variable.language.special.guest-asm');
  assert.equal(await scopeOf(sample, '%include', '%include'), 'keyword.control.directive.include.guest-asm');
  assert.equal(await scopeOf(sample, '%include', '"macros.inc"'), 'string.quoted.include.guest-asm');
  assert.equal(await scopeOf(sample, '%define PORT', 'PORT'), 'entity.name.constant.guest-asm');
  assert.equal(await scopeOf(sample, '%macro outb', 'outb'), 'entity.name.function.macro.guest-asm');
  assert.equal(await scopeOf(sample, 'mov dx, %1', '%1'), 'variable.parameter.macro.guest-asm');
  assert.equal(await scopeOf(sample, '%endmacro', '%endmacro'), 'keyword.control.directive.preprocessor.guest-asm');
  const inc = fs.readFileSync(path.join(__dirname, 'samples', 'macros.inc'), 'utf8');
  assert.equal(await scopeOf(inc, '%ifndef', '%ifndef'), 'keyword.control.directive.preprocessor.guest-asm');
  assert.equal(await scopeOf(inc, '%rep', '%rep'), 'keyword.control.directive.preprocessor.guest-asm');
  assert.equal(await scopeOf(inc, '%assign counter 0', 'counter'), 'entity.name.constant.guest-asm');
});

test('the sample kernel tokenizes with its privileged lines marked', async () => {
  const kernel = fs.readFileSync(path.join(ROOT, 'samples', 'kernel.asm'), 'utf8');
  const lines = await tokenize(kernel);
  const privileged = lines.flatMap((toks, k) => (toks.some((t) => t.scopes.at(-1) === 'keyword.control.privileged.guest-asm') ? [kernel.split('\n')[k].trim()] : []));
  for (const want of ['mov cr3, eax', 'mov cr0, eax', 'mov cr4, eax', 'lgdt [gdt_descriptor]', 'lidt [idt_descriptor]', 'wrmsr', 'rdmsr', 'sysexit']) {
    assert.ok(privileged.some((l) => l.startsWith(want)), `${want} is not marked privileged`);
  }
  assert.ok(!privileged.some((l) => l.startsWith('mov esp')), 'an ordinary MOV is marked privileged');
});
