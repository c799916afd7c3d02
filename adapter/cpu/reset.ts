// The processor's power-on state (SDM 9.1.1), kept apart from the Cpu class so that file holds
// the state and the run loop.
import type { Cpu } from './cpu';
import { CS } from './insn';
import { EFLAGS_FIXED1 } from './flags';
import { AR_P, AR_S, CR0_ET, CR0_CD, CR0_NW } from './cpu';

/** Real mode at F000:FFF0, caches and TLB empty. */
export function powerOn(c: Cpu): void {
  c.r32.fill(0);
  c.rhi.fill(0);
  c.r32[2] = 0x0600; // EDX: family 6 signature
  c.flags = EFLAGS_FIXED1;
  c.lazy = 0;
  c.cr0 = CR0_ET | CR0_CD | CR0_NW;
  c.cr2 = c.cr3 = c.cr4 = c.efer = 0;
  c.dr.fill(0);
  c.dr[6] = 0xffff0ff0 | 0;
  c.dr[7] = 0x400;
  // Reset caches (SDM 9.1.1): base 0, limit 0xFFFF, present read/write accessed data.
  for (let s = 0; s < 6; s++) c.loadSegCache(s, 0, 0, 0xffff, AR_P | AR_S | 0x3);
  c.loadSegCache(CS, 0xf000, 0xffff0000 | 0, 0xffff, AR_P | AR_S | 0xb);
  c.eip = 0xfff0;
  c.gdtrBase = 0; c.gdtrLimit = 0xffff;
  c.idtrBase = 0; c.idtrLimit = 0x3ff;
  c.cpl = 0;
  c.halted = c.shutdown = c.shadow = false;
  c.nmiPending = c.nmiBlocked = false;
  c.deliveringVector = -1;
  c.dbPending = 0;
  c.ssShadow = false;
  c.msrs.clear();
  c.sysenterCs = c.sysenterEsp = c.sysenterEip = 0;
  c.tscOffset = 0n;
  c.pdpte.fill(0);
  if (c.drData) c.tlb.setGuestWatchRanges([]);
  c.drExec = c.drData = false;
  c.tlb.flushAll();
  c.code.flushAll();
}
