// The CPU's slow memory path: accesses that missed the TLB's fast path, cross a page, hit MMIO, a
// watched page or a page holding code or page tables, or are implicit supervisor accesses.
import type { Cpu } from './cpu';
import { CPU_FAULT } from './cpu';
import { ACC_READ, ACC_WRITE, walk } from './paging';
import { TLB_SLOW } from './tlb';
import { guestDataAccess } from './debugregs';

export function readLinear(c: Cpu, lin: number, size: number, user: boolean): number {
  if (user && c.acActive && lin & (size - 1)) c.fault(17, 0, true);
  if ((lin & 0xfff) + size > 0x1000) {
    // crosses a page: both pages must translate before any byte is read
    const lo = c.translate(lin, ACC_READ, user);
    const hi = c.translate((lin + size) & ~0xfff, ACC_READ, user);
    let v = 0;
    for (let k = 0; k < size; k++) {
      const l = (lin + k) | 0;
      const base = (l & 0xfff) >= (lin & 0xfff) && k < 0x1000 - (lin & 0xfff) ? lo : hi;
      v |= physRead(c, (base & ~0xfff) | (l & 0xfff), 1, base) << (8 * k);
    }
    return size === 4 ? v | 0 : v >>> 0;
  }
  const e = c.translate(lin, ACC_READ, user);
  const p = (e & ~0xfff) | (lin & 0xfff);
  if (e & TLB_SLOW) checkWatch(c, lin, size, false, 0);
  return physRead(c, p, size, e);
}

export function writeLinear(c: Cpu, lin: number, size: number, v: number, user: boolean): void {
  if (user && c.acActive && lin & (size - 1)) c.fault(17, 0, true);
  if ((lin & 0xfff) + size > 0x1000) {
    const lo = c.translate(lin, ACC_WRITE, user);
    const hi = c.translate((lin + size) & ~0xfff, ACC_WRITE, user);
    for (let k = 0; k < size; k++) {
      const l = (lin + k) | 0;
      const base = k < 0x1000 - (lin & 0xfff) ? lo : hi;
      if (base & TLB_SLOW) checkWatch(c, l, 1, true, (v >>> (8 * k)) & 0xff);
      physWrite(c, (base & ~0xfff) | (l & 0xfff), 1, (v >>> (8 * k)) & 0xff, base);
    }
    return;
  }
  const e = c.translate(lin, ACC_WRITE, user);
  if (e & TLB_SLOW) checkWatch(c, lin, size, true, v);
  physWrite(c, (e & ~0xfff) | (lin & 0xfff), size, v, e);
}

function checkWatch(c: Cpu, lin: number, size: number, write: boolean, v: number): void {
  if (c.hooks.watch && c.tlb.isWatched(lin, size)) c.hooks.watch(c, lin, size, write, v);
  if (c.drData) guestDataAccess(c, lin, size, write);
}

/** Access host-physical p; entries flagged MMIO carry the guest-physical page in tlb.mmioGpa. */
export function physRead(c: Cpu, p: number, size: number, e: number): number {
  if (e & TLB_SLOW && c.tlb.isMmioEntry(e)) return c.host.mmioRead(c.tlb.mmioAddress(e, p), size as 1 | 2 | 4);
  if (size === 4) return p & 3 ? c.dv.getInt32(p, true) : c.mem32[p >>> 2];
  if (size === 1) return c.mem[p];
  return c.dv.getUint16(p, true);
}
function physWrite(c: Cpu, p: number, size: number, v: number, e: number): void {
  if (e & TLB_SLOW) {
    if (c.tlb.isMmioEntry(e)) { c.host.mmioWrite(c.tlb.mmioAddress(e, p), size as 1 | 2 | 4, v); return; }
    if (c.ptPages[p >>> 12] !== 0) c.tlb.tablesWritten = true;
    if (c.code.pageHasCode(p >>> 12)) c.code.write(p, size);
  }
  if (size === 1) c.mem[p] = v;
  else if (size === 2) c.dv.setUint16(p, v, true);
  else c.dv.setInt32(p, v, true);
}

/**
 * Past a task switch's commit point the switch cannot be restarted: a #PF that the hypervisor
 * resolves (a shadow entry filled in) is retried in place, and one it does not is raised with the
 * guest's error code, marked as already seen by the hypervisor (vmmSawFault).
 */
export function translateResolving(c: Cpu, lin: number, access: number, user: boolean): number {
  c.resolveInPlace--;
  try {
    for (let n = 0; ; n++) {
      try {
        return c.translate(lin, access, user);
      } catch (e) {
        if (e !== CPU_FAULT || c.faultVector !== 14 || !((c.vmmExceptions >>> 14) & 1) || !c.vmm.exception) throw e;
        const r = c.vmm.exception(c, 14, c.faultError, true, true);
        if (r !== -1) { c.faultError = r; c.vmmSawFault = true; throw e; }
        if (n > 16) throw new Error(`hypervisor: the page fault at 0x${(lin >>> 0).toString(16)} keeps recurring after being resolved`);
      }
    }
  } finally {
    c.resolveInPlace++;
  }
}

/** The guest-physical address of a linear one, or -1: a look that raises nothing and sets no A/D bits. */
export function peekLinear(c: Cpu, lin: number): number {
  // Under shadow paging the processor's CR3 holds the shadow root: the hypervisor walks the guest's own tables.
  if (c.vmm.peekTranslate) return c.vmm.peekTranslate(c, lin);
  if (!c.pagingOn()) return lin & c.a20Mask;
  try {
    const g = walk(c, lin | 0, ACC_READ, false, true);
    return g < 0 ? -1 : g & c.a20Mask;
  } catch (e) {
    if (e === CPU_FAULT) return -1;
    throw e;
  }
}
