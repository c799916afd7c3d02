// The frame an event pushes for the guest kernel. The processor delivers through the shadow IDT,
// and from the guest's ring 0 (real ring 1) the frame it pushes says CS RPL 1 and the processor's
// IF (kept on for the monitor), where bare hardware would say RPL 0 and the guest's IF. Kernels read
// [esp+CS] & 3 to tell a fault in user mode, so binary translation rewrites the frame as ring 0
// would have pushed it (its translated IRET takes RPL 0 and the IF back). Trap-and-emulate cannot
// touch what the processor pushed without a trap of its own: there the frame is one of its holes.
// Frames from ring 3 are already right (RPL 3, IF on); events out of virtual-8086 mode are the
// monitor's own to deliver (v86.ts).
import type { Cpu } from '../cpu/cpu';
import { SS } from '../cpu/insn';
import { IF, VM } from '../cpu/flags';
import type { Monitor } from './monitor';

/** After the processor delivered `vector` from `fromCs` (the 'interrupt' event), before the monitor clears the guest's IF. */
export function kernelFrame(m: Monitor, c: Cpu, vector: number, errorCode: number, fromCs: number): void {
  if (!m.deprivileged || m.pv || (fromCs & 3) !== 1 || c.cpl !== 1) return;
  // The gate's size decides the frame's: the guest's own IDT says which (the shadow copies its type).
  const hi = m.readGuest32((m.v.idtBase + vector * 8 + 4) >>> 0);
  if (hi === undefined) return;
  const type = (hi >>> 8) & 0x1f;
  if (type !== 6 && type !== 7 && type !== 14 && type !== 15) return;
  const n = type & 8 ? 4 : 2;
  const at = (c.getSp() + (errorCode >= 0 ? n : 0)) | 0;
  let cs: number, f: number;
  try {
    cs = c.read16(SS, (at + n) | 0);
    f = c.readN(SS, (at + 2 * n) | 0, n);
  } catch {
    return; // the frame was just written; a stack we cannot read back is none of ours
  }
  if (cs !== (fromCs & 0xffff) || (n === 4 && f & VM)) return;
  const bareF = m.v.vif ? f | IF : f & ~IF, bareCs = cs & ~3;
  if (m.translations) {
    c.write16(SS, (at + n) | 0, bareCs);
    c.writeN(SS, (at + 2 * n) | 0, n, bareF);
    return;
  }
  const hex = (v: number) => '0x' + (v >>> 0).toString(16);
  m.holes.note(`frame of vector ${vector}`, `CS ${hex(cs)} (RPL 1), IF=${(f >>> 9) & 1}`, `CS ${hex(bareCs)} (RPL 0), IF=${(bareF >>> 9) & 1}`);
}
