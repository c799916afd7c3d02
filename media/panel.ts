// The hypervisor panel's page: tabs Overview, Exits, Memory, Translate, VMCS, Translation cache and
// Hypercalls, fed by the extension with the adapter's ringside/* answers. Plain DOM with the theme's
// CSS variables and codicons; no remote content (the page's CSP forbids it).
import type { ToPanel, FromPanel, PanelData, TabId, MappingColumns, Unavailable, RunState } from './messages';
import type { RingsideCpuState, RingsideExits, RingsideVmcs, RingsideTranslationCache, RingsideHypercalls, RingsideTranslation } from '../adapter/dap/protocol';
import { VirtualList, toRows, filterRows, parseFilter, hex, sizeText, flagText, type MappingRows } from './vlist';
import { renderWalk } from './walk';

declare function acquireVsCodeApi(): { postMessage(m: FromPanel): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();
const post = (m: FromPanel) => vscode.postMessage(m);

type Child = Node | string | undefined | false;
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== undefined && c !== false) e.append(c);
  return e;
}
const icon = (name: string) => h('span', { class: `codicon codicon-${name}`, 'aria-hidden': 'true' });

const TABS: { id: TabId; label: string; icon: string }[] = [
  { id: 'overview', label: 'Overview', icon: 'dashboard' },
  { id: 'exits', label: 'Exits', icon: 'debug-step-out' },
  { id: 'memory', label: 'Memory', icon: 'table' },
  { id: 'translate', label: 'Translate', icon: 'arrow-swap' },
  { id: 'vmcs', label: 'VMCS', icon: 'settings-gear' },
  { id: 'tcache', label: 'Translation cache', icon: 'file-binary' },
  { id: 'hypercalls', label: 'Hypercalls', icon: 'call-outgoing' },
];

interface Model {
  run: RunState;
  session?: string;
  virtualization?: string;
  memoryVirtualization?: string;
  reason?: string;
  program?: string;
  cpu?: RingsideCpuState;
  data: PanelData;
  translation?: { address: string; result?: RingsideTranslation; error?: string };
}

const saved = (vscode.getState() as { tab?: TabId; translate?: string } | undefined) ?? {};
let tab: TabId = saved.tab ?? 'overview';
const model: Model = { run: 'none', data: {} };

// ------------------------------------------------------------------ frame

const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
const tabbar = h('div', { class: 'tabs', role: 'tablist' });
const content = h('div', { class: 'content' });
document.body.append(h('header', {}, tabbar, status), content);

const pages = new Map<TabId, HTMLElement>();
for (const t of TABS) {
  const b = h('button', { class: 'tab', role: 'tab', id: `tab-${t.id}`, 'data-tab': t.id, 'aria-controls': `page-${t.id}` }, icon(t.icon), h('span', {}, t.label));
  b.addEventListener('click', () => selectTab(t.id));
  tabbar.append(b);
  const page = h('section', { class: 'page', id: `page-${t.id}`, role: 'tabpanel', 'aria-labelledby': `tab-${t.id}` });
  pages.set(t.id, page);
  content.append(page);
}

function selectTab(id: TabId): void {
  tab = id;
  vscode.setState({ ...(vscode.getState() as object), tab });
  for (const b of Array.from(tabbar.querySelectorAll<HTMLButtonElement>('.tab'))) {
    const on = b.dataset.tab === id;
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', String(on));
  }
  for (const [k, p] of pages) p.hidden = k !== id;
  post({ type: 'tab', tab: id });
  if (id === 'memory') memoryList.render();
}

function isUnavailable(x: unknown): x is Unavailable {
  return !!x && typeof x === 'object' && (x as Unavailable).available === false;
}

function unavailable(what: string, u: Unavailable | undefined): HTMLElement {
  return h('div', { class: 'empty' }, icon('info'), h('span', {}, u ? `${what}: ${u.reason}` : `${what}: no data yet (start a Ringside session and stop the guest).`));
}

// ------------------------------------------------------------------ status line

function renderStatus(): void {
  const run = model.run;
  const label: Record<RunState, string> = { none: 'No Ringside session', starting: 'Starting…', running: 'Running', stopped: 'Stopped', ended: 'Ended' };
  const ic: Record<RunState, string> = { none: 'circle-slash', starting: 'loading', running: 'play-circle', stopped: 'debug-pause', ended: 'debug-stop' };
  const mode = model.virtualization ? `${model.virtualization}${model.memoryVirtualization ? '+' + model.memoryVirtualization : ''}` : '';
  status.className = `status status-${run}`;
  const parts: Child[] = [icon(ic[run] + (run === 'starting' || run === 'running' ? ' codicon-modifier-spin' : '')),
    h('span', { class: 'status-run' }, label[run]),
    mode ? h('span', { class: 'badge' }, mode) : undefined,
    run === 'stopped' && model.reason ? h('span', { class: 'status-reason', title: model.reason }, model.reason) : undefined,
    run === 'running' ? h('span', { class: 'status-reason' }, 'refreshing at most once a second') : undefined];
  status.replaceChildren(...parts.filter((p): p is Node => p instanceof Node));
}

// ------------------------------------------------------------------ overview

function kv(rows: [string, Child][]): HTMLElement {
  return h('table', { class: 'kv' }, ...rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))));
}

function renderOverview(): void {
  const p = pages.get('overview')!;
  const c = model.cpu;
  if (!c) { p.replaceChildren(unavailable('Overview', undefined)); return; }
  const exits = model.data.exits;
  const ringCells = [0, 1, 2, 3].map((r) => h('span', { class: `ring${r === c.cpl ? ' current' : ''}${r === c.guestRing && c.guestRing !== c.cpl ? ' believed' : ''}`, title: r === c.cpl ? 'current privilege level' : '' }, String(r)));
  p.replaceChildren(
    h('h2', {}, 'Virtual machine'),
    kv([
      ['Program', model.program ?? model.session ?? ''],
      ['Virtualization', c.virtualization],
      ['Memory virtualization', model.memoryVirtualization ?? (c.virtualization === 'none' ? 'none (guest-physical is host-physical)' : c.virtualization === 'vtx' ? 'ept' : 'shadow')],
      ['VMX', c.vmx === 'none' ? 'no VMX operation' : `VMX ${c.vmx}`],
    ]),
    h('h2', {}, 'vCPU 0'),
    kv([
      ['State', c.shutdown ? 'shut down (triple fault)' : c.halted ? 'halted (HLT)' : model.run],
      ['Mode', c.mode],
      ['CPL', h('span', { class: 'rings' }, ...ringCells, c.guestRing !== c.cpl ? ` guest believes ring ${c.guestRing}` : '')],
      ['CS:EIP', `${hex(c.cs, 4)}:${hex(c.eip)}${c.location ? '  ' + c.location : ''}`],
      ['IOPL', String(c.iopl)],
      ['CR0 / CR3 / CR4', `${hex(c.cr0)} / ${hex(c.cr3)} / ${hex(c.cr4)}`],
      ['Paging', c.paging],
      ['Retired instructions', c.icount.toLocaleString('en-US')],
      ['VM exits', isUnavailable(exits) ? `none (${exits.reason})` : exits ? exits.total.toLocaleString('en-US') : c.virtualization === 'none' ? 'none: no hypervisor in plain emulation' : '—'],
      ['Last stop', c.stopReason ?? model.reason ?? ''],
    ]),
  );
}

// ------------------------------------------------------------------ exits

function eipLink(eip: number, loc?: string): HTMLElement {
  const a = h('a', { href: '#', class: 'eip', title: 'Reveal the source line or disassembly' }, loc ? `${hex(eip)} ${loc}` : hex(eip));
  a.addEventListener('click', (ev) => { ev.preventDefault(); post({ type: 'reveal', address: eip }); });
  return a;
}

function renderExits(): void {
  const p = pages.get('exits')!;
  const x = model.data.exits;
  if (!x || isUnavailable(x)) { p.replaceChildren(unavailable('VM exits', x as Unavailable | undefined)); return; }
  const e = x as RingsideExits;
  const byCount = [...e.counts].sort((a, b) => b.count - a.count);
  p.replaceChildren(
    h('h2', {}, `Exits by reason — ${e.total.toLocaleString('en-US')} in all`),
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', {}, 'reason'), h('th', { class: 'num' }, 'count'), h('th', { class: 'num' }, '%'), h('th', {}, 'last guest EIP'), h('th', {}, ''))),
      h('tbody', {}, ...byCount.map((c) => {
        const b = h('button', { class: 'link', title: `Break on exit ${c.reason} ${c.name}` }, icon('debug-breakpoint'), ' break');
        b.addEventListener('click', () => post({ type: 'breakOnExit', reason: c.reason, name: c.name }));
        return h('tr', {}, h('td', {}, `${c.reason} ${c.name}`), h('td', { class: 'num' }, c.count.toLocaleString('en-US')),
          h('td', { class: 'num' }, e.total ? ((100 * c.count) / e.total).toFixed(1) : '0'), h('td', {}, eipLink(c.lastEip)), h('td', {}, b));
      }))),
    h('h2', {}, `Last ${e.recent.length} exits`),
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'icount'), h('th', {}, 'reason'), h('th', {}, 'qualification'), h('th', {}, 'guest EIP'))),
      h('tbody', {}, ...[...e.recent].reverse().map((r) => h('tr', {}, h('td', { class: 'num' }, r.icount.toLocaleString('en-US')), h('td', {}, `${r.reason} ${r.name}`),
        h('td', {}, `${hex(r.qualification)} ${r.decoded}`), h('td', {}, eipLink(r.eip, r.location)))))),
  );
}

// ------------------------------------------------------------------ memory

type TableKind = 'guest' | 'ept' | 'shadow';
let memKind: TableKind = 'guest';
let memRows: MappingRows | undefined;
let memFilter = '';
const memoryList = new VirtualList({ header: [], cells: () => [] });
const memHeader = h('div', { class: 'mem-title' });
const memCount = h('span', { class: 'count' });
const filterInput = h('input', { type: 'text', class: 'filter', placeholder: 'Filter by address: 0xC0000000, 0x1000-0x1FFF, 0x400000+0x1000', 'aria-label': 'address filter', spellcheck: 'false' });
const kindButtons = h('div', { class: 'segmented', role: 'radiogroup' });
for (const [k, label] of [['guest', 'Guest page tables'], ['ept', 'EPT'], ['shadow', 'Shadow page tables']] as const) {
  const b = h('button', { 'data-kind': k, role: 'radio' }, label);
  b.addEventListener('click', () => { memKind = k; renderMemory(); });
  kindButtons.append(b);
}
let filterTimer = 0;
filterInput.addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = window.setTimeout(() => { memFilter = filterInput.value; applyMemoryFilter(); }, 120);
});
pages.get('memory')!.append(h('div', { class: 'toolbar' }, kindButtons, filterInput, memCount), memHeader, memoryList.element);

function tableData(kind: TableKind): MappingColumns | Unavailable | undefined {
  return kind === 'guest' ? model.data.guestTables : kind === 'ept' ? model.data.ept : model.data.shadow;
}

function columnsFor(kind: TableKind, rows: MappingRows) {
  const head = kind === 'guest' ? ['GVA range', 'GPA', 'size', 'access'] : kind === 'ept' ? ['GPA range', 'HPA', 'size', 'access', 'type / page'] : ['GVA range', 'HPA', 'size', 'access', 'from guest PTE'];
  return {
    header: head,
    cells: (r: number) => {
      const from = rows.from[r], size = rows.size[r];
      const cells = [`${hex(from)}–${hex(from + size - 1)}`, hex(rows.to[r]), sizeText(size), flagText(rows.flags[r], kind)];
      if (kind !== 'guest') cells.push(rows.extra?.[r] ?? '');
      return cells;
    },
  };
}

function renderMemory(): void {
  for (const b of Array.from(kindButtons.querySelectorAll<HTMLButtonElement>('button'))) {
    const on = b.dataset.kind === memKind;
    b.classList.toggle('active', on);
    b.setAttribute('aria-checked', String(on));
  }
  const d = tableData(memKind);
  const name = memKind === 'guest' ? 'Guest page tables' : memKind === 'ept' ? 'EPT' : 'Shadow page tables';
  if (!d || isUnavailable(d)) {
    memRows = undefined;
    memHeader.replaceChildren(unavailable(name, d as Unavailable | undefined));
    memoryList.element.hidden = true;
    memCount.textContent = '';
    return;
  }
  memoryList.element.hidden = false;
  memRows = toRows(d);
  memHeader.replaceChildren(h('span', {}, d.title), d.truncated ? h('span', { class: 'warn' }, icon('warning'), ' more mappings exist than were fetched: filter by address to see others') : '');
  applyMemoryFilter();
}

function applyMemoryFilter(): void {
  if (!memRows) return;
  const f = parseFilter(memFilter);
  const bad = memFilter.trim() !== '' && !f;
  filterInput.classList.toggle('invalid', bad);
  const t0 = performance.now();
  const idx = filterRows(memRows, f);
  memoryList.setData(columnsFor(memKind, memRows), memRows.count, idx);
  const ms = performance.now() - t0;
  memCount.textContent = `${memoryList.shown.toLocaleString('en-US')} of ${memRows.count.toLocaleString('en-US')} ranges`;
  memCount.dataset.ms = ms.toFixed(1);
  const d = tableData(memKind);
  if (f && d && !isUnavailable(d) && d.truncated) post({ type: 'rangeQuery', table: memKind, from: f.from, to: f.to });
}

/** Self-check of the list at scale: a synthetic table of `count` unmergeable 4 KiB mappings. */
function syntheticMappings(count: number): number {
  const from: number[] = new Array(count), to: number[] = new Array(count), size: number[] = new Array(count), flags: number[] = new Array(count);
  for (let k = 0; k < count; k++) { from[k] = k * 0x1000; to[k] = ((k * 7919) % count) * 0x1000; size[k] = 0x1000; flags[k] = k & 3; }
  model.data.guestTables = { from, to, size, flags, truncated: false, title: `synthetic: ${count.toLocaleString('en-US')} mappings` };
  memKind = 'guest';
  selectTab('memory');
  const t0 = performance.now();
  renderMemory();
  return performance.now() - t0;
}
(window as unknown as { ringsideSyntheticMappings: typeof syntheticMappings }).ringsideSyntheticMappings = syntheticMappings;

// ------------------------------------------------------------------ translate

const gvaInput = h('input', { type: 'text', class: 'gva', placeholder: 'guest virtual address or expression: 0x40000000, esp, user_task', 'aria-label': 'guest virtual address', spellcheck: 'false', value: saved.translate ?? '' });
const gvaButton = h('button', { class: 'primary' }, icon('arrow-right'), ' Translate');
const walkArea = h('div', { class: 'walk-area' });
const translate = () => {
  const a = gvaInput.value.trim();
  if (!a) return;
  vscode.setState({ ...(vscode.getState() as object), translate: a });
  walkArea.replaceChildren(h('div', { class: 'empty' }, icon('loading codicon-modifier-spin'), ' walking…'));
  post({ type: 'translate', address: a });
};
gvaButton.addEventListener('click', translate);
gvaInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') translate(); });
pages.get('translate')!.append(h('div', { class: 'toolbar' }, gvaInput, gvaButton), walkArea);

function renderTranslation(): void {
  const t = model.translation;
  if (!t) { walkArea.replaceChildren(h('div', { class: 'empty' }, icon('info'), ' Type a guest virtual address and press Enter to see the whole walk.')); return; }
  if (t.error || !t.result) { walkArea.replaceChildren(h('div', { class: 'empty error' }, icon('error'), ` ${t.error ?? 'no answer'}`)); return; }
  const r = t.result;
  const summary = r.fault ? `${hex(r.linear)} does not translate: ${r.fault}` : `${hex(r.linear)} → GPA ${hex(r.physical ?? 0)}${r.host !== undefined ? ` → HPA ${hex(r.host)}` : ''}`;
  walkArea.replaceChildren(h('div', { class: r.fault ? 'walk-summary fault' : 'walk-summary' }, summary), renderWalk(r, Math.max(520, walkArea.clientWidth || content.clientWidth || 900)));
}

// ------------------------------------------------------------------ VMCS, translation cache, hypercalls

function renderVmcs(): void {
  const p = pages.get('vmcs')!;
  const v = model.data.vmcs;
  if (!v || isUnavailable(v)) { p.replaceChildren(unavailable('VMCS', v as Unavailable | undefined)); return; }
  const vm = v as RingsideVmcs;
  p.replaceChildren(h('h2', {}, `VMCS at host-physical ${hex(vm.address)}`), ...vm.sections.flatMap((s) => [
    h('h3', {}, s.name),
    h('table', { class: 'grid' }, h('tbody', {}, ...s.fields.map((f) => h('tr', {}, h('td', {}, f.name), h('td', { class: 'mono' }, typeof f.value === 'number' ? hex(f.value) : f.value), h('td', {}, f.decoded ?? ''))))),
  ]));
}

function renderTcache(): void {
  const p = pages.get('tcache')!;
  const t = model.data.tcache;
  if (!t || isUnavailable(t)) { p.replaceChildren(unavailable('Translation cache', t as Unavailable | undefined)); return; }
  const tc = t as RingsideTranslationCache;
  p.replaceChildren(h('h2', {}, `${tc.blocks.length} translated blocks, ${tc.invalidations} invalidations`), ...tc.blocks.slice(0, 500).map((b) => h('details', { class: 'block' },
    h('summary', {}, `${hex(b.guest)} (${b.guestLength} bytes) → ${hex(b.host)} (${b.hostLength} bytes), run ${b.executions} times`),
    h('table', { class: 'grid' }, h('tbody', {}, ...b.instructions.map((i) => h('tr', { class: i.rewritten ? 'rewritten' : '' }, h('td', {}, eipLink(i.address)), h('td', { class: 'mono' }, i.text), h('td', { class: 'mono' }, i.rewritten ? `→ ${i.rewritten}` : ''))))))));
}

function renderHypercalls(): void {
  const p = pages.get('hypercalls')!;
  const x = model.data.hypercalls;
  if (!x || isUnavailable(x)) { p.replaceChildren(unavailable('Hypercalls', x as Unavailable | undefined)); return; }
  const hc = x as RingsideHypercalls;
  p.replaceChildren(h('h2', {}, 'Hypercalls (VMCALL: EAX number; EBX, ECX, EDX, ESI arguments; result in EAX)'), h('table', { class: 'grid' },
    h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'nr'), h('th', {}, 'name'), h('th', { class: 'num' }, 'calls'), h('th', {}, 'last arguments'), h('th', {}, 'last result'))),
    h('tbody', {}, ...hc.calls.map((c) => h('tr', {}, h('td', { class: 'num' }, String(c.number)), h('td', {}, c.name), h('td', { class: 'num' }, c.count.toLocaleString('en-US')),
      h('td', { class: 'mono' }, (c.lastArgs ?? []).map((a) => hex(a)).join(', ')), h('td', { class: 'mono' }, c.lastResult === undefined ? '' : hex(c.lastResult)))))));
}

// ------------------------------------------------------------------ messages

function renderAll(): void {
  renderStatus();
  renderOverview();
  renderExits();
  renderMemory();
  renderTranslation();
  renderVmcs();
  renderTcache();
  renderHypercalls();
  document.body.dataset.run = model.run;
}

window.addEventListener('message', (ev: MessageEvent<ToPanel>) => {
  const m = ev.data;
  switch (m.type) {
    case 'state':
      model.run = m.run;
      model.session = m.session;
      model.virtualization = m.virtualization;
      model.memoryVirtualization = m.memoryVirtualization;
      model.reason = m.reason;
      model.program = m.program;
      if (m.cpu) model.cpu = m.cpu;
      renderStatus();
      renderOverview();
      document.body.dataset.run = model.run;
      break;
    case 'data':
      model.data = { ...model.data, ...m.data };
      if (m.data.cpu) model.cpu = m.data.cpu;
      renderAll();
      // A stop brings fresh tables: redo the last translation against them.
      if (model.translation && m.data.guestTables && gvaInput.value.trim()) post({ type: 'translate', address: gvaInput.value.trim() });
      break;
    case 'translation':
      model.translation = { address: m.address, result: m.result, error: m.error };
      if (gvaInput.value.trim() !== m.address) gvaInput.value = m.address;
      renderTranslation();
      break;
    case 'showTab':
      selectTab(m.tab);
      break;
    case 'syntheticMappings':
      syntheticMappings(m.count);
      break;
  }
});

selectTab(tab);
renderAll();
post({ type: 'ready' });
