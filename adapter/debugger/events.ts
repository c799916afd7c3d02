// Event breakpoints: the classes of guest events a user can break on (shown by VS Code as exception
// filters), what selects each (instruction classes from the opcode table, exception vectors, CPU
// events), the variables its condition can use, and the reason text of a stop.
import { Cls } from '../cpu/opcodes';

export type EventSource = 'insn' | 'exception' | 'cpu';

export interface EventFilterDef {
  id: string;
  label: string;
  description: string;
  /** Variables the condition may use besides registers and symbols. */
  conditionDescription: string;
  source: EventSource;
  /** Instruction classes (Cls bits) for 'insn' filters. */
  cls?: number;
  /** Exception vectors for 'exception' filters (bit mask). */
  vectors?: number;
  /** CpuEvent kinds for 'cpu' filters. */
  cpuEvents?: string[];
  default?: boolean;
}

const V = (...v: number[]) => v.reduce((m, x) => m | (1 << x), 0) >>> 0;

/** The single list of event filters; package.json's filter list is checked against it by the tests. */
export const EVENT_FILTERS: readonly EventFilterDef[] = [
  { id: 'cr', label: 'Privileged: control registers', source: 'insn', cls: Cls.CrWrite | Cls.CrRead | Cls.Clts | Cls.Lmsw,
    description: 'MOV to or from CR0/CR2/CR3/CR4, CLTS, LMSW', conditionDescription: 'cr (register number), write (1 for MOV to CRn), value (what is written), e.g. cr == 3' },
  { id: 'desc', label: 'Descriptor tables', source: 'insn', cls: Cls.DescLoad | Cls.DescStore,
    description: 'LGDT, LIDT, LLDT, LTR and SGDT, SIDT, SLDT, STR', conditionDescription: 'load (1 for the load forms), e.g. load' },
  { id: 'io', label: 'Port I/O', source: 'insn', cls: Cls.Io,
    description: 'IN, OUT, INS, OUTS', conditionDescription: 'port, size (1, 2, 4), write (1 for OUT/OUTS), value (for OUT), e.g. port == 0x3f8' },
  { id: 'msr', label: 'MSR access', source: 'insn', cls: Cls.MsrRead | Cls.MsrWrite,
    description: 'RDMSR, WRMSR', conditionDescription: 'msr (= ECX), write, value (EDX:EAX low dword), e.g. ecx == 0x176' },
  { id: 'cpuid', label: 'CPUID', source: 'insn', cls: Cls.Cpuid,
    description: 'CPUID', conditionDescription: 'leaf (= EAX), subleaf (= ECX), e.g. leaf == 1' },
  { id: 'hlt', label: 'HLT', source: 'insn', cls: Cls.Hlt, description: 'HLT', conditionDescription: 'registers and symbols' },
  { id: 'if', label: 'Interrupt flag changes', source: 'insn', cls: Cls.IntFlag,
    description: 'CLI, STI, POPF or IRET that changes IF', conditionDescription: 'from, to (IF before and after), e.g. to == 1' },
  { id: 'tlb', label: 'TLB and cache', source: 'insn', cls: Cls.Invlpg | Cls.Cache,
    description: 'INVLPG, INVD, WBINVD', conditionDescription: 'address (INVLPG operand)' },
  { id: 'hypercall', label: 'Hypercalls (VMCALL)', source: 'insn', cls: Cls.Vmx,
    description: 'VMCALL and the other VMX instructions', conditionDescription: 'nr (= EAX, the hypercall number)' },
  { id: 'softint', label: 'Software interrupts', source: 'insn', cls: Cls.SoftInt,
    description: 'INT n, INT3, INTO, INT1', conditionDescription: 'vector, e.g. vector == 0x80' },
  { id: 'pf', label: 'Exception: #PF page fault', source: 'exception', vectors: V(14),
    description: 'page faults, before delivery', conditionDescription: 'cr2, error_code (bit 0 P, 1 W, 2 U, 3 RSVD, 4 I/D), e.g. error_code & 2' },
  { id: 'gp', label: 'Exception: #GP general protection', source: 'exception', vectors: V(13),
    description: 'general-protection faults, before delivery', conditionDescription: 'error_code' },
  { id: 'ud', label: 'Exception: #UD invalid opcode', source: 'exception', vectors: V(6), description: 'invalid opcodes', conditionDescription: 'registers' },
  { id: 'df', label: 'Exception: #DF double fault', source: 'exception', vectors: V(8), description: 'double faults', conditionDescription: 'registers' },
  { id: 'exception', label: 'Exceptions (any vector)', source: 'exception', vectors: 0xffffffff & ~V(1, 2),
    description: 'every CPU exception 0-31 (INT3 and INTO included)', conditionDescription: 'vector, error_code, e.g. vector == 0 || vector == 13' },
  { id: 'ring', label: 'Ring transitions', source: 'cpu', cpuEvents: ['cpl'],
    description: 'CPL changes: interrupts, IRET, far calls and returns, SYSENTER/SYSEXIT, task switches', conditionDescription: 'from, to, e.g. to == 3' },
  { id: 'mode', label: 'Mode switches', source: 'cpu', cpuEvents: ['mode'],
    description: 'real/protected mode, paging on/off, virtual-8086 entry and exit', conditionDescription: 'protected, paging (the new state, 0 or 1)' },
  { id: 'task', label: 'Hardware task switches', source: 'cpu', cpuEvents: ['task-switch'],
    description: 'task switches through TSS descriptors and task gates', conditionDescription: 'from, to (TSS selectors)' },
  { id: 'vmexit', label: 'VM exit', source: 'cpu', cpuEvents: ['vmexit'],
    description: 'every exit the hypervisor handles (any virtualization but none), after its handler ran; a function breakpoint \'vmexit NAME\' stops on one reason',
    conditionDescription: 'reason (Intel number; names such as CR_ACCESS or EPT_VIOLATION stand for theirs), qualification, e.g. reason == EPT_VIOLATION' },
];

export const EXCEPTION_NAMES: Record<number, string> = {
  0: '#DE divide error', 1: '#DB debug', 2: 'NMI', 3: '#BP breakpoint', 4: '#OF overflow', 5: '#BR bound range', 6: '#UD invalid opcode',
  7: '#NM device not available', 8: '#DF double fault', 10: '#TS invalid TSS', 11: '#NP segment not present', 12: '#SS stack fault',
  13: '#GP general protection', 14: '#PF page fault', 16: '#MF x87 error', 17: '#AC alignment check', 18: '#MC machine check', 19: '#XM SIMD',
};

export function exceptionName(v: number): string {
  return EXCEPTION_NAMES[v] ?? `exception ${v}`;
}

export function filterById(id: string): EventFilterDef | undefined {
  return EVENT_FILTERS.find((f) => f.id === id);
}

/** Reason prefix of an instruction-class stop. */
export function insnEventTitle(cls: number): string {
  if (cls & (Cls.CrWrite | Cls.CrRead | Cls.Clts | Cls.Lmsw)) return 'privileged instruction';
  if (cls & (Cls.DescLoad | Cls.DescStore)) return 'descriptor table';
  if (cls & Cls.Io) return 'port I/O';
  if (cls & (Cls.MsrRead | Cls.MsrWrite)) return 'MSR access';
  if (cls & Cls.Cpuid) return 'CPUID';
  if (cls & Cls.Hlt) return 'HLT';
  if (cls & Cls.IntFlag) return 'interrupt flag';
  if (cls & (Cls.Invlpg | Cls.Cache)) return 'TLB and cache';
  if (cls & Cls.Vmx) return 'hypercall';
  if (cls & Cls.SoftInt) return 'software interrupt';
  return 'instruction';
}
