// System control port B (0x61) of a PC/AT.
//
// Write: bit 0 = PIT channel 2 gate, bit 1 = speaker data enable, bits 2-3 = parity/channel-check
// disables (kept, no effect). Read: those bits back, bit 4 = the DRAM refresh request toggle,
// which flips every 15.085 us of virtual time (guests poll it to time short delays), bit 5 = PIT
// channel 2 OUT, bits 6-7 (parity / I/O check errors) = 0.

import type { Clock } from './clock';
import type { PortDevice, PortSize } from './ports';
import type { Pit } from './pit';

/** Period between flips of the refresh toggle (port 0x61 bit 4), in ns. */
export const REFRESH_TOGGLE_NS = 15085;

export interface SystemControlSnapshot {
  value: number;
}

export class SystemControlPortB implements PortDevice {
  readonly accessSizes = 1;
  private value = 0;

  constructor(private readonly clock: Clock, private readonly pit: Pit) {
    this.reset();
  }

  reset(): void {
    this.value = 0;
    this.pit.setGate2(false);
  }

  /** Whether the guest lets PIT channel 2 reach the speaker (gate and speaker enable both set). */
  speakerOn(): boolean {
    return (this.value & 3) === 3;
  }

  read(_port: number, _size: PortSize): number {
    const refresh = Math.floor(this.clock.nowNs() / REFRESH_TOGGLE_NS) & 1;
    return (this.value & 0x0f) | (refresh << 4) | (this.pit.out2() ? 0x20 : 0);
  }

  write(_port: number, _size: PortSize, value: number): void {
    this.value = value & 0x0f;
    this.pit.setGate2((value & 1) !== 0);
  }

  snapshot(): SystemControlSnapshot {
    return { value: this.value };
  }

  restore(s: SystemControlSnapshot): void {
    this.value = s.value;
  }
}
