// The paravirtual hypercall ABI. A guest kernel calls the hypervisor with VMCALL: the call number in
// EAX, arguments in EBX, ECX, EDX and ESI, the result in EAX (negative: an error, as Linux's errno).
//
//   0 console_write(EBX = linear address, ECX = length)       -> bytes written
//   1 mmu_update(EBX = guest-physical address of a page-table entry, ECX = new value)
//                                                            -> 0, or -EINVAL when validation refuses it
//   2 set_vif(EBX = 0 or 1)                                   -> the previous virtual IF
//   3 set_timer(EBX = microseconds; 0 cancels)                -> 0; an upcall when it expires
//   4 set_callback(EBX = linear address of the upcall entry)  -> 0
//   5 yield()                                                  -> 0 after the next event (halts until then)
//   6 balloon(EBX = 0 give / 1 take, ECX = guest-physical address, EDX = pages)
//                                                            -> pages given back or taken again
//   7 get_time()                                               -> EAX:EDX = virtual time in microseconds
//
// Under paravirt the whole ABI is there; under vtx the calls that stand in for hardware the VM has
// (mmu_update, set_vif, set_timer, set_callback) answer -ENOSYS.
import type { Cpu } from '../cpu/cpu';

export const HC = { CONSOLE_WRITE: 0, MMU_UPDATE: 1, SET_VIF: 2, SET_TIMER: 3, SET_CALLBACK: 4, YIELD: 5, BALLOON: 6, GET_TIME: 7 } as const;
export const HC_NAMES = ['console_write', 'mmu_update', 'set_vif', 'set_timer', 'set_callback', 'yield', 'balloon', 'get_time'];
export const E_PERM = -1, E_FAULT = -14, E_INVAL = -22, E_NOSYS = -38;
export const BALLOON_GIVE = 0, BALLOON_TAKE = 1;

/** What the hypervisor behind the calls provides; a missing one answers -ENOSYS. */
export interface HypercallHost {
  readonly cpu: Cpu;
  /** Bytes of the guest's memory by linear address, or undefined where unmapped. */
  readGuestBytes(lin: number, len: number): Uint8Array | undefined;
  console(bytes: Uint8Array): void;
  mmuUpdate?(gpa: number, value: number): number;
  setVif?(on: boolean): number;
  setTimer?(us: number): number;
  setCallback?(lin: number): number;
  yieldCpu?(): number;
  balloon?(give: boolean, gpa: number, pages: number): number;
  timeUs(): number;
}

export interface HypercallCount {
  number: number;
  name: string;
  count: number;
  lastArgs: number[];
  lastResult: number;
}

export class Hypercalls {
  readonly calls = new Map<number, HypercallCount>();
  total = 0;

  /** Perform the call the registers describe (EIP is already past the VMCALL). */
  dispatch(h: HypercallHost): number {
    const c = h.cpu;
    const nr = c.r32[0] >>> 0, a = c.r32[3] >>> 0, b = c.r32[1] >>> 0, d = c.r32[2] >>> 0, s = c.r32[6] >>> 0;
    let r: number;
    switch (nr) {
      case HC.CONSOLE_WRITE: {
        const n = Math.min(b, 1 << 16);
        const bytes = h.readGuestBytes(a, n);
        if (!bytes) { r = E_FAULT; break; }
        h.console(bytes);
        r = n;
        break;
      }
      case HC.MMU_UPDATE: r = h.mmuUpdate ? h.mmuUpdate(a, b) : E_NOSYS; break;
      case HC.SET_VIF: r = h.setVif ? h.setVif((a & 1) !== 0) : E_NOSYS; break;
      case HC.SET_TIMER: r = h.setTimer ? h.setTimer(a) : E_NOSYS; break;
      case HC.SET_CALLBACK: r = h.setCallback ? h.setCallback(a) : E_NOSYS; break;
      case HC.YIELD: r = h.yieldCpu ? h.yieldCpu() : E_NOSYS; break;
      case HC.BALLOON: r = h.balloon && (a === BALLOON_GIVE || a === BALLOON_TAKE) ? h.balloon(a === BALLOON_GIVE, b, d) : h.balloon ? E_INVAL : E_NOSYS; break;
      case HC.GET_TIME: {
        const t = h.timeUs();
        c.r32[2] = Math.floor(t / 0x100000000);
        r = t % 0x100000000;
        break;
      }
      default: r = E_NOSYS;
    }
    c.r32[0] = r;
    this.total++;
    const e = this.calls.get(nr) ?? { number: nr, name: HC_NAMES[nr] ?? `hypercall ${nr}`, count: 0, lastArgs: [], lastResult: 0 };
    e.count++;
    e.lastArgs = [a, b, d, s];
    e.lastResult = r | 0;
    this.calls.set(nr, e);
    return r;
  }

  list(): HypercallCount[] {
    return [...this.calls.values()].sort((x, y) => x.number - y.number);
  }
}
