// The VM-execution controls a vtx VM starts with, and the settings that change them (launch.json
// `vmcs`, `ringside run --vmcs key=value`). The default profile follows what KVM programs on Intel
// processors (see DEFAULT_PROFILE_DOC): CPUID, HLT, MWAIT/MONITOR, RDPMC and MOV DR exit; I/O and MSR
// accesses exit through bitmaps that pass a few through; CR0/CR4 bits the hypervisor must see are
// host-owned through the guest/host masks; with EPT, CR3 accesses and INVLPG run in the guest, with
// shadow paging they exit; pause-loop exiting with KVM's gap and window; VPID on; external
// interrupts exit and are injected; the interrupt window is opened on demand.
import { PIN, PROC, PROC2, EXIT_CTL, ENTRY_CTL } from './vmcs';
import type { Ranges } from './bitmaps';
import type { EptOptions, EptPageSize } from './ept';

export type MemoryVirtualization = 'ept' | 'shadow';

export interface VmxSettings {
  pin: number;
  proc: number;
  proc2: number;
  exitControls: number;
  entryControls: number;
  exceptionBitmap: number;
  /** CR0/CR4 guest/host masks: a set bit is host-owned (writes that change it exit; reads see the shadow). */
  cr0Mask: number;
  cr4Mask: number;
  /** Ports whose accesses reach the device without an exit (every other port exits). */
  ioPassThrough: Ranges;
  /** MSRs read or written without an exit. */
  msrPassRead: Ranges;
  msrPassWrite: Ranges;
  vpid: number;
  pleGap: number;
  pleWindow: number;
  tscOffset: number;
  ept: EptOptions;
  /** Exits kept in the trace ring buffer. */
  traceSize: number;
}

export class SettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingError';
  }
}

const CR0_TS = 8, CR0_WP = 0x10000;
const CR4_PVI = 2, CR4_TSD = 4, CR4_DE = 8, CR4_PGE = 0x80, CR4_PCE = 0x100, CR4_OSFXSR = 0x200, CR4_OSXMMEXCPT = 0x400;
const EXC_UD = 6, EXC_PF = 14, EXC_AC = 17, EXC_MC = 18;

export function defaultSettings(memory: MemoryVirtualization): VmxSettings {
  const ept = memory === 'ept';
  const guestCr4 = CR4_PVI | CR4_TSD | CR4_DE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | (ept ? CR4_PGE : 0);
  return {
    pin: PIN.externalInterrupt | PIN.nmi | PIN.virtualNmi,
    proc: PROC.hlt | PROC.mwait | PROC.rdpmc | PROC.movDr | PROC.ioBitmaps | PROC.msrBitmaps | PROC.monitor | PROC.tscOffsetting | PROC.secondary
      | (ept ? 0 : PROC.invlpg | PROC.cr3Load | PROC.cr3Store),
    proc2: PROC2.vpid | PROC2.wbinvd | PROC2.pauseLoop | PROC2.rdtscp | (ept ? PROC2.ept | PROC2.unrestrictedGuest : 0),
    exitControls: EXIT_CTL.saveEfer | EXIT_CTL.loadEfer,
    entryControls: ENTRY_CTL.loadEfer,
    exceptionBitmap: (1 << EXC_UD) | (1 << EXC_AC) | (1 << EXC_MC) | (ept ? 0 : 1 << EXC_PF),
    cr0Mask: ~(CR0_TS | (ept ? CR0_WP : 0)) >>> 0,
    cr4Mask: ~guestCr4 >>> 0,
    ioPassThrough: [{ first: 0x80, last: 0x80 }],
    msrPassRead: [{ first: 0x10, last: 0x10 }, { first: 0x174, last: 0x176 }],
    msrPassWrite: [{ first: 0x174, last: 0x176 }],
    vpid: 1,
    pleGap: 128,
    pleWindow: 4096,
    tscOffset: 0,
    ept: { accessedDirty: true, eager: false, pageSize: '2m' },
    traceSize: 256,
  };
}

/** The default profile in words (for the README and --help). */
export const DEFAULT_PROFILE_DOC = `Default VMCS profile (modelled on KVM's on Intel):
  pin-based:      external-interrupt exiting, NMI exiting, virtual NMIs
  processor:      HLT, MWAIT, MONITOR, RDPMC and MOV-DR exiting; I/O and MSR bitmaps; TSC offsetting;
                  with shadow paging also INVLPG, CR3-load and CR3-store exiting
  secondary:      VPID, WBINVD exiting, pause-loop exiting (gap 128, window 4096), RDTSCP;
                  with EPT also EPT and unrestricted guest
  exceptions:     #UD, #AC, #MC (and #PF with shadow paging)
  CR0 mask:       all bits host-owned but TS (and WP with EPT)
  CR4 mask:       host-owned but PVI, TSD, DE, PCE, OSFXSR, OSXMMEXCPT (and PGE with EPT)
  I/O bitmaps:    every port exits except 0x80
  MSR bitmaps:    every MSR exits except reads of TSC (0x10) and SYSENTER_CS/ESP/EIP (0x174-0x176, read and write)
  always exit:    CPUID, INVD, VMCALL and the other VMX instructions, task switches, triple fault
  interrupts:     injected at VM entry; interrupt-window exiting when the guest has IF clear
  EPT:            4 KiB..2 MiB pages built on violations, accessed/dirty flags on, WB, ignore PAT`;

interface Setting {
  key: string;
  description: string;
  apply(s: VmxSettings, v: unknown): void;
}

function flag(key: string, field: 'pin' | 'proc' | 'proc2', bit: number, description: string): Setting {
  return { key, description, apply: (s, v) => { s[field] = bool(key, v) ? (s[field] | bit) >>> 0 : (s[field] & ~bit) >>> 0; } };
}
function num(key: string, description: string, set: (s: VmxSettings, n: number) => void): Setting {
  return { key, description, apply: (s, v) => set(s, number(key, v)) };
}

/** Every setting, by key. */
export const SETTINGS: readonly Setting[] = [
  flag('external_interrupt_exiting', 'pin', PIN.externalInterrupt, 'external interrupts exit (exit 1) before they are injected'),
  flag('nmi_exiting', 'pin', PIN.nmi, 'NMIs exit'),
  flag('hlt_exiting', 'proc', PROC.hlt, 'HLT exits (12)'),
  flag('invlpg_exiting', 'proc', PROC.invlpg, 'INVLPG exits (14); needed by shadow paging'),
  flag('mwait_exiting', 'proc', PROC.mwait, 'MWAIT exits (36)'),
  flag('monitor_exiting', 'proc', PROC.monitor, 'MONITOR exits (39)'),
  flag('rdpmc_exiting', 'proc', PROC.rdpmc, 'RDPMC exits (15)'),
  flag('rdtsc_exiting', 'proc', PROC.rdtsc, 'RDTSC exits (16)'),
  flag('cr3_load_exiting', 'proc', PROC.cr3Load, 'MOV to CR3 exits (28); needed by shadow paging'),
  flag('cr3_store_exiting', 'proc', PROC.cr3Store, 'MOV from CR3 exits (28)'),
  flag('mov_dr_exiting', 'proc', PROC.movDr, 'MOV to/from DRn exits (29)'),
  flag('unconditional_io_exiting', 'proc', PROC.unconditionalIo, 'every I/O instruction exits when the I/O bitmaps are off'),
  flag('use_io_bitmaps', 'proc', PROC.ioBitmaps, 'I/O exits follow the I/O bitmaps'),
  flag('use_msr_bitmaps', 'proc', PROC.msrBitmaps, 'MSR exits follow the MSR bitmap (off: every RDMSR/WRMSR exits)'),
  flag('pause_exiting', 'proc', PROC.pause, 'every PAUSE exits (40)'),
  flag('descriptor_table_exiting', 'proc2', PROC2.descriptorTable, 'LGDT/LIDT/SGDT/SIDT exit (46), LLDT/LTR/SLDT/STR exit (47)'),
  flag('wbinvd_exiting', 'proc2', PROC2.wbinvd, 'WBINVD exits (54)'),
  flag('pause_loop_exiting', 'proc2', PROC2.pauseLoop, 'a PAUSE loop longer than ple_window exits (40)'),
  { key: 'vpid', description: 'tag TLB entries with a VPID so they survive exits (off: every exit flushes the TLB)', apply: (s, v) => {
    const on = typeof v === 'number' ? v !== 0 : bool('vpid', v);
    s.vpid = on ? (typeof v === 'number' ? v & 0xffff : s.vpid || 1) : 0;
    s.proc2 = on ? (s.proc2 | PROC2.vpid) >>> 0 : (s.proc2 & ~PROC2.vpid) >>> 0;
  } },
  num('exception_bitmap', 'exception vectors that exit (0), as a bit mask', (s, n) => { s.exceptionBitmap = n >>> 0; }),
  num('cr0_guest_host_mask', 'CR0 bits owned by the hypervisor', (s, n) => { s.cr0Mask = n >>> 0; }),
  num('cr4_guest_host_mask', 'CR4 bits owned by the hypervisor', (s, n) => { s.cr4Mask = n >>> 0; }),
  num('ple_gap', 'PAUSEs at most this many instructions apart belong to one loop', (s, n) => { s.pleGap = n; }),
  num('ple_window', 'a PAUSE loop longer than this (instructions) exits', (s, n) => { s.pleWindow = n; }),
  num('tsc_offset', 'added to the TSC the guest reads', (s, n) => { s.tscOffset = n; }),
  num('trace', 'exits kept in the trace ring buffer', (s, n) => { s.traceSize = Math.max(1, Math.min(n, 1 << 20)); }),
  num('pin_controls', 'the pin-based control field, raw', (s, n) => { s.pin = n >>> 0; }),
  num('proc_controls', 'the primary processor-based control field, raw', (s, n) => { s.proc = n >>> 0; }),
  num('proc2_controls', 'the secondary processor-based control field, raw', (s, n) => { s.proc2 = n >>> 0; }),
  { key: 'io_passthrough', description: 'ports that do not exit, e.g. "0x80,0x3f8-0x3ff" (or "none")', apply: (s, v) => { s.ioPassThrough = ranges('io_passthrough', v, 0xffff); } },
  { key: 'msr_passthrough', description: 'MSRs read and written without exits, e.g. "0x174-0x176"', apply: (s, v) => { s.msrPassRead = s.msrPassWrite = ranges('msr_passthrough', v, 0xffffffff); } },
  { key: 'ept_accessed_dirty', description: 'EPT accessed and dirty flags (EPTP bit 6)', apply: (s, v) => { s.ept = { ...s.ept, accessedDirty: bool('ept_accessed_dirty', v) }; } },
  { key: 'ept_eager', description: 'map all guest RAM in EPT at start instead of on violations', apply: (s, v) => { s.ept = { ...s.ept, eager: bool('ept_eager', v) }; } },
  { key: 'ept_page_size', description: 'largest EPT page for RAM: 4k, 2m or 1g', apply: (s, v) => {
    const t = String(v).toLowerCase();
    if (t !== '4k' && t !== '2m' && t !== '1g') throw new SettingError(`vmcs setting 'ept_page_size' must be 4k, 2m or 1g (got ${JSON.stringify(v)})`);
    s.ept = { ...s.ept, pageSize: t as EptPageSize };
  } },
];

const byKey = new Map(SETTINGS.map((s) => [s.key, s]));

/** Apply one setting; unknown keys and bad values throw SettingError with a message that says what is accepted. */
export function applySetting(s: VmxSettings, key: string, value: unknown): void {
  const st = byKey.get(key.trim().toLowerCase().replace(/-/g, '_'));
  if (!st) throw new SettingError(`unknown vmcs setting '${key}'; known: ${SETTINGS.map((x) => x.key).join(', ')}`);
  st.apply(s, value);
}

/** Parse "key=value[,key=value]" as given to --vmcs (a comma inside a range list belongs to the value). */
export function parseSettingText(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of text.split(/,(?=\s*[a-z_][a-z0-9_-]*\s*=)/i)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new SettingError(`--vmcs expects key=value, got '${part}'`);
    out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return out;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  const t = String(v).trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(t)) return true;
  if (['0', 'false', 'off', 'no'].includes(t)) return false;
  throw new SettingError(`vmcs setting '${key}' is a flag: true or false (got ${JSON.stringify(v)})`);
}

function number(key: string, v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  const t = String(v).trim().replace(/_/g, '').toLowerCase();
  if (/^0x[0-9a-f]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^[0-9]+$/.test(t)) return parseInt(t, 10);
  throw new SettingError(`vmcs setting '${key}' expects a number, decimal or 0x hex (got ${JSON.stringify(v)})`);
}

function ranges(key: string, v: unknown, max: number): Ranges {
  const t = Array.isArray(v) ? v.join(',') : String(v);
  if (t.trim() === '' || t.trim().toLowerCase() === 'none') return [];
  return t.split(',').map((part) => {
    const [a, b] = part.split('-').map((x) => number(key, x));
    const r = { first: a, last: b ?? a };
    if (r.first > r.last || r.last > max) throw new SettingError(`vmcs setting '${key}': bad range '${part.trim()}'`);
    return r;
  });
}
