// Test helper: drive timed devices the way the machine does, jumping the instruction count from
// one scheduled event to the next and ticking the devices there.
import { Clock, earliestEventNs, type TimedDevice } from '../../adapter/machine/clock';

/** Advance virtual time to endNs, ticking devices at every event on the way (at instruction boundaries). */
export function runUntil(clock: Clock, devices: TimedDevice[], endNs: number): void {
  for (;;) {
    const next = earliestEventNs(devices);
    if (next > endNs) break;
    const n = clock.instructionCountAt(next);
    if (n > clock.instructionCount()) clock.setInstructionCount(n);
    const now = clock.nowNs();
    for (const d of devices) d.tick(now);
  }
  const end = clock.instructionCountAt(endNs);
  if (end > clock.instructionCount()) clock.setInstructionCount(end);
  for (const d of devices) d.tick(clock.nowNs());
}
