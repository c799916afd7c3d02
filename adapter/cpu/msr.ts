// Model-specific registers: the set a P6-class processor with the features cpuid.ts reports needs.
// Unknown indices and writes of reserved bits raise #GP(0). The time-stamp counter is deterministic:
// retired instructions plus idle time (both in instruction units) plus an offset that WRMSR sets.
import type { Cpu } from './cpu';
import { EFER_NXE } from './cpu';

export const MSR_TSC = 0x10, MSR_APIC_BASE = 0x1b, MSR_MTRRCAP = 0xfe;
export const MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176;
export const MSR_MISC_ENABLE = 0x1a0, MSR_PAT = 0x277, MSR_MTRR_DEF_TYPE = 0x2ff, MSR_EFER = 0xc0000080 | 0;

/** Power-on values of the MSRs kept in cpu.msrs. */
const DEFAULTS: [number, bigint][] = [
  [MSR_APIC_BASE, 0xfee00900n], // base 0xFEE00000, BSP, enabled
  [MSR_MISC_ENABLE, 0x1n], // fast strings
  [MSR_PAT, 0x0007040600070406n],
  [MSR_MTRR_DEF_TYPE, 0n],
];
/** MTRRCAP: no variable ranges, no fixed ranges, no write-combining (read-only). */
const MTRRCAP = 0n;

/** Memory types a PAT entry or MTRRdefType may hold (UC WC WT WP WB UC-). */
const VALID_TYPES = new Set([0, 1, 4, 5, 6, 7]);

export function tsc(cpu: Cpu): bigint {
  return BigInt(cpu.icount + cpu.idleTicks) + cpu.tscOffset;
}

function stored(cpu: Cpu, idx: number): bigint {
  const v = cpu.msrs.get(idx);
  if (v !== undefined) return v;
  for (const [k, d] of DEFAULTS) if (k === idx) return d;
  return 0n;
}

/** RDMSR value, or #GP(0) for an index this processor does not have. */
export function readMsr(cpu: Cpu, idx: number): bigint {
  switch (idx | 0) {
    case MSR_TSC: return tsc(cpu) & 0xffffffffffffffffn;
    case MSR_SYSENTER_CS: return BigInt(cpu.sysenterCs & 0xffff);
    case MSR_SYSENTER_ESP: return BigInt(cpu.sysenterEsp >>> 0);
    case MSR_SYSENTER_EIP: return BigInt(cpu.sysenterEip >>> 0);
    case MSR_EFER: return BigInt(cpu.efer >>> 0);
    case MSR_MTRRCAP: return MTRRCAP;
    case MSR_APIC_BASE: case MSR_MISC_ENABLE: case MSR_PAT: case MSR_MTRR_DEF_TYPE:
      return stored(cpu, idx);
  }
  return cpu.gp(0);
}

/** WRMSR, with the reserved-bit checks of each register (#GP(0)). */
export function writeMsr(cpu: Cpu, idx: number, v: bigint): void {
  const lo = Number(v & 0xffffffffn) | 0;
  switch (idx | 0) {
    case MSR_TSC:
      cpu.tscOffset = v - BigInt(cpu.icount + cpu.idleTicks);
      return;
    case MSR_SYSENTER_CS: cpu.sysenterCs = lo & 0xffff; return;
    case MSR_SYSENTER_ESP: cpu.sysenterEsp = lo; return;
    case MSR_SYSENTER_EIP: cpu.sysenterEip = lo; return;
    case MSR_EFER:
      if (v & ~BigInt(EFER_NXE)) cpu.gp(0);
      if ((cpu.efer ^ lo) & EFER_NXE) cpu.tlb.flushAll();
      cpu.efer = lo;
      return;
    case MSR_APIC_BASE:
      // bits 8 (BSP, read-only), 11 (enable), 35:12 (base); the rest are reserved
      if (v & ~0xffffff900n) cpu.gp(0);
      cpu.msrs.set(idx, (v & ~0x100n) | (stored(cpu, idx) & 0x100n));
      return;
    case MSR_MISC_ENABLE:
      cpu.msrs.set(idx, v);
      return;
    case MSR_PAT:
      for (let k = 0n; k < 64n; k += 8n) if (!VALID_TYPES.has(Number((v >> k) & 0xffn))) cpu.gp(0);
      cpu.msrs.set(idx, v);
      return;
    case MSR_MTRR_DEF_TYPE:
      if (v & ~0xcffn || !VALID_TYPES.has(Number(v & 0xffn)) || (v & 0xffn) === 7n) cpu.gp(0);
      cpu.msrs.set(idx, v);
      return;
  }
  cpu.gp(0);
}
