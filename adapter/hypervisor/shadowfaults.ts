// The shadow MMU's #PF exits, shared by every mode that shadows the guest's page tables (vtx with
// shadow paging, trap-and-emulate): fill the shadow in, emulate a write to a shadowed guest table,
// or reflect the fault to the guest with its own error code and CR2.
import type { Cpu } from '../cpu/cpu';
import { CPU_FAULT } from '../cpu/cpu';
import type { Insn } from '../cpu/insn';
import { TLB_VALID, TLB_SLOW } from '../cpu/tlb';
import { deliverException } from '../cpu/interrupts';
import type { ShadowMmu } from './shadow';
import { EXIT, type ExitRecord, type ExitStats } from './exits';

/** What the fault handling needs from the VM or monitor that owns the shadow. */
export interface ShadowHost {
  readonly cpu: Cpu;
  readonly shadow?: ShadowMmu;
  readonly guest: { cr2: number };
  readonly stats: ExitStats;
  readonly counters: { emulatedInstructions: number; mmioAccesses: number };
  inHandler: boolean;
  emulationFailures: number;
  emulationFailureKey: string;
  exit(reason: number, f?: Partial<ExitRecord>): ExitRecord;
  /** Stop the guest with a message (the run ends with the hypervisor's status). */
  stop(reason: string): void;
}

/** A #PF the shadow raised: returns -1 when resolved, else the guest's error code to deliver. */
export function shadowFault(h: ShadowHost, err: number, info: number, delivering: boolean): number {
  const cpu = h.cpu, mmu = h.shadow!;
  const lin = cpu.cr2 >>> 0;
  cpu.cr2 = h.guest.cr2; // the guest's CR2 changes only when a fault reaches it
  const out = mmu.handleFault(lin, err);
  if (out.kind === 'reflect') {
    h.exit(EXIT.EXCEPTION_NMI, { interruptionInfo: info, errorCode: out.error, qualification: lin, guestLinear: lin, text: `#PF at 0x${lin.toString(16)} reflected to the guest` });
    h.guest.cr2 = cpu.cr2 = lin;
    h.stats.injected++;
    return out.error;
  }
  h.exit(EXIT.EXCEPTION_NMI, { interruptionInfo: info, errorCode: err, qualification: lin, guestLinear: lin, text: out.kind === 'fixed' ? `#PF at 0x${lin.toString(16)}: shadow entry built` : `#PF at 0x${lin.toString(16)}: ${out.mmio ? 'MMIO' : 'write to a guest page table'} emulated` });
  if (out.kind === 'fixed') { cpu.tlb.flushPage(lin >>> 12); return -1; }
  return emulateAccess(h, lin, out.gfn, out.mmio, delivering, err);
}

/**
 * Emulate the instruction at CS:EIP whose access to `lin` the shadow refused: run it once with a
 * one-instruction TLB entry that lets it through (the write lands in the guest's table, or reaches
 * the device model), then drop the shadow entries the write changed. A fault during an event's
 * delivery cannot be emulated that way: the frame is unshadowed instead and the delivery retried.
 */
function emulateAccess(h: ShadowHost, lin: number, gfn: number, mmio: boolean, delivering: boolean, err: number): number {
  const cpu = h.cpu, mmu = h.shadow!;
  const page = lin >>> 12;
  if (delivering || h.inHandler) {
    // The guest's tables put its IDT, GDT or stack on a page with no RAM behind it: the retried
    // delivery reaches the device model through a TLB entry, as under plain emulation.
    if (mmio) passMmio(cpu, page, gfn, err);
    else {
      mmu.unprotect(gfn);
      // A frame that stays write-protected (the root table itself, a copied descriptor table): the
      // delivery's write goes through once and the shadow catches up when the delivery ends.
      if (delivering && mmu.isTracked(gfn)) passWrite(h, page, gfn, err);
    }
    return -1;
  }
  const user = cpu.cpl === 3;
  const base = mmio ? -1 : mmu.slot(gfn);
  const before = base >= 0 ? new Int32Array(cpu.mem.buffer.slice(cpu.mem.byteOffset + base, cpu.mem.byteOffset + base + 4096)) : null;
  const entry = mmio ? cpu.tlb.mmioEntry(gfn * 4096) : base | TLB_VALID | (cpu.code.pageHasCode(base >>> 12) ? TLB_SLOW : 0);
  const saved = { eip: cpu.eip };
  let i: Insn;
  try {
    i = cpu.code.lookup().insns[0];
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    cpu.eip = saved.eip;
    // The instruction itself is on that page (code in MMIO): its fetch goes through a TLB entry too.
    if (mmio) passMmio(cpu, page, gfn, err); else mmu.unprotect(gfn);
    return -1;
  }
  // Read-modify-write instructions read the page too: both entries, for this one instruction.
  cpu.tlb.fill(user ? cpu.tlb.wUser : cpu.tlb.wSup, page, entry);
  cpu.tlb.fill(user ? cpu.tlb.rUser : cpu.tlb.rSup, page, entry);
  h.inHandler = true;
  cpu.curEip = cpu.eip;
  cpu.eip = (cpu.eip + i.len) & (cpu.code32 ? -1 : 0xffff);
  let faulted = false;
  try {
    i.native(cpu, i);
    cpu.icount++;
    h.counters.emulatedInstructions++;
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    faulted = true;
    cpu.eip = cpu.curEip;
  } finally {
    h.inHandler = false;
    cpu.tlb.flushPage(page);
  }
  if (before) mmu.afterGuestWrite(gfn, before);
  if (mmio) h.counters.mmioAccesses++;
  cpu.brk = true;
  if (faulted && cpu.faultVector !== 14) {
    // The instruction itself faults (a far pointer read from MMIO naming a bad selector, a privilege
    // check): run natively it would stop at this access again, so its fault is delivered from here.
    cpu.dbPending = 0;
    deliverException(cpu, cpu.faultVector, cpu.faultError, cpu.faultHasError, false);
  } else if (faulted) {
    // The emulated instruction faulted elsewhere (a page not yet in the shadow, a guest fault): it
    // runs again from the start, and that fault is handled the ordinary way first. Should that not
    // make progress, the frame stops being shadowed.
    const key = `${cpu.icount}:${lin}`;
    h.emulationFailures = h.emulationFailureKey === key ? h.emulationFailures + 1 : 1;
    h.emulationFailureKey = key;
    if (h.emulationFailures > 3 && !mmio) mmu.unprotect(gfn);
    if (h.emulationFailures > 16) h.stop(`cannot emulate the instruction at 0x${(cpu.eip >>> 0).toString(16)} (its access to 0x${lin.toString(16)} keeps faulting with vector ${cpu.faultVector})`);
  }
  return -1;
}

/** Let the access that faulted (error code: write, user) reach MMIO through a TLB entry; retrying
 *  without one would fault again forever. The guest's tables allow it (else the fault was reflected). */
function passMmio(cpu: Cpu, page: number, gfn: number, err: number): void {
  const tlb = cpu.tlb, write = (err & 2) !== 0;
  tlb.fill(err & 4 ? (write ? tlb.wUser : tlb.rUser) : write ? tlb.wSup : tlb.rSup, page, tlb.mmioEntry(gfn < 0 ? -0x1000 : gfn * 4096));
}

interface PassedWrite { gfn: number; page: number; before: Int32Array }
const passed = new WeakMap<ShadowHost, PassedWrite[]>();

/** Let an event delivery write a write-protected guest frame: a TLB entry for it until the delivery ends. */
function passWrite(h: ShadowHost, page: number, gfn: number, err: number): void {
  const cpu = h.cpu, base = h.shadow!.slot(gfn), tlb = cpu.tlb;
  const list = passed.get(h) ?? [];
  if (!list.some((p) => p.page === page)) {
    list.push({ gfn, page, before: new Int32Array(cpu.mem.buffer.slice(cpu.mem.byteOffset + base, cpu.mem.byteOffset + base + 4096)) });
  }
  passed.set(h, list);
  tlb.fill(err & 4 ? tlb.wUser : tlb.wSup, page, base | TLB_VALID | TLB_SLOW);
  cpu.vmm.afterDelivery = () => settleWrites(h);
}

/** The delivery ended: drop the entries and resynchronize the shadow with what was written. */
function settleWrites(h: ShadowHost): void {
  const list = passed.get(h) ?? [];
  passed.delete(h);
  delete h.cpu.vmm.afterDelivery;
  for (const p of list) {
    h.cpu.tlb.flushPage(p.page);
    h.shadow!.afterGuestWrite(p.gfn, p.before);
  }
}
