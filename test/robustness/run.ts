// Runs a hostile guest in-process under one virtualization mode, the way `ringside run` does
// (adapter/cli.ts), and says how it ended in the runner's terms: the guest's exit port, a reset, a
// triple fault (70), halted for good (71), the instruction limit (72), or the hypervisor stopping
// it with a message (73). Anything else escaping the CPU or the hypervisor is a bug, and is thrown.
import { Machine, MiB } from '../../adapter/machine/pc';
import { createHypervisor, HYPERVISOR_STOP_STATUS } from '../../adapter/hypervisor/modes';
import { Vm } from '../../adapter/hypervisor/vm';
import { Monitor } from '../../adapter/hypervisor/monitor';
import { loadFlat } from '../../adapter/machine/loaders/flat';
import { loadBootImage } from '../../adapter/machine/loaders/bootimage';
import type { LoadedGuest } from '../../adapter/machine/loaders/types';
import type { HostileGuest } from './hostile';

export type Mode = 'none' | 'ept' | 'shadow' | 'trap-and-emulate' | 'binary-translation' | 'paravirt';
export const ALL_MODES: readonly Mode[] = ['none', 'ept', 'shadow', 'trap-and-emulate', 'binary-translation', 'paravirt'];
/** Modes where the CPU runs the guest's own instructions at its own privilege, so they must agree with none. */
export const FAITHFUL_MODES: readonly Mode[] = ['ept', 'shadow', 'binary-translation'];

export type End = 'exit' | 'triple-fault' | 'halted' | 'limit' | 'hypervisor-stop';

export interface Outcome {
  end: End;
  /** The status `ringside run` would exit with. */
  status: number;
  message: string;
  icount: number;
  /** Virtual time spent halted (instruction units): interrupt timing shows here. */
  idleTicks: number;
  /** COM1 and port 0xE9 bytes, in order. */
  output: string;
  /** Retired-instruction count at each output byte. */
  outputAt: number[];
  /** Shadow consistency problems at the end (shadow-paging modes). */
  consistency?: string[];
  hypervisor?: Vm | Monitor;
  machine: Machine;
}

export interface RunLimits {
  maxInstructions: number;
  /** Virtual time (instructions plus idle) after which a guest that keeps sleeping is stopped too. */
  maxTime?: number;
}

const SLICE = 50_000;

/** What the runner needs of a guest: a generated one, or an image assembled by a test. */
export type RunnableGuest = Pick<HostileGuest, 'format' | 'image' | 'loadAddress'> & { shape: { ramMiB: number }; seed?: number; name?: string };

export function loadedGuest(g: RunnableGuest): LoadedGuest {
  const name = g.name ?? `hostile-${g.seed}`;
  const l: { chunks: LoadedGuest['chunks']; initial: LoadedGuest['initial']; disk?: LoadedGuest['disk'] } =
    g.format === 'flat' ? loadFlat(g.image, name, g.loadAddress) : loadBootImage(g.image, name, 'floppy');
  const highest = Math.max(...l.chunks.map((c) => c.addr + c.bytes.length));
  return { format: g.format, program: name, path: name, chunks: l.chunks, initial: l.initial, disk: l.disk,
    symbols: [], diagnostics: [], image: g.image, highestAddr: highest };
}

export function runHostile(g: RunnableGuest, mode: Mode, limits: RunLimits): Outcome {
  const ramBytes = g.shape.ramMiB * MiB;
  const m = new Machine({ ramBytes });
  m.load(loadedGuest(g));
  const hv = createHypervisor(m, mode === 'none' ? { mode: 'none' } : mode === 'ept' || mode === 'shadow' ? { mode: 'vtx', memory: mode } : { mode });
  const cpu = m.cpu;
  const out: number[] = [], at: number[] = [];
  m.uart.onTransmit = (b) => { out.push(b); at.push(cpu.icount); };
  m.debug.onDebugByte = (b) => { out.push(b); at.push(cpu.icount); };
  const max = limits.maxInstructions, maxTime = limits.maxTime ?? max * 20;
  let end: End, status: number, message: string;
  for (;;) {
    const budget = Math.min(SLICE, max - cpu.icount, maxTime - cpu.icount - cpu.idleTicks);
    const why = budget > 0 ? cpu.run(budget) : 'limit';
    if (m.exit) {
      status = m.exit.status;
      const stopped = status === HYPERVISOR_STOP_STATUS && hv?.fatal;
      end = stopped ? 'hypervisor-stop' : 'exit';
      message = stopped ? hv!.fatal! : m.exit.reason;
      break;
    }
    if (why === 'shutdown') { end = 'triple-fault'; status = 70; message = 'triple fault'; break; }
    if (why === 'halt') { end = 'halted'; status = 71; message = cpu.flags & 0x200 ? 'halted with nothing left to wake it' : 'halted with interrupts disabled'; break; }
    if (cpu.icount >= max || cpu.icount + cpu.idleTicks >= maxTime) {
      end = 'limit'; status = 72; message = cpu.halted ? 'halted; time ran out' : 'instruction limit'; break;
    }
    if (why === 'stop') throw new Error(`the CPU stopped with no reason (${cpu.stopReason})`);
  }
  const consistency = hv?.memory === 'shadow' ? hv.consistency()?.issues : undefined;
  return { end, status, message, icount: cpu.icount, idleTicks: cpu.idleTicks, output: Buffer.from(out).toString('latin1'), outputAt: at,
    consistency, hypervisor: hv, machine: m };
}

/** The comparable part of an outcome (for determinism and agreement checks). */
export function summary(o: Outcome): string {
  return `${o.end} status ${o.status} after ${o.icount} instructions (+${o.idleTicks} idle), ${o.output.length} bytes out`;
}

/** The first byte where two outputs differ, or -1. */
export function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) if (a[k] !== b[k]) return k;
  return a.length === b.length ? -1 : n;
}
