// The launch configuration: every attribute checked with a message that says what is wrong and what
// is accepted, before anything is assembled or loaded.
import { GUEST_FORMATS } from '../machine/loaders/types';
import { MAX_RAM_MIB, DEFAULT_RAM_MIB } from '../machine/loaders/image';
import { parseNumber } from '../debugger/expr';
import { WORKING_MODES } from '../hypervisor/modes';
import { defaultSettings, applySetting, SettingError } from '../hypervisor/controls';

export const VIRTUALIZATION_MODES = ['none', 'vtx', 'trap-and-emulate', 'binary-translation', 'paravirt'] as const;
export type Virtualization = (typeof VIRTUALIZATION_MODES)[number];
/** Modes the adapter can run today (the hypervisor's list); the others are refused with a clear message. */
export const AVAILABLE_MODES: readonly Virtualization[] = WORKING_MODES;

export interface LaunchConfig {
  program: string;
  format: string;
  loadAddress?: number;
  entry?: number;
  cmdline?: string;
  modules: { path: string; cmdline?: string }[];
  virtualization: Virtualization;
  memoryVirtualization?: 'ept' | 'shadow';
  /** VM-execution control settings (see the hypervisor's controls.ts), by key. */
  vmcs?: Record<string, unknown>;
  ramMiB: number;
  stopOnEntry: boolean;
  nasmPath?: string;
  nasmArgs: string[];
  symbols: string[];
  serial: 'debugConsole' | 'terminal';
  realtime: boolean;
  cwd?: string;
}

export class LaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchError';
  }
}

/** Attributes VS Code and DAP clients add to any configuration. */
const GENERIC = new Set(['type', 'request', 'name', 'noDebug', 'preLaunchTask', 'postDebugTask', 'internalConsoleOptions', 'debugServer',
  'presentation', 'suppressMultipleSessionWarning', 'linux', 'windows', 'osx', 'env']);
const KNOWN = new Set(['program', 'format', 'loadAddress', 'entry', 'cmdline', 'modules', 'virtualization', 'memoryVirtualization', 'vmcs', 'ram',
  'stopOnEntry', 'nasmPath', 'nasmArgs', 'symbols', 'serial', 'realtime', 'cwd']);

function address(name: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v;
  if (typeof v === 'string') {
    const n = parseNumber(v.trim());
    if (n !== undefined) return n;
  }
  throw new LaunchError(`'${name}' must be an address: a number or a string such as "0x100000" (got ${JSON.stringify(v)})`);
}

function str(name: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new LaunchError(`'${name}' must be a string (got ${JSON.stringify(v)})`);
  return v;
}

function strList(name: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new LaunchError(`'${name}' must be a list of strings (got ${JSON.stringify(v)})`);
  return v as string[];
}

function bool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new LaunchError(`'${name}' must be true or false (got ${JSON.stringify(v)})`);
  return v;
}

function oneOf<T extends string>(name: string, v: unknown, values: readonly T[], dflt: T): T {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || !values.includes(v as T)) throw new LaunchError(`'${name}' must be one of ${values.map((x) => `"${x}"`).join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}

/** Validates raw launch arguments. Unknown attributes come back as warnings. */
export function parseLaunchConfig(raw: Record<string, unknown>): { config: LaunchConfig; warnings: string[] } {
  const warnings: string[] = [];
  for (const k of Object.keys(raw)) {
    if (!KNOWN.has(k) && !GENERIC.has(k) && !k.startsWith('__')) warnings.push(`launch attribute '${k}' is not one Ringside knows; it is ignored`);
  }
  const program = str('program', raw.program);
  if (!program || !program.trim()) throw new LaunchError("'program' is required: the guest to boot (a .asm/.nasm source, a boot/floppy/disk image, a flat binary or a multiboot/ELF32 kernel)");
  const format = oneOf('format', raw.format, ['auto', ...GUEST_FORMATS], 'auto');
  const virtualization = oneOf('virtualization', raw.virtualization, VIRTUALIZATION_MODES, 'vtx');
  if (!AVAILABLE_MODES.includes(virtualization)) {
    throw new LaunchError(`virtualization "${virtualization}" is not available yet: this version of the adapter runs ${AVAILABLE_MODES.map((m) => `"virtualization": "${m}"`).join(' or ')}; set one of those in the launch configuration`);
  }
  let memoryVirtualization: 'ept' | 'shadow' | undefined;
  if (raw.memoryVirtualization !== undefined) {
    memoryVirtualization = oneOf('memoryVirtualization', raw.memoryVirtualization, ['ept', 'shadow'] as const, 'ept');
    if (virtualization !== 'vtx') throw new LaunchError(`'memoryVirtualization' applies only with "virtualization": "vtx" (this configuration uses "${virtualization}")`);
  } else if (virtualization === 'vtx') memoryVirtualization = 'ept';
  let vmcs: Record<string, unknown> | undefined;
  if (raw.vmcs !== undefined && raw.vmcs !== null) {
    if (typeof raw.vmcs !== 'object' || Array.isArray(raw.vmcs)) throw new LaunchError(`'vmcs' must be an object of VM-execution control settings, e.g. { "hlt_exiting": false } (got ${JSON.stringify(raw.vmcs)})`);
    if (virtualization !== 'vtx') throw new LaunchError(`'vmcs' applies only with "virtualization": "vtx" (this configuration uses "${virtualization}")`);
    vmcs = raw.vmcs as Record<string, unknown>;
    const probe = defaultSettings(memoryVirtualization ?? 'ept');
    for (const [k, v] of Object.entries(vmcs)) {
      try { applySetting(probe, k, v); } catch (e) { if (e instanceof SettingError) throw new LaunchError(`'vmcs': ${e.message}`); throw e; }
    }
  }
  let ramMiB = DEFAULT_RAM_MIB;
  if (raw.ram !== undefined) {
    if (typeof raw.ram !== 'number' || !Number.isInteger(raw.ram) || raw.ram < 1 || raw.ram > MAX_RAM_MIB)
      throw new LaunchError(`'ram' is guest RAM in MiB, a whole number from 1 to ${MAX_RAM_MIB} (got ${JSON.stringify(raw.ram)})`);
    ramMiB = raw.ram;
  }
  let modules: { path: string; cmdline?: string }[] = [];
  if (raw.modules !== undefined) {
    if (!Array.isArray(raw.modules)) throw new LaunchError("'modules' must be a list of paths or { \"path\": ..., \"cmdline\": ... } objects");
    modules = raw.modules.map((m, k) => {
      if (typeof m === 'string') return { path: m };
      if (m && typeof m === 'object' && typeof (m as { path?: unknown }).path === 'string') {
        const c = (m as { cmdline?: unknown }).cmdline;
        if (c !== undefined && typeof c !== 'string') throw new LaunchError(`'modules[${k}].cmdline' must be a string`);
        return { path: (m as { path: string }).path, cmdline: c as string | undefined };
      }
      throw new LaunchError(`'modules[${k}]' must be a path or { "path": ..., "cmdline": ... }`);
    });
  }
  const config: LaunchConfig = {
    program,
    format,
    loadAddress: address('loadAddress', raw.loadAddress),
    entry: address('entry', raw.entry),
    cmdline: str('cmdline', raw.cmdline),
    modules,
    virtualization,
    memoryVirtualization,
    vmcs,
    ramMiB,
    stopOnEntry: bool('stopOnEntry', raw.stopOnEntry, true),
    nasmPath: str('nasmPath', raw.nasmPath),
    nasmArgs: strList('nasmArgs', raw.nasmArgs),
    symbols: strList('symbols', raw.symbols),
    serial: oneOf('serial', raw.serial, ['debugConsole', 'terminal'] as const, 'debugConsole'),
    realtime: bool('realtime', raw.realtime, false),
    cwd: str('cwd', raw.cwd),
  };
  return { config, warnings };
}
