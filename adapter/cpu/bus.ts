// What the CPU needs from the layers above it: port I/O, memory-mapped I/O, interrupts, device
// time, and optional hooks for the hypervisor and the debugger. The CPU knows nothing else of them.
import type { Cpu } from './cpu';
import type { Insn } from './insn';

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
  | { kind: 'interrupt'; vector: number; source: 'exception' | 'software' | 'external'; errorCode: number; fromCs: number; fromEip: number };

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
