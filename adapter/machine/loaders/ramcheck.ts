// "Does it fit in guest RAM?", asked before any big allocation so a damaged size field gives a
// clear message instead of an attempt to allocate gigabytes.

import { GuestLoadError, hex } from './errors';

export const MIB = 1024 * 1024;
export const MAX_RAM_MIB = 3072;

export function checkInRam(name: string, what: string, addr: number, size: number, ramBytes: number): void {
  const end = addr + size;
  if (end <= ramBytes) return;
  const ramMiB = +(ramBytes / MIB).toFixed(2);
  const need = Math.ceil(end / MIB) + 1;
  const hint = need <= MAX_RAM_MIB ? `give it more RAM (--ram ${need})` : `more than the ${MAX_RAM_MIB} MiB a guest can have`;
  throw new GuestLoadError(
    `${name}: image larger than RAM: the ${what} ends at ${hex(end)} (${(end / MIB).toFixed(1)} MiB) but the guest has ${ramMiB} MiB; ${hint}`,
    name,
  );
}
