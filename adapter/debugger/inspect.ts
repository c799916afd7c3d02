// Inspectors: the machine's state as named trees for the Variables view (and the panel): general
// registers, EFLAGS, segments, control and system registers, privilege, descriptor tables, MSRs and
// the guest's page tables. Children are built lazily, when a node is expanded.
import type { Engine } from './engine';
import { readRegister, writeRegister, GPR32, SEGMENTS, FLAG_BITS, MSR_LIST, peekMsr } from './registers';
import { segmentCache, readTable, readIvt, cpuMode, describeEflags, describeCr0, describeCr4, CR0_BITS, CR4_BITS } from './descriptors';
import { tableEntries, pagingMode } from './pagetables';

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
  return SEGMENTS.map((s, k) => {
    const c = segmentCache(cpu, k);
    return {
      name: s, value: c.selector, bits: 16, detail: c.summary, evaluateName: s,
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

function control(e: Engine): VarNode[] {
  const cpu = e.cpu;
  const cr0 = cpu.cr0 >>> 0, cr4 = cpu.cr4 >>> 0, cr3 = cpu.cr3 >>> 0;
  const rows: VarNode[] = [
    reg(e, 'cr0', 32, { detail: describeCr0(cr0), children: () => bitsOf(cr0, CR0_BITS) }),
    reg(e, 'cr2', 32, { detail: 'last page-fault address', memory: { address: cpu.cr2 >>> 0, space: 'linear' } }),
    reg(e, 'cr3', 32, {
      detail: `page directory at 0x${(cr3 & ~0xfff).toString(16)}`, memory: { address: cr3 & ~0xfff, space: 'physical' },
      children: () => [{ name: 'page directory base', value: cr3 & ~0xfff, bits: 32 }, { name: 'PWT', value: String((cr3 >>> 3) & 1) }, { name: 'PCD', value: String((cr3 >>> 4) & 1) }],
    }),
    reg(e, 'cr4', 32, { detail: describeCr4(cr4), children: () => bitsOf(cr4, CR4_BITS) }),
    reg(e, 'efer', 32, { detail: cpu.efer & 0x800 ? 'NXE' : '-' }),
    { name: 'gdtr', value: `base 0x${(cpu.gdtrBase >>> 0).toString(16)}, limit 0x${(cpu.gdtrLimit & 0xffff).toString(16)}`, memory: { address: cpu.gdtrBase >>> 0, space: 'linear' } },
    { name: 'idtr', value: `base 0x${(cpu.idtrBase >>> 0).toString(16)}, limit 0x${(cpu.idtrLimit & 0xffff).toString(16)}`, memory: { address: cpu.idtrBase >>> 0, space: 'linear' } },
    { name: 'ldtr', value: `selector 0x${cpu.ldtrSel.toString(16)}, base 0x${(cpu.ldtrBase >>> 0).toString(16)}, limit 0x${(cpu.ldtrLimit >>> 0).toString(16)}` },
    { name: 'tr', value: `selector 0x${cpu.trSel.toString(16)}, base 0x${(cpu.trBase >>> 0).toString(16)}, limit 0x${(cpu.trLimit >>> 0).toString(16)}`, memory: { address: cpu.trBase >>> 0, space: 'linear' } },
  ];
  for (const n of [0, 1, 2, 3, 6, 7]) rows.push(reg(e, `dr${n}`, 32));
  return rows;
}

function privilege(e: Engine, virtualization: string): VarNode[] {
  const cpu = e.cpu;
  const recent = e.transitions.slice(-8).reverse();
  return [
    { name: 'CPL', value: String(cpu.cpl), detail: `ring ${cpu.cpl}` },
    // Under trap-and-emulate the guest kernel runs deprivileged; without a hypervisor the two agree.
    { name: 'guest believes', value: `ring ${cpu.cpl}`, detail: virtualization === 'none' ? 'no hypervisor: the guest runs at its true ring' : undefined },
    { name: 'IOPL', value: String((cpu.getEflags() >>> 12) & 3) },
    { name: 'mode', value: cpuMode(cpu) },
    { name: 'VMX', value: virtualization === 'none' ? 'no VMX operation (virtualization: none)' : `non-root (${virtualization})` },
    {
      name: 'recent ring transitions', value: `${e.transitions.length}`,
      children: () => recent.map((t, k) => ({ name: `${k}`, value: `ring ${t.from} -> ring ${t.to}: ${t.cause} (at instruction ${t.icount}, EIP 0x${t.eip.toString(16)})` })),
    },
  ];
}

function descriptorTables(e: Engine): VarNode[] {
  const cpu = e.cpu;
  const table = (base: number, limit: number, ti: 0 | 4) => () => readTable(e.memory, base, limit, 512, ti).map((d) => {
    if ('unreadable' in d) return { name: `[${d.index}]`, value: 'unreadable' } as VarNode;
    return { name: `[${d.index}] 0x${d.selector.toString(16).padStart(4, '0')}`, value: d.summary, children: d.fields.length ? () => d.fields.map(([n, v]) => ({ name: n, value: v })) : undefined } as VarNode;
  });
  const rows: VarNode[] = [
    { name: 'GDT', value: `base 0x${(cpu.gdtrBase >>> 0).toString(16)}, ${Math.floor(((cpu.gdtrLimit & 0xffff) + 1) / 8)} entries`, children: table(cpu.gdtrBase, cpu.gdtrLimit & 0xffff, 0) },
  ];
  if (cpu.isProtected()) {
    rows.push({
      name: 'IDT', value: `base 0x${(cpu.idtrBase >>> 0).toString(16)}, ${Math.floor(((cpu.idtrLimit & 0xffff) + 1) / 8)} gates`,
      children: () => readTable(e.memory, cpu.idtrBase, cpu.idtrLimit & 0xffff, 256).map((d) => {
        if ('unreadable' in d) return { name: `[${d.index}]`, value: 'unreadable' };
        const target = d.target ? e.symbols.describe(d.target.offset) : undefined;
        return { name: `[0x${d.index.toString(16)}]`, value: d.summary + (target ? ` (${target})` : ''), children: () => d.fields.map(([n, v]) => ({ name: n, value: v })) };
      }),
    });
  } else {
    rows.push({
      name: 'IVT', value: `base 0x${(cpu.idtrBase >>> 0).toString(16)}`,
      children: () => readIvt(e.memory, cpu.idtrBase, cpu.idtrLimit & 0xffff).map((v) => ({ name: `[0x${v.vector.toString(16)}]`, value: `${v.segment.toString(16).padStart(4, '0')}:${v.offset.toString(16).padStart(4, '0')}` })),
    });
  }
  rows.push(cpu.ldtrSel & 0xfffc
    ? { name: 'LDT', value: `selector 0x${cpu.ldtrSel.toString(16)}, base 0x${(cpu.ldtrBase >>> 0).toString(16)}`, children: table(cpu.ldtrBase, cpu.ldtrLimit, 4) }
    : { name: 'LDT', value: 'none (LDTR is null)' });
  return rows;
}

function msrs(e: Engine): VarNode[] {
  return MSR_LIST.map(([idx, name]) => {
    const v = peekMsr(e.cpu, idx);
    return { name: `${name} (0x${idx.toString(16)})`, value: v === undefined ? 'not readable' : v, bits: 64 };
  });
}

function pageTables(e: Engine): VarNode[] {
  const cpu = e.cpu;
  const mode = pagingMode(cpu);
  if (mode === 'off') return [{ name: 'paging', value: 'off (CR0.PG = 0): linear = physical' }];
  const level = (table: number, lvl: number, base: number): VarNode[] => tableEntries(cpu, e.memory, table, lvl, base).map((t) => {
    const names = mode === 'pae' ? ['PDPTE', 'PDE', 'PTE'] : ['PDE', 'PTE'];
    const end = (t.linear + t.span - 1) >>> 0;
    return {
      name: `${names[lvl]} [${t.index}] 0x${t.linear.toString(16).padStart(8, '0')}-0x${end.toString(16).padStart(8, '0')}`,
      value: `${t.leaf ? 'frame' : 'table'} 0x${t.target.toString(16)} ${t.bits.join(' ')}`,
      memory: { address: t.target, space: 'physical' },
      children: t.leaf ? undefined : () => level(t.target, lvl + 1, t.linear),
    };
  });
  const root = mode === 'pae' ? cpu.cr3 & ~0x1f : cpu.cr3 & ~0xfff;
  return [
    { name: 'mode', value: mode === 'pae' ? 'PAE (3 levels)' : '32-bit (2 levels)' + (cpu.cr4 & 0x10 ? ', PSE' : '') },
    { name: mode === 'pae' ? 'page-directory-pointer table' : 'page directory', value: `at 0x${(root >>> 0).toString(16)} (present entries below)`, memory: { address: root >>> 0, space: 'physical' }, children: () => level(root, 0, 0) },
  ];
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
