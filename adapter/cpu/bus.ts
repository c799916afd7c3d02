// What the CPU needs from the layers above it: port I/O, memory-mapped I/O, interrupts, device
// time, and optional hooks for the hypervisor and the debugger. The CPU knows nothing else of them.
import type { Cpu } from './cpu';
import type { Insn } from './insn';
import type { Block } from './blocks';

export interface CpuHost {
  portRead(port: number, size: 1 | 2 | 4): number;
  portWrite(port: number, size: 1 | 2 | 4, value: number): void;
  /** Guest-physical accesses that fall outside RAM (MMIO or nothing). */
  mmioRead(gpa: number, size: 1 | 2 | 4): number;
  mmioWrite(gpa: number, size: 1 | 2 | 4, value: number): void;
  /** INTA cycle: the vector of the highest pending interrupt, or -1 when it vanished. */
  acknowledgeInterrupt(): number;
  /** Devices catch up to the CPU's virtual time; the host then updates cpu.nextEventAt. */
  serviceDevices(cpu: Cpu): void;
}

/** Ring changes, mode switches and other slow-path events the debugger and hypervisor observe. */
export type CpuEvent =
  | { kind: 'cpl'; from: number; to: number; cause: string }
  | { kind: 'mode'; what: 'protected' | 'real' | 'paging-on' | 'paging-off' | 'v86-enter' | 'v86-exit' }
  | { kind: 'task-switch'; from: number; to: number; cause: string }
  | { kind: 'triple-fault'; vector: number }
  | { kind: 'if'; value: boolean; cause: string }
  /** An interrupt or exception was delivered; the handler's frame is at SS:ESP. errorCode -1: none. */
  | { kind: 'interrupt'; vector: number; source: 'exception' | 'software' | 'external'; errorCode: number; fromCs: number; fromEip: number }
  /** The hypervisor took a VM exit (Intel basic exit reason number) and handled it; text describes it. */
  | { kind: 'vmexit'; reason: number; qualification: number; text: string };

export interface CpuHooks {
  /** Called before an instruction whose class is intercepted or that has a breakpoint. Return true when the
   *  hook emulated (or skipped) the instruction, false to execute it natively. May throw CPU_STOP. */
  beforeInsn?(cpu: Cpu, i: Insn): boolean;
  /** Called before an exception is delivered through the IDT. Return true when intercepted (not delivered). */
  exception?(cpu: Cpu, vector: number, errorCode: number, hasError: boolean): boolean;
  /** Slow-path events. */
  event?(cpu: Cpu, e: CpuEvent): void;
  /** A watched linear range was accessed (TLB pages marked slow by the watcher). */
  watch?(cpu: Cpu, lin: number, size: number, write: boolean, value: number): void;
}

/**
 * The hypervisor's hooks (cpu.vmm), kept apart from the debugger's (cpu.hooks) so both can be armed at
 * once. Instructions: the debugger sees them first (it stops before anything happens), then the
 * hypervisor (the VM exit). Exceptions: the hypervisor first (a fault it resolves, such as a shadow
 * page filled in, never reaches the guest or the debugger), then the debugger.
 */
export interface VmmHooks {
  /** An instruction of a class in cpu.vmmClasses: return true when the exit handler emulated it. */
  beforeInsn?(cpu: Cpu, i: Insn): boolean;
  /**
   * An exception vector in cpu.vmmExceptions, before delivery (also a fault raised while delivering
   * another event). Return -1 when the hypervisor resolved it (nothing is delivered; a fault during
   * delivery has the first event delivered again), else the error code to deliver with it.
   */
  exception?(cpu: Cpu, vector: number, errorCode: number, hasError: boolean, duringDelivery: boolean): number;
  /** A maskable interrupt is about to be taken (IF set, line up): the hypervisor records its exits;
   *  returning false holds it (the guest's virtual IF is clear). */
  interrupt?(cpu: Cpu): boolean | void;
  /** Slow-path events, as the debugger gets them. */
  event?(cpu: Cpu, e: CpuEvent): void;
  /** The VM exit this instruction would cause now ("VM exit 28 CR_ACCESS"), for the debugger's stop text. */
  exitFor?(cpu: Cpu, i: Insn): string | undefined;
  /** Linear -> guest-physical as the guest's own tables say (shadow paging: cpu.cr3 is the shadow root). */
  peekTranslate?(cpu: Cpu, lin: number): number;
  /** Guest frame `gfn` was written from outside the CPU (loader, BIOS disk read, debugger). */
  externalWrite?(cpu: Cpu, gfn: number): void;
  /** The value of CRn the guest believes it has (read shadows, the guest's CR3 under shadow paging). */
  guestCr?(cpu: Cpu, n: number): number;
  /** The ring the guest believes it runs in (trap-and-emulate runs its kernel at ring 1). */
  guestRing?(cpu: Cpu): number;
  /** A write of CR0/CR3/CR4 as if the guest made it (the debugger's setVariable, a task switch's CR3): the hypervisor's
   *  checks and shadow state follow. May throw CPU_FAULT where the guest's MOV would raise #GP. Returns
   *  false when the processor's register is the guest's own (the caller writes it directly). */
  setGuestCr?(cpu: Cpu, n: number, value: number): boolean;
  /** The descriptor-table registers the guest loaded, where the processor's point at shadow tables
   *  (trap-and-emulate); undefined while they are the processor's own. */
  guestTables?(cpu: Cpu): GuestTables | undefined;
  /** A block of guest code was decoded, or dropped (its bytes written), or every block was: binary translation's cache follows. */
  blockDecoded?(cpu: Cpu, b: Block): void;
  blockDropped?(cpu: Cpu, b: Block): void;
  blocksFlushed?(cpu: Cpu): void;
  /** The A20 gate opened or closed (cpu.a20Mask changed): translations the hypervisor composed are stale. */
  a20Changed?(cpu: Cpu): void;
  /** An event's delivery ended (delivered, or a shutdown): what the hypervisor let through meanwhile is settled. */
  afterDelivery?(cpu: Cpu): void;
}

/** GDTR, IDTR, TR and LDTR as the guest loaded them (VmmHooks.guestTables). */
export interface GuestTables {
  gdtBase: number; gdtLimit: number;
  idtBase: number; idtLimit: number;
  trSel: number; trBase: number; trLimit: number;
  ldtrSel: number; ldtrBase: number; ldtrLimit: number;
}
