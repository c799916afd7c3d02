// The ringside/* custom requests: shapes engine data into the types of protocol.ts.
import type { Engine } from '../debugger/engine';
import { cpuMode, readTable } from '../debugger/descriptors';
import { translate, mappings, pagingMode } from '../debugger/pagetables';
import { codeAddress } from '../debugger/registers';
import { evaluate, parseExpr } from '../debugger/expr';
import type {
  RingsideCpuState, RingsideTranslateArgs, RingsideTranslation, RingsidePageTablesArgs, RingsidePageTables,
  RingsideTableArgs, RingsideDescriptorTable,
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
    guestRing: cpu.cpl,
    iopl: (cpu.getEflags() >>> 12) & 3,
    vmx: virtualization === 'none' ? 'none' : 'non-root',
    cs: cpu.segSel[1],
    eip: cpu.eip >>> 0,
    pc,
    location: e.where(pc),
    cr0: cpu.cr0 >>> 0,
    cr3: cpu.cr3 >>> 0,
    cr4: cpu.cr4 >>> 0,
    paging: pagingMode(cpu),
    icount: cpu.icount,
    halted: cpu.halted,
    shutdown: cpu.shutdown,
    transitions: e.transitions.slice(-32).map((t) => ({ ...t })),
    stopReason: e.lastStop?.description,
  };
}

function addressArg(e: Engine, a: unknown): number {
  if (typeof a === 'number' && Number.isFinite(a)) return a >>> 0;
  if (typeof a === 'string' && a.trim()) return evaluate(parseExpr(a), e.env()) >>> 0;
  throw new CustomRequestError("'address' must be a number or an expression");
}

export function translateRequest(e: Engine, args: RingsideTranslateArgs): RingsideTranslation {
  const t = translate(e.cpu, e.memory, addressArg(e, args?.address));
  const out: RingsideTranslation = {
    linear: t.linear, paging: t.paging, cr3: t.cr3,
    steps: t.steps.map((s) => ({ level: s.level, table: s.table >>> 0, index: s.index, entryAddress: s.entryAddr >>> 0, raw: s.raw >>> 0, rawHigh: s.rawHi >>> 0, bits: s.bits, target: s.target >>> 0 })),
  };
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
  return out;
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
  return { paging: pagingMode(e.cpu), cr3: e.cpu.cr3 >>> 0, mappings: list, truncated };
}

export function tableRequest(e: Engine, args: RingsideTableArgs): RingsideDescriptorTable {
  const cpu = e.cpu;
  const table = args?.table ?? 'gdt';
  let base: number, limit: number;
  if (table === 'gdt') { base = cpu.gdtrBase >>> 0; limit = cpu.gdtrLimit & 0xffff; }
  else if (table === 'idt') {
    if (!cpu.isProtected()) throw new CustomRequestError('the CPU is in real mode: the IDTR points at the interrupt vector table, not an IDT');
    base = cpu.idtrBase >>> 0; limit = cpu.idtrLimit & 0xffff;
  } else if (table === 'ldt') {
    if (!(cpu.ldtrSel & 0xfffc)) return { table, base: 0, limit: 0, entries: [] };
    base = cpu.ldtrBase >>> 0; limit = cpu.ldtrLimit >>> 0;
  } else throw new CustomRequestError("'table' must be \"gdt\", \"ldt\" or \"idt\"");
  const entries = readTable(e.memory, base, limit, 8192, table === 'ldt' ? 4 : 0).map((d) => {
    if ('unreadable' in d) return d;
    const out = { index: d.index, selector: d.selector, low: d.lo, high: d.hi, present: d.present, dpl: d.dpl, summary: d.summary, fields: d.fields, base: d.base, limit: d.limit } as RingsideDescriptorTable['entries'][number] & { target?: unknown };
    if (d.target) (out as { target?: unknown }).target = { ...d.target, symbol: e.symbols.describe(d.target.offset) };
    return out;
  });
  return { table, base, limit, entries: entries as RingsideDescriptorTable['entries'] };
}
