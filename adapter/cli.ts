// `ringside run <guest>`: boot a guest headless, stream its console, report how the run ended.
import { writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { parseRunArgs, UsageError, usageText, type RunOptions } from './cliargs';
import { loadGuest } from './machine/loaders/image';
import { GuestLoadError } from './machine/loaders/errors';
import { Machine, MiB } from './machine/pc';
import { NS_PER_INSTRUCTION } from './machine/clock';
import { asciiToScancodes } from './machine/scancodes';
import { Cls } from './cpu/opcodes';
import { createHypervisor, ModeError, HYPERVISOR_STOP_STATUS, type Hypervisor } from './hypervisor/modes';

/** Every class of privileged or sensitive instruction the debugger can break on. */
const PRIVILEGED_CLASSES = Cls.CrWrite | Cls.CrRead | Cls.Clts | Cls.Lmsw | Cls.DrAccess | Cls.DescLoad | Cls.DescStore |
  Cls.Smsw | Cls.Io | Cls.MsrRead | Cls.MsrWrite | Cls.Cpuid | Cls.Hlt | Cls.IntFlag | Cls.Invlpg | Cls.Cache | Cls.Vmx |
  Cls.Rdtsc | Cls.Rdpmc | Cls.SoftInt | Cls.Sysenter | Cls.FarTransfer;

/** Exit statuses of the runner besides the guest's own (isa-debug-exit gives odd values). */
export const STATUS = {
  shutdown: 0,
  badInput: 2,
  tripleFault: 70,
  haltedForever: 71,
  instructionLimit: 72,
  internalError: 99,
} as const;

const SLICE = 1_000_000;
/** Virtual time a halted guest may sleep without anything waking it before the run ends (60 s). */
const IDLE_GIVE_UP = 6_000_000_000;

function fail(msg: string, status: number): never {
  process.stderr.write(`ringside: ${msg}\n`);
  process.exit(status);
}

export async function main(argv: string[]): Promise<number> {
  let opts: RunOptions;
  try {
    const parsed = parseRunArgs(argv);
    if (parsed.kind === 'help') { process.stdout.write(usageText()); return 0; }
    if (parsed.kind === 'version') { process.stdout.write(`ringside ${VERSION}\n`); return 0; }
    opts = parsed.options;
  } catch (e) {
    if (e instanceof UsageError) fail(e.message, STATUS.badInput);
    throw e;
  }

  const ramBytes = opts.ramMiB * MiB;
  let guest;
  try {
    guest = loadGuest({
      program: opts.guest,
      format: opts.format,
      ramBytes,
      loadAddress: opts.loadAddress,
      entry: opts.entry,
      cmdline: opts.cmdline,
      modules: opts.modules,
    });
  } catch (e) {
    if (e instanceof GuestLoadError) fail(e.message, STATUS.badInput);
    throw e;
  }

  const machine = new Machine({ ramBytes, realtime: opts.realtime });
  machine.load(guest);
  const cpu = machine.cpu;
  if (opts.noTlbReuse) cpu.tlb.reuseOnSameRoot = false;
  if (opts.benchBreakpoints > 0 || opts.benchEvents) armForMeasurement(cpu, opts.benchBreakpoints, opts.benchEvents);
  // The hypervisor takes the loaded guest as its starting state (--mode vtx).
  let vm: Hypervisor | undefined;
  try {
    vm = createHypervisor(machine, { mode: opts.mode, memory: opts.memoryVirt, vmcs: opts.vmcs });
  } catch (e) {
    if (e instanceof ModeError) fail(e.message, STATUS.badInput);
    throw e;
  }

  // Console: COM1 and port 0xE9 to stdout byte for byte (0xE9 to a file with --debugcon).
  const out: number[] = [];
  const flush = () => {
    if (out.length) { process.stdout.write(Buffer.from(out)); out.length = 0; }
  };
  machine.uart.onTransmit = (b) => { out.push(b); };
  let debugconFd = -1;
  if (opts.debugcon) debugconFd = openSync(opts.debugcon, 'w');
  machine.debug.onDebugByte = (b) => {
    if (debugconFd >= 0) writeSync(debugconFd, Uint8Array.of(b));
    else out.push(b);
  };

  // Input: stdin feeds COM1, and the keyboard too when it is a terminal.
  const tty = process.stdin.isTTY === true;
  let inputOpen = true;
  if (tty) process.stdin.setRawMode(true);
  const onData = (data: Buffer) => {
    if (tty && data.includes(0x1d)) { // Ctrl-] ends the run (raw mode: Ctrl-C reaches the guest)
      machine.stop(STATUS.shutdown, 'stopped by the user (Ctrl-])');
      return;
    }
    machine.uart.receive(data);
    if (tty) for (const b of data) machine.ps2.sendScancodes(asciiToScancodes(b));
  };
  const onEnd = () => { inputOpen = false; };
  process.stdin.on('data', onData);
  process.stdin.on('end', onEnd);
  process.stdin.on('error', onEnd);

  const started = process.hrtime.bigint();
  const limit = opts.maxInstructions ?? Infinity;
  let ending: { status: number; message?: string } | undefined;
  let lastYield = Date.now();
  // Idle time since the guest last retired an instruction (a HLT that only masked devices interrupt).
  let idleMark = cpu.idleTicks, lastCount = cpu.icount;
  try {
    while (!ending) {
      const budget = Math.min(SLICE, limit - cpu.icount);
      const why = budget > 0 ? cpu.run(budget) : 'limit';
      flush();
      if (cpu.icount !== lastCount) { lastCount = cpu.icount; idleMark = cpu.idleTicks; }
      if (machine.exit) {
        // The hypervisor stopped the guest (an unsupported feature, an EPT misconfiguration): say why.
        ending = { status: machine.exit.status, message: vm?.fatal && machine.exit.status === HYPERVISOR_STOP_STATUS ? vm.fatal : undefined };
      } else if (why === 'shutdown') {
        ending = { status: STATUS.tripleFault, message: `triple fault at ${hexAddr(cpu)}; the CPU shut down` };
      } else if (why === 'halt') {
        if (inputOpen && cpu.flags & 0x200) {
          await new Promise((r) => setTimeout(r, 10)); // wait for keyboard/serial input
        } else {
          const detail = cpu.flags & 0x200 ? 'with nothing left that could interrupt it' : 'with interrupts disabled';
          ending = { status: STATUS.haltedForever, message: `guest halted at ${hexAddr(cpu)} ${detail}` };
        }
      } else if (why === 'limit' && cpu.halted && !inputOpen && cpu.idleTicks - idleMark > IDLE_GIVE_UP) {
        const secs = IDLE_GIVE_UP * NS_PER_INSTRUCTION / 1e9;
        ending = { status: STATUS.haltedForever, message: `guest halted at ${hexAddr(cpu)} and nothing woke it for ${secs} s of virtual time` };
      } else if (why === 'limit' && cpu.icount >= limit) {
        ending = { status: STATUS.instructionLimit, message: `stopped after --max-instructions ${limit} at ${hexAddr(cpu)}` };
      }
      if (Date.now() - lastYield > 20) {
        await new Promise((r) => setImmediate(r));
        lastYield = Date.now();
      }
    }
  } finally {
    flush();
    if (tty) process.stdin.setRawMode(false);
    process.stdin.off('data', onData);
    process.stdin.off('end', onEnd);
    process.stdin.pause();
    if (debugconFd >= 0) closeSync(debugconFd);
  }
  const wallNs = Number(process.hrtime.bigint() - started);

  if (ending.message) process.stderr.write(`ringside: ${ending.message}\n`);
  if (opts.saveDisk) {
    const d = machine.disks[0];
    if (d) writeFileSync(opts.saveDisk, d.bytes);
    else process.stderr.write('ringside: --save-disk: this guest has no disk image\n');
  }
  if (opts.vga) process.stderr.write(vgaScreen(machine));
  if (opts.stats) process.stderr.write(stats(machine, wallNs, vm));
  return ending.status;
}

/**
 * What a debugger costs when armed but not hit: N code breakpoints on addresses the guest never
 * executes (the last pages of RAM) and every privileged-instruction class intercepted by a hook
 * that lets each instruction run. Used by the benchmarks to measure the hooks' overhead.
 */
function armForMeasurement(cpu: Machine['cpu'], breakpoints: number, events: boolean): void {
  const addrs: number[] = [];
  for (let k = 0; k < breakpoints; k++) addrs.push(cpu.ramSize - 0x1000 - k * 16);
  const classes = events ? PRIVILEGED_CLASSES : 0;
  const prev = cpu.hooks.beforeInsn;
  cpu.hooks = { ...cpu.hooks, beforeInsn: (c, i) => (prev ? prev(c, i) : false) };
  cpu.setIntercepts(cpu.interceptClasses | classes, [...cpu.hookAddrs, ...addrs]);
}

function hexAddr(cpu: Machine['cpu']): string {
  const cs = cpu.segSel[1].toString(16).padStart(4, '0');
  return `${cs}:${(cpu.eip >>> 0).toString(16).padStart(8, '0')}`;
}

function vgaScreen(m: Machine): string {
  const lines = m.vga.screenText();
  const bar = '+' + '-'.repeat(80) + '+';
  return [bar, ...lines.map((l) => '|' + l.padEnd(80) + '|'), bar, ''].join('\n');
}

function stats(m: Machine, wallNs: number, vm: Hypervisor | undefined): string {
  const cpu = m.cpu;
  const secs = wallNs / 1e9;
  const mips = cpu.icount / 1e6 / Math.max(secs, 1e-9);
  const lines = [
    '--- ringside statistics ---',
    `retired instructions: ${cpu.icount}`,
    `wall time:            ${secs.toFixed(3)} s`,
    `MIPS:                 ${mips.toFixed(1)}`,
    `virtual time:         ${(m.clock.nowNs() / 1e6).toFixed(3)} ms`,
    `decoded blocks:       ${cpu.code.decodedBlocks} (invalidated pages: ${cpu.code.invalidations})`,
    `TLB fills/flushes:    ${cpu.tlb.fills}/${cpu.tlb.flushes}`,
    `POST codes:           ${m.debug.postCodes().map((c) => '0x' + c.toString(16).padStart(2, '0')).join(' ') || '(none)'}`,
  ];
  if (m.bios) {
    const calls = [...m.bios.calls.entries()].sort((a, b) => a[0] - b[0]).map(([v, n]) => `INT ${v.toString(16).padStart(2, '0')}h x${n}`);
    lines.push(`BIOS services:        ${calls.join(', ') || '(none)'}`);
  }
  if (vm) lines.push(...vm.statsLines());
  return lines.join('\n') + '\n';
}

declare const RINGSIDE_VERSION: string | undefined;
const VERSION = typeof RINGSIDE_VERSION === 'string' ? RINGSIDE_VERSION : '0.1.0';

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (e) => {
    process.stderr.write(`ringside: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(STATUS.internalError);
  },
);
