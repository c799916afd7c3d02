// Hypercalls under vtx (VMCALL exits, reason 18): the console, the time, yielding, and the memory
// balloon. A page the guest gives back is unmapped from EPT (a 2 MiB page around it is split into
// 4 KiB pages first) and freed in the host; under shadow paging its shadow mappings go and the frame
// is refused. A page touched after it was given back is populated again on demand (a fresh zero
// page, as KVM does). The calls that stand in for hardware a VM has (mmu_update, set_vif,
// set_timer, set_callback) answer -ENOSYS.
import { IF } from '../cpu/flags';
import { EPT_RWX } from './ept';
import { E_INVAL, type HypercallHost } from './hypercalls';
import type { Vm } from './vm';

export class VtxCalls implements HypercallHost {
  readonly ballooned = new Set<number>();
  readonly counters = { unmapped: 0, freed: 0, repopulated: 0, reclaimed: 0 };

  constructor(private readonly vm: Vm) {
    // Shadow paging: a page given back and touched again is populated again (a fresh zero page).
    if (vm.shadow) vm.shadow.refused = (gfn) => { if (this.ballooned.delete(gfn)) this.counters.repopulated++; return false; };
  }

  get cpu() { return this.vm.cpu; }

  readGuestBytes(lin: number, len: number): Uint8Array | undefined {
    const c = this.cpu, out = new Uint8Array(len);
    for (let k = 0; k < len; k++) {
      const gpa = c.peekTranslate((lin + k) >>> 0);
      const hpa = gpa < 0 ? -1 : c.gpaPeek(gpa & ~0xfff);
      if (hpa < 0) return undefined;
      out[k] = c.mem[(hpa & ~0xfff) | (gpa & 0xfff)];
    }
    return out;
  }

  console(bytes: Uint8Array): void {
    const sink = this.vm.machine.debug.onDebugByte;
    for (const b of bytes) sink(b);
  }

  timeUs(): number {
    return Math.floor(this.vm.machine.clock.nowNs() / 1000);
  }

  yieldCpu(): number {
    if (!(this.cpu.flags & IF)) return E_INVAL;
    this.cpu.halted = true;
    this.cpu.brk = true;
    return 0;
  }

  balloon(give: boolean, gpa: number, pages: number): number {
    const vm = this.vm, c = this.cpu, ram = vm.machine.ramBytes;
    gpa >>>= 0;
    if (gpa & 0xfff || pages <= 0 || gpa + pages * 4096 > ram) return E_INVAL;
    const first = gpa >>> 12;
    for (let f = first; f < first + pages; f++) {
      if (give ? this.ballooned.has(f) || vm.shadow?.isTracked(f) : !this.ballooned.has(f)) return E_INVAL;
    }
    for (let f = first; f < first + pages; f++) {
      const hpa = vm.machine.ramBase + f * 4096; // the frame's host page in the memory slot
      if (give) {
        if (vm.ept) {
          if (!vm.ept.splitAt(f * 4096)) return E_INVAL;
          if (vm.ept.setLeafBits(f * 4096, 0)) this.counters.unmapped++;
        } else if (vm.shadow) {
          vm.shadow.unmapFrame(f);
          this.counters.unmapped++;
        }
        c.mem.fill(0, hpa, hpa + 4096); // the host takes the page back
        if (c.code.pageHasCode(hpa >>> 12)) c.code.invalidatePage(hpa >>> 12);
        this.ballooned.add(f);
        this.counters.freed++;
      } else {
        this.ballooned.delete(f);
        vm.ept?.mapPage(f * 4096, hpa, '4k', EPT_RWX);
        this.counters.reclaimed++;
      }
    }
    if (give) vm.invept(); // cached translations of the pages go too
    return pages;
  }

  /** An EPT violation on a page given back: a fresh zero page, mapped 4 KiB. Returns false if not ballooned. */
  repopulate(gpa: number): boolean {
    const f = gpa >>> 12;
    if (!this.ballooned.has(f)) return false;
    this.ballooned.delete(f);
    const ept = this.vm.ept;
    ept?.mapPage(f * 4096, ept.slot(f * 4096), '4k', EPT_RWX);
    this.counters.repopulated++;
    return true;
  }
}
