// Boot sectors, floppy images and raw disk images: the first sector goes to 0x7C00 and the whole
// image becomes a BIOS drive served by INT 13h.
//
// Geometry follows QEMU 7.2 (checked with a boot sector that prints INT 13h AH=08 results):
// - floppies of a standard size get that size's geometry; any other size (a 512-byte boot
//   sector, a few sectors of loader) is presented as a 2.88 MB disk, 80/2/36, and reads past
//   the end of the file return zeros;
// - hard disks: 16 heads, 63 sectors per track, cylinders = sectors / 1008 clamped to 2..16383.
//   (SeaBIOS's AH=08 then reports the last cylinder minus one, keeping one for diagnostics.)

import { GuestLoadError } from './errors';
import { bootSectorState } from './entrystate';
import type { DiskGeometry, DiskImage, InitialState, MemoryChunk } from './types';

export const SECTOR = 512;
export const BOOT_ADDR = 0x7c00;

interface FloppyKind {
  bytes: number;
  geometry: DiskGeometry;
  /** CMOS drive type QEMU picks for this media. */
  type: number;
}

export const FLOPPY_SIZES: readonly FloppyKind[] = [
  { bytes: 163840, geometry: { cylinders: 40, heads: 1, sectorsPerTrack: 8 }, type: 1 },
  { bytes: 184320, geometry: { cylinders: 40, heads: 1, sectorsPerTrack: 9 }, type: 1 },
  { bytes: 327680, geometry: { cylinders: 40, heads: 2, sectorsPerTrack: 8 }, type: 1 },
  { bytes: 368640, geometry: { cylinders: 40, heads: 2, sectorsPerTrack: 9 }, type: 1 },
  { bytes: 737280, geometry: { cylinders: 80, heads: 2, sectorsPerTrack: 9 }, type: 4 },
  { bytes: 1228800, geometry: { cylinders: 80, heads: 2, sectorsPerTrack: 15 }, type: 2 },
  { bytes: 1474560, geometry: { cylinders: 80, heads: 2, sectorsPerTrack: 18 }, type: 4 },
  { bytes: 2949120, geometry: { cylinders: 80, heads: 2, sectorsPerTrack: 36 }, type: 5 },
];
const FLOPPY_288 = FLOPPY_SIZES[FLOPPY_SIZES.length - 1];
export const MAX_FLOPPY_BYTES = FLOPPY_288.bytes;

export function hasBootSignature(bytes: Uint8Array): boolean {
  return bytes.length >= SECTOR && bytes[510] === 0x55 && bytes[511] === 0xaa;
}

export function floppyKind(size: number): FloppyKind {
  return FLOPPY_SIZES.find((f) => f.bytes === size) ?? FLOPPY_288;
}

export function diskGeometry(size: number): DiskGeometry {
  const sectors = Math.ceil(size / SECTOR);
  const cylinders = Math.min(16383, Math.max(2, Math.floor(sectors / (16 * 63))));
  return { cylinders, heads: 16, sectorsPerTrack: 63 };
}

export type BootKind = 'boot' | 'floppy' | 'disk';

export interface BootLoad {
  chunks: MemoryChunk[];
  initial: InitialState;
  disk: DiskImage;
}

/**
 * `boot`: a boot sector, served as a floppy (DL=0) like QEMU -fda. `floppy`: a floppy image.
 * `disk`: a raw hard disk image, DL=0x80. All need the 0x55 0xAA signature: SeaBIOS under QEMU
 * refuses to boot a floppy or disk without it (checked: a signature-less 1.44 MB floppy hangs at
 * "not a bootable disk"), so we say so instead. Images are padded with zeros to whole sectors.
 */
export function loadBootImage(bytes: Uint8Array, name: string, kind: BootKind): BootLoad {
  if (bytes.length === 0) throw new GuestLoadError(`${name}: the image is empty`, name);
  if (!hasBootSignature(bytes)) {
    const why = bytes.length < SECTOR ? `it is ${bytes.length} bytes, shorter than one 512-byte sector` : 'bytes 510-511 are not 0x55 0xAA';
    throw new GuestLoadError(`${name}: not bootable: no boot signature at offset 510 (${why})`, name);
  }
  if (kind === 'floppy' && bytes.length > MAX_FLOPPY_BYTES)
    throw new GuestLoadError(`${name}: ${bytes.length} bytes is larger than any floppy (2.88 MB at most); use --format disk`, name);

  const padded = bytes.length % SECTOR ? new Uint8Array(Math.ceil(bytes.length / SECTOR) * SECTOR) : new Uint8Array(bytes.length);
  padded.set(bytes);
  const drive = kind === 'disk' ? 0x80 : 0x00;
  const disk: DiskImage =
    kind === 'disk'
      ? { bytes: padded, drive, geometry: diskGeometry(padded.length), path: name }
      : (() => {
          const f = floppyKind(padded.length);
          return { bytes: padded, drive, geometry: { ...f.geometry }, floppyType: f.type, path: name };
        })();
  return {
    chunks: [{ addr: BOOT_ADDR, bytes: padded.slice(0, SECTOR), what: 'boot sector' }],
    initial: bootSectorState(drive),
    disk,
  };
}
