// Virtual time for the devices.
//
// Deterministic by default: time is the retired-instruction count times NS_PER_INSTRUCTION, i.e. a
// virtual 100 MIPS CPU, so the same guest and inputs see the same timer interrupts at the same
// instruction boundaries. `realtime` mode reads the host's monotonic clock instead.
//
// Timed devices (PIT, RTC) report when their next event is due (nextEventNs) and are told to catch
// up (tick); the machine converts the earliest event into an instruction count and runs the CPU in
// batches up to it.

/** Virtual nanoseconds per retired instruction (a virtual 100 MIPS CPU). */
export const NS_PER_INSTRUCTION = 10;

/** Wall-clock time at virtual time 0 in deterministic mode: 2026-01-01 00:00:00 UTC. */
export const VIRTUAL_EPOCH_MS = Date.UTC(2026, 0, 1, 0, 0, 0);

export type ClockMode = 'virtual' | 'realtime';

/** A device that has something to do at a point in time. */
export interface TimedDevice {
  /** Virtual ns of the next event, or Infinity when nothing is scheduled. */
  nextEventNs(): number;
  /** Catch up with everything due at or before nowNs. */
  tick(nowNs: number): void;
}

export interface ClockSnapshot {
  mode: ClockMode;
  instructions: number;
}

export class Clock {
  private instructions = 0;
  private source: (() => number) | undefined;
  private readonly startHr: bigint;
  private readonly startWallMs: number;

  constructor(readonly mode: ClockMode = 'virtual') {
    this.startHr = mode === 'realtime' ? process.hrtime.bigint() : 0n;
    this.startWallMs = mode === 'realtime' ? Date.now() : VIRTUAL_EPOCH_MS;
  }

  /** Tell the clock how many instructions have retired so far. */
  setInstructionCount(n: number): void {
    this.instructions = n;
  }

  /**
   * Read the instruction count live from the CPU instead of being told; devices then see the exact
   * time of an I/O access in the middle of a batch without the machine pushing the count first.
   */
  bindInstructionCounter(source: (() => number) | undefined): void {
    this.source = source;
  }

  instructionCount(): number {
    return this.source ? this.source() : this.instructions;
  }

  /** Nanoseconds since the machine started. */
  nowNs(): number {
    if (this.mode === 'realtime') return Number(process.hrtime.bigint() - this.startHr);
    return this.instructionCount() * NS_PER_INSTRUCTION;
  }

  /** Milliseconds since the Unix epoch (UTC) of "now", for the RTC. */
  wallTimeMs(): number {
    return this.startWallMs + this.nowNs() / 1e6;
  }

  /**
   * The instruction count at which virtual time reaches `ns` (the smallest n with n*10 >= ns).
   * In realtime mode this is an estimate at the nominal rate; the machine polls again anyway.
   */
  instructionCountAt(ns: number): number {
    if (ns === Infinity) return Infinity;
    if (this.mode === 'virtual') return Math.max(0, Math.ceil(ns / NS_PER_INSTRUCTION));
    const now = this.nowNs();
    return this.instructionCount() + Math.max(0, Math.ceil((ns - now) / NS_PER_INSTRUCTION));
  }

  snapshot(): ClockSnapshot {
    return { mode: this.mode, instructions: this.instructionCount() };
  }

  restore(s: ClockSnapshot): void {
    this.instructions = s.instructions;
  }
}

/** Earliest event among devices (Infinity when none is scheduled). */
export function earliestEventNs(devices: readonly TimedDevice[]): number {
  let t = Infinity;
  for (const d of devices) {
    const n = d.nextEventNs();
    if (n < t) t = n;
  }
  return t;
}
