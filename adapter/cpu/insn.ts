// The decoded-instruction record: decoded once, cached per physical page, executed many times.
import type { Cpu } from './cpu';
import type { OpEntry } from './opcodes';

export type Handler = (cpu: Cpu, i: Insn) => void;
export type EaFn = (cpu: Cpu, i: Insn) => number;

/** Segment register numbers, in x86 encoding order. */
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

/** Register numbers, in x86 encoding order. */
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

/** REP prefixes. */
export const REP_NONE = 0, REP_E = 1 /* F3 */, REP_NE = 2 /* F2 */;

export class Insn {
  /** Handler chosen at decode time (possibly wrapped by an intercept or breakpoint). */
  exec: Handler;
  /** The unwrapped handler, when exec is a wrapper (the hypervisor's exit check, when it intercepts the class). */
  inner: Handler;
  /** The instruction's own semantics, under any wrapper (what an exit handler runs to emulate it). */
  native: Handler;
  /** Length in bytes (1..15). */
  len = 0;
  /** Opcode: 0x00-0xFF one-byte map, 0x0F00-0x0FFF two-byte map. */
  opcode = 0;
  /** The table entry (mnemonic, operands, class, flags). */
  entry: OpEntry;
  /** Operand size in bytes for 'v'-sized operands: 2 or 4. */
  osize: 2 | 4 = 4;
  /** Address size: true = 32-bit. */
  a32 = true;
  /** ModRM.reg (or the register encoded in the low opcode bits). */
  reg = 0;
  /** ModRM.rm register number when mem is false. */
  rm = 0;
  /** The ModRM r/m operand is memory. */
  mem = false;
  /** ModRM byte as decoded (-1 when there is none). */
  modrm = -1;
  /** Effective-address parts (for disassembly and the debugger). base/index -1 when absent. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  /** Computes the effective address (offset within seg), already masked to the address size. */
  ea: EaFn;
  /** Segment of the memory operand, after any override (DS default, SS for BP/SP bases). */
  seg = DS;
  /** Segment override prefix, or -1. */
  segOverride = -1;
  /** Immediates: imm (sign- or zero-extended as the operand spec says), imm2 (ENTER's second, far selector). */
  imm = 0;
  imm2 = 0;
  /** REP_NONE, REP_E or REP_NE. */
  rep = REP_NONE;
  lock = false;
  /** Fast-path operation number (fastpath.ts), 0 when the instruction runs through exec. */
  fast = 0;
  /** Destination and source registers of a fast-path operation. */
  fd = 0;
  fs = 0;
  /** Guest-physical address of the first byte (HLE entry points, breakpoints); -1 outside guest RAM. */
  phys = 0;
  /** EIP (offset in CS) of the instruction when decoded. */
  eip = 0;
  /** Decoded with a 32-bit code segment (CS.D). */
  code32 = true;
  /** Exception the record raises instead of executing: 0 none, 6 #UD (bad encoding, LOCK misuse), 13 #GP (over 15 bytes). */
  fault = 0;

  constructor(entry: OpEntry, exec: Handler, ea: EaFn) {
    this.entry = entry;
    this.exec = exec;
    this.inner = exec;
    this.native = exec;
    this.ea = ea;
  }
}
