// The panel's mapping list logic (media/vlist.ts), without a browser: the address filter and the
// window of rows a viewport shows, measured on 1,000,000 unmergeable mappings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter, filterRows, visibleWindow, sizeText, flagText, type MappingRows } from '../../media/vlist';
import { MAP_FLAG } from '../../media/messages';

function million(): MappingRows {
  const n = 1_000_000;
  const rows: MappingRows = { from: new Float64Array(n), to: new Float64Array(n), size: new Float64Array(n), flags: new Uint32Array(n), count: n };
  for (let k = 0; k < n; k++) { rows.from[k] = k * 0x1000; rows.to[k] = ((k * 7919) % n) * 0x1000; rows.size[k] = 0x1000; }
  return rows;
}

test('address filters: one address, a range, a start and a length', () => {
  assert.deepEqual(parseFilter('0xC0000000'), { from: 0xc0000000, to: 0xc0000001 });
  assert.deepEqual(parseFilter('c0000000'), { from: 0xc0000000, to: 0xc0000001 });
  assert.deepEqual(parseFilter('0x1000-0x1FFF'), { from: 0x1000, to: 0x2000 });
  assert.deepEqual(parseFilter('0x400000+0x1000'), { from: 0x400000, to: 0x401000 });
  assert.equal(parseFilter('not an address'), undefined);
  assert.equal(parseFilter(''), undefined);
});

test('filtering 1,000,000 mappings by address is fast and finds both sides of a mapping', () => {
  const rows = million();
  const t0 = performance.now();
  const idx = filterRows(rows, parseFilter('0xABCDE000'))!;
  const ms = performance.now() - t0;
  // 0xABCDE000 is the GVA of one row and the GPA of another.
  assert.equal(idx.length, 2);
  assert.ok([...idx].some((k) => rows.from[k] === 0xabcde000));
  assert.ok([...idx].some((k) => rows.to[k] === 0xabcde000));
  assert.ok(ms < 250, `filtering took ${ms.toFixed(1)} ms`);
  assert.equal(filterRows(rows, undefined), undefined);
});

test('the viewport renders a few dozen rows wherever it is scrolled', () => {
  const w = visibleWindow(22 * 999_990, 600, 22, 1_000_000);
  assert.equal(w.last, 1_000_000);
  assert.ok(w.last - w.first < 60);
  const top = visibleWindow(0, 600, 22, 1_000_000);
  assert.equal(top.first, 0);
  assert.ok(top.last < 60);
});

test('sizes and access bits read as a user expects', () => {
  assert.equal(sizeText(0x1000), '4 KiB');
  assert.equal(sizeText(0x400000), '4 MiB');
  assert.equal(sizeText(1 << 30), '1 GiB');
  assert.equal(flagText(MAP_FLAG.W | MAP_FLAG.U | MAP_FLAG.G, 'guest'), 'RW U G');
  assert.equal(flagText(MAP_FLAG.R | MAP_FLAG.X | MAP_FLAG.A, 'ept'), 'R-X A');
  assert.equal(flagText(MAP_FLAG.WP, 'shadow'), 'RO S write-protected');
});
