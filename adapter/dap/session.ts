// The DAP session: translates requests into calls on the debugger engine and engine reports into
// events. Thin by intent: every decision about breakpoints, stepping and state lives in debugger/.
import * as path from 'node:path';
import {
  DebugSession, InitializedEvent, StoppedEvent, TerminatedEvent, ExitedEvent, OutputEvent, BreakpointEvent, Event,
  ProgressStartEvent, ProgressEndEvent, Thread, Source,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { loadGuest } from '../machine/loaders/image';
import { GuestLoadError, NasmError } from '../machine/loaders/errors';
import { Machine, MiB } from '../machine/pc';
import { Engine, type StopInfo } from '../debugger/engine';
import { EVENT_FILTERS } from '../debugger/events';
import { scopes, type ScopeDef } from '../debugger/inspect';
import { walkStack } from '../debugger/stackwalk';
import { disassembleAround } from '../debugger/disasmview';
import { evaluate, parseExpr, assignTo, ExprError, type Node } from '../debugger/expr';
import { RegisterError, readRegister, codeAddress } from '../debugger/registers';
import { isMnemonic, PatternError } from '../debugger/patterns';
import { dataId, parseDataId, Trigger, newBreakpointId, type BreakpointOptions, type DataAccess } from '../debugger/breakpoints';
import { parseLaunchConfig, LaunchError, type LaunchConfig } from './launch';
import { VariableHandles, formatNumber, memoryReference, parseMemoryReference } from './variables';
import { cpuState, translateRequest, pageTablesRequest, tableRequest, CustomRequestError } from './custom';

const THREAD = 1;

/** Errors a user caused: answered with their message, never a stack. */
function userMessage(e: unknown): string | undefined {
  if (e instanceof ExprError || e instanceof RegisterError || e instanceof PatternError || e instanceof LaunchError || e instanceof GuestLoadError || e instanceof CustomRequestError) return e.message;
  return undefined;
}

interface SourceBp { line: number; options: BreakpointOptions }

export class RingsideSession extends DebugSession {
  private engine?: Engine;
  private config?: LaunchConfig;
  private rawLaunch?: Record<string, unknown>;
  private readonly handles = new VariableHandles();
  private scopeDefs: ScopeDef[] = [];
  private configured = false;
  private progressIds = 0;
  private clientProgress = false;
  /** What the client set, kept to re-apply on restart. */
  private readonly sourceBps = new Map<string, SourceBp[]>();
  private functionBps: DebugProtocol.FunctionBreakpoint[] = [];
  private instructionBps: DebugProtocol.InstructionBreakpoint[] = [];
  private exceptionArgs: DebugProtocol.SetExceptionBreakpointsArguments = { filters: [] };
  private dataBps: DebugProtocol.DataBreakpoint[] = [];
  /** Disassembly sources handed out for frames without a source: reference -> address. */
  private disasmRefs = new Map<number, number>();
  private frames: { pc: number }[] = [];

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  // ------------------------------------------------------------------ lifecycle

  protected override initializeRequest(response: DebugProtocol.InitializeResponse, args: DebugProtocol.InitializeRequestArguments): void {
    this.clientProgress = args.supportsProgressReporting === true;
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsFunctionBreakpoints: true,
      supportsInstructionBreakpoints: true,
      supportsDataBreakpoints: true,
      supportsDataBreakpointBytes: true,
      supportsExceptionFilterOptions: true,
      supportsExceptionInfoRequest: true,
      exceptionBreakpointFilters: EVENT_FILTERS.map((f) => ({ filter: f.id, label: f.label, description: f.description, supportsCondition: true, conditionDescription: f.conditionDescription, default: false })),
      supportsSteppingGranularity: true,
      supportsDisassembleRequest: true,
      supportsReadMemoryRequest: true,
      supportsWriteMemoryRequest: true,
      supportsSetVariable: true,
      supportsSetExpression: true,
      supportsEvaluateForHovers: true,
      supportsTerminateRequest: true,
      supportsRestartRequest: true,
      supportsValueFormattingOptions: true,
      supportsLoadedSourcesRequest: true,
      supportsCancelRequest: true,
      supportsGotoTargetsRequest: true,
      supportsBreakpointLocationsRequest: true,
      supportsCompletionsRequest: true,
      completionTriggerCharacters: ['.', '['],
      supportsDelayedStackTraceLoading: true,
    };
    this.sendResponse(response);
  }

  protected override launchRequest(response: DebugProtocol.LaunchResponse, args: DebugProtocol.LaunchRequestArguments): void {
    try {
      this.rawLaunch = args as Record<string, unknown>;
      this.boot(this.rawLaunch);
      this.sendResponse(response);
      this.sendEvent(new InitializedEvent());
    } catch (e) {
      this.failLaunch(response, e);
    }
  }

  /** Validates, assembles, loads and builds the engine. Throws user errors. */
  private boot(raw: Record<string, unknown>): void {
    const { config, warnings } = parseLaunchConfig(raw);
    for (const w of warnings) this.say(`Ringside: ${w}\n`);
    const cwd = config.cwd ?? (path.isAbsolute(config.program) ? path.dirname(config.program) : process.cwd());
    const progressId = `load-${++this.progressIds}`;
    if (this.clientProgress) this.sendEvent(new ProgressStartEvent(progressId, 'Ringside', `Loading ${path.basename(config.program)}`));
    let guest;
    try {
      guest = loadGuest({
        program: config.program, format: config.format, ramMiB: config.ramMiB, loadAddress: config.loadAddress, entry: config.entry,
        cmdline: config.cmdline, modules: config.modules, nasmPath: config.nasmPath, nasmArgs: config.nasmArgs, symbols: config.symbols, cwd,
      });
    } finally {
      if (this.clientProgress) this.sendEvent(new ProgressEndEvent(progressId));
    }
    for (const d of guest.diagnostics) this.nasmDiagnostic(d.file, d.line, `${d.severity}: ${d.message}`, 'console');
    if (config.serial === 'terminal') this.say('Ringside: "serial": "terminal" is not available yet; COM1 goes to the Debug Console\n');
    const machine = new Machine({ ramBytes: config.ramMiB * MiB, realtime: config.realtime });
    machine.load(guest);
    this.engine?.halt();
    this.config = config;
    this.engine = new Engine(machine, guest, {
      stopped: (s) => this.onStopped(s),
      exited: (status, reason) => {
        this.say(`Ringside: the guest ended: ${reason || 'exit'} (status ${status})\n`);
        this.sendEvent(new ExitedEvent(status));
        this.sendEvent(new TerminatedEvent());
      },
      output: (text, category) => this.sendEvent(new OutputEvent(text, category)),
    });
    this.say(`Ringside: ${path.basename(guest.path)} loaded as ${guest.format} (${config.ramMiB} MiB RAM, virtualization ${config.virtualization})\n`);
  }

  private failLaunch(response: DebugProtocol.Response, e: unknown): void {
    if (e instanceof NasmError) {
      for (const d of e.diagnostics) this.nasmDiagnostic(d.file, d.line, `${d.severity}: ${d.message}`, 'stderr');
    }
    const msg = userMessage(e);
    if (msg === undefined) throw e;
    this.sendErrorResponse(response, { id: 1001, format: msg.replace(/[{}]/g, (c) => c + c), showUser: true });
  }

  private nasmDiagnostic(file: string, line: number, message: string, category: string): void {
    const ev = new OutputEvent(`${message}\n`, category) as DebugProtocol.OutputEvent;
    ev.body.source = new Source(path.basename(file), file);
    ev.body.line = line;
    this.sendEvent(ev);
  }

  private say(text: string): void {
    this.sendEvent(new OutputEvent(text, 'console'));
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.configured = true;
    this.begin();
  }

  private begin(): void {
    const e = this.engine;
    if (!e || !this.config) return;
    if (this.config.stopOnEntry) this.onStopped({ kind: 'entry', description: `entry at ${e.where(codeAddress(e.cpu))}` });
    else { this.sendEvent(new Event('continued', { threadId: THREAD, allThreadsContinued: true })); e.continue(); }
  }

  protected override restartRequest(response: DebugProtocol.RestartResponse, args: DebugProtocol.RestartArguments): void {
    try {
      const raw = (args?.arguments as Record<string, unknown> | undefined) ?? this.rawLaunch ?? {};
      this.rawLaunch = raw;
      this.boot(raw);
      this.reapplyBreakpoints();
      this.sendResponse(response);
      this.begin();
    } catch (e) {
      this.failLaunch(response, e);
    }
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.engine?.halt();
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.engine?.halt();
    this.sendResponse(response);
  }

  protected override cancelRequest(response: DebugProtocol.CancelResponse): void {
    // Every request here completes synchronously; there is nothing in flight to cancel.
    this.sendResponse(response);
  }

  // ------------------------------------------------------------------ stops

  private onStopped(s: StopInfo): void {
    this.handles.reset();
    this.disasmRefs.clear();
    const reason = s.kind;
    const ev = new StoppedEvent(reason, THREAD) as DebugProtocol.StoppedEvent;
    ev.body.description = s.description;
    ev.body.text = s.description;
    ev.body.allThreadsStopped = true;
    if (s.hitBreakpointIds) ev.body.hitBreakpointIds = s.hitBreakpointIds;
    this.sendEvent(ev);
    if (this.engine && this.config) this.sendEvent(new Event('ringside/state', cpuState(this.engine, this.config.virtualization)));
  }

  /** Requests that need a stopped guest. */
  private stopped(response: DebugProtocol.Response): Engine | undefined {
    const e = this.engine;
    if (!e) { this.sendErrorResponse(response, { id: 1002, format: 'no guest is loaded', showUser: false }); return undefined; }
    if (e.running) { this.sendErrorResponse(response, { id: 1003, format: 'the guest is running', showUser: false }); return undefined; }
    return e;
  }

  private resume(response: DebugProtocol.Response, go: (e: Engine) => void): void {
    const e = this.stopped(response);
    if (!e) return;
    if (e.ended) { this.sendErrorResponse(response, { id: 1004, format: 'the guest has ended', showUser: true }); return; }
    this.sendResponse(response);
    this.handles.reset();
    go(e);
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    response.body = { allThreadsContinued: true };
    this.resume(response, (e) => e.continue());
  }
  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.resume(response, (e) => (args.granularity === 'instruction' ? e.stepOverInstruction() : e.stepLine(true)));
  }
  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.resume(response, (e) => (args.granularity === 'instruction' ? e.stepInstruction() : e.stepLine(false)));
  }
  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.resume(response, (e) => e.stepOut());
  }
  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.engine?.pause();
    this.sendResponse(response);
  }

  protected override gotoTargetsRequest(response: DebugProtocol.GotoTargetsResponse, args: DebugProtocol.GotoTargetsArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    const file = args.source.path ?? '';
    const line = this.convertClientLineToDebugger(args.line);
    const addrs = e.symbols.addressesOf(file, line);
    response.body = { targets: addrs.map((a) => ({ id: a + 1, label: `${path.basename(file)}:${line} (0x${a.toString(16)})`, line: this.convertDebuggerLineToClient(line), instructionPointerReference: '0x' + a.toString(16) })) };
    this.sendResponse(response);
  }

  protected override gotoRequest(response: DebugProtocol.GotoResponse, args: DebugProtocol.GotoArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    try {
      e.jumpTo(args.targetId - 1);
    } catch (err) {
      const msg = userMessage(err);
      if (msg === undefined) throw err;
      this.sendErrorResponse(response, { id: 1005, format: msg, showUser: true });
      return;
    }
    this.sendResponse(response);
    this.onStopped({ kind: 'goto', description: `EIP moved to ${e.where(codeAddress(e.cpu))}` });
  }

  // ------------------------------------------------------------------ breakpoints

  private options(b: { condition?: string; hitCondition?: string; logMessage?: string }): BreakpointOptions {
    return { condition: b.condition, hitCondition: b.hitCondition, logMessage: b.logMessage };
  }

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const file = args.source.path ?? '';
    const list = (args.breakpoints ?? []).map((b) => ({ line: this.convertClientLineToDebugger(b.line), options: this.options(b) }));
    this.sourceBps.set(file, list);
    response.body = { breakpoints: this.applySource(file, list) };
    this.sendResponse(response);
  }

  private applySource(file: string, list: SourceBp[]): DebugProtocol.Breakpoint[] {
    const e = this.engine;
    const source = new Source(path.basename(file), file);
    const out: DebugProtocol.Breakpoint[] = [];
    const specs: Parameters<Engine['setCodeBreakpoints']>[1] = [];
    for (const b of list) {
      const bp: DebugProtocol.Breakpoint = { verified: false, line: this.convertDebuggerLineToClient(b.line), source };
      const r = e?.symbols.resolveLine(file, b.line);
      if (!e) bp.message = 'the guest is not loaded yet';
      else if (!e.symbols.hasFile(file)) bp.message = `${path.basename(file)} holds no code of this guest (it is not part of the nasm listing)`;
      else if (!r || !r.addrs.length) bp.message = 'no code on or after this line';
      else {
        try {
          new Trigger(b.options); // a bad condition or hit count is reported on this breakpoint
          const label = `${path.basename(file)}:${r.line}`;
          const bid = newBreakpointId();
          for (const a of r.addrs) specs.push({ kind: 'source', linear: a, label, options: b.options, id: bid });
          bp.id = bid;
          bp.verified = true;
          bp.line = this.convertDebuggerLineToClient(r.line);
          bp.instructionReference = '0x' + r.addrs[0].toString(16);
        } catch (err) {
          bp.message = userMessage(err) ?? String(err);
        }
      }
      out.push(bp);
    }
    e?.setCodeBreakpoints(`source:${path.resolve(file)}`, specs);
    return out;
  }

  protected override breakpointLocationsRequest(response: DebugProtocol.BreakpointLocationsResponse, args: DebugProtocol.BreakpointLocationsArguments): void {
    const e = this.engine;
    const from = this.convertClientLineToDebugger(args.line), to = args.endLine ? this.convertClientLineToDebugger(args.endLine) : from;
    const lines = e ? e.symbols.codeLines(args.source.path ?? '').filter((l) => l >= from && l <= to) : [];
    response.body = { breakpoints: lines.map((l) => ({ line: this.convertDebuggerLineToClient(l) })) };
    this.sendResponse(response);
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.functionBps = args.breakpoints;
    response.body = { breakpoints: this.applyFunctions() };
    this.sendResponse(response);
  }

  private applyFunctions(): DebugProtocol.Breakpoint[] {
    const e = this.engine;
    if (!e) return this.functionBps.map(() => ({ verified: false, message: 'the guest is not loaded yet' }));
    const code: Parameters<Engine['setCodeBreakpoints']>[1] = [];
    const patterns: { text: string; options: BreakpointOptions; index: number }[] = [];
    const out: DebugProtocol.Breakpoint[] = [];
    this.functionBps.forEach((b, k) => {
      const name = b.name.trim();
      const sym = e.symbols.lookup(name);
      let addr: number | undefined = sym;
      if (addr === undefined && !isMnemonic(name.split(/\s/)[0])) {
        try { addr = evaluate(parseExpr(name.replace(/^\*/, '')), e.env()); } catch { /* not an address either */ }
      }
      if (addr !== undefined) {
        code.push({ kind: 'function', linear: addr, label: name, options: this.options(b) });
        const l = e.symbols.lineAt(addr);
        out[k] = { verified: true, instructionReference: '0x' + (addr >>> 0).toString(16), ...(l ? { source: new Source(path.basename(l.file), l.file), line: this.convertDebuggerLineToClient(l.line) } : {}) };
      } else patterns.push({ text: name, options: this.options(b), index: k });
    });
    const made = e.setCodeBreakpoints('function', code);
    let m = 0;
    out.forEach((bp) => { if (bp) bp.id = made[m++].id; });
    // Patterns one by one so each gets its own verdict.
    const good: { text: string; options: BreakpointOptions; index: number }[] = [];
    for (const p of patterns) {
      try { e.setPatternBreakpoints([p]); good.push(p); } catch (err) { out[p.index] = { verified: false, message: userMessage(err) ?? String(err) }; }
    }
    try {
      const set = e.setPatternBreakpoints(good);
      good.forEach((p, k) => { out[p.index] = { verified: true, id: set[k].id, message: `stops on every ${p.text}` }; });
    } catch (err) {
      for (const p of good) out[p.index] = { verified: false, message: userMessage(err) ?? String(err) };
    }
    return out;
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    this.instructionBps = args.breakpoints;
    response.body = { breakpoints: this.applyInstructions() };
    this.sendResponse(response);
  }

  private applyInstructions(): DebugProtocol.Breakpoint[] {
    const e = this.engine;
    if (!e) return this.instructionBps.map(() => ({ verified: false }));
    const out: DebugProtocol.Breakpoint[] = [];
    const specs: Parameters<Engine['setCodeBreakpoints']>[1] = [];
    for (const b of this.instructionBps) {
      const ref = parseMemoryReference(b.instructionReference);
      if (!ref) { out.push({ verified: false, message: `'${b.instructionReference}' is not an address` }); continue; }
      const addr = (ref.address + (b.offset ?? 0)) >>> 0;
      specs.push({ kind: 'instruction', linear: addr, label: '0x' + addr.toString(16), options: this.options(b) });
      out.push({ verified: true, instructionReference: '0x' + addr.toString(16) });
    }
    try {
      const made = e.setCodeBreakpoints('instruction', specs);
      let m = 0;
      for (const bp of out) if (bp.verified) bp.id = made[m++].id;
    } catch (err) {
      return out.map(() => ({ verified: false, message: userMessage(err) ?? String(err) }));
    }
    return out;
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    this.exceptionArgs = args;
    response.body = { breakpoints: this.applyExceptions() };
    this.sendResponse(response);
  }

  private applyExceptions(): DebugProtocol.Breakpoint[] {
    const e = this.engine;
    const wanted = [...(this.exceptionArgs.filters ?? []).map((f) => ({ filterId: f })), ...(this.exceptionArgs.filterOptions ?? []).map((o) => ({ filterId: o.filterId, condition: o.condition }))];
    if (!e) return wanted.map(() => ({ verified: false }));
    const out: DebugProtocol.Breakpoint[] = [];
    const good: typeof wanted = [];
    for (const w of wanted) {
      try { e.setEventFilters([w]); good.push(w); out.push({ verified: true }); } catch (err) { out.push({ verified: false, message: userMessage(err) ?? String(err) }); }
    }
    e.setEventFilters(good);
    return out;
  }

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    const e = this.engine;
    const none = (why: string) => { response.body = { dataId: null, description: why }; this.sendResponse(response); };
    if (!e) return none('no guest is loaded');
    const accessTypes: DebugProtocol.DataBreakpointAccessType[] = ['read', 'write', 'readWrite'];
    try {
      let space: 'linear' | 'physical' = 'linear', address: number, size = args.bytes ?? 4, what: string;
      if (args.variablesReference) {
        const node = this.handles.nodes(args.variablesReference)?.find((n) => n.name === args.name);
        if (!node?.memory) return none(`${args.name} does not hold an address`);
        ({ space, address } = node.memory);
        what = `${size} bytes at ${args.name} (0x${address.toString(16)})`;
      } else if (args.asAddress) {
        const ref = parseMemoryReference(args.name);
        if (ref) ({ space, address } = ref); else address = evaluate(parseExpr(args.name), e.env());
        what = `${size} bytes at 0x${address.toString(16)}`;
      } else {
        const n: Node = parseExpr(args.name);
        if (n.k === 'mem') { address = evaluate(n.addr, e.env()); if (!args.bytes) size = n.size; }
        else address = evaluate(n, e.env());
        what = `${size} bytes at ${args.name} (0x${address.toString(16)})`;
      }
      if (size < 1 || size > 4096) return none('a data breakpoint covers 1 to 4096 bytes');
      response.body = { dataId: dataId(space, address, size), description: what, accessTypes, canPersist: false };
      this.sendResponse(response);
    } catch (err) {
      none(userMessage(err) ?? String(err));
    }
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    this.dataBps = args.breakpoints;
    response.body = { breakpoints: this.applyData() };
    this.sendResponse(response);
  }

  private applyData(): DebugProtocol.Breakpoint[] {
    const e = this.engine;
    if (!e) return this.dataBps.map(() => ({ verified: false }));
    const out: DebugProtocol.Breakpoint[] = [];
    const specs: Parameters<Engine['setDataBreakpoints']>[0] = [];
    for (const b of this.dataBps) {
      const d = parseDataId(b.dataId);
      if (!d) { out.push({ verified: false, message: `'${b.dataId}' is not a data breakpoint id` }); continue; }
      specs.push({ ...d, access: (b.accessType ?? 'write') as DataAccess, options: this.options(b), label: b.dataId });
      out.push({ verified: true });
    }
    try {
      const made = e.setDataBreakpoints(specs);
      let m = 0;
      for (const bp of out) if (bp.verified) bp.id = made[m++].id;
    } catch (err) {
      return out.map(() => ({ verified: false, message: userMessage(err) ?? String(err) }));
    }
    return out;
  }

  /** After a restart: the new guest's line map decides again; changes go out as breakpoint events. */
  private reapplyBreakpoints(): void {
    for (const [file, list] of this.sourceBps) {
      for (const bp of this.applySource(file, list)) this.sendEvent(new BreakpointEvent('changed', bp as DebugProtocol.Breakpoint));
    }
    this.applyFunctions();
    this.applyInstructions();
    this.applyExceptions();
    this.applyData();
  }

  // ------------------------------------------------------------------ threads, stack, variables

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: [new Thread(THREAD, 'vCPU 0')] };
    this.sendResponse(response);
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    const all = walkStack(e);
    this.frames = all;
    const start = args.startFrame ?? 0, levels = args.levels || all.length;
    const frames = all.slice(start, start + levels).map((f, k) => {
      const idx = start + k;
      const sym = e.symbols.describe(f.pc);
      const at = sym ?? '0x' + f.pc.toString(16);
      const name = f.kind === 'interrupt' ? `[${f.note}] ${at}` : at;
      const frame: DebugProtocol.StackFrame = { id: idx + 1, name, line: 0, column: 0, instructionPointerReference: '0x' + f.pc.toString(16) };
      const l = e.symbols.lineAt(f.pc);
      if (l) {
        frame.source = new Source(path.basename(l.file), l.file);
        frame.line = this.convertDebuggerLineToClient(l.line);
        frame.column = 1;
      } else {
        // No source: a disassembly document, since VS Code focuses only frames with a source.
        const ref = this.disasmRefs.size + 1000;
        this.disasmRefs.set(ref, f.pc);
        frame.source = { name: `0x${f.pc.toString(16)}.dis`, sourceReference: ref, presentationHint: 'deemphasize', origin: 'disassembly' };
        frame.line = this.convertDebuggerLineToClient(DISASM_BEFORE + 1);
        frame.column = 1;
      }
      if (f.kind === 'interrupt') frame.presentationHint = 'label';
      return frame;
    });
    response.body = { stackFrames: frames, totalFrames: all.length };
    this.sendResponse(response);
  }

  protected override sourceRequest(response: DebugProtocol.SourceResponse, args: DebugProtocol.SourceArguments): void {
    const e = this.engine;
    const addr = this.disasmRefs.get(args.sourceReference);
    if (!e || addr === undefined) { this.sendErrorResponse(response, { id: 1006, format: 'that disassembly is no longer available', showUser: false }); return; }
    const rows = disassembleAround(e, addr, -DISASM_BEFORE, DISASM_BEFORE + 40);
    response.body = { content: rows.map((r) => `${r.address.toString(16).padStart(8, '0')}  ${r.bytes.padEnd(24)} ${r.text}${r.symbol ? `    ; ${r.symbol}` : ''}`).join('\n') + '\n', mimeType: 'text/x-asm' };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse): void {
    const e = this.stopped(response);
    if (!e) return;
    this.scopeDefs = scopes(e, this.config?.virtualization ?? 'none');
    response.body = { scopes: this.scopeDefs.map((s) => ({ name: s.name, variablesReference: this.handles.add(s.nodes), expensive: s.expensive, presentationHint: s.name === 'General' ? 'registers' : undefined })) };
    this.sendResponse(response);
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    response.body = { variables: this.handles.variables(args.variablesReference, args.format?.hex !== false, args.start, args.count) };
    this.sendResponse(response);
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    const node = this.handles.nodes(args.variablesReference)?.find((n) => n.name === args.name);
    try {
      if (!node?.set) throw new RegisterError(`${args.name} cannot be changed here`);
      const v = evaluate(parseExpr(args.value), e.env());
      node.set(v);
      this.handles.invalidate();
      const fresh = this.handles.nodes(args.variablesReference)?.find((n) => n.name === args.name) ?? node;
      response.body = { value: this.handles.toVariable(fresh, args.format?.hex !== false).value };
      this.sendResponse(response);
    } catch (err) {
      const msg = userMessage(err);
      if (msg === undefined) throw err;
      this.sendErrorResponse(response, { id: 1007, format: msg, showUser: true });
    }
  }

  // ------------------------------------------------------------------ expressions

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    const hex = args.format?.hex !== false;
    try {
      const text = args.expression.trim();
      if (args.context === 'repl' && text.startsWith('>')) {
        // `>text` types into COM1 (the guest reads it as serial input).
        e.machine.uart.receive(Buffer.from(text.slice(1) + '\r', 'latin1'));
        response.body = { result: `sent ${text.length} bytes to COM1`, variablesReference: 0 };
        this.sendResponse(response);
        return;
      }
      const n = parseExpr(text, args.context === 'repl');
      const v = evaluate(n, e.env(), e.sink());
      if (n.k === 'assign') this.handles.invalidate();
      const bits = n.k === 'mem' ? n.size * 8 : n.k === 'name' && /^[a-d]l$|^[a-d]h$/i.test(n.name) ? 8 : 32;
      let result = formatNumber(v, bits, hex);
      const sym = n.k === 'name' ? e.symbols.lookup(n.name) : undefined;
      if (sym !== undefined) {
        const dword = e.memory.readValue(sym, 4);
        result += dword === undefined ? ' (address; memory unreadable)' : ` (address; dword there: ${formatNumber(dword, 32, hex)})`;
      } else if (n.k === 'name' && readRegister(e.cpu, n.name.toLowerCase()) === undefined && n.name.startsWith('.')) {
        result += ' (address)';
      }
      response.body = { result, variablesReference: 0, memoryReference: n.k === 'mem' ? '0x' + evaluate(n.addr, e.env()).toString(16) : sym !== undefined ? '0x' + sym.toString(16) : undefined };
      this.sendResponse(response);
    } catch (err) {
      const msg = userMessage(err);
      if (msg === undefined) throw err;
      this.sendErrorResponse(response, { id: 1008, format: msg.replace(/[{}]/g, (c) => c + c), showUser: false });
    }
  }

  protected override setExpressionRequest(response: DebugProtocol.SetExpressionResponse, args: DebugProtocol.SetExpressionArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    try {
      const target = parseExpr(args.expression);
      const v = evaluate(parseExpr(args.value), e.env());
      assignTo(target, v, e.env(), e.sink());
      this.handles.invalidate();
      response.body = { value: formatNumber(evaluate(target, e.env()), target.k === 'mem' ? target.size * 8 : 32, args.format?.hex !== false) };
      this.sendResponse(response);
    } catch (err) {
      const msg = userMessage(err);
      if (msg === undefined) throw err;
      this.sendErrorResponse(response, { id: 1009, format: msg, showUser: true });
    }
  }

  protected override completionsRequest(response: DebugProtocol.CompletionsResponse, args: DebugProtocol.CompletionsArguments): void {
    const e = this.engine;
    const upto = args.text.slice(0, Math.max(0, args.column - 1));
    const word = /[A-Za-z_.?@$][\w.$#@~?]*$/.exec(upto)?.[0] ?? '';
    const names = e ? e.completionNames() : [];
    const targets = [...new Set(names)].filter((n) => n.toLowerCase().startsWith(word.toLowerCase())).slice(0, 200)
      .map((n) => ({ label: n, text: n, type: (readRegister(e!.cpu, n) !== undefined ? 'variable' : 'reference') as DebugProtocol.CompletionItemType, start: upto.length - word.length, length: word.length }));
    response.body = { targets };
    this.sendResponse(response);
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    const s = this.engine?.lastStop;
    if (!s?.exception) { this.sendErrorResponse(response, { id: 1010, format: 'the guest did not stop on an event', showUser: false }); return; }
    // VS Code titles the stop "Exception has occurred: <exceptionId>": use the readable name; the filter id stays in details.
    response.body = { exceptionId: s.exception.title, description: s.description, breakMode: 'always', details: { message: s.exception.details, typeName: s.exception.title, fullTypeName: s.exception.filterId } };
    this.sendResponse(response);
  }

  protected override loadedSourcesRequest(response: DebugProtocol.LoadedSourcesResponse): void {
    const files = this.engine?.symbols.files ?? [];
    response.body = { sources: files.map((f) => new Source(path.basename(f), f)) };
    this.sendResponse(response);
  }

  // ------------------------------------------------------------------ memory and disassembly

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    const ref = parseMemoryReference(args.memoryReference);
    if (!ref) { this.sendErrorResponse(response, { id: 1011, format: `'${args.memoryReference}' is not a memory reference`, showUser: false }); return; }
    const start = (ref.address + (args.offset ?? 0)) >>> 0;
    const count = Math.min(Math.max(0, args.count), 1 << 20);
    const r = e.memory.read(start, count, ref.space);
    let good = 0;
    while (good < count && r.readable[good]) good++;
    let bad = 0;
    while (good + bad < count && !r.readable[good + bad]) bad++;
    const prefix = ref.space === 'physical' ? 'phys:' : '';
    response.body = { address: `${prefix}0x${start.toString(16)}`, data: Buffer.from(r.bytes.subarray(0, good)).toString('base64'), unreadableBytes: bad || undefined };
    this.sendResponse(response);
  }

  protected override writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse, args: DebugProtocol.WriteMemoryArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    const ref = parseMemoryReference(args.memoryReference);
    if (!ref) { this.sendErrorResponse(response, { id: 1011, format: `'${args.memoryReference}' is not a memory reference`, showUser: false }); return; }
    const data = Buffer.from(args.data, 'base64');
    const start = (ref.address + (args.offset ?? 0)) >>> 0;
    const probe = e.memory.read(start, data.length, ref.space);
    const writable = probe.readable.findIndex((x) => !x);
    if (writable >= 0 && !args.allowPartial) {
      this.sendErrorResponse(response, { id: 1012, format: `0x${((start + writable) >>> 0).toString(16)} is not backed by guest memory; nothing was written`, showUser: true });
      return;
    }
    const n = e.memory.write(start, data, ref.space);
    this.handles.invalidate();
    response.body = { bytesWritten: n, offset: 0 };
    this.sendResponse(response);
    this.sendEvent(new Event('memory', { memoryReference: args.memoryReference, offset: args.offset ?? 0, count: n }));
  }

  protected override disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    const ref = parseMemoryReference(args.memoryReference);
    if (!ref) { this.sendErrorResponse(response, { id: 1011, format: `'${args.memoryReference}' is not a memory reference`, showUser: false }); return; }
    const addr = (ref.address + (args.offset ?? 0)) >>> 0;
    const rows = disassembleAround(e, addr, args.instructionOffset ?? 0, Math.min(args.instructionCount, 5000));
    let lastFile = '';
    response.body = {
      instructions: rows.map((r) => {
        const ins: DebugProtocol.DisassembledInstruction = { address: '0x' + r.address.toString(16), instructionBytes: r.bytes, instruction: r.text };
        if (r.symbol) ins.symbol = r.symbol;
        if (r.invalid) ins.presentationHint = 'invalid';
        if (r.file && r.line) {
          ins.line = this.convertDebuggerLineToClient(r.line);
          if (r.file !== lastFile) ins.location = new Source(path.basename(r.file), r.file);
          lastFile = r.file;
        }
        return ins;
      }),
    };
    this.sendResponse(response);
  }

  // ------------------------------------------------------------------ custom requests

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    const handlers: Record<string, (e: Engine) => unknown> = {
      'ringside/cpu': (e) => cpuState(e, this.config?.virtualization ?? 'none'),
      'ringside/translate': (e) => translateRequest(e, args as never),
      'ringside/pagetables': (e) => pageTablesRequest(e, args as never),
      'ringside/gdt': (e) => tableRequest(e, args as never),
    };
    const h = handlers[command];
    if (!h) { super.customRequest(command, response, args); return; }
    // ringside/cpu is a read-only snapshot, safe between run slices: the panel polls it while the guest runs.
    const e = command === 'ringside/cpu' && this.engine ? this.engine : this.stopped(response);
    if (!e) return;
    try {
      response.body = h(e);
      this.sendResponse(response);
    } catch (err) {
      const msg = userMessage(err);
      if (msg === undefined) throw err;
      this.sendErrorResponse(response, { id: 1013, format: msg, showUser: false });
    }
  }
}

/** Rows of disassembly shown above a frame's instruction in a disassembly source. */
const DISASM_BEFORE = 10;

export { memoryReference };
