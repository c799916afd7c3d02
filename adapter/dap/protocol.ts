// Ringside's custom DAP requests and events, shared by the adapter, the extension and the panel
// (import as types only). Every request answers from the live machine; none returns placeholder
// data. Requests are valid while the guest is stopped; while it runs they fail with "the guest is
// running" (except ringside/cpu, a snapshot taken between run slices). Addresses are numbers
// (unsigned 32-bit).
//
// Requests (DebugSession.customRequest(command, args)):
//   ringside/cpu         -> RingsideCpuState        vCPU state: mode, CPL, EIP, rings, recent transitions
//   ringside/translate   RingsideTranslateArgs -> RingsideTranslation   a real walk of the guest's tables (from the
//                        guest's CR3; the shadow or EPT walk beside it where the mode has one)
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
  /**
   * cr0/cr3/cr4 above (and `paging`) are what the guest believes it loaded. Where the hypervisor keeps
   * the processor's apart (shadow paging: CR3 holds the shadow root, CR0.WP forced; trap-and-emulate),
   * the processor's values, present only then.
   */
  real?: { cr0: number; cr3: number; cr4: number };
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
  /** vtx+ept: each guest table read and the final GPA, walked through EPT (the second dimension). */
  eptWalks?: RingsideEptWalk[];
  /** Shadow paging: the walk of the shadow table that the hardware really uses (GVA -> HPA). */
  shadowSteps?: RingsideWalkStep[];
  shadowRoot?: number;
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
  /** The guest's table by default (its GDTR/IDTR). true: the shadow copy the processor really uses under
   *  trap-and-emulate, binary translation and paravirt (an error in modes without one). */
  processor?: boolean;
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
  /** Present when this is the processor's shadow copy (args.processor). */
  processor?: true;
  base: number;
  limit: number;
  entries: (RingsideDescriptor | { index: number; unreadable: true })[];
}

// ----------------------------------------------------------------------------------------------
// Hypervisor data (proposed by the VS Code side for the hypervisor panel; the adapter answers them
// once the hypervisor modes exist). Until then these requests fail as unrecognized, and the panel
// says the data is not available. Under "virtualization": "none" they answer with `available: false`
// and a `reason` ("no hypervisor: plain emulation has no EPT").
//
//   ringside/exits       RingsideExitsArgs -> RingsideExits        counts by reason + the last N exits
//   ringside/ept         RingsideRangeArgs -> RingsideEpt          EPT mappings GPA -> HPA, ranges merged
//   ringside/shadow      RingsideRangeArgs -> RingsideShadow       shadow mappings GVA -> HPA
//   ringside/vmcs        -> RingsideVmcs                           controls and guest state, decoded
//   ringside/tcache      -> RingsideTranslationCache               binary translation: guest -> translated blocks
//   ringside/hypercalls  -> RingsideHypercalls                     paravirt: calls made, by number
// The panel's "Break on this exit" adds a function breakpoint named `vmexit <NAME>` (e.g.
// `vmexit CR_ACCESS`; a number works too, any case): the adapter stops after every exit with that
// reason, as the VM-exit filter does (a stop of reason 'exception'), and marks the breakpoint hit.
// ringside/translate's answer grows `eptWalks` (each guest table read and the final GPA walked
// through EPT) or `shadowSteps` (the shadow walk) when the mode has them.

export interface RingsideUnavailable {
  available: false;
  /** Why this mode has none of this, e.g. "vtx+ept has no shadow page tables". */
  reason: string;
}

export interface RingsideExitsArgs {
  /** How many of the most recent exits (default 200). */
  recent?: number;
}

export interface RingsideExitCount {
  reason: number;
  name: string;
  count: number;
  /** Guest EIP (linear) of the last exit with this reason. */
  lastEip: number;
}

export interface RingsideExitRecord {
  /** Retired-instruction count at the exit. */
  icount: number;
  reason: number;
  name: string;
  /** Raw exit qualification and its decoding ("CR3 <- EAX, MOV to CR", "port 0x3F8 out, 1 byte"). */
  qualification: number;
  decoded: string;
  eip: number;
  guestLinear?: number;
  guestPhysical?: number;
  instructionLength?: number;
  /** Source location of eip when known ("kernel.asm:320"). */
  location?: string;
}

export interface RingsideExits {
  available: true;
  total: number;
  counts: RingsideExitCount[];
  recent: RingsideExitRecord[];
}

export interface RingsideRangeArgs {
  from?: number;
  to?: number;
  limit?: number;
}

export interface RingsideEptMapping {
  gpa: number;
  hpa: number;
  size: number;
  read: boolean;
  write: boolean;
  execute: boolean;
  /** "WB", "UC", "WT", "WP", "WC". */
  memoryType: string;
  /** 4096, 2 MiB or 1 GiB: the EPT page size behind the range. */
  pageSize: number;
  accessed: boolean;
  dirty: boolean;
}

export interface RingsideEpt {
  available: true;
  eptp: number;
  mappings: RingsideEptMapping[];
  truncated: boolean;
}

export interface RingsideShadowMapping {
  gva: number;
  hpa: number;
  size: number;
  writable: boolean;
  user: boolean;
  /** The guest PTE this entry was built from (its guest-physical address and value). */
  guestPteAddress: number;
  guestPte: number;
  /** The guest-physical frame and where it lives in host memory. */
  gpa: number;
  /** The guest table frame is write-protected (tracked by the hypervisor). */
  writeProtected: boolean;
  outOfSync: boolean;
}

export interface RingsideShadow {
  available: true;
  /** Host-physical address of the active shadow root. */
  root: number;
  mappings: RingsideShadowMapping[];
  truncated: boolean;
}

export interface RingsideVmcsField {
  name: string;
  value: number | string;
  /** Decoded meaning: set bits by name, selector parts... */
  decoded?: string;
}

export interface RingsideVmcs {
  available: true;
  /** Host-physical address of the VMCS-like control block. */
  address: number;
  sections: { name: string; fields: RingsideVmcsField[] }[];
}

export interface RingsideTranslatedBlock {
  guest: number;
  guestLength: number;
  host: number;
  hostLength: number;
  /** Guest instructions, with those rewritten into monitor calls marked. */
  instructions: { address: number; text: string; rewritten?: string }[];
  executions: number;
}

export interface RingsideTranslationCache {
  available: true;
  blocks: RingsideTranslatedBlock[];
  invalidations: number;
}

export interface RingsideHypercall {
  number: number;
  name: string;
  count: number;
  /** The last call's arguments and result. */
  lastArgs?: number[];
  lastResult?: number;
}

export interface RingsideHypercalls {
  available: true;
  calls: RingsideHypercall[];
}

/** A step of the second dimension of a walk (EPT) or of a shadow walk. */
export interface RingsideEptWalk {
  /** What is being translated: "PDE table read", "final GPA"... */
  purpose: string;
  gpa: number;
  steps: { level: string; entryAddress: number; raw: number; rawHigh: number; bits: string[]; target: number }[];
  hpa?: number;
  fault?: string;
}
