// ModRM/SIB decoding and the effective-address functions. The decoder picks one small function per
// addressing shape at decode time and stores the register numbers and displacement in the record,
// so executing an instruction never re-interprets the ModRM byte. The functions are shared by every
// record (no closure per instruction), which keeps their call sites few and their shapes stable.
import type { Cpu } from './cpu';
import type { EaFn, Insn } from './insn';
import { DS, SS } from './insn';

/** No memory operand. */
export const eaNone: EaFn = () => 0;

// ---- 32-bit addressing: results are int32 offsets (| 0) ----
export const ea32Disp: EaFn = (_c: Cpu, i: Insn) => i.disp;
export const ea32Base: EaFn = (c: Cpu, i: Insn) => c.r32[i.base];
export const ea32BaseDisp: EaFn = (c: Cpu, i: Insn) => (c.r32[i.base] + i.disp) | 0;
export const ea32Index: EaFn = (c: Cpu, i: Insn) => ((c.r32[i.index] << i.scale) + i.disp) | 0;
export const ea32BaseIndex: EaFn = (c: Cpu, i: Insn) => (c.r32[i.base] + (c.r32[i.index] << i.scale)) | 0;
export const ea32BaseIndexDisp: EaFn = (c: Cpu, i: Insn) => (c.r32[i.base] + (c.r32[i.index] << i.scale) + i.disp) | 0;

// ---- 16-bit addressing: results wrap at 64 KiB (& 0xffff). r16 holds register n at index 2n. ----
export const ea16Disp: EaFn = (_c: Cpu, i: Insn) => i.disp & 0xffff;
export const ea16Base: EaFn = (c: Cpu, i: Insn) => c.r16[i.base << 1];
export const ea16BaseDisp: EaFn = (c: Cpu, i: Insn) => (c.r16[i.base << 1] + i.disp) & 0xffff;
export const ea16BaseIndex: EaFn = (c: Cpu, i: Insn) => (c.r16[i.base << 1] + c.r16[i.index << 1]) & 0xffff;
export const ea16BaseIndexDisp: EaFn = (c: Cpu, i: Insn) => (c.r16[i.base << 1] + c.r16[i.index << 1] + i.disp) & 0xffff;

/** Sequential byte source used while decoding one instruction. */
export interface ByteSource {
  byte(): number;
}

const BX = 3, BP = 5, SI = 6, DI = 7;
/** 16-bit r/m encodings: base and index registers (-1 none). */
const RM16_BASE = [BX, BX, BP, BP, SI, DI, BP, BX];
const RM16_INDEX = [SI, DI, SI, DI, -1, -1, -1, -1];

function s8(b: number): number { return (b << 24) >> 24; }

/**
 * Decode the memory form of a ModRM byte (mod != 3) into i: base, index, scale, disp, default
 * segment and the effective-address function. Reads SIB and displacement bytes from src.
 */
export function decodeMemOperand(i: Insn, modrm: number, a32: boolean, src: ByteSource): void {
  const mod = modrm >> 6, rm = modrm & 7;
  i.mem = true;
  if (!a32) {
    let base = RM16_BASE[rm], index = RM16_INDEX[rm], disp = 0;
    if (mod === 0 && rm === 6) {
      base = -1;
      disp = src.byte() | (src.byte() << 8);
    } else if (mod === 1) {
      disp = s8(src.byte());
    } else if (mod === 2) {
      disp = ((src.byte() | (src.byte() << 8)) << 16) >> 16;
    }
    i.base = base; i.index = index; i.scale = 0; i.disp = disp;
    i.seg = base === BP ? SS : DS;
    i.ea = base < 0 ? ea16Disp : index < 0 ? (disp === 0 ? ea16Base : ea16BaseDisp) : disp === 0 ? ea16BaseIndex : ea16BaseIndexDisp;
    return;
  }
  let base = rm, index = -1, scale = 0, disp = 0;
  if (rm === 4) {
    const sib = src.byte();
    scale = sib >> 6;
    index = (sib >> 3) & 7;
    if (index === 4) { index = -1; scale = 0; }
    base = sib & 7;
    if (base === 5 && mod === 0) base = -1;
    if (base < 0) disp = src.byte() | (src.byte() << 8) | (src.byte() << 16) | (src.byte() << 24);
  } else if (rm === 5 && mod === 0) {
    base = -1;
    disp = src.byte() | (src.byte() << 8) | (src.byte() << 16) | (src.byte() << 24);
  }
  if (mod === 1) disp = s8(src.byte());
  else if (mod === 2) disp = src.byte() | (src.byte() << 8) | (src.byte() << 16) | (src.byte() << 24);
  i.base = base; i.index = index; i.scale = scale; i.disp = disp | 0;
  i.seg = base === 4 || base === 5 ? SS : DS;
  i.ea = base < 0
    ? (index < 0 ? ea32Disp : ea32Index)
    : index < 0 ? (disp === 0 ? ea32Base : ea32BaseDisp) : disp === 0 ? ea32BaseIndex : ea32BaseIndexDisp;
}

/** An absolute moffs operand (A0-A3): address-sized displacement, no registers. */
export function setMoffs(i: Insn, disp: number, a32: boolean): void {
  i.mem = true;
  i.base = -1; i.index = -1; i.scale = 0;
  i.disp = a32 ? disp | 0 : disp & 0xffff;
  i.seg = DS;
  i.ea = a32 ? ea32Disp : ea16Disp;
}
