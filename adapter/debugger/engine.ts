// The debugger engine: owns a booted machine, compiles breakpoints into it, observes the CPU through
// its hooks, runs the guest in short slices (so a pause is answered at once), steps by instruction or
// by source line, and reports stops with a reason that names what happened. It knows nothing of DAP.
import type { Machine } from '../machine/pc';
import type { LoadedGuest } from '../machine/loaders/types';
import { CPU_STOP, type Cpu } from '../cpu/cpu';
import type { CpuEvent } from '../cpu/bus';
import type { Insn } from '../cpu/insn';
import { CS, SS } from '../cpu/insn';
import { decodeFrom } from '../cpu/decoder';
import { formatInsn } from '../cpu/disasm';
import { Cls } from '../cpu/opcodes';
import { SymbolTable } from './symbols';
import { GuestMemory } from './memory';
import { readRegister, registerNames, writeRegister, codeAddress, stackTop } from './registers';
import { ExprError, type ExprEnv, type ExprSink } from './expr';
import { findExitReason, exitReasonLabel } from '../hypervisor/exitreasons';
import {
  BreakpointSet, Trigger, newBreakpointId, patternBreakpoint, eventFilters, vmexitBreakpoint,
  type BreakpointOptions, type VmExitBreakpoint, type CodeBreakpoint, type DataBreakpoint, type DataAccess, type EventFilterState,
} from './breakpoints';
import { matchPattern } from './patterns';
import { exceptionName, insnEventTitle } from './events';
import { insnEventVars, describePf, modeText } from './eventvars';
import type { AddressSpace } from './memory';
import { mappings, pagingMode } from './pagetables';

export type StopKind = 'entry' | 'step' | 'breakpoint' | 'function breakpoint' | 'instruction breakpoint' | 'data breakpoint' | 'exception' | 'pause' | 'goto';

export interface StopInfo {
  kind: StopKind;
  /** Names what happened: "privileged instruction: mov cr3, eax". */
  description: string;
  hitBreakpointIds?: number[];
  /** Exception-class stops (event filters, triple fault), for exceptionInfo. */
  exception?: { filterId: string; title: string; details: string };
}

export type RunOutcome = { kind: 'stopped'; stop: StopInfo } | { kind: 'exited'; status: number; reason: string };

export interface EngineListener {
  stopped(stop: StopInfo): void;
  exited(status: number, reason: string): void;
  /** Guest console bytes (COM1, port 0xE9) as text, and the engine's own notes (logpoints). */
  output(text: string, category: 'stdout' | 'console'): void;
}

/** A delivered interrupt whose handler may still be running: for the stack trace. */
export interface InterruptFrame {
  vector: number;
  source: string;
  /** Linear address of the frame (the return EIP, or the error code below it). */
  frame: number;
  ss: number;
  errorCode: number;
  fromCs: number;
  fromEip: number;
}

export interface RingTransition { from: number; to: number; cause: string; icount: number; eip: number }

/** Instructions executed per run slice: small enough that pause answers well within 100 ms. */
const SLICE = 100_000;
/** Wall time spent per macrotask before yielding to the event loop. */
const TICK_MS = 25;
/** Wait between looks at a guest halted for input. */
const IDLE_MS = 10;
/** Device events in a row that leave the CPU halted before a run ends as idle. */
const IDLE_WAKEUPS = 1000;

type Pending = StopInfo & { internal?: 'target' };
/** Where a step runs to without stopping on the way: after a stepped-over call, or back from an interrupt. */
type Target = { linear: number; stack: number; ss: number; kind: 'call' | 'interrupt' };
/** How a unit of a step ended: it moved (one instruction, or a whole call), is still running, or must stop. */
type Advance = RunOutcome | 'moved' | 'running';

export class Engine {
  readonly cpu: Cpu;
  readonly symbols: SymbolTable;
  readonly memory: GuestMemory;
  readonly bps = new BreakpointSet();
  /** Recent ring transitions (newest last), for the rings view. */
  readonly transitions: RingTransition[] = [];
  interruptFrames: InterruptFrame[] = [];
  running = false;
  /** The guest ended (exit device, reset): nothing more to run. */
  ended = false;
  lastStop?: StopInfo;
  tripleFault?: { vector: number };
  /** COM1 output goes here instead of the listener's output when set (an integrated terminal). */
  serialSink?: (bytes: Uint8Array) => void;
  /** Someone can type into COM1 while the guest runs: a HLT with interrupts enabled waits for input. */
  inputAttached = false;

  private pending?: Pending;
  private pauseRequested = false;
  /** Resume guard: the stop location is not re-reported when execution resumes from it. */
  private guard = { linear: -1, icount: -1 };
  private stoppedVectors = { icount: -1, vectors: new Set<number>() };
  /** Step target: stop when this linear address is reached with the stack at or above `stack` (or SS changed). */
  private target?: Target;
  /** The target the last run reached. */
  private reached?: Target['kind'];
  /** The step in progress: 'into' ends at the first instruction of any handler entered; 'over' (next, step
   *  out) runs through the handlers of interrupts and INT n, and ends at an exception handler's entry. */
  private stepping?: 'into' | 'over';
  /** A handler entered during a step: the step ends at its first instruction. */
  private entered?: { vector: number; source: string };
  /** CS base and code size when the current one-instruction run began (where an interrupt returns to). */
  private runFrom = { csBase: 0, code32: true };
  /** The guest waits in HLT for input: the run loop idles instead of spinning. */
  private idle = false;
  private idleWakeups = 0;
  private serialOut: number[] = [];
  private hookPhys = new Set<number>();
  private out: number[] = [];
  private pendingData: { bp: DataBreakpoint; write: boolean; lin: number; size: number; old: Uint8Array; eip: number; insn: string }[] = [];
  private onTick?: () => void;

  constructor(readonly machine: Machine, readonly guest: LoadedGuest, private readonly listener: EngineListener) {
    this.cpu = machine.cpu;
    this.symbols = new SymbolTable(guest.symbols, guest.lineMap);
    this.memory = new GuestMemory(this.cpu, machine);
    machine.uart.onTransmit = (b) => { (this.serialSink ? this.serialOut : this.out).push(b); };
    machine.debug.onDebugByte = (b) => { this.out.push(b); };
    // A halted CPU whose device events wake nothing (say, a timer masked at the PIC) idles inside
    // cpu.run without retiring instructions, so the run's budget never ends it. Count those idle
    // wake-ups and end the run after a while: pause, COM1 input and the event loop get their turn.
    const service = machine.serviceDevices.bind(machine);
    machine.serviceDevices = (cpu) => {
      service(cpu);
      if (!cpu.halted) this.idleWakeups = 0;
      else if (++this.idleWakeups >= IDLE_WAKEUPS) { this.idleWakeups = 0; this.idle = true; cpu.requestStop('idle'); }
    };
    this.cpu.hooks = {
      beforeInsn: (cpu, i) => this.beforeInsn(cpu, i),
      exception: (cpu, v, err, hasErr) => this.onException(cpu, v, err, hasErr),
      event: (cpu, e) => this.onEvent(cpu, e),
      watch: (cpu, lin, size, write, value) => this.onWatch(cpu, lin, size, write, value),
    };
  }

  // ------------------------------------------------------------------ expression environment

  /** Registers, symbols, memory and optional event variables for the expression language. */
  env(vars: Record<string, number> = {}): ExprEnv {
    const cpu = this.cpu;
    return {
      reg: (name) => {
        if (name in vars) return vars[name];
        return readRegister(cpu, name);
      },
      symbol: (name) => {
        const s = this.symbols.lookup(name);
        if (s !== undefined) return s;
        // Exit reason names compare with `reason` in VM-exit conditions.
        return /^[A-Z_]+$/.test(name) ? findExitReason(name)?.number : undefined;
      },
      here: () => codeAddress(cpu),
      enclosingLabel: (a) => this.symbols.enclosingLabel(a),
      read: (addr, size) => {
        const v = this.memory.readValue(addr, size);
        if (v === undefined) throw new ExprError(`memory at 0x${(addr >>> 0).toString(16)} is not readable`);
        return v;
      },
    };
  }

  sink(): ExprSink {
    return {
      setReg: (name, value) => { writeRegister(this.cpu, name, value); this.afterStateEdit(); },
      write: (addr, size, value) => {
        if (!this.memory.writeValue(addr, size, value)) throw new ExprError(`memory at 0x${(addr >>> 0).toString(16)} is not writable`);
      },
    };
  }

  completionNames(): string[] {
    return [...registerNames(), ...this.symbols.names];
  }

  /** After the debugger changed registers: derived state and compiled breakpoints follow. */
  afterStateEdit(): void {
    this.refreshCode();
    this.refreshData();
  }

  // ------------------------------------------------------------------ breakpoints

  /** Replaces one group of code breakpoints (a source file, 'instruction' or 'function'). */
  setCodeBreakpoints(group: string, list: { kind: CodeBreakpoint['kind']; linear: number; label: string; options: BreakpointOptions; id?: number }[]): CodeBreakpoint[] {
    const bps = list.map((b) => ({ id: b.id ?? newBreakpointId(), kind: b.kind, linear: b.linear >>> 0, label: b.label, trigger: new Trigger(b.options) }));
    this.bps.setCode(group, bps);
    this.refreshCode();
    return bps;
  }

  setPatternBreakpoints(list: { text: string; options: BreakpointOptions }[]): ReturnType<typeof patternBreakpoint>[] {
    this.bps.patterns = list.map((p) => patternBreakpoint(p.text, p.options));
    this.refreshCode();
    return this.bps.patterns;
  }

  setEventFilters(list: { filterId: string; condition?: string }[]): EventFilterState[] {
    this.bps.filters = eventFilters(list);
    this.cpu.exceptionIntercepts = this.bps.exceptionVectors();
    this.refreshCode();
    return this.bps.filters;
  }

  /** Function breakpoints `vmexit NAME`; a bad name or condition throws before anything changes. */
  setVmExitBreakpoints(list: { text: string; options: BreakpointOptions; id?: number }[]): VmExitBreakpoint[] {
    this.bps.vmexits = list.map((b) => ({ ...vmexitBreakpoint(b.text, b.options), ...(b.id !== undefined ? { id: b.id } : {}) }));
    return this.bps.vmexits;
  }

  /** A hypervisor runs the guest (it installs its hooks on the CPU; plain emulation leaves them empty). */
  get virtualized(): boolean {
    return Object.keys(this.cpu.vmm).length > 0;
  }

  setDataBreakpoints(list: { address: number; size: number; space: AddressSpace; access: DataAccess; options: BreakpointOptions; label: string }[]): DataBreakpoint[] {
    this.bps.data = list.map((d) => ({ id: newBreakpointId(), address: d.address >>> 0, size: d.size, space: d.space, access: d.access, trigger: new Trigger(d.options), label: d.label }));
    this.refreshData();
    return this.bps.data;
  }

  /**
   * Compiles code breakpoints into physical addresses for the decoded records. Linear addresses are
   * translated through the guest's current tables (identity while paging is off); the hook compares
   * linear addresses, so a stale translation can only cost a check, never a wrong stop.
   */
  refreshCode(): void {
    const phys = new Set<number>();
    const add = (lin: number) => {
      const p = this.cpu.peekTranslate(lin);
      phys.add(p >= 0 ? p : lin & this.cpu.a20Mask);
    };
    for (const lin of this.bps.byLinear.keys()) add(lin);
    if (this.target) add(this.target.linear);
    let classes = this.bps.interceptClasses();
    // With code breakpoints armed, CR writes are watched so a CR3/CR0 change recompiles them.
    if (phys.size) classes |= Cls.CrWrite;
    const same = classes === this.cpu.interceptClasses && phys.size === this.hookPhys.size && [...phys].every((p) => this.hookPhys.has(p));
    if (same) return;
    this.hookPhys = phys;
    this.cpu.setIntercepts(classes, phys);
  }

  /** Data breakpoints as watched linear ranges (a physical one watches every linear page mapping it now). */
  refreshData(): void {
    const ranges: { start: number; end: number }[] = [];
    let maps: ReturnType<typeof mappings> | undefined;
    for (const d of this.bps.data) {
      // the guest's paging, not the processor's: a monitor pages through its own root while the guest's is off
      if (d.space === 'linear' || pagingMode(this.cpu) === 'off') { ranges.push({ start: d.address, end: d.address + d.size }); continue; }
      maps ??= mappings(this.cpu, this.memory);
      for (const m of maps) {
        const lo = Math.max(m.physical, d.address), hi = Math.min(m.physical + m.size, d.address + d.size);
        if (lo < hi) ranges.push({ start: m.linear + (lo - m.physical), end: m.linear + (hi - m.physical) });
      }
    }
    this.cpu.tlb.setWatchRanges(ranges);
  }

  // ------------------------------------------------------------------ CPU hooks

  private stop(p: Pending): never {
    this.pending ??= p;
    throw CPU_STOP;
  }

  private beforeInsn(cpu: Cpu, i: Insn): boolean {
    const lin = (cpu.segBase[CS] + cpu.curEip) >>> 0;
    const g = this.guard;
    if (lin === g.linear && (cpu.icount === g.icount || (i.rep !== 0 && cpu.icount === g.icount + 1))) {
      g.icount = cpu.icount;
      return this.passThrough(cpu, i);
    }
    const t = this.target;
    if (t && lin === t.linear && (cpu.segSel[SS] !== t.ss || stackTop(cpu) >= t.stack)) {
      this.stop({ kind: 'step', description: 'step', internal: 'target' });
    }
    const saved = cpu.eip;
    cpu.eip = cpu.curEip; // conditions see the instruction's own EIP
    const hits: number[] = [];
    let first: Pending | undefined;
    try {
      const code = this.bps.byLinear.get(lin);
      if (code) for (const b of code) {
        const r = b.trigger.test(this.env());
        if (r.action === 'log') this.log(r.message!);
        if (r.action !== 'stop') continue;
        hits.push(b.id);
        const kind: StopKind = b.kind === 'source' ? 'breakpoint' : b.kind === 'function' ? 'function breakpoint' : 'instruction breakpoint';
        first ??= { kind, description: r.error ? `breakpoint condition failed: ${r.error}` : `breakpoint at ${b.label}` };
      }
      const cls = i.entry.cls;
      if (cls) {
        let text: string | undefined;
        for (const p of this.bps.patterns) {
          if (!(cls & p.pattern.cls) || !matchPattern(p.pattern, i, cpu)) continue;
          const r = p.trigger.test(this.env());
          if (r.action === 'log') this.log(r.message!);
          if (r.action !== 'stop') continue;
          hits.push(p.id);
          text ??= insnText(i);
          first ??= { kind: 'function breakpoint', description: `instruction ${p.pattern.text}: ${text}` };
        }
        for (const f of this.bps.filters) {
          if (f.def.source !== 'insn' || !(cls & (f.def.cls ?? 0))) continue;
          const vars = insnEventVars(cpu, i, this.memory);
          if (vars === undefined) continue; // e.g. CLI with IF already clear: no change
          const r = f.trigger.test(this.env(vars));
          if (r.action !== 'stop') continue;
          text ??= insnText(i);
          const title = insnEventTitle(cls & (f.def.cls ?? 0));
          // Under a hypervisor the stop names the exit the instruction is about to cause.
          const exit = cpu.vmm.exitFor?.(cpu, i);
          const what = exit ? `${text} (${exit})` : text;
          first ??= { kind: 'exception', description: `${title}: ${what}`, exception: { filterId: f.def.id, title: f.def.label, details: `${title}: ${what} at ${this.where(lin)}` } };
        }
        // CR writes move code breakpoints' physical addresses: execute here, then recompile.
        if (!first && cls & Cls.CrWrite && this.hookPhys.size) {
          cpu.eip = saved;
          i.inner(cpu, i);
          this.refreshCode();
          return true;
        }
      }
    } finally {
      if (cpu.eip === cpu.curEip) cpu.eip = saved;
    }
    if (first) this.stop({ ...first, hitBreakpointIds: hits.length ? hits : undefined });
    return false;
  }

  private passThrough(cpu: Cpu, i: Insn): boolean {
    if (i.entry.cls & Cls.CrWrite && this.hookPhys.size) {
      i.inner(cpu, i);
      this.refreshCode();
      return true;
    }
    return false;
  }

  private onException(cpu: Cpu, v: number, err: number, hasErr: boolean): boolean {
    const sv = this.stoppedVectors;
    if (sv.icount === cpu.icount && sv.vectors.has(v)) return false;
    for (const f of this.bps.filters) {
      if (f.def.source !== 'exception' || !((f.def.vectors ?? 0) >>> v & 1)) continue;
      const vars: Record<string, number> = { vector: v, error_code: hasErr ? err >>> 0 : 0, errorcode: hasErr ? err >>> 0 : 0 };
      const r = f.trigger.test(this.env(vars));
      if (r.action !== 'stop') continue;
      if (sv.icount !== cpu.icount) { sv.icount = cpu.icount; sv.vectors = new Set(); }
      sv.vectors.add(v);
      const lin = codeAddress(cpu);
      let what = exceptionName(v);
      if (hasErr) what += `, error code 0x${(err >>> 0).toString(16)}`;
      if (v === 14) what += `, CR2 0x${(cpu.cr2 >>> 0).toString(16)}${describePf(err)}`;
      const insn = this.insnAt(lin);
      const desc = `exception ${what}${insn ? ` at ${insn.text}` : ''}`;
      this.stop({ kind: 'exception', description: desc, exception: { filterId: f.def.id, title: exceptionName(v), details: `${desc} (${this.where(lin)}); continuing delivers it to the guest` } });
    }
    return false;
  }

  private onEvent(cpu: Cpu, e: CpuEvent): void {
    switch (e.kind) {
      case 'interrupt': {
        const frame = stackTop(cpu);
        const ss = cpu.segSel[SS];
        // Frames at or below the new one on the same stack have returned.
        this.interruptFrames = this.interruptFrames.filter((f) => f.ss !== ss || f.frame > frame).slice(-31);
        this.interruptFrames.push({ vector: e.vector, source: e.source, frame, ss, errorCode: e.errorCode, fromCs: e.fromCs, fromEip: e.fromEip });
        this.handlerEntered(cpu, e, frame, ss);
        return;
      }
      case 'triple-fault':
        this.tripleFault = { vector: e.vector };
        return;
      case 'cpl':
        this.transitions.push({ from: e.from, to: e.to, cause: e.cause, icount: cpu.icount, eip: cpu.eip >>> 0 });
        if (this.transitions.length > 64) this.transitions.shift();
        this.eventStop('cpl', { from: e.from, to: e.to }, `ring transition: ring ${e.from} -> ring ${e.to} (${e.cause})`);
        return;
      case 'mode':
        this.refreshLater();
        this.eventStop('mode', { protected: cpu.isProtected() ? 1 : 0, paging: cpu.pagingOn() ? 1 : 0 }, `mode switch: ${modeText(e.what)}`);
        return;
      case 'task-switch':
        this.eventStop('task-switch', { from: e.from, to: e.to }, `task switch: TSS 0x${e.from.toString(16)} -> 0x${e.to.toString(16)} (${e.cause})`);
        return;
      case 'vmexit':
        this.vmexitStop(e.reason, e.qualification, `VM exit ${exitReasonLabel(e.reason)}${e.text ? `: ${e.text}` : ''}`);
        return;
    }
  }

  /**
   * An interrupt taken during a step. Step in stops before the handler's first instruction (so the user
   * sees where control went, with the interrupt frame on the stack). Step over and step out run through
   * an external interrupt or INT n as they would through a call, back to the interrupted instruction;
   * an exception ends them at its handler's entry, as a fault is news. Inside a stepped-over call
   * everything runs through.
   */
  private handlerEntered(cpu: Cpu, e: Extract<CpuEvent, { kind: 'interrupt' }>, frame: number, ss: number): void {
    if (!this.stepping || this.target) return;
    if (this.stepping === 'over' && e.source !== 'exception') {
      const back = (this.runFrom.csBase + (this.runFrom.code32 ? e.fromEip : e.fromEip & 0xffff)) >>> 0;
      this.setTarget(back, 'interrupt', (frame + 1) >>> 0, ss);
      return;
    }
    this.entered = { vector: e.vector, source: e.source };
    cpu.requestStop('debugger');
  }

  /** CPU events stop after the instruction (or delivery) that caused them completes. */
  private eventStop(kind: string, vars: Record<string, number>, description: string): void {
    for (const f of this.bps.cpuEventFilters(kind)) {
      const r = f.trigger.test(this.env(vars));
      if (r.action !== 'stop') continue;
      this.pending ??= { kind: 'exception', description, exception: { filterId: f.def.id, title: f.def.label, details: description } };
      this.cpu.requestStop('debugger');
      return;
    }
  }

  /** A VM exit: `vmexit NAME` breakpoints on its reason, then the VM-exit filter; the stop is the filter's kind. */
  private vmexitStop(reason: number, qualification: number, description: string): void {
    const vars = { reason, qualification };
    const hits: number[] = [];
    for (const b of this.bps.vmexits) {
      if (b.reason.number !== reason) continue;
      const r = b.trigger.test(this.env(vars));
      if (r.action === 'log') this.log(r.message!);
      if (r.action !== 'stop') continue;
      hits.push(b.id);
      if (r.error) description += ` (breakpoint condition failed: ${r.error})`;
    }
    if (hits.length) {
      // The same stop as the filter's (exceptionInfo answers it), with the breakpoint marked as hit.
      // VS Code titles it "Exception has occurred: vmexit CR_ACCESS", the breakpoint's name; the description says the rest.
      const name = `vmexit ${exitReasonLabel(reason).replace(/^\d+ /, '')}`;
      this.pending ??= { kind: 'exception', description, hitBreakpointIds: hits, exception: { filterId: 'vmexit', title: name, details: `${description} (function breakpoint ${name})` } };
      this.cpu.requestStop('debugger');
      return;
    }
    this.eventStop('vmexit', vars, description);
  }

  private refreshLater(): void {
    // Paging changed: breakpoints' physical addresses may have moved. Recompiling flushes decoded
    // blocks, which is safe mid-block (the running block holds its own list and ends here).
    if (this.hookPhys.size) this.refreshCode();
    if (this.bps.data.length) this.refreshData();
  }

  private onWatch(cpu: Cpu, lin: number, size: number, write: boolean, _value: number): void {
    for (const d of this.bps.data) {
      if (write ? d.access === 'read' : d.access === 'write') continue;
      const at = d.space === 'linear' ? lin : this.memory.linearToPhysical(lin);
      if (at < 0 || !((at >>> 0) < d.address + d.size && (at >>> 0) + size > d.address)) continue;
      const old = this.memory.read(d.address, d.size, d.space).bytes;
      const eip = cpu.curEip >>> 0;
      const insn = this.insnAt((cpu.segBase[CS] + eip) >>> 0)?.text ?? '?';
      this.pendingData.push({ bp: d, write, lin, size, old, eip, insn });
      cpu.requestStop('debugger');
    }
  }

  /** Turns data-breakpoint accesses seen during the last instruction into a stop (or nothing). */
  private dataStop(): Pending | undefined {
    const list = this.pendingData;
    this.pendingData = [];
    for (const h of list) {
      const d = h.bp;
      const r = d.trigger.test(this.env());
      if (r.action === 'log') this.log(r.message!);
      if (r.action !== 'stop') continue;
      const now = this.memory.read(d.address, d.size, d.space).bytes;
      const fmt = (b: Uint8Array) => '0x' + [...b].reverse().map((x) => x.toString(16).padStart(2, '0')).join('').replace(/^0+(?=.)/, '');
      const sym = d.space === 'linear' ? this.symbols.describe(d.address) : undefined;
      const values = h.write ? `, old ${fmt(h.old)} -> new ${fmt(now)}` : `, value ${fmt(now)}`;
      return { kind: 'data breakpoint', hitBreakpointIds: [d.id],
        description: `data breakpoint: ${h.write ? 'write' : 'read'} of ${h.size} byte${h.size > 1 ? 's' : ''} at 0x${(h.lin >>> 0).toString(16)}${sym ? ` (${sym})` : ''} by ${h.insn} at 0x${h.eip.toString(16)}${values}` };
    }
    return undefined;
  }

  private log(message: string): void {
    this.listener.output(message + '\n', 'console');
  }

  // ------------------------------------------------------------------ running

  /** Decodes the instruction at a linear address from guest memory (no side effects). */
  insnAt(lin: number, code32 = this.cpu.code32): { insn: Insn; text: string } | undefined {
    const bytes = this.memory.read(lin, 16);
    const base = this.cpu.segBase[CS];
    const off = (lin - base) >>> 0;
    try {
      const insn = decodeFrom((o) => {
        const k = ((o - off) >>> 0) & (code32 ? 0xffffffff : 0xffff);
        if (k >= 16 || !bytes.readable[k]) throw new ExprError('unreadable');
        return bytes.bytes[k];
      }, off, code32);
      return { insn, text: insnText(insn, (a) => this.symbols.exactName((a + base) >>> 0)) };
    } catch {
      return undefined;
    }
  }

  /** "kernel.asm:42" or "puts+0x4" or the address. */
  where(lin: number): string {
    const l = this.symbols.lineAt(lin);
    if (l) return `${l.file.split(/[\\/]/).pop()}:${l.line}`;
    return this.symbols.describe(lin) ?? '0x' + (lin >>> 0).toString(16);
  }

  flushOutput(): void {
    if (this.serialOut.length) {
      const bytes = Uint8Array.from(this.serialOut);
      this.serialOut = [];
      if (this.serialSink) this.serialSink(bytes); else this.out.push(...bytes);
    }
    if (!this.out.length) return;
    const text = Buffer.from(this.out).toString('latin1');
    this.out = [];
    this.listener.output(text, 'stdout');
  }

  pause(): void {
    if (!this.running) return;
    this.pauseRequested = true;
    this.cpu.requestStop('pause');
  }

  /** Stops running for good (terminate/disconnect): no further events. */
  halt(): void {
    this.ended = true;
    this.running = false;
    this.cpu.requestStop('terminate');
  }

  continue(): void {
    this.start(undefined, () => this.afterRun(this.cpu.run(SLICE)));
  }

  /** One instruction (step in at instruction granularity, the disassembly view). */
  stepInstruction(): void {
    this.start('into', () => this.endsStep(this.advance(false)));
  }

  /** Step over one instruction: CALL, INT, LOOP and REP-string instructions run to the next one. */
  stepOverInstruction(): void {
    this.start('over', () => this.endsStep(this.advance(true)));
  }

  /** Step by source line; `over` steps over calls. Falls back to instructions where no line maps. */
  stepLine(over: boolean): void {
    const cpu = this.cpu;
    const startLin = codeAddress(cpu);
    const start = this.symbols.lineAt(startLin);
    if (!start) { if (over) this.stepOverInstruction(); else this.stepInstruction(); return; }
    this.start(over ? 'over' : 'into', () => {
      const r = this.advance(over);
      if (r !== 'moved') return this.endsStep(r);
      const lin = codeAddress(cpu);
      const now = this.symbols.lineAt(lin);
      // Back at the line's start after moving: a loop on one line, which is a step too.
      if (!now || now.line !== start.line || now.file !== start.file || lin === startLin) return this.stepped();
      return undefined;
    });
  }

  /** Runs until the current function or handler returns (RET, RETF or IRET leaving the frame). */
  stepOut(): void {
    const cpu = this.cpu;
    const stack0 = stackTop(cpu), ss0 = cpu.segSel[SS];
    let h: string | undefined;
    this.start('over', () => {
      if (!this.target) h = this.insnAt(codeAddress(cpu))?.insn.entry.handler;
      const r = this.advance(true);
      if (r !== 'moved') return this.endsStep(r);
      if ((h === 'ret' || h === 'retf' || h === 'iret') && (cpu.segSel[SS] !== ss0 || stackTop(cpu) > stack0)) return this.stepped();
      return undefined;
    });
  }

  /** A whole step of one unit: it ends when the unit moved. */
  private endsStep(r: Advance): RunOutcome | undefined {
    return r === 'running' ? undefined : r === 'moved' ? this.stepped() : r;
  }

  /**
   * One unit of a step: one instruction, or (with `overCalls`, at a call-like instruction) everything up
   * to the instruction after it. A target left by an interrupt is run to first and does not count.
   */
  private advance(overCalls: boolean): Advance {
    const cpu = this.cpu;
    if (!this.target && overCalls) {
      const lin = codeAddress(cpu);
      const at = this.insnAt(lin);
      if (at && isCallLike(at.insn)) this.setTarget((lin + at.insn.len) >>> 0, 'call');
    }
    if (this.target) {
      const r = this.afterRun(cpu.run(SLICE));
      const reached = this.reached;
      this.reached = undefined;
      if (reached === 'call') return 'moved';
      if (reached === 'interrupt') {
        // Back where the interrupt came in: that instruction has yet to run, and is not a new stop.
        this.guard = { linear: codeAddress(cpu), icount: cpu.icount };
        return 'running';
      }
      return r ?? 'running';
    }
    this.runFrom = { csBase: cpu.segBase[CS], code32: cpu.code32 };
    const r = this.afterRun(cpu.run(1));
    if (r) return r;
    const e = this.entered;
    if (e) {
      this.entered = undefined;
      const what = e.source === 'external' ? `interrupt 0x${e.vector.toString(16)}` : e.source === 'software' ? `int 0x${e.vector.toString(16)}` : exceptionName(e.vector);
      return { kind: 'stopped', stop: { kind: 'step', description: `step to ${this.where(codeAddress(cpu))}: entered the handler of ${what}` } };
    }
    return this.target ? 'running' : 'moved';
  }

  private setTarget(linear: number, kind: Target['kind'], stack = stackTop(this.cpu), ss = this.cpu.segSel[SS]): void {
    this.target = { linear, stack, ss, kind };
    this.refreshCode();
  }

  private clearTarget(): void {
    if (!this.target) return;
    this.target = undefined;
    this.refreshCode();
  }

  private stepped(): RunOutcome {
    return { kind: 'stopped', stop: { kind: 'step', description: `step to ${this.where(codeAddress(this.cpu))}` } };
  }

  /** Examines how a run ended; undefined to keep running. */
  private afterRun(why: string): RunOutcome | undefined {
    const m = this.machine;
    if (m.exit) return { kind: 'exited', status: m.exit.status, reason: m.exit.reason };
    const data = this.pendingData.length ? this.dataStop() : undefined;
    const p = this.pending ?? data;
    this.pending = undefined;
    if (p) {
      if (p.internal === 'target') { this.reached = this.target?.kind; this.clearTarget(); return this.stepped(); }
      const { internal: _i, ...stop } = p;
      return { kind: 'stopped', stop };
    }
    if (why === 'shutdown') {
      const v = this.tripleFault?.vector ?? -1;
      const d = `triple fault: ${v >= 0 ? exceptionName(v) + ' could not be delivered; ' : ''}the CPU shut down at ${this.where(codeAddress(this.cpu))}`;
      return { kind: 'stopped', stop: { kind: 'exception', description: 'triple fault', exception: { filterId: 'triple', title: 'triple fault', details: d } } };
    }
    if (why === 'halt') {
      // Someone can type into COM1 and an interrupt could follow: wait for input rather than stop.
      if (this.inputAttached && this.cpu.flags & 0x200) { this.idle = true; return undefined; }
      const d = this.cpu.flags & 0x200 ? 'HLT with nothing left that could interrupt it' : 'HLT with interrupts disabled';
      return { kind: 'stopped', stop: { kind: 'pause', description: `halted: ${d}` } };
    }
    return undefined;
  }

  /** Runs `task` in slices until it reports an outcome; a pause ends it at the next slice. */
  private start(mode: 'into' | 'over' | undefined, task: () => RunOutcome | undefined): void {
    if (this.running || this.ended) return;
    const cpu = this.cpu;
    if (cpu.shutdown) {
      queueMicrotask(() => this.report({ kind: 'stopped', stop: { kind: 'exception', description: 'triple fault', exception: { filterId: 'triple', title: 'triple fault', details: 'the CPU is shut down after a triple fault; restart to run the guest again' } } }));
      return;
    }
    this.running = true;
    this.pauseRequested = false;
    this.stepping = mode;
    this.entered = undefined;
    this.reached = undefined;
    this.idle = false;
    this.pending = undefined;
    this.pendingData = [];
    this.guard = { linear: codeAddress(cpu), icount: cpu.icount };
    const tick = () => {
      if (!this.running) return;
      const t0 = Date.now();
      let out: RunOutcome | undefined;
      try {
        do {
          if (this.onTick) { const f = this.onTick; this.onTick = undefined; f(); }
          out = this.pauseRequested ? { kind: 'stopped', stop: { kind: 'pause', description: 'paused' } } : task();
        } while (!out && !this.idle && Date.now() - t0 < TICK_MS);
      } catch (e) {
        // The adapter never crashes because of a guest: an internal failure becomes a stop.
        out = { kind: 'stopped', stop: { kind: 'exception', description: `internal error: ${e instanceof Error ? e.message : String(e)}`, exception: { filterId: 'internal', title: 'internal error', details: e instanceof Error ? e.stack ?? e.message : String(e) } } };
      }
      this.flushOutput();
      if (out) this.report(out);
      else if (this.idle) { this.idle = false; setTimeout(tick, IDLE_MS); }
      else setImmediate(tick);
    };
    setImmediate(tick);
  }

  private report(out: RunOutcome): void {
    this.running = false;
    this.pauseRequested = false;
    this.stepping = undefined;
    this.entered = undefined;
    this.clearTarget();
    if (this.onTick) { const f = this.onTick; this.onTick = undefined; f(); }
    this.flushOutput();
    if (out.kind === 'exited') {
      this.ended = true;
      this.listener.exited(out.status, out.reason);
      return;
    }
    this.lastStop = out.stop;
    this.listener.stopped(out.stop);
  }

  /** Moves execution to a linear address (goto). */
  jumpTo(linear: number): void {
    const off = (linear - this.cpu.segBase[CS]) >>> 0;
    writeRegister(this.cpu, 'eip', off);
  }
}

function insnText(i: Insn, symbol?: (a: number) => string | undefined): string {
  return formatInsn(i, symbol ? { symbol } : {}).replace(/,(?=\S)/g, ', ');
}

/** Instructions a step over runs through as one step. */
export function isCallLike(i: Insn): boolean {
  const h = i.entry.handler;
  if (h === 'call' || h === 'callf' || h === 'int' || h === 'int3' || h === 'into' || h === 'loop') return true;
  return i.rep !== 0 && ['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs'].includes(h);
}
