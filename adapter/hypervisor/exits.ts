// VM exits: the record each exit leaves (reason by Intel number, qualification encoded as the SDM
// encodes it, guest linear and physical address, instruction length and information, guest CS:EIP,
// a timestamp in retired instructions), the qualification encoders and their decoders, and the
// statistics: counts by reason and a ring buffer of the last exits.
import { exitReason, exitReasonLabel } from './exitreasons';

/** Basic exit reasons the hypervisor produces (numbers from exitreasons.ts's table). */
export const EXIT = {
  EXCEPTION_NMI: 0, EXTERNAL_INTERRUPT: 1, TRIPLE_FAULT: 2, INTERRUPT_WINDOW: 7, TASK_SWITCH: 9, CPUID: 10, HLT: 12,
  INVD: 13, INVLPG: 14, RDPMC: 15, RDTSC: 16, VMCALL: 18, VMCLEAR: 19, VMLAUNCH: 20, VMPTRLD: 21, VMPTRST: 22,
  VMREAD: 23, VMRESUME: 24, VMWRITE: 25, VMOFF: 26, VMON: 27, CR_ACCESS: 28, DR_ACCESS: 29, IO_INSTRUCTION: 30,
  MSR_READ: 31, MSR_WRITE: 32, MWAIT_INSTRUCTION: 36, MONITOR_INSTRUCTION: 39, PAUSE_INSTRUCTION: 40, GDTR_IDTR: 46,
  LDTR_TR: 47, EPT_VIOLATION: 48, EPT_MISCONFIG: 49, WBINVD: 54,
} as const;

export interface ExitRecord {
  /** 1 for the first exit of the run. */
  seq: number;
  /** Retired instructions when the exit happened. */
  icount: number;
  reason: number;
  qualification: number;
  /** -1 when the field is not valid for this exit. */
  guestLinear: number;
  guestPhysical: number;
  instructionLength: number;
  instructionInfo: number;
  /** VM-exit interruption information (exceptions, NMIs, external interrupts), 0 when not valid. */
  interruptionInfo: number;
  errorCode: number;
  cs: number;
  eip: number;
  /** What happened, in words: "mov cr3, eax", "out 0x3f8, al", "#PF at 0x50000010". */
  text: string;
}

// ------------------------------------------------------------------ qualification encoders (SDM tables)

export const CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3;

/** Control-register accesses: CR number 3:0, access type 5:4, LMSW operand type 6, GPR 11:8, LMSW source 31:16. */
export function crQualification(cr: number, type: number, gpr: number, lmswSource = 0, lmswMemory = false): number {
  return ((cr & 0xf) | ((type & 3) << 4) | (lmswMemory ? 1 << 6 : 0) | ((gpr & 0xf) << 8) | ((lmswSource & 0xffff) << 16)) >>> 0;
}

/** I/O instructions: size-1 in 2:0, direction 3 (1 = IN), string 4, REP 5, immediate operand 6, port 31:16. */
export function ioQualification(size: number, isIn: boolean, string: boolean, rep: boolean, immediate: boolean, port: number): number {
  return ((size - 1) | (isIn ? 8 : 0) | (string ? 0x10 : 0) | (rep ? 0x20 : 0) | (immediate ? 0x40 : 0) | ((port & 0xffff) << 16)) >>> 0;
}

/** MOV DR: DR number 2:0, direction 4 (1 = MOV from DR), GPR 11:8. */
export function drQualification(dr: number, fromDr: boolean, gpr: number): number {
  return (dr & 7) | (fromDr ? 0x10 : 0) | ((gpr & 0xf) << 8);
}

export const TASK_CALL = 0, TASK_IRET = 1, TASK_JMP = 2, TASK_IDT = 3;
/** Task switch: new TSS selector 15:0, source 31:30. */
export function taskQualification(selector: number, source: number): number {
  return ((selector & 0xffff) | ((source & 3) << 30)) >>> 0;
}

export const EPT_READ = 1, EPT_WRITE = 2, EPT_FETCH = 4;
/**
 * EPT violation: access in 2:0 (read, write, fetch), the AND of the R/W/X bits of the entries walked in
 * 5:3, guest-linear address valid in 7, and in 8 whether the access was to the translation of that
 * linear address (1) or to a guest paging-structure entry (0).
 */
export function eptQualification(access: number, rwx: number, linearValid: boolean, translation: boolean): number {
  return (access & 7) | ((rwx & 7) << 3) | (linearValid ? 0x80 : 0) | (linearValid && translation ? 0x100 : 0);
}

export const INTR_EXTERNAL = 0, INTR_NMI = 2, INTR_HW_EXCEPTION = 3, INTR_SW_INTERRUPT = 4, INTR_PRIV_SW_EXCEPTION = 5, INTR_SW_EXCEPTION = 6;
/** Interruption information: vector 7:0, type 10:8, error code valid 11, valid 31. */
export function interruptionInfo(vector: number, type: number, errorValid: boolean): number {
  return ((vector & 0xff) | ((type & 7) << 8) | (errorValid ? 0x800 : 0) | 0x80000000) >>> 0;
}

// ------------------------------------------------------------------ decoding for people

const GPR = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const hex = (v: number) => '0x' + (v >>> 0).toString(16);

/** The qualification in words, as the panel and `--stats` show it. */
export function describeQualification(reason: number, q: number): string {
  switch (reason) {
    case EXIT.CR_ACCESS: {
      const type = (q >>> 4) & 3, cr = q & 0xf, r = GPR[(q >>> 8) & 7];
      if (type === CR_MOV_TO) return `mov cr${cr}, ${r}`;
      if (type === CR_MOV_FROM) return `mov ${r}, cr${cr}`;
      if (type === CR_CLTS) return 'clts';
      return `lmsw ${hex(q >>> 16)}${q & 0x40 ? ' (memory operand)' : ''}`;
    }
    case EXIT.IO_INSTRUCTION: {
      const size = (q & 7) + 1, port = q >>> 16, isIn = (q & 8) !== 0;
      return `${q & 0x20 ? 'rep ' : ''}${isIn ? 'in' : 'out'}${q & 0x10 ? 's' : ''} port ${hex(port)}, ${size} byte${size > 1 ? 's' : ''}${q & 0x40 ? ' (immediate)' : ' (dx)'}`;
    }
    case EXIT.DR_ACCESS:
      return q & 0x10 ? `mov ${GPR[(q >>> 8) & 7]}, dr${q & 7}` : `mov dr${q & 7}, ${GPR[(q >>> 8) & 7]}`;
    case EXIT.TASK_SWITCH:
      return `task switch to TSS ${hex(q & 0xffff)} by ${['CALL', 'IRET', 'JMP', 'task gate in the IDT'][q >>> 30]}`;
    case EXIT.EPT_VIOLATION: case EXIT.EPT_MISCONFIG: {
      if (reason === EXIT.EPT_MISCONFIG) return 'EPT misconfiguration';
      const acc = [q & 1 ? 'read' : '', q & 2 ? 'write' : '', q & 4 ? 'fetch' : ''].filter(Boolean).join('+') || 'none';
      const perm = `${q & 8 ? 'r' : '-'}${q & 0x10 ? 'w' : '-'}${q & 0x20 ? 'x' : '-'}`;
      const where = q & 0x80 ? (q & 0x100 ? 'translation of the linear address' : 'guest paging-structure entry') : 'no linear address';
      return `${acc} access, EPT permissions ${perm}, ${where}`;
    }
    case EXIT.INVLPG: return `invlpg ${hex(q)}`;
    case EXIT.GDTR_IDTR: case EXIT.LDTR_TR: return `displacement ${hex(q)}`;
  }
  return q ? hex(q) : '';
}

/** "vector 14 (hardware exception), error code valid". */
export function describeInterruption(info: number): string {
  if (!(info & 0x80000000)) return '';
  const types = ['external interrupt', 'reserved', 'NMI', 'hardware exception', 'software interrupt', 'privileged software exception', 'software exception', 'other'];
  return `vector ${info & 0xff} (${types[(info >>> 8) & 7]})${info & 0x800 ? ', error code valid' : ''}`;
}

// ------------------------------------------------------------------ statistics

const MAX_REASON = 96;

export class ExitStats {
  readonly counts = new Float64Array(MAX_REASON);
  /** Guest EIP of the last exit of each reason. */
  readonly lastEip = new Float64Array(MAX_REASON).fill(-1);
  total = 0;
  /** Exits whose handler reflected an event to the guest (injected it) rather than resolving it. */
  injected = 0;
  private readonly ring: (ExitRecord | undefined)[];
  private head = 0;

  constructor(readonly capacity = 256) {
    this.ring = new Array(capacity).fill(undefined);
  }

  add(r: ExitRecord): void {
    this.total++;
    r.seq = this.total;
    if (r.reason < MAX_REASON) {
      this.counts[r.reason]++;
      this.lastEip[r.reason] = r.eip;
    }
    this.ring[this.head] = r;
    this.head = (this.head + 1) % this.capacity;
  }

  /** The last exits, oldest first. */
  recent(n = this.capacity): ExitRecord[] {
    const out: ExitRecord[] = [];
    for (let k = 0; k < this.capacity; k++) {
      const r = this.ring[(this.head + k) % this.capacity];
      if (r) out.push(r);
    }
    return out.slice(-n);
  }

  /** Counts by reason, most frequent first. */
  byReason(): { reason: number; name: string; count: number; lastEip: number }[] {
    const out: { reason: number; name: string; count: number; lastEip: number }[] = [];
    for (let n = 0; n < MAX_REASON; n++) {
      if (this.counts[n]) out.push({ reason: n, name: exitReason(n)?.name ?? String(n), count: this.counts[n], lastEip: this.lastEip[n] });
    }
    return out.sort((a, b) => b.count - a.count || a.reason - b.reason);
  }

  reset(): void {
    this.counts.fill(0);
    this.lastEip.fill(-1);
    this.total = this.injected = 0;
    this.ring.fill(undefined);
    this.head = 0;
  }
}

/** One line per reason, kvm_stat style: count, share, last guest EIP. */
export function formatExitCounts(stats: ExitStats): string[] {
  const rows = stats.byReason();
  if (!rows.length) return ['  (no exits)'];
  return rows.map((r) => {
    const pct = ((100 * r.count) / stats.total).toFixed(1).padStart(5);
    return `  ${exitReasonLabel(r.reason).padEnd(24)} ${String(r.count).padStart(9)}  ${pct}%  last at eip ${hex(r.lastEip)}`;
  });
}
