// Which of the panel's tabs and tables a virtualization mode has, and why the others are absent.
// Pure: the extension (src/panel.ts) and the panel's page both use it, and tests run it in Node.
import type { TabId } from './messages';

export interface PanelMode {
  virtualization: string;
  /** ept or shadow under vtx; shadow under the software modes; none under plain emulation. */
  memoryVirtualization?: string;
}

export type ModeTable = 'exits' | 'ept' | 'shadow' | 'vmcs' | 'tcache' | 'hypercalls';

/** "vtx+ept", "binary-translation", "none". */
export function modeLabel(mode: PanelMode): string {
  return mode.virtualization === 'vtx' && mode.memoryVirtualization ? `vtx+${mode.memoryVirtualization}` : mode.virtualization;
}

/** Why a mode has none of a table, or undefined when it has one. */
export function absentInMode(what: ModeTable, mode: PanelMode): string | undefined {
  const v = mode.virtualization, label = modeLabel(mode);
  if (v === 'none') {
    return {
      exits: 'plain emulation has no hypervisor, so no VM exits',
      ept: 'plain emulation has no EPT: guest-physical addresses are host-physical',
      shadow: 'plain emulation has no shadow page tables: the CPU walks the guest\'s own tables',
      vmcs: 'plain emulation has no VMCS: the guest is not in VMX non-root operation',
      tcache: 'only "binary-translation" translates guest code',
      hypercalls: 'hypercalls are the "paravirt" mode\'s interface (and VMCALL\'s under "vtx")',
    }[what];
  }
  const shadowed = v !== 'vtx' || mode.memoryVirtualization === 'shadow';
  if (what === 'ept' && shadowed) return `${label} virtualizes memory with shadow page tables, not EPT`;
  if (what === 'shadow' && !shadowed) return `${label} virtualizes memory with EPT: there are no shadow page tables`;
  if (what === 'vmcs' && v !== 'vtx') return `${label} does not use VT-x, so there is no VMCS`;
  if (what === 'tcache' && v !== 'binary-translation') return `${label} runs guest code as it is: only "binary-translation" has a translation cache`;
  if (what === 'hypercalls' && v !== 'paravirt' && v !== 'vtx') return `${label} offers no hypercalls: they are the "paravirt" mode's interface (and VMCALL's under "vtx")`;
  return undefined;
}

export interface TabDef { id: TabId; label: string; icon: string; needs?: ModeTable }

export const TABS: readonly TabDef[] = [
  { id: 'overview', label: 'Overview', icon: 'dashboard' },
  { id: 'exits', label: 'Exits', icon: 'debug-step-out', needs: 'exits' },
  { id: 'memory', label: 'Memory', icon: 'table' },
  { id: 'translate', label: 'Translate', icon: 'arrow-swap' },
  { id: 'vmcs', label: 'VMCS', icon: 'settings-gear', needs: 'vmcs' },
  { id: 'tcache', label: 'Translation cache', icon: 'file-binary', needs: 'tcache' },
  { id: 'hypercalls', label: 'Hypercalls', icon: 'call-outgoing', needs: 'hypercalls' },
];

/**
 * Why a tab does not apply to a mode (undefined: it does). Without a session every tab shows.
 * Under vtx the Hypercalls tab shows only once the guest made one: VMCALL is optional there.
 */
export function tabAbsent(tab: TabId, mode: PanelMode | undefined, hypercallsMade = 0): string | undefined {
  const def = TABS.find((t) => t.id === tab);
  if (!mode || !def?.needs) return undefined;
  const why = absentInMode(def.needs, mode);
  if (why) return why;
  if (tab === 'hypercalls' && mode.virtualization === 'vtx' && !hypercallsMade) return 'the guest has made no hypercall (VMCALL) yet';
  return undefined;
}

/** The tabs a mode shows, in order. */
export function tabsFor(mode: PanelMode | undefined, hypercallsMade = 0): TabId[] {
  return TABS.filter((t) => !tabAbsent(t.id, mode, hypercallsMade)).map((t) => t.id);
}

/** The Memory tab's tables for a mode: the guest's own, then EPT or the shadow tables. */
export function memoryTablesFor(mode: PanelMode | undefined): ('guest' | 'ept' | 'shadow')[] {
  const out: ('guest' | 'ept' | 'shadow')[] = ['guest'];
  if (!mode || !absentInMode('ept', mode)) out.push('ept');
  if (!mode || !absentInMode('shadow', mode)) out.push('shadow');
  return out;
}

/**
 * VMX operation as a mode has it. Only vtx runs the guest in VMX non-root operation; the software
 * modes have no VT-x at all (their "exits" are the monitor's traps, recorded with VMX's reasons).
 */
export function vmxText(virtualization: string, vmx: string): string {
  switch (virtualization) {
    case 'none': return 'no VMX operation (no hypervisor)';
    case 'trap-and-emulate': return 'no VMX: the monitor runs the guest kernel at ring 1 and emulates what traps';
    case 'binary-translation': return 'no VMX: the guest kernel runs at ring 1, its code translated first';
    case 'paravirt': return 'no VMX: the guest kernel runs at ring 1 and calls the hypervisor';
  }
  return vmx === 'root' ? 'root: the hypervisor runs' : 'non-root: the guest runs under the hypervisor';
}
