// The DAP session: translates requests into calls on the debugger engine and engine reports into
// events. Thin by intent: every decision about breakpoints, stepping and state lives in debugger/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DebugSession, InitializedEvent, StoppedEvent, TerminatedEvent, ExitedEvent, OutputEvent, BreakpointEvent, Event,
  ProgressStartEvent, ProgressEndEvent, Thread, Source,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { loadGuest } from '../machine/loaders/image';
import { NasmError } from '../machine/loaders/errors';
import { Machine, MiB } from '../machine/pc';
import { Engine, type StopInfo } from '../debugger/engine';
import { EVENT_FILTERS } from '../debugger/events';
import { scopes, type ScopeDef } from '../debugger/inspect';
import { walkStack } from '../debugger/stackwalk';
import { disassembleAround } from '../debugger/disasmview';
import { evaluate, parseExpr } from '../debugger/expr';
import { RegisterError, codeAddress } from '../debugger/registers';
import { parseLaunchConfig, type LaunchConfig } from './launch';
import { VariableHandles, memoryReference, parseMemoryReference } from './variables';
import { cpuState, translateRequest, pageTablesRequest, tableRequest } from './custom';
import { ClientBreakpoints } from './breakpoints';
import { evaluateExpression, assignExpression, completions } from './expressions';
import { userMessage } from './errors';
import { SerialTerminal } from './serialterminal';
import { createHypervisor, type Hypervisor } from '../hypervisor/modes';
import { exitsView, eptView, shadowView, vmcsView, holesView, tcacheView, hypercallsView, unavailable } from '../hypervisor/views';

const THREAD = 1;

export class RingsideSession extends DebugSession {
  private engine?: Engine;
  private config?: LaunchConfig;
  /** The hypervisor under "virtualization": "vtx" (none under plain emulation). */
  private vm?: Hypervisor;
  private rawLaunch?: Record<string, unknown>;
  private readonly handles = new VariableHandles();
  private scopeDefs: ScopeDef[] = [];
  private progressIds = 0;
  private clientProgress = false;
  /** The client can open an integrated terminal (runInTerminal). */
  private clientTerminal = false;
  /** COM1's integrated terminal, once connected ("serial": "terminal"). */
  private terminal?: SerialTerminal;
  /** A terminal being started: cancelling its progress (or the launch) stops the wait. */
  private starting?: { terminal: SerialTerminal; progressId: string; requestSeq: number };
  private readonly bps = new ClientBreakpoints(() => this.engine, {
    toDebugger: (l) => this.convertClientLineToDebugger(l),
    toClient: (l) => this.convertDebuggerLineToClient(l),
  });
  /** Disassembly sources handed out for frames without a source: reference -> address. */
  private disasmRefs = new Map<number, number>();

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  // ------------------------------------------------------------------ lifecycle

  protected override initializeRequest(response: DebugProtocol.InitializeResponse, args: DebugProtocol.InitializeRequestArguments): void {
    this.clientProgress = args.supportsProgressReporting === true;
    this.clientTerminal = args.supportsRunInTerminalRequest === true;
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

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: DebugProtocol.LaunchRequestArguments): Promise<void> {
    try {
      this.rawLaunch = args as Record<string, unknown>;
      this.boot(this.rawLaunch);
      if (this.config?.serial === 'terminal') await this.openTerminal(response.request_seq);
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
    const name = path.basename(config.program);
    // Pipe writes are synchronous here, so the client has the start before nasm or the loader blocks.
    if (this.clientProgress) this.sendEvent(new ProgressStartEvent(progressId, 'Ringside', /\.n?asm$/i.test(name) ? `Assembling ${name} with nasm and loading it` : `Loading ${name}`));
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
    const machine = new Machine({ ramBytes: config.ramMiB * MiB, realtime: config.realtime });
    machine.load(guest);
    // The hypervisor starts from the state the loader left (its exits then reach the engine as events).
    const vm = createHypervisor(machine, { mode: config.virtualization, memory: config.memoryVirtualization, vmcs: config.vmcs });
    this.engine?.halt();
    this.config = config;
    this.vm = vm;
    this.engine = new Engine(machine, guest, {
      stopped: (s) => this.onStopped(s),
      exited: (status, reason) => {
        this.say(`Ringside: the guest ended: ${reason || 'exit'} (status ${status})\n`);
        this.sendEvent(new ExitedEvent(status));
        this.sendEvent(new TerminatedEvent());
      },
      output: (text, category) => this.sendEvent(new OutputEvent(text, category)),
    });
    this.wireTerminal();
    this.say(`Ringside: ${path.basename(guest.path)} loaded as ${guest.format} (${config.ramMiB} MiB RAM, virtualization ${config.virtualization})\n`);
  }

  private failLaunch(response: DebugProtocol.Response, e: unknown): void {
    if (e instanceof NasmError) {
      for (const d of e.diagnostics) this.nasmDiagnostic(d.file, d.line, `${d.severity}: ${d.message}`, 'stderr');
    }
    // Launch and restart are asynchronous: nothing may escape them, a bug is answered too.
    const msg = userMessage(e) ?? `internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
    this.sendErrorResponse(response, { id: 1001, format: msg.replace(/[{}]/g, (c) => c + c), showUser: true });
  }

  // ------------------------------------------------------------------ COM1 in a terminal

  /** Starts the COM1 terminal through the client and waits for it; falls back to the Debug Console. */
  private async openTerminal(requestSeq: number): Promise<void> {
    if (this.terminal?.attached) { this.wireTerminal(); return; } // a restart keeps its terminal
    const fallback = (why: string) => this.sendEvent(new OutputEvent(`Ringside: ${why}; COM1 goes to the Debug Console instead (type >text there to send it input)\n`, 'important'));
    if (!this.clientTerminal) return fallback('"serial": "terminal" needs a client that can open a terminal (runInTerminal)');
    const script = path.join(__dirname, 'serial-terminal.js');
    if (!fs.existsSync(script)) return fallback(`${script} is missing (build the extension)`);
    let t: SerialTerminal;
    try {
      t = await SerialTerminal.listen();
    } catch (e) {
      return fallback(`no socket for the COM1 terminal (${e instanceof Error ? e.message : String(e)})`);
    }
    const progressId = `terminal-${++this.progressIds}`;
    this.starting = { terminal: t, progressId, requestSeq };
    if (this.clientProgress) {
      const start = new ProgressStartEvent(progressId, 'Ringside', 'Opening the COM1 terminal') as DebugProtocol.ProgressStartEvent;
      start.body.cancellable = true;
      this.sendEvent(start);
    }
    const refused = await new Promise<string | undefined>((resolve) => {
      const args: DebugProtocol.RunInTerminalRequestArguments = { kind: 'integrated', title: 'Ringside COM1', cwd: process.cwd(), args: t.command(script) };
      // Under VS Code's own runtime the adapter's executable is Electron: run it as Node.
      if (process.versions.electron) args.env = { ELECTRON_RUN_AS_NODE: '1' };
      this.runInTerminalRequest(args, 10_000, (r) => resolve(r.success ? undefined : r.message || 'the client refused'));
    });
    const how = refused === undefined ? await t.connected(15_000) : 'refused';
    this.starting = undefined;
    if (this.clientProgress) this.sendEvent(new ProgressEndEvent(progressId));
    if (how !== 'connected') {
      t.close();
      return fallback(how === 'refused' ? `the COM1 terminal could not be started (${refused})`
        : how === 'cancelled' ? 'opening the COM1 terminal was cancelled' : 'the COM1 terminal did not connect within 15 s');
    }
    this.terminal = t;
    t.onInput = (d) => this.engine?.machine.uart.receive(d);
    t.onClose = () => {
      this.terminal = undefined;
      this.wireTerminal();
      this.say('Ringside: the COM1 terminal was closed; COM1 output goes to the Debug Console\n');
    };
    this.wireTerminal();
  }

  /** Points the engine's COM1 output at the terminal while one is connected. */
  private wireTerminal(): void {
    const e = this.engine, t = this.terminal;
    if (!e) return;
    e.serialSink = t?.attached ? (b) => t.write(b) : undefined;
    e.inputAttached = t?.attached === true;
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
    this.begin();
  }

  private begin(): void {
    const e = this.engine;
    if (!e || !this.config) return;
    if (this.config.stopOnEntry) this.onStopped({ kind: 'entry', description: `entry at ${e.where(codeAddress(e.cpu))}` });
    else { this.sendEvent(new Event('continued', { threadId: THREAD, allThreadsContinued: true })); e.continue(); }
  }

  protected override async restartRequest(response: DebugProtocol.RestartResponse, args: DebugProtocol.RestartArguments): Promise<void> {
    try {
      const raw = (args?.arguments as Record<string, unknown> | undefined) ?? this.rawLaunch ?? {};
      this.rawLaunch = raw;
      this.boot(raw);
      if (this.config?.serial === 'terminal') await this.openTerminal(response.request_seq);
      else { this.terminal?.close(); this.terminal = undefined; }
      for (const bp of this.bps.reapply()) this.sendEvent(new BreakpointEvent('changed', bp));
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
    this.terminal?.close();
    this.starting?.terminal.close();
    this.sendResponse(response);
  }

  protected override cancelRequest(response: DebugProtocol.CancelResponse, args: DebugProtocol.CancelArguments): void {
    // Only the wait for the COM1 terminal takes time (the launch goes on with the Debug Console);
    // every other request is answered at once and has nothing left to cancel.
    const s = this.starting;
    if (s && (args?.progressId === s.progressId || args?.requestId === s.requestSeq)) s.terminal.cancelWait();
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
      this.userError(response, err, 1005, true);
      return;
    }
    this.sendResponse(response);
    this.onStopped({ kind: 'goto', description: `EIP moved to ${e.where(codeAddress(e.cpu))}` });
  }

  // ------------------------------------------------------------------ breakpoints

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    response.body = { breakpoints: this.bps.setSource(args) };
    this.sendResponse(response);
  }

  protected override breakpointLocationsRequest(response: DebugProtocol.BreakpointLocationsResponse, args: DebugProtocol.BreakpointLocationsArguments): void {
    response.body = { breakpoints: this.bps.locations(args) };
    this.sendResponse(response);
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    response.body = { breakpoints: this.bps.setFunctions(args) };
    this.sendResponse(response);
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    response.body = { breakpoints: this.bps.setInstructions(args) };
    this.sendResponse(response);
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    response.body = { breakpoints: this.bps.setExceptions(args) };
    this.sendResponse(response);
  }

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    response.body = this.bps.dataInfo(args, this.handles);
    this.sendResponse(response);
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    response.body = { breakpoints: this.bps.setData(args) };
    this.sendResponse(response);
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
      this.userError(response, err, 1007, true);
    }
  }

  // ------------------------------------------------------------------ expressions

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    try {
      const hover = args.context === 'hover' && args.source?.path && args.line ? { file: args.source.path, line: this.convertClientLineToDebugger(args.line) } : undefined;
      const r = evaluateExpression(e, args, hover);
      if (r.changed) this.handles.invalidate();
      response.body = r.body;
      this.sendResponse(response);
    } catch (err) {
      this.userError(response, err, 1008, false);
    }
  }

  protected override setExpressionRequest(response: DebugProtocol.SetExpressionResponse, args: DebugProtocol.SetExpressionArguments): void {
    const e = this.stopped(response);
    if (!e) return;
    try {
      response.body = { value: assignExpression(e, args) };
      this.handles.invalidate();
      this.sendResponse(response);
    } catch (err) {
      this.userError(response, err, 1009, true);
    }
  }

  protected override completionsRequest(response: DebugProtocol.CompletionsResponse, args: DebugProtocol.CompletionsArguments): void {
    response.body = { targets: completions(this.engine, args) };
    this.sendResponse(response);
  }

  /** Answers a user's error with its message; anything else is a bug and propagates. */
  private userError(response: DebugProtocol.Response, err: unknown, id: number, showUser: boolean): void {
    const msg = userMessage(err);
    if (msg === undefined) throw err;
    this.sendErrorResponse(response, { id, format: msg.replace(/[{}]/g, (c) => c + c), showUser });
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

  private modeName(): string {
    const c = this.config;
    return !c || c.virtualization === 'none' ? 'none' : c.memoryVirtualization ? `${c.virtualization}+${c.memoryVirtualization}` : c.virtualization;
  }

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    const handlers: Record<string, (e: Engine) => unknown> = {
      'ringside/cpu': (e) => cpuState(e, this.config?.virtualization ?? 'none'),
      'ringside/translate': (e) => translateRequest(e, args as never, this.vm && 'ept' in this.vm ? this.vm.ept : undefined),
      'ringside/pagetables': (e) => pageTablesRequest(e, args as never),
      'ringside/gdt': (e) => tableRequest(e, args as never),
      'ringside/exits': (e) => (this.vm ? exitsView(this.vm, (args as { recent?: number } | undefined)?.recent, (a) => e.where(a)) : unavailable(this.modeName(), 'VM exits')),
      'ringside/ept': () => (this.vm ? eptView(this.vm, args as never) : unavailable(this.modeName(), 'EPT')),
      'ringside/shadow': () => (this.vm ? shadowView(this.vm, args as never) : unavailable(this.modeName(), 'shadow page tables')),
      'ringside/vmcs': () => (this.vm ? vmcsView(this.vm) : unavailable(this.modeName(), 'VMCS')),
      'ringside/consistency': () => this.vm?.consistency() ?? unavailable(this.modeName(), 'shadow page tables to check'),
      'ringside/holes': () => (this.vm ? holesView(this.vm, (args as { recent?: number } | undefined)?.recent) : unavailable(this.modeName(), 'virtualization holes')),
      'ringside/tcache': () => (this.vm ? tcacheView(this.vm, args as never) : unavailable(this.modeName(), 'translation cache')),
      'ringside/hypercalls': () => (this.vm ? hypercallsView(this.vm) : unavailable(this.modeName(), 'hypercalls')),
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
      this.userError(response, err, 1013, false);
    }
  }
}

/** Rows of disassembly shown above a frame's instruction in a disassembly source. */
const DISASM_BEFORE = 10;

export { memoryReference };
