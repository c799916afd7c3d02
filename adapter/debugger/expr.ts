// The one expression language of the debugger: breakpoint conditions, hit counts, logpoint
// interpolation, the Watch view, hovers and the debug console all parse and evaluate through here.
//
//   numbers     NASM notations: 0x1F 0h1F $1F 1Fh, 0b101 0y101 101b 101y, 0o17 0q17 17o 17q,
//               0d99 99d 99, underscores, 'ab' character constants
//   names       registers (eax ax al eip eflags cf zf iopl cr0..cr4 dr0..dr7 cs cs.base ...), the
//               symbols of the guest, .local labels (relative to the enclosing label), `$` (EIP),
//               and event variables (port, leaf, vector, error_code, reason, from, to ...)
//   memory      [expr] (dword), byte/word/dword [expr], [seg:expr] (adds the segment's base)
//   operators   C's, with C's precedence: || && | ^ & == != < <= > >= << >> + - * / % and
//               unary - ~ !; `lhs = rhs` assigns (registers and memory) where the caller allows it
// Values are unsigned 32-bit integers; comparisons and shifts are unsigned.

export class ExprError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExprError';
  }
}

/** What an expression can see: the caller supplies registers, symbols and memory. */
export interface ExprEnv {
  /** A register, flag, segment part or event variable by (lower-case) name; undefined if none. */
  reg(name: string): number | undefined;
  /** A guest symbol (case-sensitive); `.local` names arrive already qualified when possible. */
  symbol(name: string): number | undefined;
  /** Current instruction's address, for `$` and for qualifying `.local` labels. */
  here(): number;
  /** The label enclosing an address (to qualify `.local`). */
  enclosingLabel?(addr: number): string | undefined;
  /** Linear read; throws ExprError when the address is not readable. */
  read(addr: number, size: 1 | 2 | 4): number;
}

/** Writes for assignments (setVariable, setExpression, `eax = 1` in the console). */
export interface ExprSink {
  setReg(name: string, value: number): void;
  write(addr: number, size: 1 | 2 | 4, value: number): void;
}

export type Node =
  | { k: 'num'; v: number }
  | { k: 'name'; name: string }
  | { k: 'here' }
  | { k: 'mem'; size: 1 | 2 | 4; seg?: string; addr: Node }
  | { k: 'un'; op: string; a: Node }
  | { k: 'bin'; op: string; a: Node; b: Node }
  | { k: 'assign'; target: Node; value: Node };

// ------------------------------------------------------------------ lexer

type Tok = { t: 'num'; v: number } | { t: 'id'; v: string } | { t: 'op'; v: string } | { t: 'end' };

const OPS = ['||', '&&', '==', '!=', '<=', '>=', '<<', '>>', '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<', '>', '(', ')', '[', ']', ':', '='];
const ID_START = /[A-Za-z_.?@]/;
const ID_PART = /[A-Za-z0-9_.$#@~?]/;

/** Parses a NASM numeric literal (already cut at the token's end); undefined if it is not one. */
export function parseNumber(text: string): number | undefined {
  let s = text.replace(/_/g, '').toLowerCase();
  if (s === '') return undefined;
  let radix = 10;
  if (s.startsWith('$')) { radix = 16; s = s.slice(1); if (!/^[0-9]/.test(s)) return undefined; }
  else if (/^0[xh]/.test(s)) { radix = 16; s = s.slice(2); }
  else if (/^0[by]/.test(s) && /^[01]+$/.test(s.slice(2))) { radix = 2; s = s.slice(2); }
  else if (/^0[oq]/.test(s)) { radix = 8; s = s.slice(2); }
  else if (/^0d/.test(s) && /^[0-9]+$/.test(s.slice(2))) { radix = 10; s = s.slice(2); }
  else if (/h$/.test(s)) { radix = 16; s = s.slice(0, -1); }
  else if (/^[01]+[by]$/.test(s)) { radix = 2; s = s.slice(0, -1); }
  else if (/[oq]$/.test(s)) { radix = 8; s = s.slice(0, -1); }
  else if (/^[0-9]+d$/.test(s)) { radix = 10; s = s.slice(0, -1); }
  const digits = radix === 16 ? /^[0-9a-f]+$/ : radix === 8 ? /^[0-7]+$/ : radix === 2 ? /^[01]+$/ : /^[0-9]+$/;
  if (!digits.test(s)) return undefined;
  const v = parseInt(s, radix);
  if (!Number.isFinite(v) || v > 0xffffffff) return undefined;
  return v >>> 0;
}

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (/[0-9]/.test(c) || (c === '$' && /[0-9]/.test(src[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < src.length && /[0-9A-Za-z_]/.test(src[j])) j++;
      const v = parseNumber(src.slice(i, j));
      if (v === undefined) throw new ExprError(`'${src.slice(i, j)}' is not a number`);
      out.push({ t: 'num', v });
      i = j;
      continue;
    }
    if (c === '$') { out.push({ t: 'id', v: '$' }); i++; continue; }
    if (c === "'" || c === '"' || c === '`') {
      const j = src.indexOf(c, i + 1);
      if (j < 0) throw new ExprError('unterminated character constant');
      const chars = src.slice(i + 1, j);
      if (chars.length === 0 || chars.length > 4) throw new ExprError('a character constant holds 1 to 4 characters');
      let v = 0;
      for (let k = chars.length - 1; k >= 0; k--) v = (v * 256 + (chars.charCodeAt(k) & 0xff)) >>> 0;
      out.push({ t: 'num', v });
      i = j + 1;
      continue;
    }
    if (ID_START.test(c)) {
      let j = i + 1;
      while (j < src.length && ID_PART.test(src[j])) j++;
      out.push({ t: 'id', v: src.slice(i, j) });
      i = j;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExprError(`unexpected '${c}'`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  out.push({ t: 'end' });
  return out;
}

// ------------------------------------------------------------------ parser (precedence climbing)

const BINARY: Record<string, number> = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6, '<': 7, '<=': 7, '>': 7, '>=': 7,
  '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
};
const SIZES: Record<string, 1 | 2 | 4> = { byte: 1, word: 2, dword: 4 };
const SEGS = new Set(['cs', 'ds', 'es', 'fs', 'gs', 'ss']);

class Parser {
  private p = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok { return this.toks[this.p]; }
  private next(): Tok { return this.toks[this.p++]; }
  private isOp(v: string): boolean { const t = this.peek(); return t.t === 'op' && t.v === v; }
  private expect(v: string): void {
    if (!this.isOp(v)) throw new ExprError(`expected '${v}'${this.near()}`);
    this.p++;
  }
  private near(): string {
    const t = this.peek();
    return t.t === 'end' ? ' at the end' : ` before '${t.t === 'num' ? t.v : t.v}'`;
  }

  top(allowAssign: boolean): Node {
    const n = this.binary(0);
    if (this.isOp('=')) {
      if (!allowAssign) throw new ExprError("'=' assigns; compare with '=='");
      this.p++;
      if (n.k !== 'name' && n.k !== 'mem') throw new ExprError('only a register or memory can be assigned');
      const value = this.binary(0);
      if (this.peek().t !== 'end') throw new ExprError(`unexpected input${this.near()}`);
      return { k: 'assign', target: n, value };
    }
    if (this.peek().t !== 'end') throw new ExprError(`unexpected input${this.near()}`);
    return n;
  }

  private binary(minPrec: number): Node {
    let a = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op') break;
      const prec = BINARY[t.v];
      if (prec === undefined || prec < minPrec) break;
      this.p++;
      const b = this.binary(prec + 1);
      a = { k: 'bin', op: t.v, a, b };
    }
    return a;
  }

  private unary(): Node {
    const t = this.peek();
    if (t.t === 'op' && (t.v === '-' || t.v === '~' || t.v === '!' || t.v === '+')) {
      this.p++;
      const a = this.unary();
      return t.v === '+' ? a : { k: 'un', op: t.v, a };
    }
    return this.primary();
  }

  private primary(): Node {
    const t = this.next();
    if (t.t === 'num') return { k: 'num', v: t.v };
    if (t.t === 'op' && t.v === '(') {
      const n = this.binary(0);
      this.expect(')');
      return n;
    }
    if (t.t === 'op' && t.v === '[') return this.memory(4);
    if (t.t === 'id') {
      const lower = t.v.toLowerCase();
      if (lower in SIZES && this.isOp('[')) {
        this.p++;
        return this.memory(SIZES[lower]);
      }
      if (lower in SIZES && this.peek().t === 'id' && (this.peek() as { v: string }).v.toLowerCase() === 'ptr') {
        this.p++;
        this.expect('[');
        return this.memory(SIZES[lower]);
      }
      if (t.v === '$') return { k: 'here' };
      return { k: 'name', name: t.v };
    }
    if (t.t === 'end') throw new ExprError('the expression is incomplete');
    throw new ExprError(`unexpected '${t.v}'`);
  }

  /** After '[': optional `seg:` then the address, then ']'. */
  private memory(size: 1 | 2 | 4): Node {
    let seg: string | undefined;
    const t = this.peek();
    if (t.t === 'id' && SEGS.has(t.v.toLowerCase()) && this.toks[this.p + 1]?.t === 'op' && (this.toks[this.p + 1] as { v: string }).v === ':') {
      seg = t.v.toLowerCase();
      this.p += 2;
    }
    const addr = this.binary(0);
    this.expect(']');
    return seg ? { k: 'mem', size, seg, addr } : { k: 'mem', size, addr };
  }
}

/** Parses an expression; `allowAssign` permits a top-level `target = value`. Throws ExprError. */
export function parseExpr(text: string, allowAssign = false): Node {
  if (!text.trim()) throw new ExprError('the expression is empty');
  return new Parser(lex(text)).top(allowAssign);
}

// ------------------------------------------------------------------ evaluation

/** Resolves a name: register/event variable, then symbol, then `.local` under the enclosing label. */
export function resolveName(name: string, env: ExprEnv): number {
  const r = env.reg(name.toLowerCase());
  if (r !== undefined) return r >>> 0;
  const s = env.symbol(name);
  if (s !== undefined) return s >>> 0;
  if (name.startsWith('.') && env.enclosingLabel) {
    const owner = env.enclosingLabel(env.here());
    if (owner) {
      const q = env.symbol(owner + name);
      if (q !== undefined) return q >>> 0;
    }
  }
  throw new ExprError(`'${name}' is not a register, symbol or variable here`);
}

function memAddr(n: Extract<Node, { k: 'mem' }>, env: ExprEnv): number {
  let a = evalNode(n.addr, env);
  if (n.seg) a = (a + (env.reg(n.seg + '.base') ?? 0)) >>> 0;
  return a;
}

export function evalNode(n: Node, env: ExprEnv): number {
  switch (n.k) {
    case 'num': return n.v;
    case 'here': return env.here() >>> 0;
    case 'name': return resolveName(n.name, env);
    case 'mem': return env.read(memAddr(n, env), n.size) >>> 0;
    case 'un': {
      const a = evalNode(n.a, env);
      if (n.op === '-') return (-a) >>> 0;
      if (n.op === '~') return ~a >>> 0;
      return a === 0 ? 1 : 0;
    }
    case 'bin': {
      if (n.op === '&&') return evalNode(n.a, env) !== 0 && evalNode(n.b, env) !== 0 ? 1 : 0;
      if (n.op === '||') return evalNode(n.a, env) !== 0 || evalNode(n.b, env) !== 0 ? 1 : 0;
      const a = evalNode(n.a, env), b = evalNode(n.b, env);
      switch (n.op) {
        case '+': return (a + b) >>> 0;
        case '-': return (a - b) >>> 0;
        case '*': return Number((BigInt(a) * BigInt(b)) & 0xffffffffn);
        case '/': if (b === 0) throw new ExprError('division by zero'); return Math.floor(a / b) >>> 0;
        case '%': if (b === 0) throw new ExprError('division by zero'); return (a % b) >>> 0;
        case '&': return (a & b) >>> 0;
        case '|': return (a | b) >>> 0;
        case '^': return (a ^ b) >>> 0;
        case '<<': return b >= 32 ? 0 : (a << b) >>> 0;
        case '>>': return b >= 32 ? 0 : a >>> b;
        case '==': return a === b ? 1 : 0;
        case '!=': return a !== b ? 1 : 0;
        case '<': return a < b ? 1 : 0;
        case '<=': return a <= b ? 1 : 0;
        case '>': return a > b ? 1 : 0;
        case '>=': return a >= b ? 1 : 0;
      }
      throw new ExprError(`unknown operator ${n.op}`);
    }
    case 'assign':
      throw new ExprError('assignment is not allowed here');
  }
}

/** Evaluates, performing a top-level assignment through `sink` when there is one. Returns the value. */
export function evaluate(n: Node, env: ExprEnv, sink?: ExprSink): number {
  if (n.k !== 'assign') return evalNode(n, env);
  if (!sink) throw new ExprError('assignment is not allowed here');
  const v = evalNode(n.value, env);
  assignTo(n.target, v, env, sink);
  return v;
}

/** Stores `value` into a register or memory node. */
export function assignTo(target: Node, value: number, env: ExprEnv, sink: ExprSink): void {
  if (target.k === 'name') sink.setReg(target.name.toLowerCase(), value >>> 0);
  else if (target.k === 'mem') sink.write(memAddr(target, env), target.size, value >>> 0);
  else throw new ExprError('only a register or memory can be assigned');
}

/** Compiles an expression once for repeated evaluation (breakpoint conditions). */
export function compile(text: string): (env: ExprEnv) => number {
  const n = parseExpr(text);
  return (env) => evalNode(n, env);
}

/**
 * Logpoint messages: `{expr}` is replaced by the value (hex), `{expr,d}` in decimal; `{{`/`}}` are
 * literal braces. Each expression is checked when the logpoint is set.
 */
export function compileMessage(text: string): (env: ExprEnv) => string {
  const parts: (string | { n: Node; dec: boolean; src: string })[] = [];
  let i = 0, lit = '';
  while (i < text.length) {
    if (text.startsWith('{{', i)) { lit += '{'; i += 2; continue; }
    if (text.startsWith('}}', i)) { lit += '}'; i += 2; continue; }
    if (text[i] === '{') {
      const j = text.indexOf('}', i);
      if (j < 0) throw new ExprError("'{' without '}' in the log message");
      let src = text.slice(i + 1, j), dec = false;
      const m = /,\s*([dx])\s*$/.exec(src);
      if (m) { dec = m[1] === 'd'; src = src.slice(0, m.index); }
      if (lit) { parts.push(lit); lit = ''; }
      parts.push({ n: parseExpr(src), dec, src });
      i = j + 1;
      continue;
    }
    lit += text[i++];
  }
  if (lit) parts.push(lit);
  return (env) => parts.map((p) => {
    if (typeof p === 'string') return p;
    try {
      const v = evalNode(p.n, env);
      return p.dec ? String(v) : '0x' + v.toString(16);
    } catch (e) {
      return `<${p.src}: ${e instanceof Error ? e.message : String(e)}>`;
    }
  }).join('');
}

/** Hit-count conditions: `5` or `== 5` (exactly the 5th), `>= 5`, `> 5`, `% 3` (every 3rd). */
export function compileHitCondition(text: string): (hits: number) => boolean {
  const m = /^\s*(==|>=|>|<=|<|%)?\s*(.+?)\s*$/.exec(text);
  if (!m) throw new ExprError(`hit count '${text}' is not understood`);
  const n = parseNumber(m[2]);
  if (n === undefined) throw new ExprError(`hit count '${text}': '${m[2]}' is not a number`);
  switch (m[1] ?? '==') {
    case '==': return (h) => h === n;
    case '>=': return (h) => h >= n;
    case '>': return (h) => h > n;
    case '<=': return (h) => h <= n;
    case '<': return (h) => h < n;
    default:
      if (n === 0) throw new ExprError('hit count % 0 never matches');
      return (h) => h % n === 0;
  }
}
