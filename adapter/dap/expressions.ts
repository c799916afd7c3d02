// Expressions from the Debug Console, the Watch view and editor hovers, and the console's completions:
// parsed and evaluated by debugger/expr, shaped here into DAP answers.
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Engine } from '../debugger/engine';
import { evaluate, parseExpr, assignTo, type ExprEnv } from '../debugger/expr';
import { readRegister } from '../debugger/registers';
import { formatNumber } from './variables';

export interface Evaluated {
  body: DebugProtocol.EvaluateResponse['body'];
  /** The guest's state changed (an assignment): views must refresh. */
  changed: boolean;
}

/**
 * Evaluates an expression. A hover carries the line it comes from: `$` and `.local` labels then mean
 * what they mean on that line of the source, wherever the guest is stopped.
 */
export function evaluateExpression(e: Engine, args: DebugProtocol.EvaluateArguments, hoverLine?: { file: string; line: number }): Evaluated {
  const hex = args.format?.hex !== false;
  const text = args.expression.trim();
  if (args.context === 'repl' && text.startsWith('>')) {
    // `>text` types into COM1 (the guest reads it as serial input), with the Enter key's CR.
    e.machine.uart.receive(Buffer.from(text.slice(1) + '\r', 'latin1'));
    return { body: { result: `sent ${text.length} bytes to COM1`, variablesReference: 0 }, changed: false };
  }
  let env: ExprEnv = e.env();
  if (hoverLine) {
    const at = e.symbols.resolveLine(hoverLine.file, hoverLine.line)?.addrs[0];
    if (at !== undefined) env = { ...env, here: () => at };
  }
  const n = parseExpr(text, args.context === 'repl');
  const v = evaluate(n, env, e.sink());
  const bits = n.k === 'mem' ? n.size * 8 : n.k === 'name' && /^[a-d][lh]$/i.test(n.name) ? 8 : 32;
  let result = formatNumber(v, bits, hex);
  let memoryReference: string | undefined;
  if (n.k === 'name' && readRegister(e.cpu, n.name.toLowerCase()) === undefined) {
    // A label: its address, and what is there. An `equ` constant is just a number.
    const name = n.name.startsWith('.') ? (e.symbols.enclosingLabel(env.here()) ?? '') + n.name : n.name;
    const kind = e.symbols.kind(name);
    if (kind !== undefined && kind !== 'absolute') {
      const dword = e.memory.readValue(v, 4);
      result += dword === undefined ? ' (address; memory unreadable)' : ` (address; dword there: ${formatNumber(dword, 32, hex)})`;
      memoryReference = '0x' + (v >>> 0).toString(16);
    } else if (kind === 'absolute') result += ' (constant)';
  } else if (n.k === 'mem') {
    memoryReference = '0x' + evaluate(n.addr, env).toString(16);
  }
  return { body: { result, variablesReference: 0, memoryReference }, changed: n.k === 'assign' };
}

/** setExpression from the Watch view: `eax`, `dword [buf + 4]`, `cr0` take the value. Returns the new value. */
export function assignExpression(e: Engine, args: DebugProtocol.SetExpressionArguments): string {
  const target = parseExpr(args.expression);
  const v = evaluate(parseExpr(args.value), e.env());
  assignTo(target, v, e.env(), e.sink());
  return formatNumber(evaluate(target, e.env()), target.k === 'mem' ? target.size * 8 : 32, args.format?.hex !== false);
}

/** Registers and symbols that start with the word before the cursor. */
export function completions(e: Engine | undefined, args: DebugProtocol.CompletionsArguments): DebugProtocol.CompletionItem[] {
  const upto = args.text.slice(0, Math.max(0, args.column - 1));
  const word = /[A-Za-z_.?@$][\w.$#@~?]*$/.exec(upto)?.[0] ?? '';
  if (!e) return [];
  return [...new Set(e.completionNames())].filter((n) => n.toLowerCase().startsWith(word.toLowerCase())).slice(0, 200)
    .map((n) => ({ label: n, text: n, type: readRegister(e.cpu, n) !== undefined ? 'variable' : 'reference', start: upto.length - word.length, length: word.length }));
}
