// The virtualization modes and how a VM is built for each. The runner and the debug adapter call
// createHypervisor() once the guest is loaded (the VM starts from the state the loader left).
import type { Machine } from '../machine/pc';
import { Vm } from './vm';
import { Monitor, HYPERVISOR_STOP_STATUS } from './monitor';
import { defaultSettings, applySetting, SettingError, type MemoryVirtualization } from './controls';

export type Virtualization = 'none' | 'vtx' | 'trap-and-emulate' | 'binary-translation' | 'paravirt';

/** Modes that run today; the others are refused with a clear message until they are finished. */
export const WORKING_MODES: readonly Virtualization[] = ['none', 'vtx', 'trap-and-emulate', 'binary-translation', 'paravirt'];

/** What runs the guest under a mode other than none. */
export type Hypervisor = Vm | Monitor;
export { HYPERVISOR_STOP_STATUS };

export interface HypervisorOptions {
  mode: Virtualization;
  memory?: MemoryVirtualization;
  /** VMCS settings: from launch.json's `vmcs` object, or `--vmcs key=value` pairs. */
  vmcs?: Record<string, unknown> | [string, unknown][];
}

export class ModeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModeError';
  }
}

/** The VM for a mode, installed on the machine's CPU; undefined for 'none' (plain emulation). */
export function createHypervisor(machine: Machine, opts: HypervisorOptions): Hypervisor | undefined {
  if (opts.mode === 'none') {
    if (opts.vmcs && Object.keys(opts.vmcs).length) throw new ModeError('VMCS settings need a hypervisor: use virtualization "vtx"');
    return undefined;
  }
  if (!WORKING_MODES.includes(opts.mode)) {
    throw new ModeError(`virtualization "${opts.mode}" is not available yet; the modes that run are ${WORKING_MODES.map((m) => `"${m}"`).join(', ')}`);
  }
  const given = Array.isArray(opts.vmcs) ? opts.vmcs.length > 0 : Object.keys(opts.vmcs ?? {}).length > 0;
  if (opts.mode === 'trap-and-emulate' || opts.mode === 'binary-translation' || opts.mode === 'paravirt') {
    if (given) throw new ModeError(`VMCS settings apply to virtualization "vtx"; ${opts.mode} has no VMCS`);
    if (opts.memory === 'ept') throw new ModeError(`${opts.mode} uses shadow page tables, not EPT`);
    return new Monitor(machine, { translate: opts.mode === 'binary-translation', paravirt: opts.mode === 'paravirt' });
  }
  const memory = opts.memory ?? 'ept';
  const settings = defaultSettings(memory);
  const pairs = Array.isArray(opts.vmcs) ? opts.vmcs : Object.entries(opts.vmcs ?? {});
  for (const [k, v] of pairs) {
    try {
      applySetting(settings, k, v);
    } catch (e) {
      if (e instanceof SettingError) throw new ModeError(e.message);
      throw e;
    }
  }
  return new Vm(machine, { memory, settings });
}
