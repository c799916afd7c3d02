// The ringside/* custom requests: shapes engine data into the types of protocol.ts. Each answers with
// what the guest believes (its CR3, its tables, its ring); where a hypervisor keeps the processor's
// apart, the processor's is given beside it (`real`, `shadowSteps`, `processor: true`).
import type { Engine } from '../debugger/engine';
import { cpuMode, readTable } from '../debugger/descriptors';
import { translate, mappings, pagingMode, walk, processorPaging, shadowPaging, readThrough, type WalkStep } from '../debugger/pagetables';
import { codeAddress, guestCr, processorCr, guestRing, guestTables, processorTables, keptApart } from '../debugger/registers';
import { evaluate, parseExpr } from '../debugger/expr';
import type { Ept } from '../hypervisor/ept';
import type {
  RingsideCpuState, RingsideTranslateArgs, RingsideTranslation, RingsidePageTablesArgs, RingsidePageTables,
  RingsideTableArgs, RingsideDescriptorTable, RingsideWalkStep, RingsideEptWalk,
} from './protocol';

export class CustomRequestError extends Error {}

export function cpuState(e: Engine, virtualization: string): RingsideCpuState {
  const cpu = e.cpu;
  const pc = codeAddress(cpu);
  return {
    vcpu: 0,
    virtualization,
    mode: cpuMode(cpu),
    cpl: cpu.cpl,
    guestRing: guestRing(cpu),
    iopl: (cpu.getEflags() >>> 12) & 3,
    // only vtx uses VMX; the software monitors run the guest without it
    vmx: virtualization === 'vtx' ? 'non-root' : 'none',
    cs: cpu.segSel[1],
    eip: cpu.eip >>> 0,
    pc,
    location: e.where(pc),
    cr0: guestCr(cpu, 0),
    cr3: guestCr(cpu, 3),
    cr4: guestCr(cpu, 4),
    paging: pagingMode(cpu),
    icount: cpu.icount,
    halted: cpu.halted,
    shutdown: cpu.shutdown,
    transitions: e.transitions.slice(-32).map((t) => ({ ...t })),
    stopReason: e.lastStop?.description,
    ...(keptApart(cpu).size ? { real: { cr0: processorCr(cpu, 0), cr3: processorCr(cpu, 3), cr4: processorCr(cpu, 4) } } : {}),
  };
}

function addressArg(e: Engine, a: unknown): number {
  if (typeof a === 'number' && Number.isFinite(a)) return a >>> 0;
  if (typeof a === 'string' && a.trim()) return evaluate(parseExpr(a), e.env()) >>> 0;
  throw new CustomRequestError("'address' must be a number or an expression");
}

const stepOut = (s: WalkStep): RingsideWalkStep => ({ level: s.level, table: s.table >>> 0, index: s.index, entryAddress: s.entryAddr >>> 0, raw: s.raw >>> 0, rawHigh: s.rawHi >>> 0, bits: s.bits, target: s.target >>> 0 });

/** The guest's walk from its own CR3; with shadow paging the shadow walk beside it, with EPT each
 *  guest-physical access of the walk through EPT (`ept`: the VM's, when it has one). */
export function translateRequest(e: Engine, args: RingsideTranslateArgs, ept?: Ept): RingsideTranslation {
  const t = translate(e.cpu, e.memory, addressArg(e, args?.address));
  const out: RingsideTranslation = { linear: t.linear, paging: t.paging, cr3: t.cr3, steps: t.steps.map(stepOut) };
  if (t.physical !== undefined) {
    out.physical = t.physical;
    // Without a hypervisor guest-physical is host-physical (guest RAM starts host memory).
    const hpa = e.cpu.gpaPeek(t.physical & ~0xfff);
    if (hpa >= 0) out.host = ((hpa & ~0xfff) | (t.physical & 0xfff)) >>> 0;
    out.pageSize = t.pageSize;
    out.writable = t.writable;
    out.user = t.user;
    out.nx = t.nx;
  }
  if (t.fault) out.fault = t.fault;
  if (shadowPaging(e.cpu)) {
    const real = processorPaging(e.cpu);
    const s = walk(real, t.linear);
    out.shadowRoot = real.cr3 >>> 0;
    out.shadowSteps = s.steps.map(stepOut);
  }
  if (ept) out.eptWalks = eptWalks(ept, t.steps.map((s) => [`${s.level} read`, s.entryAddr] as [string, number]).concat(t.physical !== undefined ? [['final GPA', t.physical]] : []));
  return out;
}

const EPT_LEVELS = ['', 'PTE', 'PDE', 'PDPTE', 'PML4E'];

/** Each guest-physical access of a walk, through EPT: the entries read and the host address. */
function eptWalks(ept: Ept, accesses: [string, number][]): RingsideEptWalk[] {
  return accesses.map(([purpose, gpa]) => {
    const entries = ept.walkEntries(gpa);
    const steps = entries.map((x) => {
      const leaf = x.level === 1 || ((x.level === 2 || x.level === 3) && (x.lo & 0x80) !== 0);
      const bits = [x.lo & 1 ? 'R' : '-', x.lo & 2 ? 'W' : '-', x.lo & 4 ? 'X' : '-'].join('');
      const extra = leaf && x.lo & 7 ? [`MT ${(x.lo >>> 3) & 7}`, ...(x.lo & 0x80 && x.level > 1 ? ['large'] : []), ...(x.lo & 0x100 ? ['A'] : []), ...(x.lo & 0x200 ? ['D'] : [])] : [];
      return { level: EPT_LEVELS[x.level], entryAddress: x.address >>> 0, raw: x.lo >>> 0, rawHigh: x.hi >>> 0, bits: [bits, ...extra], target: (x.lo & ~0xfff) >>> 0 };
    });
    const w: RingsideEptWalk = { purpose, gpa: gpa >>> 0, steps };
    const hpa = ept.walk(gpa, 0, false, true);
    if (hpa >= 0) w.hpa = hpa >>> 0;
    else w.fault = 'not mapped in EPT yet: the first access exits with EPT_VIOLATION and the hypervisor maps it';
    return w;
  });
}

export function pageTablesRequest(e: Engine, args: RingsidePageTablesArgs): RingsidePageTables {
  const limit = args?.limit && args.limit > 0 ? args.limit : 100000;
  let list = mappings(e.cpu, e.memory, limit + 1);
  const truncated = list.length > limit;
  list = list.slice(0, limit);
  if (args?.from !== undefined || args?.to !== undefined) {
    const from = args.from ?? 0, to = args.to ?? 0x100000000;
    list = list.filter((m) => m.linear < to && m.linear + m.size > from);
  }
  return { paging: pagingMode(e.cpu), cr3: guestCr(e.cpu, 3), mappings: list, truncated };
}

export function tableRequest(e: Engine, args: RingsideTableArgs): RingsideDescriptorTable {
  const cpu = e.cpu;
  const table = args?.table ?? 'gdt';
  // The guest's tables by default; `processor` asks for the shadow copies the processor really uses.
  const real = args?.processor === true;
  if (real && !keptApart(cpu).has(table === 'ldt' ? 'ldtr' : table === 'idt' ? 'idtr' : 'gdtr')) {
    throw new CustomRequestError(`the processor uses the guest's own ${table.toUpperCase()} in this mode: there is no shadow copy`);
  }
  const r = real ? processorTables(cpu) : guestTables(cpu);
  let base: number, limit: number;
  if (table === 'gdt') { base = r.gdtBase; limit = r.gdtLimit; }
  else if (table === 'idt') {
    if (!cpu.isProtected()) throw new CustomRequestError('the CPU is in real mode: the IDTR points at the interrupt vector table, not an IDT');
    base = r.idtBase; limit = r.idtLimit;
  } else if (table === 'ldt') {
    if (!(r.ldtrSel & 0xfffc)) return { table, base: 0, limit: 0, entries: [] };
    base = r.ldtrBase; limit = r.ldtrLimit;
  } else throw new CustomRequestError("'table' must be \"gdt\", \"ldt\" or \"idt\"");
  const view = real ? processorPaging(cpu) : undefined;
  const mem = view ? { read: (a: number, n: number) => readThrough(view, a, n) } : e.memory;
  const entries = readTable(mem, base, limit, 8192, table === 'ldt' ? 4 : 0).map((d) => {
    if ('unreadable' in d) return d;
    const out = { index: d.index, selector: d.selector, low: d.lo, high: d.hi, present: d.present, dpl: d.dpl, summary: d.summary, fields: d.fields, base: d.base, limit: d.limit } as RingsideDescriptorTable['entries'][number] & { target?: unknown };
    if (d.target) (out as { target?: unknown }).target = { ...d.target, symbol: e.symbols.describe(d.target.offset) };
    return out;
  });
  return { table, base, limit, entries: entries as RingsideDescriptorTable['entries'], ...(real ? { processor: true } : {}) };
}
