// Ringside's custom DAP requests and events, shared by the adapter, the extension and the panel
// (import as types only). Every request answers from the live machine; none returns placeholder
// data. Requests are valid while the guest is stopped; while it runs they fail with "the guest is
// running". Addresses are numbers (unsigned 32-bit).
//
// Requests (DebugSession.customRequest(command, args)):
//   ringside/cpu         -> RingsideCpuState        vCPU state: mode, CPL, EIP, rings, recent transitions
//   ringside/translate   RingsideTranslateArgs -> RingsideTranslation   a real walk of the guest's tables
//   ringside/pagetables  RingsidePageTablesArgs -> RingsidePageTables   every present mapping, ranges merged
//   ringside/gdt         RingsideTableArgs -> RingsideDescriptorTable   GDT (or LDT/IDT with `table`) decoded
//
// Events:
//   ringside/state       RingsideCpuState, pushed on every stop (the panel refreshes from it)

export interface RingsideRingTransition {
  from: number;
  to: number;
  /** What caused it: "iret", "int 128", "sysenter", "interrupt 32", "task switch"... */
  cause: string;
  /** Retired-instruction count when it happened (the machine's time). */
  icount: number;
  eip: number;
}

export interface RingsideCpuState {
  vcpu: number;
  /** "none" until the hypervisor modes arrive. */
  virtualization: string;
  /** "real mode", "protected mode, 32-bit code, paging", "virtual-8086 mode". */
  mode: string;
  cpl: number;
  /** The ring the guest kernel believes it runs in (differs from cpl under trap-and-emulate). */
  guestRing: number;
  iopl: number;
  /** "none" (no VMX operation), "non-root" under a hypervisor mode. */
  vmx: 'none' | 'root' | 'non-root';
  cs: number;
  eip: number;
  /** Linear address of CS:EIP. */
  pc: number;
  /** Source location or symbol of the pc, when known. */
  location?: string;
  cr0: number;
  cr3: number;
  cr4: number;
  paging: 'off' | '32-bit' | 'pae';
  icount: number;
  halted: boolean;
  shutdown: boolean;
  transitions: RingsideRingTransition[];
  /** Why the guest last stopped. */
  stopReason?: string;
}

export interface RingsideTranslateArgs {
  /** Linear (guest virtual) address: a number, or an expression such as "esp" or "0xC0000010". */
  address: number | string;
}

export interface RingsideWalkStep {
  /** "PDPTE", "PDE" or "PTE". */
  level: string;
  /** Guest-physical address of the table and of the entry. */
  table: number;
  index: number;
  entryAddress: number;
  /** The entry as the guest wrote it (low dword; high dword under PAE). */
  raw: number;
  rawHigh: number;
  /** Decoded bits: "P", "RW"/"RO", "U"/"S", "A", "D", "PS", "G", "NX"... */
  bits: string[];
  /** What the entry points at: the next table or the page frame. */
  target: number;
}

export interface RingsideTranslation {
  linear: number;
  paging: 'off' | '32-bit' | 'pae';
  cr3: number;
  steps: RingsideWalkStep[];
  /** Guest-physical result (absent when the walk faults). */
  physical?: number;
  /** Host-physical address (equal to physical without a hypervisor). */
  host?: number;
  pageSize?: number;
  /** The level that stops the walk and why. */
  fault?: string;
  writable?: boolean;
  user?: boolean;
  nx?: boolean;
}

export interface RingsidePageTablesArgs {
  /** Only ranges overlapping [from, to). */
  from?: number;
  to?: number;
  /** At most this many ranges (default 100000). */
  limit?: number;
}

export interface RingsideMapping {
  linear: number;
  physical: number;
  size: number;
  writable: boolean;
  user: boolean;
  nx: boolean;
  global: boolean;
}

export interface RingsidePageTables {
  paging: 'off' | '32-bit' | 'pae';
  cr3: number;
  mappings: RingsideMapping[];
  /** More mappings exist than `limit` allowed. */
  truncated: boolean;
}

export interface RingsideTableArgs {
  /** "gdt" (default), "ldt" or "idt". */
  table?: 'gdt' | 'ldt' | 'idt';
}

export interface RingsideDescriptor {
  index: number;
  selector: number;
  /** Raw descriptor dwords. */
  low: number;
  high: number;
  present: boolean;
  dpl: number;
  summary: string;
  fields: [string, string][];
  base?: number;
  limit?: number;
  /** Gates: selector:offset of the handler, and its symbol when known. */
  target?: { selector: number; offset: number; symbol?: string };
}

export interface RingsideDescriptorTable {
  table: 'gdt' | 'ldt' | 'idt';
  base: number;
  limit: number;
  entries: (RingsideDescriptor | { index: number; unreadable: true })[];
}
