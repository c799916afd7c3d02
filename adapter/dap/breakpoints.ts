// Breakpoints as the client set them (source lines, functions and instruction patterns, addresses,
// event filters, data), kept to be set again after a restart, and translated into the engine's terms:
// each comes back verified, or not with a message that says why.
import * as path from 'node:path';
import { Source } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Engine } from '../debugger/engine';
import { evaluate, parseExpr, type Node } from '../debugger/expr';
import { isMnemonic } from '../debugger/patterns';
import { dataId, parseDataId, Trigger, newBreakpointId, isVmExitBreakpoint, type BreakpointOptions, type DataAccess } from '../debugger/breakpoints';
import { VariableHandles, parseMemoryReference } from './variables';
import { userMessage } from './errors';

interface SourceBp { line: number; options: BreakpointOptions }

/** Client (1-based by default) and debugger line numbers. */
export interface LineNumbers {
  toDebugger(line: number): number;
  toClient(line: number): number;
}

export class ClientBreakpoints {
  private readonly sourceBps = new Map<string, SourceBp[]>();
  private functionBps: DebugProtocol.FunctionBreakpoint[] = [];
  private instructionBps: DebugProtocol.InstructionBreakpoint[] = [];
  private exceptionArgs: DebugProtocol.SetExceptionBreakpointsArguments = { filters: [] };
  private dataBps: DebugProtocol.DataBreakpoint[] = [];

  constructor(private readonly engine: () => Engine | undefined, private readonly lines: LineNumbers) {}

  private options(b: { condition?: string; hitCondition?: string; logMessage?: string }): BreakpointOptions {
    return { condition: b.condition, hitCondition: b.hitCondition, logMessage: b.logMessage };
  }

  setSource(args: DebugProtocol.SetBreakpointsArguments): DebugProtocol.Breakpoint[] {
    const file = args.source.path ?? '';
    const list = (args.breakpoints ?? []).map((b) => ({ line: this.lines.toDebugger(b.line), options: this.options(b) }));
    this.sourceBps.set(file, list);
    return this.applySource(file, list);
  }

  private applySource(file: string, list: SourceBp[]): DebugProtocol.Breakpoint[] {
    const e = this.engine();
    const source = new Source(path.basename(file), file);
    const out: DebugProtocol.Breakpoint[] = [];
    const specs: Parameters<Engine['setCodeBreakpoints']>[1] = [];
    for (const b of list) {
      const bp: DebugProtocol.Breakpoint = { verified: false, line: this.lines.toClient(b.line), source };
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
          bp.line = this.lines.toClient(r.line);
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

  /** Lines with code in a range, where a breakpoint would stay. */
  locations(args: DebugProtocol.BreakpointLocationsArguments): DebugProtocol.BreakpointLocation[] {
    const e = this.engine();
    const from = this.lines.toDebugger(args.line), to = args.endLine ? this.lines.toDebugger(args.endLine) : from;
    const lines = e ? e.symbols.codeLines(args.source.path ?? '').filter((l) => l >= from && l <= to) : [];
    return lines.map((l) => ({ line: this.lines.toClient(l) }));
  }

  setFunctions(args: DebugProtocol.SetFunctionBreakpointsArguments): DebugProtocol.Breakpoint[] {
    this.functionBps = args.breakpoints;
    return this.applyFunctions();
  }

  private applyFunctions(): DebugProtocol.Breakpoint[] {
    const e = this.engine();
    if (!e) return this.functionBps.map(() => ({ verified: false, message: 'the guest is not loaded yet' }));
    const code: Parameters<Engine['setCodeBreakpoints']>[1] = [];
    const patterns: { text: string; options: BreakpointOptions; index: number }[] = [];
    const out: DebugProtocol.Breakpoint[] = [];
    const vmexits: { text: string; options: BreakpointOptions; index: number }[] = [];
    this.functionBps.forEach((b, k) => {
      const name = b.name.trim();
      if (isVmExitBreakpoint(name)) { vmexits.push({ text: name, options: this.options(b), index: k }); return; }
      const sym = e.symbols.lookup(name);
      let addr: number | undefined = sym;
      if (addr === undefined && !isMnemonic(name.split(/\s/)[0])) {
        try { addr = evaluate(parseExpr(name.replace(/^\*/, '')), e.env()); } catch { /* not an address either */ }
      }
      if (addr !== undefined) {
        code.push({ kind: 'function', linear: addr, label: name, options: this.options(b) });
        const l = e.symbols.lineAt(addr);
        out[k] = { verified: true, instructionReference: '0x' + (addr >>> 0).toString(16), ...(l ? { source: new Source(path.basename(l.file), l.file), line: this.lines.toClient(l.line) } : {}) };
      } else patterns.push({ text: name, options: this.options(b), index: k });
    });
    const made = e.setCodeBreakpoints('function', code);
    let m = 0;
    out.forEach((bp) => { if (bp) bp.id = made[m++].id; });
    // Patterns one by one so each gets its own verdict.
    const good: { text: string; options: BreakpointOptions; index: number }[] = [];
    this.applyVmExits(e, vmexits, out);
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

  /** `vmexit NAME` function breakpoints (the panel's "Break on this exit"): one verdict each. */
  private applyVmExits(e: Engine, list: { text: string; options: BreakpointOptions; index: number }[], out: DebugProtocol.Breakpoint[]): void {
    const good: typeof list = [];
    for (const b of list) {
      if (!e.virtualized) { out[b.index] = { verified: false, message: 'no VM exits under plain emulation: launch with "virtualization": "vtx" (or another hypervisor mode) to break on an exit' }; continue; }
      try { e.setVmExitBreakpoints([b]); good.push(b); } catch (err) { out[b.index] = { verified: false, message: userMessage(err) ?? String(err) }; }
    }
    const set = e.setVmExitBreakpoints(good);
    good.forEach((b, k) => {
      const r = set[k].reason;
      out[b.index] = { verified: true, id: set[k].id, message: `stops on every VM exit ${r.name} (${r.number})` };
    });
  }

  setInstructions(args: DebugProtocol.SetInstructionBreakpointsArguments): DebugProtocol.Breakpoint[] {
    this.instructionBps = args.breakpoints;
    return this.applyInstructions();
  }

  private applyInstructions(): DebugProtocol.Breakpoint[] {
    const e = this.engine();
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

  setExceptions(args: DebugProtocol.SetExceptionBreakpointsArguments): DebugProtocol.Breakpoint[] {
    this.exceptionArgs = args;
    return this.applyExceptions();
  }

  private applyExceptions(): DebugProtocol.Breakpoint[] {
    const e = this.engine();
    const wanted = [...(this.exceptionArgs.filters ?? []).map((f) => ({ filterId: f })), ...(this.exceptionArgs.filterOptions ?? []).map((o) => ({ filterId: o.filterId, condition: o.condition }))];
    if (!e) return wanted.map(() => ({ verified: false }));
    const out: DebugProtocol.Breakpoint[] = [];
    const good: typeof wanted = [];
    for (const w of wanted) {
      if (w.filterId === 'vmexit' && !e.virtualized) { out.push({ verified: false, message: 'no VM exits under plain emulation (virtualization "none"): choose a hypervisor mode to break on exits' }); continue; }
      try { e.setEventFilters([w]); good.push(w); out.push({ verified: true }); } catch (err) { out.push({ verified: false, message: userMessage(err) ?? String(err) }); }
    }
    e.setEventFilters(good);
    return out;
  }

  /** What a data breakpoint on a variable, an expression or an address would watch. */
  dataInfo(args: DebugProtocol.DataBreakpointInfoArguments, handles: VariableHandles): DebugProtocol.DataBreakpointInfoResponse['body'] {
    const e = this.engine();
    const none = (why: string) => ({ dataId: null, description: why });
    if (!e) return none('no guest is loaded');
    const accessTypes: DebugProtocol.DataBreakpointAccessType[] = ['read', 'write', 'readWrite'];
    try {
      let space: 'linear' | 'physical' = 'linear', address: number, size = args.bytes ?? 4, what: string;
      if (args.variablesReference) {
        const node = handles.nodes(args.variablesReference)?.find((n) => n.name === args.name);
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
      return { dataId: dataId(space, address, size), description: what, accessTypes, canPersist: false };
    } catch (err) {
      return none(userMessage(err) ?? String(err));
    }
  }

  setData(args: DebugProtocol.SetDataBreakpointsArguments): DebugProtocol.Breakpoint[] {
    this.dataBps = args.breakpoints;
    return this.applyData();
  }

  private applyData(): DebugProtocol.Breakpoint[] {
    const e = this.engine();
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

  /** After a restart: everything is set again on the new guest; the source breakpoints come back for events. */
  reapply(): DebugProtocol.Breakpoint[] {
    const changed: DebugProtocol.Breakpoint[] = [];
    for (const [file, list] of this.sourceBps) changed.push(...this.applySource(file, list));
    this.applyFunctions();
    this.applyInstructions();
    this.applyExceptions();
    this.applyData();
    return changed;
  }
}
