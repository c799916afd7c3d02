// The guest's call stack, as well as it can be known: the current instruction, then the EBP chain
// when the code keeps one, else return addresses found on the stack (values that point just after a
// CALL), with interrupt and exception frames (recorded as they were delivered) in their place. The
// walk is bounded and reads memory without side effects, so a garbage stack gives a short trace.
import type { Engine, InterruptFrame } from './engine';
import { codeAddress, stackTop } from './registers';
import { CS } from '../cpu/insn';
import { exceptionName } from './events';

export interface GuestFrame {
  /** Linear address of the frame's instruction (the return address for callers). */
  pc: number;
  kind: 'current' | 'call' | 'interrupt';
  /** Stack linear address where the frame was found (for ordering). */
  stack: number;
  /** Interrupt frames: vector and what raised it. */
  vector?: number;
  note?: string;
}

const MAX_FRAMES = 64;
/** Stack dwords scanned for return addresses when there is no EBP chain. */
const SCAN_WORDS = 1024;

/** True when the bytes before `ret` hold a CALL that returns there. */
function followsCall(engine: Engine, ret: number): boolean {
  const m = engine.memory;
  const b = m.read((ret - 7) >>> 0, 7);
  if (b.readable.some((x) => !x)) return false;
  const at = (k: number) => b.bytes[7 - k];
  if (at(5) === 0xe8) return true; // call rel32
  if (at(3) === 0xe8) return true; // call rel16 (16-bit code)
  // call r/m (FF /2): ModRM at ret-len+1 for the lengths 2..7
  for (let len = 2; len <= 7; len++) if (at(len) === 0xff && ((at(len - 1) >> 3) & 7) === 2) return true;
  return false;
}

/** Interrupt frames still live: on the current stack at or above its top, return EIP still in place. */
export function liveInterruptFrames(engine: Engine): InterruptFrame[] {
  const cpu = engine.cpu;
  const top = stackTop(cpu);
  return engine.interruptFrames.filter((f) => {
    if (f.ss !== cpu.segSel[2] || f.frame < top) return false;
    const at = (f.frame + (f.errorCode >= 0 ? 4 : 0)) >>> 0;
    const v = engine.memory.readValue(at, 4);
    return v !== undefined && ((cpu.isProtected() ? v : v & 0xffff) === (cpu.isProtected() ? f.fromEip >>> 0 : f.fromEip & 0xffff));
  });
}

export function walkStack(engine: Engine): GuestFrame[] {
  const cpu = engine.cpu;
  const frames: GuestFrame[] = [{ pc: codeAddress(cpu), kind: 'current', stack: stackTop(cpu) }];
  const csBase = cpu.segBase[CS] >>> 0;
  const w = cpu.stack32 ? 4 : 2;
  const ssBase = cpu.segBase[2] >>> 0;
  const found: GuestFrame[] = [];
  // EBP chain first.
  let ebp = (cpu.stack32 ? cpu.r32[5] >>> 0 : cpu.r16[10]);
  let lastStack = stackTop(cpu);
  for (let k = 0; k < MAX_FRAMES; k++) {
    const at = (ssBase + ebp) >>> 0;
    if (ebp === 0 || at < lastStack) break;
    const next = engine.memory.readValue(at, w as 2 | 4);
    const ret = engine.memory.readValue((at + w) >>> 0, w as 2 | 4);
    if (next === undefined || ret === undefined) break;
    const pc = (csBase + ret) >>> 0;
    if (!followsCall(engine, pc)) break;
    found.push({ pc, kind: 'call', stack: at + w });
    lastStack = at + 1;
    ebp = next;
  }
  if (found.length === 0) {
    // No frame pointers (hand-written assembly): scan the stack for return addresses.
    const top = stackTop(cpu);
    const r = engine.memory.read(top, SCAN_WORDS * w);
    for (let k = 0; k + w <= r.bytes.length && found.length < MAX_FRAMES; k += w) {
      if (!r.readable[k] || !r.readable[k + w - 1]) break;
      let v = 0;
      for (let j = w - 1; j >= 0; j--) v = v * 256 + r.bytes[k + j];
      const pc = (csBase + v) >>> 0;
      if (v === 0 || !(engine.symbols.lineAt(pc) || engine.symbols.describe(pc))) continue;
      if (followsCall(engine, pc)) found.push({ pc, kind: 'call', stack: top + k });
    }
  }
  for (const f of liveInterruptFrames(engine)) {
    const fromLin = cpu.isProtected() ? f.fromEip >>> 0 : ((f.fromCs << 4) + (f.fromEip & 0xffff)) >>> 0;
    // A protected-mode frame's CS may be another segment; flat kernels have base 0 everywhere.
    found.push({ pc: fromLin, kind: 'interrupt', stack: f.frame, vector: f.vector, note: `${f.source === 'external' ? 'interrupt' : f.source === 'software' ? 'int' : exceptionName(f.vector)} ${f.source === 'exception' ? '' : '0x' + f.vector.toString(16)}`.trim() });
  }
  found.sort((a, b) => a.stack - b.stack);
  // A return address pushed by an interrupted frame is not a caller of the handler: keep order by stack.
  return [...frames, ...found].slice(0, MAX_FRAMES);
}
