// What the HLE BIOS services see of the machine, and register/flag helpers for real-mode handlers.
import type { Cpu } from '../../cpu/cpu';
import { SS } from '../../cpu/insn';
import type { PortBus } from '../ports';

export interface Disk {
  bytes: Uint8Array;
  /** BIOS drive number: 0x00 floppy, 0x80 hard disk. */
  drive: number;
  cylinders: number;
  heads: number;
  sectors: number;
  /** Set when a guest wrote to the image (--save-disk writes it out). */
  dirty: boolean;
}

export interface BiosEnv {
  cpu: Cpu;
  ports: PortBus;
  /** Guest RAM by guest-physical address (never the CPU's memory: under a hypervisor that is host memory). */
  ram: Uint8Array;
  ramSize: number;
  disks: Disk[];
  /** Guest-physical access that keeps decoded code coherent. */
  readPhys(gpa: number, len: number): Uint8Array;
  writePhys(gpa: number, bytes: Uint8Array): void;
  setA20(on: boolean): void;
  getA20(): boolean;
}

// Register accessors (x86 numbering: 0 AX, 1 CX, 2 DX, 3 BX, 4 SP, 5 BP, 6 SI, 7 DI).
export const ax = (c: Cpu) => c.r16[0], cx = (c: Cpu) => c.r16[2], dx = (c: Cpu) => c.r16[4], bx = (c: Cpu) => c.r16[6];
export const si = (c: Cpu) => c.r16[12], di = (c: Cpu) => c.r16[14];
export const ah = (c: Cpu) => c.r8[1], al = (c: Cpu) => c.r8[0], bl = (c: Cpu) => c.r8[12], bh = (c: Cpu) => c.r8[13];
export const ch = (c: Cpu) => c.r8[5], cl = (c: Cpu) => c.r8[4], dh = (c: Cpu) => c.r8[9], dl = (c: Cpu) => c.r8[8];
export function setAX(c: Cpu, v: number): void { c.r16[0] = v; }
export function setBX(c: Cpu, v: number): void { c.r16[6] = v; }
export function setCX(c: Cpu, v: number): void { c.r16[2] = v; }
export function setDX(c: Cpu, v: number): void { c.r16[4] = v; }
export function setAH(c: Cpu, v: number): void { c.r8[1] = v; }
export function setAL(c: Cpu, v: number): void { c.r8[0] = v; }

const CF = 1, ZF = 0x40;

/** The FLAGS image the INT pushed (IRET restores it): handlers report CF/ZF there. */
function stackedFlagsOffset(c: Cpu): number {
  return (c.getSp() + 4) & (c.stack32 ? -1 : 0xffff);
}
export function setStackedFlag(c: Cpu, bit: number, on: boolean): void {
  const off = stackedFlagsOffset(c);
  const f = c.read16(SS, off);
  c.write16(SS, off, on ? f | bit : f & ~bit);
}
export function setCarry(c: Cpu, on: boolean): void { setStackedFlag(c, CF, on); }
export function setZero(c: Cpu, on: boolean): void { setStackedFlag(c, ZF, on); }
/** Success/failure convention: AH = status, CF = status != 0. */
export function status(c: Cpu, code: number): void {
  setAH(c, code);
  setCarry(c, code !== 0);
}

/** Segment register + 16-bit offset to a guest-physical address (real mode: no paging; A20 applies). */
export function linear(c: Cpu, segReg: number, off: number): number {
  return (c.segBase[segReg] + (off & 0xffff)) & c.a20Mask;
}
