// Where a hostile guest keeps its things. 32-bit guests: one block at BASE (1 MiB for flat binaries,
// 64 KiB when a boot sector loads it and enters protected mode itself). 16-bit guests: a boot sector
// at 0x7C00, the gadgets after it, the variables below it.
export const L = {
  PROLOGUE: 0x0000,
  CUR: 0x0400, // index of the gadget running (each gadget stores its own number first)
  FAULTS: 0x0404, // exceptions taken so far
  GDTR: 0x0410,
  IDTR: 0x0418,
  TABLE: 0x0500, // gadget addresses, for the handler's resume
  GDT: 0x0900,
  TSS_A: 0x0a00,
  TSS_B: 0x0b00,
  SCRATCH: 0x0c00, // garbage descriptor-table pointers, far pointers, VMX regions
  IDT: 0x1000,
  STUBS: 0x1800, // 16 bytes per vector
  HANDLER: 0x2800,
  PD: 0x3000,
  PT0: 0x4000,
  PT1: 0x5000,
  PDPT: 0x6000,
  PAE_PD: 0x7000,
  BODY: 0x8000,
  END: 0xe000,
} as const;

export const MAX_GADGETS = 250;
export const KSTACK = 0x90000;
export const USTACK = 0x88000;

/** Selectors of the hostile GDT. */
export const SEL = {
  CODE0: 0x08, DATA0: 0x10, CODE3: 0x1b, DATA3: 0x23, TSS_A: 0x28, TSS_B: 0x30, GATE: 0x3b,
  CODE16: 0x40, DATA16: 0x48, TASK_GATE: 0x50, LDT: 0x58, CONFORMING: 0x60, EXPAND_DOWN: 0x68,
} as const;

/** 16-bit guests (real mode, DS = 0). */
export const R = {
  BOOT: 0x7c00,
  TABLE: 0x7e00, // 2 bytes per gadget, loaded with the gadgets
  BODY: 0x7f00,
  MAX_GADGETS: 120,
  CUR: 0x0600,
  FAULTS: 0x0602,
  SCRATCH: 0x0500,
  STACK: 0x7000,
  MAX_SECTORS: 40,
} as const;

/** The far end of the run: the port QEMU's isa-debug-exit listens on. */
export const EXIT_PORT = 0xf4;
export const DEBUGCON = 0xe9;
