// VMX basic exit reasons: Intel's numbers with the names Linux's headers give them (and Bochs's
// where they differ). Generated from shared/data/vmx-exit-reasons.tsv; this is the one table the
// hypervisor, the debugger's event filters and the panel use.

export interface ExitReason {
  number: number;
  name: string;
  /** Another name the same exit goes by (Bochs, older Linux), if any. */
  alias?: string;
}

export const EXIT_REASONS: readonly ExitReason[] = [
  { number: 0, name: 'EXCEPTION_NMI' },
  { number: 1, name: 'EXTERNAL_INTERRUPT' },
  { number: 2, name: 'TRIPLE_FAULT' },
  { number: 3, name: 'INIT_SIGNAL', alias: 'INIT' },
  { number: 4, name: 'SIPI_SIGNAL', alias: 'SIPI' },
  { number: 6, name: 'OTHER_SMI', alias: 'SMI' },
  { number: 7, name: 'INTERRUPT_WINDOW', alias: 'PENDING_INTERRUPT' },
  { number: 8, name: 'NMI_WINDOW' },
  { number: 9, name: 'TASK_SWITCH' },
  { number: 10, name: 'CPUID' },
  { number: 12, name: 'HLT' },
  { number: 13, name: 'INVD' },
  { number: 14, name: 'INVLPG' },
  { number: 15, name: 'RDPMC' },
  { number: 16, name: 'RDTSC' },
  { number: 18, name: 'VMCALL' },
  { number: 19, name: 'VMCLEAR' },
  { number: 20, name: 'VMLAUNCH' },
  { number: 21, name: 'VMPTRLD' },
  { number: 22, name: 'VMPTRST' },
  { number: 23, name: 'VMREAD' },
  { number: 24, name: 'VMRESUME' },
  { number: 25, name: 'VMWRITE' },
  { number: 26, name: 'VMOFF', alias: 'VMXOFF' },
  { number: 27, name: 'VMON', alias: 'VMXON' },
  { number: 28, name: 'CR_ACCESS' },
  { number: 29, name: 'DR_ACCESS' },
  { number: 30, name: 'IO_INSTRUCTION' },
  { number: 31, name: 'MSR_READ', alias: 'RDMSR' },
  { number: 32, name: 'MSR_WRITE', alias: 'WRMSR' },
  { number: 33, name: 'INVALID_STATE', alias: 'VMENTRY_FAILURE_GUEST_STATE' },
  { number: 34, name: 'MSR_LOAD_FAIL', alias: 'VMENTRY_FAILURE_MSR' },
  { number: 36, name: 'MWAIT_INSTRUCTION', alias: 'MWAIT' },
  { number: 37, name: 'MONITOR_TRAP_FLAG' },
  { number: 39, name: 'MONITOR_INSTRUCTION', alias: 'MONITOR' },
  { number: 40, name: 'PAUSE_INSTRUCTION', alias: 'PAUSE' },
  { number: 41, name: 'MCE_DURING_VMENTRY', alias: 'VMENTRY_FAILURE_MCA' },
  { number: 43, name: 'TPR_BELOW_THRESHOLD', alias: 'TPR_THRESHOLD' },
  { number: 44, name: 'APIC_ACCESS' },
  { number: 45, name: 'EOI_INDUCED', alias: 'VIRTUALIZED_EOI' },
  { number: 46, name: 'GDTR_IDTR', alias: 'GDTR_IDTR_ACCESS' },
  { number: 47, name: 'LDTR_TR', alias: 'LDTR_TR_ACCESS' },
  { number: 48, name: 'EPT_VIOLATION' },
  { number: 49, name: 'EPT_MISCONFIG', alias: 'EPT_MISCONFIGURATION' },
  { number: 50, name: 'INVEPT' },
  { number: 51, name: 'RDTSCP' },
  { number: 52, name: 'PREEMPTION_TIMER', alias: 'VMX_PREEMPTION_TIMER_EXPIRED' },
  { number: 53, name: 'INVVPID' },
  { number: 54, name: 'WBINVD' },
  { number: 55, name: 'XSETBV' },
  { number: 56, name: 'APIC_WRITE' },
  { number: 57, name: 'RDRAND' },
  { number: 58, name: 'INVPCID' },
  { number: 59, name: 'VMFUNC' },
  { number: 60, name: 'ENCLS' },
  { number: 61, name: 'RDSEED' },
  { number: 62, name: 'PML_FULL', alias: 'PML_LOGFULL' },
  { number: 63, name: 'XSAVES' },
  { number: 64, name: 'XRSTORS' },
  { number: 67, name: 'UMWAIT' },
  { number: 68, name: 'TPAUSE' },
  { number: 74, name: 'BUS_LOCK' },
  { number: 75, name: 'NOTIFY', alias: 'INSTRUCTION_TIMEOUT' },
  { number: 76, name: 'SEAMCALL' },
  { number: 77, name: 'TDCALL' },
  { number: 84, name: 'MSR_READ_IMM', alias: 'RDMSR_IMM' },
  { number: 85, name: 'MSR_WRITE_IMM', alias: 'WRMSRNS' },
];

const byNumber = new Map(EXIT_REASONS.map((r) => [r.number, r]));
const byName = new Map<string, ExitReason>();
for (const r of EXIT_REASONS) {
  byName.set(r.name, r);
  if (r.alias) byName.set(r.alias, r);
}

/** The reason with this number, if the table has it. */
export function exitReason(n: number): ExitReason | undefined {
  return byNumber.get(n);
}

/** Look up a reason by name (case-insensitive, with or without EXIT_REASON_) or by number text. */
export function findExitReason(text: string): ExitReason | undefined {
  const t = text.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) return byNumber.get(Number(t));
  return byName.get(t.toUpperCase().replace(/^EXIT_REASON_/, ''));
}

/** "28 CR_ACCESS", or the bare number when it is not in the table. */
export function exitReasonLabel(n: number): string {
  const r = byNumber.get(n);
  return r ? `${n} ${r.name}` : String(n);
}
