// The breakpoints a user sets, compiled for the CPU: code breakpoints (source lines, instruction
// addresses, labels) become physical addresses in the decoded-instruction records, instruction
// patterns and event filters become intercepted instruction classes and exception vectors, data
// breakpoints become watched linear ranges in the TLB. Nothing here costs anything per instruction
// that is not marked.
import { compile, compileHitCondition, compileMessage, ExprError, type ExprEnv } from './expr';
import { parsePattern, type InsnPattern } from './patterns';
import { EVENT_FILTERS, type EventFilterDef } from './events';
import type { AddressSpace } from './memory';
import { findExitReason, type ExitReason } from '../hypervisor/exitreasons';

export interface BreakpointOptions {
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
}

/** Condition, hit count and log message of any breakpoint, compiled once. */
export class Trigger {
  hits = 0;
  private readonly cond?: (env: ExprEnv) => number;
  private readonly hit?: (hits: number) => boolean;
  private readonly log?: (env: ExprEnv) => string;

  constructor(o: BreakpointOptions) {
    if (o.condition?.trim()) this.cond = compile(o.condition);
    if (o.hitCondition?.trim()) this.hit = compileHitCondition(o.hitCondition);
    if (o.logMessage) this.log = compileMessage(o.logMessage);
  }

  /**
   * Decides a hit: 'stop', 'log' (message in .message) or 'no'. A condition that cannot be evaluated
   * (unreadable memory...) stops, so a broken condition is noticed rather than silently ignored.
   */
  test(env: ExprEnv): { action: 'stop' | 'log' | 'no'; message?: string; error?: string } {
    if (this.cond) {
      try {
        if (this.cond(env) === 0) return { action: 'no' };
      } catch (e) {
        return { action: 'stop', error: e instanceof Error ? e.message : String(e) };
      }
    }
    this.hits++;
    if (this.hit && !this.hit(this.hits)) return { action: 'no' };
    if (this.log) return { action: 'log', message: this.log(env) };
    return { action: 'stop' };
  }
}

export interface CodeBreakpoint {
  id: number;
  kind: 'source' | 'instruction' | 'function';
  /** Linear address of the instruction. */
  linear: number;
  /** What the user set, for messages ("kernel.asm:42", "puts", "0x101000"). */
  label: string;
  trigger: Trigger;
}

export interface PatternBreakpoint {
  id: number;
  pattern: InsnPattern;
  trigger: Trigger;
}

/** A function breakpoint `vmexit NAME` / `vmexit NUMBER`: stops after the hypervisor handles that exit. */
export interface VmExitBreakpoint {
  id: number;
  reason: ExitReason;
  trigger: Trigger;
}

export type DataAccess = 'read' | 'write' | 'readWrite';

export interface DataBreakpoint {
  id: number;
  address: number;
  size: number;
  space: AddressSpace;
  access: DataAccess;
  trigger: Trigger;
  label: string;
}

export interface EventFilterState {
  def: EventFilterDef;
  trigger: Trigger;
}

let nextId = 1;
export function newBreakpointId(): number {
  return nextId++;
}

/** Parses `lin:0x1000:4` / `phys:0x1000:2` data ids made by dataBreakpointInfo. */
export function parseDataId(id: string): { space: AddressSpace; address: number; size: number } | undefined {
  const m = /^(lin|phys):0x([0-9a-f]+):(\d+)$/i.exec(id);
  if (!m) return undefined;
  const size = Number(m[3]);
  if (size < 1 || size > 4096) return undefined;
  return { space: m[1] === 'phys' ? 'physical' : 'linear', address: parseInt(m[2], 16) >>> 0, size };
}

export function dataId(space: AddressSpace, address: number, size: number): string {
  return `${space === 'physical' ? 'phys' : 'lin'}:0x${(address >>> 0).toString(16)}:${size}`;
}

export class BreakpointSet {
  /** Code breakpoints by group (a source path, 'instruction', 'function'). */
  private readonly code = new Map<string, CodeBreakpoint[]>();
  /** Linear address -> code breakpoints there. */
  byLinear = new Map<number, CodeBreakpoint[]>();
  patterns: PatternBreakpoint[] = [];
  filters: EventFilterState[] = [];
  data: DataBreakpoint[] = [];
  vmexits: VmExitBreakpoint[] = [];

  setCode(group: string, list: CodeBreakpoint[]): void {
    if (list.length) this.code.set(group, list); else this.code.delete(group);
    this.byLinear = new Map();
    for (const l of this.code.values()) for (const b of l) {
      const at = this.byLinear.get(b.linear);
      if (at) at.push(b); else this.byLinear.set(b.linear, [b]);
    }
  }

  allCode(): CodeBreakpoint[] {
    return [...this.code.values()].flat();
  }

  /** Instruction classes to intercept for patterns and instruction filters. */
  interceptClasses(): number {
    let c = 0;
    for (const p of this.patterns) c |= p.pattern.cls;
    for (const f of this.filters) if (f.def.source === 'insn') c |= f.def.cls ?? 0;
    return c;
  }

  exceptionVectors(): number {
    let v = 0;
    for (const f of this.filters) if (f.def.source === 'exception') v |= f.def.vectors ?? 0;
    return v >>> 0;
  }

  cpuEventFilters(kind: string): EventFilterState[] {
    return this.filters.filter((f) => f.def.source === 'cpu' && f.def.cpuEvents?.includes(kind));
  }
}

/** Makes a pattern breakpoint, or throws with the reason. */
export function patternBreakpoint(text: string, o: BreakpointOptions): PatternBreakpoint {
  return { id: newBreakpointId(), pattern: parsePattern(text), trigger: new Trigger(o) };
}

/** `vmexit CR_ACCESS`, `VMEXIT 28`, `vmexit 0x1c`...: the words of a VM-exit function breakpoint, else undefined. */
export function isVmExitBreakpoint(text: string): boolean {
  return /^vm-?exit\b/i.test(text.trim());
}

/** Makes a VM-exit breakpoint from its name (see isVmExitBreakpoint), or throws saying how to spell it. */
export function vmexitBreakpoint(text: string, o: BreakpointOptions): VmExitBreakpoint {
  const what = text.trim().replace(/^vm-?exit\b\s*/i, '');
  const spell = 'write "vmexit" and a reason name or number from the Intel SDM, e.g. "vmexit CR_ACCESS", "vmexit HLT", "vmexit EPT_VIOLATION", "vmexit IO_INSTRUCTION", "vmexit 28" (names as in the panel\'s Exits tab, any case)';
  if (!what) throw new ExprError(`which VM exit? ${spell}`);
  const reason = findExitReason(what);
  if (!reason) throw new ExprError(`'${what}' is not a VM exit reason: ${spell}`);
  return { id: newBreakpointId(), reason, trigger: new Trigger(o) };
}

/** Builds the enabled filters from DAP's ids and options; unknown ids throw. */
export function eventFilters(list: { filterId: string; condition?: string }[]): EventFilterState[] {
  return list.map(({ filterId, condition }) => {
    const def = EVENT_FILTERS.find((f) => f.id === filterId);
    if (!def) throw new ExprError(`unknown event filter '${filterId}'`);
    return { def, trigger: new Trigger({ condition }) };
  });
}
