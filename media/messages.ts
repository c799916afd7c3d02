// Messages between the extension (src/panel.ts) and the hypervisor panel's web code (media/).
// Types only: both sides import them; the data shapes are the adapter's (adapter/dap/protocol.ts).
import type {
  RingsideCpuState, RingsideTranslation, RingsideExits, RingsideEpt, RingsideShadow, RingsideVmcs, RingsideTranslationCache,
  RingsideHypercalls, RingsideUnavailable,
} from '../adapter/dap/protocol';

export type RunState = 'none' | 'starting' | 'running' | 'stopped' | 'ended';

/** A list of mappings as columns (compact to post, and typed arrays in the page). */
export interface MappingColumns {
  /** Start address of each range (linear, GVA or GPA by table). */
  from: number[];
  /** Where it maps (GPA or HPA). */
  to: number[];
  size: number[];
  /** Bit flags per row: see MAP_FLAG. */
  flags: number[];
  /** Optional per-row extra text (memory type, guest PTE...). */
  extra?: string[];
  /** Optional address between from and to (the shadow table's guest-physical frame). */
  via?: number[];
  truncated: boolean;
  /** Header of the table, e.g. "CR3 0x00109000, 32-bit paging". */
  title: string;
}

export const MAP_FLAG = { W: 1, U: 2, NX: 4, G: 8, R: 16, X: 32, A: 64, D: 128, WP: 256, OOS: 512, LARGE: 1024 } as const;

export type Unavailable = RingsideUnavailable;

export interface PanelData {
  cpu?: RingsideCpuState;
  guestTables?: MappingColumns | Unavailable;
  ept?: MappingColumns | Unavailable;
  shadow?: MappingColumns | Unavailable;
  exits?: RingsideExits | Unavailable;
  vmcs?: RingsideVmcs | Unavailable;
  tcache?: RingsideTranslationCache | Unavailable;
  hypercalls?: RingsideHypercalls | Unavailable;
  /** Raw EPT/shadow answers, kept for the translate picture's labels. */
  eptRaw?: RingsideEpt;
  shadowRaw?: RingsideShadow;
}

export type ToPanel =
  | { type: 'state'; run: RunState; session?: string; virtualization?: string; memoryVirtualization?: string; reason?: string; cpu?: RingsideCpuState; program?: string }
  | { type: 'data'; data: PanelData }
  | { type: 'translation'; address: string; result?: RingsideTranslation; error?: string }
  | { type: 'showTab'; tab: TabId }
  /** Exit reasons with an enabled `vmexit` function breakpoint. */
  | { type: 'exitBreakpoints'; reasons: number[] }
  /** Test hook: load a synthetic mapping list (used to measure the list with 1,000,000 rows). */
  | { type: 'syntheticMappings'; count: number };

export type TabId = 'overview' | 'exits' | 'memory' | 'translate' | 'vmcs' | 'tcache' | 'hypercalls';

export type FromPanel =
  | { type: 'ready' }
  | { type: 'translate'; address: string }
  | { type: 'refresh' }
  | { type: 'reveal'; address: number }
  | { type: 'breakOnExit'; reason: number; name: string }
  | { type: 'rangeQuery'; table: 'guest' | 'ept' | 'shadow'; from: number; to: number }
  | { type: 'tab'; tab: TabId };
