// Flat binaries: the file's bytes at a load address, started in 32-bit protected mode with flat
// segments and paging off (the multiboot entry state without the multiboot registers).
//
// Default load address 0x100000 (1 MiB): the first address above the BIOS areas where a whole
// program fits, and where kernels conventionally live. Sources assembled by Ringside load at
// their own `org` instead (see image.ts). The entry defaults to the load address. ESP starts at
// 0x90000, below the EBDA and clear of the boot structures at 0x9000, so a program may call and
// push before setting its own stack.

import { bootGdtChunk, flatProtectedState } from './entrystate';
import { GuestLoadError } from './errors';
import type { InitialState, MemoryChunk } from './types';

export const DEFAULT_FLAT_LOAD_ADDRESS = 0x100000;
export const FLAT_STACK_TOP = 0x90000;

export interface FlatLoad {
  chunks: MemoryChunk[];
  initial: InitialState;
}

export function loadFlat(bytes: Uint8Array, name: string, loadAddress = DEFAULT_FLAT_LOAD_ADDRESS, entry = loadAddress): FlatLoad {
  if (bytes.length === 0) throw new GuestLoadError(`${name}: the binary is empty`, name);
  if (loadAddress + bytes.length > 0x1_0000_0000) throw new GuestLoadError(`${name}: loaded at ${'0x' + loadAddress.toString(16)} it runs past 4 GiB`, name);
  return {
    // The GDT goes first so a binary loaded over it wins, as the kernel does under QEMU.
    chunks: [bootGdtChunk(), { addr: loadAddress, bytes, what: 'flat binary' }],
    initial: flatProtectedState(entry, { esp: FLAT_STACK_TOP }),
  };
}
