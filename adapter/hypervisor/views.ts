// The hypervisor's structures as the panel asks for them (ringside/exits, ringside/ept,
// ringside/shadow, ringside/vmcs): plain objects shaped like the types adapter/dap/protocol.ts
// declares (this layer does not import from the adapter above it).
import type { Vm } from './vm';
import type { Monitor } from './monitor';
import type { Hypervisor } from './modes';
import { exitReason } from './exitreasons';
import { describeQualification, describeInterruption } from './exits';
import { FIELDS, decodeControls, type FieldGroup } from './vmcs';
import { guestWalk, PTE_RW, PTE_US } from './gwalk';

export type Unavailable = { available: false; reason: string };

const MT = ['UC', 'WC', '?', '?', 'WT', 'WP', 'WB', '?'];

/** "vtx+ept", "vtx+shadow", "trap-and-emulate". */
export function modeName(hv: Hypervisor): string {
  return 'vmcs' in hv ? `vtx+${hv.memory}` : hv.modeName;
}

/** The guest's sensitive instructions that behaved differently than at ring 0 (trap-and-emulate). */
export function holesView(hv: Hypervisor, recent = 200) {
  if (!('holes' in hv)) return unavailable(modeName(hv), 'virtualization holes: the guest kernel runs at ring 0 of non-root mode');
  const m: Monitor = hv;
  return { available: true as const, total: m.holes.total, byInstruction: [...m.holes.byInstruction].map(([instruction, count]) => ({ instruction, count })), recent: m.holes.events.slice(-recent) };
}

/** Binary translation's cache: guest blocks and their translations, rewritten instructions marked. */
export function tcacheView(hv: Hypervisor, args: Range = {}) {
  if (!('translations' in hv) || !hv.translations) return unavailable(modeName(hv), 'translation cache');
  const from = args.from ?? 0, to = args.to ?? 0x100000000, limit = args.limit ?? 10000;
  const blocks = hv.translations.list().filter((b) => b.guest + b.guestLength > from && b.guest < to);
  return { available: true as const, blocks: blocks.slice(0, limit), invalidations: hv.translations.invalidations, truncated: blocks.length > limit };
}

/** Hypercalls made, by number, with the last call's arguments and result. */
export function hypercallsView(hv: Hypervisor) {
  const calls = 'vmcs' in hv ? hv.calls : hv.pv?.calls;
  if (!calls) return unavailable(modeName(hv), 'hypercalls');
  return { available: true as const, calls: calls.list().map((c) => ({ number: c.number, name: c.name, count: c.count, lastArgs: c.lastArgs, lastResult: c.lastResult })) };
}

export function unavailable(mode: string, what: string): Unavailable {
  return { available: false, reason: mode === 'none' ? `no hypervisor: plain emulation has no ${what}` : `${mode} has no ${what}` };
}

export function exitsView(vm: Hypervisor, recent = 200, locate?: (linear: number) => string | undefined) {
  const s = vm.stats;
  return {
    available: true as const,
    total: s.total,
    counts: s.byReason().map((r) => ({ reason: r.reason, name: r.name, count: r.count, lastEip: r.lastEip >>> 0 })),
    recent: s.recent(recent).map((r) => {
      const decoded = [r.text, describeQualification(r.reason, r.qualification), describeInterruption(r.interruptionInfo)].filter(Boolean).join('; ');
      const out: {
        icount: number; reason: number; name: string; qualification: number; decoded: string; eip: number;
        guestLinear?: number; guestPhysical?: number; instructionLength?: number; location?: string;
      } = { icount: r.icount, reason: r.reason, name: exitReason(r.reason)?.name ?? String(r.reason), qualification: r.qualification >>> 0, decoded, eip: r.eip >>> 0 };
      if (r.guestLinear >= 0) out.guestLinear = r.guestLinear >>> 0;
      if (r.guestPhysical >= 0) out.guestPhysical = r.guestPhysical >>> 0;
      if (r.instructionLength) out.instructionLength = r.instructionLength;
      const loc = locate?.(r.eip >>> 0);
      if (loc) out.location = loc;
      return out;
    }),
  };
}

interface Range { from?: number; to?: number; limit?: number }

/** EPT leaves as GPA ranges, neighbours with the same attributes and contiguous HPAs merged. */
export function eptView(vm: Hypervisor, args: Range = {}) {
  if (!('ept' in vm) || !vm.ept) return unavailable(modeName(vm), 'EPT');
  const from = args.from ?? 0, to = args.to ?? 0x100000000, limit = args.limit ?? 100000;
  const out: { gpa: number; hpa: number; size: number; read: boolean; write: boolean; execute: boolean; memoryType: string; pageSize: number; accessed: boolean; dirty: boolean; mmio?: boolean }[] = [];
  for (const m of vm.ept.mappings()) {
    if (m.gpa + m.size <= from || m.gpa >= to) continue;
    const row = { gpa: m.gpa, hpa: m.hpa, size: m.size, read: (m.rwx & 1) !== 0, write: (m.rwx & 2) !== 0, execute: (m.rwx & 4) !== 0, memoryType: m.mmio ? 'MMIO' : MT[m.memoryType], pageSize: m.size, accessed: m.accessed, dirty: m.dirty, mmio: m.mmio || undefined };
    const last = out[out.length - 1];
    if (last && !m.mmio && last.gpa + last.size === m.gpa && last.hpa + last.size === m.hpa && last.read === row.read && last.write === row.write
      && last.execute === row.execute && last.memoryType === row.memoryType && last.pageSize === row.pageSize && last.accessed === row.accessed && last.dirty === row.dirty) {
      last.size += m.size;
      continue;
    }
    out.push(row);
  }
  return { available: true as const, eptp: vm.ept.eptp(), mappings: out.slice(0, limit), truncated: out.length > limit };
}

/** Shadow leaves of the active root: GVA -> HPA, each with the guest PTE it came from. */
export function shadowView(vm: Hypervisor, args: Range = {}) {
  const mmu = vm.shadow;
  if (!mmu) return unavailable(modeName(vm), 'shadow page tables');
  const from = args.from ?? 0, to = args.to ?? 0x100000000, limit = args.limit ?? 100000;
  const esz = vm.guestView.pae ? 8 : 4;
  const out = [];
  for (const leaf of mmu.leaves()) {
    if (leaf.lin < from || leaf.lin >= to) continue;
    const w = guestWalk(vm.guestView, leaf.lin, 0, false, true);
    const tableGfn = w.large ? -1 : w.tableGfns[1] ?? -1;
    const pteAddr = w.large ? ((vm.guest.cr3 & ~0xfff) >>> 0) + (w.indices[0] ?? 0) * esz : tableGfn >= 0 ? tableGfn * 4096 + (w.indices[1] ?? 0) * esz : 0;
    out.push({
      gva: leaf.lin, hpa: (leaf.lo & ~0xfff) >>> 0, size: 4096, writable: (leaf.lo & PTE_RW) !== 0, user: (leaf.lo & PTE_US) !== 0,
      guestPteAddress: pteAddr >>> 0, guestPte: w.leaf >>> 0, gpa: w.ok ? w.gfn * 4096 : -1,
      writeProtected: w.ok && mmu.isTracked(w.gfn), outOfSync: !w.ok || mmu.slot(w.gfn) !== ((leaf.lo & ~0xfff) >>> 0),
      entryAddress: leaf.entryAddr >>> 0, entry: leaf.lo >>> 0,
    });
    if (out.length > limit) break;
  }
  return { available: true as const, root: (mmu.root?.hpa ?? 0) >>> 0, mappings: out.slice(0, limit), truncated: out.length > limit };
}

const SECTION: Record<FieldGroup, string> = { control: 'VM-execution, exit and entry controls', exit: 'VM-exit information', guest: 'Guest-state area', host: 'Host-state area' };

/** Every VMCS field, grouped and decoded. */
export function vmcsView(hv: Hypervisor) {
  if (!('vmcs' in hv)) return unavailable(modeName(hv), 'VMCS');
  const vm: Vm = hv;
  const sections = new Map<FieldGroup, { name: string; value: number | string; decoded?: string; encoding: number }[]>();
  for (const f of FIELDS) {
    const value = vm.vmcs.read(f.key);
    let decoded: string | undefined;
    if (f.key === 'pin_controls' || f.key === 'proc_controls' || f.key === 'proc2_controls') decoded = decodeControls(f.key, value).join(' ');
    else if (f.key === 'exit_reason') decoded = exitReason(value & 0xffff)?.name;
    else if (f.key === 'exit_qualification') decoded = describeQualification(vm.vmcs.read('exit_reason') & 0xffff, value) || undefined;
    else if (f.key === 'exit_interruption_info' || f.key === 'entry_interruption_info') decoded = describeInterruption(value) || undefined;
    else if (f.key === 'exception_bitmap') decoded = [...Array(32).keys()].filter((v) => (value >>> v) & 1).map((v) => `#${v}`).join(' ');
    else if (f.key === 'eptp' && value) decoded = `PML4 at 0x${(value & ~0xfff).toString(16)}, ${(value & 7) === 6 ? 'WB' : 'UC'}, ${((value >>> 3) & 7) + 1}-level walk${value & 0x40 ? ', accessed/dirty flags' : ''}`;
    const list = sections.get(f.group) ?? [];
    list.push({ name: f.title, value, decoded, encoding: f.encoding });
    sections.set(f.group, list);
  }
  return {
    available: true as const,
    address: vm.vmcs.hpa,
    sections: (['control', 'exit', 'guest', 'host'] as FieldGroup[]).map((g) => ({ name: SECTION[g], fields: sections.get(g) ?? [] })),
  };
}
