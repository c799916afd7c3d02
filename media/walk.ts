// The translation picture: an SVG of the whole walk of one guest virtual address. One box per level
// of the guest's tables (entry address, raw value, decoded bits), then the guest-physical address,
// the EPT walk of it (or the shadow walk) and the host-physical address — or a red box at the level
// that faults, with the reason. Colours come from the theme's CSS variables.
import type { RingsideTranslation, RingsideWalkStep } from '../adapter/dap/protocol';
import { hex } from './vlist';

const NS = 'http://www.w3.org/2000/svg';
const BOX_W = 230, BOX_H = 92, GAP = 44, PAD = 12;
/** Characters of the monospace line font that fit in a box. */
const LINE_CHARS = 30;

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

interface Box { title: string; lines: string[]; kind: 'table' | 'result' | 'fault' | 'start' | 'ept' }

function stepBox(s: RingsideWalkStep, prefix = ''): Box {
  const raw = s.rawHigh ? `${hex(s.rawHigh)}_${hex(s.raw).slice(2)}` : hex(s.raw);
  return {
    title: `${prefix}${s.level} [${s.index}]`,
    lines: [`table ${hex(s.table)}`, `entry @ ${hex(s.entryAddress)}`, `raw ${raw}`, s.bits.join(' ') || '(no bits)'],
    kind: 'table',
  };
}

/** The boxes of a walk, left to right, top to bottom. */
export function walkBoxes(t: RingsideTranslation): { guest: Box[]; second: Box[]; secondTitle?: string } {
  const guest: Box[] = [{ title: 'GVA', lines: [hex(t.linear), `paging ${t.paging}`, `CR3 ${hex(t.cr3)}`], kind: 'start' }];
  for (const s of t.steps) guest.push(stepBox(s));
  const faultBox = (reason: string): Box => ({ title: 'fault', lines: wrap(reason, 30), kind: 'fault' });
  if (t.fault) guest.push(faultBox(t.fault));
  else if (t.physical !== undefined) {
    guest.push({ title: 'GPA', lines: [hex(t.physical), t.pageSize ? `page ${t.pageSize >= 1 << 20 ? `${t.pageSize >> 20} MiB` : `${t.pageSize >> 10} KiB`}` : '', [t.writable ? 'RW' : 'RO', t.user ? 'U' : 'S', t.nx ? 'NX' : ''].filter(Boolean).join(' ')], kind: 'result' });
  }
  const second: Box[] = [];
  let secondTitle: string | undefined;
  if (t.eptWalks?.length) {
    secondTitle = 'EPT: guest-physical to host-physical (each guest table read, then the final GPA)';
    for (const w of t.eptWalks) {
      second.push({ title: `EPT for ${w.purpose}`, lines: [`GPA ${hex(w.gpa)}`, ...w.steps.map((s) => `${s.level} ${hex(s.raw)} ${s.bits.join(' ')}`).slice(0, 3)], kind: 'ept' });
      if (w.fault) second.push(faultBox(w.fault));
    }
  } else if (t.shadowSteps?.length) {
    secondTitle = `Shadow table (root ${hex(t.shadowRoot ?? 0)}): what the MMU really walks, GVA to HPA`;
    for (const s of t.shadowSteps) second.push(stepBox(s, 'shadow '));
  }
  if (!t.fault && t.host !== undefined) {
    const hpa: Box = { title: 'HPA', lines: [hex(t.host), t.host === t.physical ? 'guest RAM starts host memory' : 'host physical'], kind: 'result' };
    if (second.length) second.push(hpa); else guest.push(hpa);
  }
  return { guest, second, secondTitle };
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const w of text.split(/\s+/)) {
    if ((cur + ' ' + w).trim().length > width && cur) { out.push(cur); cur = w; } else cur = (cur + ' ' + w).trim();
  }
  if (cur) out.push(cur);
  return out.slice(0, 4);
}

/** Renders the walk; rows wrap so the picture fits `width` pixels. */
export function renderWalk(t: RingsideTranslation, width: number): SVGSVGElement {
  const { guest, second, secondTitle } = walkBoxes(t);
  const perRow = Math.max(1, Math.floor((width - PAD) / (BOX_W + GAP)));
  const rows: { boxes: Box[]; title?: string }[] = [];
  for (let k = 0; k < guest.length; k += perRow) rows.push({ boxes: guest.slice(k, k + perRow), title: k === 0 ? 'Guest page tables: guest-virtual to guest-physical' : undefined });
  for (let k = 0; k < second.length; k += perRow) rows.push({ boxes: second.slice(k, k + perRow), title: k === 0 ? secondTitle : undefined });
  const rowH = BOX_H + 46;
  const cols = Math.min(perRow, Math.max(...rows.map((r) => r.boxes.length)));
  const svg = el('svg', { xmlns: NS, class: 'walk', width: PAD * 2 + cols * BOX_W + (cols - 1) * GAP, height: PAD + rows.length * rowH, role: 'img' });
  svg.appendChild(el('title', {}, `Translation of ${hex(t.linear)}`));
  const defs = el('defs', {});
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.appendChild(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'walk-arrowhead' }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  let prev: { x: number; y: number } | undefined;
  rows.forEach((r, ri) => {
    const y0 = PAD + ri * rowH + 20;
    if (r.title) svg.appendChild(el('text', { x: PAD, y: y0 - 8, class: 'walk-caption' }, r.title));
    r.boxes.forEach((b, bi) => {
      const x = PAD + bi * (BOX_W + GAP);
      const g = el('g', { class: `walk-box walk-${b.kind}`, 'data-title': b.title });
      g.appendChild(el('rect', { x, y: y0, width: BOX_W, height: BOX_H, rx: 5 }));
      g.appendChild(el('text', { x: x + 10, y: y0 + 18, class: 'walk-title' }, b.title));
      // A line longer than the box (an EPT entry with all its bits) is squeezed to fit rather than spill.
      b.lines.filter(Boolean).slice(0, 4).forEach((l, li) => g.appendChild(el('text', { x: x + 10, y: y0 + 36 + li * 15, class: 'walk-line', ...(l.length > LINE_CHARS ? { textLength: BOX_W - 20, lengthAdjust: 'spacingAndGlyphs' } : {}) }, l)));
      svg.appendChild(g);
      if (prev) {
        const sameRow = Math.abs(prev.y - y0) < 1;
        const d = sameRow
          ? `M ${prev.x + BOX_W} ${y0 + BOX_H / 2} L ${x - 2} ${y0 + BOX_H / 2}`
          : `M ${prev.x + BOX_W / 2} ${prev.y + BOX_H} L ${prev.x + BOX_W / 2} ${prev.y + BOX_H + 14} L ${x + BOX_W / 2} ${prev.y + BOX_H + 14} L ${x + BOX_W / 2} ${y0 - 2}`;
        svg.appendChild(el('path', { d, class: 'walk-arrow', 'marker-end': 'url(#arrow)', fill: 'none' }));
      }
      prev = { x, y: y0 };
    });
  });
  return svg;
}
