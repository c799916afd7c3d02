// Runs guests in-process under each mode (none, vtx+ept, vtx+shadow) and captures what they print
// on COM1 and port 0xE9, the retired-instruction count and the VM, for the hypervisor's tests.
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGuest } from '../../adapter/machine/loaders/image';
import { Machine, MiB } from '../../adapter/machine/pc';
import { createHypervisor } from '../../adapter/hypervisor/modes';
import { Vm } from '../../adapter/hypervisor/vm';
import { Monitor } from '../../adapter/hypervisor/monitor';
import type { FormatChoice } from '../../adapter/machine/loaders/types';

const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');

export type Mode = 'none' | 'ept' | 'shadow' | 'trap-and-emulate' | 'binary-translation' | 'paravirt';
export const MODES: Mode[] = ['none', 'ept', 'shadow'];

/** The samples that run in every full-virtualization mode and the CPU benchmark's workloads: source, format, include dir. */
export function samplesAndWorkloads(): [string, FormatChoice, string?][] {
  const bench = join(repoRoot, 'bench/guests') + '/';
  return [
    [join(repoRoot, 'samples/kernel.asm'), 'multiboot'],
    [join(repoRoot, 'samples/hello-boot.asm'), 'boot'],
    [join(repoRoot, 'samples/floppy-pm.asm'), 'floppy'],
    ...['alu', 'memory', 'paging', 'call'].map((w): [string, FormatChoice, string] => [join(bench, `${w}.asm`), 'floppy', bench]),
  ];
}

export function haveNasm(): boolean {
  return spawnSync('nasm', ['-v'], { encoding: 'utf8' }).status === 0;
}

const scratch = mkdtempSync(join(tmpdir(), 'ringside-hv-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** Assemble a source file (include path: its directory, or `includeDir`) into a flat binary; returns its path. */
export function assembleFile(source: string, includeDir = dirname(source) + '/'): string {
  const out = join(scratch, source.replace(/[^a-z0-9]+/gi, '_') + '.bin');
  const r = spawnSync('nasm', ['-f', 'bin', '-i', includeDir, '-o', out, source], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nasm failed on ${source}:\n${r.stderr}`);
  return out;
}

/** Assemble source text (written to a scratch file). */
export function assembleText(name: string, text: string): string {
  const src = join(scratch, name + '.asm');
  writeFileSync(src, text);
  return assembleFile(src);
}

export interface RunResult {
  output: string;
  icount: number;
  exitStatus?: number;
  stop: string;
  /** The vtx VM (ept, shadow). */
  vm?: Vm;
  /** The trap-and-emulate monitor. */
  monitor?: Monitor;
  machine: Machine;
  /** Retired-instruction count when each output byte was written. */
  outputIcount: number[];
}

export interface RunOptions {
  ramMiB?: number;
  vmcs?: Record<string, unknown>;
  /** Called for every byte written to port 0xE9 (checkpoints), after it is recorded. */
  onDebugByte?: (b: number, vm: Vm | undefined, m: Machine) => void;
  maxInstructions?: number;
}

export function runGuest(image: string, format: FormatChoice, mode: Mode, opts: RunOptions = {}): RunResult {
  const ramBytes = (opts.ramMiB ?? 64) * MiB;
  const g = loadGuest({ program: image, format, ramBytes, modules: [] });
  const m = new Machine({ ramBytes });
  m.load(g);
  const hv = createHypervisor(m, mode === 'none' ? { mode: 'none' } : mode === 'trap-and-emulate' || mode === 'binary-translation' || mode === 'paravirt' ? { mode } : { mode: 'vtx', memory: mode, vmcs: opts.vmcs });
  const vm = hv instanceof Vm ? hv : undefined, monitor = hv instanceof Monitor ? hv : undefined;
  const out: number[] = [], at: number[] = [];
  m.uart.onTransmit = (b) => { out.push(b); at.push(m.cpu.icount); };
  m.debug.onDebugByte = (b) => { out.push(b); at.push(m.cpu.icount); opts.onDebugByte?.(b, vm, m); };
  const max = opts.maxInstructions ?? 200_000_000;
  let stop = '', idle = 0;
  while (!m.exit && m.cpu.icount < max) {
    const before = m.cpu.icount;
    stop = m.cpu.run(Math.min(1_000_000, max - m.cpu.icount));
    if (stop === 'shutdown' || stop === 'halt') break;
    // Halted with interrupts on but nothing left to raise one: virtual time moves, the guest does not.
    idle = m.cpu.icount === before ? idle + 1 : 0;
    if (idle > 1000) { stop = 'halt'; break; }
  }
  return { output: Buffer.from(out).toString('latin1'), icount: m.cpu.icount, exitStatus: m.exit?.status, stop, vm, monitor, machine: m, outputIcount: at };
}

/** The first byte where two outputs differ, or -1. */
function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) if (a[k] !== b[k]) return k;
  return a.length === b.length ? -1 : n;
}

/** Same output, or the difference explained: a hole recorded before it, or a stop naming what is not supported. */
export function explained(name: string, base: RunResult, te: RunResult): 'same' | 'hole' | 'unsupported' {
  if (te.output === base.output) return 'same';
  const m = te.monitor!;
  if (m.fatal) {
    assert.match(m.fatal, /^(trap-and-emulate|binary-translation): .* (is|are) not supported/, `${name}: the stop says what is not supported`);
    assert.ok(base.output.startsWith(te.output), `${name}: until the stop the output is the same`);
    return 'unsupported';
  }
  const at = firstDifference(base.output, te.output);
  const when = at < te.outputIcount.length ? te.outputIcount[at] : te.icount;
  const before = m.holes.events.filter((h) => h.icount <= when);
  assert.ok(before.length > 0, `${name}: output differs at byte ${at} (icount ${when}) with no virtualization hole recorded before it`);
  return 'hole';
}
