// One-line descriptions of mnemonics for the hover. System, privileged and sensitive instructions
// each have their own line; ordinary ones are described by family where the family says enough.
import { MNEMONICS } from './virtualization';

const LINES: Record<string, string> = {
  mov: 'Move data', lgdt: 'Load the global descriptor table register', lidt: 'Load the interrupt descriptor table register',
  lldt: 'Load the local descriptor table register', ltr: 'Load the task register (the current TSS)', sgdt: 'Store the GDT register',
  sidt: 'Store the IDT register', sldt: 'Store the LDT register', str: 'Store the task register', smsw: 'Store the machine status word (CR0 low bits)',
  lmsw: 'Load the machine status word (CR0 low bits)', clts: 'Clear CR0.TS (task switched)', hlt: 'Halt until the next interrupt',
  cli: 'Clear the interrupt flag', sti: 'Set the interrupt flag (interrupts after the next instruction)', invlpg: 'Invalidate the TLB entry of a page',
  invd: 'Invalidate caches without writing them back', wbinvd: 'Write back and invalidate caches', rdmsr: 'Read the model-specific register ECX into EDX:EAX',
  wrmsr: 'Write EDX:EAX to the model-specific register ECX', rdtsc: 'Read the time-stamp counter into EDX:EAX', rdtscp: 'Read the time-stamp counter and TSC_AUX',
  rdpmc: 'Read a performance-monitoring counter', cpuid: 'CPU identification: leaf EAX, subleaf ECX', in: 'Input from an I/O port', out: 'Output to an I/O port',
  insb: 'Input a byte string from a port', insw: 'Input a word string from a port', insd: 'Input a dword string from a port',
  outsb: 'Output a byte string to a port', outsw: 'Output a word string to a port', outsd: 'Output a dword string to a port',
  pushf: 'Push FLAGS', pushfd: 'Push EFLAGS', pushfw: 'Push FLAGS', popf: 'Pop FLAGS', popfd: 'Pop EFLAGS', popfw: 'Pop FLAGS',
  iret: 'Return from an interrupt', iretd: 'Return from an interrupt (32-bit frame)', iretw: 'Return from an interrupt (16-bit frame)',
  int: 'Software interrupt through the IDT', int3: 'Breakpoint trap (#BP)', into: 'Overflow trap when OF is set', int1: 'Debug trap (ICEBP)',
  sysenter: 'Fast system call into ring 0', sysexit: 'Fast return from a system call to ring 3', syscall: 'Fast system call (64-bit style)', sysret: 'Return from SYSCALL',
  lar: 'Load access rights of a selector', lsl: 'Load the segment limit of a selector', verr: 'Verify a segment is readable', verw: 'Verify a segment is writable',
  arpl: 'Adjust a selector\'s RPL', push: 'Push onto the stack', pop: 'Pop from the stack',
  vmcall: 'Call the hypervisor (VM exit): the hypercall instruction', vmlaunch: 'Launch the virtual machine of the current VMCS', vmresume: 'Resume the virtual machine of the current VMCS',
  vmxon: 'Enter VMX operation', vmxoff: 'Leave VMX operation', vmptrld: 'Load the current-VMCS pointer', vmptrst: 'Store the current-VMCS pointer',
  vmclear: 'Clear a VMCS', vmread: 'Read a VMCS field', vmwrite: 'Write a VMCS field', invept: 'Invalidate EPT-derived translations', invvpid: 'Invalidate translations by VPID',
  vmfunc: 'Invoke a VM function (e.g. EPTP switching)', vmrun: 'Run a guest (AMD SVM)', vmload: 'Load guest state (AMD SVM)', vmsave: 'Save guest state (AMD SVM)',
  vmmcall: 'Call the hypervisor (AMD SVM)', stgi: 'Set the global interrupt flag (AMD SVM)', clgi: 'Clear the global interrupt flag (AMD SVM)',
  skinit: 'Secure init and jump (AMD SVM)', invlpga: 'Invalidate a TLB entry by ASID (AMD SVM)', monitor: 'Set up an address range to monitor', mwait: 'Wait for a write to the monitored range',
  swapgs: 'Swap the GS base with the kernel GS base MSR', xsetbv: 'Write an extended control register', xgetbv: 'Read an extended control register',
  invpcid: 'Invalidate TLB entries by PCID', rsm: 'Resume from system management mode', pause: 'Spin-loop hint', nop: 'No operation', ud2: 'Raise #UD on purpose',
  call: 'Call a procedure', ret: 'Return from a procedure', retf: 'Far return (may change ring)', jmp: 'Jump', loop: 'Decrement ECX and jump if not zero',
  lea: 'Load an effective address', xchg: 'Exchange', cmpxchg: 'Compare and exchange', cmpxchg8b: 'Compare and exchange 8 bytes', enter: 'Make a stack frame', leave: 'Release a stack frame',
  pusha: 'Push all general registers', pushad: 'Push all 32-bit general registers', popa: 'Pop all general registers', popad: 'Pop all 32-bit general registers',
  add: 'Add', adc: 'Add with carry', sub: 'Subtract', sbb: 'Subtract with borrow', and: 'Bitwise AND', or: 'Bitwise OR', xor: 'Bitwise exclusive OR', not: 'Bitwise NOT',
  neg: 'Two\'s complement negate', cmp: 'Compare (subtract, set flags)', test: 'Bitwise AND, set flags', inc: 'Increment', dec: 'Decrement', mul: 'Unsigned multiply',
  imul: 'Signed multiply', div: 'Unsigned divide', idiv: 'Signed divide', shl: 'Shift left', sal: 'Shift left', shr: 'Shift right (unsigned)', sar: 'Shift right (signed)',
  rol: 'Rotate left', ror: 'Rotate right', rcl: 'Rotate left through carry', rcr: 'Rotate right through carry', movzx: 'Move with zero extension', movsx: 'Move with sign extension',
  lodsb: 'Load a string byte', lodsd: 'Load a string dword', stosb: 'Store a string byte', stosd: 'Store a string dword', movsb: 'Move a string byte', movsd: 'Move a string dword',
  cld: 'Clear the direction flag', std: 'Set the direction flag', clc: 'Clear the carry flag', stc: 'Set the carry flag', cmc: 'Complement the carry flag',
  lds: 'Load a far pointer into DS', les: 'Load a far pointer into ES', lss: 'Load a far pointer into SS', lfs: 'Load a far pointer into FS', lgs: 'Load a far pointer into GS',
  bt: 'Bit test', bts: 'Bit test and set', btr: 'Bit test and reset', btc: 'Bit test and complement', bsf: 'Bit scan forward', bsr: 'Bit scan reverse', bswap: 'Byte swap',
  cbw: 'Sign-extend AL into AX', cwde: 'Sign-extend AX into EAX', cwd: 'Sign-extend AX into DX:AX', cdq: 'Sign-extend EAX into EDX:EAX',
};

const FAMILIES: Record<string, string> = {
  jcc: 'Jump if the condition holds', cmovcc: 'Move if the condition holds', setcc: 'Set a byte to 1 if the condition holds, else 0',
  x87: 'x87 floating-point instruction', hint: 'Hint NOP',
};

export function describe(mnemonic: string): string {
  const mn = mnemonic.toLowerCase();
  const line = LINES[mn];
  if (line) return line;
  const info = MNEMONICS[mn];
  if (info?.family && FAMILIES[info.family]) return FAMILIES[info.family];
  if (/^(p|movq|movd|emms)/.test(mn) || /(ps|ss|pd|sd)$/.test(mn)) return 'MMX/SSE instruction';
  return 'Instruction';
}
