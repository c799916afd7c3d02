// The loaders' public face: what the machine, the runner and the debugger import.

export { loadGuest, DEFAULT_RAM_MIB, MAX_RAM_MIB, MIB, type LoadGuestOptions, type ModuleSpec } from './image';
export { GuestLoadError, NasmError, type NasmDiagnostic } from './errors';
export { GUEST_FORMATS } from './types';
export type {
  GuestFormat, FormatChoice, LoadedGuest, MemoryChunk, InitialState, SegmentInit, DiskImage,
  DiskGeometry, GuestSymbol, MultibootSummary,
} from './types';
export { parseFormat, detectFormat } from './detect';
export { e820Map, memLowerKiB, memUpperKiB, type E820Entry } from './e820';
export { lineForAddress, addressesForLine, type LineMap, type LineEntry } from './listing';
