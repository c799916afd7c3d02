// The shadow consistency check: every present shadow entry must equal the composition of the guest's
// translation (its own page tables) and the GPA -> HPA map, with permissions no wider than the guest's.
// Tests run it after each kind of guest change; the debugger offers it as a command.
import { guestWalk, type GuestView, PTE_US, PTE_RW, PTE_G } from './gwalk';
import { ROLE_USER, ROLE_WRITE, type ShadowMmu } from './shadow';

export interface ConsistencyReport {
  /** Shadow entries examined (directory links and leaves). */
  checked: number;
  /** One line per disagreement; empty when the shadow is consistent. */
  issues: string[];
}

const hex = (v: number) => '0x' + (v >>> 0).toString(16);

export function checkShadow(mmu: ShadowMmu, guest: GuestView): ConsistencyReport {
  const issues: string[] = [];
  let checked = 0;
  for (const link of mmu.directoryLinks()) {
    checked++;
    const child = link.child;
    if (!child) { issues.push(`directory entry for ${hex(link.lin)} points at ${hex(link.raw & ~0xfff)}, which is no shadow page`); continue; }
    const w = guestWalk(guest, link.lin, 0, false, true);
    if (child.level === 2) continue; // PAE PDPTE -> shadow directory: checked through its own entries
    const d = w.dirEntry;
    if (!(d & 1)) { issues.push(`shadow maps ${hex(link.lin)} (4 MiB/2 MiB region) but the guest's directory entry is not present`); continue; }
    const wantGfn = child.direct ? w.largeGfn : w.tableGfns[1];
    if (child.direct !== w.large) issues.push(`shadow page for ${hex(link.lin)} is ${child.direct ? 'direct' : 'a table shadow'} but the guest entry ${w.large ? 'maps a large page' : 'points at a table'}`);
    else if (child.gfn !== wantGfn) issues.push(`shadow page for ${hex(link.lin)} shadows frame ${hex(child.gfn)} but the guest's entry gives ${hex(wantGfn)}`);
    if (!!(child.role & ROLE_USER) !== !!(d & PTE_US) || !!(child.role & ROLE_WRITE) !== !!(d & PTE_RW))
      issues.push(`shadow page for ${hex(link.lin)} has role access ${child.role & ROLE_USER ? 'U' : '-'}${child.role & ROLE_WRITE ? 'W' : '-'} but the guest directory entry allows ${d & PTE_US ? 'U' : '-'}${d & PTE_RW ? 'W' : '-'}`);
  }
  for (const leaf of mmu.leaves()) {
    checked++;
    const w = guestWalk(guest, leaf.lin, 0, false, true);
    const at = `shadow entry for ${hex(leaf.lin)} (host ${hex(leaf.entryAddr)} = ${hex(leaf.lo)})`;
    if (!w.ok) { issues.push(`${at}: the guest does not map this page`); continue; }
    const want = mmu.slot(w.gfn);
    if ((leaf.lo & ~0xfff) >>> 0 !== want >>> 0) { issues.push(`${at}: maps host ${hex(leaf.lo & ~0xfff)}, but guest frame ${hex(w.gfn)} is at host ${hex(want)}`); continue; }
    if (leaf.lo & PTE_US && !w.user) issues.push(`${at}: user access allowed, the guest's tables allow supervisor only`);
    if (leaf.lo & PTE_RW) {
      if (!w.writable && (guest.wp || leaf.lo & PTE_US)) issues.push(`${at}: writable, the guest's tables say read-only`);
      if (!w.dirty) issues.push(`${at}: writable while the guest entry is clean (the first write would not set its dirty bit)`);
      if (mmu.isTracked(w.gfn)) issues.push(`${at}: writable mapping of frame ${hex(w.gfn)}, which holds a shadowed guest table`);
    }
    if (guest.pae && w.nx && !(leaf.hi >>> 31)) issues.push(`${at}: executable, the guest says no-execute`);
    if (leaf.lo & PTE_G && !w.global) issues.push(`${at}: global, the guest's entry is not`);
  }
  return { checked, issues };
}
