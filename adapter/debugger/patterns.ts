// Instruction patterns for function breakpoints: `mov cr3`, `wrmsr`, `out 0x3f8`, `int 0x80`,
// `lgdt`. A pattern names a mnemonic and, optionally, leading operands (a register name, a number,
// or * for any). It stops on every execution of a matching instruction, wherever it is. Only
// instructions of the opcode table's event classes can be intercepted at no cost, so a pattern's
// mnemonic must belong to one; its classes are compiled into the decoded-instruction records.
import { allEntries } from '../cpu/opcodes';
import { formatInsn } from '../cpu/disasm';
import type { Insn } from '../cpu/insn';
import type { Cpu } from '../cpu/cpu';
import { parseNumber } from './expr';

export interface InsnPattern {
  text: string;
  mnemonic: string;
  operands: (string | number)[];
  /** Cls bits of every table entry with this mnemonic. */
  cls: number;
}

export class PatternError extends Error {}

let mnemonicClasses: Map<string, number> | undefined;
function classesByMnemonic(): Map<string, number> {
  if (mnemonicClasses) return mnemonicClasses;
  const m = new Map<string, number>();
  for (const e of allEntries()) {
    for (const mn of [e.mnemonic, e.mn16]) if (mn) m.set(mn, (m.get(mn) ?? 0) | e.cls);
  }
  // Size-less spellings users type: `ins`/`outs` and `iret` cover their sized forms.
  for (const [alias, forms] of [['ins', ['insb', 'insw', 'insd']], ['outs', ['outsb', 'outsw', 'outsd']], ['iret', ['iretd', 'iretw']]] as const) {
    let c = m.get(alias) ?? 0;
    for (const f of forms) c |= m.get(f) ?? 0;
    if (c) m.set(alias, c);
  }
  mnemonicClasses = m;
  return m;
}

/** True when the text looks like an instruction (a known mnemonic first). */
export function isMnemonic(word: string): boolean {
  return classesByMnemonic().has(word.toLowerCase());
}

export function parsePattern(text: string): InsnPattern {
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const sp = t.indexOf(' ');
  const mnemonic = sp < 0 ? t : t.slice(0, sp);
  const rest = sp < 0 ? '' : t.slice(sp + 1);
  const known = classesByMnemonic();
  if (!known.has(mnemonic)) throw new PatternError(`'${text}' is neither a symbol of the guest nor an instruction`);
  const cls = known.get(mnemonic)!;
  if (!cls) throw new PatternError(`'${mnemonic}' cannot be a pattern breakpoint: patterns work for instructions of an event class (privileged, I/O, MSR, CPUID, HLT, interrupt flag, TLB, VMX, software interrupts, far transfers, sensitive instructions); use a line or address breakpoint for others`);
  const operands = rest ? rest.split(',').map((o) => o.trim()).filter(Boolean).map((o) => {
    if (o === '*') return o;
    const n = parseNumber(o);
    return n !== undefined ? n : o;
  }) : [];
  return { text: text.trim(), mnemonic, operands, cls };
}

const IO = new Set(['in', 'out', 'insb', 'insw', 'insd', 'outsb', 'outsw', 'outsd']);

/** Splits formatted text "mov cr3,eax" into mnemonic (prefixes dropped) and operands. */
export function splitInsnText(text: string): { mnemonic: string; operands: string[] } {
  const words = text.split(' ');
  while (words.length > 1 && /^(rep|repe|repne|repz|repnz|lock|o16|o32|a16|a32)$/.test(words[0])) words.shift();
  const mnemonic = words[0];
  const ops = words.slice(1).join(' ');
  const operands: string[] = [];
  let depth = 0, cur = '';
  for (const c of ops) {
    if (c === '[') depth++;
    if (c === ']') depth--;
    if (c === ',' && depth === 0) { operands.push(cur.trim()); cur = ''; } else cur += c;
  }
  if (cur.trim()) operands.push(cur.trim());
  return { mnemonic, operands };
}

/** Does this instruction, about to execute on cpu, match the pattern? */
export function matchPattern(p: InsnPattern, i: Insn, cpu: Cpu): boolean {
  const { mnemonic, operands } = splitInsnText(formatInsn(i));
  const base = mnemonic === 'iretd' || mnemonic === 'iretw' ? 'iret' : mnemonic;
  if (mnemonic !== p.mnemonic && base !== p.mnemonic && !(p.mnemonic === 'ins' && mnemonic.startsWith('ins')) && !(p.mnemonic === 'outs' && mnemonic.startsWith('outs'))) return false;
  let ops = operands;
  if (IO.has(mnemonic)) {
    // The port first, whatever the encoding's order.
    const port = ops.findIndex((o) => o === 'dx' || /^0x[0-9a-f]+$/.test(o));
    if (port > 0) ops = [ops[port], ...ops.filter((_, k) => k !== port)];
  }
  for (let k = 0; k < p.operands.length; k++) {
    const want = p.operands[k];
    const have = ops[k];
    if (have === undefined) return false;
    if (want === '*') continue;
    if (typeof want === 'number') {
      if (have === 'dx' && IO.has(mnemonic)) { if ((cpu.r32[2] & 0xffff) !== want) return false; continue; }
      const n = parseNumber(have);
      if (n === undefined || n !== want) return false;
      continue;
    }
    if (have.replace(/\s+/g, '') !== want.replace(/\s+/g, '')) return false;
  }
  return true;
}
