// The hypervisor panel's page: tabs Overview, Exits, Memory, Translate, VMCS, Translation cache and
// Hypercalls, fed by the extension with the adapter's ringside/* answers. Plain DOM with the theme's
// CSS variables and codicons; no remote content (the page's CSP forbids it).
import type { ToPanel, FromPanel, PanelData, TabId, MappingColumns, Unavailable, RunState } from './messages';
import type { RingsideCpuState, RingsideExits, RingsideVmcs, RingsideTranslationCache, RingsideHypercalls, RingsideTranslation } from '../adapter/dap/protocol';
import { VirtualList, toRows, filterRows, parseFilter, hex, sizeText, flagText, type MappingRows } from './vlist';
import { renderWalk } from './walk';
import { TABS, tabAbsent, tabsFor, memoryTablesFor, modeLabel, vmxText, type PanelMode } from './modes';

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
/** Exit reasons with a `vmexit` breakpoint set (the extension tells). */
let exitBps = new Set<number>();

/** The session's mode, once there is a session. */
function currentMode(): PanelMode | undefined {
  return model.virtualization ? { virtualization: model.virtualization, memoryVirtualization: model.memoryVirtualization } : undefined;
}

function hypercallsMade(): number {
  const x = model.data.hypercalls;
  return x && !isUnavailable(x) ? x.calls.reduce((n, c) => n + c.count, 0) : 0;
}

// ------------------------------------------------------------------ frame

const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
const tabbar = h('div', { class: 'tabs', role: 'tablist' });
const content = h('div', { class: 'content' });
document.body.append(h('header', {}, tabbar, status), content);

const pages = new Map<TabId, HTMLElement>();
for (const t of TABS) {
  const b = h('button', { class: 'tab', role: 'tab', id: `tab-${t.id}`, 'data-tab': t.id, 'aria-controls': `page-${t.id}` }, icon(t.icon), h('span', {}, t.label));
  b.addEventListener('click', () => selectTab(t.id));
  if (t.needs) b.title = `${t.label} (only in the modes that have it)`;
  tabbar.append(b);
  const page = h('section', { class: 'page', id: `page-${t.id}`, role: 'tabpanel', 'aria-labelledby': `tab-${t.id}` });
  pages.set(t.id, page);
  content.append(page);
}

/**
 * Shows the tabs the session's mode has. A tab the mode lacks stays hidden unless it is the one open
 * (asked for by name): then its page says why it is empty.
 */
function updateTabs(): void {
  const shown = new Set(tabsFor(currentMode(), hypercallsMade()));
  for (const b of Array.from(tabbar.querySelectorAll<HTMLButtonElement>('.tab'))) {
    const id = b.dataset.tab as TabId;
    b.hidden = !shown.has(id) && id !== tab;
    b.classList.toggle('absent', !shown.has(id));
  }
}

/** A new session (or another mode): a tab this mode lacks gives way to Overview. */
let lastMode = '';
function modeChanged(): void {
  const mode = currentMode();
  const label = mode ? modeLabel(mode) : '';
  if (label === lastMode) return;
  lastMode = label;
  if (mode && !tabsFor(mode, hypercallsMade()).includes(tab)) selectTab('overview');
  else updateTabs();
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
  updateTabs();
  post({ type: 'tab', tab: id });
  if (id === 'memory') memoryList.render();
}

function isUnavailable(x: unknown): x is Unavailable {
  return !!x && typeof x === 'object' && (x as Unavailable).available === false;
}

function unavailable(what: string, u: Unavailable | undefined): HTMLElement {
  if (!u) {
    const why = model.run === 'none' ? 'start a Ringside debug session and stop the guest' : model.run === 'running' ? 'the guest is running: it shows when the guest stops' : 'waiting for the adapter';
    return h('div', { class: 'empty' }, icon('info'), h('span', {}, `${what}: no data yet (${why}).`));
  }
  const mode = currentMode();
  return h('div', { class: 'absent-card' }, icon('circle-slash'),
    h('div', {}, h('div', { class: 'absent-title' }, `${what}: not available${mode ? ` under ${modeLabel(mode)}` : ''}`), h('div', { class: 'absent-reason' }, u.reason)));
}

/** The page of a tab the mode does not have: says so, and which mode has it. */
function absentPage(tabId: TabId, what: string): HTMLElement | undefined {
  const why = tabAbsent(tabId, currentMode(), hypercallsMade());
  if (!why) return undefined;
  return unavailable(what, { available: false, reason: why });
}

// ------------------------------------------------------------------ status line

function renderStatus(): void {
  const run = model.run;
  const label: Record<RunState, string> = { none: 'No Ringside session', starting: 'Starting…', running: 'Running', stopped: 'Stopped', ended: 'Ended' };
  const ic: Record<RunState, string> = { none: 'circle-slash', starting: 'loading', running: 'play-circle', stopped: 'debug-pause', ended: 'debug-stop' };
  const m = currentMode();
  const mode = m ? modeLabel(m) : '';
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
  const program = model.program ?? model.session ?? '';
  const mode = currentMode();
  const absent = mode ? TABS.map((t) => ({ t, why: tabAbsent(t.id, mode, hypercallsMade()) })).filter((x) => x.why) : [];
  p.replaceChildren(
    h('h2', {}, 'Virtual machine'),
    kv([
      ['Program', h('span', { title: program }, program.split(/[\\/]/).pop() ?? program)],
      ['Virtualization', c.virtualization],
      ['Memory virtualization', model.memoryVirtualization ?? (c.virtualization === 'none' ? 'none (guest-physical is host-physical)' : c.virtualization === 'vtx' ? 'ept' : 'shadow')],
      ['VMX', vmxText(c.virtualization, c.vmx)],
    ]),
    h('h2', {}, 'vCPU 0'),
    kv([
      ['State', c.shutdown ? 'shut down (triple fault)' : c.halted ? 'halted (HLT)' : model.run],
      ['Mode', c.mode],
      ['CPL', h('span', { class: 'rings' }, ...ringCells, c.guestRing !== c.cpl ? h('span', { class: 'believed-text' }, `runs at ring ${c.cpl}; the guest believes ring ${c.guestRing}`) : undefined)],
      ['CS:EIP', `${hex(c.cs, 4)}:${hex(c.eip)}${c.location ? '  ' + c.location : ''}`],
      ['IOPL', String(c.iopl)],
      ['CR0 / CR3 / CR4', `${hex(c.cr0)} / ${hex(c.cr3)} / ${hex(c.cr4)}`],
      ['Paging', c.paging],
      ['Retired instructions', c.icount.toLocaleString('en-US')],
      // the software monitors record their traps with VMX's reasons, but they are not VM exits
      [c.virtualization === 'vtx' || c.virtualization === 'none' ? 'VM exits' : 'Monitor traps', isUnavailable(exits) ? `none (${exits.reason})` : exits ? exits.total.toLocaleString('en-US') : c.virtualization === 'none' ? 'none: no hypervisor in plain emulation' : '—'],
      ['Last stop', c.stopReason ?? model.reason ?? ''],
    ]),
    ...(absent.length ? [h('h2', {}, `Not under ${modeLabel(mode!)}`),
      h('ul', { class: 'absent-list' }, ...absent.map(({ t, why }) => h('li', {}, icon(t.icon), h('span', { class: 'absent-name' }, t.label), h('span', { class: 'absent-reason' }, why!))))] : []),
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
  const absent = absentPage('exits', 'VM exits');
  if (absent) { p.replaceChildren(absent); return; }
  if (!x || isUnavailable(x)) { p.replaceChildren(unavailable('VM exits', x as Unavailable | undefined)); return; }
  const e = x as RingsideExits;
  if (!e.total) { p.replaceChildren(h('div', { class: 'empty' }, icon('info'), h('span', {}, 'No VM exits yet: the guest has run without leaving non-root mode.'))); return; }
  const byCount = [...e.counts].sort((a, b) => b.count - a.count);
  p.replaceChildren(
    h('h2', {}, `Exits by reason — ${e.total.toLocaleString('en-US')} in all`),
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', {}, 'reason'), h('th', { class: 'num' }, 'count'), h('th', { class: 'num' }, '%'), h('th', {}, 'last guest EIP'), h('th', {}, ''))),
      h('tbody', {}, ...byCount.map((c) => {
        const set = exitBps.has(c.reason);
        const b = h('button', { class: `link break-exit${set ? ' set' : ''}`, 'data-reason': String(c.reason),
          title: set ? `The guest stops on every ${c.name} exit (function breakpoint "vmexit ${c.name}"). Click to remove it.` : `Add the function breakpoint "vmexit ${c.name}": stop after every ${c.name} exit` },
        icon(set ? 'debug-breakpoint' : 'debug-breakpoint-unverified'), set ? 'Breaks on this exit' : 'Break on this exit');
        b.addEventListener('click', () => post({ type: 'breakOnExit', reason: c.reason, name: c.name }));
        return h('tr', {}, h('td', { class: 'nowrap' }, `${c.reason} ${c.name}`), h('td', { class: 'num' }, c.count.toLocaleString('en-US')),
          h('td', { class: 'num' }, e.total ? ((100 * c.count) / e.total).toFixed(1) : '0'), h('td', {}, eipLink(c.lastEip)), h('td', {}, b));
      }))),
    h('h2', {}, `Last ${e.recent.length} exits`),
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'icount'), h('th', {}, 'reason'), h('th', {}, 'qualification'), h('th', {}, 'guest EIP'))),
      h('tbody', {}, ...[...e.recent].reverse().map((r) => h('tr', {}, h('td', { class: 'num' }, r.icount.toLocaleString('en-US')), h('td', { class: 'nowrap' }, `${r.reason} ${r.name}`),
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
const clearFilter = h('button', { class: 'link clear-filter', title: 'Clear the filter', hidden: '' }, icon('close'), 'clear');
clearFilter.addEventListener('click', () => { filterInput.value = ''; memFilter = ''; applyMemoryFilter(); });
pages.get('memory')!.append(h('div', { class: 'toolbar' }, kindButtons, filterInput, clearFilter, memCount), memHeader, memoryList.element);

function tableData(kind: TableKind): MappingColumns | Unavailable | undefined {
  return kind === 'guest' ? model.data.guestTables : kind === 'ept' ? model.data.ept : model.data.shadow;
}

function columnsFor(kind: TableKind, rows: MappingRows) {
  // The shadow table shows the whole chain: GVA, the guest's frame (GPA), and where it really is (HPA).
  const head = kind === 'guest' ? ['GVA range', 'GPA', 'size', 'access'] : kind === 'ept' ? ['GPA range', 'HPA', 'size', 'access', 'type / page'] : ['GVA range', 'GPA', 'HPA', 'size', 'access', 'guest PTE @ its GPA'];
  return {
    header: head,
    cells: (r: number) => {
      const from = rows.from[r], size = rows.size[r];
      const cells = [`${hex(from)}–${hex(from + size - 1)}`, hex(rows.to[r]), sizeText(size), flagText(rows.flags[r], kind)];
      if (kind === 'shadow') cells.splice(1, 0, rows.via ? hex(rows.via[r]) : '');
      if (kind !== 'guest') cells.push(rows.extra?.[r] ?? '');
      return cells;
    },
  };
}

function renderMemory(): void {
  // The tables this mode has: the guest's own, and EPT or the shadow tables.
  const kinds = memoryTablesFor(currentMode());
  if (!kinds.includes(memKind)) memKind = 'guest';
  for (const b of Array.from(kindButtons.querySelectorAll<HTMLButtonElement>('button'))) {
    b.hidden = !kinds.includes(b.dataset.kind as TableKind);
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
  memoryList.element.dataset.kind = memKind; // each table has its own column widths
  memoryList.setData(columnsFor(memKind, memRows), memRows.count, idx);
  const ms = performance.now() - t0;
  const plural = memRows.count === 1 ? 'range' : 'ranges';
  memCount.textContent = f ? `${memoryList.shown.toLocaleString('en-US')} of ${memRows.count.toLocaleString('en-US')} ${plural} match` : `${memRows.count.toLocaleString('en-US')} ${plural}`;
  memCount.classList.toggle('warn', !!f && memoryList.shown === 0);
  clearFilter.hidden = !memFilter.trim();
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
  const absent = absentPage('vmcs', 'VMCS');
  if (absent) { p.replaceChildren(absent); return; }
  if (!v || isUnavailable(v)) { p.replaceChildren(unavailable('VMCS', v as Unavailable | undefined)); return; }
  const vm = v as RingsideVmcs;
  p.replaceChildren(h('h2', {}, `VMCS at host-physical ${hex(vm.address)}`), ...vm.sections.flatMap((s) => [
    h('h3', {}, s.name),
    h('table', { class: 'grid' }, h('tbody', {}, ...s.fields.map((f) => h('tr', {}, h('td', {}, f.name), h('td', { class: 'mono' }, typeof f.value === 'number' ? hex(f.value) : f.value), h('td', {}, f.decoded ?? ''))))),
  ]));
}

// The translation cache can hold thousands of blocks: a filter, and by default only the blocks in
// which the translator rewrote something (the interesting ones).
let tcOnlyRewritten = true;
let tcFilter = '';
const tcList = h('div', { class: 'tc-list' });
const tcSummary = h('div', { class: 'tc-summary' });
const tcFilterInput = h('input', { type: 'text', class: 'filter', placeholder: 'Filter by guest address or instruction: 0x100020, out, iret', 'aria-label': 'translation cache filter', spellcheck: 'false' });
const tcToggle = h('input', { type: 'checkbox', id: 'tc-rewritten', checked: '' });
tcToggle.addEventListener('change', () => { tcOnlyRewritten = tcToggle.checked; renderTcache(); });
tcFilterInput.addEventListener('input', () => { tcFilter = tcFilterInput.value.trim().toLowerCase(); renderTcache(); });
const tcToolbar = h('div', { class: 'toolbar' }, tcFilterInput, h('label', { class: 'check', for: 'tc-rewritten' }, tcToggle, ' only blocks with rewritten instructions'));

function renderTcache(): void {
  const p = pages.get('tcache')!;
  const t = model.data.tcache;
  const absent = absentPage('tcache', 'Translation cache');
  if (absent) { p.replaceChildren(absent); return; }
  if (!t || isUnavailable(t)) { p.replaceChildren(unavailable('Translation cache', t as Unavailable | undefined)); return; }
  const tc = t as RingsideTranslationCache;
  const rewrites = (b: RingsideTranslationCache['blocks'][number]) => b.instructions.filter((i) => i.rewritten).length;
  const withRewrites = tc.blocks.filter((b) => rewrites(b) > 0).length;
  const f = tcFilter;
  const num = /^(0x)?[0-9a-f]+$/i.test(f) ? parseInt(f.replace(/^0x/i, ''), 16) : NaN;
  const shown = tc.blocks.filter((b) => (!tcOnlyRewritten || rewrites(b) > 0)
    && (!f || b.instructions.some((i) => i.text.toLowerCase().includes(f) || (i.rewritten ?? '').toLowerCase().includes(f)) || (num >= b.guest && num < b.guest + b.guestLength)));
  const LIMIT = 300;
  tcSummary.replaceChildren(
    h('h2', {}, `${tc.blocks.length.toLocaleString('en-US')} translated blocks · ${withRewrites.toLocaleString('en-US')} with rewritten instructions · `,
      h('span', { title: 'blocks dropped: written over by the guest, or all at once when the code is recompiled (a breakpoint change does that)' }, `${tc.invalidations.toLocaleString('en-US')} invalidated`)),
    h('p', { class: 'hint' }, 'The guest kernel runs at ring 1; each block of its code is translated before it runs. Innocuous instructions are kept, sensitive and privileged ones become calls into the monitor (marked ', icon('arrow-right'), '). User code runs as it is.'));
  tcList.replaceChildren(...(shown.length ? shown.slice(0, LIMIT).map((b, k) => {
    const n = rewrites(b);
    const d = h('details', { class: `block${n ? ' has-rewrites' : ''}` },
      h('summary', {}, h('span', { class: 'mono' }, hex(b.guest)),
        h('span', { class: 'block-meta' }, h('span', {}, `${b.instructions.length} instruction${b.instructions.length === 1 ? '' : 's'}`), n ? h('span', { class: 'rewrite-count' }, `${n} rewritten`) : undefined,
          h('span', { title: 'where the translation sits in the translation cache, and how many records it has' }, `cache slot ${b.host}, ${b.hostLength} record${b.hostLength === 1 ? '' : 's'}`),
          h('span', { title: 'runs through the interpreter (a block compiled to a function stops counting)' }, `ran ${b.executions.toLocaleString('en-US')}×`))),
      h('table', { class: 'grid tc' }, h('tbody', {}, ...b.instructions.map((i) => h('tr', { class: i.rewritten ? 'rewritten' : '' },
        h('td', {}, eipLink(i.address)), h('td', { class: 'mono' }, i.text),
        h('td', {}, i.rewritten ? h('span', { class: 'monitor-call', title: 'rewritten by the translator into this call to the monitor' }, icon('arrow-right'), i.rewritten) : '')))))) as HTMLDetailsElement;
    if (k < 3 && n) d.open = true;
    return d;
  }) : [h('div', { class: 'empty' }, icon('info'), h('span', {}, tc.blocks.length ? 'No block matches.' : 'Nothing translated yet: the guest kernel has not run.'))]),
  ...(shown.length > LIMIT ? [h('div', { class: 'empty' }, `${(shown.length - LIMIT).toLocaleString('en-US')} more blocks: filter to find one`)] : []));
  if (!p.contains(tcList)) p.replaceChildren(tcSummary, tcToolbar, tcList);
}

function renderHypercalls(): void {
  const p = pages.get('hypercalls')!;
  const x = model.data.hypercalls;
  const absent = absentPage('hypercalls', 'Hypercalls');
  if (absent) { p.replaceChildren(absent); return; }
  if (!x || isUnavailable(x)) { p.replaceChildren(unavailable('Hypercalls', x as Unavailable | undefined)); return; }
  const hc = x as RingsideHypercalls;
  const total = hc.calls.reduce((n, c) => n + c.count, 0);
  const calls = [...hc.calls].sort((a, b) => a.number - b.number);
  p.replaceChildren(
    h('h2', {}, `Hypercalls — ${total.toLocaleString('en-US')} made`),
    h('p', { class: 'hint' }, 'VMCALL with the number in EAX; arguments in EBX, ECX, EDX, ESI; the result comes back in EAX (negative: an error).'),
    total ? h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'nr'), h('th', {}, 'name'), h('th', { class: 'num' }, 'calls'), h('th', { class: 'num' }, '%'), h('th', {}, 'last arguments (EBX, ECX, EDX, ESI)'), h('th', {}, 'last result'))),
      h('tbody', {}, ...calls.map((c) => h('tr', {}, h('td', { class: 'num' }, String(c.number)), h('td', { class: 'mono' }, c.name), h('td', { class: 'num' }, c.count.toLocaleString('en-US')),
        h('td', { class: 'num' }, ((100 * c.count) / total).toFixed(1)),
        h('td', { class: 'mono' }, (c.lastArgs ?? []).map(shortNum).join(', ')), h('td', { class: 'mono' }, c.lastResult === undefined ? '' : resultText(c.lastResult))))))
      : h('div', { class: 'empty' }, icon('info'), h('span', {}, 'No hypercall yet.')),
  );
}

/** A register value, short: small ones in decimal, addresses in hex. */
function shortNum(v: number): string {
  const u = v >>> 0;
  return u < 0x1000 ? String(u) : '0x' + u.toString(16).toUpperCase();
}

/** A hypercall result: small negatives are error numbers. */
function resultText(v: number): string {
  const s = v | 0;
  const errno: Record<number, string> = { 1: 'EPERM', 12: 'ENOMEM', 14: 'EFAULT', 16: 'EBUSY', 22: 'EINVAL', 38: 'ENOSYS' };
  return s < 0 && s > -4096 ? `${s} (${errno[-s] ?? 'error'})` : shortNum(v);
}

// ------------------------------------------------------------------ messages

function renderAll(): void {
  updateTabs();
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
      if (m.run === 'starting') {
        // A new session: nothing of the last one's data stays on screen.
        model.data = {};
        model.cpu = undefined;
        model.translation = undefined;
        // Filters typed for the last guest's addresses would hide this one's rows.
        filterInput.value = memFilter = '';
        tcFilterInput.value = tcFilter = '';
        modeChanged();
        renderAll();
        break;
      }
      if (m.cpu) model.cpu = m.cpu;
      modeChanged();
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
    case 'exitBreakpoints':
      exitBps = new Set(m.reasons);
      renderExits();
      break;
    case 'syntheticMappings':
      syntheticMappings(m.count);
      break;
  }
});

selectTab(tab);
renderAll();
post({ type: 'ready' });
