// Instruction exits: which instruction classes the controls intercept, whether this instruction
// exits now (with the qualification and instruction information the SDM defines for it), and the
// handler that emulates it. Most handlers run the instruction's own semantics (the device model, the
// MSR file, CPUID are the same code a bare machine runs); control registers go through crs.ts.
// Exceptions that the SDM gives priority over VM exits (#GP for CPL > 0 on privileged instructions,
// the IOPL/TSS-bitmap check on I/O, #UD in real or virtual-8086 mode) happen first: the instruction
// then runs natively and faults.
import type { Cpu } from '../cpu/cpu';
import { CR0_PE, CR4_TSD, CR4_PCE } from '../cpu/cpu';
import type { Insn } from '../cpu/insn';
import { ES } from '../cpu/insn';
import { Cls, OpFlag } from '../cpu/opcodes';
import { checkIo } from '../cpu/ops/io';
import { PROC, PROC2 } from './vmcs';
import { EXIT, type ExitRecord, crQualification, ioQualification, drQualification, CR_MOV_TO, CR_MOV_FROM, CR_CLTS, CR_LMSW } from './exits';
import { setGuestCr0, setGuestCr3, setGuestCr4 } from './crs';
import { E_PERM } from './hypercalls';
import type { Vm } from './vm';

export interface InsnExit extends Partial<ExitRecord> {
  reason: number;
  emulate(vm: Vm, cpu: Cpu, i: Insn): void;
}

const native = (_vm: Vm, cpu: Cpu, i: Insn) => i.native(cpu, i);
const CR0_TS = 8;

/** Instruction classes whose records must run the exit check under these controls. */
export function interceptClasses(vm: Vm): number {
  const s = vm.settings;
  let c = Cls.Cpuid | Cls.Vmx | Cls.Cache | Cls.CrWrite | Cls.Lmsw | Cls.Clts | Cls.MsrRead | Cls.MsrWrite | Cls.Io | Cls.Pause;
  if (s.proc & PROC.hlt) c |= Cls.Hlt;
  if (s.proc & PROC.invlpg) c |= Cls.Invlpg;
  if (s.proc & PROC.rdtsc) c |= Cls.Rdtsc;
  if (s.proc & PROC.rdpmc) c |= Cls.Rdpmc;
  if (s.proc & PROC.movDr) c |= Cls.DrAccess;
  if (s.proc & (PROC.mwait | PROC.monitor)) c |= Cls.Mwait;
  if (secondary(vm, PROC2.descriptorTable)) c |= Cls.DescLoad | Cls.DescStore;
  // Reads of CR3 may exit; reads of CR0/CR4 see the read shadows where the guest's value differs.
  if (s.proc & PROC.cr3Store || vm.shadow) c |= Cls.CrRead;
  return c;
}

function secondary(vm: Vm, bit: number): boolean {
  return (vm.settings.proc & PROC.secondary) !== 0 && (vm.settings.proc2 & bit) !== 0;
}

/** An exception the processor checks before any VM exit would make this instruction fault. */
function faultsFirst(cpu: Cpu, i: Insn): boolean {
  return (i.entry.flags & OpFlag.Cpl0) !== 0 && cpu.cpl !== 0;
}

/** Ew source operand of LMSW (register or memory). */
function readEw(cpu: Cpu, i: Insn): number {
  return i.mem ? cpu.read16(i.seg, i.ea(cpu, i)) : cpu.r16[i.rm << 1];
}

/**
 * Instruction information for the descriptor-table exits (SDM tables for exits 46 and 47): scaling
 * 1:0, register operand 6:3, address size 9:7, memory/register 10, operand size 11, segment 17:15,
 * index 21:18 (invalid 22), base 26:23 (invalid 27), instruction identity 29:28.
 */
function dtInfo(i: Insn, identity: number): number {
  let v = (identity & 3) << 28;
  if (!i.mem) return v | (1 << 10) | ((i.rm & 7) << 3);
  v |= (i.scale & 3) | ((i.a32 ? 1 : 0) << 7) | ((i.osize === 4 ? 1 : 0) << 11) | ((i.seg & 7) << 15);
  v |= i.index >= 0 ? (i.index & 7) << 18 : 1 << 22;
  v |= i.base >= 0 ? (i.base & 7) << 23 : 1 << 27;
  return v >>> 0;
}

/**
 * The exit this instruction causes now, or null when it runs without one. `dry` computes it without
 * side effects (the debugger's stop text); it may still throw CPU_FAULT where the instruction would fault.
 */
export function decideExit(vm: Vm, cpu: Cpu, i: Insn, dry = false): InsnExit | null {
  const s = vm.settings;
  const h = i.entry.handler;
  switch (h) {
    case 'cpuid':
      return { reason: EXIT.CPUID, emulate: native };
    case 'hlt':
      if (faultsFirst(cpu, i) || !(s.proc & PROC.hlt)) return null;
      return { reason: EXIT.HLT, emulate: native };
    case 'invlpg': {
      if (faultsFirst(cpu, i) || !(s.proc & PROC.invlpg)) return null;
      const lin = (cpu.segBase[i.seg] + i.ea(cpu, i)) >>> 0;
      return { reason: EXIT.INVLPG, qualification: lin, guestLinear: lin, emulate: (v, c, ins) => { v.shadow?.invlpg(lin); ins.native(c, ins); } };
    }
    case 'movcr': {
      if (faultsFirst(cpu, i)) return null;
      const cr = i.reg, gpr = i.rm;
      if (i.entry.sub === 1) {
        const value = cpu.r32[gpr];
        const q = crQualification(cr, CR_MOV_TO, gpr);
        if (cr === 0 && ((value ^ vm.guest.cr0) & s.cr0Mask) !== 0) return { reason: EXIT.CR_ACCESS, qualification: q, emulate: (v) => setGuestCr0(v, value) };
        if (cr === 3 && s.proc & PROC.cr3Load) return { reason: EXIT.CR_ACCESS, qualification: q, emulate: (v) => setGuestCr3(v, value) };
        if (cr === 4 && ((value ^ vm.guest.cr4) & s.cr4Mask) !== 0) return { reason: EXIT.CR_ACCESS, qualification: q, emulate: (v) => setGuestCr4(v, value) };
        return null;
      }
      if (cr === 3 && s.proc & PROC.cr3Store) {
        return { reason: EXIT.CR_ACCESS, qualification: crQualification(3, CR_MOV_FROM, gpr), emulate: (v, c) => { c.r32[gpr] = v.guestCr(3); } };
      }
      return null;
    }
    case 'clts':
      if (faultsFirst(cpu, i) || !(s.cr0Mask & CR0_TS && vm.guest.cr0 & CR0_TS)) return null;
      return { reason: EXIT.CR_ACCESS, qualification: crQualification(0, CR_CLTS, 0), emulate: (v) => setGuestCr0(v, v.guest.cr0 & ~CR0_TS) };
    case 'lmsw': {
      if (faultsFirst(cpu, i)) return null;
      const src = readEw(cpu, i) & 0xffff;
      const m = s.cr0Mask & 0xf, sh = vm.guest.cr0;
      if (!((src ^ sh) & m & 0xe) && !(m & 1 && !(sh & 1) && src & 1)) return null;
      return {
        reason: EXIT.CR_ACCESS, qualification: crQualification(0, CR_LMSW, i.mem ? 0 : i.rm, src, i.mem),
        guestLinear: i.mem ? (cpu.segBase[i.seg] + i.ea(cpu, i)) >>> 0 : -1,
        emulate: (v) => setGuestCr0(v, (v.guest.cr0 & ~0xe) | (src & 0xf) | (v.guest.cr0 & 1)),
      };
    }
    case 'movdr':
      if (faultsFirst(cpu, i) || !(s.proc & PROC.movDr)) return null;
      return { reason: EXIT.DR_ACCESS, qualification: drQualification(i.reg, i.entry.sub === 0, i.rm), emulate: native };
    case 'in': case 'out': case 'ins': case 'outs': {
      const imm = i.entry.operands.includes('Ib');
      const port = imm ? i.imm & 0xff : cpu.r16[4];
      const size = i.entry.sub === 1 ? 1 : i.osize;
      checkIo(cpu, port, size); // the IOPL / TSS-bitmap #GP comes before the exit
      const exits = s.proc & PROC.ioBitmaps ? vm.io.exits(port, size) : (s.proc & PROC.unconditionalIo) !== 0;
      if (!exits) return null;
      const isIn = h === 'in' || h === 'ins', string = h === 'ins' || h === 'outs';
      const x: InsnExit = { reason: EXIT.IO_INSTRUCTION, qualification: ioQualification(size, isIn, string, i.rep !== 0, imm, port), emulate: native };
      if (string) {
        const seg = h === 'ins' ? ES : i.seg;
        const off = h === 'ins' ? (i.a32 ? cpu.r32[7] : cpu.r16[14]) : i.a32 ? cpu.r32[6] : cpu.r16[12];
        x.guestLinear = (cpu.segBase[seg] + off) >>> 0;
        x.instructionInfo = ((i.a32 ? 1 : 0) << 7) | ((seg & 7) << 15);
      }
      return x;
    }
    case 'rdmsr': case 'wrmsr': {
      if (faultsFirst(cpu, i)) return null;
      const write = h === 'wrmsr';
      const msr = cpu.r32[1] >>> 0;
      if (s.proc & PROC.msrBitmaps && !vm.msr.exits(msr, write)) return null;
      return { reason: write ? EXIT.MSR_WRITE : EXIT.MSR_READ, text: `${h} 0x${msr.toString(16)}`, emulate: native };
    }
    case 'rdtsc':
      if (cpu.cr4 & CR4_TSD && cpu.cpl !== 0) return null;
      return s.proc & PROC.rdtsc ? { reason: EXIT.RDTSC, emulate: native } : null;
    case 'rdpmc':
      if (!(cpu.cr4 & CR4_PCE) && cpu.cpl !== 0) return null;
      return s.proc & PROC.rdpmc ? { reason: EXIT.RDPMC, emulate: native } : null;
    case 'pause': {
      if (s.proc & PROC.pause) return { reason: EXIT.PAUSE_INSTRUCTION, emulate: native };
      if (!secondary(vm, PROC2.pauseLoop) || cpu.cpl !== 0) return null;
      // Pause-loop exiting: PAUSEs no more than ple_gap apart form a loop; one longer than ple_window exits.
      const now = cpu.icount;
      const start = now - vm.pleLast > s.pleGap ? now : vm.pleStart;
      const exits = now - start > s.pleWindow;
      if (!dry) { vm.pleLast = now; vm.pleStart = exits ? now : start; }
      if (!exits) return null;
      if (!dry) vm.counters.pleExits++;
      return { reason: EXIT.PAUSE_INSTRUCTION, text: 'pause loop longer than ple_window', emulate: native };
    }
    case 'mwait':
      return s.proc & PROC.mwait ? { reason: EXIT.MWAIT_INSTRUCTION, emulate: native } : null;
    case 'monitor':
      return s.proc & PROC.monitor ? { reason: EXIT.MONITOR_INSTRUCTION, emulate: native } : null;
    case 'invd':
      return faultsFirst(cpu, i) ? null : { reason: EXIT.INVD, emulate: native };
    case 'wbinvd':
      return faultsFirst(cpu, i) || !secondary(vm, PROC2.wbinvd) ? null : { reason: EXIT.WBINVD, emulate: native };
    case 'vmx': {
      if (!(cpu.cr0 & CR0_PE) || cpu.isV86()) return null; // #UD first
      const sub = i.entry.sub;
      if (sub === 0) return { reason: EXIT.VMCALL, text: `vmcall eax=0x${(cpu.r32[0] >>> 0).toString(16)}`, emulate: (v, c) => hypercall(v, c) };
      const reasons = [0, EXIT.VMLAUNCH, EXIT.VMRESUME, EXIT.VMOFF, EXIT.VMPTRLD, EXIT.VMCLEAR, EXIT.VMON, EXIT.VMPTRST, EXIT.VMREAD, EXIT.VMWRITE];
      // No nested VMX: the handler injects #UD, as a processor without VMX would raise.
      return { reason: reasons[sub], emulate: native };
    }
    case 'lgdt': case 'lidt': case 'sgdt': case 'sidt': {
      if (!secondary(vm, PROC2.descriptorTable) || faultsFirst(cpu, i)) return null;
      const identity = ['sgdt', 'sidt', 'lgdt', 'lidt'].indexOf(h);
      return { reason: EXIT.GDTR_IDTR, qualification: i.disp >>> 0, instructionInfo: dtInfo(i, identity), emulate: native };
    }
    case 'lldt': case 'ltr': case 'sldt': case 'str': {
      if (!secondary(vm, PROC2.descriptorTable) || !(cpu.cr0 & CR0_PE) || cpu.isV86() || faultsFirst(cpu, i)) return null;
      const identity = ['sldt', 'str', 'lldt', 'ltr'].indexOf(h);
      return { reason: EXIT.LDTR_TR, qualification: i.mem ? i.disp >>> 0 : 0, instructionInfo: dtInfo(i, identity), emulate: native };
    }
  }
  return null;
}

/** VMCALL under vtx: the hypercall ABI's console, time, yield and balloon (vtxcalls.ts); -EPERM from CPL > 0. */
function hypercall(vm: Vm, cpu: Cpu): void {
  if (cpu.cpl !== 0) { cpu.r32[0] = E_PERM; return; }
  vm.calls.dispatch(vm.vtxCalls);
}

/**
 * Intercepted instructions that do not exit but still need the hypervisor: reads of CR0/CR4 (the read
 * shadows hold the guest's view of host-owned bits), and, under shadow paging, control-register writes
 * that stay in the guest (the processor's CR0.WP must stay on) and CR2 (the guest's copy).
 * Returns true when it emulated the instruction.
 */
export function silentAccess(vm: Vm, cpu: Cpu, i: Insn): boolean {
  const h = i.entry.handler;
  if (h === 'movcr') {
    if (faultsFirst(cpu, i)) return false;
    const cr = i.reg;
    if (i.entry.sub === 0) {
      if (cr !== 0 && cr !== 4 && !(cr === 3 && vm.shadow)) return false;
      cpu.r32[i.rm] = vm.guestCr(cr);
      return true;
    }
    if (!vm.shadow) return false;
    const value = cpu.r32[i.rm];
    if (cr === 0) setGuestCr0(vm, value);
    else if (cr === 4) setGuestCr4(vm, value);
    else if (cr === 2) { i.native(cpu, i); vm.guest.cr2 = cpu.cr2; }
    else return false;
    cpu.brk = true;
    return true;
  }
  if ((h === 'lmsw' || h === 'clts') && vm.shadow && !faultsFirst(cpu, i)) {
    i.native(cpu, i);
    vm.guest.cr0 = (vm.guest.cr0 & ~0xf) | (cpu.cr0 & 0xf);
    return true;
  }
  return false;
}
