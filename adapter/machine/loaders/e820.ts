// The physical memory map the firmware reports (INT 15h E820, multiboot mmap, mem_lower/mem_upper).
// One function so the HLE BIOS and the multiboot loader cannot disagree.
//
// Measured on QEMU 7.2 with SeaBIOS (qemu-system-i386 -m N, a multiboot kernel dumping its info):
//   0x00000000-0x0009FC00 usable   (639 KiB; SeaBIOS puts a 1 KiB EBDA at 0x9FC00)
//   0x0009FC00-0x000A0000 reserved
//   0x000F0000-0x00100000 reserved (BIOS ROM)
//   0x00100000-RAM-128K   usable
//   RAM-128K  -RAM        reserved (SeaBIOS keeps its high tables in the top 128 KiB)
//   0xFFFC0000-0x1_0000_0000 reserved (flash mapping of the BIOS)
// for every size tried (2, 16, 64, 128, 3072 MiB). We report the same map so guests that print
// it give QEMU's output byte for byte. INT 12h says 639, so multiboot mem_lower is 639 (not 640).

export const E820_USABLE = 1;
export const E820_RESERVED = 2;

export interface E820Entry {
  base: number;
  length: number;
  type: number;
}

export const EBDA_BASE = 0x9fc00;
export const HIGH_RESERVE = 0x20000;
const MB = 0x100000;

export function e820Map(ramBytes: number): E820Entry[] {
  const map: E820Entry[] = [];
  const low = Math.min(ramBytes, EBDA_BASE);
  map.push({ base: 0, length: low, type: E820_USABLE });
  map.push({ base: EBDA_BASE, length: 0xa0000 - EBDA_BASE, type: E820_RESERVED });
  map.push({ base: 0xf0000, length: 0x10000, type: E820_RESERVED });
  if (ramBytes > MB + HIGH_RESERVE) {
    map.push({ base: MB, length: ramBytes - HIGH_RESERVE - MB, type: E820_USABLE });
    map.push({ base: ramBytes - HIGH_RESERVE, length: HIGH_RESERVE, type: E820_RESERVED });
  } else if (ramBytes > MB) {
    map.push({ base: MB, length: ramBytes - MB, type: E820_RESERVED });
  }
  map.push({ base: 0xfffc0000, length: 0x40000, type: E820_RESERVED });
  return map;
}

/** KiB of conventional memory, as INT 12h reports it. */
export function memLowerKiB(ramBytes: number): number {
  return Math.floor(Math.min(ramBytes, EBDA_BASE) / 1024);
}

/**
 * KiB of usable memory contiguous from 1 MiB, computed from the map the way QEMU's multiboot
 * option ROM does (follow usable entries that extend the run starting at 1 MiB).
 */
export function memUpperKiB(ramBytes: number): number {
  const map = e820Map(ramBytes);
  let end = MB;
  for (let again = true; again; ) {
    again = false;
    for (const e of map) {
      if (e.type !== E820_USABLE) continue;
      if (e.base <= end && end < e.base + e.length) {
        end = e.base + e.length;
        again = true;
      }
    }
  }
  return Math.floor((end - MB) / 1024);
}
