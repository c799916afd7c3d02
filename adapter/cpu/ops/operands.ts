// Operand access shared by handlers: the ModRM r/m operand (register or memory), the ModRM reg
// operand, by size in bytes (1, 2, 4). Byte registers follow x86 numbering (AL CL DL BL AH CH DH BH).
import type { Cpu } from '../cpu';
import { REG8 } from '../cpu';
import type { Insn } from '../insn';

export function getReg(cpu: Cpu, n: number, size: number): number {
  return size === 4 ? cpu.r32[n] : size === 2 ? cpu.r16[n << 1] : cpu.r8[REG8[n]];
}
export function setReg(cpu: Cpu, n: number, size: number, v: number): void {
  if (size === 4) cpu.r32[n] = v;
  else if (size === 2) cpu.r16[n << 1] = v;
  else cpu.r8[REG8[n]] = v;
}
/** Read the r/m operand (32-bit reads return signed int32, smaller sizes zero-extended). */
export function readE(cpu: Cpu, i: Insn, size: number): number {
  if (!i.mem) return getReg(cpu, i.rm, size);
  return cpu.readN(i.seg, i.ea(cpu, i), size);
}
export function writeE(cpu: Cpu, i: Insn, size: number, v: number): void {
  if (!i.mem) setReg(cpu, i.rm, size, v);
  else cpu.writeN(i.seg, i.ea(cpu, i), size, v);
}
export function readG(cpu: Cpu, i: Insn, size: number): number {
  return getReg(cpu, i.reg, size);
}
export function writeG(cpu: Cpu, i: Insn, size: number, v: number): void {
  setReg(cpu, i.reg, size, v);
}
