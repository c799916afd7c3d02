// The VMCS-like control block: one 4 KiB page of host memory holding the VM-execution controls,
// the exit-information fields and the guest- and host-state areas, each field under the 16-bit
// encoding the Intel SDM (Appendix B) gives it, so VMREAD-style access by encoding works and the
// panel can show the numbers a hypervisor developer knows.
//
// Layout (ours; the SDM leaves the real one to the processor): dword 0 is the revision identifier,
// dword 1 the VMX-abort indicator; from offset 0x10 every field takes an 8-byte little-endian slot in
// the order of FIELDS below (FIELD_OFFSET has each one). Natural-width fields are 32 bits here (a
// 32-bit guest); 64-bit fields use both dwords.
import type { HostPages } from './hostpages';

export type FieldGroup = 'control' | 'exit' | 'guest' | 'host';

export interface VmcsField {
  /** Short key used in code, the panel and `--vmcs key=value`. */
  key: string;
  /** The SDM's name of the field. */
  title: string;
  /** The SDM's 16-bit field encoding. */
  encoding: number;
  width: 16 | 32 | 64 | 'natural';
  group: FieldGroup;
}

const F = (key: string, encoding: number, width: VmcsField['width'], group: FieldGroup, title: string): VmcsField => ({ key, title, encoding, width, group });
const SEGS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'];

/** Every field the block holds, in layout order. */
export const FIELDS: readonly VmcsField[] = [
  // ---- VM-execution, exit and entry controls ----
  F('vpid', 0x0000, 16, 'control', 'Virtual-processor identifier (VPID)'),
  F('pin_controls', 0x4000, 32, 'control', 'Pin-based VM-execution controls'),
  F('proc_controls', 0x4002, 32, 'control', 'Primary processor-based VM-execution controls'),
  F('proc2_controls', 0x401e, 32, 'control', 'Secondary processor-based VM-execution controls'),
  F('exception_bitmap', 0x4004, 32, 'control', 'Exception bitmap'),
  F('pf_error_mask', 0x4006, 32, 'control', 'Page-fault error-code mask'),
  F('pf_error_match', 0x4008, 32, 'control', 'Page-fault error-code match'),
  F('cr3_target_count', 0x400a, 32, 'control', 'CR3-target count'),
  F('exit_controls', 0x400c, 32, 'control', 'VM-exit controls'),
  F('entry_controls', 0x4012, 32, 'control', 'VM-entry controls'),
  F('entry_interruption_info', 0x4016, 32, 'control', 'VM-entry interruption-information field'),
  F('entry_exception_error', 0x4018, 32, 'control', 'VM-entry exception error code'),
  F('entry_instruction_length', 0x401a, 32, 'control', 'VM-entry instruction length'),
  F('ple_gap', 0x4020, 32, 'control', 'PLE_Gap'),
  F('ple_window', 0x4022, 32, 'control', 'PLE_Window'),
  F('io_bitmap_a', 0x2000, 64, 'control', 'Address of I/O bitmap A'),
  F('io_bitmap_b', 0x2002, 64, 'control', 'Address of I/O bitmap B'),
  F('msr_bitmap', 0x2004, 64, 'control', 'Address of MSR bitmaps'),
  F('tsc_offset', 0x2010, 64, 'control', 'TSC offset'),
  F('eptp', 0x201a, 64, 'control', 'EPT pointer (EPTP)'),
  F('cr0_mask', 0x6000, 'natural', 'control', 'CR0 guest/host mask'),
  F('cr4_mask', 0x6002, 'natural', 'control', 'CR4 guest/host mask'),
  F('cr0_shadow', 0x6004, 'natural', 'control', 'CR0 read shadow'),
  F('cr4_shadow', 0x6006, 'natural', 'control', 'CR4 read shadow'),
  F('cr3_target0', 0x6008, 'natural', 'control', 'CR3-target value 0'),
  // ---- VM-exit information (read-only to a guest hypervisor) ----
  F('exit_reason', 0x4402, 32, 'exit', 'Exit reason'),
  F('exit_qualification', 0x6400, 'natural', 'exit', 'Exit qualification'),
  F('guest_linear_address', 0x640a, 'natural', 'exit', 'Guest-linear address'),
  F('guest_physical_address', 0x2400, 64, 'exit', 'Guest-physical address'),
  F('exit_interruption_info', 0x4404, 32, 'exit', 'VM-exit interruption information'),
  F('exit_interruption_error', 0x4406, 32, 'exit', 'VM-exit interruption error code'),
  F('idt_vectoring_info', 0x4408, 32, 'exit', 'IDT-vectoring information'),
  F('idt_vectoring_error', 0x440a, 32, 'exit', 'IDT-vectoring error code'),
  F('exit_instruction_length', 0x440c, 32, 'exit', 'VM-exit instruction length'),
  F('exit_instruction_info', 0x440e, 32, 'exit', 'VM-exit instruction information'),
  F('io_rcx', 0x6402, 'natural', 'exit', 'I/O RCX'),
  F('io_rsi', 0x6404, 'natural', 'exit', 'I/O RSI'),
  F('io_rdi', 0x6406, 'natural', 'exit', 'I/O RDI'),
  F('io_rip', 0x6408, 'natural', 'exit', 'I/O RIP'),
  F('vm_instruction_error', 0x4400, 32, 'exit', 'VM-instruction error'),
  // ---- guest-state area (saved at every exit) ----
  F('guest_cr0', 0x6800, 'natural', 'guest', 'Guest CR0'),
  F('guest_cr3', 0x6802, 'natural', 'guest', 'Guest CR3'),
  F('guest_cr4', 0x6804, 'natural', 'guest', 'Guest CR4'),
  F('guest_dr7', 0x681a, 'natural', 'guest', 'Guest DR7'),
  F('guest_rsp', 0x681c, 'natural', 'guest', 'Guest RSP'),
  F('guest_rip', 0x681e, 'natural', 'guest', 'Guest RIP'),
  F('guest_rflags', 0x6820, 'natural', 'guest', 'Guest RFLAGS'),
  ...SEGS.map((s, n) => F(`guest_${s}_selector`, 0x0800 + 2 * n, 16, 'guest', `Guest ${s.toUpperCase()} selector`)),
  ...SEGS.map((s, n) => F(`guest_${s}_base`, 0x6806 + 2 * n, 'natural', 'guest', `Guest ${s.toUpperCase()} base`)),
  ...SEGS.map((s, n) => F(`guest_${s}_limit`, 0x4800 + 2 * n, 32, 'guest', `Guest ${s.toUpperCase()} limit`)),
  ...SEGS.map((s, n) => F(`guest_${s}_access_rights`, 0x4814 + 2 * n, 32, 'guest', `Guest ${s.toUpperCase()} access rights`)),
  F('guest_gdtr_base', 0x6816, 'natural', 'guest', 'Guest GDTR base'),
  F('guest_gdtr_limit', 0x4810, 32, 'guest', 'Guest GDTR limit'),
  F('guest_idtr_base', 0x6818, 'natural', 'guest', 'Guest IDTR base'),
  F('guest_idtr_limit', 0x4812, 32, 'guest', 'Guest IDTR limit'),
  F('guest_sysenter_cs', 0x482a, 32, 'guest', 'Guest IA32_SYSENTER_CS'),
  F('guest_sysenter_esp', 0x6824, 'natural', 'guest', 'Guest IA32_SYSENTER_ESP'),
  F('guest_sysenter_eip', 0x6826, 'natural', 'guest', 'Guest IA32_SYSENTER_EIP'),
  F('guest_efer', 0x2806, 64, 'guest', 'Guest IA32_EFER'),
  F('guest_pdpte0', 0x280a, 64, 'guest', 'Guest PDPTE0'),
  F('guest_pdpte1', 0x280c, 64, 'guest', 'Guest PDPTE1'),
  F('guest_pdpte2', 0x280e, 64, 'guest', 'Guest PDPTE2'),
  F('guest_pdpte3', 0x2810, 64, 'guest', 'Guest PDPTE3'),
  F('guest_interruptibility', 0x4824, 32, 'guest', 'Guest interruptibility state'),
  F('guest_activity_state', 0x4826, 32, 'guest', 'Guest activity state'),
  F('vmcs_link_pointer', 0x2800, 64, 'guest', 'VMCS link pointer'),
  // ---- host-state area (where the hypervisor resumes; fixed here) ----
  F('host_cr0', 0x6c00, 'natural', 'host', 'Host CR0'),
  F('host_cr3', 0x6c02, 'natural', 'host', 'Host CR3'),
  F('host_cr4', 0x6c04, 'natural', 'host', 'Host CR4'),
  F('host_rip', 0x6c16, 'natural', 'host', 'Host RIP'),
];

const HEADER = 0x10;
/** Offset of each field's slot in the block, by key. */
export const FIELD_OFFSET: ReadonlyMap<string, number> = new Map(FIELDS.map((f, n) => [f.key, HEADER + 8 * n]));
const byEncoding = new Map(FIELDS.map((f) => [f.encoding, f]));
const byKey = new Map(FIELDS.map((f) => [f.key, f]));
/** Slot offset and width per key, as a plain object: every exit writes dozens of fields. */
const SLOTS: Record<string, { off: number; width: VmcsField['width'] }> = Object.create(null);
FIELDS.forEach((f, n) => { SLOTS[f.key] = { off: HEADER + 8 * n, width: f.width }; });

export function fieldByKey(key: string): VmcsField | undefined { return byKey.get(key); }
export function fieldByEncoding(enc: number): VmcsField | undefined { return byEncoding.get(enc); }

/** Revision identifier written in the first dword (arbitrary: this is no real processor's). */
export const VMCS_REVISION = 0x52494e47; // "GNIR" read as bytes: a marker in memory dumps

// ---- control bits (SDM volume 3, chapter "VM-execution control fields") ----
export const PIN = { externalInterrupt: 1 << 0, nmi: 1 << 3, virtualNmi: 1 << 5, preemptionTimer: 1 << 6 } as const;
export const PROC = {
  interruptWindow: 1 << 2, tscOffsetting: 1 << 3, hlt: 1 << 7, invlpg: 1 << 9, mwait: 1 << 10, rdpmc: 1 << 11,
  rdtsc: 1 << 12, cr3Load: 1 << 15, cr3Store: 1 << 16, nmiWindow: 1 << 22, movDr: 1 << 23, unconditionalIo: 1 << 24,
  ioBitmaps: 1 << 25, monitorTrap: 1 << 27, msrBitmaps: 1 << 28, monitor: 1 << 29, pause: 1 << 30, secondary: 1 << 31,
} as const;
export const PROC2 = {
  ept: 1 << 1, descriptorTable: 1 << 2, rdtscp: 1 << 3, vpid: 1 << 5, wbinvd: 1 << 6, unrestrictedGuest: 1 << 7,
  pauseLoop: 1 << 10, rdrand: 1 << 11,
} as const;
export const EXIT_CTL = { ackInterruptOnExit: 1 << 15, saveEfer: 1 << 20, loadEfer: 1 << 21 } as const;
export const ENTRY_CTL = { loadEfer: 1 << 15 } as const;

/** Names of the control bits, for decoding in the panel and for the CLI's settings. */
export const CONTROL_BITS: Record<'pin_controls' | 'proc_controls' | 'proc2_controls', Record<string, number>> = {
  pin_controls: PIN,
  proc_controls: PROC,
  proc2_controls: PROC2,
};

/** The block in host memory. */
export class Vmcs {
  readonly hpa: number;

  constructor(private readonly pages: HostPages) {
    this.hpa = pages.allocOrThrow('VMCS');
    pages.write32(this.hpa, VMCS_REVISION);
    this.write('vmcs_link_pointer', -1);
  }

  private slot(key: string): { off: number; width: VmcsField['width'] } {
    const s = SLOTS[key];
    if (s === undefined) throw new Error(`VMCS has no field '${key}'`);
    return s;
  }

  /** Read a field (64-bit ones as a JS number; high dword beyond 2^53 is never used here). */
  read(key: string): number {
    const f = this.slot(key);
    const at = this.hpa + f.off;
    const lo = this.pages.read32(at) >>> 0;
    if (f.width !== 64) return f.width === 16 ? lo & 0xffff : lo;
    return lo + (this.pages.read32(at + 4) >>> 0) * 0x100000000;
  }

  write(key: string, value: number): void {
    const f = this.slot(key);
    const at = this.hpa + f.off;
    if (f.width === 64) {
      this.pages.write32(at, value < 0 ? value | 0 : value % 0x100000000);
      this.pages.write32(at + 4, value < 0 ? -1 : Math.floor(value / 0x100000000));
    } else {
      this.pages.write32(at, f.width === 16 ? value & 0xffff : value | 0);
    }
  }

  readEncoding(enc: number): number | undefined {
    const f = byEncoding.get(enc);
    return f ? this.read(f.key) : undefined;
  }

  /** Every field with its value, for the panel. */
  dump(): { field: VmcsField; offset: number; value: number }[] {
    return FIELDS.map((f) => ({ field: f, offset: FIELD_OFFSET.get(f.key)!, value: this.read(f.key) }));
  }
}

/** Names of the bits set in a control field ("hlt invlpg ..."), for the panel and --stats. */
export function decodeControls(key: keyof typeof CONTROL_BITS, value: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(CONTROL_BITS[key])) if (value & bit) out.push(name);
  return out;
}
