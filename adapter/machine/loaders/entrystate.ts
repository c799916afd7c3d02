// The CPU state a guest starts in, per kind of boot, matching what QEMU 7.2 + SeaBIOS leave
// (measured by guests that print their registers on entry; see the loaders tests).

import type { InitialState, SegmentInit, MemoryChunk } from './types';

/** Boot sector entry (INT 19h): CS:IP 0000:7C00, all segments 0, EAX=0xAA55, DL=drive,
 *  SS:SP = 0000:6F04 (SeaBIOS's stack, a far return address on it), IF set. */
export function bootSectorState(drive: number): InitialState {
  const seg = (): SegmentInit => ({ selector: 0, base: 0, limit: 0xffff, access: 0x93, big: false });
  return {
    mode: 'real',
    eip: 0x7c00,
    cs: 0,
    regs: { eax: 0xaa55, ebx: 0, ecx: 0, edx: drive & 0xff, esi: 0, edi: 0, ebp: 0, esp: 0x6f04 },
    eflags: 0x202,
    cr0: 0x10,
    segments: { cs: { ...seg(), access: 0x9b }, ds: seg(), es: seg(), ss: seg(), fs: seg(), gs: seg() },
    gdtr: { base: 0, limit: 0xffff },
  };
}

/**
 * QEMU's multiboot option ROM GDT: null, 0x08 flat 32-bit code, 0x10 flat data, 0x18 16-bit
 * code, 0x20 16-bit data. QEMU keeps it in the option ROM (0xCB2B8 on 7.2); we place it in low
 * memory right after the multiboot info block, which the spec leaves to the OS anyway.
 */
export const BOOT_GDT_ADDR = 0x9558;
const BOOT_GDT = [
  0, 0, 0, 0, 0, 0, 0, 0,
  0xff, 0xff, 0, 0, 0, 0x9a, 0xcf, 0,
  0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0,
  0xff, 0xff, 0, 0, 0, 0x9e, 0, 0,
  0xff, 0xff, 0, 0, 0, 0x92, 0, 0,
];

export function bootGdtChunk(): MemoryChunk {
  return { addr: BOOT_GDT_ADDR, bytes: Uint8Array.from(BOOT_GDT), what: 'boot GDT' };
}

/**
 * Protected mode with paging off and flat 4 GiB segments: CS=0x08 (32-bit code), the others
 * 0x10. QEMU enters multiboot kernels with ESP=0x6F08 and EFLAGS=0x6 (IF clear); we do the same.
 */
export function flatProtectedState(entry: number, regs: Partial<InitialState['regs']> = {}): InitialState {
  const data = (): SegmentInit => ({ selector: 0x10, base: 0, limit: 0xffffffff, access: 0x93, big: true });
  return {
    mode: 'protected',
    eip: entry >>> 0,
    cs: 0x08,
    regs: { eax: 0, ebx: 0, ecx: 0, edx: 0, esi: 0, edi: 0, ebp: 0, esp: 0x6f08, ...regs },
    eflags: 0x6,
    cr0: 0x11,
    segments: {
      cs: { selector: 0x08, base: 0, limit: 0xffffffff, access: 0x9b, big: true },
      ds: data(), es: data(), ss: data(), fs: data(), gs: data(),
    },
    gdtr: { base: BOOT_GDT_ADDR, limit: BOOT_GDT.length - 1 },
  };
}
