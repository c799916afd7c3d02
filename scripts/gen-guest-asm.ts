// Generates the guest-asm language data from the CPU's opcode table (the single source of truth)
// and the VMX exit reasons:
//   syntaxes/guest-asm.tmLanguage.json   the TextMate grammar, its mnemonic lists from the table
//   src/language/isa.generated.json      every mnemonic with its classes and privilege, exit names
// Run: node --import tsx scripts/gen-guest-asm.ts [--check]   (--check: fail if the files are stale)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allEntries, Cls, OpFlag } from '../adapter/cpu/opcodes';
import { EXIT_REASONS } from '../adapter/hypervisor/exitreasons';

const ROOT = path.resolve(__dirname, '..');

/** Class bits by name (property access keeps this list checked against the table's enum). */
const CLASS_BITS: Record<string, number> = {
  CrWrite: Cls.CrWrite, CrRead: Cls.CrRead, Clts: Cls.Clts, Lmsw: Cls.Lmsw, DrAccess: Cls.DrAccess, DescLoad: Cls.DescLoad,
  DescStore: Cls.DescStore, Smsw: Cls.Smsw, Io: Cls.Io, MsrRead: Cls.MsrRead, MsrWrite: Cls.MsrWrite, Cpuid: Cls.Cpuid, Hlt: Cls.Hlt,
  IntFlag: Cls.IntFlag, Invlpg: Cls.Invlpg, Cache: Cls.Cache, Vmx: Cls.Vmx, Rdtsc: Cls.Rdtsc, Rdpmc: Cls.Rdpmc, Pause: Cls.Pause,
  SoftInt: Cls.SoftInt, Sysenter: Cls.Sysenter, FarTransfer: Cls.FarTransfer, Sensitive: Cls.Sensitive, Pushf: Cls.Pushf, Mwait: Cls.Mwait,
};

/** cpl0: #GP unless CPL 0; iopl: #GP when CPL > IOPL; sensitive: runs at any CPL but reveals or drops privileged state. */
type Privilege = 'cpl0' | 'iopl' | 'sensitive' | 'none';
interface MnemonicInfo { classes: string[]; privilege: Privilege; family?: string; inTable: boolean; operandDependent?: boolean; formsPrivilege?: Privilege }

// Instructions the 32-bit core's table does not decode, so the grammar and hover still know them:
// VMX and SVM extensions, 64-bit system instructions, later additions. [mnemonic, privilege, classes]
const EXTRA: [string, Privilege, string[]][] = [
  ['invept', 'cpl0', ['Vmx']], ['invvpid', 'cpl0', ['Vmx']], ['vmfunc', 'none', ['Vmx']],
  ['vmrun', 'cpl0', ['Svm']], ['vmload', 'cpl0', ['Svm']], ['vmsave', 'cpl0', ['Svm']], ['vmmcall', 'none', ['Svm']],
  ['stgi', 'cpl0', ['Svm']], ['clgi', 'cpl0', ['Svm']], ['skinit', 'cpl0', ['Svm']], ['invlpga', 'cpl0', ['Svm']],
  ['swapgs', 'cpl0', []], ['syscall', 'none', ['Sysenter']], ['sysret', 'cpl0', ['Sysenter']], ['sysexitq', 'cpl0', ['Sysenter']],
  ['rdtscp', 'none', ['Rdtsc']], ['rdpid', 'none', []], ['xgetbv', 'none', []], ['xsetbv', 'cpl0', []],
  ['invpcid', 'cpl0', ['Invlpg']], ['wbnoinvd', 'cpl0', ['Cache']], ['clac', 'cpl0', []], ['stac', 'cpl0', []],
  ['wrfsbase', 'none', []], ['wrgsbase', 'none', []], ['rdfsbase', 'none', []], ['rdgsbase', 'none', []],
  ['iretq', 'none', ['IntFlag', 'FarTransfer']], ['loadall', 'cpl0', []], ['umonitor', 'none', []], ['umwait', 'none', []],
  ['tpause', 'none', []], ['encls', 'cpl0', []], ['enclu', 'none', []], ['getsec', 'none', []], ['rdrand', 'none', []], ['rdseed', 'none', []],
  ['xsaves', 'cpl0', []], ['xrstors', 'cpl0', []], ['xsave', 'none', []], ['xrstor', 'none', []], ['xsaveopt', 'none', []],
  ['clflush', 'none', []], ['clflushopt', 'none', []], ['lfence', 'none', []], ['mfence', 'none', []], ['cmpxchg16b', 'none', []],
  ['prefetchw', 'none', []], ['popcnt', 'none', []], ['lzcnt', 'none', []], ['tzcnt', 'none', []], ['movbe', 'none', []], ['crc32', 'none', []],
  ['ud', 'none', []], ['fwait', 'none', []], ['fclex', 'none', []], ['finit', 'none', []], ['fsave', 'none', []], ['fstcw', 'none', []],
  ['fstenv', 'none', []], ['fstsw', 'none', []], ['movsq', 'none', []], ['stosq', 'none', []], ['lodsq', 'none', []], ['scasq', 'none', []],
  ['cmpsq', 'none', []], ['cdqe', 'none', []], ['cqo', 'none', []], ['jrcxz', 'none', []], ['jcxz', 'none', []],
];

// NASM spellings of the same instruction: condition-code synonyms and sized forms.
const CC_SYNONYMS: Record<string, string[]> = {
  o: ['o'], no: ['no'], c: ['c', 'b', 'nae'], nc: ['nc', 'ae', 'nb'], z: ['z', 'e'], nz: ['nz', 'ne'], na: ['na', 'be'], a: ['a', 'nbe'],
  s: ['s'], ns: ['ns'], pe: ['pe', 'p'], po: ['po', 'np'], l: ['l', 'nge'], nl: ['nl', 'ge'], ng: ['ng', 'le'], g: ['g', 'nle'],
};
const ALIASES: Record<string, string[]> = {
  pusha: ['pushad', 'pushaw'], popa: ['popad', 'popaw'], pushf: ['pushfd', 'pushfw'], popf: ['popfd', 'popfw'],
  iret: ['iretd', 'iretw'], ret: ['retn', 'retd', 'retw', 'retnd', 'retnw'], retf: ['retfd', 'retfw'], xlatb: ['xlat'],
  loop: ['loopd', 'loopw'], loope: ['loopz', 'looped', 'loopew', 'loopzd', 'loopzw'], loopne: ['loopnz', 'loopned', 'loopnew', 'loopnzd', 'loopnzw'],
  int3: ['int01', 'icebp'], int1: [], salc: ['setalc'], wait: [], sal: [], cmpxchg8b: [],
};

function privilegeOf(cls: number, flags: number): Privilege {
  if (flags & OpFlag.Cpl0) return 'cpl0';
  if (cls & Cls.Io) return 'iopl';
  if (cls & Cls.IntFlag && !(cls & (Cls.Sensitive | Cls.FarTransfer))) return 'iopl'; // CLI, STI
  if (cls & Cls.Sensitive) return 'sensitive';
  return 'none';
}

const RANK: Record<Privilege, number> = { none: 0, sensitive: 1, iopl: 2, cpl0: 3 };

function family(mn: string): string | undefined {
  if (/^f/.test(mn)) return 'x87';
  if (/^(j|cmov|set)/.test(mn) && !['jmp', 'jecxz', 'jcxz', 'jrcxz'].includes(mn)) return mn.startsWith('j') ? 'jcc' : mn.startsWith('cmov') ? 'cmovcc' : 'setcc';
  if (/^hint_nop/.test(mn)) return 'hint';
  return undefined;
}

export function buildIsa(): { mnemonics: Record<string, MnemonicInfo>; classBits: Record<string, number>; exitReasons: Record<string, number> } {
  // Every privilege a mnemonic's forms have: MOV is CPL 0 only for CRn/DRn, PUSH sensitive only for CS.
  const out = new Map<string, { cls: number; privileges: Set<Privilege>; inTable: boolean }>();
  const add = (mn: string, cls: number, privileges: Iterable<Privilege>, inTable: boolean) => {
    const cur = out.get(mn) ?? { cls: 0, privileges: new Set<Privilege>(), inTable };
    cur.cls |= cls;
    for (const p of privileges) cur.privileges.add(p);
    out.set(mn, cur);
  };
  for (const e of allEntries()) {
    if (e.flags & OpFlag.Invalid || e.mnemonic.startsWith('(')) continue;
    for (const mn of [e.mnemonic, e.mn16]) if (mn) add(mn, e.cls, [privilegeOf(e.cls, e.flags)], true);
  }
  // Synonyms inherit what their canonical form has.
  for (const [cc, syn] of Object.entries(CC_SYNONYMS)) {
    for (const p of ['j', 'cmov', 'set']) {
      const base = out.get(p + cc);
      if (base) for (const s of syn) add(p + s, base.cls, base.privileges, true);
    }
  }
  for (const [base, syn] of Object.entries(ALIASES)) {
    const b = out.get(base);
    if (b) for (const s of syn) add(s, b.cls, b.privileges, true);
  }
  const classBits: Record<string, number> = { ...CLASS_BITS, Svm: 1 << 30 };
  for (const [mn, priv, classes] of EXTRA) {
    if (!out.has(mn)) add(mn, classes.reduce((m, c) => m | classBits[c], 0), [priv], false);
  }
  const mnemonics: Record<string, MnemonicInfo> = {};
  for (const mn of [...out.keys()].sort()) {
    const v = out.get(mn)!;
    const privs = [...v.privileges].sort((a, b) => RANK[a] - RANK[b]);
    // Several privileges: the mnemonic's plain forms set its scope, the operands pick out the rest.
    const info: MnemonicInfo = { classes: Object.entries(classBits).filter(([, b]) => v.cls & b).map(([n]) => n), privilege: privs[0], inTable: v.inTable };
    const f = family(mn);
    if (f) info.family = f;
    if (privs.length > 1) { info.operandDependent = true; info.formsPrivilege = privs[privs.length - 1]; }
    mnemonics[mn] = info;
  }
  const exitReasons: Record<string, number> = {};
  for (const r of EXIT_REASONS) exitReasons[r.name] = r.number;
  return { mnemonics, classBits, exitReasons };
}

/** A regex alternation of words, longest first so a prefix never wins. */
function words(list: string[]): string {
  return [...new Set(list)].sort((a, b) => b.length - a.length || a.localeCompare(b)).map((w) => w.replace(/[.$?]/g, '\\$&')).join('|');
}

const REGISTERS = {
  general: ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'esp', 'ebp', 'ax', 'bx', 'cx', 'dx', 'si', 'di', 'sp', 'bp', 'al', 'ah', 'bl', 'bh', 'cl', 'ch', 'dl', 'dh',
    'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'sil', 'dil', 'spl', 'bpl',
    ...[8, 9, 10, 11, 12, 13, 14, 15].flatMap((n) => [`r${n}`, `r${n}d`, `r${n}w`, `r${n}b`])],
  segment: ['cs', 'ds', 'es', 'fs', 'gs', 'ss'],
  control: ['cr0', 'cr1', 'cr2', 'cr3', 'cr4', 'cr5', 'cr6', 'cr7', 'cr8'],
  debug: ['dr0', 'dr1', 'dr2', 'dr3', 'dr4', 'dr5', 'dr6', 'dr7'],
  test: ['tr3', 'tr4', 'tr5', 'tr6', 'tr7'],
  fpu: ['st0', 'st1', 'st2', 'st3', 'st4', 'st5', 'st6', 'st7', 'st'],
  simd: [...Array.from({ length: 8 }, (_, k) => `mm${k}`), ...Array.from({ length: 16 }, (_, k) => `xmm${k}`), ...Array.from({ length: 16 }, (_, k) => `ymm${k}`),
    ...Array.from({ length: 8 }, (_, k) => `k${k}`)],
  pointer: ['eip', 'rip', 'ip'],
};

const DIRECTIVES = ['bits', 'use16', 'use32', 'use64', 'section', 'segment', 'org', 'global', 'extern', 'common', 'static', 'absolute', 'align', 'alignb',
  'cpu', 'default', 'float', 'warning', 'sectalign', 'struc', 'endstruc', 'istruc', 'iend', 'at', 'incbin', 'equ', 'times', 'required', 'group', 'import', 'export'];
const DATA = ['db', 'dw', 'dd', 'dq', 'dt', 'do', 'dy', 'dz', 'resb', 'resw', 'resd', 'resq', 'rest', 'reso', 'resy', 'resz'];
const SIZES = ['byte', 'word', 'dword', 'qword', 'tword', 'oword', 'yword', 'zword', 'far', 'near', 'short', 'strict', 'nosplit', 'rel', 'abs', 'seg', 'wrt', 'to'];
const PREFIXES = ['rep', 'repe', 'repz', 'repne', 'repnz', 'lock', 'o16', 'o32', 'o64', 'a16', 'a32', 'a64', 'xacquire', 'xrelease', 'bnd'];
const PREPROC = ['define', 'xdefine', 'idefine', 'ixdefine', 'undef', 'assign', 'iassign', 'defstr', 'deftok', 'strcat', 'strlen', 'substr', 'macro', 'imacro',
  'endmacro', 'unmacro', 'rep', 'endrep', 'exitrep', 'if', 'ifdef', 'ifndef', 'ifmacro', 'ifidn', 'ifidni', 'ifnum', 'ifstr', 'ifid', 'iftoken', 'ifempty', 'ifenv',
  'elif', 'elifdef', 'elifndef', 'elifidn', 'elifidni', 'elifnum', 'elifstr', 'elifid', 'elifmacro', 'else', 'endif', 'include', 'pathsearch', 'depend', 'use',
  'push', 'pop', 'repl', 'rotate', 'local', 'stacksize', 'arg', 'error', 'warning', 'fatal', 'line', 'clear', 'pragma', 'exitmacro', 'ifctx', 'elifctx', 'defalias', 'undefalias', 'rmacro', 'irmacro', 'xdefine'];

export function buildGrammar(isa: ReturnType<typeof buildIsa>): Record<string, unknown> {
  const byPriv = (p: Privilege) => Object.entries(isa.mnemonics).filter(([, v]) => v.privilege === p && !v.operandDependent).map(([k]) => k);
  const system = Object.entries(isa.mnemonics).filter(([, v]) => v.privilege === 'none' && v.classes.some((c) => ['Vmx', 'Svm', 'Cpuid', 'Rdtsc', 'Rdpmc', 'SoftInt', 'Sysenter', 'Mwait'].includes(c))).map(([k]) => k);
  const plain = Object.keys(isa.mnemonics).filter((k) => !byPriv('cpl0').includes(k) && !byPriv('iopl').includes(k) && !byPriv('sensitive').includes(k) && !system.includes(k));
  const W = (list: string[]) => `(?i)\\b(?:${words(list)})\\b`;
  const numberPatterns = [
    { name: 'constant.numeric.float.guest-asm', match: '\\b(?:[0-9][0-9_]*\\.[0-9_]*(?:e[+-]?[0-9_]+)?|[0-9][0-9_]*e[+-]?[0-9_]+|0x[0-9a-f_]*\\.?[0-9a-f_]*p[+-]?[0-9_]+)\\b' },
    { name: 'constant.numeric.hex.guest-asm', match: '(?:\\b0[xh][0-9a-f_]+\\b|\\b[0-9][0-9a-f_]*h\\b|\\$[0-9][0-9a-f_]*\\b)' },
    { name: 'constant.numeric.binary.guest-asm', match: '(?:\\b0[by][01_]+\\b|\\b[01][01_]*[by]\\b)' },
    { name: 'constant.numeric.octal.guest-asm', match: '(?:\\b0[oq][0-7_]+\\b|\\b[0-7][0-7_]*[oq]\\b)' },
    { name: 'constant.numeric.decimal.guest-asm', match: '(?:\\b0[dt][0-9_]+\\b|\\b[0-9][0-9_]*d?\\b)' },
  ];
  return {
    $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
    name: 'Guest Assembly (NASM)',
    scopeName: 'source.guest-asm',
    comment: 'Generated by scripts/gen-guest-asm.ts from the CPU opcode table; do not edit by hand.',
    patterns: [
      { include: '#comment' },
      { include: '#preprocessor' },
      { include: '#label-definition' },
      { include: '#string' },
      { include: '#privileged-operand-forms' },
      { include: '#mnemonic' },
      { include: '#directive' },
      { include: '#register' },
      { include: '#number' },
      { include: '#macro-parameter' },
      { include: '#local-label' },
      { include: '#operator' },
    ],
    repository: {
      comment: { name: 'comment.line.semicolon.guest-asm', match: ';.*$' },
      preprocessor: {
        patterns: [
          { match: `(?i)^\\s*(%\\s*include)\\s+("[^"]*"|'[^']*'|<[^>]*>)`, captures: { 1: { name: 'keyword.control.directive.include.guest-asm' }, 2: { name: 'string.quoted.include.guest-asm' } } },
          { match: `(?i)^\\s*(%\\s*(?:i?macro|rmacro|irmacro))\\s+([A-Za-z_.?$@][\\w.$#@~?]*)`, captures: { 1: { name: 'keyword.control.directive.macro.guest-asm' }, 2: { name: 'entity.name.function.macro.guest-asm' } } },
          { match: `(?i)^\\s*(%\\s*(?:[ix]?define|ixdefine|i?assign|undef|defstr|deftok|defalias))\\s+([A-Za-z_.?$@][\\w.$#@~?]*)`, captures: { 1: { name: 'keyword.control.directive.define.guest-asm' }, 2: { name: 'entity.name.constant.guest-asm' } } },
          { name: 'keyword.control.directive.preprocessor.guest-asm', match: `(?i)%(?:${words(PREPROC)})\\b` },
          { name: 'keyword.operator.preprocessor.guest-asm', match: '%\\+|%\\?\\??|%\\*\\??' },
          { name: 'entity.name.function.preprocessor.guest-asm', match: '%[$!]+[\\w.$#@~?]*' },
        ],
      },
      'label-definition': {
        patterns: [
          { match: '^\\s*(\\.\\.@[\\w.$#@~?]*|\\.[A-Za-z_$?@][\\w.$#@~?]*)\\s*(:)', captures: { 1: { name: 'entity.name.label.local.guest-asm' }, 2: { name: 'punctuation.separator.label.guest-asm' } } },
          { match: '^\\s*(%%[\\w.$#@~?]+)\\s*(:)', captures: { 1: { name: 'entity.name.label.macro-local.guest-asm' }, 2: { name: 'punctuation.separator.label.guest-asm' } } },
          { match: '^\\s*([A-Za-z_?$@][\\w.$#@~?]*)\\s*(:)', captures: { 1: { name: 'entity.name.label.guest-asm' }, 2: { name: 'punctuation.separator.label.guest-asm' } } },
          { match: `^\\s*([A-Za-z_?$@][\\w.$#@~?]*)\\s+(?=(?i:equ|times|${words(DATA)})\\b)`, captures: { 1: { name: 'entity.name.label.guest-asm' } } },
        ],
      },
      string: {
        patterns: [
          { name: 'string.quoted.double.guest-asm', begin: '"', end: '"|$' },
          { name: 'string.quoted.single.guest-asm', begin: "'", end: "'|$" },
          { name: 'string.quoted.backtick.guest-asm', begin: '`', end: '`|$', patterns: [{ name: 'constant.character.escape.guest-asm', match: '\\\\(?:[\'"`\\\\?abefnrtv]|[0-7]{1,3}|x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})' }] },
        ],
      },
      // MOV is an ordinary instruction except to and from control, debug and test registers.
      'privileged-operand-forms': {
        patterns: [
          { match: '(?i)\\b(mov)\\s+((?:cr|dr)[0-9]|tr[3-7])\\b', captures: { 1: { name: 'keyword.control.privileged.guest-asm' }, 2: { name: 'variable.language.register.system.guest-asm' } } },
          { match: '(?i)\\b(mov)(?=\\s+[a-z0-9]+\\s*,\\s*(?:cr|dr)[0-9]\\b|\\s+[a-z0-9]+\\s*,\\s*tr[3-7]\\b)', captures: { 1: { name: 'keyword.control.privileged.guest-asm' } } },
        ],
      },
      mnemonic: {
        patterns: [
          { name: 'keyword.control.prefix.guest-asm', match: W(PREFIXES) },
          { name: 'keyword.control.privileged.guest-asm', match: W(byPriv('cpl0')) },
          { name: 'keyword.control.privileged.iopl.guest-asm', match: W(byPriv('iopl')) },
          { name: 'keyword.other.sensitive.guest-asm', match: W(byPriv('sensitive')) },
          { name: 'keyword.other.system.guest-asm', match: W(system) },
          { name: 'keyword.mnemonic.guest-asm', match: W(plain) },
        ],
      },
      directive: {
        patterns: [
          { name: 'storage.type.data.guest-asm', match: W(DATA) },
          { name: 'storage.modifier.size.guest-asm', match: W(SIZES) },
          { name: 'keyword.control.directive.guest-asm', match: W(DIRECTIVES) },
          { name: 'keyword.control.directive.bracketed.guest-asm', match: `(?i)\\[\\s*(?:${words(DIRECTIVES)})\\b[^\\]]*\\]` },
          { name: 'variable.language.special.guest-asm', match: '\\$\\$|\\$(?![0-9A-Za-z_])|\\b__\\?[a-z_]+\\?__\\b|\\b__[A-Z_]+__\\b' },
        ],
      },
      register: {
        patterns: [
          { name: 'variable.language.register.system.guest-asm', match: W([...REGISTERS.control, ...REGISTERS.debug, ...REGISTERS.test]) },
          { name: 'variable.language.register.segment.guest-asm', match: W(REGISTERS.segment) },
          { name: 'variable.language.register.guest-asm', match: W(REGISTERS.general) },
          { name: 'variable.language.register.fpu.guest-asm', match: `(?i)\\bst\\s*\\(\\s*[0-7]\\s*\\)|${W(REGISTERS.fpu).slice(4)}` },
          { name: 'variable.language.register.simd.guest-asm', match: W([...REGISTERS.simd]) },
          { name: 'variable.language.register.pointer.guest-asm', match: W(REGISTERS.pointer) },
        ],
      },
      number: { patterns: numberPatterns.map((p) => ({ name: p.name, match: `(?i)${p.match}` })) },
      'macro-parameter': { name: 'variable.parameter.macro.guest-asm', match: '%[+-]?[0-9]+|%%[\\w.$#@~?]+|%\\{[^}]*\\}|%00?' },
      'local-label': { name: 'entity.name.label.local.reference.guest-asm', match: '(?<![\\w$])\\.[A-Za-z_$?@][\\w.$#@~?]*' },
      operator: { name: 'keyword.operator.guest-asm', match: '<<<?|>>>?|//|%%|[-+*/%&|^~!<>=]=?|\\bseg\\b' },
    },
  };
}

function main(): void {
  const check = process.argv.includes('--check');
  const isa = buildIsa();
  const files: [string, string][] = [
    [path.join(ROOT, 'src', 'language', 'isa.generated.json'), JSON.stringify(isa, null, 1) + '\n'],
    [path.join(ROOT, 'syntaxes', 'guest-asm.tmLanguage.json'), JSON.stringify(buildGrammar(isa), null, 2) + '\n'],
  ];
  let stale = false;
  for (const [file, text] of files) {
    const cur = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (cur === text) continue;
    if (check) { console.error(`${path.relative(ROOT, file)} is stale: run node --import tsx scripts/gen-guest-asm.ts`); stale = true; continue; }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    console.log(`wrote ${path.relative(ROOT, file)}`);
  }
  if (stale) process.exit(1);
}

if (require.main === module) main();
