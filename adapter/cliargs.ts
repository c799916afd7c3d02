// The command line of the headless runner: `ringside run <guest> [options]`, `--help`,
// `--version`. Every mistake is a UsageError with one line that says what is wrong; the runner
// prints it as `ringside: <message>` and exits with status 2.

import { GUEST_FORMATS, type FormatChoice } from './machine/loaders/types';
import { defaultSettings, applySetting, parseSettingText, SettingError } from './hypervisor/controls';

export class UsageError extends Error {
  readonly exitStatus = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Every virtualization mode Ringside knows. */
export const ALL_MODES = ['none', 'vtx', 'trap-and-emulate', 'binary-translation', 'paravirt'] as const;
export type VirtMode = (typeof ALL_MODES)[number];
/** The modes that work today. Widen this as the hypervisor grows; nothing else needs to change. */
export const ACCEPTED_MODES: readonly VirtMode[] = ['none', 'vtx', 'trap-and-emulate', 'binary-translation', 'paravirt'];

export const MEMORY_VIRTS = ['ept', 'shadow'] as const;
export type MemoryVirt = (typeof MEMORY_VIRTS)[number];

export const MIN_RAM_MIB = 1;
export const MAX_RAM_MIB = 3072;
export const DEFAULT_RAM_MIB = 64;

export interface RunOptions {
  guest: string;
  mode: VirtMode;
  /** Undefined under --mode none; 'ept' by default under vtx, 'shadow' under the others. */
  memoryVirt?: MemoryVirt;
  /** VMCS settings from --vmcs key=value (repeatable); absent when none were given. */
  vmcs?: [string, string][];
  ramMiB: number;
  format: FormatChoice;
  loadAddress?: number;
  entry?: number;
  cmdline?: string;
  modules: { path: string; cmdline?: string }[];
  stats: boolean;
  maxInstructions?: number;
  realtime: boolean;
  vga: boolean;
  debugcon?: string;
  saveDisk?: string;
  /** Every CR3 load flushes the TLB (no reuse of entries for an unchanged root). */
  noTlbReuse: boolean;
  /** Measurement aids: arm N breakpoints that never hit, and every privileged-instruction event class. */
  benchBreakpoints: number;
  benchEvents: boolean;
}

export type ParsedCommand = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; options: RunOptions };

export function usageText(): string {
  return `Usage: ringside run <guest> [options]
       ringside --help | --version

Boots an x86 guest headless: COM1 and port 0xE9 go to stdout, stdin feeds COM1.
The guest is a NASM source (.asm/.nasm, assembled with nasm), a boot sector, floppy or disk
image, a flat binary, or a multiboot/ELF32 kernel.

Options:
  --mode MODE            ${ALL_MODES.join('|')} (default none; available: ${ACCEPTED_MODES.join(', ')})
  --memory-virt KIND     ${MEMORY_VIRTS.join('|')}: how the hypervisor virtualizes memory
  --vmcs KEY=VALUE       a VM-execution control under --mode vtx, e.g. hlt_exiting=0,
                         rdtsc_exiting=1, ept_page_size=4k, vpid=0 (repeatable)
  --ram MIB              guest RAM in MiB, ${MIN_RAM_MIB}..${MAX_RAM_MIB} (default ${DEFAULT_RAM_MIB})
  --format FORMAT        auto|${GUEST_FORMATS.join('|')} (default auto)
  --load-address ADDR    where a flat binary is loaded (default: its org, else 0x100000)
  --entry ADDR           where a flat binary or ELF starts (default: load address / ELF entry)
  --cmdline TEXT         multiboot command line (after the kernel path, as QEMU -append)
  --module FILE[,ARGS]   a multiboot module, with an optional command line (repeatable)
  --stats                print retired instructions, MIPS, wall time and more at the end
  --max-instructions N   stop after N instructions
  --realtime             devices follow host time instead of the instruction count
  --vga                  print the final 80x25 text screen at the end
  --debugcon FILE        write port 0xE9 output to FILE instead of stdout
  --save-disk FILE       write the disk image, with the guest's writes, to FILE at the end
  --no-tlb-reuse         flush the TLB on every CR3 load, even of an unchanged root
  --bench-breakpoints N  (measurement) arm N code breakpoints that never hit
  --bench-events all     (measurement) arm every privileged-instruction event class
  -h, --help             show this help
  --version              show the version

Numbers are decimal or 0x hexadecimal. A byte v written to port 0xF4 ends the run with status
(v << 1) | 1; "Shutdown" written to port 0x8900 ends it with status 0. Otherwise the run ends
with one line on stderr and status 70 (triple fault), 71 (halted with nothing left to wake it),
72 (--max-instructions reached) or 2 (bad input: options, files, formats, nasm errors).
`;
}

type Kind = 'flag' | 'string' | 'choice';
interface OptionSpec {
  kind: Kind;
  apply(o: Draft, value: string, name: string): void;
}
type Draft = Omit<RunOptions, 'guest' | 'mode' | 'memoryVirt'> & { guest?: string; mode?: VirtMode; memoryVirt?: MemoryVirt };

const OPTIONS: Record<string, OptionSpec> = {
  '--mode': { kind: 'choice', apply: (o, v, n) => (o.mode = choice(n, v, ALL_MODES)) },
  '--memory-virt': { kind: 'choice', apply: (o, v, n) => (o.memoryVirt = choice(n, v, MEMORY_VIRTS)) },
  '--vmcs': { kind: 'string', apply: (o, v, n) => { (o.vmcs ??= []).push(...vmcsPairs(n, v)); } },
  '--ram': { kind: 'string', apply: (o, v, n) => (o.ramMiB = ramMiB(n, v)) },
  '--format': { kind: 'choice', apply: (o, v, n) => (o.format = choice(n, v, ['auto', ...GUEST_FORMATS] as const)) },
  '--load-address': { kind: 'string', apply: (o, v, n) => (o.loadAddress = address(n, v)) },
  '--entry': { kind: 'string', apply: (o, v, n) => (o.entry = address(n, v)) },
  '--cmdline': { kind: 'string', apply: (o, v) => (o.cmdline = v) },
  '--module': { kind: 'string', apply: (o, v, n) => o.modules.push(moduleSpec(n, v)) },
  '--stats': { kind: 'flag', apply: (o) => (o.stats = true) },
  '--max-instructions': { kind: 'string', apply: (o, v, n) => (o.maxInstructions = count(n, v)) },
  '--realtime': { kind: 'flag', apply: (o) => (o.realtime = true) },
  '--vga': { kind: 'flag', apply: (o) => (o.vga = true) },
  '--debugcon': { kind: 'string', apply: (o, v, n) => (o.debugcon = fileName(n, v)) },
  '--save-disk': { kind: 'string', apply: (o, v, n) => (o.saveDisk = fileName(n, v)) },
  '--no-tlb-reuse': { kind: 'flag', apply: (o) => (o.noTlbReuse = true) },
  '--bench-breakpoints': { kind: 'string', apply: (o, v, n) => (o.benchBreakpoints = count(n, v)) },
  '--bench-events': { kind: 'choice', apply: (o, v, n) => (o.benchEvents = choice(n, v, ['all', 'none'] as const) === 'all') },
};

/**
 * Parses the runner's arguments (process.argv without node and the script).
 * Accepts `--opt value` and `--opt=value`; options may come before or after the guest.
 */
export function parseRunArgs(argv: readonly string[]): ParsedCommand {
  if (argv.length === 0) throw new UsageError('no command given; usage: ringside run <guest> [options] (see ringside --help)');
  if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help' };
  if (argv[0] === '--version' || argv[0] === '-V') return { kind: 'version' };
  const [command, ...rest] = argv;
  if (command === 'help') return { kind: 'help' };
  if (command !== 'run') {
    const name = command.split('=')[0];
    if (OPTIONS[name]) throw new UsageError(`${name} is an option of 'run'; usage: ringside run <guest> [options]`);
    if (command.startsWith('-')) throw unknownOption(name);
    throw new UsageError(`unknown command '${command}'; the command is 'run' (usage: ringside run <guest> [options])`);
  }
  return { kind: 'run', options: parseRunOptions(rest) };
}

/** Parses what follows `run`. */
export function parseRunOptions(args: readonly string[]): RunOptions {
  const o: Draft = { ramMiB: DEFAULT_RAM_MIB, format: 'auto', modules: [], stats: false, realtime: false, vga: false, noTlbReuse: false, benchBreakpoints: 0, benchEvents: false };
  let onlyPositional = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (onlyPositional || !arg.startsWith('-') || arg === '-') {
      if (o.guest !== undefined) throw new UsageError(`unexpected argument '${arg}': give one guest file (it is already '${o.guest}')`);
      o.guest = arg;
      continue;
    }
    if (arg === '--') {
      onlyPositional = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = OPTIONS[name];
    if (!spec) throw unknownOption(name);
    if (spec.kind === 'flag') {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      spec.apply(o, '', name);
      continue;
    }
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      // The next word is the value, unless it is missing or is itself an option (except for
      // --cmdline, whose text may start with a dash; write --cmdline=--x to pass '--x' anyway).
      const next = args[i + 1];
      if (next === undefined || (name !== '--cmdline' && next.startsWith('--'))) throw new UsageError(`${name} needs a value (${valueHint(name)})`);
      value = next;
      i++;
    }
    spec.apply(o, value, name);
  }
  if (o.guest === undefined) throw new UsageError('missing the guest file; usage: ringside run <guest> [options]');

  const mode = o.mode ?? 'none';
  if (!ACCEPTED_MODES.includes(mode))
    throw new UsageError(`--mode ${mode} is not available yet; only ${ACCEPTED_MODES.map((m) => `'${m}'`).join(', ')} ${ACCEPTED_MODES.length === 1 ? 'is' : 'are'}`);
  if (mode !== 'vtx' && o.vmcs?.length) throw new UsageError(`--vmcs needs --mode vtx (${mode === 'none' ? 'plain emulation' : mode} has no VMCS)`);
  let memoryVirt = o.memoryVirt;
  if (memoryVirt === 'ept' && mode !== 'vtx' && mode !== 'none')
    throw new UsageError(`--memory-virt ept needs --mode vtx; ${mode} uses shadow page tables`);
  if (mode === 'none') memoryVirt = undefined;
  else memoryVirt ??= mode === 'vtx' ? 'ept' : 'shadow';
  return { ...o, guest: o.guest, mode, memoryVirt };
}

/** --vmcs key=value[,key=value]: each key and value checked against the VMCS settings the hypervisor knows. */
function vmcsPairs(name: string, value: string): [string, string][] {
  try {
    const pairs = parseSettingText(value);
    const probe = defaultSettings('ept');
    for (const [k, v] of pairs) applySetting(probe, k, v);
    return pairs;
  } catch (e) {
    if (e instanceof SettingError) throw new UsageError(`${name}: ${e.message}`);
    throw e;
  }
}

function choice<T extends string>(name: string, value: string, valid: readonly T[]): T {
  const v = value.toLowerCase();
  if ((valid as readonly string[]).includes(v)) return v as T;
  throw new UsageError(`${name} '${value}' is not valid; use one of ${valid.join(', ')}`);
}

/** A non-negative integer in decimal or 0x hex (underscores allowed as digit separators). */
function parseNumber(value: string): number | undefined {
  const t = value.trim().replace(/_/g, '').toLowerCase();
  if (/^0x[0-9a-f]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^[0-9]+$/.test(t)) return parseInt(t, 10);
  return undefined;
}

function ramMiB(name: string, value: string): number {
  const n = parseNumber(value);
  if (n === undefined) throw new UsageError(`${name} expects a whole number of MiB, got '${value}'`);
  if (n < MIN_RAM_MIB || n > MAX_RAM_MIB) throw new UsageError(`${name} ${value} is out of range: use ${MIN_RAM_MIB}..${MAX_RAM_MIB} (MiB)`);
  return n;
}

function address(name: string, value: string): number {
  const n = parseNumber(value);
  if (n === undefined) throw new UsageError(`${name} expects an address in decimal or 0x hex, got '${value}'`);
  if (n > 0xffffffff) throw new UsageError(`${name} ${value} is beyond 4 GiB (32-bit addresses only)`);
  return n;
}

function count(name: string, value: string): number {
  const n = parseNumber(value);
  if (n === undefined || n === 0) throw new UsageError(`${name} expects a positive whole number, got '${value}'`);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name} ${value} is too large`);
  return n;
}

function fileName(name: string, value: string): string {
  if (value === '') throw new UsageError(`${name} needs a file name`);
  return value;
}

function moduleSpec(name: string, value: string): { path: string; cmdline?: string } {
  const comma = value.indexOf(',');
  const file = comma < 0 ? value : value.slice(0, comma);
  if (file === '') throw new UsageError(`${name} needs a file name (FILE[,cmdline])`);
  return comma < 0 ? { path: file } : { path: file, cmdline: value.slice(comma + 1) };
}

function valueHint(name: string): string {
  switch (name) {
    case '--mode': return ALL_MODES.join('|');
    case '--memory-virt': return MEMORY_VIRTS.join('|');
    case '--vmcs': return 'key=value, e.g. hlt_exiting=0 or io_passthrough=0x80,0x3f8-0x3ff';
    case '--ram': return `MiB, ${MIN_RAM_MIB}..${MAX_RAM_MIB}`;
    case '--format': return ['auto', ...GUEST_FORMATS].join('|');
    case '--load-address':
    case '--entry': return 'an address, e.g. 0x100000';
    case '--max-instructions': return 'a count';
    case '--module': return 'FILE[,cmdline]';
    case '--cmdline': return 'the command line text';
    default: return 'a file name';
  }
}

/** Spellings people bring from QEMU and similar tools. */
const ALIASES: Record<string, string> = { '-m': '--ram', '--memory': '--ram', '--mem': '--ram', '--append': '--cmdline', '--initrd': '--module' };

function unknownOption(name: string): UsageError {
  const known = Object.keys(OPTIONS);
  const close = known.map((k) => [k, editDistance(k, name)] as const).sort((a, b) => a[1] - b[1])[0];
  const suggestion = ALIASES[name] ?? (close && close[1] <= 2 ? close[0] : undefined);
  const hint = suggestion ? `; did you mean ${suggestion}?` : ' (see ringside --help)';
  return new UsageError(`unknown option '${name}'${hint}`);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}
