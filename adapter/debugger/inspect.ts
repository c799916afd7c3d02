// Inspectors: the machine's state as named trees for the Variables view (and the panel): general
// registers, EFLAGS, segments, control and system registers, privilege, descriptor tables, MSRs and
// the guest's page tables. Children are built lazily, when a node is expanded.
//
// Each view shows the guest's belief first: under a hypervisor that keeps control state apart (shadow
// paging, trap-and-emulate), CR0/CR3/CR4, GDTR/IDTR/TR and the page and descriptor tables are the ones
// the guest loaded, and the processor's own ("cr3 (real)": the shadow root; the shadow GDT...) follow
// as separate entries.
import type { Engine } from './engine';
import {
  readRegister, writeRegister, GPR32, SEGMENTS, FLAG_BITS, MSR_LIST, peekMsr, keptApart, guestCr, processorCr, guestRing,
  guestTables, processorTables, type TableRegisters,
} from './registers';
import { segmentCache, readTable, readIvt, cpuMode, describeEflags, describeCr0, describeCr4, CR0_BITS, CR4_BITS } from './descriptors';
import { tableEntries, guestPaging, processorPaging, shadowPaging, readThrough, type PagingView } from './pagetables';
import type { GuestMemory } from './memory';

export interface VarNode {
  name: string;
  /** Numbers are formatted by the front end (hex by default); strings are shown as they are. */
  value: number | bigint | string;
  /** Width in bits for hex formatting. */
  bits?: number;
  /** One-line decoding shown after the number ("PE PG"). */
  detail?: string;
  /** Linear address this value points at (registers holding addresses, table entries). */
  memory?: { address: number; space: 'linear' | 'physical' };
  /** Expression that evaluates to this value (Watch, data breakpoints). */
  evaluateName?: string;
  children?: () => VarNode[];
  /** Writes a new value (validated); throws with a message to show. */
  set?: (value: number) => void;
}

export interface ScopeDef {
  name: string;
  /** Shown expanded first (VS Code expands non-expensive scopes). */
  expensive: boolean;
  nodes: () => VarNode[];
}

function reg(e: Engine, name: string, bits = 32, extra: Partial<VarNode> = {}): VarNode {
  return {
    name, value: readRegister(e.cpu, name) ?? 0, bits, evaluateName: name,
    set: (v) => { writeRegister(e.cpu, name, v); e.afterStateEdit(); },
    ...extra,
  };
}

function general(e: Engine): VarNode[] {
  const cpu = e.cpu;
  const rows = GPR32.map((n) => reg(e, n, 32, { memory: { address: readRegister(cpu, n)!, space: 'linear' } }));
  const eipLin = (cpu.segBase[1] + cpu.eip) >>> 0;
  rows.push(reg(e, 'eip', 32, { memory: { address: eipLin, space: 'linear' }, detail: e.symbols.describe(eipLin) }));
  rows.push(reg(e, 'eflags', 32, { detail: describeEflags(cpu.getEflags()) }));
  return rows;
}

function eflags(e: Engine): VarNode[] {
  const rows: VarNode[] = [reg(e, 'eflags', 32, { detail: describeEflags(e.cpu.getEflags()) })];
  for (const [name] of FLAG_BITS) rows.push(reg(e, name, 1));
  rows.push(reg(e, 'iopl', 2));
  return rows;
}

function segments(e: Engine): VarNode[] {
  const cpu = e.cpu;
  const ring = guestRing(cpu);
  return SEGMENTS.map((s, k) => {
    const c = segmentCache(cpu, k);
    // A deprivileged guest kernel's CS and SS carry ring 1 where the guest put ring 0.
    const moved = ring !== cpu.cpl && (k === 1 || k === 2) ? `; RPL ${c.selector & 3} on the processor, the guest believes ring ${ring}` : '';
    return {
      name: s, value: c.selector, bits: 16, detail: c.summary + moved, evaluateName: s,
      children: () => [
        { name: 'selector', value: c.selector, bits: 16, detail: `index ${c.selector >> 3}, ${c.selector & 4 ? 'LDT' : 'GDT'}, RPL ${c.selector & 3}` },
        { name: 'base', value: c.base, bits: 32, evaluateName: `${s}.base`, memory: { address: c.base, space: 'linear' } },
        { name: 'limit', value: c.limit, bits: 32, evaluateName: `${s}.limit` },
        { name: 'DPL', value: String(c.dpl) },
        { name: 'type', value: c.summary },
        { name: 'access rights', value: c.ar, bits: 32, evaluateName: `${s}.ar`, detail: c.usable ? 'usable' : 'unusable' },
      ],
    };
  });
}

function bitsOf(v: number, table: [string, number][]): VarNode[] {
  return table.map(([n, b]) => ({ name: n, value: String((v >>> b) & 1) }));
}

const hex = (v: number) => '0x' + (v >>> 0).toString(16);

/** "cr0 (real)": the processor's value beside the guest's, read-only, with what the hypervisor changed. */
function realCr(e: Engine, n: 0 | 3 | 4): VarNode {
  const cpu = e.cpu;
  const v = processorCr(cpu, n), g = guestCr(cpu, n);
  let detail: string;
  if (n === 3) {
    detail = v === g ? "the processor's, now the guest's own (the guest is not paging)"
      : `the processor's: root of the hypervisor's shadow page tables, host-physical ${hex(v & ~0xfff)}`;
  } else {
    const describe = n === 0 ? describeCr0 : describeCr4;
    const added = v & ~g, removed = g & ~v;
    detail = `${describe(v)}; the processor's` + (added ? `: the hypervisor sets ${describe(added)}` : '') + (removed ? `${added ? ',' : ':'} clears ${describe(removed)}` : '') + (v === g ? ', now the same as the guest\'s' : '');
  }
  return { name: `cr${n} (real)`, value: v, bits: 32, detail, evaluateName: `real.cr${n}` };
}

function tableRows(t: TableRegisters, suffix: string, why: string): VarNode[] {
  const real = suffix !== '';
  const lin = (address: number) => (real ? undefined : { address, space: 'linear' as const });
  return [
    { name: `gdtr${suffix}`, value: `base ${hex(t.gdtBase)}, limit ${hex(t.gdtLimit)}`, detail: why || undefined, memory: lin(t.gdtBase) },
    { name: `idtr${suffix}`, value: `base ${hex(t.idtBase)}, limit ${hex(t.idtLimit)}`, detail: why || undefined, memory: lin(t.idtBase) },
    { name: `ldtr${suffix}`, value: `selector ${hex(t.ldtrSel)}, base ${hex(t.ldtrBase)}, limit ${hex(t.ldtrLimit)}` },
    { name: `tr${suffix}`, value: `selector ${hex(t.trSel)}, base ${hex(t.trBase)}, limit ${hex(t.trLimit)}`, detail: why || undefined, memory: lin(t.trBase) },
  ];
}

function control(e: Engine): VarNode[] {
  const cpu = e.cpu;
  const apart = keptApart(cpu);
  const cr0 = guestCr(cpu, 0), cr4 = guestCr(cpu, 4), cr3 = guestCr(cpu, 3);
  const rows: VarNode[] = [reg(e, 'cr0', 32, { detail: describeCr0(cr0), children: () => bitsOf(cr0, CR0_BITS) })];
  if (apart.has('cr0')) rows.push(realCr(e, 0));
  rows.push(reg(e, 'cr2', 32, { detail: 'last page-fault address', memory: { address: guestCr(cpu, 2), space: 'linear' } }));
  rows.push(reg(e, 'cr3', 32, {
    detail: `page directory at ${hex(cr3 & ~0xfff)}`, memory: { address: cr3 & ~0xfff, space: 'physical' },
    children: () => [{ name: 'page directory base', value: cr3 & ~0xfff, bits: 32 }, { name: 'PWT', value: String((cr3 >>> 3) & 1) }, { name: 'PCD', value: String((cr3 >>> 4) & 1) }],
  }));
  if (apart.has('cr3')) rows.push(realCr(e, 3));
  rows.push(reg(e, 'cr4', 32, { detail: describeCr4(cr4), children: () => bitsOf(cr4, CR4_BITS) }));
  if (apart.has('cr4')) rows.push(realCr(e, 4));
  rows.push(reg(e, 'efer', 32, { detail: cpu.efer & 0x800 ? 'NXE' : '-' }));
  const g = tableRows(guestTables(cpu), '', '');
  const p = tableRows(processorTables(cpu), ' (real)', "the processor's: the monitor's shadow table in its window");
  const names = ['gdtr', 'idtr', 'ldtr', 'tr'] as const;
  names.forEach((n, k) => {
    rows.push(g[k]);
    if (!apart.has(n)) return;
    if (p[k].value === g[k].value) p[k].detail = "the processor's, now the guest's own (the guest kernel is not deprivileged)";
    rows.push(p[k]);
  });
  for (const n of [0, 1, 2, 3, 6, 7]) rows.push(reg(e, `dr${n}`, 32));
  return rows;
}

/** Under the monitor modes there is no VMX: a software monitor deprivileges the guest kernel. */
const MONITOR_MODES = ['trap-and-emulate', 'binary-translation', 'paravirt'];

function privilege(e: Engine, virtualization: string): VarNode[] {
  const cpu = e.cpu;
  const recent = e.transitions.slice(-8).reverse();
  const ring = guestRing(cpu);
  const monitor = MONITOR_MODES.includes(virtualization);
  return [
    { name: 'CPL', value: String(cpu.cpl), evaluateName: 'cpl', detail: ring !== cpu.cpl ? `ring ${cpu.cpl} on the processor: the ${virtualization} monitor runs the guest kernel deprivileged` : `ring ${cpu.cpl}` },
    // Under trap-and-emulate the guest kernel runs deprivileged; without a hypervisor the two agree.
    {
      name: 'guest believes', value: `ring ${ring}`, evaluateName: 'guest.ring',
      detail: virtualization === 'none' ? 'no hypervisor: the guest runs at its true ring'
        : ring !== cpu.cpl ? `its privileged instructions trap to the monitor, which does what ring ${ring} would` : undefined,
    },
    { name: 'IOPL', value: String((cpu.getEflags() >>> 12) & 3) },
    { name: 'mode', value: cpuMode(cpu) },
    {
      name: 'VMX', value: virtualization === 'none' ? 'no VMX operation (virtualization: none)'
        : monitor ? `no VMX operation: a software monitor (${virtualization}) runs the guest` : `non-root (${virtualization})`,
    },
    {
      name: 'recent ring transitions', value: `${e.transitions.length}`,
      children: () => recent.map((t, k) => ({ name: `${k}`, value: `ring ${t.from} -> ring ${t.to}: ${t.cause} (at instruction ${t.icount}, EIP 0x${t.eip.toString(16)})` })),
    },
  ];
}

function descriptorTables(e: Engine): VarNode[] {
  const cpu = e.cpu;
  type Reader = Pick<GuestMemory, 'read'>;
  const table = (mem: Reader, base: number, limit: number, ti: 0 | 4) => () => readTable(mem, base, limit, 512, ti).map((d) => {
    if ('unreadable' in d) return { name: `[${d.index}]`, value: 'unreadable' } as VarNode;
    return { name: `[${d.index}] 0x${d.selector.toString(16).padStart(4, '0')}`, value: d.summary, children: d.fields.length ? () => d.fields.map(([n, v]) => ({ name: n, value: v })) : undefined } as VarNode;
  });
  const gates = (mem: Reader, base: number, limit: number) => () => readTable(mem, base, limit, 256).map((d) => {
    if ('unreadable' in d) return { name: `[${d.index}]`, value: 'unreadable' } as VarNode;
    const target = d.target ? e.symbols.describe(d.target.offset) : undefined;
    return { name: `[0x${d.index.toString(16)}]`, value: d.summary + (target ? ` (${target})` : ''), children: () => d.fields.map(([n, v]) => ({ name: n, value: v })) } as VarNode;
  });
  const t = guestTables(cpu);
  const rows: VarNode[] = [
    { name: 'GDT', value: `base ${hex(t.gdtBase)}, ${Math.floor((t.gdtLimit + 1) / 8)} entries`, children: table(e.memory, t.gdtBase, t.gdtLimit, 0) },
  ];
  if (cpu.isProtected()) {
    rows.push({ name: 'IDT', value: `base ${hex(t.idtBase)}, ${Math.floor((t.idtLimit + 1) / 8)} gates`, children: gates(e.memory, t.idtBase, t.idtLimit) });
  } else {
    rows.push({
      name: 'IVT', value: `base ${hex(t.idtBase)}`,
      children: () => readIvt(e.memory, t.idtBase, t.idtLimit).map((v) => ({ name: `[0x${v.vector.toString(16)}]`, value: `${v.segment.toString(16).padStart(4, '0')}:${v.offset.toString(16).padStart(4, '0')}` })),
    });
  }
  rows.push(t.ldtrSel & 0xfffc
    ? { name: 'LDT', value: `selector ${hex(t.ldtrSel)}, base ${hex(t.ldtrBase)}`, children: table(e.memory, t.ldtrBase, t.ldtrLimit, 4) }
    : { name: 'LDT', value: 'none (LDTR is null)' });
  // The monitor's shadow copies, which the processor really uses, live in its window: read them through
  // the processor's own (shadow) page tables.
  const apart = keptApart(cpu);
  if (cpu.isProtected() && (apart.has('gdtr') || apart.has('idtr'))) {
    const p = processorTables(cpu);
    const view = processorPaging(cpu);
    const mem: Reader = { read: (a, n) => readThrough(view, a, n) };
    rows.push({ name: 'shadow GDT (real)', value: `base ${hex(p.gdtBase)}, ${Math.floor((p.gdtLimit + 1) / 8)} entries: the guest's with DPL 0 made 1`, children: table(mem, p.gdtBase, p.gdtLimit, 0) });
    rows.push({ name: 'shadow IDT (real)', value: `base ${hex(p.idtBase)}, ${Math.floor((p.idtLimit + 1) / 8)} gates: the guest's, turned into ring-1 trap gates`, children: gates(mem, p.idtBase, p.idtLimit) });
  }
  return rows;
}

function msrs(e: Engine): VarNode[] {
  return MSR_LIST.map(([idx, name]) => {
    const v = peekMsr(e.cpu, idx);
    return { name: `${name} (0x${idx.toString(16)})`, value: v === undefined ? 'not readable' : v, bits: 64 };
  });
}

/** Present entries of a set of tables, level by level; guest-physical ones carry memory references. */
function levels(view: PagingView, guestPhysical: boolean) {
  const level = (table: number, lvl: number, base: number): VarNode[] => tableEntries(view, table, lvl, base).map((t) => {
    const names = view.mode === 'pae' ? ['PDPTE', 'PDE', 'PTE'] : ['PDE', 'PTE'];
    const end = (t.linear + t.span - 1) >>> 0;
    return {
      name: `${names[lvl]} [${t.index}] 0x${t.linear.toString(16).padStart(8, '0')}-0x${end.toString(16).padStart(8, '0')}`,
      value: `${t.leaf ? 'frame' : 'table'} 0x${t.target.toString(16)} ${t.bits.join(' ')}`,
      memory: guestPhysical ? { address: t.target, space: 'physical' } : undefined,
      children: t.leaf ? undefined : () => level(t.target, lvl + 1, t.linear),
    };
  });
  return level;
}

function pageTables(e: Engine): VarNode[] {
  const cpu = e.cpu;
  const view = guestPaging(cpu, e.memory);
  const mode = view.mode;
  const rows: VarNode[] = [];
  if (mode === 'off') rows.push({ name: 'paging', value: 'off (CR0.PG = 0): linear = physical' });
  else {
    const root = mode === 'pae' ? view.cr3 & ~0x1f : view.cr3 & ~0xfff;
    rows.push(
      { name: 'mode', value: mode === 'pae' ? 'PAE (3 levels)' : '32-bit (2 levels)' + (view.pse ? ', PSE' : '') },
      { name: mode === 'pae' ? 'page-directory-pointer table' : 'page directory', value: `at ${hex(root)}, the guest's CR3 (present entries below)`, memory: { address: root >>> 0, space: 'physical' }, children: () => levels(view, true)(root, 0, 0) },
    );
  }
  // Under shadow paging the MMU walks the hypervisor's tables: host-physical, built from the guest's.
  if (shadowPaging(cpu)) {
    const real = processorPaging(cpu);
    const root = real.mode === 'pae' ? real.cr3 & ~0x1f : real.cr3 & ~0xfff;
    rows.push({
      name: 'shadow page tables (real)', value: `root at host-physical ${hex(root)}, the processor's CR3: what the MMU walks, filled in as the guest touches its pages`,
      children: real.mode === 'off' ? undefined : () => levels(real, false)(root, 0, 0),
    });
  }
  return rows;
}

export function scopes(e: Engine, virtualization: string): ScopeDef[] {
  return [
    { name: 'General', expensive: false, nodes: () => general(e) },
    { name: 'EFLAGS', expensive: false, nodes: () => eflags(e) },
    { name: 'Segments', expensive: false, nodes: () => segments(e) },
    { name: 'Control and system', expensive: false, nodes: () => control(e) },
    { name: 'Privilege', expensive: false, nodes: () => privilege(e, virtualization) },
    { name: 'Descriptor tables', expensive: true, nodes: () => descriptorTables(e) },
    { name: 'MSRs', expensive: true, nodes: () => msrs(e) },
    { name: 'Page tables', expensive: true, nodes: () => pageTables(e) },
  ];
}
