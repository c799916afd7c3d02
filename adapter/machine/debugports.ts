// The ports guests and firmware use to talk to the machine running them:
// - 0xE9: debug console (Bochs/QEMU "debugcon"); each byte written goes to onByte; reads return
//   0xE9 so a guest can detect the port.
// - 0x80: POST codes; the last one and the distinct values in order of first appearance are kept.
//   Reads return 0xFF, as on QEMU.
// - 0xF4-0xF7: QEMU's isa-debug-exit (iobase=0xf4, iosize=4). A write of value v ends the run with
//   status (v << 1) | 1, where v is the whole value written at the access size (a byte for OUT
//   imm8/DX,AL, a word or dword for AX/EAX). A process status keeps only its low 8 bits, which
//   depend on bits 0-6 of v alone, so byte and wider writes of the same low byte end alike.
// - 0x8900: Bochs shutdown port; the bytes of "Shutdown" written in order end the run with
//   status 0. Any other byte restarts the match (an 'S' starts a new one).

import type { PortBus, PortDevice, PortSize } from './ports';

export const DEBUGCON_PORT = 0xe9;
export const POST_PORT = 0x80;
export const DEBUG_EXIT_PORT = 0xf4;
export const DEBUG_EXIT_SIZE = 4;
export const SHUTDOWN_PORT = 0x8900;

const SHUTDOWN = 'Shutdown';
/** Distinct POST codes kept (a guest writing wide values to 0x80 could produce many). */
const MAX_POST_CODES = 1024;

export interface DebugPortsSnapshot {
  postCodes: number[];
  lastPost: number;
  shutdownMatch: number;
}

export class DebugPorts implements PortDevice {
  /** A byte written to the debug console. */
  onByte: (byte: number) => void = () => {};
  /** The guest asked to end the run. */
  onExit: (status: number, reason: string) => void = () => {};

  /** 0xE9, 0x80 and 0x8900 take bytes (a wider access is split, as on QEMU and Bochs). */
  readonly accessSizes = 1;

  /** The isa-debug-exit ports take whole words and dwords: register this one at 0xF4-0xF7. */
  readonly exitPort: PortDevice = {
    accessSizes: 1 | 2 | 4,
    read: (): number => 0, // as QEMU's device answers
    write: (port: number, _size: PortSize, value: number): void => {
      this.onExit(value * 2 + 1, `isa-debug-exit: guest wrote 0x${value.toString(16)} to port 0x${port.toString(16)}`);
    },
  };

  private codes: number[] = [];
  private postSeen = new Set<number>();
  private lastPost = -1;
  private shutdownMatch = 0;

  reset(): void {
    this.codes = [];
    this.postSeen = new Set();
    this.lastPost = -1;
    this.shutdownMatch = 0;
  }

  /** Same as onByte (the name the runner uses). */
  get onDebugByte(): (byte: number) => void {
    return this.onByte;
  }
  set onDebugByte(fn: (byte: number) => void) {
    this.onByte = fn;
  }

  /** Register 0xE9, 0x80, 0xF4-0xF7 and 0x8900 on a bus. */
  register(bus: PortBus): void {
    bus.register(DEBUGCON_PORT, 1, this, 'debugcon');
    bus.register(POST_PORT, 1, this, 'post');
    bus.register(DEBUG_EXIT_PORT, DEBUG_EXIT_SIZE, this.exitPort, 'isa-debug-exit');
    bus.register(SHUTDOWN_PORT, 1, this, 'bochs-shutdown');
  }

  /** Distinct POST codes in the order first written. */
  postCodes(): readonly number[] {
    return this.codes;
  }

  /** The last POST code written, or -1 if none. */
  lastPostCode(): number {
    return this.lastPost;
  }

  read(port: number, _size: PortSize): number {
    return port === DEBUGCON_PORT ? 0xe9 : 0xff;
  }

  write(port: number, _size: PortSize, value: number): void {
    if (port === DEBUGCON_PORT) {
      this.onByte(value);
    } else if (port === POST_PORT) {
      this.lastPost = value;
      if (!this.postSeen.has(value) && this.codes.length < MAX_POST_CODES) {
        this.postSeen.add(value);
        this.codes.push(value);
      }
    } else if (port === SHUTDOWN_PORT) {
      this.shutdownByte(value);
    }
  }

  snapshot(): DebugPortsSnapshot {
    return { postCodes: [...this.codes], lastPost: this.lastPost, shutdownMatch: this.shutdownMatch };
  }

  restore(s: DebugPortsSnapshot): void {
    this.codes = [...s.postCodes];
    this.postSeen = new Set(s.postCodes);
    this.lastPost = s.lastPost;
    this.shutdownMatch = s.shutdownMatch;
  }

  private shutdownByte(b: number): void {
    if (b === SHUTDOWN.charCodeAt(this.shutdownMatch)) {
      if (++this.shutdownMatch === SHUTDOWN.length) {
        this.shutdownMatch = 0;
        this.onExit(0, 'bochs shutdown: guest wrote "Shutdown" to port 0x8900');
      }
    } else {
      this.shutdownMatch = b === SHUTDOWN.charCodeAt(0) ? 1 : 0;
    }
  }
}
