// A virtually scrolled table of address mappings: the rows live in typed arrays, only the rows in
// view exist in the DOM, and the address filter works on the arrays, so 1,000,000 mappings scroll
// and filter without stalling the page.
import { MAP_FLAG, type MappingColumns } from './messages';

export interface MappingRows {
  from: Float64Array;
  to: Float64Array;
  size: Float64Array;
  flags: Uint32Array;
  extra?: string[];
  /** The address between `from` and `to`, when a table has one (the shadow table's GPA). */
  via?: Float64Array;
  count: number;
}

export function toRows(c: MappingColumns): MappingRows {
  return { from: Float64Array.from(c.from), to: Float64Array.from(c.to), size: Float64Array.from(c.size), flags: Uint32Array.from(c.flags), extra: c.extra, via: c.via ? Float64Array.from(c.via) : undefined, count: c.from.length };
}

/** Parses "0xc0000000", "c0000000", "0x1000-0x2000" or "0x1000+0x100" into [from, to). */
export function parseFilter(text: string): { from: number; to: number } | undefined {
  const t = text.trim().toLowerCase().replace(/_/g, '');
  if (!t) return undefined;
  // Addresses are hex, with or without 0x or a trailing h.
  const num = (s: string): number | undefined => {
    const x = s.trim().replace(/^0x/, '').replace(/h$/, '');
    return /^[0-9a-f]{1,8}$/.test(x) ? parseInt(x, 16) : undefined;
  };
  const range = /^(.+?)\s*(-|\.\.|\+)\s*(.+)$/.exec(t);
  if (range) {
    const a = num(range[1]), b = num(range[3]);
    if (a === undefined || b === undefined) return undefined;
    return range[2] === '+' ? { from: a, to: a + b } : { from: a, to: b + (range[2] === '-' ? 1 : 0) };
  }
  const a = num(t);
  return a === undefined ? undefined : { from: a, to: a + 1 };
}

/** Indices of rows whose [from, from+size) or [to, to+size) overlaps the filter range. */
export function filterRows(rows: MappingRows, f: { from: number; to: number } | undefined): Uint32Array | undefined {
  if (!f) return undefined;
  const out = new Uint32Array(rows.count);
  let n = 0;
  const { from, to, size } = rows;
  for (let k = 0; k < rows.count; k++) {
    const s = size[k];
    if ((from[k] < f.to && from[k] + s > f.from) || (to[k] < f.to && to[k] + s > f.from)) out[n++] = k;
  }
  return out.subarray(0, n);
}

/** Which rows a viewport shows (with a margin above and below). */
export function visibleWindow(scrollTop: number, viewportHeight: number, rowHeight: number, total: number, margin = 8): { first: number; last: number } {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - margin);
  const last = Math.min(total, Math.ceil((scrollTop + viewportHeight) / rowHeight) + margin);
  return { first, last };
}

export const hex = (n: number, digits = 8): string => '0x' + (n >>> 0).toString(16).toUpperCase().padStart(digits, '0');

export function sizeText(n: number): string {
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

export function flagText(f: number, kind: 'guest' | 'ept' | 'shadow'): string {
  const p: string[] = [];
  if (kind === 'ept') {
    p.push((f & MAP_FLAG.R ? 'R' : '-') + (f & MAP_FLAG.W ? 'W' : '-') + (f & MAP_FLAG.X ? 'X' : '-'));
    if (f & MAP_FLAG.A) p.push('A');
    if (f & MAP_FLAG.D) p.push('D');
    if (f & MAP_FLAG.LARGE) p.push('large');
    return p.join(' ');
  }
  p.push(f & MAP_FLAG.W ? 'RW' : 'RO', f & MAP_FLAG.U ? 'U' : 'S');
  if (f & MAP_FLAG.NX) p.push('NX');
  if (f & MAP_FLAG.G) p.push('G');
  if (f & MAP_FLAG.LARGE) p.push('large');
  if (f & MAP_FLAG.WP) p.push('write-protected');
  if (f & MAP_FLAG.OOS) p.push('out-of-sync');
  return p.join(' ');
}

export interface VListColumns { header: string[]; cells: (row: number) => string[] }

/** The DOM part: a scroller with one tall spacer and a pool of row elements. */
export class VirtualList {
  readonly element: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly body: HTMLDivElement;
  private readonly pool: HTMLDivElement[] = [];
  private indices: Uint32Array | undefined;
  private total = 0;
  private frame = 0;
  rowHeight = 22;

  constructor(private columns: VListColumns, private readonly className = 'vlist') {
    this.element = document.createElement('div');
    this.element.className = className;
    this.element.tabIndex = 0;
    this.element.setAttribute('role', 'grid');
    const head = document.createElement('div');
    head.className = 'vlist-head';
    this.spacer = document.createElement('div');
    this.spacer.className = 'vlist-spacer';
    this.body = document.createElement('div');
    this.body.className = 'vlist-rows';
    this.spacer.appendChild(this.body);
    this.element.append(head, this.spacer);
    this.setHeader(columns.header);
    this.element.addEventListener('scroll', () => this.schedule());
    new ResizeObserver(() => this.schedule()).observe(this.element);
  }

  private setHeader(h: string[]): void {
    const head = this.element.firstChild as HTMLDivElement;
    head.replaceChildren(...h.map((t) => { const c = document.createElement('span'); c.textContent = t; return c; }));
  }

  /** Shows rows [0, total) of the data, or only `indices` when filtered. */
  setData(columns: VListColumns, total: number, indices?: Uint32Array): void {
    this.columns = columns;
    this.setHeader(columns.header);
    // A new filter or table starts at the top.
    if (indices !== this.indices || total !== this.total) this.element.scrollTop = 0;
    this.total = total;
    this.indices = indices;
    const n = indices ? indices.length : total;
    this.spacer.style.height = `${n * this.rowHeight}px`;
    this.render();
  }

  get shown(): number { return this.indices ? this.indices.length : this.total; }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  /** Renders the rows in view; returns how many row elements are in use. */
  render(): number {
    const n = this.shown;
    const headH = (this.element.firstChild as HTMLElement).offsetHeight;
    const { first, last } = visibleWindow(Math.max(0, this.element.scrollTop - headH), this.element.clientHeight || 400, this.rowHeight, n);
    const want = last - first;
    while (this.pool.length < want) {
      const r = document.createElement('div');
      r.className = 'vlist-row';
      r.setAttribute('role', 'row');
      this.body.appendChild(r);
      this.pool.push(r);
    }
    for (let k = 0; k < this.pool.length; k++) {
      const el = this.pool[k];
      if (k >= want) { el.hidden = true; continue; }
      const pos = first + k;
      const row = this.indices ? this.indices[pos] : pos;
      el.hidden = false;
      el.style.transform = `translateY(${pos * this.rowHeight}px)`;
      const cells = this.columns.cells(row);
      if (el.childElementCount !== cells.length) el.replaceChildren(...cells.map(() => document.createElement('span')));
      for (let c = 0; c < cells.length; c++) {
        const cell = el.children[c] as HTMLElement;
        cell.textContent = cells[c];
        cell.title = cells[c]; // long cells (a guest PTE's origin) end in an ellipsis
      }
    }
    return want;
  }
}
